/* Vector row kernels of x2 upsampling, the commonest resize of decoders: nearest (both
 * axes) and the horizontal and vertical passes of bilinear (align_corners=False).
 *
 * Nearest:
 * With out_h == 2 in_h and out_w == 2 in_w, input row r of the (planes x in_h) rows of x
 * becomes the two consecutive output rows 2r and 2r + 1, each src[i] written at 2i and 2i + 1:
 * a whole share of rows is one flat loop, with no per-row call or copy.
 *
 * suite_nearest_x2_*(src, rows, n, dst, streaming): dst[4nr + 2i + {0, 1}] and
 * dst[4nr + 2n + 2i + {0, 1}] = src[nr + i] for r < rows, i < n.
 *
 * Plain stores use the widest vectors the CPU has among AVX2 (checked at run time, so the
 * build stays portable) and SSE2, the last vector of a row overlapping the one before instead
 * of a scalar tail (it rewrites the same values). Streaming (non-temporal) stores write whole
 * cache lines without reading them first (a plain store reads its line: writing a map larger
 * than the last-level cache costs its size twice in memory traffic, as np.copyto avoids for
 * large copies); they bypass the cache, so they pay only for outputs too large to be read back
 * from it, and the caller decides. One store fence ends the share. Rows whose two output rows
 * are not aligned alike (odd n) take plain stores.
 *
 * Nearest at another integer width scale k: broadcast stores into every output row that
 * reads the input row (suite_nearest_k_rows_*); float32 with AVX2 streams the 32-byte-aligned
 * whole blocks of rows that start aligned, when the caller asks, one fence per input row.
 *
 * Bilinear x2, horizontal: the interior of an output row, d[2j + 1] = 0.75 s[j] + 0.25 s[j + 1]
 * and d[2j + 2] = 0.25 s[j] + 0.75 s[j + 1] for j < n - 1 (PyTorch's weights at scale 2: the
 * caller checked its tables say so and writes the two edge columns from them). Vertical:
 * d = a r0 + b r1. Each value is the general formula's product pair and one addition, in
 * the same order, with no fused multiply-add (the AVX2 functions enable AVX2 only): the same
 * bits as the scalar loops, on every path.
 */
#ifndef SUITE_ROWS_H
#define SUITE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__SSE2__)
#include <immintrin.h>
#define SUITE_HAVE_AVX2_DISPATCH 1
#endif

static inline void suite_x2_row_scalar_f32(const float *s, ptrdiff_t from, ptrdiff_t n,
                                           float *d0, float *d1)
{
    for (ptrdiff_t i = from; i < n; i++)
        d0[2 * i] = d0[2 * i + 1] = d1[2 * i] = d1[2 * i + 1] = s[i];
}

static inline void suite_x2_row_scalar_f64(const double *s, ptrdiff_t from, ptrdiff_t n,
                                           double *d0, double *d1)
{
    for (ptrdiff_t i = from; i < n; i++)
        d0[2 * i] = d0[2 * i + 1] = d1[2 * i] = d1[2 * i + 1] = s[i];
}

#if defined(__SSE2__)
static inline void suite_x2_row_sse_f32(const float *s, ptrdiff_t n, float *d0, float *d1)
{
    ptrdiff_t i = 0;
    if (n < 4) {
        suite_x2_row_scalar_f32(s, 0, n, d0, d1);
        return;
    }
    for (;; i += 4) {
        if (i + 4 > n)
            i = n - 4;                          /* overlap the last vector */
        __m128 v = _mm_loadu_ps(s + i);
        __m128 lo = _mm_unpacklo_ps(v, v), hi = _mm_unpackhi_ps(v, v);
        _mm_storeu_ps(d0 + 2 * i, lo);
        _mm_storeu_ps(d0 + 2 * i + 4, hi);
        _mm_storeu_ps(d1 + 2 * i, lo);
        _mm_storeu_ps(d1 + 2 * i + 4, hi);
        if (i + 4 >= n)
            break;
    }
}

