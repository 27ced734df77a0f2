/* col2im's rows from vectors (see _simd.h for the vector switch), three forms: rows where
 * the kernel row is as long as the stride (below); rows of column stride 1 or 2 summed by
 * output vectors; rows of column stride 3 or 4 by phase vectors (each described at its own
 * section).
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
/* Output vector J of a block of 8 values of each of K rows S, interleaved: lane l from row
 * (8J + l) % K at position (8J + l) / K, into R (the interleave below and the spread). */
#define SUITE_INTERLEAVED(K, J, S, R)                                                      \
    do {                                                                                   \
        const __m256i at_ = SUITE_INDEX(K, J);                                             \
        R = _mm256_permutevar8x32_ps(S[0], at_);                                           \
        for (int j_ = 1; j_ < (K); j_++) {                                                 \
            const __m256i take_ = _mm256_cmpeq_epi32(                                      \
                _mm256_set1_epi32(j_),                                                     \
                _mm256_setr_epi32((8 * (J) + 0) % (K), (8 * (J) + 1) % (K),                \
                                  (8 * (J) + 2) % (K), (8 * (J) + 3) % (K),                \
                                  (8 * (J) + 4) % (K), (8 * (J) + 5) % (K),                \
                                  (8 * (J) + 6) % (K), (8 * (J) + 7) % (K)));              \
            R = _mm256_blendv_ps(R, _mm256_permutevar8x32_ps(S[j_], at_),                  \
                                 _mm256_castsi256_ps(take_));                              \
        }                                                                                  \
    } while (0)
/* ... added to the 8 output values at O + 8J. */
#define SUITE_INTERLEAVE_VECTOR(K, J, S, O)                                                \
    do {                                                                                   \
        __m256 r_;                                                                         \
        SUITE_INTERLEAVED(K, J, S, r_);                                                    \
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

/* ---- Disjoint geometries: grid rows spread into output rows ---------------------------
 *
 * Where no two column values meet (kernels no longer than the stride, undilated), every
 * output value is its bias plus at most one column value. Spread a run of n grid positions
 * (consecutive grid rows of one kernel row, back to back) into dst with the column stride:
 * dst[ow*sw + j] = value + src[j*ld + ow] for j < kw, value for kw <= j < sw (ow < n). An
 * output row is then a contiguous piece of dst (the padding's columns cut off), copied: no
 * fill, read-back or search a row, where col2im_row spends ~20 ns on a row of 10 values.
 * value + src: the one addition col2im_row makes on a row filled with value, so the same bits.
 * AVX2 for sw = 2..4 (the interleave's permutes, after the additions), scalar otherwise. */
static inline void suite_col2im_spread_scalar_f32(const float *src, ptrdiff_t ld,
                                                  ptrdiff_t from, ptrdiff_t n, ptrdiff_t kw,
                                                  ptrdiff_t sw, float value, float *dst)
{
    for (ptrdiff_t ow = from; ow < n; ow++) {
        ptrdiff_t j = 0;
        for (; j < kw; j++)
            dst[ow * sw + j] = value + src[j * ld + ow];
        for (; j < sw; j++)
            dst[ow * sw + j] = value;
    }
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* Output vector J of the block stored at O: data movement only. */
#define SUITE_SPREAD_VECTOR(K, J, S, O)                                                    \
    do {                                                                                   \
        __m256 r_;                                                                         \
        SUITE_INTERLEAVED(K, J, S, r_);                                                    \
        _mm256_storeu_ps((O) + 8 * (J), r_);                                               \
    } while (0)

/* Blocks of 8 grid positions: row j < kw as value + its 8 column values (the one addition,
 * made before any data moves), rows kw <= j < K the value alone, interleaved into K output
 * vectors. */
#define SUITE_SPREAD_BLOCKS(K)                                                             \
    for (; ow + 8 <= n; ow += 8) {                                                         \
        __m256 s_[4];                                                                      \
        for (int j_ = 0; j_ < (K); j_++)                                                   \
            s_[j_] = j_ < kw ? _mm256_add_ps(base, _mm256_loadu_ps(src + j_ * ld + ow))   \
                             : base;                                                       \
        float *o_ = dst + ow * (K);                                                        \
        SUITE_SPREAD_VECTOR(K, 0, s_, o_);                                                 \
        SUITE_SPREAD_VECTOR(K, 1, s_, o_);                                                 \
        if ((K) > 2) SUITE_SPREAD_VECTOR(K, 2, s_, o_);                                    \
        if ((K) > 3) SUITE_SPREAD_VECTOR(K, 3, s_, o_);                                    \
    }

__attribute__((target("avx2")))
static inline void suite_col2im_spread_avx2_f32(const float *src, ptrdiff_t ld, ptrdiff_t n,
                                                ptrdiff_t kw, ptrdiff_t sw, float value,
                                                float *dst)
{
    ptrdiff_t ow = 0;
    const __m256 base = _mm256_set1_ps(value);
    if (sw == 2 && kw == 2) {
        for (; ow + 8 <= n; ow += 8) {
            const __m256 a = _mm256_add_ps(base, _mm256_loadu_ps(src + ow));
            const __m256 b = _mm256_add_ps(base, _mm256_loadu_ps(src + ld + ow));
            const __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);
            float *o = dst + 2 * ow;
            _mm256_storeu_ps(o, _mm256_permute2f128_ps(lo, hi, 0x20));
            _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
        }
    } else if (sw == 2) {
        SUITE_SPREAD_BLOCKS(2)
    } else if (sw == 3) {
        SUITE_SPREAD_BLOCKS(3)
    } else if (sw == 4) {
        SUITE_SPREAD_BLOCKS(4)
    }
    suite_col2im_spread_scalar_f32(src, ld, ow, n, kw, sw, value, dst);
}
#undef SUITE_SPREAD_BLOCKS
#undef SUITE_SPREAD_VECTOR
#undef SUITE_INTERLEAVED
#endif

/* 1 where suite_col2im_spread_f32 runs from vectors: strides 2-4 on AVX2. */
static inline int suite_col2im_spread_vectors(ptrdiff_t sw)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    return sw >= 2 && sw <= 4 && suite_cpu_has_avx2();
#else
    (void)sw;
    return 0;
#endif
}

