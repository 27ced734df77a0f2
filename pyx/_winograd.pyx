"""Winograd F(2x2, 2x2) for phase-decomposed operators whose phases all have 2x2 kernels
of dilation 1 (NCHW): the transposed convolutions of stride 2 with 4x4 kernels, and nearest
x2 upsampling followed by a 3x3 convolution, collapsed.

Holds the weight transform (``winograd_phase_weights``; ``winograd_transformed_weights``
for a layer that keeps every phase's), the input and output transforms and the driver
``winograd_phases``.

Threading: one level of parallelism, on ``n_threads`` OpenMP threads. The weight transform
runs in tasks of output channels; then every task (group, block of tiles, part of the output
channels) runs its transforms and 9 single-threaded BLAS calls on one thread with its own
buffers (the caller holds BLAS at one thread). Blocks depend on the shapes only and every
output element is written once: the results do not depend on the thread count.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from _bias cimport bias_value
from _cython_blas cimport gemm
from _gemm cimport allocate, release
from _openmp_helpers cimport omp_get_thread_num
from _phase_table cimport PhaseRow
from _profile cimport (SUITE_STAGE_GEMM, SUITE_STAGE_WINOGRAD_INPUT, SUITE_STAGE_WINOGRAD_OUTPUT,
                       SUITE_STAGE_WINOGRAD_WEIGHT, TaskIndex, attach_profiler, next_task,
                       suite_profile_call, suite_stage_start, suite_stage_stop, task_index)

attach_profiler()

include "_own_gemm.pxi"

cdef extern from "_sgemm.h" nogil:
    enum: SUITE_SGEMM_WIDE_PACK_M


# Each phase is a stride-1 correlation with a 2x2 kernel g:  y0 = d0 g0 + d1 g1,
# y1 = d1 g0 + d2 g1 along each axis, computed as
#     m0 = (d0 - d1) g0,   m1 = d1 (g0 + g1),   m2 = (d2 - d1) g1,   y0 = m0 + m1, y1 = m1 + m2
# i.e. Y = A^T [(G g G^T) * (B^T d B)] A with B^T = [[1,-1,0],[0,1,0],[0,-1,1]],
# G = [[1,0],[1,1],[0,1]], A^T = [[1,1,0],[0,1,1]]: a 2x2 output tile from a 3x3 input patch
# in 9 multiplications instead of 16. Summed over input channels, the 9 products become 9
# GEMMs (M = C_out/groups, K = C_in/groups, N = tiles). The transforms only add and
# subtract, so the rounding stays that of a few more additions.

cdef inline Py_ssize_t skewed(Py_ssize_t n) noexcept nogil:
    """n rounded up to an odd multiple of 16 values: rows this far apart start in different
    cache sets (a power-of-two stride maps the 9 interleaved streams of a transform onto one
    set of L1, where they evict each other: 13x slower for 1024 channels)."""
    n = (n + 15) // 16 * 16
    if (n // 16) % 2 == 0:
        n += 16
    return n


cdef inline void winograd_rows(const floating* g, floating* dst, Py_ssize_t stride,
                               Py_ssize_t n) noexcept nogil:
    """dst[e*stride + i] = (G g_i G^T)[e] for i < n <= 16, where g_i = (g[i], g[16 + i],
    g[32 + i], g[48 + i]) is a 2x2 kernel (row-major): 16 kernels side by side, computed in
    local rows (which the compiler vectorizes: they alias nothing) and copied out."""
    cdef floating r[9][16]
    cdef Py_ssize_t i, e
    for i in range(16):
        r[0][i] = g[i]
        r[1][i] = g[i] + g[16 + i]
        r[2][i] = g[16 + i]
        r[3][i] = g[i] + g[32 + i]
        r[4][i] = (g[i] + g[16 + i]) + (g[32 + i] + g[48 + i])
        r[5][i] = g[16 + i] + g[48 + i]
        r[6][i] = g[32 + i]
        r[7][i] = g[32 + i] + g[48 + i]
        r[8][i] = g[48 + i]
    if n == 16:
        for e in range(9):
            memcpy(dst + e * stride, &r[e][0], 16 * sizeof(floating))
    else:
        for e in range(9):
            memcpy(dst + e * stride, &r[e][0], n * sizeof(floating))


cdef inline Py_ssize_t winograd_copy_size(Py_ssize_t s_co, Py_ssize_t s_ci,
                                          Py_ssize_t co_block, Py_ssize_t cig,
                                          Py_ssize_t kk) noexcept nogil:
    """Values of winograd_phase_weights' per-thread copy of a task's kernels: only a
    transposed convolution's weight (output channels inner, s_co < s_ci) is copied."""
    return co_block * cig * kk if s_co < s_ci else 0


