/* Filling an output with one value (its bias, or zero): every kernel's first pass over an
 * output it then adds into, and the rows disjoint geometries leave at the bias.
 *
 * A fill is store-bound, and the baseline build stores 16 bytes at a time. Runs of 16
 * values or more take 32-byte stores where the CPU has AVX2 (_simd.h's run-time switch);
 * shorter ones, and every run without AVX2, the plain loop. The stored values are the same
 * on every path. A k1 s4 layer, 15 output values in 16 at the bias: 1.39x; where the
 * stores miss the cache, their width mattered little (docs/performance.md, item 102). */
#ifndef SUITE_FILL_H
#define SUITE_FILL_H

#include "_simd.h"

#define SUITE_FILL_MIN_VECTOR 16

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* Four vectors a step, then one, then the last vector again, overlapping the ones before
 * it (n >= SUITE_FILL_MIN_VECTOR: at least one whole vector). */
#define SUITE_FILL_AVX2(SUFFIX, T, VEC, LANES, SET1, STOREU)                               \
__attribute__((target("avx2")))                                                            \
static void suite_fill_avx2_##SUFFIX(T *dst, ptrdiff_t n, T value)                         \
{                                                                                          \
    const VEC v = SET1(value);                                                             \
    ptrdiff_t i = 0;                                                                       \
    for (; i + 4 * (LANES) <= n; i += 4 * (LANES))                                         \
        for (int k = 0; k < 4; k++)                                                        \
            STOREU(dst + i + k * (LANES), v);                                              \
    for (; i + (LANES) <= n; i += (LANES))                                                 \
        STOREU(dst + i, v);                                                                \
    if (i < n)                                                                             \
        STOREU(dst + n - (LANES), v);                                                      \
}
SUITE_FILL_AVX2(f32, float, __m256, 8, _mm256_set1_ps, _mm256_storeu_ps)
SUITE_FILL_AVX2(f64, double, __m256d, 4, _mm256_set1_pd, _mm256_storeu_pd)
#undef SUITE_FILL_AVX2
#define SUITE_FILL_VECTORS(SUFFIX, DST, N, VALUE)                                          \
    if ((N) >= SUITE_FILL_MIN_VECTOR && suite_cpu_has_avx2()) {                            \
        suite_fill_avx2_##SUFFIX(DST, N, VALUE);                                           \
        return;                                                                            \
    }
#else
#define SUITE_FILL_VECTORS(SUFFIX, DST, N, VALUE)
#endif

/* dst[0:n] = value. */
#define SUITE_FILL(SUFFIX, T)                                                              \
static inline void suite_fill_##SUFFIX(T *dst, ptrdiff_t n, T value)                       \
{                                                                                          \
    SUITE_FILL_VECTORS(SUFFIX, dst, n, value)                                              \
    for (ptrdiff_t i = 0; i < n; i++)                                                      \
        dst[i] = value;                                                                    \
}
SUITE_FILL(f32, float)
SUITE_FILL(f64, double)
#undef SUITE_FILL
#undef SUITE_FILL_VECTORS

#endif
