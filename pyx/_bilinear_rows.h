/* Row kernels of bilinear x2 upsampling, align_corners=False (see _simd.h for the vector
 * switch): the horizontal pass, d[2j + 1] = 0.75 s[j] + 0.25 s[j + 1] and d[2j + 2] = 0.25 s[j]
 * + 0.75 s[j + 1] for j < n - 1 (PyTorch's weights at scale 2: the caller checked its tables
 * say so and writes the two edge columns from them); the vertical blend d = a r0 + b r1; the
 * rows of a band of one plane (suite.upsample); and one whole output row made from two input
 * rows in registers (the fused upsample + convolution); at other scales, a row's horizontal
 * pass by blocks of 8 outputs from per-plan tables. Each value is the general formula's
 * products and sums in its order.
 */
#ifndef SUITE_BILINEAR_ROWS_H
#define SUITE_BILINEAR_ROWS_H

#include "_simd.h"

/* ---- bilinear x2 ---------------------------------------------------------------- */

static inline void suite_bilinear_x2_row_scalar_f32(const float *s, ptrdiff_t from, ptrdiff_t n,
                                                    float *d)
{
    for (ptrdiff_t j = from; j + 1 < n; j++) {
        d[2 * j + 1] = 0.75f * s[j] + 0.25f * s[j + 1];
        d[2 * j + 2] = 0.25f * s[j] + 0.75f * s[j + 1];
    }
}

static inline void suite_bilinear_x2_row_scalar_f64(const double *s, ptrdiff_t from,
                                                    ptrdiff_t n, double *d)
{
    for (ptrdiff_t j = from; j + 1 < n; j++) {
        d[2 * j + 1] = 0.75 * s[j] + 0.25 * s[j + 1];
        d[2 * j + 2] = 0.25 * s[j] + 0.75 * s[j + 1];
    }
}

#if defined(__SSE2__)
static inline void suite_bilinear_x2_row_sse_f32(const float *s, ptrdiff_t n, float *d)
{
    const __m128 w3 = _mm_set1_ps(0.75f), w1 = _mm_set1_ps(0.25f);
    ptrdiff_t pairs = n - 1;                    /* j = 0 .. n - 2 */
    if (pairs < 4) {
        suite_bilinear_x2_row_scalar_f32(s, 0, n, d);
        return;
    }
    for (ptrdiff_t j = 0;; j += 4) {
        if (j + 4 > pairs)
            j = pairs - 4;
        __m128 a = _mm_loadu_ps(s + j), b = _mm_loadu_ps(s + j + 1);
        __m128 odd = _mm_add_ps(_mm_mul_ps(w3, a), _mm_mul_ps(w1, b));
        __m128 even = _mm_add_ps(_mm_mul_ps(w1, a), _mm_mul_ps(w3, b));
        _mm_storeu_ps(d + 2 * j + 1, _mm_unpacklo_ps(odd, even));
        _mm_storeu_ps(d + 2 * j + 5, _mm_unpackhi_ps(odd, even));
        if (j + 4 >= pairs)
            break;
    }
}

static inline void suite_bilinear_x2_row_sse_f64(const double *s, ptrdiff_t n, double *d)
{
    const __m128d w3 = _mm_set1_pd(0.75), w1 = _mm_set1_pd(0.25);
    ptrdiff_t pairs = n - 1;
    if (pairs < 2) {
        suite_bilinear_x2_row_scalar_f64(s, 0, n, d);
        return;
    }
    for (ptrdiff_t j = 0;; j += 2) {
        if (j + 2 > pairs)
            j = pairs - 2;
        __m128d a = _mm_loadu_pd(s + j), b = _mm_loadu_pd(s + j + 1);
        __m128d odd = _mm_add_pd(_mm_mul_pd(w3, a), _mm_mul_pd(w1, b));
        __m128d even = _mm_add_pd(_mm_mul_pd(w1, a), _mm_mul_pd(w3, b));
        _mm_storeu_pd(d + 2 * j + 1, _mm_unpacklo_pd(odd, even));
        _mm_storeu_pd(d + 2 * j + 3, _mm_unpackhi_pd(odd, even));
        if (j + 2 >= pairs)
            break;
    }
}

static inline void suite_blend_sse_f32(const float *r0, const float *r1, float a, float b,
                                       float *d, ptrdiff_t n)
{
    const __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b);
    ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(d + i, _mm_add_ps(_mm_mul_ps(va, _mm_loadu_ps(r0 + i)),
                                        _mm_mul_ps(vb, _mm_loadu_ps(r1 + i))));
    for (; i < n; i++)
        d[i] = a * r0[i] + b * r1[i];
}