static inline void suite_x2_row_sse_f64(const double *s, ptrdiff_t n, double *d0, double *d1)
{
    ptrdiff_t i = 0;
    if (n < 2) {
        suite_x2_row_scalar_f64(s, 0, n, d0, d1);
        return;
    }
    for (;; i += 2) {
        if (i + 2 > n)
            i = n - 2;
        __m128d v = _mm_loadu_pd(s + i);
        __m128d lo = _mm_unpacklo_pd(v, v), hi = _mm_unpackhi_pd(v, v);
        _mm_storeu_pd(d0 + 2 * i, lo);
        _mm_storeu_pd(d0 + 2 * i + 2, hi);
        _mm_storeu_pd(d1 + 2 * i, lo);
        _mm_storeu_pd(d1 + 2 * i + 2, hi);
        if (i + 2 >= n)
            break;
    }
}

/* Streaming stores from the first 16-byte-aligned pair on; 0 when d0 and d1 are not aligned
 * alike or a pair straddles 16 bytes (the caller then stores plainly). */
static inline int suite_x2_row_stream_f32(const float *s, ptrdiff_t n, float *d0, float *d1)
{
    ptrdiff_t i = 0;
    uintptr_t a0 = (uintptr_t)d0 & 15, a1 = (uintptr_t)d1 & 15;
    if (a0 != a1 || (a0 != 0 && a0 != 8))
        return 0;
    if (a0 == 8 && n > 0) {
        d0[0] = d0[1] = d1[0] = d1[1] = s[0];
        i = 1;
    }
    for (; i + 4 <= n; i += 4) {
        __m128 v = _mm_loadu_ps(s + i);
        __m128 lo = _mm_unpacklo_ps(v, v), hi = _mm_unpackhi_ps(v, v);
        _mm_stream_ps(d0 + 2 * i, lo);
        _mm_stream_ps(d0 + 2 * i + 4, hi);
        _mm_stream_ps(d1 + 2 * i, lo);
        _mm_stream_ps(d1 + 2 * i + 4, hi);
    }
    suite_x2_row_scalar_f32(s, i, n, d0, d1);
    return 1;
}

static inline int suite_x2_row_stream_f64(const double *s, ptrdiff_t n, double *d0,
                                          double *d1)
{
    ptrdiff_t i;
    if (((uintptr_t)d0 & 15) != 0 || ((uintptr_t)d1 & 15) != 0)
        return 0;
    for (i = 0; i + 2 <= n; i += 2) {
        __m128d v = _mm_loadu_pd(s + i);
        __m128d lo = _mm_unpacklo_pd(v, v), hi = _mm_unpackhi_pd(v, v);
        _mm_stream_pd(d0 + 2 * i, lo);
        _mm_stream_pd(d0 + 2 * i + 2, hi);
        _mm_stream_pd(d1 + 2 * i, lo);
        _mm_stream_pd(d1 + 2 * i + 2, hi);
    }
    suite_x2_row_scalar_f64(s, i, n, d0, d1);
    return 1;
}
#endif  /* __SSE2__ */

#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static void suite_x2_rows_avx2_f32(const float *src, ptrdiff_t rows, ptrdiff_t n, float *dst)
{
    const __m256i lo_index = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256i hi_index = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *s = src + r * n;
        float *d0 = dst + 4 * r * n, *d1 = d0 + 2 * n;
        if (n < 8) {
            suite_x2_row_sse_f32(s, n, d0, d1);
            continue;
        }
        for (ptrdiff_t i = 0;; i += 8) {
            if (i + 8 > n)
                i = n - 8;
            __m256 v = _mm256_loadu_ps(s + i);
            __m256 lo = _mm256_permutevar8x32_ps(v, lo_index);
            __m256 hi = _mm256_permutevar8x32_ps(v, hi_index);
            _mm256_storeu_ps(d0 + 2 * i, lo);
            _mm256_storeu_ps(d0 + 2 * i + 8, hi);
            _mm256_storeu_ps(d1 + 2 * i, lo);
            _mm256_storeu_ps(d1 + 2 * i + 8, hi);
            if (i + 8 >= n)
                break;
        }
    }
}

