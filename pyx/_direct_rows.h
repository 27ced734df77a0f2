/* Row kernels of the direct transposed convolution (see _simd.h for the vector switch). */
#ifndef SUITE_DIRECT_ROWS_H
#define SUITE_DIRECT_ROWS_H

#include "_simd.h"

/* ---- transposed convolution, kernel row as long as the stride: d += s (x) w -------- */

/* d[i*k + j] += s[i] * w[j] for i < n, j < k: one input row's contribution through one
 * kernel row to an output row, where the kernel row is as long as the stride (k2 s2, k3 s3,
 * ...: the contributions of neighbouring input values do not overlap). Each value is one
 * product and one addition, as the scalar loop's (no fused multiply-add), so the bits are
 * the same on every path. AVX2, f32, 2 <= k < 8: each 8 inputs permuted into k vectors, times
 * the kernel row tiled over each; the last values (n >= 8) as the block of the last 8, the
 * lanes already added masked out, not k scalar sums a value (depthwise k3 s3 on 4 x 384
 * maps of 14x14: 1.98 -> 1.70 ms). */
static inline void suite_kron_add_scalar_f32(const float *s, ptrdiff_t from, ptrdiff_t n,
                                             const float *w, ptrdiff_t k, float *d)
{
    for (ptrdiff_t i = from; i < n; i++)
        for (ptrdiff_t j = 0; j < k; j++)
            d[i * k + j] = d[i * k + j] + s[i] * w[j];
}

