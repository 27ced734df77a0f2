/* Filling an output with one value (its bias, or zero): every kernel's first pass over an
 * output it then adds into, and the rows disjoint geometries leave at the bias.
 *
 * A fill is store-bound, and the baseline build stores 16 bytes at a time: on an output
 * past the core's L2 that took about twice the time per byte of the C library's copy (its
 * wide stores). Runs of 16 values or more take 32-byte stores where the CPU has AVX2
 * (_simd.h's run-time switch); shorter ones, and every run without AVX2, the plain loop.
 * The stored values are the same on every path. */
#ifndef SUITE_FILL_H
#define SUITE_FILL_H

#include "_simd.h"

#define SUITE_FILL_MIN_VECTOR 16

#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static void suite_fill_avx2_f32(float *dst, ptrdiff_t n, float value)
{
    const __m256 v = _mm256_set1_ps(value);
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm256_storeu_ps(dst + i, v);
        _mm256_storeu_ps(dst + i + 8, v);
        _mm256_storeu_ps(dst + i + 16, v);
        _mm256_storeu_ps(dst + i + 24, v);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, v);
    if (i < n)      /* n >= 8: the last 8 values again, overlapping what is stored */
        _mm256_storeu_ps(dst + n - 8, v);
}

__attribute__((target("avx2")))
static void suite_fill_avx2_f64(double *dst, ptrdiff_t n, double value)
{
    const __m256d v = _mm256_set1_pd(value);
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_pd(dst + i, v);
        _mm256_storeu_pd(dst + i + 4, v);
        _mm256_storeu_pd(dst + i + 8, v);
        _mm256_storeu_pd(dst + i + 12, v);
    }
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(dst + i, v);
    if (i < n)      /* n >= 4: the last 4 values again */
        _mm256_storeu_pd(dst + n - 4, v);
}
#endif

static inline void suite_fill_f32(float *dst, ptrdiff_t n, float value)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (n >= SUITE_FILL_MIN_VECTOR && suite_cpu_has_avx2()) {
        suite_fill_avx2_f32(dst, n, value);
        return;
    }
#endif
    for (ptrdiff_t i = 0; i < n; i++)
        dst[i] = value;
}

static inline void suite_fill_f64(double *dst, ptrdiff_t n, double value)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (n >= SUITE_FILL_MIN_VECTOR && suite_cpu_has_avx2()) {
        suite_fill_avx2_f64(dst, n, value);
        return;
    }
#endif
    for (ptrdiff_t i = 0; i < n; i++)
        dst[i] = value;
}

#endif