__attribute__((target("avx2")))
static void suite_x2_rows_avx2_f64(const double *src, ptrdiff_t rows, ptrdiff_t n,
                                   double *dst)
{
    for (ptrdiff_t r = 0; r < rows; r++) {
        const double *s = src + r * n;
        double *d0 = dst + 4 * r * n, *d1 = d0 + 2 * n;
        if (n < 4) {
            suite_x2_row_sse_f64(s, n, d0, d1);
            continue;
        }
        for (ptrdiff_t i = 0;; i += 4) {
            if (i + 4 > n)
                i = n - 4;
            __m256d v = _mm256_loadu_pd(s + i);
            __m256d lo = _mm256_permute4x64_pd(v, 0x50);     /* 0 0 1 1 */
            __m256d hi = _mm256_permute4x64_pd(v, 0xFA);     /* 2 2 3 3 */
            _mm256_storeu_pd(d0 + 2 * i, lo);
            _mm256_storeu_pd(d0 + 2 * i + 4, hi);
            _mm256_storeu_pd(d1 + 2 * i, lo);
            _mm256_storeu_pd(d1 + 2 * i + 4, hi);
            if (i + 4 >= n)
                break;
        }
    }
}

static int suite_avx2_known = -1;
static int suite_avx2_allowed = 1;      /* the tests turn it off to run the SSE2 path */

/* 1 when the CPU runs AVX2 and it is allowed (asked once, before any thread starts). */
static inline int suite_cpu_has_avx2(void)
{
    if (suite_avx2_known < 0)
        suite_avx2_known = __builtin_cpu_supports("avx2") ? 1 : 0;
    return suite_avx2_known && suite_avx2_allowed;
}
#else
static int suite_avx2_allowed = 0;
static inline int suite_cpu_has_avx2(void) { return 0; }
#endif

static inline void suite_nearest_x2_f32(const float *src, ptrdiff_t rows, ptrdiff_t n,
                                        float *dst, int streaming)
{
#if defined(__SSE2__)
    if (streaming) {
        for (ptrdiff_t r = 0; r < rows; r++) {
            float *d0 = dst + 4 * r * n;
            if (!suite_x2_row_stream_f32(src + r * n, n, d0, d0 + 2 * n))
                suite_x2_row_sse_f32(src + r * n, n, d0, d0 + 2 * n);
        }
        _mm_sfence();
        return;
    }
#endif
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_x2_rows_avx2_f32(src, rows, n, dst);
        return;
    }
#endif
    (void)streaming;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *d0 = dst + 4 * r * n;
#if defined(__SSE2__)
        suite_x2_row_sse_f32(src + r * n, n, d0, d0 + 2 * n);
#else
        suite_x2_row_scalar_f32(src + r * n, 0, n, d0, d0 + 2 * n);
#endif
    }
}

static inline void suite_nearest_x2_f64(const double *src, ptrdiff_t rows, ptrdiff_t n,
                                        double *dst, int streaming)
{
#if defined(__SSE2__)
    if (streaming) {
        for (ptrdiff_t r = 0; r < rows; r++) {
            double *d0 = dst + 4 * r * n;
            if (!suite_x2_row_stream_f64(src + r * n, n, d0, d0 + 2 * n))
                suite_x2_row_sse_f64(src + r * n, n, d0, d0 + 2 * n);
        }
        _mm_sfence();
        return;
    }
#endif
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_x2_rows_avx2_f64(src, rows, n, dst);
        return;
    }
#endif
    (void)streaming;
    for (ptrdiff_t r = 0; r < rows; r++) {
        double *d0 = dst + 4 * r * n;
#if defined(__SSE2__)
        suite_x2_row_sse_f64(src + r * n, n, d0, d0 + 2 * n);
#else
        suite_x2_row_scalar_f64(src + r * n, 0, n, d0, d0 + 2 * n);
#endif
    }
}

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
    for (ptrdiff_t i = 0;; i += 8) {
        if (i + 8 > n)
            i = n - 8;                          /* overlap the last vector */
        _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(r0 + i)),
                                              _mm256_mul_ps(vb, _mm256_loadu_ps(r1 + i))));
        if (i + 8 >= n)
            break;
    }
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