static inline void suite_col2im_spread_f32(const float *src, ptrdiff_t ld, ptrdiff_t n,
                                           ptrdiff_t kw, ptrdiff_t sw, float value, float *dst)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (kw <= sw && suite_col2im_spread_vectors(sw)) {
        suite_col2im_spread_avx2_f32(src, ld, n, kw, sw, value, dst);
        return;
    }
#endif
    suite_col2im_spread_scalar_f32(src, ld, 0, n, kw, sw, value, dst);
}
/* ---- col2im's rows by output vectors: column strides 1 and 2 ------------------------- */

/* col2im_row (_columns.pxd) adds one kernel column's values into an output row per pass: a
 * load, an addition and a store a value, each pass reloading the values the previous one
 * stored. With unit column stride the passes overlap shifted by one value, so every load
 * straddles two earlier stores and waits for them (k3 s1 on rows of 8 values: 7 ns a pass,
 * 1 ns a value). Here a block of 16 output values is loaded once into two vectors, takes
 * every addition that reaches it in registers, in col2im_row's order (kernel row, then
 * kernel column: the same sums, so the same bits), and is stored once. Column stride 1: the
 * vectors are the block's halves, and each kernel column adds 16 consecutive values of its
 * column row. Column stride 2: the vectors are the block's even and odd columns (split on
 * load, interleaved on store), and kernel column j adds 8 consecutive values into the one
 * of them its offset (j*dW - pW) mod 2 reaches: no permute, no blend. The two vectors are
 * independent chains of additions. A block at a row's ends masks the values outside the
 * kernel column's reach (loads and additions; an output value it does not reach is left as
 * it was). Rows whose kernel row is as long as the stride take the interleave above. AVX2,
 * f32. */

#define SUITE_GATHER_MAX_KW 64
#define SUITE_GATHER_MAX_EDGE 128       /* (edge block, kernel column) masks kept */
/* The column geometry of every output row of one col2im (the same for each row): kernel
 * column j (j < kw <= SUITE_GATHER_MAX_KW) adds its column row's value ow, for ow in
 * [lo[j], hi[j]), into output column x = ow*sw + j*dw - pw; column rows ld apart. */
typedef struct {
    ptrdiff_t n_js, sw, per, width, n_blocks, c_lo, c_hi, n_edge;
    ptrdiff_t off[SUITE_GATHER_MAX_KW];     /* block c, vector q: values from off + c*per */
    int q[SUITE_GATHER_MAX_KW];             /* sW 2: the vector it adds into (its phase) */
    ptrdiff_t n_phase[2], phase_off[2][SUITE_GATHER_MAX_KW];  /* sW 2: off by phase */
    /* the blocks c outside [c_lo, c_hi) (edge e: c = e, or c_hi + e - c_lo): entry
     * e*n_js + n, kernel column n: the lanes of vectors 0 and 1 it adds into (-1) */
    int32_t edge_take[SUITE_GATHER_MAX_EDGE][2][8];
    char edge_kind[SUITE_GATHER_MAX_EDGE];  /* 0: adds nothing; 1: every lane; 2: masked */
} suite_col2im_columns;

