/* Streaming (non-temporal) stores for nearest x2 upsampling of large maps.
 *
 * A plain store first reads the destination's cache line (write-allocate): writing an
 * upsampled map larger than the last-level cache costs its size twice in memory traffic.
 * Streaming stores write whole lines without reading them, as memcpy does for large copies
 * (np.copyto, the bandwidth yardstick). They bypass the cache, so they pay only when the
 * output is too large to be read back from cache anyway; the caller decides.
 *
 * suite_dup2_rows_*: d0[2i] = d0[2i+1] = d1[2i] = d1[2i+1] = src[i] for i < n (both output
 * rows of one input row), then a store fence. Returns 1 when done with streaming stores, 0
 * when it did nothing (no SSE2, or d0 and d1 not aligned alike): the caller then uses plain
 * stores.
 */
#ifndef SUITE_STREAM_H
#define SUITE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>

static inline int suite_dup2_rows_f32(const float *src, ptrdiff_t n, float *d0, float *d1)
{
    ptrdiff_t i = 0;
    uintptr_t a0 = (uintptr_t)d0 & 15, a1 = (uintptr_t)d1 & 15;
    if (a0 != a1 || (a0 != 0 && a0 != 8))
        return 0;
    if (a0 == 8 && n > 0) {                 /* one pair to reach 16-byte alignment */
        d0[0] = d0[1] = d1[0] = d1[1] = src[0];
        i = 1;
    }
    for (; i + 4 <= n; i += 4) {
        __m128 v = _mm_loadu_ps(src + i);
        __m128 lo = _mm_unpacklo_ps(v, v), hi = _mm_unpackhi_ps(v, v);
        _mm_stream_ps(d0 + 2 * i, lo);
        _mm_stream_ps(d0 + 2 * i + 4, hi);
        _mm_stream_ps(d1 + 2 * i, lo);
        _mm_stream_ps(d1 + 2 * i + 4, hi);
    }
    for (; i < n; i++)
        d0[2 * i] = d0[2 * i + 1] = d1[2 * i] = d1[2 * i + 1] = src[i];
    _mm_sfence();
    return 1;
}

static inline int suite_dup2_rows_f64(const double *src, ptrdiff_t n, double *d0, double *d1)
{
    ptrdiff_t i;
    if (((uintptr_t)d0 & 15) != 0 || ((uintptr_t)d1 & 15) != 0)
        return 0;
    for (i = 0; i + 2 <= n; i += 2) {
        __m128d v = _mm_loadu_pd(src + i);
        __m128d lo = _mm_unpacklo_pd(v, v), hi = _mm_unpackhi_pd(v, v);
        _mm_stream_pd(d0 + 2 * i, lo);
        _mm_stream_pd(d0 + 2 * i + 2, hi);
        _mm_stream_pd(d1 + 2 * i, lo);
        _mm_stream_pd(d1 + 2 * i + 2, hi);
    }
    for (; i < n; i++)
        d0[2 * i] = d0[2 * i + 1] = d1[2 * i] = d1[2 * i + 1] = src[i];
    _mm_sfence();
    return 1;
}

#else   /* no SSE2: plain stores everywhere */

static inline int suite_dup2_rows_f32(const float *s, ptrdiff_t n, float *d0, float *d1)
{ (void)s; (void)n; (void)d0; (void)d1; return 0; }
static inline int suite_dup2_rows_f64(const double *s, ptrdiff_t n, double *d0, double *d1)
{ (void)s; (void)n; (void)d0; (void)d1; return 0; }

#endif
#endif
