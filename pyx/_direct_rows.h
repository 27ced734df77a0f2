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

#endif