static inline ptrdiff_t suite_floor_div(ptrdiff_t a, ptrdiff_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Narrows [*first, *end) to the blocks c whose values c*per + base + [0, per) of a kernel
 * column's row all lie in its reach [lo, hi): the blocks that take whole loads. */
static inline void suite_whole_blocks(ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t base,
                                      ptrdiff_t per, ptrdiff_t *first, ptrdiff_t *end)
{
    const ptrdiff_t f = -suite_floor_div(base - lo, per);
    const ptrdiff_t e = suite_floor_div(hi - base - per, per) + 1;
    if (f > *first)
        *first = f;
    if (e < *end)
        *end = e;
}

/* [*first, *end) clamped to a row's n_blocks (empty rather than reversed); returns the
 * entries of the edge table, (blocks outside it) x (kernel columns n_js). */
static inline ptrdiff_t suite_edge_entries(ptrdiff_t n_blocks, ptrdiff_t n_js,
                                           ptrdiff_t *first, ptrdiff_t *end)
{
    if (*first > n_blocks)
        *first = n_blocks;
    if (*end < *first)
        *end = *first;
    return (*first + (n_blocks - *end)) * n_js;
}

/* 1 and g filled where this geometry's rows take output vectors (AVX2; column stride 1, or
 * 2 with kernel columns of both phases; kW <= SUITE_GATHER_MAX_KW; edge masks that fit),
 * else 0. lo, hi: the columns each kernel column reaches in a row of width values
 * (column_ranges); ld: the distance of a kernel row's column rows. */
static inline int suite_col2im_columns_init(suite_col2im_columns *g, ptrdiff_t kw,
                                            ptrdiff_t sw, ptrdiff_t dw, ptrdiff_t pw,
                                            const ptrdiff_t *lo, const ptrdiff_t *hi,
                                            ptrdiff_t width, ptrdiff_t ld)
{
    ptrdiff_t base[SUITE_GATHER_MAX_KW], nlo[SUITE_GATHER_MAX_KW], nhi[SUITE_GATHER_MAX_KW];
    int phases = 0;
    if (!suite_cpu_has_avx2() || !(sw == 1 || sw == 2) || kw < 1 ||
        kw > SUITE_GATHER_MAX_KW || width <= 0)
        return 0;
    g->sw = sw;
    g->per = 16 / sw;       /* values of a kernel column's row a block takes */
    g->width = width;
    g->n_blocks = (width + 15) / 16;
    g->c_lo = 0;
    g->c_hi = g->n_blocks;
    g->n_js = 0;
    g->n_phase[0] = g->n_phase[1] = 0;
    for (ptrdiff_t j = 0; j < kw; j++) {
        if (hi[j] <= lo[j])
            continue;
        const ptrdiff_t off = j * dw - pw, n = g->n_js++;
        const ptrdiff_t rr = ((off % sw) + sw) % sw;
        base[n] = (rr - off) / sw;   /* block c's first value (exact: rr - off = k*sW) */
        nlo[n] = lo[j];
        nhi[n] = hi[j];
        g->q[n] = (int)rr;
        phases |= 1 << rr;
        g->off[n] = j * ld + base[n];
        if (sw == 2)
            g->phase_off[rr][g->n_phase[rr]++] = g->off[n];
        suite_whole_blocks(lo[j], hi[j], base[n], g->per, &g->c_lo, &g->c_hi);
    }
    if (sw == 2 && phases != 3)
        return 0;   /* one phase (k1, even dilation): half the lanes idle, no faster */
    g->n_edge = suite_edge_entries(g->n_blocks, g->n_js, &g->c_lo, &g->c_hi);
    if (g->n_edge > SUITE_GATHER_MAX_EDGE)
        return 0;   /* wide kernels, or rows with few whole blocks: strided passes */
    for (ptrdiff_t e = 0; e * g->n_js < g->n_edge; e++) {
        const ptrdiff_t c = e < g->c_lo ? e : g->c_hi + (e - g->c_lo);
        for (ptrdiff_t n = 0; n < g->n_js; n++) {
            const ptrdiff_t i = e * g->n_js + n;
            int in_any = 0, in_all = 1;
            for (int v = 0; v < 2; v++)
                for (int l = 0; l < 8; l++) {
                    /* the value lane l of vector v takes: sW 1, one run of 16; sW 2, the
                     * 8 of its phase's vector */
                    const ptrdiff_t ow = c * g->per + base[n] + (sw == 1 ? 8 * v + l : l);
                    const int mine = sw == 1 || v == g->q[n];
                    const int in = mine && ow >= nlo[n] && ow < nhi[n];
                    g->edge_take[i][v][l] = in ? -1 : 0;
                    in_any |= in;
                    in_all &= in || !mine;
                }
            g->edge_kind[i] = !in_any ? 0 : in_all ? 1 : 2;
        }
    }
    return 1;
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
/* The first n (0 <= n < 8) lanes of v to o, by 4-, 2- and 1-lane stores: a masked store
 * (vmaskmovps) took a fifth of the time of rows of 10 values (k4 s2 on 5-pixel rows). */
__attribute__((target("avx2")))
static inline void suite_col2im_store_part(float *o, __m256 v, ptrdiff_t n)
{
    __m128 h = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(o, h);
        h = _mm256_extractf128_ps(v, 1);
        o += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)o, h);
        h = _mm_movehl_ps(h, h);
        o += 2;
        n -= 2;
    }
    if (n)
        _mm_store_ss(o, h);
}

