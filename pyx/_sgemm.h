/* suite's own float32 GEMM for narrow products of a transposed weight, AVX-512 (checked at
 * run time).
 *
 * C (m x n) = A^T B, row-major, A stored k x m (the transposed-convolution weight
 * as it lies, C_in x C_out*kH*kW: col2im's product), B k x n, for n <= SUITE_SGEMM_MAX_N.
 *
 * Why: OpenBLAS runs these products on small maps (n = H*W columns: 16 for a 4x4 map) at
 * 40-60% of its large-square rate (docs/performance.md, item 37): it copies all of A into
 * its own panels on every call, and its kernel is shaped for wide C. Here A is read where
 * it lies, row after row (a software prefetch a few rows ahead, as consecutive rows are a
 * whole row of the weight apart), the vectors run along C's rows (m) and the few columns
 * are broadcast, so a narrow C costs no padding; the 48 x 8 block of C is transposed in
 * registers when it is stored.
 *
 * Layout: for each block of KC rows of B, B is packed into panels of NR = 8 columns (zero
 * past n); the micro-kernel runs the products of one 48 x 8 block of C (MR x NR) in 24
 * registers. A value of C is summed in the order of k, each block of KC added to C in
 * order: the bits depend on neither the split of C among threads nor the thread count.
 *
 * suite_sgemm_tn returns 0 when it did nothing (no AVX-512 on this CPU, turned off, n too
 * wide, or no memory for the panel): the caller then asks BLAS.
 */
#ifndef SUITE_SGEMM_H
#define SUITE_SGEMM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SUITE_SGEMM_MR 48
#define SUITE_SGEMM_NR 8
#define SUITE_SGEMM_KC 256
/* Rows of A ahead of the one multiplied that the kernel asks the memory for. */
#define SUITE_SGEMM_PREFETCH 16
/* The widest C this kernel takes (docs/performance.md, item 37): up to 8 panels of B, each
 * pass over a 48-row panel of A after the first reads it from the cache. */
#define SUITE_SGEMM_MAX_N 64
/* Values of B's panels kept on the stack instead of the heap (4 KiB). */
#define SUITE_SGEMM_SMALL_PANEL 1024

static int suite_sgemm_known = -1;
static int suite_sgemm_allowed = 1;     /* the tests turn it off to compare with BLAS */

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define SUITE_HAVE_SGEMM_KERNEL 1

/* 1 when the CPU runs AVX-512F and VL and the kernel is allowed. */
static inline int suite_sgemm_available(void)
{
    if (suite_sgemm_known < 0)
        suite_sgemm_known = __builtin_cpu_supports("avx512f") &&
                            __builtin_cpu_supports("avx512vl") ? 1 : 0;
    return suite_sgemm_known && suite_sgemm_allowed;
}

/* Rows [0, kc) of B's columns [0, nc), as panels of NR columns, zero past nc. */
static void suite_sgemm_pack_b(int kc, int nc, const float* b, ptrdiff_t ldb, float* bp)
{
    for (int j0 = 0; j0 < nc; j0 += SUITE_SGEMM_NR) {
        int w = nc - j0 < SUITE_SGEMM_NR ? nc - j0 : SUITE_SGEMM_NR;
        const float* src = b + j0;
        if (w == SUITE_SGEMM_NR) {
            for (int p = 0; p < kc; p++, src += ldb, bp += SUITE_SGEMM_NR)
                memcpy(bp, src, SUITE_SGEMM_NR * sizeof(float));
        } else {
            for (int p = 0; p < kc; p++, src += ldb, bp += SUITE_SGEMM_NR) {
                int j = 0;
                for (; j < w; j++)
                    bp[j] = src[j];
                for (; j < SUITE_SGEMM_NR; j++)
                    bp[j] = 0.0f;
            }
        }
    }
}

/* Rows 16 v .. 16 v + 15 of the block (r[j]: column j, one row per lane) into C, rows below
 * mr and columns below nr only: C = r (the first block of k) or C + r (the others). */
