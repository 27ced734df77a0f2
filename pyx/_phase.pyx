"""Phase-decomposed operators (NCHW): a transposed convolution split into its stride's
sub-pixel phases, or a nearest upsampling followed by a convolution with the kernels
collapsed per phase; each phase is a stride-1 correlation run as im2col + GEMM.

Holds the packing of the phases' sub-kernels (``pack_deconv_phase_weights``,
``pack_collapsed_weights``) and the correlation itself (``phase_correlation``). The phase
tables (``suite.geometry.phase_table``) are read row by row as ``PhaseRow`` structs
(``_phase_table.pxd``; ``phase_row_fields`` lists their fields).

Threading: one level of parallelism, on ``n_threads`` OpenMP threads. Either independent
tasks of (image batch, group, phase), each running its im2col, a single-threaded BLAS call
and its writes on one thread, or, with too few tasks, each phase's im2col and writes parallel
over (image, channel, row) and its GEMM split into blocks, one single-threaded BLAS call per
block (the caller holds BLAS at one thread). Which of the two, and the blocks, follow the
planning width (``_openmp_helpers.pxd``), not the call's threads; every output element is
written by one thread in a fixed order: the results do not depend on the thread count.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from _bias cimport bias_value
from _columns cimport Window, im2col_images, im2col_planes, make_window
from _cython_blas cimport gemm
from _gemm cimport allocate, release, parallel_gemm
from _openmp_helpers cimport omp_get_thread_num, suite_planning_width
from _phase_table cimport PhaseRow
from _profile cimport (SUITE_STAGE_GEMM, SUITE_STAGE_IM2COL, SUITE_STAGE_PHASE_WRITE,
                       SUITE_STAGE_WEIGHT_PACK, TaskIndex, attach_profiler, next_task,
                       part_start, parts_for, suite_profile_call, suite_stage_start,
                       suite_stage_stop, task_index)

attach_profiler()
suite_planning_width()   # the planning width read at import, as in every module that plans


include "_own_gemm.pxi"


def phase_row_fields():
    """The fields of PhaseRow, in order: the columns the kernels read from a phase table
    (must equal suite.geometry.PHASE_COLUMNS)."""
    cdef PhaseRow row
    memset(&row, 0, sizeof(row))
    return tuple(row)   # the struct as a dict, in declaration order


cdef inline void scatter_row(const floating* y, Py_ssize_t ld_y, Py_ssize_t q_h,
                             Py_ssize_t q_w, const floating* bias, floating* out,
                             Py_ssize_t image_stride, Py_ssize_t out_w, Py_ssize_t out_plane,
                             Py_ssize_t first_h, Py_ssize_t first_w, Py_ssize_t sh,
                             Py_ssize_t sw, Py_ssize_t n, Py_ssize_t c,
                             Py_ssize_t t) noexcept nogil:
    """Row t of channel c, image n of a phase: out[.., first_h + sh*t, first_w + sw*u] =
    y[c, n*q_h*q_w + t*q_w + u] + bias[c] (y NULL: the bias, or zero)."""
    cdef Py_ssize_t u
    cdef const floating* src
    cdef floating* dst = out + n * image_stride + c * out_plane + (first_h + sh * t) * out_w + first_w
    cdef floating value = bias_value(bias, c)
    if y == NULL:
        for u in range(q_w):
            dst[u * sw] = value
    else:
        src = y + c * ld_y + n * q_h * q_w + t * q_w
        for u in range(q_w):
            dst[u * sw] = src[u] + value


cdef void scatter_phase(const floating* y, Py_ssize_t ld_y, Py_ssize_t n_images,
                        Py_ssize_t channels, Py_ssize_t q_h, Py_ssize_t q_w,
                        const floating* bias, floating* out, Py_ssize_t image_stride,
                        Py_ssize_t out_w, Py_ssize_t out_plane, Py_ssize_t first_h,
                        Py_ssize_t first_w, Py_ssize_t sh, Py_ssize_t sw,
                        int n_threads) noexcept nogil:
    """Every row of a phase (scatter_row), parallel over (image, channel, row); each
    thread's share is one "phase write" stage."""
    cdef Py_ssize_t task, part
    cdef TaskIndex k
    cdef Py_ssize_t total = n_images * channels * q_h, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    for part in prange(parts, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        k = task_index(part_start(part, parts, total), channels, q_h)
        for task in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
            scatter_row(y, ld_y, q_h, q_w, bias, out, image_stride, out_w, out_plane,
                        first_h, first_w, sh, sw, k.n, k.c, k.i)
            k = next_task(k, channels, q_h)
        suite_stage_stop(call, SUITE_STAGE_PHASE_WRITE, t0)


cdef void phase_task(const floating* x, Py_ssize_t in_image, Py_ssize_t n_images,
                     Py_ssize_t channels, Py_ssize_t height, Py_ssize_t width,
                     const Window* g, const floating* w, Py_ssize_t m, Py_ssize_t k,
                     floating* col, floating* y, const floating* bias, floating* out,
                     Py_ssize_t out_image, Py_ssize_t out_w, Py_ssize_t out_plane,
                     Py_ssize_t first_h, Py_ssize_t first_w, Py_ssize_t sh,
                     Py_ssize_t sw, int64_t call) noexcept nogil:
    """One phase of one group for a batch of images, on the calling thread alone: im2col,
    a single-threaded GEMM, and the phase's rows written with the bias (each a stage of
    ``call``)."""
    cdef Py_ssize_t q = g.col_h * g.col_w, ld = n_images * q, n, c, t
    cdef floating one = 1, zero = 0
    cdef const floating* result = NULL
    cdef int64_t t0
    if k > 0:
        t0 = suite_stage_start(call)
        for n in range(n_images):
            im2col_planes(x + n * in_image, channels, height, width, g, col + n * q, ld)
        suite_stage_stop(call, SUITE_STAGE_IM2COL, t0)
        t0 = suite_stage_start(call)
        gemm(False, False, <int> m, <int> ld, <int> k, one, w, <int> k, col, <int> ld,
             zero, y, <int> ld)
        suite_stage_stop(call, SUITE_STAGE_GEMM, t0)
        result = y
    t0 = suite_stage_start(call)
    for n in range(n_images):
        for c in range(m):
            for t in range(g.col_h):
                scatter_row(result, ld, g.col_h, g.col_w, bias, out, out_image, out_w,
                            out_plane, first_h, first_w, sh, sw, n, c, t)
    suite_stage_stop(call, SUITE_STAGE_PHASE_WRITE, t0)


def pack_deconv_phase_weights(const floating[:, :, :, ::1] weight,
                              const Py_ssize_t[:, ::1] phases_h,
                              const Py_ssize_t[:, ::1] phases_w,
                              Py_ssize_t step_h, Py_ssize_t step_w, Py_ssize_t groups,
                              floating[::1] packed, int n_threads):
    """Sub-kernels of a transposed convolution for :func:`phase_correlation`.

    For group grp and phase (rh, rw), in that order, a row-major (C_out/groups) x
    (C_in/groups * th * tw) matrix; the taps are flipped so that each phase is a plain
    correlation (im2col tap a reads kernel row first + (th - 1 - a)*step).
    weight (C_in, C_out/groups, kh, kw); packed has C_in*C_out/groups*kh*kw values.
    One task per group and block of 16 input channels: it walks the output channels, reading
    16 kernels in step (16 sequential streams through the weight) and writing each phase's
    16 consecutive entries for them.
    """
    cdef Py_ssize_t cig = weight.shape[0] // groups, cog = weight.shape[1]
    cdef Py_ssize_t sh = phases_h.shape[0], sw = phases_w.shape[0]
    cdef const PhaseRow* table_h = <const PhaseRow*> &phases_h[0, 0]
    cdef const PhaseRow* table_w = <const PhaseRow*> &phases_w[0, 0]
    cdef Py_ssize_t per_group = 0, task, grp, rh, rw, th, tw, co, ci, a, b, c0, c1, p, n_taps
    cdef Py_ssize_t n_blocks = (cig + 15) // 16, kw = weight.shape[3]
    cdef Py_ssize_t kk = weight.shape[2] * kw
    cdef Py_ssize_t* offsets = <Py_ssize_t*> malloc(sh * sw * sizeof(Py_ssize_t))
    cdef Py_ssize_t* taps = <Py_ssize_t*> malloc(sh * sw * kk * sizeof(Py_ssize_t))
    cdef Py_ssize_t* counts = <Py_ssize_t*> malloc(sh * sw * sizeof(Py_ssize_t))
    cdef const floating* src
    cdef floating* dst
    cdef int64_t call = suite_profile_call(), t0
    if offsets == NULL or taps == NULL or counts == NULL:
        free(offsets)
        free(taps)
        free(counts)
        raise MemoryError()
    try:
        for rh in range(sh):
            for rw in range(sw):
                offsets[rh * sw + rw] = per_group
                counts[rh * sw + rw] = table_h[rh].taps * table_w[rw].taps
                per_group += cog * cig * counts[rh * sw + rw]
        if per_group == 0:
            return
        # where tap (a, b) of each phase sits in a (kh x kw) kernel
        for rh in range(sh):
            for rw in range(sw):
                th = table_h[rh].taps
                tw = table_w[rw].taps
                for a in range(th):
                    for b in range(tw):
                        taps[(rh * sw + rw) * kk + a * tw + b] = (
                            (table_h[rh].first + (th - 1 - a) * step_h) * kw
                            + table_w[rw].first + (tw - 1 - b) * step_w)
        with nogil:
            for task in prange(groups * n_blocks, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                grp = task // n_blocks
                c0 = (task % n_blocks) * 16
                c1 = min(c0 + 16, cig)
                for co in range(cog):
                    for ci in range(c0, c1):
                        src = &weight[grp * cig + ci, co, 0, 0]
                        for p in range(sh * sw):
                            # the phase's taps counted once (two divisions a kernel and
                            # phase made the pack of 256 x 256 x 3x3 at stride 4 take 3.8 ms)
                            n_taps = counts[p]
                            dst = (&packed[0] + grp * per_group + offsets[p]
                                   + (co * cig + ci) * n_taps)
                            for a in range(n_taps):
                                dst[a] = src[taps[p * kk + a]]
                suite_stage_stop(call, SUITE_STAGE_WEIGHT_PACK, t0)
    finally:
        free(offsets)
        free(taps)
        free(counts)


def pack_collapsed_weights(const floating[:, :, :, ::1] weight,
                           const Py_ssize_t[:, ::1] tap_h, const Py_ssize_t[::1] taps_h,
                           const Py_ssize_t[:, ::1] tap_w, const Py_ssize_t[::1] taps_w,
                           Py_ssize_t groups, floating[::1] packed, int n_threads):
    """Collapsed sub-kernels of nearest upsampling + convolution for phase_correlation.

    weight (C_out, C_in/groups, kh, kw). For group grp and phase (rh, rw), in that order, a
    row-major (C_out/groups) x (C_in/groups * taps_h[rh] * taps_w[rw]) matrix whose entry
    (co, ci, a, b) sums the kernel taps (i, j) with tap_h[rh, i] == a and tap_w[rw, j] == b:
    the taps that land on the same input pixel.
    """
    cdef Py_ssize_t c_out = weight.shape[0], cig = weight.shape[1]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], cog = c_out // groups
    cdef Py_ssize_t sh = taps_h.shape[0], sw = taps_w.shape[0], kk = kh * kw, phases = sh * sw
    cdef Py_ssize_t task, grp, co, ci, rh, rw, i, j, p, t, th, tw, e, u, pos, per_group = 0
    cdef Py_ssize_t most = 0             # the most entries a phase has (can exceed kk)
    cdef Py_ssize_t* phase_at = NULL     # per phase: where its matrix starts in a group's part
    cdef Py_ssize_t* phase_taps = NULL   # per phase: th * tw
    cdef Py_ssize_t* dst = NULL          # per phase and kernel tap (i, j): its entry's index
    cdef Py_ssize_t* order = NULL        # per phase: the kernel taps by entry, then tap order
    cdef Py_ssize_t* first = NULL        # per phase and entry (most + 1 a phase): where its
                                         # taps start in order
    cdef const floating* src
    cdef const Py_ssize_t* taps_of
    cdef const Py_ssize_t* starts
    cdef floating* block
    cdef floating* scratch = NULL    # per thread: the tap rows and the entries' sums
    cdef floating* rows
    cdef floating* sums
    cdef floating* acc_row
    cdef const floating* tap_row
    cdef int64_t call = suite_profile_call(), t0
    if packed.shape[0] == 0:
        return
    phase_at = <Py_ssize_t*> malloc(phases * sizeof(Py_ssize_t))
    phase_taps = <Py_ssize_t*> malloc(phases * sizeof(Py_ssize_t))
    dst = <Py_ssize_t*> malloc(phases * kk * sizeof(Py_ssize_t))
    order = <Py_ssize_t*> malloc(phases * kk * sizeof(Py_ssize_t))
    for rh in range(sh):
        for rw in range(sw):
            most = max(most, taps_h[rh] * taps_w[rw])
    first = <Py_ssize_t*> malloc(phases * (most + 1) * sizeof(Py_ssize_t))
    try:
        if (phase_at == NULL or phase_taps == NULL or dst == NULL or order == NULL
                or first == NULL):
            raise MemoryError()
        for rh in range(sh):
            for rw in range(sw):
                p = rh * sw + rw
                th = taps_h[rh]
                tw = taps_w[rw]
                phase_at[p] = per_group
                phase_taps[p] = th * tw
                per_group += cog * cig * th * tw
                for i in range(kh):
                    for j in range(kw):
                        dst[p * kk + i * kw + j] = tap_h[rh, i] * tw + tap_w[rw, j]
                # each entry's taps, in tap order
                pos = 0
                for e in range(th * tw):
                    first[p * (most + 1) + e] = pos
                    for t in range(kk):
                        if dst[p * kk + t] == e:
                            order[p * kk + pos] = t
                            pos += 1
                first[p * (most + 1) + th * tw] = pos
        # per thread its rows and sums, then 16 values no thread writes: two threads' sums,
        # written for every tap, never share a cache line (docs/performance.md, item 92)
        scratch = <floating*> malloc(n_threads * ((kk + most) * cig + 16) * sizeof(floating))
        if scratch == NULL:
            raise MemoryError()
        with nogil:
            # One task per output channel: each input channel's kernel is read once, and
            # every phase's entry is summed from zero in tap order (as the definition sums
            # them) and written once (adding each tap into the packed entry in memory made
            # every addition wait for the last one's store: docs/performance.md, item 61).
            # Across input channels (item 77): the output channel's kernels transposed to
            # tap-major rows of C_in/groups values in the thread's scratch, each phase's
            # entries summed a row of input channels at a time (vectors; the same additions
            # in the same order), then written in the packed order.
            for task in prange(c_out, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                grp = task // cog
                co = task - grp * cog
                rows = scratch + omp_get_thread_num() * ((kk + most) * cig + 16)
                sums = rows + kk * cig
                src = &weight[task, 0, 0, 0]
                for ci in range(cig):
                    for t in range(kk):
                        rows[t * cig + ci] = src[ci * kk + t]
                for p in range(phases):
                    taps_of = order + p * kk
                    starts = first + p * (most + 1)
                    for e in range(phase_taps[p]):
                        acc_row = sums + e * cig
                        for ci in range(cig):
                            acc_row[ci] = 0
                        for u in range(starts[e], starts[e + 1]):
                            tap_row = rows + taps_of[u] * cig
                            for ci in range(cig):
                                acc_row[ci] = acc_row[ci] + tap_row[ci]
                    block = (&packed[0] + grp * per_group + phase_at[p]
                             + co * cig * phase_taps[p])
                    for ci in range(cig):
                        for e in range(phase_taps[p]):
                            block[ci * phase_taps[p] + e] = sums[e * cig + ci]
                suite_stage_stop(call, SUITE_STAGE_WEIGHT_PACK, t0)
    finally:
        free(phase_at)
        free(phase_taps)
        free(dst)
        free(order)
        free(first)
        free(scratch)


def phase_correlation(const floating[:, :, :, ::1] x, const floating[::1] packed_w,
                      const floating[::1] bias, floating[:, :, :, ::1] out,
                      const Py_ssize_t[:, ::1] phases_h, const Py_ssize_t[:, ::1] phases_w,
                      Py_ssize_t dil_h, Py_ssize_t dil_w, Py_ssize_t groups,
                      Py_ssize_t images_per_gemm, int n_threads):
    """out = bias + the phase-decomposed operator: sub-pixel transposed convolution, or a
    nearest upsampling followed by a convolution with collapsed kernels.

    The output splits into len(phases_h) x len(phases_w) phases (the stride, or the scale);
    output row first_out + t*len(phases_h) belongs to phase r of phases_h. Each phase is a
    stride-1 correlation of x with its own sub-kernel: an im2col of x (kernel th x tw,
    dilation dil, padding pad), one GEMM per group (M = C_out/groups, N = images*count_h*
    count_w, K = C_in/groups*th*tw), and one write of the result with the bias into the
    phase's output positions. Every output element is written exactly once.

    phases_h[r] is read as a PhaseRow (taps th, -, pad, count, first_out); phases_w likewise.
    packed_w holds, for each group and phase in (group, rh, rw) order, a row-major
    (C_out/groups) x (C_in/groups*th*tw) matrix.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t sh = phases_h.shape[0], sw = phases_w.shape[0]
    cdef const PhaseRow* table_h = <const PhaseRow*> &phases_h[0, 0]
    cdef const PhaseRow* table_w = <const PhaseRow*> &phases_w[0, 0]
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups
    cdef Py_ssize_t in_image = c_in * height * width, out_image = c_out * out_h * out_w
    cdef Py_ssize_t nb = images_per_gemm, n0, cur, grp, rh, rw, th, tw, qh, qw, K, ld
    cdef Py_ssize_t offset, max_col = 0, max_y = 0, q, n_chunks, task, chunk, tid, per_group
    cdef Py_ssize_t copies, planned
    cdef Py_ssize_t* offsets = NULL
    cdef const floating* w_base
    cdef bint as_tasks
    cdef Window g
    cdef const floating* b_ptr = NULL
    cdef const floating* b_grp
    cdef floating* col = NULL
    cdef floating* y = NULL
    cdef floating* dst
    cdef floating zero = 0
    cdef int64_t call = suite_profile_call()
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    for rh in range(sh):
        for rw in range(sw):
            q = table_h[rh].count * table_w[rw].count
            max_col = max(max_col, cig * table_h[rh].taps * table_w[rw].taps * q)
            max_y = max(max_y, cog * q)
    n_chunks = (N + nb - 1) // nb
    # Whole phases as tasks or each phase's GEMM split in blocks: chosen for the planning
    # width, not n_threads, as the two round differently (_gemm.pxd, parallel_gemm).
    planned = suite_planning_width()
    as_tasks = planned > 1 and n_chunks * groups * sh * sw >= 2 * planned
    copies = n_threads if as_tasks else 1
    try:    # sizes restated in suite._workspaces.phase_workspace
        col = allocate(copies * max_col * nb, col)
        y = allocate(copies * max_y * nb, col)
        offsets = <Py_ssize_t*> malloc(sh * sw * sizeof(Py_ssize_t))
        if offsets == NULL:
            raise MemoryError()
        per_group = 0
        for rh in range(sh):
            for rw in range(sw):
                offsets[rh * sw + rw] = per_group
                per_group += cog * cig * table_h[rh].taps * table_w[rw].taps
        # Sub-kernels by pointer: a phase no tap reaches has an empty block, which may sit at
        # the very end of packed_w (indexing it there is out of bounds; it is never read).
        w_base = &packed_w[0] if packed_w.shape[0] > 0 else NULL
        with nogil:
            if as_tasks:
                # Independent tasks of (image batch, group, phase), each on one thread with
                # its own buffers: no barrier between the im2col, the GEMM and the write.
                for task in prange(n_chunks * groups * sh * sw, schedule="static",
                                   num_threads=n_threads):
                    chunk = task // (groups * sh * sw)
                    grp = (task // (sh * sw)) % groups
                    rh = (task % (sh * sw)) // sw
                    rw = task % sw
                    n0 = chunk * nb
                    cur = min(nb, N - n0)
                    tid = omp_get_thread_num()
                    th = table_h[rh].taps
                    tw = table_w[rw].taps
                    qh = table_h[rh].count
                    qw = table_w[rw].count
                    if qh * qw == 0:
                        continue
                    g = make_window(th, tw, 1, 1, table_h[rh].pad, table_w[rw].pad,
                                    dil_h, dil_w, qh, qw)
                    phase_task(&x[n0, grp * cig, 0, 0], in_image, cur, cig, height, width,
                               &g, w_base + grp * per_group + offsets[rh * sw + rw], cog,
                               cig * th * tw, col + tid * max_col * nb, y + tid * max_y * nb,
                               NULL if b_ptr == NULL else b_ptr + grp * cog,
                               &out[n0, grp * cog, 0, 0], out_image, out_w, out_h * out_w,
                               table_h[rh].first_out, table_w[rw].first_out, sh, sw, call)
            n0 = N if as_tasks else 0
            while n0 < N:
                cur = min(nb, N - n0)
                offset = 0
                for grp in range(groups):
                    b_grp = NULL if b_ptr == NULL else b_ptr + grp * cog
                    dst = &out[n0, grp * cog, 0, 0]
                    for rh in range(sh):
                        for rw in range(sw):
                            th = table_h[rh].taps
                            tw = table_w[rw].taps
                            qh = table_h[rh].count
                            qw = table_w[rw].count
                            K = cig * th * tw
                            if qh * qw == 0:
                                pass
                            elif K == 0:
                                scatter_phase(NULL, 0, cur, cog, qh, qw, b_grp, dst, out_image,
                                              out_w, out_h * out_w,
                                              table_h[rh].first_out, table_w[rw].first_out,
                                              sh, sw, n_threads)
                            else:
                                g = make_window(th, tw, 1, 1, table_h[rh].pad,
                                                table_w[rw].pad, dil_h, dil_w, qh, qw)
                                ld = cur * qh * qw
                                im2col_images(&x[n0, grp * cig, 0, 0], in_image, cur, cig,
                                              height, width, &g, col, qh * qw, ld, n_threads)
                                parallel_gemm(False, False, cog, ld, K, &packed_w[offset], K,
                                              col, ld, zero, y, ld, n_threads)
                                scatter_phase(y, ld, cur, cog, qh, qw, b_grp, dst, out_image,
                                              out_w, out_h * out_w,
                                              table_h[rh].first_out, table_w[rw].first_out,
                                              sh, sw, n_threads)
                            offset += cog * K
                n0 += cur
    finally:
        release(col)
        release(y)
        free(offsets)