/* dst[x] += rows[r][j*ld + ow] for every r < n_rows, kernel column j, ow in [lo, hi) with
 * x = ow*sW + j*dW - pW, in the order of r, then j (g from suite_col2im_columns_init, which
 * took ld); fresh: dst[x] = init first (the row is not read: a row just filled would
 * be read back from stores narrower than these loads, which cannot forward to them). */
__attribute__((target("avx2")))
static void suite_col2im_gather_f32(const suite_col2im_columns *g, const float *const *rows,
                                    ptrdiff_t n_rows, float *dst, int fresh, float init)
{
    const ptrdiff_t n_js = g->n_js, per = g->per, width = g->width;
    const int sw = (int)g->sw;
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (ptrdiff_t c = 0, e = 0; c < g->n_blocks; c++) {
        float *o = dst + 16 * c;
        const ptrdiff_t left = width - 16 * c;
        const int whole = left >= 16;
        const __m256i in0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? left : 8)),
                                               lanes);
        const __m256i in1 = _mm256_cmpgt_epi32(
            _mm256_set1_epi32((int)(left < 16 ? left - 8 : 8)), lanes);
        __m256 d0, d1;
        if (fresh) {
            d0 = d1 = _mm256_set1_ps(init);
        } else {
            d0 = whole ? _mm256_loadu_ps(o) : _mm256_maskload_ps(o, in0);
            d1 = whole ? _mm256_loadu_ps(o + 8) : _mm256_maskload_ps(o + 8, in1);
        }
        __m256 a0, a1;      /* two chains of additions (named: kept in registers) */
        if (sw == 1 || fresh) {
            a0 = d0;
            a1 = d1;
        } else {
            /* the even and the odd columns of the block */
            a0 = _mm256_castpd_ps(_mm256_permute4x64_pd(
                _mm256_castps_pd(_mm256_shuffle_ps(d0, d1, _MM_SHUFFLE(2, 0, 2, 0))), 0xd8));
            a1 = _mm256_castpd_ps(_mm256_permute4x64_pd(
                _mm256_castps_pd(_mm256_shuffle_ps(d0, d1, _MM_SHUFFLE(3, 1, 3, 1))), 0xd8));
        }
        if (c >= g->c_lo && c < g->c_hi) {
            /* every kernel column's values for this block lie in its row: whole loads */
            for (ptrdiff_t r = 0; r < n_rows; r++) {
                const float *src = rows[r] + c * per;
                if (sw == 1) {
                    for (ptrdiff_t n = 0; n < n_js; n++) {
                        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(src + g->off[n]));
                        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(src + g->off[n] + 8));
                    }
                } else {
                    /* each lane takes its phase's columns in their order */
                    for (ptrdiff_t n = 0; n < g->n_phase[0]; n++)
                        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(src + g->phase_off[0][n]));
                    for (ptrdiff_t n = 0; n < g->n_phase[1]; n++)
                        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(src + g->phase_off[1][n]));
                }
            }
        } else {
            /* a block at an end: each kernel column's lanes from the table */
            for (ptrdiff_t r = 0; r < n_rows; r++) {
                const float *src = rows[r] + c * per;
                for (ptrdiff_t n = 0; n < n_js; n++) {
                    const ptrdiff_t i = e * n_js + n;
                    const float *s = src + g->off[n];
                    if (g->edge_kind[i] == 0)
                        continue;
                    if (g->edge_kind[i] == 1) {     /* every value in its row */
                        if (sw == 1) {
                            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(s));
                            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(s + 8));
                        } else if (g->q[n] == 0) {
                            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(s));
                        } else {
                            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(s));
                        }
                        continue;
                    }
                    if (sw == 1 || g->q[n] == 0) {
                        const __m256i m = _mm256_loadu_si256((const __m256i *)g->edge_take[i][0]);
                        a0 = _mm256_blendv_ps(a0, _mm256_add_ps(a0, _mm256_maskload_ps(s, m)),
                                              _mm256_castsi256_ps(m));
                    }
                    if (sw == 1 || g->q[n] == 1) {
                        const __m256i m = _mm256_loadu_si256((const __m256i *)g->edge_take[i][1]);
                        a1 = _mm256_blendv_ps(
                            a1, _mm256_add_ps(a1, _mm256_maskload_ps(s + (sw == 1 ? 8 : 0), m)),
                            _mm256_castsi256_ps(m));
                    }
                }
            }
            e++;
        }
        if (sw == 1) {
            d0 = a0;
            d1 = a1;
        } else {
            const __m256 lo = _mm256_unpacklo_ps(a0, a1), hi = _mm256_unpackhi_ps(a0, a1);
            d0 = _mm256_permute2f128_ps(lo, hi, 0x20);
            d1 = _mm256_permute2f128_ps(lo, hi, 0x31);
        }
        if (whole) {
            _mm256_storeu_ps(o, d0);
            _mm256_storeu_ps(o + 8, d1);
        } else if (left >= 8) {
            _mm256_storeu_ps(o, d0);
            suite_col2im_store_part(o + 8, d1, left - 8);
        } else {
            suite_col2im_store_part(o, d0, left);
        }
    }
}
#endif