__attribute__((target("avx512f,avx512vl")))
static inline void suite_sgemm_store16(const __m512* r, float* c, ptrdiff_t ldc, int rows,
                                       int nr, int add)
{
    __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
    __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
    __m512 t4 = _mm512_unpacklo_ps(r[4], r[5]), t5 = _mm512_unpackhi_ps(r[4], r[5]);
    __m512 t6 = _mm512_unpacklo_ps(r[6], r[7]), t7 = _mm512_unpackhi_ps(r[6], r[7]);
    __m512 u[8];
    /* u[a] lane q: row 4q + a, columns 0-3; u[4 + a]: the same rows, columns 4-7 */
    u[0] = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    u[1] = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    u[2] = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    u[3] = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    u[4] = _mm512_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    u[5] = _mm512_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    u[6] = _mm512_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    u[7] = _mm512_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    __mmask8 mask = (__mmask8) ((1u << nr) - 1u);
    for (int a = 0; a < 4; a++) {
        __m512 lo = _mm512_shuffle_f32x4(u[a], u[4 + a], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 hi = _mm512_shuffle_f32x4(u[a], u[4 + a], _MM_SHUFFLE(3, 2, 3, 2));
        lo = _mm512_shuffle_f32x4(lo, lo, _MM_SHUFFLE(3, 1, 2, 0));
        hi = _mm512_shuffle_f32x4(hi, hi, _MM_SHUFFLE(3, 1, 2, 0));
        __m256 row[4];  /* rows a, 4 + a, 8 + a, 12 + a */
        row[0] = _mm512_castps512_ps256(lo);
        row[1] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lo), 1));
        row[2] = _mm512_castps512_ps256(hi);
        row[3] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(hi), 1));
        for (int q = 0; q < 4; q++) {
            int i = 4 * q + a;
            if (i >= rows)
                continue;
            float* dst = c + i * ldc;
            __m256 v = row[q];
            if (add)
                v = _mm256_add_ps(_mm256_maskz_loadu_ps(mask, dst), v);
            _mm256_mask_storeu_ps(dst, mask, v);
        }
    }
}

/* The kc products of a 48 x 8 block: op(A) from ap (row p of the panel at ap + p * lda,
 * values past mr never read: masked), B from the kc x 8 panel bp; `prefetch` asks for the
 * panel's row SUITE_SGEMM_PREFETCH rows ahead (op(A) read in place, row after row of a
 * matrix whose rows are far apart). The sums start from zero, or from start[i] for row i
 * of the block (a bias) when start is not NULL. full and prefetch are constants in each
 * caller below. */
__attribute__((target("avx512f,avx512vl"), always_inline))
static inline void suite_sgemm_block(int kc, const float* ap, ptrdiff_t lda, const float* bp,
                                     float* c, ptrdiff_t ldc, int mr, int nr, int add,
                                     const float* start, const int full, const int prefetch)
{
    __m512 c0[8], c1[8], c2[8];
    __mmask16 k0 = (__mmask16) (mr >= 16 ? 0xFFFF : (1u << mr) - 1u);
    __mmask16 k1 = (__mmask16) (mr >= 32 ? 0xFFFF : mr <= 16 ? 0 : (1u << (mr - 16)) - 1u);
    __mmask16 k2 = (__mmask16) (mr >= 48 ? 0xFFFF : mr <= 32 ? 0 : (1u << (mr - 32)) - 1u);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0;
    if (start) {
        s0 = _mm512_maskz_loadu_ps(k0, start);
        s1 = _mm512_maskz_loadu_ps(k1, start + 16);
        s2 = _mm512_maskz_loadu_ps(k2, start + 32);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        c0[j] = s0;
        c1[j] = s1;
        c2[j] = s2;
    }
    for (int p = 0; p < kc; p++, ap += lda, bp += SUITE_SGEMM_NR) {
        __m512 a0, a1, a2;
        if (prefetch) {
            const char* ahead = (const char*) (ap + SUITE_SGEMM_PREFETCH * lda);
            _mm_prefetch(ahead, _MM_HINT_T0);
            _mm_prefetch(ahead + 64, _MM_HINT_T0);
            _mm_prefetch(ahead + 128, _MM_HINT_T0);
            _mm_prefetch(ahead + 188, _MM_HINT_T0);
        }
        if (full) {
            a0 = _mm512_loadu_ps(ap);
            a1 = _mm512_loadu_ps(ap + 16);
            a2 = _mm512_loadu_ps(ap + 32);
        } else {
            a0 = _mm512_maskz_loadu_ps(k0, ap);
            a1 = _mm512_maskz_loadu_ps(k1, ap + 16);
            a2 = _mm512_maskz_loadu_ps(k2, ap + 32);
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m512 bj = _mm512_set1_ps(bp[j]);
            c0[j] = _mm512_fmadd_ps(a0, bj, c0[j]);
            c1[j] = _mm512_fmadd_ps(a1, bj, c1[j]);
            c2[j] = _mm512_fmadd_ps(a2, bj, c2[j]);
        }
    }
    suite_sgemm_store16(c0, c, ldc, mr, nr, add);
    if (mr > 16)
        suite_sgemm_store16(c1, c + 16 * ldc, ldc, mr - 16, nr, add);
    if (mr > 32)
        suite_sgemm_store16(c2, c + 32 * ldc, ldc, mr - 32, nr, add);
}