static inline void suite_blend_sse_f64(const double *r0, const double *r1, double a, double b,
                                       double *d, ptrdiff_t n)
{
    const __m128d va = _mm_set1_pd(a), vb = _mm_set1_pd(b);
    ptrdiff_t i = 0;
    for (; i + 2 <= n; i += 2)
        _mm_storeu_pd(d + i, _mm_add_pd(_mm_mul_pd(va, _mm_loadu_pd(r0 + i)),
                                        _mm_mul_pd(vb, _mm_loadu_pd(r1 + i))));
    for (; i < n; i++)
        d[i] = a * r0[i] + b * r1[i];
}
#endif  /* __SSE2__ */

#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static inline void suite_bilinear_x2_row_avx2_f32(const float *s, ptrdiff_t n, float *d)
{
    const __m256 w3 = _mm256_set1_ps(0.75f), w1 = _mm256_set1_ps(0.25f);
    ptrdiff_t pairs = n - 1;
    if (pairs < 8) {
        suite_bilinear_x2_row_sse_f32(s, n, d);
        return;
    }
    for (ptrdiff_t j = 0;; j += 8) {
        if (j + 8 > pairs)
            j = pairs - 8;
        __m256 a = _mm256_loadu_ps(s + j), b = _mm256_loadu_ps(s + j + 1);
        __m256 odd = _mm256_add_ps(_mm256_mul_ps(w3, a), _mm256_mul_ps(w1, b));
        __m256 even = _mm256_add_ps(_mm256_mul_ps(w1, a), _mm256_mul_ps(w3, b));
        __m256 lo = _mm256_unpacklo_ps(odd, even), hi = _mm256_unpackhi_ps(odd, even);
        _mm256_storeu_ps(d + 2 * j + 1, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(d + 2 * j + 9, _mm256_permute2f128_ps(lo, hi, 0x31));
        if (j + 8 >= pairs)
            break;
    }
}

__attribute__((target("avx2")))
static inline void suite_bilinear_x2_row_avx2_f64(const double *s, ptrdiff_t n, double *d)
{
    const __m256d w3 = _mm256_set1_pd(0.75), w1 = _mm256_set1_pd(0.25);
    ptrdiff_t pairs = n - 1;
    if (pairs < 4) {
        suite_bilinear_x2_row_sse_f64(s, n, d);
        return;
    }
    for (ptrdiff_t j = 0;; j += 4) {
        if (j + 4 > pairs)
            j = pairs - 4;
        __m256d a = _mm256_loadu_pd(s + j), b = _mm256_loadu_pd(s + j + 1);
        __m256d odd = _mm256_add_pd(_mm256_mul_pd(w3, a), _mm256_mul_pd(w1, b));
        __m256d even = _mm256_add_pd(_mm256_mul_pd(w1, a), _mm256_mul_pd(w3, b));
        __m256d lo = _mm256_unpacklo_pd(odd, even), hi = _mm256_unpackhi_pd(odd, even);
        _mm256_storeu_pd(d + 2 * j + 1, _mm256_permute2f128_pd(lo, hi, 0x20));
        _mm256_storeu_pd(d + 2 * j + 5, _mm256_permute2f128_pd(lo, hi, 0x31));
        if (j + 4 >= pairs)
            break;
    }
}

__attribute__((target("avx2")))
static inline void suite_blend_avx2_f32(const float *r0, const float *r1, float a, float b, float *d,
                                 ptrdiff_t n)
{
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    if (n < 8) {
        suite_blend_sse_f32(r0, r1, a, b, d, n);
        return;
    }
    /* No vector overlaps the one before: row buffers just written by vectors of the same
     * offsets are read back whole (a load across two stores waits for both to retire). */
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(r0 + i)),
                                              _mm256_mul_ps(vb, _mm256_loadu_ps(r1 + i))));
    suite_blend_sse_f32(r0 + i, r1 + i, a, b, d + i, n - i);
}

__attribute__((target("avx2")))
static inline void suite_blend_avx2_f64(const double *r0, const double *r1, double a, double b,
                                 double *d, ptrdiff_t n)
{
    const __m256d va = _mm256_set1_pd(a), vb = _mm256_set1_pd(b);
    if (n < 4) {
        suite_blend_sse_f64(r0, r1, a, b, d, n);
        return;
    }
    for (ptrdiff_t i = 0;; i += 4) {
        if (i + 4 > n)
            i = n - 4;
        _mm256_storeu_pd(d + i, _mm256_add_pd(_mm256_mul_pd(va, _mm256_loadu_pd(r0 + i)),
                                              _mm256_mul_pd(vb, _mm256_loadu_pd(r1 + i))));
        if (i + 4 >= n)
            break;
    }
}
#endif