/* Output rows [oh_start, oh_stop) of one plane of bilinear x2 columns (any rows): each
 * output row blends the horizontal interpolations of input rows h0[oh] and h1[oh], kept in
 * buf (2 out_w values) from one output row to the next; the edge columns from the tables.
 * One function per ISA, so that the row kernels inline into its loop. */
#define SUITE_BILINEAR_X2_ROWS(NAME, T, ATTR, ROW, BLEND)                                     \
ATTR static void NAME(const T *src, ptrdiff_t n, T *dst, ptrdiff_t out_w,                     \
                      ptrdiff_t oh_start, ptrdiff_t oh_stop,                                  \
                      const ptrdiff_t *h0, const ptrdiff_t *h1, const T *lh0, const T *lh1,   \
                      const ptrdiff_t *w0, const ptrdiff_t *w1, const T *lw0, const T *lw1,   \
                      T *buf)                                                                 \
{                                                                                             \
    T *row_a = buf, *row_b = buf + out_w, *swap;                                              \
    ptrdiff_t in_a = -1, in_b = -1, in_swap, last = out_w - 1;                                \
    for (ptrdiff_t oh = oh_start; oh < oh_stop; oh++) {                                       \
        if (in_b == h0[oh]) {                                                                 \
            swap = row_a; row_a = row_b; row_b = swap;                                        \
            in_swap = in_a; in_a = in_b; in_b = in_swap;                                      \
        }                                                                                     \
        if (in_a != h0[oh]) {                                                                 \
            const T *s = src + h0[oh] * n;                                                    \
            row_a[0] = lw0[0] * s[w0[0]] + lw1[0] * s[w1[0]];                                 \
            ROW(s, n, row_a);                                                                 \
            row_a[last] = lw0[last] * s[w0[last]] + lw1[last] * s[w1[last]];                  \
            in_a = h0[oh];                                                                    \
        }                                                                                     \
        if (in_b != h1[oh]) {                                                                 \
            const T *s = src + h1[oh] * n;                                                    \
            row_b[0] = lw0[0] * s[w0[0]] + lw1[0] * s[w1[0]];                                 \
            ROW(s, n, row_b);                                                                 \
            row_b[last] = lw0[last] * s[w0[last]] + lw1[last] * s[w1[last]];                  \
            in_b = h1[oh];                                                                    \
        }                                                                                     \
        BLEND(row_a, row_b, lh0[oh], lh1[oh], dst + oh * out_w, out_w);                       \
    }                                                                                         \
}

#if defined(__SSE2__)
SUITE_BILINEAR_X2_ROWS(suite_bilinear_x2_rows_sse_f32, float, , suite_bilinear_x2_row_sse_f32,
                       suite_blend_sse_f32)
SUITE_BILINEAR_X2_ROWS(suite_bilinear_x2_rows_sse_f64, double, ,
                       suite_bilinear_x2_row_sse_f64, suite_blend_sse_f64)
#endif
#if defined(SUITE_HAVE_AVX2_DISPATCH)
SUITE_BILINEAR_X2_ROWS(suite_bilinear_x2_rows_avx2_f32, float, __attribute__((target("avx2"))),
                       suite_bilinear_x2_row_avx2_f32, suite_blend_avx2_f32)
SUITE_BILINEAR_X2_ROWS(suite_bilinear_x2_rows_avx2_f64, double,
                       __attribute__((target("avx2"))), suite_bilinear_x2_row_avx2_f64,
                       suite_blend_avx2_f64)
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

static inline void suite_bilinear_x2_rows_scalar_row_f32(const float *s, ptrdiff_t n, float *d)
{
    suite_bilinear_x2_row_scalar_f32(s, 0, n, d);
}

