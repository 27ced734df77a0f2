/* Row kernels of nearest upsampling at integer scales (see _simd.h for the vector switch).
 *
 * x2 in both directions, the commonest resize of decoders:
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
 * reads the input row (suite_nearest_k_rows_*), plain stores always: on outputs past the
 * cache they ran as fast as streaming ones or faster (1.2-7x on rows that start off a line:
 * a line half streamed, half stored plainly, is written back in pieces; docs/performance.md,
 * item 51).
 */
#ifndef SUITE_NEAREST_ROWS_H
#define SUITE_NEAREST_ROWS_H

#include "_simd.h"

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
    if (i + 2 <= n) {
        /* two values left (n = 2 mod 4 from an aligned row): streamed too. Stored plainly,
         * their 16 bytes shared a line with the next row's streamed start, and a line half
         * streamed, half stored is written back in pieces: 8x slower on large outputs. */
        __m128 v = _mm_castpd_ps(_mm_load_sd((const double *)(s + i)));
        __m128 lo = _mm_unpacklo_ps(v, v);
        _mm_stream_ps(d0 + 2 * i, lo);
        _mm_stream_ps(d1 + 2 * i, lo);
        i += 2;
    }
    suite_x2_row_scalar_f32(s, i, n, d0, d1);
    return 1;
}

/* Pairs [from, to) of s (to - from even) as whole vectors, s[i] twice a pair, streamed to d
 * (16-byte aligned; pair `from` at d[0]). Each vector loads just its two values (8 bytes),
 * so no load passes the row's end. */
static inline void suite_x2_pairs_stream_f32(const float *s, ptrdiff_t from, ptrdiff_t to,
                                             float *d)
{
    for (ptrdiff_t i = from; i < to; i += 2, d += 4) {
        __m128 x = _mm_castpd_ps(_mm_load_sd((const double *)(s + i)));
        _mm_stream_ps(d, _mm_unpacklo_ps(x, x));
    }
}

/* Every output row pair of `rows` input rows of an odd n, as one stream: the pairs' 4n
 * values a row lie end to end, and 16n bytes keep the 16-byte alignment from one row to the
 * next, so the region is written by aligned streaming stores from its first 16-byte
 * boundary to its last, where a pair of rows 8 bytes off each other modulo 16 would decline
 * streaming row by row (and streaming each row alone leaves a partial line at every row
 * boundary: docs/performance.md, items 44 and 46). A vector holds two values twice; the
 * one across the end of a row, s[n - 1] twice then the next row's s[0] twice, is built
 * from scalars. 0 when dst is not 8-byte aligned (then row by row). */
static inline int suite_x2_rows_stream_odd_f32(const float *src, ptrdiff_t rows, ptrdiff_t n,
                                               float *dst)
{
    uintptr_t a = (uintptr_t)dst & 15;
    if ((a != 0 && a != 8) || n % 2 == 0 || rows <= 0)
        return 0;
    if (a == 0) {
        /* d0 aligned: its pairs 0 .. n-2, then s[n-1] twice and s[0] twice across into d1,
         * then d1's pairs 1 .. n-1, which end the row pair on a 16-byte boundary */
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float *s = src + r * n;
            float *d0 = dst + 4 * r * n, *d1 = d0 + 2 * n;
            suite_x2_pairs_stream_f32(s, 0, n - 1, d0);
            _mm_stream_ps(d0 + 2 * (n - 1), _mm_setr_ps(s[n - 1], s[n - 1], s[0], s[0]));
            suite_x2_pairs_stream_f32(s, 1, n, d1 + 2);
        }
    } else {
        /* d0 8 bytes past a boundary: its pair 0 before the first boundary (or in the
         * vector across from the row above), its pairs 1 .. n-1, d1's pairs 0 .. n-2, then
         * s[n-1] twice and the next row's s[0] twice across into the next d0 */
        dst[0] = dst[1] = src[0];
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float *s = src + r * n;
            float *d0 = dst + 4 * r * n, *d1 = d0 + 2 * n;
            suite_x2_pairs_stream_f32(s, 1, n, d0 + 2);
            suite_x2_pairs_stream_f32(s, 0, n - 1, d1);
            if (r + 1 < rows)
                _mm_stream_ps(d1 + 2 * (n - 1),
                              _mm_setr_ps(s[n - 1], s[n - 1], s[n], s[n]));
            else
                d1[2 * (n - 1)] = d1[2 * (n - 1) + 1] = s[n - 1];
        }
    }
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
    if (i < n) {    /* the last value (odd n), streamed as suite_x2_row_stream_f32's pair */
        _mm_stream_pd(d0 + 2 * i, _mm_set1_pd(s[i]));
        _mm_stream_pd(d1 + 2 * i, _mm_set1_pd(s[i]));
    }
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
#endif

/* suite_nearest_x2_f32 / _f64: every output row pair of `rows` input rows of n values:
 * streaming (SSE2) when asked, else AVX2 when the CPU has it, else SSE2, else scalar. */