/* ---- bilinear, any other width scale: a row's horizontal pass by blocks of 8 ---- */

/* d[o] = lw0[o] s[w0[o]] + lw1[o] s[w1[o]] for o < n (>= 8), by blocks of 8 outputs (the
 * last one ends at n, overlapping the one before): each tap's 8 inputs are one load of 8
 * consecutive values, from base0[b] (base1[b]) and permuted by perm0 (perm1), the tables of
 * suite/upsample.py's _gather_blocks for w0 and w1; a block with either base < 0 is computed
 * value by value. The products and the sum of the scalar formula, in its order, without
 * fused multiply-adds: the same bits. Returns 0 (the caller runs its loop) without AVX2. */
#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static void suite_bilinear_row_gather_avx2_f32(const float *s, float *d, ptrdiff_t n,
                                               const int32_t *base0, const int32_t *perm0,
                                               const int32_t *base1, const int32_t *perm1,
                                               const float *lw0, const float *lw1,
                                               const ptrdiff_t *w0, const ptrdiff_t *w1)
{
    ptrdiff_t blocks = n / 8;
    for (ptrdiff_t b = 0; b < blocks; b++) {
        ptrdiff_t o = 8 * b;
        if (base0[b] >= 0 && base1[b] >= 0) {
            __m256 v0 = _mm256_permutevar8x32_ps(
                _mm256_loadu_ps(s + base0[b]),
                _mm256_loadu_si256((const __m256i *) (perm0 + 8 * b)));
            __m256 v1 = _mm256_permutevar8x32_ps(
                _mm256_loadu_ps(s + base1[b]),
                _mm256_loadu_si256((const __m256i *) (perm1 + 8 * b)));
            _mm256_storeu_ps(d + o, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(lw0 + o), v0),
                                                  _mm256_mul_ps(_mm256_loadu_ps(lw1 + o), v1)));
        } else {
            for (ptrdiff_t j = o; j < o + 8; j++)
                d[j] = lw0[j] * s[w0[j]] + lw1[j] * s[w1[j]];
        }
    }
    for (ptrdiff_t j = 8 * blocks; j < n; j++)
        d[j] = lw0[j] * s[w0[j]] + lw1[j] * s[w1[j]];
}
#endif

static inline int suite_bilinear_row_gather_f32(const float *s, float *d, ptrdiff_t n,
                                                const int32_t *base0, const int32_t *perm0,
                                                const int32_t *base1, const int32_t *perm1,
                                                const float *lw0, const float *lw1,
                                                const ptrdiff_t *w0, const ptrdiff_t *w1)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (n >= 8 && suite_cpu_has_avx2()) {
        suite_bilinear_row_gather_avx2_f32(s, d, n, base0, perm0, base1, perm1, lw0, lw1, w0,
                                           w1);
        return 1;
    }
#endif
    return 0;
}

/* d[i] = a r0[i] + b r1[i], i < n. */
static inline void suite_blend_f32(const float *r0, const float *r1, float a, float b, float *d,
                                   ptrdiff_t n)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_blend_avx2_f32(r0, r1, a, b, d, n);
        return;
    }
#endif
#if defined(__SSE2__)
    suite_blend_sse_f32(r0, r1, a, b, d, n);
#else
    for (ptrdiff_t i = 0; i < n; i++)
        d[i] = a * r0[i] + b * r1[i];
#endif
}

static inline void suite_blend_f64(const double *r0, const double *r1, double a, double b,
                                   double *d, ptrdiff_t n)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_blend_avx2_f64(r0, r1, a, b, d, n);
        return;
    }
#endif
#if defined(__SSE2__)
    suite_blend_sse_f64(r0, r1, a, b, d, n);
#else
    for (ptrdiff_t i = 0; i < n; i++)
        d[i] = a * r0[i] + b * r1[i];
#endif
}

/* Output rows [oh_start, oh_stop) of one plane: each output row blends the horizontal
 * passes of input rows h0[oh] and h1[oh], kept in buf (2 out_w values) from one output row
 * to the next. HROW(s, row) writes one input row's horizontal pass: bilinear x2 columns
 * from the x2 row kernels (any rows; the edge columns from the tables), other scales from
 * the tables (by blocks of 8 where base0 is not NULL: suite_bilinear_row_gather). One
 * function per ISA, so that the row kernels inline into its loop. */