__attribute__((target("avx512f,avx512vl")))
static void suite_sgemm_kernel(int kc, const float* ap, ptrdiff_t lda, const float* bp,
                               float* c, ptrdiff_t ldc, int mr, int nr, int add,
                               const float* start, int prefetch)
{
    if (mr == SUITE_SGEMM_MR) {
        if (prefetch)
            suite_sgemm_block(kc, ap, lda, bp, c, ldc, mr, nr, add, start, 1, 1);
        else
            suite_sgemm_block(kc, ap, lda, bp, c, ldc, mr, nr, add, start, 1, 0);
    } else {
        suite_sgemm_block(kc, ap, lda, bp, c, ldc, mr, nr, add, start, 0, prefetch);
    }
}

/* C = A^T B, or start[i] + (A^T B)[i, j] when start is not NULL (a bias: the sums start
 * from it, see the top of this file); 1 when done, 0 when BLAS should do it. */
static int suite_sgemm_tn(int m, int n, int k, const float* a, ptrdiff_t lda, const float* b,
                          ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* start)
{
    if (m <= 0 || n <= 0)
        return 1;
    if (k <= 0 || n > SUITE_SGEMM_MAX_N || !suite_sgemm_available())
        return 0;
    int kc_max = k < SUITE_SGEMM_KC ? k : SUITE_SGEMM_KC;
    int panels = (n + SUITE_SGEMM_NR - 1) / SUITE_SGEMM_NR;
    /* small panels (K of 16 or less at 64 columns, more for fewer) on the stack: a
     * depthwise layer's products of K 1 spent half their time in malloc and free */
    float small[SUITE_SGEMM_SMALL_PANEL] __attribute__((aligned(64)));
    float* bp = small;
    size_t need = (size_t) kc_max * panels * SUITE_SGEMM_NR;
    if (need > SUITE_SGEMM_SMALL_PANEL
            && posix_memalign((void**) &bp, 64, need * sizeof(float)) != 0)
        return 0;
    for (int pc = 0; pc < k; pc += SUITE_SGEMM_KC) {
        int kc = k - pc < SUITE_SGEMM_KC ? k - pc : SUITE_SGEMM_KC;
        suite_sgemm_pack_b(kc, n, b + pc * ldb, ldb, bp);
        for (int ic = 0; ic < m; ic += SUITE_SGEMM_MR) {
            int mr = m - ic < SUITE_SGEMM_MR ? m - ic : SUITE_SGEMM_MR;
            for (int jr = 0; jr < n; jr += SUITE_SGEMM_NR) {
                int nr = n - jr < SUITE_SGEMM_NR ? n - jr : SUITE_SGEMM_NR;
                /* the first panel of B brings this panel of A in; the others find it cached */
                suite_sgemm_kernel(kc, a + pc * lda + ic, lda, bp + (size_t) jr * kc,
                                   c + ic * ldc + jr, ldc, mr, nr, pc > 0,
                                   pc == 0 && start ? start + ic : NULL, jr == 0);
            }
        }
    }
    if (bp != small)
        free(bp);
    return 1;
}

/* The wide case: C = A^T B of any width n (col2im's product on maps of more than 64
 * pixels: DCGAN's 64 -> 3 output layer, M 48, K 64, N 1024 an image, which OpenBLAS runs at
 * 60-72 GFLOP/s; U-Net's 1024 -> 512 k2 on 32x32, M 2048, K 1024, N 1024: OpenBLAS 83,
 * this kernel ~95). The vectors run along C's columns, the rows of C take their values of
 * A by broadcast from where A lies, and each block of C is stored as it lies. Summed in the
 * order of k: the same bits as suite_sgemm_tn. */