#if defined(__SSE2__)
#define SUITE_X2_STREAM_ROWS(SFX, T)                                                       \
    if (streaming) {                                                                       \
        if (SUITE_X2_STREAM_ODD_##SFX(src, rows, n, dst)) {                                \
            _mm_sfence();                                                                  \
            return;                                                                        \
        }                                                                                  \
        for (ptrdiff_t r = 0; r < rows; r++) {                                             \
            T *d0 = dst + 4 * r * n;                                                       \
            if (!suite_x2_row_stream_##SFX(src + r * n, n, d0, d0 + 2 * n))                \
                suite_x2_row_sse_##SFX(src + r * n, n, d0, d0 + 2 * n);                    \
        }                                                                                  \
        _mm_sfence();                                                                      \
        return;                                                                            \
    }
#define SUITE_X2_ROW(SFX, s, n, d0) suite_x2_row_sse_##SFX(s, n, d0, d0 + 2 * (n))
#define SUITE_X2_STREAM_ODD_f32(src, rows, n, dst) suite_x2_rows_stream_odd_f32(src, rows, n, dst)
#define SUITE_X2_STREAM_ODD_f64(src, rows, n, dst) 0
#else
#define SUITE_X2_STREAM_ROWS(SFX, T)
#define SUITE_X2_ROW(SFX, s, n, d0) suite_x2_row_scalar_##SFX(s, 0, n, d0, d0 + 2 * (n))
#endif
#if defined(SUITE_HAVE_AVX2_DISPATCH)
#define SUITE_X2_AVX2_ROWS(SFX)                                                            \
    if (suite_cpu_has_avx2()) {                                                            \
        suite_x2_rows_avx2_##SFX(src, rows, n, dst);                                       \
        return;                                                                            \
    }
#else
#define SUITE_X2_AVX2_ROWS(SFX)
#endif
#define SUITE_NEAREST_X2(SFX, T)                                                           \
    static inline void suite_nearest_x2_##SFX(const T *src, ptrdiff_t rows, ptrdiff_t n,   \
                                              T *dst, int streaming)                       \
    {                                                                                      \
        SUITE_X2_STREAM_ROWS(SFX, T)                                                       \
        SUITE_X2_AVX2_ROWS(SFX)                                                            \
        (void)streaming;                                                                   \
        for (ptrdiff_t r = 0; r < rows; r++)                                               \
            SUITE_X2_ROW(SFX, src + r * n, n, dst + 4 * r * n);                            \
    }
SUITE_NEAREST_X2(f32, float)
SUITE_NEAREST_X2(f64, double)

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
#define SUITE_NEAREST_K_BLOCKS(K)                                                          \
    do {                                                                                   \
        SUITE_INDEX_SET(K);                                                                \
        for (ptrdiff_t b = 0;; b += 8) {                                                   \
            if (b + 8 > n)                                                                 \
                b = n - 8;                                                                 \
            __m256 v = _mm256_loadu_ps(s + b);                                             \
            float *o = row + b * (K);                                                      \
            _mm256_storeu_ps(o, _mm256_permutevar8x32_ps(v, i0));                          \
            _mm256_storeu_ps(o + 8, _mm256_permutevar8x32_ps(v, i1));                      \
            if ((K) > 2) _mm256_storeu_ps(o + 16, _mm256_permutevar8x32_ps(v, i2));        \
            if ((K) > 3) _mm256_storeu_ps(o + 24, _mm256_permutevar8x32_ps(v, i3));        \
            if ((K) > 4) _mm256_storeu_ps(o + 32, _mm256_permutevar8x32_ps(v, i4));        \
            if ((K) > 5) _mm256_storeu_ps(o + 40, _mm256_permutevar8x32_ps(v, i5));        \
            if ((K) > 6) _mm256_storeu_ps(o + 48, _mm256_permutevar8x32_ps(v, i6));        \
            if (b + 8 >= n)                                                                \
                break;                                                                     \
        }                                                                                  \
    } while (0)

