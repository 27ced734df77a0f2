/* Products of few rows, streamed (see _simd.h for the vector switch): a 1x1 transposed
 * convolution at stride 1 whose groups have few output channels, out = W^T x per group.
 *
 * A GEMM of so few rows runs its micro-tiles mostly empty and reads x in panels; here x is
 * read once, row by row, and each output row of a chunk of columns stays in L1 while every
 * input channel is added to it (docs/performance.md, item 100). */
#ifndef SUITE_THIN_ROWS_H
#define SUITE_THIN_ROWS_H

#include "_simd.h"

/* Columns per chunk: an output row's chunk (1 KiB) for each output channel, and four input
 * rows' chunks, stay in L1 (256 ran 2.85 ms, 1024 2.98, a whole row of 4,165 3.60). */
#define SUITE_THIN_CHUNK 256

/* d[o*ldd + q] = b[o] + sum over k of w[k*ldw + o] * x[k*ldx + q], for o < rows, q < n: the
 * sum in k's order, one product and one addition at a time (no fused multiply-add), so
 * every path gives the same bits; 4 input rows a pass over the output rows. b may be
 * NULL (0). */
static void suite_thin_rows_scalar_f32(const float *x, ptrdiff_t ldx, ptrdiff_t depth,
                                       const float *w, ptrdiff_t ldw, ptrdiff_t rows,
                                       const float *b, float *d, ptrdiff_t ldd, ptrdiff_t n)
{
    ptrdiff_t k = 0;
    for (ptrdiff_t o = 0; o < rows; o++) {
        const float start = b == NULL ? 0.0f : b[o];
        for (ptrdiff_t q = 0; q < n; q++)
            d[o * ldd + q] = start;
    }
    for (; k + 4 <= depth; k += 4) {
        const float *x0 = x + k * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
        for (ptrdiff_t o = 0; o < rows; o++) {
            const float w0 = w[k * ldw + o], w1 = w[(k + 1) * ldw + o];
            const float w2 = w[(k + 2) * ldw + o], w3 = w[(k + 3) * ldw + o];
            float *r = d + o * ldd;
            for (ptrdiff_t q = 0; q < n; q++)
                r[q] = r[q] + w0 * x0[q] + w1 * x1[q] + w2 * x2[q] + w3 * x3[q];
        }
    }
    for (; k < depth; k++)
        for (ptrdiff_t o = 0; o < rows; o++) {
            const float w0 = w[k * ldw + o], *x0 = x + k * ldx;
            float *r = d + o * ldd;
            for (ptrdiff_t q = 0; q < n; q++)
                r[q] = r[q] + w0 * x0[q];
        }
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* The same on AVX-512, 16 columns a vector; the last n % 16 columns masked (masking every
 * vector instead ran 4% slower over 40 random layers). The rounding-mode forms keep the
 * compiler from contracting a product and a sum into one fused step. */
#define SUITE_THIN_MUL(a, b) _mm512_mul_round_ps((a), (b), _MM_FROUND_CUR_DIRECTION)
#define SUITE_THIN_ADD(a, b) _mm512_add_round_ps((a), (b), _MM_FROUND_CUR_DIRECTION)
__attribute__((target("avx512f")))
static void suite_thin_rows_avx512_f32(const float *x, ptrdiff_t ldx, ptrdiff_t depth,
                                       const float *w, ptrdiff_t ldw, ptrdiff_t rows,
                                       const float *b, float *d, ptrdiff_t ldd, ptrdiff_t n)
{
    const __mmask16 tail = (__mmask16) ((1u << (n % 16)) - 1u);
    const ptrdiff_t full = n - n % 16;
    ptrdiff_t k = 0;
    for (ptrdiff_t o = 0; o < rows; o++) {
        const __m512 start = _mm512_set1_ps(b == NULL ? 0.0f : b[o]);
        float *r = d + o * ldd;
        for (ptrdiff_t q = 0; q < full; q += 16)
            _mm512_storeu_ps(r + q, start);
        if (tail)
            _mm512_mask_storeu_ps(r + full, tail, start);
    }
    for (; k + 4 <= depth; k += 4) {
        const float *x0 = x + k * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
        for (ptrdiff_t o = 0; o < rows; o++) {
            const __m512 w0 = _mm512_set1_ps(w[k * ldw + o]);
            const __m512 w1 = _mm512_set1_ps(w[(k + 1) * ldw + o]);
            const __m512 w2 = _mm512_set1_ps(w[(k + 2) * ldw + o]);
            const __m512 w3 = _mm512_set1_ps(w[(k + 3) * ldw + o]);
            float *r = d + o * ldd;
            ptrdiff_t q = 0;
            for (; q < full; q += 16) {
                __m512 v = _mm512_loadu_ps(r + q);
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w0, _mm512_loadu_ps(x0 + q)));
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w1, _mm512_loadu_ps(x1 + q)));
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w2, _mm512_loadu_ps(x2 + q)));
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w3, _mm512_loadu_ps(x3 + q)));
                _mm512_storeu_ps(r + q, v);
            }
            if (tail) {
                __m512 v = _mm512_maskz_loadu_ps(tail, r + q);
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w0, _mm512_maskz_loadu_ps(tail, x0 + q)));
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w1, _mm512_maskz_loadu_ps(tail, x1 + q)));
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w2, _mm512_maskz_loadu_ps(tail, x2 + q)));
                v = SUITE_THIN_ADD(v, SUITE_THIN_MUL(w3, _mm512_maskz_loadu_ps(tail, x3 + q)));
                _mm512_mask_storeu_ps(r + q, tail, v);
            }
        }
    }
    for (; k < depth; k++) {
        const float *x0 = x + k * ldx;
        for (ptrdiff_t o = 0; o < rows; o++) {
            const __m512 w0 = _mm512_set1_ps(w[k * ldw + o]);
            float *r = d + o * ldd;
            ptrdiff_t q = 0;
            for (; q < full; q += 16)
                _mm512_storeu_ps(r + q, SUITE_THIN_ADD(
                    _mm512_loadu_ps(r + q), SUITE_THIN_MUL(w0, _mm512_loadu_ps(x0 + q))));
            if (tail)
                _mm512_mask_storeu_ps(r + q, tail, SUITE_THIN_ADD(
                    _mm512_maskz_loadu_ps(tail, r + q),
                    SUITE_THIN_MUL(w0, _mm512_maskz_loadu_ps(tail, x0 + q))));
        }
    }
}
#endif

/* The widest path the CPU has and the switches allow. */
static inline void suite_thin_rows_f32(const float *x, ptrdiff_t ldx, ptrdiff_t depth,
                                       const float *w, ptrdiff_t ldw, ptrdiff_t rows,
                                       const float *b, float *d, ptrdiff_t ldd, ptrdiff_t n)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (suite_cpu_has_avx512()) {
        suite_thin_rows_avx512_f32(x, ldx, depth, w, ldw, rows, b, d, ldd, n);
        return;
    }
#endif
    suite_thin_rows_scalar_f32(x, ldx, depth, w, ldw, rows, b, d, ldd, n);
}

#endif