#define SUITE_BILINEAR_ROWS(NAME, T, ATTR, HROW, BLEND)                                       \
ATTR static void NAME(const T *src, ptrdiff_t n, T *dst, ptrdiff_t out_w,                     \
                      ptrdiff_t oh_start, ptrdiff_t oh_stop,                                  \
                      const ptrdiff_t *h0, const ptrdiff_t *h1, const T *lh0, const T *lh1,   \
                      const ptrdiff_t *w0, const ptrdiff_t *w1, const T *lw0, const T *lw1,   \
                      const int32_t *base0, const int32_t *perm0, const int32_t *base1,       \
                      const int32_t *perm1, T *buf)                                           \
{                                                                                             \
    T *row_a = buf, *row_b = buf + out_w, *swap;                                              \
    ptrdiff_t in_a = -1, in_b = -1, in_swap, last = out_w - 1;                                \
    (void) last; (void) base0; (void) perm0; (void) base1; (void) perm1;                      \
    for (ptrdiff_t oh = oh_start; oh < oh_stop; oh++) {                                       \
        if (in_b == h0[oh]) {                                                                 \
            swap = row_a; row_a = row_b; row_b = swap;                                        \
            in_swap = in_a; in_a = in_b; in_b = in_swap;                                      \
        }                                                                                     \
        if (in_a != h0[oh]) {                                                                 \
            HROW(src + h0[oh] * n, row_a);                                                    \
            in_a = h0[oh];                                                                    \
        }                                                                                     \
        if (in_b != h1[oh]) {                                                                 \
            HROW(src + h1[oh] * n, row_b);                                                    \
            in_b = h1[oh];                                                                    \
        }                                                                                     \
        BLEND(row_a, row_b, lh0[oh], lh1[oh], dst + oh * out_w, out_w);                       \
    }                                                                                         \
}

/* An x2 row: the edge columns from the tables, the interior from ROW. */
#define SUITE_X2_HROW(ROW, s, row)                                                            \
    do {                                                                                      \
        const __typeof__(*(row)) *s_ = (s);                                                   \
        (row)[0] = lw0[0] * s_[w0[0]] + lw1[0] * s_[w1[0]];                                   \
        ROW(s_, n, (row));                                                                    \
        (row)[last] = lw0[last] * s_[w0[last]] + lw1[last] * s_[w1[last]];                    \
    } while (0)
/* A row at any scale, value by value. */
#define SUITE_TABLE_HROW(s, row)                                                              \
    do {                                                                                      \
        const __typeof__(*(row)) *s_ = (s);                                                   \
        for (ptrdiff_t o_ = 0; o_ < out_w; o_++)                                              \
            (row)[o_] = lw0[o_] * s_[w0[o_]] + lw1[o_] * s_[w1[o_]];                          \
    } while (0)

#define SUITE_X2_HROW_SSE_F32(s, row) SUITE_X2_HROW(suite_bilinear_x2_row_sse_f32, s, row)
#define SUITE_X2_HROW_SSE_F64(s, row) SUITE_X2_HROW(suite_bilinear_x2_row_sse_f64, s, row)
#define SUITE_X2_HROW_AVX2_F32(s, row) SUITE_X2_HROW(suite_bilinear_x2_row_avx2_f32, s, row)
#define SUITE_X2_HROW_AVX2_F64(s, row) SUITE_X2_HROW(suite_bilinear_x2_row_avx2_f64, s, row)

#if defined(__SSE2__)
SUITE_BILINEAR_ROWS(suite_bilinear_x2_rows_sse_f32, float, , SUITE_X2_HROW_SSE_F32,
                    suite_blend_sse_f32)
SUITE_BILINEAR_ROWS(suite_bilinear_x2_rows_sse_f64, double, , SUITE_X2_HROW_SSE_F64,
                    suite_blend_sse_f64)
SUITE_BILINEAR_ROWS(suite_bilinear_rows_sse_f32, float, , SUITE_TABLE_HROW, suite_blend_sse_f32)
SUITE_BILINEAR_ROWS(suite_bilinear_rows_sse_f64, double, , SUITE_TABLE_HROW,
                    suite_blend_sse_f64)
#endif
#if defined(SUITE_HAVE_AVX2_DISPATCH)
SUITE_BILINEAR_ROWS(suite_bilinear_x2_rows_avx2_f32, float, __attribute__((target("avx2"))),
                    SUITE_X2_HROW_AVX2_F32, suite_blend_avx2_f32)