/* ---- col2im's rows by phase vectors: column strides 3 and 4 -------------------------- */

/* At column stride s = 3 or 4, output column x = m*s + p (p, its phase, in [0, s)) takes,
 * from kernel column j, the value m - q of its column row, where j*dW - pW = q*s + p. A
 * block of 8*s output values (m in [8t, 8t + 8)) is held as s phase vectors, phase p's
 * values x = m*s + p in the order of m: each kernel column adds 8 consecutive values of its
 * column row into its phase's vector, no permute. The block is split into phases on load
 * (at s = 4 a 4 x 8 transposition; at 3 two blends and a permute a phase, 3 being prime to
 * 8) and merged back on store; a row just filled is not loaded at all: the vectors start at
 * its bias. A value's additions are col2im_row's, in its order (kernel row, then kernel
 * column): the same bits. Blocks at a row's ends: a kernel column whose 8 values run past
 * its column row loads the 8 values inside the row nearest them and permutes them into
 * place, the lanes outside its reach adding -0.0 (which leaves every value as it was, -0.0
 * included); rows of fewer than 8 columns keep the strided passes. AVX2, f32. */

#define SUITE_PHASES_MAX_EDGE 128       /* (edge block, kernel column) entries kept */
typedef struct {
    ptrdiff_t sw, width, n_blocks, t_lo, t_hi, n_js, n_edge;
    ptrdiff_t off[SUITE_GATHER_MAX_KW];     /* block t's values from a row's off + 8t */
    int p[SUITE_GATHER_MAX_KW];             /* the phase each kernel column adds into */
    ptrdiff_t n_phase[4], phase_off[4][SUITE_GATHER_MAX_KW];   /* off by phase */
    /* the blocks t outside [t_lo, t_hi) (edge e: t = e, or t_hi + e - t_lo): entry
     * e*n_js + n, kernel column n: kind 0, adds nothing; 1, its 8 values as in a whole
     * block; 2, 8 values from a row's at, lane l taking value idx[l], where take[l] */
    ptrdiff_t edge_at[SUITE_PHASES_MAX_EDGE];
    int32_t edge_idx[SUITE_PHASES_MAX_EDGE][8], edge_take[SUITE_PHASES_MAX_EDGE][8];
    char edge_kind[SUITE_PHASES_MAX_EDGE];
} suite_col2im_phases;

/* 1 and g filled where this geometry's rows take phase vectors (AVX2, column stride 3 or
 * 4, kW <= SUITE_GATHER_MAX_KW, rows of 8 columns or more: col_w, edge entries that fit),
 * else 0; the other arguments as suite_col2im_columns_init's. */
