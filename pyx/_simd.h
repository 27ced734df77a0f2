/* The run-time vector switch of suite's row kernels (_nearest_rows.h, _bilinear_rows.h,
 * _direct_rows.h).
 *
 * The row kernels use the widest vectors the CPU has among AVX2 (checked at run time, so the
 * build stays portable: each AVX2 function is compiled with target("avx2") and called only
 * when suite_cpu_has_avx2() says so) and SSE2 (the x86-64 baseline), else scalar loops. Every
 * path computes a value as the scalar formula does: the same products and sums in the same
 * order, and no fused multiply-add (the AVX2 functions enable AVX2 only), so the bits do not
 * depend on the path. Each extension module that includes this holds its own copy of the
 * state below; pyx/_rows.pxi gives each a Python switch for the tests.
 */
#ifndef SUITE_SIMD_H
#define SUITE_SIMD_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__SSE2__)
#include <immintrin.h>
#define SUITE_HAVE_AVX2_DISPATCH 1
#endif

#if defined(SUITE_HAVE_AVX2_DISPATCH)
static int suite_avx2_known = -1;
static int suite_avx2_allowed = 1;      /* the tests turn it off to run the SSE2 path */

/* 1 when the CPU runs AVX2 and it is allowed (asked once, before any thread starts). */
static inline int suite_cpu_has_avx2(void)
{
    if (suite_avx2_known < 0)
        suite_avx2_known = __builtin_cpu_supports("avx2") ? 1 : 0;
    return suite_avx2_known && suite_avx2_allowed;
}

/* Lane L of the J-th of K output vectors that 8 inputs repeated K times make (f32, K < 8):
 * input (8J + L) / K, as constants for _mm256_permutevar8x32_ps (nearest and direct rows). */
#define SUITE_LANE(K, J, L) ((8 * (J) + (L)) / (K) < 8 ? (8 * (J) + (L)) / (K) : 7)
#define SUITE_INDEX(K, J)                                                                  \
    _mm256_setr_epi32(SUITE_LANE(K, J, 0), SUITE_LANE(K, J, 1), SUITE_LANE(K, J, 2),       \
                      SUITE_LANE(K, J, 3), SUITE_LANE(K, J, 4), SUITE_LANE(K, J, 5),       \
                      SUITE_LANE(K, J, 6), SUITE_LANE(K, J, 7))
/* The index vectors i0 .. i6 of the K output vectors (K < 8) that 8 inputs make. */
#define SUITE_INDEX_SET(K)                                                                 \
    const __m256i i0 = SUITE_INDEX(K, 0), i1 = SUITE_INDEX(K, 1), i2 = SUITE_INDEX(K, 2), \
                  i3 = SUITE_INDEX(K, 3), i4 = SUITE_INDEX(K, 4), i5 = SUITE_INDEX(K, 5), \
                  i6 = SUITE_INDEX(K, 6)
/* The kernels written for AVX-512 (float32 bilinear rows of narrow planes,
 * _bilinear_rows.h) run where the CPU has AVX-512F and both switches allow it. */
static int suite_avx512_known = -1;
static int suite_avx512_allowed = 1;    /* the tests turn it off to run the AVX2 path */

static inline int suite_cpu_has_avx512(void)
{
    if (suite_avx512_known < 0)
        suite_avx512_known = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return suite_avx512_known && suite_avx512_allowed && suite_cpu_has_avx2();
}
#else
static int suite_avx2_allowed = 0;
static int suite_avx512_allowed = 0;
static inline int suite_cpu_has_avx2(void) { return 0; }
static inline int suite_cpu_has_avx512(void) { return 0; }
#endif

#endif