SUITE_BILINEAR_ROWS(suite_bilinear_x2_rows_avx2_f64, double, __attribute__((target("avx2"))),
                    SUITE_X2_HROW_AVX2_F64, suite_blend_avx2_f64)
/* Rows of 8 or more with tables by blocks, else value by value. */
#define SUITE_GATHER_HROW_AVX2_F32(s, row)                                                    \
    do {                                                                                      \
        if (base0 != NULL && out_w >= 8)                                                      \
            suite_bilinear_row_gather_avx2_f32((s), (row), out_w, base0, perm0, base1, perm1, \
                                               lw0, lw1, w0, w1);                             \
        else                                                                                  \
            SUITE_TABLE_HROW(s, row);                                                         \
    } while (0)
SUITE_BILINEAR_ROWS(suite_bilinear_rows_avx2_f32, float, __attribute__((target("avx2"))),
                    SUITE_GATHER_HROW_AVX2_F32, suite_blend_avx2_f32)
SUITE_BILINEAR_ROWS(suite_bilinear_rows_avx2_f64, double, __attribute__((target("avx2"))),
                    SUITE_TABLE_HROW, suite_blend_avx2_f64)
#endif

static inline void suite_bilinear_x2_rows_scalar_blend_f32(const float *r0, const float *r1,
                                                           float a, float b, float *d,
                                                           ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        d[i] = a * r0[i] + b * r1[i];
}

static inline void suite_bilinear_x2_rows_scalar_blend_f64(const double *r0, const double *r1,
                                                           double a, double b, double *d,
                                                           ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        d[i] = a * r0[i] + b * r1[i];
}

#if !defined(__SSE2__)
#define SUITE_X2_HROW_PLAIN_F32(s, row) SUITE_X2_HROW(suite_bilinear_x2_rows_scalar_row_f32, s, row)
#define SUITE_X2_HROW_PLAIN_F64(s, row) SUITE_X2_HROW(suite_bilinear_x2_rows_scalar_row_f64, s, row)
static inline void suite_bilinear_x2_rows_scalar_row_f32(const float *s, ptrdiff_t n, float *d)
{
    suite_bilinear_x2_row_scalar_f32(s, 0, n, d);
}

static inline void suite_bilinear_x2_rows_scalar_row_f64(const double *s, ptrdiff_t n,
                                                         double *d)
{
    suite_bilinear_x2_row_scalar_f64(s, 0, n, d);
}

SUITE_BILINEAR_ROWS(suite_bilinear_x2_rows_plain_f32, float, , SUITE_X2_HROW_PLAIN_F32,
                    suite_bilinear_x2_rows_scalar_blend_f32)
SUITE_BILINEAR_ROWS(suite_bilinear_x2_rows_plain_f64, double, , SUITE_X2_HROW_PLAIN_F64,
                    suite_bilinear_x2_rows_scalar_blend_f64)
SUITE_BILINEAR_ROWS(suite_bilinear_rows_plain_f32, float, , SUITE_TABLE_HROW,
                    suite_bilinear_x2_rows_scalar_blend_f32)
SUITE_BILINEAR_ROWS(suite_bilinear_rows_plain_f64, double, , SUITE_TABLE_HROW,
                    suite_bilinear_x2_rows_scalar_blend_f64)
#endif

/* The band of rows on the widest row kernels this CPU runs: KIND x2_rows (bilinear x2
 * columns) or rows (any scale). */
#if defined(SUITE_HAVE_AVX2_DISPATCH) && defined(__SSE2__)
#define SUITE_BILINEAR_DISPATCH(KIND, S)                                                    \
    if (suite_cpu_has_avx2())                                                               \
        suite_bilinear_##KIND##_avx2_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0, \
                                         lh1, w0, w1, lw0, lw1, base0, perm0, base1, perm1,  \
                                         buf);                                               \
    else                                                                                    \
        suite_bilinear_##KIND##_sse_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0,  \
                                        lh1, w0, w1, lw0, lw1, base0, perm0, base1, perm1,   \
                                        buf);
#elif defined(__SSE2__)
#define SUITE_BILINEAR_DISPATCH(KIND, S)                                                    \
    suite_bilinear_##KIND##_sse_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0, lh1, \
                                    w0, w1, lw0, lw1, base0, perm0, base1, perm1, buf);
#else
#define SUITE_BILINEAR_DISPATCH(KIND, S)                                                    \
    suite_bilinear_##KIND##_plain_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0,    \
                                      lh1, w0, w1, lw0, lw1, base0, perm0, base1, perm1,     \
                                      buf);