static inline void suite_kron_add_scalar_f64(const double *s, ptrdiff_t from, ptrdiff_t n,
                                             const double *w, ptrdiff_t k, double *d)
{
    for (ptrdiff_t i = from; i < n; i++)
        for (ptrdiff_t j = 0; j < k; j++)
            d[i * k + j] = d[i * k + j] + s[i] * w[j];
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
#define SUITE_TILED(K, J, W)                                                               \
    _mm256_setr_ps((W)[(8 * (J) + 0) % (K)], (W)[(8 * (J) + 1) % (K)],                     \
                   (W)[(8 * (J) + 2) % (K)], (W)[(8 * (J) + 3) % (K)],                     \
                   (W)[(8 * (J) + 4) % (K)], (W)[(8 * (J) + 5) % (K)],                     \
                   (W)[(8 * (J) + 6) % (K)], (W)[(8 * (J) + 7) % (K)])
#define SUITE_KRON_STEP(K, J, V, IDX, WT, O)                                               \
    _mm256_storeu_ps((O) + 8 * (J),                                                        \
                     _mm256_add_ps(_mm256_loadu_ps((O) + 8 * (J)),                         \
                                   _mm256_mul_ps(_mm256_permutevar8x32_ps(V, IDX), WT)))
/* Output vector J of a block whose first DONE outputs were added already: the sum kept in
 * the other lanes only. */
#define SUITE_KRON_TAIL(K, J, V, IDX, WT, O, DONE)                                         \
    do {                                                                                   \
        const __m256 old_ = _mm256_loadu_ps((O) + 8 * (J));                                \
        const __m256 sum_ = _mm256_add_ps(old_,                                            \
                                          _mm256_mul_ps(_mm256_permutevar8x32_ps(V, IDX), WT)); \
        const __m256i fresh_ = _mm256_cmpgt_epi32(                                         \
            _mm256_add_epi32(_mm256_set1_epi32(8 * (J) + 1),                               \
                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), DONE);            \
        _mm256_storeu_ps((O) + 8 * (J), _mm256_blendv_ps(old_, sum_,                       \
                                                         _mm256_castsi256_ps(fresh_)));   \
    } while (0)
#define SUITE_KRON_BLOCKS(K)                                                               \
    do {                                                                                   \
        SUITE_INDEX_SET(K);                                                                \
        const __m256 w0 = SUITE_TILED(K, 0, w), w1 = SUITE_TILED(K, 1, w),                \
                     w2 = SUITE_TILED(K, 2, w), w3 = SUITE_TILED(K, 3, w),                \
                     w4 = SUITE_TILED(K, 4, w), w5 = SUITE_TILED(K, 5, w),                \
                     w6 = SUITE_TILED(K, 6, w);                                           \
        ptrdiff_t b = 0;                                                                   \
        for (; b + 8 <= n; b += 8) {                                                       \
            __m256 v = _mm256_loadu_ps(s + b);                                             \
            float *o = d + b * (K);                                                        \
            SUITE_KRON_STEP(K, 0, v, i0, w0, o);                                           \
            SUITE_KRON_STEP(K, 1, v, i1, w1, o);                                           \
            if ((K) > 2) SUITE_KRON_STEP(K, 2, v, i2, w2, o);                              \
            if ((K) > 3) SUITE_KRON_STEP(K, 3, v, i3, w3, o);                              \
            if ((K) > 4) SUITE_KRON_STEP(K, 4, v, i4, w4, o);                              \
            if ((K) > 5) SUITE_KRON_STEP(K, 5, v, i5, w5, o);                              \
            if ((K) > 6) SUITE_KRON_STEP(K, 6, v, i6, w6, o);                              \
        }                                                                                  \
        if (b < n && n >= 8) {                                                             \
            /* the last values as the block of the last 8, its lanes already added (those \
             * of values before b) masked out: k vectors instead of k scalar sums a value */ \
            const ptrdiff_t last = n - 8;                                                  \
            const __m256 v = _mm256_loadu_ps(s + last);                                    \
            float *o = d + last * (K);                                                     \
            const __m256i done = _mm256_set1_epi32((int)((b - last) * (K)));               \
            SUITE_KRON_TAIL(K, 0, v, i0, w0, o, done);                                     \
            SUITE_KRON_TAIL(K, 1, v, i1, w1, o, done);                                     \
            if ((K) > 2) SUITE_KRON_TAIL(K, 2, v, i2, w2, o, done);                        \
            if ((K) > 3) SUITE_KRON_TAIL(K, 3, v, i3, w3, o, done);                        \
            if ((K) > 4) SUITE_KRON_TAIL(K, 4, v, i4, w4, o, done);                        \
            if ((K) > 5) SUITE_KRON_TAIL(K, 5, v, i5, w5, o, done);                        \
            if ((K) > 6) SUITE_KRON_TAIL(K, 6, v, i6, w6, o, done);                        \
            b = n;                                                                         \
        }                                                                                  \
        suite_kron_add_scalar_f32(s, b, n, w, K, d);                                       \
    } while (0)

__attribute__((target("avx2")))
static void suite_kron_add_avx2_f32(const float *s, ptrdiff_t n, const float *w, ptrdiff_t k,
                                    float *d)
{
    switch (k) {
    case 2: SUITE_KRON_BLOCKS(2); break;
    case 3: SUITE_KRON_BLOCKS(3); break;
    case 4: SUITE_KRON_BLOCKS(4); break;
    case 5: SUITE_KRON_BLOCKS(5); break;
    case 6: SUITE_KRON_BLOCKS(6); break;
    case 7: SUITE_KRON_BLOCKS(7); break;
    default: suite_kron_add_scalar_f32(s, 0, n, w, k, d); break;
    }
}
#endif

static inline void suite_kron_add_f32(const float *s, ptrdiff_t n, const float *w, ptrdiff_t k,
                                      float *d)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_kron_add_avx2_f32(s, n, w, k, d);
        return;
    }
#endif
    suite_kron_add_scalar_f32(s, 0, n, w, k, d);
}

static inline void suite_kron_add_f64(const double *s, ptrdiff_t n, const double *w,
                                      ptrdiff_t k, double *d)
{
    suite_kron_add_scalar_f64(s, 0, n, w, k, d);
}

/* ---- transposed convolution by column phase: output rows from their taps ---------- */

/* A kernel column's reach into an output row: the output columns q*sw + phase, q in [lo, hi),
 * take input column q + shift (of every input row that reaches the row). */
typedef struct {
    ptrdiff_t phase, shift, lo, hi;
} suite_column_tap;

/* A layer's geometry for suite_phased_rows_*: cig input planes of height x width per group,
 * each output channel's cig kernels w_stride apart (kh x kw each), output rows of out_w; the
 * kernel columns by column phase (taps[first[b]:first[b + 1]], kernel column tap_column[t],
 * ascending), each phase's output columns (n_q[b]: the columns q*sw + b), the kernel rows
 * that reach each output row oh (kernel_rows[2*(oh*kh + m)]: kernel row, input row; m <
 * n_rows[oh]); span: the values of one phase in a row buffer (>= max n_q + 8). */
typedef struct {
    ptrdiff_t cig, height, width, w_stride, kh, kw, sw, span, out_w;
    const suite_column_tap *taps;
    const ptrdiff_t *tap_column, *first, *n_q, *kernel_rows, *n_rows;
} suite_phased_geometry;