static inline int suite_col2im_phases_init(suite_col2im_phases *g, ptrdiff_t kw, ptrdiff_t sw,
                                           ptrdiff_t dw, ptrdiff_t pw, const ptrdiff_t *lo,
                                           const ptrdiff_t *hi, ptrdiff_t width, ptrdiff_t ld,
                                           ptrdiff_t col_w)
{
    ptrdiff_t base[SUITE_GATHER_MAX_KW], nlo[SUITE_GATHER_MAX_KW], nhi[SUITE_GATHER_MAX_KW];
    ptrdiff_t jl[SUITE_GATHER_MAX_KW];
    if (!suite_cpu_has_avx2() || !(sw == 3 || sw == 4) || kw < 1 ||
        kw > SUITE_GATHER_MAX_KW || width <= 0 || col_w < 8)
        return 0;
    g->sw = sw;
    g->width = width;
    g->n_blocks = (width + 8 * sw - 1) / (8 * sw);
    g->t_lo = 0;
    g->t_hi = width / (8 * sw);     /* blocks wholly inside the row */
    g->n_js = 0;
    for (int p = 0; p < 4; p++)
        g->n_phase[p] = 0;
    for (ptrdiff_t j = 0; j < kw; j++) {
        if (hi[j] <= lo[j])
            continue;
        const ptrdiff_t off = j * dw - pw, q = suite_floor_div(off, sw), n = g->n_js++;
        g->p[n] = (int)(off - q * sw);
        g->off[n] = j * ld - q;
        g->phase_off[g->p[n]][g->n_phase[g->p[n]]++] = g->off[n];
        base[n] = -q;               /* block t's first value in the column row: 8t + base */
        nlo[n] = lo[j];
        nhi[n] = hi[j];
        jl[n] = j * ld;
        suite_whole_blocks(lo[j], hi[j], -q, 8, &g->t_lo, &g->t_hi);
    }
    g->n_edge = suite_edge_entries(g->n_blocks, g->n_js, &g->t_lo, &g->t_hi);
    if (g->n_edge > SUITE_PHASES_MAX_EDGE)
        return 0;
    for (ptrdiff_t e = 0; e * g->n_js < g->n_edge; e++) {
        const ptrdiff_t t = e < g->t_lo ? e : g->t_hi + (e - g->t_lo);
        for (ptrdiff_t n = 0; n < g->n_js; n++) {
            const ptrdiff_t i = e * g->n_js + n, start = 8 * t + base[n];
            /* the 8 values inside the column row nearest the block's */
            const ptrdiff_t at = start < 0 ? 0 : start > col_w - 8 ? col_w - 8 : start;
            int in_any = 0, in_all = 1;
            for (int l = 0; l < 8; l++) {
                const int in = start + l >= nlo[n] && start + l < nhi[n];
                g->edge_take[i][l] = in ? -1 : 0;
                g->edge_idx[i][l] = in ? (int32_t)(start + l - at) : 0;
                in_any |= in;
                in_all &= in;
            }
            g->edge_at[i] = jl[n] + at;
            g->edge_kind[i] = !in_any ? 0 : in_all ? 1 : 2;
        }
    }
    return 1;
}