#define SUITE_SGEMM_WIDE_MR 6
#define SUITE_SGEMM_WIDE_NR 64
/* Rows of C per pass over B's panels (their A stays in L2). */
#define SUITE_SGEMM_WIDE_MC 512
/* ... and at least this deep: shallower products are mostly loads and stores of C, which
 * OpenBLAS runs faster (K 7-24: OpenBLAS 55-93 GFLOP/s, this kernel 50-82) */
#define SUITE_SGEMM_WIDE_MIN_K 32
#define SUITE_SGEMM_WIDE_PACK_M 96
/* The widest last panel: a last panel of at most 32 columns joins the one before it. */
#define SUITE_SGEMM_WIDE_MERGED 96

/* One block of C, MR rows x NV vectors of 16 columns (MR * NV = 24 accumulators), from
 * panel b (ldb floats a row; the columns past nr are zero or ignored): rows past mr repeat
 * the last (read, never stored) and the last vector is stored masked when nr < 16 NV.
 * accumulate: the sums start from C (a later block of k, or C + A B), else from start[i]
 * for row i of the block (a bias) when start is not NULL, else from zero. */
#define SUITE_SGEMM_WIDE_BLOCK(NAME, MR, NV, ASI)                                            \
__attribute__((target("avx512f,avx512vl")))                                                 \
static void NAME(int kc, const float* a, ptrdiff_t asi, ptrdiff_t lda, const float* b,     \
                 ptrdiff_t ldb, float* c, ptrdiff_t ldc, int mr, int nr, int accumulate,    \
                 const float* start)                                                        \
{                                                                                           \
    __m512 acc[MR][NV];                                                                     \
    int row[MR];                                                                            \
    int left = nr - 16 * (NV - 1);                                                          \
    __mmask16 last = (__mmask16) (left >= 16 ? 0xFFFF : (1u << left) - 1u);                 \
    _Pragma("GCC unroll 24")                                                                \
    for (int i = 0; i < MR; i++) {                                                          \
        row[i] = i < mr ? i : mr - 1;                                                       \
        __m512 first = start && !accumulate ? _mm512_set1_ps(start[row[i]])                 \
                                            : _mm512_setzero_ps();                          \
        _Pragma("GCC unroll 8")                                                             \
        for (int v = 0; v < NV; v++)                                                        \
            acc[i][v] = !accumulate || i >= mr ? first                                      \
                      : v < NV - 1 ? _mm512_loadu_ps(c + i * ldc + 16 * v)                  \
                      : _mm512_maskz_loadu_ps(last, c + i * ldc + 16 * v);                  \
    }                                                                                       \
    for (int p = 0; p < kc; p++, a += lda, b += ldb) {                                      \
        __m512 bv[NV];                                                                      \
        _Pragma("GCC unroll 8")                                                             \
        for (int v = 0; v < NV; v++)                                                        \
            bv[v] = _mm512_loadu_ps(b + 16 * v);                                            \
        _Pragma("GCC unroll 24")                                                            \
        for (int i = 0; i < MR; i++) {                                                      \
            __m512 ai = _mm512_set1_ps(a[row[i] * (ASI)]);                                  \
            _Pragma("GCC unroll 8")                                                         \
            for (int v = 0; v < NV; v++)                                                    \
                acc[i][v] = _mm512_fmadd_ps(bv[v], ai, acc[i][v]);                          \
        }                                                                                   \
    }                                                                                       \
    for (int i = 0; i < mr; i++) {                                                          \
        for (int v = 0; v < NV - 1; v++)                                                    \
            _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);                              \
        _mm512_mask_storeu_ps(c + i * ldc + 16 * (NV - 1), last, acc[i][NV - 1]);           \
    }                                                                                       \
}

/* 6 x 64 for the full panels; a narrower last panel takes the block of its width in
 * vectors, with as many more rows (8 x 48, 12 x 32, 24 x 16). */
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_6x4, 6, 4, 1)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_8x3, 8, 3, 1)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_12x2, 12, 2, 1)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_24x1, 24, 1, 1)
/* The same blocks for A stored m x k (rows asi floats apart, lda = 1 between values of k):
 * C = A B, a convolution's weight as it lies. */
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_nn_6x4, 6, 4, asi)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_nn_8x3, 8, 3, asi)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_nn_12x2, 12, 2, asi)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_nn_24x1, 24, 1, asi)
/* The last two panels as one when the last has at most 32 columns (item 94): 4 x 80 and
 * 4 x 96, where a last panel of 1-16 columns took the 24 x 1 block (24 rows of A read at
 * once: 67 GFLOP/s on 256 x 16 x 4608 against 108 for the 6 x 64). */
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_4x5, 4, 5, 1)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_4x6, 4, 6, 1)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_nn_4x5, 4, 5, asi)
SUITE_SGEMM_WIDE_BLOCK(suite_sgemm_wide_nn_4x6, 4, 6, asi)