/* The input and kernel rows (plane-major, then kernel row) that reach output row oh. */
#define SUITE_PHASED_SOURCES(T)                                                            \
    ptrdiff_t n_src = 0;                                                                   \
    for (ptrdiff_t ci = 0; ci < g->cig; ci++)                                              \
        for (ptrdiff_t m = 0; m < g->n_rows[oh]; m++) {                                    \
            const ptrdiff_t *kr = g->kernel_rows + 2 * (oh * g->kh + m);                   \
            xrows[n_src] = x_group + (ci * g->height + kr[1]) * g->width;                  \
            wrows[n_src] = w_col + ci * g->w_stride + kr[0] * g->kw;                       \
            n_src++;                                                                       \
        }

/* Output rows oh0 .. oh1-1 of one output channel (row oh at out + oh*out_w) of a transposed
 * convolution by column phase: each value is start + w * x over the input rows that reach
 * its row (plane by plane, kernel row by kernel row) and the kernel columns of its phase
 * (ascending), summed in that order, one product and one addition per term (no fused
 * multiply-add), so the bits do not depend on the path (scalar, SSE2 or AVX2). The output columns q*sw + b of a phase b are computed contiguous
 * (acc + b*span) and interleaved into the row: each kernel tap adds a scaled stretch of an
 * input row to a stretch of them, one vector operation per 8 values whatever the stride and
 * dilation. acc: sw*span values; xrows, wrows: cig*kh pointers (the caller's, per thread).
 * AVX2 (both precisions): 4 vectors of a phase's columns at a time held in registers
 * across all the terms (a loop over whole rows would store and reload each value per term);
 * a term reaching only part of a vector is masked: its load reads only inside the input row,
 * its sum is blended into the lanes it reaches (a product 0 * inf would be NaN). */
#define SUITE_PHASED_ROWS_SCALAR(T)                                                        \
    for (ptrdiff_t oh = oh0; oh < oh1; oh++) {                                             \
        SUITE_PHASED_SOURCES(T)                                                            \
        T *row = out + oh * g->out_w;                                                      \
        for (ptrdiff_t b = 0; b < g->sw; b++) {                                            \
            T *a = acc + b * g->span;                                                      \
            for (ptrdiff_t q = 0; q < g->n_q[b]; q++)                                      \
                a[q] = start;                                                              \
            for (ptrdiff_t m = 0; m < n_src; m++)                                          \
                for (ptrdiff_t t = g->first[b]; t < g->first[b + 1]; t++) {                \
                    const suite_column_tap *c = g->taps + t;                               \
                    const T w = wrows[m][g->tap_column[t]];                                \
                    const T *x = xrows[m] + c->shift;                                      \
                    for (ptrdiff_t q = c->lo; q < c->hi; q++)                              \
                        a[q] = a[q] + w * x[q];                                            \
                }                                                                          \
            for (ptrdiff_t q = 0; q < g->n_q[b]; q++)                                      \
                row[q * g->sw + b] = a[q];                                                 \
        }                                                                                  \
    }

static inline void suite_phased_rows_scalar_f32(
    const suite_phased_geometry *g, const float *x_group, const float *w_col, float start,
    ptrdiff_t oh0, ptrdiff_t oh1, float *out, float *acc, const float **xrows,
    const float **wrows)
{
    SUITE_PHASED_ROWS_SCALAR(float)
}