#if defined(SUITE_HAVE_AVX2_DISPATCH)
__attribute__((target("avx2"), always_inline))
static inline void suite_col2im_phases_body(const suite_col2im_phases *g,
                                            const float *const *rows, ptrdiff_t n_rows,
                                            float *dst, int fresh, float init, const int sw)
{
    const __m256 nz = _mm256_set1_ps(-0.0f);
    /* s = 3: phase p's value m sits at lane (3m + p) mod 8 of one of the block's vectors */
    const __m256i to0 = _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5);
    const __m256i to1 = _mm256_setr_epi32(5, 0, 3, 6, 1, 4, 7, 2);
    const __m256i to2 = _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7);
    const __m256i from1 = _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6);
    const ptrdiff_t n_js = g->n_js, width = g->width;
    for (ptrdiff_t t = 0, e = 0; t < g->n_blocks; t++) {
        float *o = dst + 8 * sw * t;
        const ptrdiff_t left = width - 8 * sw * t;
        /* the row's last block: whole vectors, one partial (through part), none past it */
        const int n_whole = left >= 8 * sw ? sw : (int)(left / 8), n_part = (int)(left % 8);
        float part[8];
        __m256 P0, P1, P2, P3 = nz;     /* the phase vectors */
        if (fresh) {
            P0 = P1 = P2 = P3 = _mm256_set1_ps(init);
        } else {
            __m256 d[4];
            for (int v = 0; v < sw; v++) {
                if (v < n_whole) {
                    d[v] = _mm256_loadu_ps(o + 8 * v);
                } else if (v == n_whole && n_part > 0) {
                    for (int l = 0; l < 8; l++)
                        part[l] = l < n_part ? o[8 * v + l] : 0.0f;
                    d[v] = _mm256_loadu_ps(part);
                } else {
                    d[v] = nz;
                }
            }
            if (sw == 3) {
                P0 = _mm256_permutevar8x32_ps(
                    _mm256_blend_ps(_mm256_blend_ps(d[0], d[1], 0x92), d[2], 0x24), to0);
                P1 = _mm256_permutevar8x32_ps(
                    _mm256_blend_ps(_mm256_blend_ps(d[0], d[1], 0x24), d[2], 0x49), from1);
                P2 = _mm256_permutevar8x32_ps(
                    _mm256_blend_ps(_mm256_blend_ps(d[0], d[1], 0x49), d[2], 0x92), to2);
            } else {
                const __m256 e0 = _mm256_permute2f128_ps(d[0], d[2], 0x20);
                const __m256 e1 = _mm256_permute2f128_ps(d[0], d[2], 0x31);
                const __m256 e2 = _mm256_permute2f128_ps(d[1], d[3], 0x20);
                const __m256 e3 = _mm256_permute2f128_ps(d[1], d[3], 0x31);
                const __m256 t0 = _mm256_unpacklo_ps(e0, e1), t1 = _mm256_unpackhi_ps(e0, e1);
                const __m256 t2 = _mm256_unpacklo_ps(e2, e3), t3 = _mm256_unpackhi_ps(e2, e3);
                P0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
                P1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
                P2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
                P3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            }
        }
        if (t >= g->t_lo && t < g->t_hi) {
            /* every kernel column's 8 values for this block lie in its row: whole loads */
            for (ptrdiff_t r = 0; r < n_rows; r++) {
                const float *src = rows[r] + 8 * t;
                for (ptrdiff_t n = 0; n < g->n_phase[0]; n++)
                    P0 = _mm256_add_ps(P0, _mm256_loadu_ps(src + g->phase_off[0][n]));
                for (ptrdiff_t n = 0; n < g->n_phase[1]; n++)
                    P1 = _mm256_add_ps(P1, _mm256_loadu_ps(src + g->phase_off[1][n]));
                for (ptrdiff_t n = 0; n < g->n_phase[2]; n++)
                    P2 = _mm256_add_ps(P2, _mm256_loadu_ps(src + g->phase_off[2][n]));
                if (sw == 4)
                    for (ptrdiff_t n = 0; n < g->n_phase[3]; n++)
                        P3 = _mm256_add_ps(P3, _mm256_loadu_ps(src + g->phase_off[3][n]));
            }
        } else {
            /* a block at an end: each kernel column's lanes from the table */
            for (ptrdiff_t r = 0; r < n_rows; r++) {
                for (ptrdiff_t n = 0; n < n_js; n++) {
                    const ptrdiff_t i = e * n_js + n;
                    __m256 v;
                    if (g->edge_kind[i] == 0)
                        continue;
                    if (g->edge_kind[i] == 1) {
                        v = _mm256_loadu_ps(rows[r] + 8 * t + g->off[n]);
                    } else {
                        const __m256i take = _mm256_loadu_si256((const __m256i *)g->edge_take[i]);
                        v = _mm256_blendv_ps(
                            nz, _mm256_permutevar8x32_ps(
                                    _mm256_loadu_ps(rows[r] + g->edge_at[i]),
                                    _mm256_loadu_si256((const __m256i *)g->edge_idx[i])),
                            _mm256_castsi256_ps(take));
                    }
                    switch (g->p[n]) {
                    case 0: P0 = _mm256_add_ps(P0, v); break;
                    case 1: P1 = _mm256_add_ps(P1, v); break;
                    case 2: P2 = _mm256_add_ps(P2, v); break;
                    default: P3 = _mm256_add_ps(P3, v); break;
                    }
                }
            }
            e++;
        }
        __m256 d[4];
        if (sw == 3) {
            const __m256 x0 = _mm256_permutevar8x32_ps(P0, to0);
            const __m256 x1 = _mm256_permutevar8x32_ps(P1, to1);
            const __m256 x2 = _mm256_permutevar8x32_ps(P2, to2);
            /* output vector J, lane l: phase (8J + l) mod 3 */
            d[0] = _mm256_blend_ps(_mm256_blend_ps(x0, x1, 0x92), x2, 0x24);
            d[1] = _mm256_blend_ps(_mm256_blend_ps(x0, x1, 0x24), x2, 0x49);
            d[2] = _mm256_blend_ps(_mm256_blend_ps(x0, x1, 0x49), x2, 0x92);
        } else {
            const __m256 t0 = _mm256_unpacklo_ps(P0, P1), t1 = _mm256_unpackhi_ps(P0, P1);
            const __m256 t2 = _mm256_unpacklo_ps(P2, P3), t3 = _mm256_unpackhi_ps(P2, P3);
            /* u_k: values m = k and k + 4 of the four phases, in the block's order */
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            d[0] = _mm256_permute2f128_ps(u0, u1, 0x20);
            d[1] = _mm256_permute2f128_ps(u2, u3, 0x20);
            d[2] = _mm256_permute2f128_ps(u0, u1, 0x31);
            d[3] = _mm256_permute2f128_ps(u2, u3, 0x31);
        }
        for (int v = 0; v < n_whole; v++)
            _mm256_storeu_ps(o + 8 * v, d[v]);
        if (n_whole < sw && n_part > 0) {
            _mm256_storeu_ps(part, d[n_whole]);
            for (int l = 0; l < n_part; l++)
                o[8 * n_whole + l] = part[l];
        }
    }
}

/* dst[x] += rows[r][j*ld + ow] for every r < n_rows, kernel column j, ow in its reach, with
 * x = ow*sW + j*dW - pW, in the order of r, then j (g from suite_col2im_phases_init); with
 * fresh, dst[x] = init first, as suite_col2im_gather_f32. */