cdef inline Py_ssize_t winograd_scratch_values(Py_ssize_t s_co, Py_ssize_t s_ci,
                                               Py_ssize_t co_block, Py_ssize_t cig,
                                               Py_ssize_t kk) noexcept nogil:
    """Values of winograd_phase_weights' scratch per thread: the task's copy of the kernels,
    then the rows they are transposed into and the sub-kernels summed from them, then 16
    values no thread writes, so that two threads' sub-kernels and rows, written for every
    tap, never share a cache line (they did: the transform of 128 x 256 x 3x3 took 1.0 ms
    on one thread and 5.1 ms of two threads' time; docs/performance.md, item 92)."""
    return winograd_copy_size(s_co, s_ci, co_block, cig, kk) + 16 * kk + 64 + 16


cdef inline Py_ssize_t winograd_copy_block(Py_ssize_t cig, Py_ssize_t kk,
                                           Py_ssize_t itemsize) noexcept nogil:
    """Output channels per task of winograd_phase_weights: a transposed convolution's
    kernels of the task copied within L2 (suite._workspaces.WINOGRAD_COPY_BYTES)."""
    cdef Py_ssize_t co_block = 16
    while co_block > 1 and co_block * cig * kk * itemsize > 512 * 1024:
        co_block //= 2
    return co_block