static inline void suite_bilinear_x2_rows_scalar_row_f64(const double *s, ptrdiff_t n,
                                                         double *d)
{
    suite_bilinear_x2_row_scalar_f64(s, 0, n, d);
}

#if !defined(__SSE2__)
SUITE_BILINEAR_X2_ROWS(suite_bilinear_x2_rows_plain_f32, float, ,
                       suite_bilinear_x2_rows_scalar_row_f32,
                       suite_bilinear_x2_rows_scalar_blend_f32)
SUITE_BILINEAR_X2_ROWS(suite_bilinear_x2_rows_plain_f64, double, ,
                       suite_bilinear_x2_rows_scalar_row_f64,
                       suite_bilinear_x2_rows_scalar_blend_f64)
#endif

#if defined(SUITE_HAVE_AVX2_DISPATCH) && defined(__SSE2__)
#define SUITE_BILINEAR_X2_DISPATCH(T, S)                                                    \
    if (suite_cpu_has_avx2())                                                               \
        suite_bilinear_x2_rows_avx2_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0,  \
                                        lh1, w0, w1, lw0, lw1, buf);                         \
    else                                                                                    \
        suite_bilinear_x2_rows_sse_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0,   \
                                       lh1, w0, w1, lw0, lw1, buf);
#elif defined(__SSE2__)
#define SUITE_BILINEAR_X2_DISPATCH(T, S)                                                    \
    suite_bilinear_x2_rows_sse_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0, lh1,  \
                                   w0, w1, lw0, lw1, buf);
#else
#define SUITE_BILINEAR_X2_DISPATCH(T, S)                                                    \
    suite_bilinear_x2_rows_plain_##S(src, n, dst, out_w, oh_start, oh_stop, h0, h1, lh0,     \
                                     lh1, w0, w1, lw0, lw1, buf);
#endif

static inline void suite_bilinear_x2_rows_f32(
    const float *src, ptrdiff_t n, float *dst, ptrdiff_t out_w, ptrdiff_t oh_start,
    ptrdiff_t oh_stop, const ptrdiff_t *h0, const ptrdiff_t *h1, const float *lh0,
    const float *lh1, const ptrdiff_t *w0, const ptrdiff_t *w1, const float *lw0,
    const float *lw1, float *buf)
{
    SUITE_BILINEAR_X2_DISPATCH(float, f32)
}

static inline void suite_bilinear_x2_rows_f64(
    const double *src, ptrdiff_t n, double *dst, ptrdiff_t out_w, ptrdiff_t oh_start,
    ptrdiff_t oh_stop, const ptrdiff_t *h0, const ptrdiff_t *h1, const double *lh0,
    const double *lh1, const ptrdiff_t *w0, const ptrdiff_t *w1, const double *lw0,
    const double *lw1, double *buf)
{
    SUITE_BILINEAR_X2_DISPATCH(double, f64)
}

/* ---- nearest, integer width scale k: broadcast stores --------------------------- */

/* d[i*k + r] = s[i] for i < n, r < k, into each of `rows` output rows `pitch` apart (every
 * output row that reads this input row is written from registers: none is read back). AVX2,
 * f32: k < 8 permutes each 8 inputs into k output vectors; k >= 8 stores ceil(k/8) vectors
 * of one value, the last overlapping. f64, and rows of fewer than 8 values: 4 (8) copies of
 * s[i] at d + i*k, the next value's store overwriting the surplus, the last values, whose
 * surplus would pass the row's end, one by one. */
static inline void suite_nearest_k_rows_scalar_f32(const float *s, ptrdiff_t from, ptrdiff_t n,
                                                   ptrdiff_t k, float *d)
{
    for (ptrdiff_t i = from; i < n; i++)
        for (ptrdiff_t r = 0; r < k; r++)
            d[i * k + r] = s[i];
}