__attribute__((target("avx2")))
static void suite_nearest_k_rows_avx2_f32(const float *s, ptrdiff_t n, ptrdiff_t k, float *d,
                                          ptrdiff_t rows, ptrdiff_t pitch)
{
    /* values i with i*k + 8 <= n*k take vector stores */
    ptrdiff_t vec = k >= 8 ? n : n - (8 + k - 1) / k + 1;
    if (vec < 0)
        vec = 0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = d + r * pitch;
        if (k >= 8) {
            for (ptrdiff_t i = 0; i < n; i++) {
                __m256 v = _mm256_set1_ps(s[i]);
                float *o = row + i * k;
                for (ptrdiff_t j = 0;; j += 8) {
                    if (j + 8 > k)
                        j = k - 8;
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

/* ---- nearest, any other width scale: blocks of 8 outputs by one permute --------- */

/* d[r*pitch + ow] = s[index[ow]] for ow < out_w (>= 8) and each of the `rows` output rows
 * that read this input row, by blocks of 8 outputs: block b (outputs 8b .. 8b + 7; the last
 * one ends at out_w and overlaps the one before, rewriting the same values) loads
 * s[base[b] .. base[b] + 7], permutes it by perm[8b .. 8b + 7] (index - base[b], each in
 * [0, 8)) and stores the vector into every row (none is read back: on small maps a copy
 * call a row cost more than the row); base[b] < 0 (the block reads more than 8 consecutive
 * inputs) gathers its values one by one. Rows of fewer than 8 inputs (in_w < 8: maps of
 * 7 columns or fewer, base 0 for every block) are loaded once, masked to in_w values (no
 * read past the row), and every block permuted from that vector. The tables are made once
 * per plan (suite/upsample.py, _gather_blocks). A copy of values: the bits of the scalar
 * loop. Returns 0 (the caller gathers) without AVX2. */
#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static void suite_nearest_gather_avx2_f32(const float *s, ptrdiff_t in_w, float *d,
                                          ptrdiff_t out_w, const int32_t *base,
                                          const int32_t *perm, const ptrdiff_t *index,
                                          ptrdiff_t rows, ptrdiff_t pitch)
{
    ptrdiff_t blocks = (out_w + 7) / 8;
    if (in_w < 8) {
        const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32((int) in_w),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 row = _mm256_maskload_ps(s, lanes);
        for (ptrdiff_t b = 0; b < blocks; b++) {
            ptrdiff_t o = b < blocks - 1 ? 8 * b : out_w - 8;
            const __m256 v = _mm256_permutevar8x32_ps(
                row, _mm256_loadu_si256((const __m256i *) (perm + 8 * b)));
            for (ptrdiff_t r = 0; r < rows; r++)
                _mm256_storeu_ps(d + r * pitch + o, v);
        }
        return;
    }
    for (ptrdiff_t b = 0; b < blocks; b++) {
        ptrdiff_t o = b < blocks - 1 ? 8 * b : out_w - 8;
        __m256 v;
        if (base[b] >= 0) {
            v = _mm256_permutevar8x32_ps(_mm256_loadu_ps(s + base[b]),
                                         _mm256_loadu_si256((const __m256i *) (perm + 8 * b)));
        } else {
            float g[8];
            for (ptrdiff_t j = 0; j < 8; j++)
                g[j] = s[index[o + j]];
            v = _mm256_loadu_ps(g);
        }
        for (ptrdiff_t r = 0; r < rows; r++)
            _mm256_storeu_ps(d + r * pitch + o, v);
    }
}
#endif

static inline int suite_nearest_gather_f32(const float *s, ptrdiff_t in_w, float *d,
                                           ptrdiff_t out_w, const int32_t *base,
                                           const int32_t *perm, const ptrdiff_t *index,
                                           ptrdiff_t rows, ptrdiff_t pitch)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (out_w >= 8 && suite_cpu_has_avx2()) {
        suite_nearest_gather_avx2_f32(s, in_w, d, out_w, base, perm, index, rows, pitch);
        return 1;
    }
#endif
    return 0;
}

/* Every output row of a plane of in_h input rows (in_w values each, at s) by
 * suite_nearest_gather_f32: input row ih into output rows [row_start[ih], row_stop[ih])
 * of out_w values at d. One call a plane: on small maps the row loop's bookkeeping around
 * each row's call cost as much as the row (item 79). 0 without AVX2 or below 8 outputs. */
#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2")))
static void suite_nearest_gather_plane_avx2_f32(const float *s, ptrdiff_t in_h, ptrdiff_t in_w,
                                                float *d, ptrdiff_t out_w,
                                                const ptrdiff_t *row_start,
                                                const ptrdiff_t *row_stop, const int32_t *base,
                                                const int32_t *perm, const ptrdiff_t *index)
{
    for (ptrdiff_t ih = 0; ih < in_h; ih++)
        if (row_start[ih] < row_stop[ih])
            suite_nearest_gather_avx2_f32(s + ih * in_w, in_w, d + row_start[ih] * out_w,
                                          out_w, base, perm, index,
                                          row_stop[ih] - row_start[ih], out_w);
}
#endif

static inline int suite_nearest_gather_plane_f32(const float *s, ptrdiff_t in_h,
                                                 ptrdiff_t in_w, float *d, ptrdiff_t out_w,
                                                 const ptrdiff_t *row_start,
                                                 const ptrdiff_t *row_stop,
                                                 const int32_t *base, const int32_t *perm,
                                                 const ptrdiff_t *index)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (out_w >= 8 && suite_cpu_has_avx2()) {
        suite_nearest_gather_plane_avx2_f32(s, in_h, in_w, d, out_w, row_start, row_stop,
                                            base, perm, index);
        return 1;
    }
#endif
    return 0;
}

static inline void suite_nearest_k_rows_f32(const float *s, ptrdiff_t n, ptrdiff_t k, float *d,
                                            ptrdiff_t rows, ptrdiff_t pitch)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx2()) {
        suite_nearest_k_rows_avx2_f32(s, n, k, d, rows, pitch);
        return;
    }
#endif
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

#endif