/* Rows [0, kc) of nr columns of b into a panel `width` (>= nr) wide, zero past nr. */
static void suite_sgemm_wide_copy(int kc, int nr, int width, const float* b, ptrdiff_t ldb,
                                  float* panel)
{
    for (int p = 0; p < kc; p++, b += ldb, panel += width) {
        memcpy(panel, b, (size_t) nr * sizeof(float));
        memset(panel + nr, 0, (size_t) (width - nr) * sizeof(float));
    }
}

/* mc rows of C times one panel of B of `vectors` vectors of 16 columns (nr of them real),
 * by the block of that width; A's value (i, p) at a[i * asi + p * lda] (asi 1: A^T as it
 * lies, else A row-major with lda 1). */
static void suite_sgemm_wide_panel(int vectors, int kc, const float* a, ptrdiff_t asi,
                                   ptrdiff_t lda, const float* b, ptrdiff_t ldb, float* c,
                                   ptrdiff_t ldc, int mc, int nr, int accumulate,
                                   const float* start)
{
    static const int block_rows[6] = {24, 12, 8, SUITE_SGEMM_WIDE_MR, 4, 4};
    const int rows = block_rows[vectors - 1];
    for (int ic = 0; ic < mc; ic += rows) {
        int mr = mc - ic < rows ? mc - ic : rows;
        const float* ai = a + (ptrdiff_t) ic * asi;
        float* ci = c + ic * ldc;
#define SUITE_SGEMM_WIDE_CALL(NAME) NAME(kc, ai, asi, lda, b, ldb, ci, ldc, mr, nr, accumulate, \
                                         start ? start + ic : NULL)
        switch (vectors + (asi == 1 ? 0 : 8)) {
        case 6: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_4x6); break;
        case 5: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_4x5); break;
        case 4: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_6x4); break;
        case 3: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_8x3); break;
        case 2: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_12x2); break;
        case 1: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_24x1); break;
        case 14: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_nn_4x6); break;
        case 13: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_nn_4x5); break;
        case 12: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_nn_6x4); break;
        case 11: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_nn_8x3); break;
        case 10: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_nn_12x2); break;
        default: SUITE_SGEMM_WIDE_CALL(suite_sgemm_wide_nn_24x1);
        }
#undef SUITE_SGEMM_WIDE_CALL
    }
}

/* C = A^T B for any A of at least SUITE_SGEMM_WIDE_MIN_K rows of k (see above); 1 when
 * done, 0 when it should go elsewhere.
 *
 * Blocking: SUITE_SGEMM_WIDE_MC rows of C at a time, whose A (at most KC rows of k: 512 KiB)
 * stays in L2 while every panel of 64 columns of B passes; k in blocks of KC, each later
 * block continuing the sums of C where the one before left them (the same chain of fused
 * multiply-adds in the order of k as one pass: the bits do not depend on the blocking).
 * Each panel of B is copied into a contiguous buffer when SUITE_SGEMM_WIDE_PACK_M rows of
 * C or more read it: col2im's B is a band of rows of the input planes, whose rows of K lie
 * a whole plane apart (64 KiB on a 128x128 map: a page and a TLB entry per row; 256 x 256
 * x 512 ran at 86 GFLOP/s unpacked, 108 packed). Fewer rows, fewer passes: the copy costs
 * more than it saves (48 x 64 x 1024: 103 unpacked, 96 packed).
 *
 * The last panel, of nr < 64 columns, is always copied, zero past nr, and run by the block
 * of ceil(nr / 16) vectors (docs/performance.md, item 42): a 6 x 64 block recomputing
 * columns of the panel before it wasted up to 63 columns' work (144 columns computed as
 * 192), and a 6 x 64 block with masked loads ran at half the rate. A last panel of at
 * most 32 columns joins the one before it (4 x 80 and 4 x 96 blocks, item 94). */