cdef void winograd_phase_weights(const floating* weight, Py_ssize_t s_grp, Py_ssize_t s_co,
                                 Py_ssize_t s_ci, Py_ssize_t kk, const Py_ssize_t* taps,
                                 Py_ssize_t n_phases, Py_ssize_t groups, Py_ssize_t cog,
                                 Py_ssize_t cig, floating* u, Py_ssize_t ldu, Py_ssize_t uw,
                                 Py_ssize_t co_block, floating* scratch,
                                 int n_threads) noexcept nogil:
    """The transformed weights of n_phases phases in one sweep over the weight:
    u[(q*groups + grp)*uw + co*9*ldu + e*ldu + ci] = (G g G^T)[e] for phase q's 2x2
    sub-kernel g[t] = the sum of the (grp, co, ci) kernel's values (kk at weight +
    grp*s_grp + co*s_co + ci*s_ci) at the positions taps[(q*4 + t)*kk ...] lists (-1 after
    the last): one tap for a transposed convolution's phase, those a nearest upsampling
    collapses onto one input pixel. scratch per thread: winograd_copy_size(...) + 16*kk +
    64 values.

    Tasks of co_block output channels. Each output channel's 9*n_phases rows are written
    from start to end, 16 input channels at a time: its kernels, 16 at a time, are
    transposed into kk rows of 16 (in L1), the sub-kernels summed and transformed row by
    row. A transposed convolution's weight (C_in, C_out/groups, ...) is first copied for
    the task's output channels in its own order (runs of co_block kernels); a
    convolution's (C_out, C_in/groups, ...) is read in place. (Writing one 16-value piece
    of every row per 16 input channels instead, as the earlier tiles of 16 x 64 channel
    pairs did, cost 9x more than writing the same bytes row by row: 5.2 ms against 0.6 for
    DCGAN-G2's 19 MB; a sweep per phase read the weight once per phase.)"""
    cdef Py_ssize_t task, grp, b0, b1, co, ci, c0, n, q, t, j, i, tap, r_co, r_ci
    cdef Py_ssize_t n_blocks = (cog + co_block - 1) // co_block
    cdef bint ci_major = s_co < s_ci
    cdef Py_ssize_t copy_size = winograd_copy_size(s_co, s_ci, co_block, cig, kk)
    cdef Py_ssize_t per_thread = winograd_scratch_values(s_co, s_ci, co_block, cig, kk)
    cdef const floating* kernel
    cdef const floating* src
    cdef const Py_ssize_t* listed
    cdef floating* dst
    cdef floating* copy
    cdef floating* rows
    cdef floating* g
    cdef int64_t call = suite_profile_call(), t0
    for task in prange(groups * n_blocks, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        copy = scratch + omp_get_thread_num() * per_thread
        rows = copy + copy_size
        g = rows + 16 * kk
        grp = task // n_blocks
        b0 = (task % n_blocks) * co_block
        b1 = min(b0 + co_block, cog)
        for i in range(16 * kk + 64):
            rows[i] = 0
        if ci_major:
            # kernel (ci, co) of the block at copy + ((co - b0)*cig + ci)*kk
            for ci in range(cig):
                for co in range(b0, b1):
                    kernel = weight + grp * s_grp + co * s_co + ci * s_ci
                    dst = copy + ((co - b0) * cig + ci) * kk
                    for t in range(kk):
                        dst[t] = kernel[t]
            src = copy - b0 * cig * kk
            r_co = cig * kk
            r_ci = kk
        else:
            src = weight + grp * s_grp
            r_co = s_co
            r_ci = s_ci
        for co in range(b0, b1):
            for c0 in range(0, cig, 16):
                n = min(16, cig - c0)
                for i in range(n):
                    kernel = src + co * r_co + (c0 + i) * r_ci
                    for t in range(kk):
                        rows[t * 16 + i] = kernel[t]
                dst = u + grp * uw + co * 9 * ldu + c0
                for q in range(n_phases):
                    for t in range(4):
                        listed = taps + (q * 4 + t) * kk
                        for i in range(16):
                            g[t * 16 + i] = 0
                        for j in range(kk):
                            tap = listed[j]
                            if tap < 0:
                                break
                            for i in range(16):
                                g[t * 16 + i] = g[t * 16 + i] + rows[tap * 16 + i]
                    winograd_rows(g, dst + q * groups * uw, ldu, n)
        suite_stage_stop(call, SUITE_STAGE_WINOGRAD_WEIGHT, t0)


cdef inline void winograd_input(const floating* x_group, Py_ssize_t in_image,
                                Py_ssize_t cig, Py_ssize_t height, Py_ssize_t width,
                                Py_ssize_t row0, Py_ssize_t n_rows, Py_ssize_t tiles_h,
                                Py_ssize_t tiles_w, Py_ssize_t pad_h, Py_ssize_t pad_w,
                                floating* rows, floating* v, Py_ssize_t ld) noexcept nogil:
    """v[ci, e, j] = (B^T d B)[e] (e ld apart) for the 3x3 patch d of the j-th tile of tile
    rows row0 .. row0 + n_rows (tile row r: image r // tiles_h, row r % tiles_h), zero
    outside the map. The three input rows a tile row reads are first copied, zero-padded,
    into rows (3 x (2*tiles_w + 1)), so the loop over the tiles has no branch."""
    cdef Py_ssize_t ci, r, n, ty, y, a, c, tx, lo, hi, j, span = 2 * tiles_w + 1
    cdef TaskIndex at
    cdef Py_ssize_t plane = height * width
    cdef const floating* src
    cdef floating* dst
    cdef floating* r0 = rows
    cdef floating* r1 = rows + span
    cdef floating* r2 = rows + 2 * span
    cdef floating d00, d01, d02, d10, d11, d12, d20, d21, d22
    cdef floating c00, c01, c02, c10, c11, c12, c20, c21, c22
    # columns c of a padded row hold x[.., c - pad_w]: valid for lo <= c < hi
    lo = min(max(pad_w, 0), span)
    hi = min(max(width + pad_w, lo), span)
    for ci in range(cig):
        # (image, tile row) of row0, then counted on (item 58); no more images than rows
        at = task_index(row0, row0 + n_rows, tiles_h)
        for r in range(n_rows):
            n = at.c
            ty = at.i
            at = next_task(at, row0 + n_rows, tiles_h)
            src = x_group + n * in_image + ci * plane
            for a in range(3):
                y = 2 * ty - pad_h + a
                dst = rows + a * span
                if y < 0 or y >= height:
                    for c in range(span):
                        dst[c] = 0
                else:
                    for c in range(lo):
                        dst[c] = 0
                    memcpy(dst + lo, src + y * width + lo - pad_w,
                           (hi - lo) * sizeof(floating))
                    for c in range(hi, span):
                        dst[c] = 0
            dst = v + ci * 9 * ld + r * tiles_w
            for tx in range(tiles_w):
                j = 2 * tx
                d00 = r0[j]
                d01 = r0[j + 1]
                d02 = r0[j + 2]
                d10 = r1[j]
                d11 = r1[j + 1]
                d12 = r1[j + 2]
                d20 = r2[j]
                d21 = r2[j + 1]
                d22 = r2[j + 2]
                c00 = d00 - d10
                c01 = d01 - d11
                c02 = d02 - d12
                c20 = d20 - d10
                c21 = d21 - d11
                c22 = d22 - d12
                dst[tx] = c00 - c01
                dst[ld + tx] = c01
                dst[2 * ld + tx] = c02 - c01
                dst[3 * ld + tx] = d10 - d11
                dst[4 * ld + tx] = d11
                dst[5 * ld + tx] = d12 - d11
                dst[6 * ld + tx] = c20 - c21
                dst[7 * ld + tx] = c21
                dst[8 * ld + tx] = c22 - c21


cdef inline void winograd_output(const floating* m, Py_ssize_t ld, Py_ssize_t cog,
                                 Py_ssize_t row0, Py_ssize_t n_rows, Py_ssize_t tiles_h,
                                 Py_ssize_t tiles_w, Py_ssize_t qh, Py_ssize_t qw,
                                 const floating* bias, floating* out, Py_ssize_t out_image,
                                 Py_ssize_t out_w, Py_ssize_t plane, Py_ssize_t first_h,
                                 Py_ssize_t first_w, Py_ssize_t sh,
                                 Py_ssize_t sw) noexcept nogil:
    """The phase's outputs of tile rows row0 .. row0 + n_rows: A^T m A + bias (m[co, e, j],
    e ld apart), written where the tiles' 2x2 outputs fall inside the phase (qh x qw)."""
    cdef Py_ssize_t co, r, n, oy, tx, full = qw // 2
    cdef TaskIndex at
    cdef floating value, s0, s1, s2, t0, t1, t2
    cdef const floating* src
    cdef floating* dst0
    cdef floating* dst1
    cdef bint two_rows
    for co in range(cog):
        value = bias_value(bias, co)
        at = task_index(row0, row0 + n_rows, tiles_h)     # as in winograd_input
        for r in range(n_rows):
            n = at.c
            oy = 2 * at.i
            at = next_task(at, row0 + n_rows, tiles_h)
            two_rows = oy + 1 < qh
            src = m + co * 9 * ld + r * tiles_w
            dst0 = out + n * out_image + co * plane + (first_h + sh * oy) * out_w + first_w
            dst1 = dst0 + sh * out_w
            for tx in range(tiles_w):
                s0 = src[tx] + src[3 * ld + tx]
                s1 = src[ld + tx] + src[4 * ld + tx]
                s2 = src[2 * ld + tx] + src[5 * ld + tx]
                t0 = src[3 * ld + tx] + src[6 * ld + tx]
                t1 = src[4 * ld + tx] + src[7 * ld + tx]
                t2 = src[5 * ld + tx] + src[8 * ld + tx]
                dst0[2 * tx * sw] = s0 + s1 + value
                if tx < full:
                    dst0[(2 * tx + 1) * sw] = s1 + s2 + value
                if two_rows:
                    dst1[2 * tx * sw] = t0 + t1 + value
                    if tx < full:
                        dst1[(2 * tx + 1) * sw] = t1 + t2 + value


cdef inline void winograd_part(const floating* u_part, Py_ssize_t ldu, const floating* v,
                               Py_ssize_t ld, floating* m, Py_ssize_t n_co, Py_ssize_t nt,
                               Py_ssize_t cig, Py_ssize_t row0, Py_ssize_t n_rows,
                               Py_ssize_t tiles_h, Py_ssize_t tiles_w, Py_ssize_t qh,
                               Py_ssize_t qw, const floating* bias, floating* out,
                               Py_ssize_t out_image, Py_ssize_t out_w, Py_ssize_t plane,
                               Py_ssize_t first_h, Py_ssize_t first_w, Py_ssize_t sh,
                               Py_ssize_t sw, int64_t call) noexcept nogil:
    """n_co output channels of one block of one phase: the 9 GEMMs m[co, e] = u_part[co, e]
    v[e] (u_part's rows 9*ldu apart, v's and m's 9*ld), then the output transform into out
    (the first of the channels) plus bias (or NULL); each a stage of ``call``."""
    cdef Py_ssize_t e
    cdef floating one = 1, zero = 0
    cdef bint own
    cdef int64_t t0 = suite_stage_start(call)
    # suite's own kernel only where it copies v's rows into panels (n_co >= 96): reading
    # them where they lie (9 products interleaved, rows pages apart) it ran 1.05-1.5x slower
    # than OpenBLAS below (nearest x2 + 3x3 to 1-48 channels), 1.14-1.28x faster above.
    own = n_co >= SUITE_SGEMM_WIDE_PACK_M
    for e in range(9):
        gemm(False, False, <int> n_co, <int> nt, <int> cig, one, u_part + e * ldu,
             <int> (9 * ldu), v + e * ld, <int> (9 * ld), zero, m + e * ld, <int> (9 * ld),
             own)
    suite_stage_stop(call, SUITE_STAGE_GEMM, t0)
    t0 = suite_stage_start(call)
    winograd_output(m, ld, n_co, row0, n_rows, tiles_h, tiles_w, qh, qw, bias, out,
                    out_image, out_w, plane, first_h, first_w, sh, sw)
    suite_stage_stop(call, SUITE_STAGE_WINOGRAD_OUTPUT, t0)


def winograd_transformed_weights(const floating[::1] weight,
                                 (Py_ssize_t, Py_ssize_t, Py_ssize_t) kernel_strides,
                                 const Py_ssize_t[:, :, ::1] taps, Py_ssize_t groups,
                                 Py_ssize_t cog, Py_ssize_t cig, floating[::1] u,
                                 int n_threads):
    """u = the transformed weights of every phase, laid out as winograd_phases reads them
    (phase q's group grp at (q*groups + grp) * suite._plan.winograd_phase_values(cig, cog,
    1)), for a layer that keeps them: winograd_phases(..., transformed=u) then skips the
    transform. weight, kernel_strides and taps as winograd_phases takes them; u has
    taps.shape[0] * winograd_phase_values(cig, cog, groups) values (its pitch padding is
    left as it is: no GEMM reads it)."""
    cdef Py_ssize_t kk = taps.shape[2], P = taps.shape[0]
    cdef Py_ssize_t ldu = skewed(cig), uw = skewed(9 * cog * ldu)
    cdef Py_ssize_t co_block = winograd_copy_block(cig, kk, sizeof(floating))
    cdef floating* scratch = NULL
    if u.shape[0] != P * groups * uw:
        raise ValueError(f"u must have {P * groups * uw} values, got {u.shape[0]}")
    if P == 0 or cog == 0 or cig == 0:
        return
    try:
        scratch = allocate(n_threads * winograd_scratch_values(kernel_strides[1],
                                                               kernel_strides[2], co_block,
                                                               cig, kk), scratch)
        with nogil:
            winograd_phase_weights(&weight[0], kernel_strides[0], kernel_strides[1],
                                   kernel_strides[2], kk, &taps[0, 0, 0], P, groups, cog,
                                   cig, &u[0], ldu, uw, co_block, scratch, n_threads)
    finally:
        release(scratch)


def winograd_phases(const floating[:, :, :, ::1] x, const floating[::1] weight,
                    (Py_ssize_t, Py_ssize_t, Py_ssize_t) kernel_strides,
                    const Py_ssize_t[:, :, ::1] taps, const floating[::1] bias,
                    floating[:, :, :, ::1] out, const Py_ssize_t[:, ::1] phases_h,
                    const Py_ssize_t[:, ::1] phases_w, Py_ssize_t groups,
                    (Py_ssize_t, Py_ssize_t, Py_ssize_t) blocking, int n_threads,
                    const floating[::1] transformed=None):
    """out = bias + the phase-decomposed operator (as phase_correlation) where every phase
    has a 2x2 kernel of dilation 1, by Winograd F(2x2, 2x2).

    transformed: every phase's transformed weights (winograd_transformed_weights of the
    same weight and taps), kept by a layer; the kernel then runs all phases in one pass and
    does not read weight. None: the kernel transforms weight pass by pass.

    weight: the layer's weights, flat; the (grp, co, ci) kernel of kk = taps.shape[2]
    values starts at grp*s_grp + co*s_co + ci*s_ci, kernel_strides = (s_grp, s_co, s_ci).
    taps (phases, 4, kk): the kernel positions each phase's 2x2 sub-kernel sums, -1 after
    the last (winograd_phase_weights). blocking = (block, co_parts, phases_per_pass), as
    suite._plan.winograd_blocking returns it.

    Passes of ``phases_per_pass`` phases: the pass's transformed weights in one sweep over
    the weight (one buffer, 9/4 of the pass's sub-kernels), then its tile rows (2x2
    outputs per tile, over all images) cut into blocks of about ``block`` tiles and the
    group's output channels into ``co_parts`` parts, each (group, block, part) one task on
    one thread with its own buffers that runs, phase after phase of the pass: input
    transform of the block, 9 single-threaded GEMMs for the part's channels, output
    transform into the phase's positions. (The block's phases interleave in the same
    output lines, which stay in cache from one phase to the next.) With parts (layers with
    too few tiles to give every thread a block), each block's input transform is first
    split over the threads by input channels into one shared buffer, then the parts run
    their GEMMs and output transforms on it. Every output element is written exactly once;
    blocks depend on the shapes only, so the result does not depend on the thread count.
    """
    cdef Py_ssize_t s_grp = kernel_strides[0], s_co = kernel_strides[1]
    cdef Py_ssize_t s_ci = kernel_strides[2]
    cdef Py_ssize_t block = blocking[0], co_parts = blocking[1], phases_per_pass = blocking[2]
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t sh = phases_h.shape[0], sw = phases_w.shape[0], P = sh * sw
    cdef const PhaseRow* table_h = <const PhaseRow*> &phases_h[0, 0]
    cdef const PhaseRow* table_w = <const PhaseRow*> &phases_w[0, 0]
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, kk = taps.shape[2]
    cdef Py_ssize_t in_image = c_in * height * width, out_image = c_out * out_h * out_w
    cdef Py_ssize_t plane = out_h * out_w, max_tw = 0, max_th = 0, rows_per_block
    cdef Py_ssize_t n_blocks, task, grp, p, rh, rw, blk, qh, qw, tiles_w, tiles_h, row0
    cdef Py_ssize_t n_rows, nt, tid, ldu = skewed(cig), uw = skewed(9 * cog * ldu), max_nt
    cdef Py_ssize_t span, rows_pitch, p0, n_pass, c0, c1, co_block
    cdef Py_ssize_t ld, co0, n_co, co_per_part = (cog + co_parts - 1) // co_parts
    cdef const floating* u = NULL
    cdef floating* u_owned = NULL
    cdef floating* v = NULL
    cdef floating* m = NULL
    cdef floating* rows = NULL
    cdef floating* scratch = NULL
    cdef floating* v_t
    cdef floating* m_t
    cdef const floating* b_ptr = NULL
    cdef int64_t call = suite_profile_call(), t0
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    for rh in range(sh):
        max_th = max(max_th, (table_h[rh].count + 1) // 2)
    for rw in range(sw):
        max_tw = max(max_tw, (table_w[rw].count + 1) // 2)
    if max_th * max_tw == 0:
        return
    phases_per_pass = max(1, min(phases_per_pass, P))
    if transformed is not None:
        if transformed.shape[0] != P * groups * uw:
            raise ValueError(f"transformed must have {P * groups * uw} values, got "
                             f"{transformed.shape[0]}")
        phases_per_pass = P
        u = &transformed[0]
    co_block = winograd_copy_block(cig, kk, sizeof(floating))
    rows_per_block = max(1, block // max_tw)
    n_blocks = (N * max_th + rows_per_block - 1) // rows_per_block
    max_nt = skewed(rows_per_block * max_tw)
    span = 2 * max_tw + 1
    # each thread's three input rows on cache lines of their own (whole lines apart, one
    # spare): on small maps they are a few values, and threads writing into one line made
    # the input transform 2.7x slower a channel at two threads than at one
    rows_pitch = (3 * span + 15) // 16 * 16 + 16
    try:    # sizes restated in suite._workspaces.winograd_workspace
        v = allocate(n_threads * 9 * cig * max_nt, v)
        m = allocate(n_threads * 9 * cog * max_nt, v)
        rows = allocate(n_threads * rows_pitch, v)
        if transformed is None:
            u_owned = allocate(phases_per_pass * groups * uw, v)
            u = u_owned
            scratch = allocate(n_threads * winograd_scratch_values(s_co, s_ci, co_block, cig,
                                                                   kk), v)
        with nogil:
            p0 = 0
            while p0 < P:
                n_pass = min(phases_per_pass, P - p0)
                if u_owned != NULL:
                    winograd_phase_weights(&weight[0], s_grp, s_co, s_ci, kk,
                                           &taps[p0, 0, 0], n_pass, groups, cog, cig, u_owned,
                                           ldu, uw, co_block, scratch, n_threads)
                if co_parts > 1:
                    # few blocks (fewer than threads): per block and phase, the input
                    # transform split over the threads by input channels, then the output
                    # channels' parts (as the tasks below, without repeating the transform)
                    for p in range(p0, p0 + n_pass):
                        rh = p // sw
                        rw = p % sw
                        qh = table_h[rh].count
                        qw = table_w[rw].count
                        tiles_h = (qh + 1) // 2
                        tiles_w = (qw + 1) // 2
                        if tiles_w == 0:
                            continue
                        for grp in range(groups):
                            for blk in range(n_blocks):
                                row0 = blk * rows_per_block
                                if row0 >= N * tiles_h:
                                    continue
                                n_rows = min(rows_per_block, N * tiles_h - row0)
                                nt = n_rows * tiles_w
                                ld = skewed(nt)
                                for task in prange(n_threads, schedule="static",
                                                   num_threads=n_threads):
                                    c0 = task * cig // n_threads
                                    c1 = (task + 1) * cig // n_threads
                                    if c1 > c0:
                                        t0 = suite_stage_start(call)
                                        winograd_input(&x[0, grp * cig + c0, 0, 0], in_image,
                                                       c1 - c0, height, width, row0, n_rows,
                                                       tiles_h, tiles_w, table_h[rh].pad,
                                                       table_w[rw].pad,
                                                       rows + omp_get_thread_num() * rows_pitch,
                                                       v + c0 * 9 * ld, ld)
                                        suite_stage_stop(call, SUITE_STAGE_WINOGRAD_INPUT, t0)
                                for task in prange(co_parts, schedule="static",
                                                   num_threads=n_threads):
                                    co0 = task * co_per_part
                                    n_co = min(co_per_part, cog - co0)
                                    if n_co <= 0:
                                        continue
                                    winograd_part(
                                        u + ((p - p0) * groups + grp) * uw + co0 * 9 * ldu,
                                        ldu, v, ld,
                                        m + omp_get_thread_num() * 9 * cog * max_nt, n_co, nt,
                                        cig, row0, n_rows, tiles_h, tiles_w, qh, qw,
                                        NULL if b_ptr == NULL else b_ptr + grp * cog + co0,
                                        &out[0, grp * cog + co0, 0, 0], out_image, out_w,
                                        plane, table_h[rh].first_out,
                                        table_w[rw].first_out, sh, sw, call)
                else:
                    for task in prange(groups * n_blocks, schedule="static",
                                       num_threads=n_threads):
                        grp = task // n_blocks
                        row0 = (task % n_blocks) * rows_per_block
                        tid = omp_get_thread_num()
                        v_t = v + tid * 9 * cig * max_nt
                        m_t = m + tid * 9 * cog * max_nt
                        for p in range(p0, p0 + n_pass):
                            rh = p // sw
                            rw = p % sw
                            qh = table_h[rh].count
                            qw = table_w[rw].count
                            tiles_h = (qh + 1) // 2
                            tiles_w = (qw + 1) // 2
                            if tiles_w == 0 or row0 >= N * tiles_h:
                                continue
                            n_rows = min(rows_per_block, N * tiles_h - row0)
                            nt = n_rows * tiles_w
                            ld = skewed(nt)
                            t0 = suite_stage_start(call)
                            winograd_input(&x[0, grp * cig, 0, 0], in_image, cig, height,
                                           width, row0, n_rows, tiles_h, tiles_w,
                                           table_h[rh].pad, table_w[rw].pad,
                                           rows + tid * rows_pitch, v_t, ld)
                            suite_stage_stop(call, SUITE_STAGE_WINOGRAD_INPUT, t0)
                            winograd_part(u + ((p - p0) * groups + grp) * uw, ldu, v_t, ld,
                                          m_t, cog, nt, cig, row0, n_rows, tiles_h, tiles_w,
                                          qh, qw, NULL if b_ptr == NULL else b_ptr + grp * cog,
                                          &out[0, grp * cog, 0, 0], out_image, out_w, plane,
                                          table_h[rh].first_out, table_w[rw].first_out, sh, sw,
                                          call)
                p0 += n_pass
    finally:
        release(u_owned)
        release(v)
        release(m)
        release(rows)
        release(scratch)