#endif

/* A band of rows: bilinear x2 columns (``x2``) or any scale. */
#define SUITE_BILINEAR_BAND(NAME, T, S)                                                     \
static inline void NAME(int x2, const T *src, ptrdiff_t n, T *dst, ptrdiff_t out_w,         \
                        ptrdiff_t oh_start, ptrdiff_t oh_stop, const ptrdiff_t *h0,         \
                        const ptrdiff_t *h1, const T *lh0, const T *lh1,                    \
                        const ptrdiff_t *w0, const ptrdiff_t *w1, const T *lw0,             \
                        const T *lw1, const int32_t *base0, const int32_t *perm0,           \
                        const int32_t *base1, const int32_t *perm1, T *buf)                 \
{                                                                                           \
    if (x2) {                                                                               \
        SUITE_BILINEAR_DISPATCH(x2_rows, S)                                                 \
    } else {                                                                                \
        SUITE_BILINEAR_DISPATCH(rows, S)                                                    \
    }                                                                                       \
}
SUITE_BILINEAR_BAND(suite_bilinear_band_f32, float, f32)
SUITE_BILINEAR_BAND(suite_bilinear_band_f64, double, f64)

/* ---- bilinear rows of narrow planes (float32, AVX-512) ------------------------------ */

/* Planes whose input and output rows are at most SUITE_BILINEAR_NARROW values wide: a row's
 * horizontal pass is two permutes of the input row held in two vectors (masked loads: no
 * read past the row), kept in registers from one output row to the next, and each output
 * row their blend stored masked. No row buffers and no per-row calls: on rows of 5-20
 * values the row kernels above spent 12-20 ns a row on calls, tails and stores read back
 * at once. The products and sums of the table formula in its order: the same bits (x2's
 * tables give the x2 kernels' weights). Tasks [task_start, task_stop) of planes x bands
 * bands of `band` output rows, as the caller's loop. */
#define SUITE_BILINEAR_NARROW 32
#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* Products and sums by the rounding-mode forms, which the compiler does not contract into
 * fused multiply-adds as it may the plain ones where the target has FMA (AVX-512 does). */