__attribute__((target("avx2")))
static void suite_col2im_phases_f32(const suite_col2im_phases *g, const float *const *rows,
                                    ptrdiff_t n_rows, float *dst, int fresh, float init)
{
    if (g->sw == 3)
        suite_col2im_phases_body(g, rows, n_rows, dst, fresh, init, 3);
    else
        suite_col2im_phases_body(g, rows, n_rows, dst, fresh, init, 4);
}
#endif

/* A batch of gathered rows by the plan's path (one call: col2im_row, which makes it, stays
 * small enough to be inlined into its row loops). Without AVX2 both inits return 0, and
 * nothing calls this. */
static void suite_col2im_rows_f32(const suite_col2im_columns *columns,
                                  const suite_col2im_phases *phases, int phased,
                                  const float *const *rows, ptrdiff_t n_rows, float *dst,
                                  int fresh, float init)
{
#if defined(SUITE_HAVE_AVX2_DISPATCH)
    if (phased)
        suite_col2im_phases_f32(phases, rows, n_rows, dst, fresh, init);
    else
        suite_col2im_gather_f32(columns, rows, n_rows, dst, fresh, init);
#else
    (void)columns; (void)phases; (void)phased; (void)rows; (void)n_rows; (void)dst;
    (void)fresh; (void)init;
#endif
}

/* Rows written past the cache (docs/performance.md, item 84): n values from src (copy) or
 * of one value (fill) stored to d with non-temporal stores for every whole 64-byte line of
 * d and plain stores for the partial lines at its ends, so that no line is written both
 * ways (a line half streamed, half stored plainly is written back in pieces: item 60).
 * The caller ends its writes with suite_stream_fence(). SSE2 is part of x86-64; elsewhere
 * plain stores. */
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#include <stdint.h>
#define SUITE_STREAM_HEAD(d, size) \
    ((ptrdiff_t) (((64u - ((uintptr_t) (d) & 63u)) & 63u) / (size)))
/* copy: d[i] = src[i]; fill: d[i] = value; 4 stores of a vector of LANES per line */
#define SUITE_STREAM_ROWS(SUFFIX, T, VEC, LANES, LOADU, SET1, STREAM)                       \
static inline void suite_stream_copy_##SUFFIX(T *d, const T *src, ptrdiff_t n)             \
{                                                                                           \
    ptrdiff_t i = 0, head = SUITE_STREAM_HEAD(d, sizeof(T));                               \
    if (head > n)                                                                           \
        head = n;                                                                           \
    for (; i < head; i++)                                                                   \
        d[i] = src[i];                                                                      \
    for (; i + 4 * (LANES) <= n; i += 4 * (LANES))                                          \
        for (int v = 0; v < 4; v++)                                                         \
            STREAM(d + i + v * (LANES), LOADU(src + i + v * (LANES)));                      \
    for (; i < n; i++)                                                                      \
        d[i] = src[i];                                                                      \
}                                                                                           \
static inline void suite_stream_fill_##SUFFIX(T *d, T value, ptrdiff_t n)                  \
{                                                                                           \
    ptrdiff_t i = 0, head = SUITE_STREAM_HEAD(d, sizeof(T));                               \
    VEC all = SET1(value);                                                                  \
    if (head > n)                                                                           \
        head = n;                                                                           \
    for (; i < head; i++)                                                                   \
        d[i] = value;                                                                       \
    for (; i + 4 * (LANES) <= n; i += 4 * (LANES))                                          \
        for (int v = 0; v < 4; v++)                                                         \
            STREAM(d + i + v * (LANES), all);                                               \
    for (; i < n; i++)                                                                      \
        d[i] = value;                                                                       \
}
SUITE_STREAM_ROWS(f32, float, __m128, 4, _mm_loadu_ps, _mm_set1_ps, _mm_stream_ps)
SUITE_STREAM_ROWS(f64, double, __m128d, 2, _mm_loadu_pd, _mm_set1_pd, _mm_stream_pd)
static inline void suite_stream_fence(void) { _mm_sfence(); }
#else
#define SUITE_STREAM_ROWS(SUFFIX, T)                                                        \
static inline void suite_stream_copy_##SUFFIX(T *d, const T *src, ptrdiff_t n)             \
{                                                                                           \
    for (ptrdiff_t i = 0; i < n; i++)                                                       \
        d[i] = src[i];                                                                      \
}                                                                                           \
static inline void suite_stream_fill_##SUFFIX(T *d, T value, ptrdiff_t n)                  \
{                                                                                           \
    for (ptrdiff_t i = 0; i < n; i++)                                                       \
        d[i] = value;                                                                       \
}
SUITE_STREAM_ROWS(f32, float)
SUITE_STREAM_ROWS(f64, double)
static inline void suite_stream_fence(void) {}
#endif

#endif