static inline void suite_nearest_k_rows_scalar_f64(const double *s, ptrdiff_t from,
                                                   ptrdiff_t n, ptrdiff_t k, double *d)
{
    for (ptrdiff_t i = from; i < n; i++)
        for (ptrdiff_t r = 0; r < k; r++)
            d[i * k + r] = s[i];
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
#define SUITE_LANE(K, J, L) ((8 * (J) + (L)) / (K) < 8 ? (8 * (J) + (L)) / (K) : 7)
#define SUITE_INDEX(K, J)                                                                  \
    _mm256_setr_epi32(SUITE_LANE(K, J, 0), SUITE_LANE(K, J, 1), SUITE_LANE(K, J, 2),       \
                      SUITE_LANE(K, J, 3), SUITE_LANE(K, J, 4), SUITE_LANE(K, J, 5),       \
                      SUITE_LANE(K, J, 6), SUITE_LANE(K, J, 7))
#define SUITE_NEAREST_K_BLOCKS(K)                                                          \
    do {                                                                                   \
        const __m256i i0 = SUITE_INDEX(K, 0), i1 = SUITE_INDEX(K, 1),                     \
                      i2 = SUITE_INDEX(K, 2), i3 = SUITE_INDEX(K, 3),                     \
                      i4 = SUITE_INDEX(K, 4), i5 = SUITE_INDEX(K, 5),                     \
                      i6 = SUITE_INDEX(K, 6);                                             \
        for (ptrdiff_t b = 0;; b += 8) {                                                   \
            if (b + 8 > n)                                                                 \
                b = n - 8;                                                                 \
            __m256 v = _mm256_loadu_ps(s + b);                                             \
            float *o = row + b * (K);                                                      \
            if (stream && (b & 7) == 0) {                                                  \
                _mm256_stream_ps(o, _mm256_permutevar8x32_ps(v, i0));                      \
                _mm256_stream_ps(o + 8, _mm256_permutevar8x32_ps(v, i1));                  \
                if ((K) > 2) _mm256_stream_ps(o + 16, _mm256_permutevar8x32_ps(v, i2));    \
                if ((K) > 3) _mm256_stream_ps(o + 24, _mm256_permutevar8x32_ps(v, i3));    \
                if ((K) > 4) _mm256_stream_ps(o + 32, _mm256_permutevar8x32_ps(v, i4));    \
                if ((K) > 5) _mm256_stream_ps(o + 40, _mm256_permutevar8x32_ps(v, i5));    \
                if ((K) > 6) _mm256_stream_ps(o + 48, _mm256_permutevar8x32_ps(v, i6));    \
            } else {                                                                       \
                _mm256_storeu_ps(o, _mm256_permutevar8x32_ps(v, i0));                      \
                _mm256_storeu_ps(o + 8, _mm256_permutevar8x32_ps(v, i1));                  \
                if ((K) > 2) _mm256_storeu_ps(o + 16, _mm256_permutevar8x32_ps(v, i2));    \
                if ((K) > 3) _mm256_storeu_ps(o + 24, _mm256_permutevar8x32_ps(v, i3));    \
                if ((K) > 4) _mm256_storeu_ps(o + 32, _mm256_permutevar8x32_ps(v, i4));    \
                if ((K) > 5) _mm256_storeu_ps(o + 40, _mm256_permutevar8x32_ps(v, i5));    \
                if ((K) > 6) _mm256_storeu_ps(o + 48, _mm256_permutevar8x32_ps(v, i6));    \
            }                                                                              \
            if (b + 8 >= n)                                                                \
                break;                                                                     \
        }                                                                                  \
    } while (0)

__attribute__((target("avx2")))
static void suite_nearest_k_rows_avx2_f32(const float *s, ptrdiff_t n, ptrdiff_t k, float *d,
                                          ptrdiff_t rows, ptrdiff_t pitch, int streaming)
{
    /* values i with i*k + 8 <= n*k take vector stores */
    ptrdiff_t vec = k >= 8 ? n : n - (8 + k - 1) / k + 1;
    int streamed = 0;
    if (vec < 0)
        vec = 0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = d + r * pitch;
        /* streaming stores where they are 32-byte aligned: whole blocks of a row that is */
        int stream = streaming && ((uintptr_t)row & 31) == 0;
        streamed |= stream;
        if (k >= 8) {
            int whole = stream && (k & 7) == 0;
            for (ptrdiff_t i = 0; i < n; i++) {
                __m256 v = _mm256_set1_ps(s[i]);
                float *o = row + i * k;
                for (ptrdiff_t j = 0;; j += 8) {
                    if (j + 8 > k)
                        j = k - 8;
                    if (whole)
                        _mm256_stream_ps(o + j, v);
                    else
                        _mm256_storeu_ps(o + j, v);
                    if (j + 8 >= k)
                        break;
                }
            }
        } else if (n >= 8) {
            /* 8 inputs make k whole vectors: output vector j of a block takes input lanes
             * (8j + l) / k (constants: one loop per k); the last block overlaps the one
             * before */
            switch (k) {
            case 2: SUITE_NEAREST_K_BLOCKS(2); break;
            case 3: SUITE_NEAREST_K_BLOCKS(3); break;
            case 4: SUITE_NEAREST_K_BLOCKS(4); break;
            case 5: SUITE_NEAREST_K_BLOCKS(5); break;
            case 6: SUITE_NEAREST_K_BLOCKS(6); break;
            default: SUITE_NEAREST_K_BLOCKS(7); break;
            }
        } else {
            for (ptrdiff_t i = 0; i < vec; i++)
                _mm256_storeu_ps(row + i * k, _mm256_set1_ps(s[i]));
            suite_nearest_k_rows_scalar_f32(s, vec, n, k, row);
        }
    }
    if (streamed)
        _mm_sfence();
}