#define SUITE_MUL512(a, b) _mm512_mul_round_ps((a), (b), _MM_FROUND_CUR_DIRECTION)
#define SUITE_ADD512(a, b) _mm512_add_round_ps((a), (b), _MM_FROUND_CUR_DIRECTION)
__attribute__((target("avx512f")))
static void suite_bilinear_narrow_avx512_f32(
    const float *src, ptrdiff_t in_h, ptrdiff_t n, float *dst, ptrdiff_t out_h,
    ptrdiff_t out_w, ptrdiff_t task_start, ptrdiff_t task_stop, ptrdiff_t bands,
    ptrdiff_t band, const ptrdiff_t *h0, const ptrdiff_t *h1, const float *lh0,
    const float *lh1, const ptrdiff_t *w0, const ptrdiff_t *w1, const float *lw0,
    const float *lw1)
{
    int32_t i0[2 * 16], i1[2 * 16];
    float l0[2 * 16], l1[2 * 16];
    for (ptrdiff_t o = 0; o < 2 * 16; o++) {
        i0[o] = o < out_w ? (int32_t) w0[o] : 0;
        i1[o] = o < out_w ? (int32_t) w1[o] : 0;
        l0[o] = o < out_w ? lw0[o] : 0.0f;
        l1[o] = o < out_w ? lw1[o] : 0.0f;
    }
    const __m512i i0a = _mm512_loadu_si512(i0), i0b = _mm512_loadu_si512(i0 + 16);
    const __m512i i1a = _mm512_loadu_si512(i1), i1b = _mm512_loadu_si512(i1 + 16);
    const __m512 l0a = _mm512_loadu_ps(l0), l0b = _mm512_loadu_ps(l0 + 16);
    const __m512 l1a = _mm512_loadu_ps(l1), l1b = _mm512_loadu_ps(l1 + 16);
    const __mmask16 in_a = (__mmask16) ((1u << (n < 16 ? n : 16)) - 1u);
    const __mmask16 in_b = (__mmask16) ((1u << (n > 16 ? n - 16 : 0)) - 1u);
    const __mmask16 out_a = (__mmask16) ((1u << (out_w < 16 ? out_w : 16)) - 1u);
    const __mmask16 out_b = (__mmask16) ((1u << (out_w > 16 ? out_w - 16 : 0)) - 1u);
#define SUITE_NARROW_HROW(ROW, LO, HI)                                                        \
    do {                                                                                      \
        const float *r_ = plane_in + (ROW) * n;                                               \
        __m512 sa_ = _mm512_maskz_loadu_ps(in_a, r_), sb_ = _mm512_maskz_loadu_ps(in_b, r_ + 16); \
        LO = SUITE_ADD512(SUITE_MUL512(l0a, _mm512_permutex2var_ps(sa_, i0a, sb_)),          \
                           SUITE_MUL512(l1a, _mm512_permutex2var_ps(sa_, i1a, sb_)));         \
        if (out_b)                                                                            \
            HI = SUITE_ADD512(SUITE_MUL512(l0b, _mm512_permutex2var_ps(sa_, i0b, sb_)),      \
                               SUITE_MUL512(l1b, _mm512_permutex2var_ps(sa_, i1b, sb_)));     \
    } while (0)
    for (ptrdiff_t task = task_start; task < task_stop; task++) {
        ptrdiff_t plane = task / bands, oh_start = (task - plane * bands) * band;
        ptrdiff_t oh_stop = oh_start + band < out_h ? oh_start + band : out_h;
        const float *plane_in = src + plane * in_h * n;
        float *plane_out = dst + plane * out_h * out_w;
        __m512 ra = _mm512_setzero_ps(), rb = _mm512_setzero_ps();     /* row h0: lo, hi */
        __m512 qa = _mm512_setzero_ps(), qb = _mm512_setzero_ps();     /* row h1 */
        __m512 swap;
        ptrdiff_t row_r = -1, row_q = -1, row_swap;
        for (ptrdiff_t oh = oh_start; oh < oh_stop; oh++) {
            if (row_q == h0[oh]) {
                swap = ra; ra = qa; qa = swap;
                swap = rb; rb = qb; qb = swap;
                row_swap = row_r; row_r = row_q; row_q = row_swap;
            }
            if (row_r != h0[oh]) {
                SUITE_NARROW_HROW(h0[oh], ra, rb);
                row_r = h0[oh];
            }
            if (row_q != h1[oh]) {
                SUITE_NARROW_HROW(h1[oh], qa, qb);
                row_q = h1[oh];
            }
            const __m512 a = _mm512_set1_ps(lh0[oh]), b = _mm512_set1_ps(lh1[oh]);
            float *d = plane_out + oh * out_w;
            _mm512_mask_storeu_ps(d, out_a, SUITE_ADD512(SUITE_MUL512(a, ra),
                                                          SUITE_MUL512(b, qa)));
            if (out_b)
                _mm512_mask_storeu_ps(d + 16, out_b, SUITE_ADD512(SUITE_MUL512(a, rb),
                                                                   SUITE_MUL512(b, qb)));
        }
    }
#undef SUITE_NARROW_HROW
}
#endif

/* 1 when the tasks ran on the narrow-plane kernel, 0 when the caller runs them (no
 * AVX-512, or rows wider than SUITE_BILINEAR_NARROW). */
static inline int suite_bilinear_narrow_f32(
    const float *src, ptrdiff_t in_h, ptrdiff_t n, float *dst, ptrdiff_t out_h,
    ptrdiff_t out_w, ptrdiff_t task_start, ptrdiff_t task_stop, ptrdiff_t bands,
    ptrdiff_t band, const ptrdiff_t *h0, const ptrdiff_t *h1, const float *lh0,
    const float *lh1, const ptrdiff_t *w0, const ptrdiff_t *w1, const float *lw0,
    const float *lw1)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (n <= SUITE_BILINEAR_NARROW && out_w <= SUITE_BILINEAR_NARROW && suite_cpu_has_avx512()) {
        suite_bilinear_narrow_avx512_f32(src, in_h, n, dst, out_h, out_w, task_start,
                                         task_stop, bands, band, h0, h1, lh0, lh1, w0, w1,
                                         lw0, lw1);
        return 1;
    }
#endif
    return 0;
}

/* ---- bilinear x2 row of the fused upsample + convolution ---------------------------- */

/* d[o] = a (lw0 r0[w0] + lw1 r0[w1]) + b (lw0 r1[w0] + lw1 r1[w1]) for the 2n columns o of
 * a bilinear x2 row (align_corners=False; the caller checked the tables are x2's): the
 * interior from the x2 weights (0.75, 0.25) without tables, both input rows' horizontal
 * values and their blend in registers (the same products and sums in the same order as
 * the table formula), the two edge columns from the tables. */