static inline void suite_phased_rows_scalar_f64(
    const suite_phased_geometry *g, const double *x_group, const double *w_col, double start,
    ptrdiff_t oh0, ptrdiff_t oh1, double *out, double *acc, const double **xrows,
    const double **wrows)
{
    SUITE_PHASED_ROWS_SCALAR(double)
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* The AVX2 kernel, written once for both precisions: S is f32 (8 lanes) or f64 (4). */
#define SUITE_V_f32 __m256
#define SUITE_V_f64 __m256d
#define SUITE_L_f32 8
#define SUITE_L_f64 4
#define SUITE_SET1_f32 _mm256_set1_ps
#define SUITE_SET1_f64 _mm256_set1_pd
#define SUITE_LOADU_f32 _mm256_loadu_ps
#define SUITE_LOADU_f64 _mm256_loadu_pd
#define SUITE_STOREU_f32 _mm256_storeu_ps
#define SUITE_STOREU_f64 _mm256_storeu_pd
#define SUITE_ADD_f32 _mm256_add_ps
#define SUITE_ADD_f64 _mm256_add_pd
#define SUITE_MUL_f32 _mm256_mul_ps
#define SUITE_MUL_f64 _mm256_mul_pd
#define SUITE_MASKLOAD_f32 _mm256_maskload_ps
#define SUITE_MASKLOAD_f64 _mm256_maskload_pd
#define SUITE_BLEND_f32(A, B, M) _mm256_blendv_ps(A, B, _mm256_castsi256_ps(M))
#define SUITE_BLEND_f64(A, B, M) _mm256_blendv_pd(A, B, _mm256_castsi256_pd(M))
#define SUITE_UNPACKLO_f32 _mm256_unpacklo_ps
#define SUITE_UNPACKLO_f64 _mm256_unpacklo_pd
#define SUITE_UNPACKHI_f32 _mm256_unpackhi_ps
#define SUITE_UNPACKHI_f64 _mm256_unpackhi_pd
#define SUITE_HALVES_f32 _mm256_permute2f128_ps
#define SUITE_HALVES_f64 _mm256_permute2f128_pd

/* The lanes q of a vector whose first lane is `offset` past a term's first column that the
 * term reaches (0 <= q - lo < reach), as a mask of 32-bit (f32) or 64-bit (f64) lanes. */
__attribute__((target("avx2"), always_inline))
static inline __m256i suite_reach_mask_f32(ptrdiff_t offset, ptrdiff_t reach)
{
    const __m256i q = _mm256_add_epi32(_mm256_set1_epi32((int)offset),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), q),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32((int)reach), q));
}

__attribute__((target("avx2"), always_inline))
static inline __m256i suite_reach_mask_f64(ptrdiff_t offset, ptrdiff_t reach)
{
    const __m256i q = _mm256_add_epi64(_mm256_set1_epi64x(offset),
                                       _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_setzero_si256(), q),
                               _mm256_cmpgt_epi64(_mm256_set1_epi64x(reach), q));
}

/* dst[0 .. n-1] = v's first n lanes (n >= 1), without a masked store (vmaskmovps stores are
 * slow on AMD's cores, and a load after one waits for it to retire). */
#define SUITE_STORE_FIRST(S, T)                                                            \
    __attribute__((target("avx2"), always_inline))                                         \
    static inline void suite_store_first_##S(T *dst, SUITE_V_##S v, ptrdiff_t n)           \
    {                                                                                      \
        if (n >= SUITE_L_##S) {                                                            \
            SUITE_STOREU_##S(dst, v);                                                      \
            return;                                                                        \
        }                                                                                  \
        T lanes[SUITE_L_##S];                                                              \
        SUITE_STOREU_##S(lanes, v);                                                        \
        for (ptrdiff_t i = 0; i < n; i++)                                                  \
            dst[i] = lanes[i];                                                             \
    }
SUITE_STORE_FIRST(f32, float)
SUITE_STORE_FIRST(f64, double)

/* acc vector V (lanes Q0 ..) += w * x[q] over the lanes the term reaches (some or all: the
 * same instructions for each, no branch to mispredict); x + Q0 may point outside the input
 * row: the masked load reads the reached lanes only. */
#define SUITE_PHASED_TERM(S, V, Q0)                                                        \
    do {                                                                                   \
        const __m256i mask_ = suite_reach_mask_##S((Q0) - c->lo, c->hi - c->lo);          \
        V = SUITE_BLEND_##S(V, SUITE_ADD_##S(V, SUITE_MUL_##S(wv, SUITE_MASKLOAD_##S(      \
                                                  x + (Q0), mask_))), mask_);             \
    } while (0)

/* acc vector V += w * x[q], every lane reached. */
#define SUITE_PHASED_FULL(S, V, Q0)                                                        \
    V = SUITE_ADD_##S(V, SUITE_MUL_##S(wv, SUITE_LOADU_##S(x + (Q0))))

/* The terms of the output columns q0 .. q0 + NV*L - 1 of one phase, held in registers: a
 * term reaching all of them costs no mask (the chunks inside long rows). */