__attribute__((target("avx2")))
static void suite_nearest_k_rows_avx2_f64(const double *s, ptrdiff_t n, ptrdiff_t k,
                                          double *d, ptrdiff_t rows, ptrdiff_t pitch)
{
    ptrdiff_t vec = k >= 4 ? n : n - (4 + k - 1) / k + 1;
    if (vec < 0)
        vec = 0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        double *row = d + r * pitch;
        if (k >= 4) {
            for (ptrdiff_t i = 0; i < n; i++) {
                __m256d v = _mm256_set1_pd(s[i]);
                double *o = row + i * k;
                for (ptrdiff_t j = 0;; j += 4) {
                    if (j + 4 > k)
                        j = k - 4;
                    _mm256_storeu_pd(o + j, v);
                    if (j + 4 >= k)
                        break;
                }
            }
        } else {
            for (ptrdiff_t i = 0; i < vec; i++)
                _mm256_storeu_pd(row + i * k, _mm256_set1_pd(s[i]));
            suite_nearest_k_rows_scalar_f64(s, vec, n, k, row);
        }
    }
}
#endif

static inline void suite_nearest_k_rows_f32(const float *s, ptrdiff_t n, ptrdiff_t k, float *d,
                                            ptrdiff_t rows, ptrdiff_t pitch, int streaming)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_nearest_k_rows_avx2_f32(s, n, k, d, rows, pitch, streaming);
        return;
    }
#endif
    (void)streaming;
    for (ptrdiff_t r = 0; r < rows; r++)
        suite_nearest_k_rows_scalar_f32(s, 0, n, k, d + r * pitch);
}

static inline void suite_nearest_k_rows_f64(const double *s, ptrdiff_t n, ptrdiff_t k,
                                            double *d, ptrdiff_t rows, ptrdiff_t pitch)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_nearest_k_rows_avx2_f64(s, n, k, d, rows, pitch);
        return;
    }
#endif
    for (ptrdiff_t r = 0; r < rows; r++)
        suite_nearest_k_rows_scalar_f64(s, 0, n, k, d + r * pitch);
}

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
        const __m256i i0 = SUITE_INDEX(K, 0), i1 = SUITE_INDEX(K, 1),                     \
                      i2 = SUITE_INDEX(K, 2), i3 = SUITE_INDEX(K, 3),                     \
                      i4 = SUITE_INDEX(K, 4), i5 = SUITE_INDEX(K, 5),                     \
                      i6 = SUITE_INDEX(K, 6);                                             \
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