#define SUITE_BLEND2(T, R0, R1, I, J, LA, LB, A, B)                                        \
    ((A) * ((LA) * (R0)[I] + (LB) * (R0)[J]) + (B) * ((LA) * (R1)[I] + (LB) * (R1)[J]))

static inline void suite_bilinear_x2_blend_scalar_f32(const float *r0, const float *r1,
                                                      float a, float b, ptrdiff_t from,
                                                      ptrdiff_t n, float *d)
{
    for (ptrdiff_t j = from; j + 1 < n; j++) {
        d[2 * j + 1] = SUITE_BLEND2(float, r0, r1, j, j + 1, 0.75f, 0.25f, a, b);
        d[2 * j + 2] = SUITE_BLEND2(float, r0, r1, j, j + 1, 0.25f, 0.75f, a, b);
    }
}

static inline void suite_bilinear_x2_blend_scalar_f64(const double *r0, const double *r1,
                                                      double a, double b, ptrdiff_t from,
                                                      ptrdiff_t n, double *d)
{
    for (ptrdiff_t j = from; j + 1 < n; j++) {
        d[2 * j + 1] = SUITE_BLEND2(double, r0, r1, j, j + 1, 0.75, 0.25, a, b);
        d[2 * j + 2] = SUITE_BLEND2(double, r0, r1, j, j + 1, 0.25, 0.75, a, b);
    }
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static void suite_bilinear_x2_blend_avx2_f32(const float *r0, const float *r1, float a,
                                             float b, ptrdiff_t n, float *d)
{
    const __m256 w3 = _mm256_set1_ps(0.75f), w1 = _mm256_set1_ps(0.25f);
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    ptrdiff_t pairs = n - 1, j = 0;
    for (; j + 8 <= pairs; j += 8) {
        __m256 p0 = _mm256_loadu_ps(r0 + j), q0 = _mm256_loadu_ps(r0 + j + 1);
        __m256 p1 = _mm256_loadu_ps(r1 + j), q1 = _mm256_loadu_ps(r1 + j + 1);
        __m256 odd = _mm256_add_ps(
            _mm256_mul_ps(va, _mm256_add_ps(_mm256_mul_ps(w3, p0), _mm256_mul_ps(w1, q0))),
            _mm256_mul_ps(vb, _mm256_add_ps(_mm256_mul_ps(w3, p1), _mm256_mul_ps(w1, q1))));
        __m256 even = _mm256_add_ps(
            _mm256_mul_ps(va, _mm256_add_ps(_mm256_mul_ps(w1, p0), _mm256_mul_ps(w3, q0))),
            _mm256_mul_ps(vb, _mm256_add_ps(_mm256_mul_ps(w1, p1), _mm256_mul_ps(w3, q1))));
        __m256 lo = _mm256_unpacklo_ps(odd, even), hi = _mm256_unpackhi_ps(odd, even);
        _mm256_storeu_ps(d + 2 * j + 1, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(d + 2 * j + 9, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    suite_bilinear_x2_blend_scalar_f32(r0, r1, a, b, j, n, d);
}
#endif

static inline void suite_bilinear_x2_blend_row_f32(
    const float *r0, const float *r1, float a, float b, ptrdiff_t n, float *d,
    const ptrdiff_t *w0, const ptrdiff_t *w1, const float *lw0, const float *lw1)
{
    ptrdiff_t last = 2 * n - 1;
    d[0] = SUITE_BLEND2(float, r0, r1, w0[0], w1[0], lw0[0], lw1[0], a, b);
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2())
        suite_bilinear_x2_blend_avx2_f32(r0, r1, a, b, n, d);
    else
#endif
        suite_bilinear_x2_blend_scalar_f32(r0, r1, a, b, 0, n, d);
    d[last] = SUITE_BLEND2(float, r0, r1, w0[last], w1[last], lw0[last], lw1[last], a, b);
}

static inline void suite_bilinear_x2_blend_row_f64(
    const double *r0, const double *r1, double a, double b, ptrdiff_t n, double *d,
    const ptrdiff_t *w0, const ptrdiff_t *w1, const double *lw0, const double *lw1)
{
    ptrdiff_t last = 2 * n - 1;
    d[0] = SUITE_BLEND2(double, r0, r1, w0[0], w1[0], lw0[0], lw1[0], a, b);
    suite_bilinear_x2_blend_scalar_f64(r0, r1, a, b, 0, n, d);
    d[last] = SUITE_BLEND2(double, r0, r1, w0[last], w1[last], lw0[last], lw1[last], a, b);
}

#endif