static int suite_sgemm_wide(int m, int n, int k, const float* a, ptrdiff_t asi,
                            ptrdiff_t lda, const float* b, ptrdiff_t ldb, float* c,
                            ptrdiff_t ldc, int add, const float* start)
{
    if (m <= 0 || n <= 0)
        return 1;
    if (k < SUITE_SGEMM_WIDE_MIN_K || !suite_sgemm_available())
        return 0;
    float* panel = NULL;
    if ((m >= SUITE_SGEMM_WIDE_PACK_M || n % SUITE_SGEMM_WIDE_NR != 0)
            && posix_memalign((void**) &panel, 64,
                              (size_t) SUITE_SGEMM_KC * SUITE_SGEMM_WIDE_MERGED
                              * sizeof(float)))
        return 0;
    for (int i0 = 0; i0 < m; i0 += SUITE_SGEMM_WIDE_MC) {
        int mc = m - i0 < SUITE_SGEMM_WIDE_MC ? m - i0 : SUITE_SGEMM_WIDE_MC;
        for (int pc = 0; pc < k; pc += SUITE_SGEMM_KC) {
            int kc = k - pc < SUITE_SGEMM_KC ? k - pc : SUITE_SGEMM_KC;
            for (int jc = 0, nr = 0; jc < n; jc += nr) {
                nr = n - jc < SUITE_SGEMM_WIDE_NR ? n - jc : SUITE_SGEMM_WIDE_NR;
                if (n - jc > SUITE_SGEMM_WIDE_NR && n - jc <= SUITE_SGEMM_WIDE_MERGED)
                    nr = n - jc;        /* the last two panels as one of 5 or 6 vectors */
                int vectors = (nr + 15) / 16;
                const float* src = b + (ptrdiff_t) pc * ldb + jc;
                ptrdiff_t ld = ldb;
                if (nr != SUITE_SGEMM_WIDE_NR || m >= SUITE_SGEMM_WIDE_PACK_M) {
                    suite_sgemm_wide_copy(kc, nr, 16 * vectors, src, ldb, panel);
                    src = panel;
                    ld = 16 * vectors;
                }
                suite_sgemm_wide_panel(vectors, kc, a + (ptrdiff_t) pc * lda + i0 * asi, asi,
                                       lda, src, ld, c + (ptrdiff_t) i0 * ldc + jc, ldc, mc,
                                       nr, add || pc > 0, start ? start + i0 : NULL);
            }
        }
    }
    free(panel);
    return 1;
}

static int suite_sgemm_tn_wide(int m, int n, int k, const float* a, ptrdiff_t lda,
                               const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc,
                               const float* start)
{
    return suite_sgemm_wide(m, n, k, a, 1, lda, b, ldb, c, ldc, 0, start);
}

/* C = A B (add 0), C + A B (add 1: the sums start from C) or start[i] + (A B)[i, j] (add 0
 * and start not NULL: a bias), A row-major m x k (rows lda
 * floats apart): a convolution's product, the weight as it lies (C_out/groups x
 * C_in/groups*kH*kW) times the columns, by the blocks above, which broadcast A's values
 * from where they lie whichever way A is stored. OpenBLAS copies the whole of A into its
 * panels on every call: once per band of the banded convolution, whose products have few
 * rows (48 output channels, K 4608, 256 columns: 56 GFLOP/s; here 98). 1 when done, 0
 * when it should go elsewhere (as suite_sgemm_tn_wide). */
static int suite_sgemm_nn_wide(int m, int n, int k, const float* a, ptrdiff_t lda,
                               const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc,
                               int add, const float* start)
{
    if (lda == 1 && m > 1)  /* asi 1 would take the blocks of A^T: never a real layout here */
        return 0;
    return suite_sgemm_wide(m, n, k, a, lda, 1, b, ldb, c, ldc, add, start);
}

#else
static inline int suite_sgemm_available(void) { return 0; }
static inline int suite_sgemm_tn(int m, int n, int k, const float* a, ptrdiff_t lda,
                                 const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc,
                                 const float* start)
{
    return 0;
}
static inline int suite_sgemm_tn_wide(int m, int n, int k, const float* a, ptrdiff_t lda,
                                      const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc,
                                      const float* start)
{
    return 0;
}
static inline int suite_sgemm_nn_wide(int m, int n, int k, const float* a, ptrdiff_t lda,
                                      const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc,
                                      int add, const float* start)
{
    return 0;
}
#endif

#endif
