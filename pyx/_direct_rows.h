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
 * the kernel row tiled over each. */
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
 * AVX2, f32: 32 columns at a time held in registers across all the terms (a loop over
 * whole rows would store and reload each value per term); a term reaching only part of a
 * vector is masked: its load reads only inside the input row, its sum is blended into the
 * lanes it reaches (a product 0 * inf would be NaN). */
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

static inline void suite_phased_rows_f64(
    const suite_phased_geometry *g, const double *x_group, const double *w_col, double start,
    ptrdiff_t oh0, ptrdiff_t oh1, double *out, double *acc, const double **xrows,
    const double **wrows)
{
    SUITE_PHASED_ROWS_SCALAR(double)
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* acc vector V (lanes Q0 .. Q0+7) += w * x[q] over the lanes the term reaches (none, some or
 * all: the same instructions for each, no branch to mispredict). */
#define SUITE_PHASED_TERM(V, Q0)                                                           \
    do {                                                                                   \
        const __m256i lanes_ = _mm256_add_epi32(_mm256_set1_epi32((int)((Q0) - c->lo)),    \
                                                step);                                     \
        const __m256i mask_ = _mm256_andnot_si256(                                         \
            _mm256_cmpgt_epi32(_mm256_setzero_si256(), lanes_),                            \
            _mm256_cmpgt_epi32(reach, lanes_));                                            \
        /* x + Q0 may point outside the row: load the reached lanes only */                \
        const __m256 sum_ = _mm256_add_ps(                                                 \
            V, _mm256_mul_ps(wv, _mm256_maskload_ps(x + (Q0), mask_)));                   \
        V = _mm256_blendv_ps(V, sum_, _mm256_castsi256_ps(mask_));                         \
    } while (0)

/* dst[0 .. n-1] = v's first n lanes (n >= 1), without a masked store (vmaskmovps stores are
 * slow on AMD's cores, and a load after one waits for it to retire). */
__attribute__((target("avx2"), always_inline))
static inline void suite_store_first(float *dst, __m256 v, ptrdiff_t n)
{
    if (n >= 8) {
        _mm256_storeu_ps(dst, v);
        return;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (ptrdiff_t i = 0; i < n; i++)
        dst[i] = lanes[i];
}

/* acc vector V (lanes Q0 .. Q0+7) += w * x[q], every lane reached. */
#define SUITE_PHASED_FULL(V, Q0)                                                           \
    V = _mm256_add_ps(V, _mm256_mul_ps(wv, _mm256_loadu_ps(x + (Q0))))

/* The terms of the output columns q0 .. q0 + 8*NV - 1 of one phase, held in registers: a
 * term reaching all of them costs no mask (the chunks inside long rows). */
#define SUITE_PHASED_CHUNK(NV)                                                             \
    do {                                                                                   \
        for (ptrdiff_t m = 0; m < n_src; m++) {                                            \
            const float *xm = xrows[m], *wm = wrows[m];                                    \
            for (ptrdiff_t t = t0; t < t1; t++) {                                          \
                const suite_column_tap *c = taps + t;                                      \
                if (c->hi <= q0 || c->lo >= q0 + 8 * (NV) || c->hi <= c->lo)               \
                    continue;                                                              \
                const float *x = xm + c->shift;                                            \
                const __m256 wv = _mm256_set1_ps(wm[tap_column[t]]);                       \
                const __m256i reach = _mm256_set1_epi32((int)(c->hi - c->lo));             \
                if (c->lo <= q0 && q0 + 8 * (NV) <= c->hi) {                               \
                    /* the term reaches every column of the chunk */                       \
                    SUITE_PHASED_FULL(v0, q0);                                             \
                    if ((NV) > 1) SUITE_PHASED_FULL(v1, q0 + 8);                           \
                    if ((NV) > 2) SUITE_PHASED_FULL(v2, q0 + 16);                          \
                    if ((NV) > 3) SUITE_PHASED_FULL(v3, q0 + 24);                          \
                    continue;                                                              \
                }                                                                          \
                SUITE_PHASED_TERM(v0, q0);                                                 \
                if ((NV) > 1) SUITE_PHASED_TERM(v1, q0 + 8);                               \
                if ((NV) > 2) SUITE_PHASED_TERM(v2, q0 + 16);                              \
                if ((NV) > 3) SUITE_PHASED_TERM(v3, q0 + 24);                              \
            }                                                                              \
        }                                                                                  \
    } while (0)

__attribute__((target("avx2")))
static void suite_phased_rows_avx2_f32(
    const suite_phased_geometry *g, const float *x_group, const float *w_col, float start,
    ptrdiff_t oh0, ptrdiff_t oh1, float *out, float *acc, const float **xrows,
    const float **wrows)
{
    const ptrdiff_t sw = g->sw, span = g->span, out_w = g->out_w, cig = g->cig;
    const ptrdiff_t kh = g->kh, kw = g->kw, height = g->height, width = g->width;
    const ptrdiff_t w_stride = g->w_stride;
    const suite_column_tap *taps = g->taps;
    const ptrdiff_t *tap_column = g->tap_column, *first = g->first, *n_qs = g->n_q;
    const ptrdiff_t *kernel_rows = g->kernel_rows, *n_rows = g->n_rows;
    const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int sparse = 0;     /* a phase no kernel column reaches (stride > kernel width) */
    for (ptrdiff_t b = 0; b < sw; b++)
        sparse |= first[b] == first[b + 1];
    for (ptrdiff_t oh = oh0; oh < oh1; oh++) {
        /* the input and kernel rows (plane-major, then kernel row) that reach row oh */
        ptrdiff_t n_src = 0;
        for (ptrdiff_t ci = 0; ci < cig; ci++)
            for (ptrdiff_t m = 0; m < n_rows[oh]; m++) {
                const ptrdiff_t *kr = kernel_rows + 2 * (oh * kh + m);
                xrows[n_src] = x_group + (ci * height + kr[1]) * width;
                wrows[n_src] = w_col + ci * w_stride + kr[0] * kw;
                n_src++;
            }
        float *row = out + oh * out_w;
        if (n_src == 0 || sparse) {
            /* a row no input row reaches, or phases no kernel column reaches: start */
            const __m256 v = _mm256_set1_ps(start);
            ptrdiff_t q = 0;
            for (; q + 8 <= out_w; q += 8)
                _mm256_storeu_ps(row + q, v);
            for (; q < out_w; q++)
                row[q] = start;
            if (n_src == 0)
                continue;
        }
        for (ptrdiff_t b = 0; b < sw; b++) {
            /* one phase: the row itself (stride 1) or its part of acc */
            float *a = sw == 1 ? row : acc + b * span;
            const ptrdiff_t n_q = n_qs[b], t0 = first[b], t1 = first[b + 1];
            if (t0 == t1)
                continue;
            for (ptrdiff_t q0 = 0; q0 < n_q; q0 += 32) {
                __m256 v0 = _mm256_set1_ps(start), v1 = v0, v2 = v0, v3 = v0;
                const ptrdiff_t vectors = n_q - q0 >= 32 ? 4 : (n_q - q0 + 7) / 8;
                switch (vectors) {
                case 1: SUITE_PHASED_CHUNK(1); break;
                case 2: SUITE_PHASED_CHUNK(2); break;
                case 3: SUITE_PHASED_CHUNK(3); break;
                default: SUITE_PHASED_CHUNK(4); break;
                }
                if (sw == 1) {
                    /* into the row: no value past its end */
                    suite_store_first(a + q0, v0, n_q - q0);
                    if (vectors > 1) suite_store_first(a + q0 + 8, v1, n_q - q0 - 8);
                    if (vectors > 2) suite_store_first(a + q0 + 16, v2, n_q - q0 - 16);
                    if (vectors > 3) suite_store_first(a + q0 + 24, v3, n_q - q0 - 24);
                } else {
                    /* into acc, whole vectors (span leaves room) */
                    _mm256_storeu_ps(a + q0, v0);
                    if (vectors > 1) _mm256_storeu_ps(a + q0 + 8, v1);
                    if (vectors > 2) _mm256_storeu_ps(a + q0 + 16, v2);
                    if (vectors > 3) _mm256_storeu_ps(a + q0 + 24, v3);
                }
            }
        }
        if (sw == 1)
            continue;
        ptrdiff_t q = 0;
        if (sw == 2 && !sparse) {
            /* interleave the two phases, 16 output columns a step */
            const float *a0 = acc, *a1 = acc + span;
            for (; 2 * q + 16 <= out_w; q += 8) {
                const __m256 e = _mm256_loadu_ps(a0 + q), o = _mm256_loadu_ps(a1 + q);
                const __m256 lo = _mm256_unpacklo_ps(e, o), hi = _mm256_unpackhi_ps(e, o);
                _mm256_storeu_ps(row + 2 * q, _mm256_permute2f128_ps(lo, hi, 0x20));
                _mm256_storeu_ps(row + 2 * q + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
            }
        }
        for (ptrdiff_t b = 0; b < sw; b++)
            if (first[b] < first[b + 1])
                for (ptrdiff_t p = q; p * sw + b < out_w; p++)
                    row[p * sw + b] = acc[b * span + p];
    }
}
#undef SUITE_PHASED_CHUNK
#undef SUITE_PHASED_FULL
#undef SUITE_PHASED_TERM
#endif

static inline void suite_phased_rows_f32(
    const suite_phased_geometry *g, const float *x_group, const float *w_col, float start,
    ptrdiff_t oh0, ptrdiff_t oh1, float *out, float *acc, const float **xrows,
    const float **wrows)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_phased_rows_avx2_f32(g, x_group, w_col, start, oh0, oh1, out, acc, xrows, wrows);
        return;
    }
#endif
    suite_phased_rows_scalar_f32(g, x_group, w_col, start, oh0, oh1, out, acc, xrows, wrows);
}

#endif