#define SUITE_PHASED_CHUNK(S, T, NV)                                                       \
    do {                                                                                   \
        const ptrdiff_t L_ = SUITE_L_##S;                                                  \
        for (ptrdiff_t m = 0; m < n_src; m++) {                                            \
            const T *xm = xrows[m], *wm = wrows[m];                                        \
            for (ptrdiff_t t = t0; t < t1; t++) {                                          \
                const suite_column_tap *c = taps + t;                                      \
                if (c->hi <= q0 || c->lo >= q0 + (NV) * L_ || c->hi <= c->lo)              \
                    continue;                                                              \
                const T *x = xm + c->shift;                                                \
                const SUITE_V_##S wv = SUITE_SET1_##S(wm[tap_column[t]]);                  \
                if (c->lo <= q0 && q0 + (NV) * L_ <= c->hi) {                              \
                    SUITE_PHASED_FULL(S, v0, q0);                                          \
                    if ((NV) > 1) SUITE_PHASED_FULL(S, v1, q0 + L_);                       \
                    if ((NV) > 2) SUITE_PHASED_FULL(S, v2, q0 + 2 * L_);                   \
                    if ((NV) > 3) SUITE_PHASED_FULL(S, v3, q0 + 3 * L_);                   \
                    continue;                                                              \
                }                                                                          \
                SUITE_PHASED_TERM(S, v0, q0);                                              \
                if ((NV) > 1) SUITE_PHASED_TERM(S, v1, q0 + L_);                           \
                if ((NV) > 2) SUITE_PHASED_TERM(S, v2, q0 + 2 * L_);                       \
                if ((NV) > 3) SUITE_PHASED_TERM(S, v3, q0 + 3 * L_);                       \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* suite_phased_rows_avx2_f32 / _f64: 4 vectors of each phase's columns at a time held in
 * registers across all the terms (a loop over whole rows would store and reload each value
 * per term); two phases interleaved by unpacking, more one value at a time. */
#define SUITE_PHASED_ROWS_AVX2(S, T)                                                       \
    __attribute__((target("avx2")))                                                        \
    static void suite_phased_rows_avx2_##S(                                                \
        const suite_phased_geometry *g, const T *x_group, const T *w_col, T start,         \
        ptrdiff_t oh0, ptrdiff_t oh1, T *out, T *acc, const T **xrows, const T **wrows)    \
    {                                                                                      \
        const ptrdiff_t L = SUITE_L_##S;                                                   \
        const ptrdiff_t sw = g->sw, span = g->span, out_w = g->out_w;                      \
        const suite_column_tap *taps = g->taps;                                            \
        const ptrdiff_t *tap_column = g->tap_column, *first = g->first, *n_qs = g->n_q;    \
        int sparse = 0;     /* a phase no kernel column reaches (stride > kernel reach) */ \
        for (ptrdiff_t b = 0; b < sw; b++)                                                 \
            sparse |= first[b] == first[b + 1];                                            \
        for (ptrdiff_t oh = oh0; oh < oh1; oh++) {                                         \
            SUITE_PHASED_SOURCES(T)                                                        \
            T *row = out + oh * out_w;                                                     \
            if (n_src == 0 || sparse) {                                                    \
                /* a row no input row reaches, or phases no kernel column reaches */       \
                const SUITE_V_##S v = SUITE_SET1_##S(start);                               \
                ptrdiff_t q = 0;                                                           \
                for (; q + L <= out_w; q += L)                                             \
                    SUITE_STOREU_##S(row + q, v);                                          \
                for (; q < out_w; q++)                                                     \
                    row[q] = start;                                                        \
                if (n_src == 0)                                                            \
                    continue;                                                              \
            }                                                                              \
            for (ptrdiff_t b = 0; b < sw; b++) {                                           \
                /* one phase: the row itself (stride 1) or its part of acc */              \
                T *a = sw == 1 ? row : acc + b * span;                                     \
                const ptrdiff_t n_q = n_qs[b], t0 = first[b], t1 = first[b + 1];           \
                if (t0 == t1)                                                              \
                    continue;                                                              \
                for (ptrdiff_t q0 = 0; q0 < n_q; q0 += 4 * L) {                            \
                    SUITE_V_##S v0 = SUITE_SET1_##S(start), v1 = v0, v2 = v0, v3 = v0;     \
                    const ptrdiff_t vectors = n_q - q0 >= 4 * L ? 4 : (n_q - q0 + L - 1) / L; \
                    switch (vectors) {                                                     \
                    case 1: SUITE_PHASED_CHUNK(S, T, 1); break;                            \
                    case 2: SUITE_PHASED_CHUNK(S, T, 2); break;                            \
                    case 3: SUITE_PHASED_CHUNK(S, T, 3); break;                            \
                    default: SUITE_PHASED_CHUNK(S, T, 4); break;                           \
                    }                                                                      \
                    if (sw == 1) {                                                         \
                        /* into the row: no value past its end */                          \
                        suite_store_first_##S(a + q0, v0, n_q - q0);                       \
                        if (vectors > 1) suite_store_first_##S(a + q0 + L, v1, n_q - q0 - L); \
                        if (vectors > 2)                                                   \
                            suite_store_first_##S(a + q0 + 2 * L, v2, n_q - q0 - 2 * L);   \
                        if (vectors > 3)                                                   \
                            suite_store_first_##S(a + q0 + 3 * L, v3, n_q - q0 - 3 * L);   \
                    } else {                                                               \
                        /* into acc, whole vectors (span leaves room) */                   \
                        SUITE_STOREU_##S(a + q0, v0);                                      \
                        if (vectors > 1) SUITE_STOREU_##S(a + q0 + L, v1);                 \
                        if (vectors > 2) SUITE_STOREU_##S(a + q0 + 2 * L, v2);             \
                        if (vectors > 3) SUITE_STOREU_##S(a + q0 + 3 * L, v3);             \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
            if (sw == 1)                                                                   \
                continue;                                                                  \
            ptrdiff_t q = 0;                                                               \
            if (sw == 2 && !sparse) {                                                      \
                /* interleave the two phases, 2L output columns a step */                  \
                const T *a0 = acc, *a1 = acc + span;                                       \
                for (; 2 * q + 2 * L <= out_w; q += L) {                                   \
                    const SUITE_V_##S e = SUITE_LOADU_##S(a0 + q), o = SUITE_LOADU_##S(a1 + q); \
                    const SUITE_V_##S lo = SUITE_UNPACKLO_##S(e, o);                       \
                    const SUITE_V_##S hi = SUITE_UNPACKHI_##S(e, o);                       \
                    SUITE_STOREU_##S(row + 2 * q, SUITE_HALVES_##S(lo, hi, 0x20));         \
                    SUITE_STOREU_##S(row + 2 * q + L, SUITE_HALVES_##S(lo, hi, 0x31));     \
                }                                                                          \
            }                                                                              \
            for (ptrdiff_t b = 0; b < sw; b++)                                             \
                if (first[b] < first[b + 1])                                               \
                    for (ptrdiff_t p = q; p * sw + b < out_w; p++)                         \
                        row[p * sw + b] = acc[b * span + p];                               \
        }                                                                                  \
    }
SUITE_PHASED_ROWS_AVX2(f32, float)
SUITE_PHASED_ROWS_AVX2(f64, double)
#undef SUITE_PHASED_ROWS_AVX2
#undef SUITE_PHASED_CHUNK
#undef SUITE_PHASED_FULL
#undef SUITE_PHASED_TERM
#undef SUITE_STORE_FIRST
#endif

/* suite_phased_rows_f32 / _f64: the AVX2 kernel where the CPU runs it, else the portable. */
#if defined(SUITE_HAVE_AVX2_DISPATCH)
#define SUITE_PHASED_ROWS_AVX2_CALL(S)                                                     \
    if (suite_cpu_has_avx2()) {                                                            \
        suite_phased_rows_avx2_##S(g, x_group, w_col, start, oh0, oh1, out, acc, xrows,    \
                                   wrows);                                                 \
        return;                                                                            \
    }
#else
#define SUITE_PHASED_ROWS_AVX2_CALL(S)
#endif
#define SUITE_PHASED_ROWS_DISPATCH(S, T)                                                   \
    static inline void suite_phased_rows_##S(                                              \
        const suite_phased_geometry *g, const T *x_group, const T *w_col, T start,         \
        ptrdiff_t oh0, ptrdiff_t oh1, T *out, T *acc, const T **xrows, const T **wrows)    \
    {                                                                                      \
        SUITE_PHASED_ROWS_AVX2_CALL(S)                                                     \
        suite_phased_rows_scalar_##S(g, x_group, w_col, start, oh0, oh1, out, acc, xrows,  \
                                     wrows);                                               \
    }
SUITE_PHASED_ROWS_DISPATCH(f32, float)
SUITE_PHASED_ROWS_DISPATCH(f64, double)
#undef SUITE_PHASED_ROWS_DISPATCH
#undef SUITE_PHASED_ROWS_AVX2_CALL

#endif
