/* col2im's rows where the kernel row is as long as the stride (see _simd.h for the vector
 * switch).
 *
 * With sW == kW, dilation 1 and no padding along the row, kernel column j of a kernel row
 * adds its column row into the output columns ow*k + j: every output value takes exactly
 * one of the k column rows, so the k strided passes of col2im_row (_columns.pxd: one scalar
 * load, addition and store per value each) are one interleave of the k rows added to the
 * output row. The same single addition per value, so the bits are col2im_row's. AVX2, f32,
 * k = 2: unpacking; k = 3, 4: each output vector J of a block of 8 column values takes lane
 * l from row (8J + l) mod k at position (8J + l) / k, k permutes blended.
 */
#ifndef SUITE_COL2IM_ROWS_H
#define SUITE_COL2IM_ROWS_H

#include "_simd.h"

/* dst[ow*k + j] += src[j*ld + ow] for ow < n, j < k. */
static inline void suite_col2im_interleave_scalar_f32(const float *src, ptrdiff_t ld,
                                                      ptrdiff_t from, ptrdiff_t n, ptrdiff_t k,
                                                      float *dst)
{
    for (ptrdiff_t ow = from; ow < n; ow++)
        for (ptrdiff_t j = 0; j < k; j++)
            dst[ow * k + j] = dst[ow * k + j] + src[j * ld + ow];
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* Output vector J of a block of 8 column values for k = K: lane l from row (8J + l) % K. */
#define SUITE_INTERLEAVE_VECTOR(K, J, S, O)                                                \
    do {                                                                                   \
        const __m256i at_ = SUITE_INDEX(K, J);                                             \
        __m256 r_ = _mm256_permutevar8x32_ps(S[0], at_);                                   \
        for (int j_ = 1; j_ < (K); j_++) {                                                 \
            const __m256i take_ = _mm256_cmpeq_epi32(                                      \
                _mm256_set1_epi32(j_),                                                     \
                _mm256_setr_epi32((8 * (J) + 0) % (K), (8 * (J) + 1) % (K),                \
                                  (8 * (J) + 2) % (K), (8 * (J) + 3) % (K),                \
                                  (8 * (J) + 4) % (K), (8 * (J) + 5) % (K),                \
                                  (8 * (J) + 6) % (K), (8 * (J) + 7) % (K)));              \
            r_ = _mm256_blendv_ps(r_, _mm256_permutevar8x32_ps(S[j_], at_),                \
                                  _mm256_castsi256_ps(take_));                             \
        }                                                                                  \
        _mm256_storeu_ps((O) + 8 * (J), _mm256_add_ps(_mm256_loadu_ps((O) + 8 * (J)), r_)); \
    } while (0)

#define SUITE_INTERLEAVE_BLOCKS(K)                                                         \
    for (; ow + 8 <= n; ow += 8) {                                                         \
        __m256 s_[4];                                                                      \
        for (int j_ = 0; j_ < (K); j_++)                                                   \
            s_[j_] = _mm256_loadu_ps(src + j_ * ld + ow);                                  \
        float *o_ = dst + ow * (K);                                                        \
        SUITE_INTERLEAVE_VECTOR(K, 0, s_, o_);                                             \
        SUITE_INTERLEAVE_VECTOR(K, 1, s_, o_);                                             \
        SUITE_INTERLEAVE_VECTOR(K, 2, s_, o_);                                             \
        if ((K) > 3) SUITE_INTERLEAVE_VECTOR(K, 3, s_, o_);                                \
    }

__attribute__((target("avx2")))
static inline void suite_col2im_interleave_avx2_f32(const float *src, ptrdiff_t ld,
                                                    ptrdiff_t n, ptrdiff_t k, float *dst)
{
    ptrdiff_t ow = 0;
    if (k == 2) {
        for (; ow + 8 <= n; ow += 8) {
            const __m256 a = _mm256_loadu_ps(src + ow), b = _mm256_loadu_ps(src + ld + ow);
            const __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);
            float *o = dst + 2 * ow;
            _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o),
                                              _mm256_permute2f128_ps(lo, hi, 0x20)));
            _mm256_storeu_ps(o + 8, _mm256_add_ps(_mm256_loadu_ps(o + 8),
                                                  _mm256_permute2f128_ps(lo, hi, 0x31)));
        }
    } else if (k == 3) {
        SUITE_INTERLEAVE_BLOCKS(3)
    } else if (k == 4) {
        SUITE_INTERLEAVE_BLOCKS(4)
    }
    suite_col2im_interleave_scalar_f32(src, ld, ow, n, k, dst);
}
#undef SUITE_INTERLEAVE_BLOCKS
#undef SUITE_INTERLEAVE_VECTOR
#endif

/* dst[ow*k + j] += src[j*ld + ow] for ow < n, j < k (2 <= k <= 4 take vectors). */
static inline void suite_col2im_interleave_f32(const float *src, ptrdiff_t ld, ptrdiff_t n,
                                               ptrdiff_t k, float *dst)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (k >= 2 && k <= 4 && suite_cpu_has_avx2()) {
        suite_col2im_interleave_avx2_f32(src, ld, n, k, dst);
        return;
    }
#endif
    suite_col2im_interleave_scalar_f32(src, ld, 0, n, k, dst);
}

#endif
