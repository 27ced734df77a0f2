"""Convolution and transposed convolution through a column matrix (NCHW): im2col, col2im,
conv2d by im2col + GEMM, conv_transpose2d by GEMM + col2im (Caffe's method) and its
backward pass.

The Python layer (``suite.conv``) validates every argument, makes the inputs C-contiguous,
allocates the outputs and chooses how many images share one GEMM; these kernels trust it.

Threading: one level of parallelism, on ``n_threads`` OpenMP threads. The loops between the
GEMMs (im2col, col2im, packing) give each thread whole output planes or rows, so no two
threads ever write the same element; each GEMM is split into blocks of its result, every block
a single-threaded BLAS call on its own OpenMP thread (``parallel_gemm``), or is one task's
single-threaded call (the caller holds BLAS at one thread). The results do not depend on the
thread count.

Batching: ``images_per_gemm`` images are packed side by side into one column matrix so that
small feature maps still give BLAS a wide matrix (a 4x4 map alone is a 16-column GEMM).
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from _bias cimport bias_value, fill_bias
from _columns cimport (RANGES_MAX_KW, RowPlan, SPREAD_MAX, Window, band_end, band_first,
                      by_planes, col2im_row, column_ranges, disjoint_plane, im2col_images,
                      make_window, row_plan)
from _cython_blas cimport gemm
from _gemm cimport allocate, release, parallel_gemm
from _openmp_helpers cimport omp_get_thread_num, suite_planning_width
from _profile cimport (SUITE_STAGE_BIAS, SUITE_STAGE_BIAS_GRADIENT, SUITE_STAGE_COL2IM,
                       SUITE_STAGE_GEMM, SUITE_STAGE_PACK, SUITE_STAGE_UNPACK, TaskIndex,
                       attach_profiler, next_task, part_start, parts_for, suite_profile_call,
                       suite_stage_start, suite_stage_stop, task_index)

attach_profiler()
suite_planning_width()   # the planning width read at import, as in every module that plans


include "_rows.pxi"


include "_own_gemm.pxi"

cdef extern from "_thin_rows.h" nogil:
    enum: SUITE_THIN_CHUNK
    int suite_avx512_allowed
    int suite_cpu_has_avx512()
    void suite_thin_rows_f32(const float* x, Py_ssize_t ldx, Py_ssize_t depth, const float* w,
                             Py_ssize_t ldw, Py_ssize_t rows, const float* b, float* d,
                             Py_ssize_t ldd, Py_ssize_t n)

cdef extern from "_sgemm.h" nogil:
    enum: SUITE_SGEMM_MAX_N
    enum: SUITE_SGEMM_NR
    enum: SUITE_SGEMM_WIDE_MIN_K

#: The widest product (columns) the own narrow kernel takes.
NARROW_GEMM_COLUMNS = SUITE_SGEMM_MAX_N
#: ... which it computes in panels of this many columns (a narrower product is padded).
NARROW_GEMM_PANEL = SUITE_SGEMM_NR
#: The values of the spread rows of a disjoint col2im (kernel rows as long as the stride):
#: kH x (sW x grid width) up to this spread whole grid rows; longer rows are added one by one.
SPREAD_VALUES = SPREAD_MAX
#: The shallowest product (rows of K) the own wide kernel takes, at any width (shallower,
#: its time goes to the loads and stores of C, which OpenBLAS runs faster).
WIDE_GEMM_MIN_DEPTH = SUITE_SGEMM_WIDE_MIN_K


cdef void col2im_images(const floating* col, Py_ssize_t col_image_offset, Py_ssize_t ld_col,
                        Py_ssize_t n_images, Py_ssize_t channels,
                        Py_ssize_t height, Py_ssize_t width, const Window* g,
                        Py_ssize_t oh_lo, Py_ssize_t oh_hi, Py_ssize_t row_first,
                        Py_ssize_t row_end, Py_ssize_t filled,
                        const floating* bias, floating* im, Py_ssize_t image_stride,
                        int n_threads, bint stream=False) noexcept nogil:
    """Output rows [row_first, row_end) of every plane += what grid rows [oh_lo, oh_hi) of
    col add to them (the whole grid: 0, col_h, 0, height), parallel over output rows; rows
    from ``filled`` on are set to bias (or 0; bias may be NULL) first. Each thread's share
    of the rows is one "col2im scatter" stage. ``stream``: planes spread whole
    (disjoint_plane) are written with non-temporal stores."""
    cdef Py_ssize_t task, h, kk = g.kh * g.kw, part
    cdef TaskIndex k
    cdef Py_ssize_t first = min(row_first, filled), rows = row_end - first
    cdef Py_ssize_t total = n_images * channels * rows, parts
    cdef int64_t call = suite_profile_call(), t0
    cdef floating* dst
    cdef Py_ssize_t lo[RANGES_MAX_KW]
    cdef Py_ssize_t hi[RANGES_MAX_KW]
    cdef bint tables = g.kw <= RANGES_MAX_KW
    cdef RowPlan plan
    cdef Py_ssize_t p, n, c
    if rows <= 0:
        return
    if tables:
        column_ranges(g, width, lo, hi)
    row_plan(&plan, g, width, ld_col, floating is float, lo if tables else NULL,
             hi if tables else NULL)
    if by_planes(g, &plan, floating is float) and n_images * channels >= 4 * n_threads:
        # plane by plane: no kernel-row search a row (_columns.pxd, disjoint_plane)
        total = n_images * channels
        parts = parts_for(total, n_threads)
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                n = p // channels
                c = p - n * channels
                disjoint_plane(col + n * col_image_offset + c * kk * ld_col, ld_col, oh_lo,
                               oh_hi, width, g, first, row_end, filled,
                               im + n * image_stride + c * height * width,
                               lo if tables else NULL, hi if tables else NULL,
                               bias_value(bias, c), stream)
            suite_stage_stop(call, SUITE_STAGE_COL2IM, t0)
        return
    parts = parts_for(total, n_threads)
    for part in prange(parts, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        k = task_index(part_start(part, parts, total), channels, rows)
        for task in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
            h = first + k.i
            dst = im + k.n * image_stride + (k.c * height + h) * width
            if h >= filled and not plan.gathered:
                fill_bias(dst, width, bias, k.c)
            col2im_row(col + k.n * col_image_offset + k.c * kk * ld_col, ld_col, oh_lo, oh_hi,
                       width, g, h, dst, lo if tables else NULL, hi if tables else NULL,
                       &plan, h >= filled and plan.gathered, bias_value(bias, k.c))
            k = next_task(k, channels, rows)
        suite_stage_stop(call, SUITE_STAGE_COL2IM, t0)


cdef void col2im_block(const floating* col, Py_ssize_t col_image_offset, Py_ssize_t ld_col,
                       Py_ssize_t n_images, Py_ssize_t channels,
                       Py_ssize_t height, Py_ssize_t width, const Window* g,
                       Py_ssize_t oh_lo, Py_ssize_t oh_hi, Py_ssize_t row_first,
                       Py_ssize_t row_end, Py_ssize_t filled,
                       const floating* bias, floating* im,
                       Py_ssize_t image_stride, bint stream=False) noexcept nogil:
    """col2im_images on the calling thread alone (one task of a parallel loop)."""
    cdef Py_ssize_t n, c, h, kk = g.kh * g.kw
    cdef floating* dst
    cdef Py_ssize_t lo[RANGES_MAX_KW]
    cdef Py_ssize_t hi[RANGES_MAX_KW]
    cdef bint tables = g.kw <= RANGES_MAX_KW
    cdef RowPlan plan
    if tables:
        column_ranges(g, width, lo, hi)
    row_plan(&plan, g, width, ld_col, floating is float, lo if tables else NULL,
             hi if tables else NULL)
    if by_planes(g, &plan, floating is float):
        for n in range(n_images):
            for c in range(channels):
                disjoint_plane(col + n * col_image_offset + c * kk * ld_col, ld_col, oh_lo,
                               oh_hi, width, g, min(row_first, filled), row_end, filled,
                               im + n * image_stride + c * height * width,
                               lo if tables else NULL, hi if tables else NULL,
                               bias_value(bias, c), stream)
        return
    for n in range(n_images):
        for c in range(channels):
            for h in range(min(row_first, filled), row_end):
                dst = im + n * image_stride + (c * height + h) * width
                if h >= filled and not plan.gathered:
                    fill_bias(dst, width, bias, c)
                col2im_row(col + n * col_image_offset + c * kk * ld_col, ld_col, oh_lo,
                           oh_hi, width, g, h, dst, lo if tables else NULL,
                           hi if tables else NULL, &plan, h >= filled and plan.gathered,
                           bias_value(bias, c))


cdef void pack_images(const floating* x, Py_ssize_t n_images, Py_ssize_t channels,
                      Py_ssize_t plane, floating* packed, int n_threads) noexcept nogil:
    """(n, c, plane) -> (c, n*plane): images side by side, one GEMM operand for all."""
    cdef Py_ssize_t p, n, c, part
    cdef Py_ssize_t total = n_images * channels, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    for part in prange(parts, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
            n = p // channels
            c = p - n * channels
            memcpy(packed + c * n_images * plane + n * plane, x + p * plane,
                   plane * sizeof(floating))
        suite_stage_stop(call, SUITE_STAGE_PACK, t0)


cdef void unpack_images(const floating* packed, Py_ssize_t n_images, Py_ssize_t channels,
                        Py_ssize_t plane, const floating* bias, floating* out,
                        int n_threads) noexcept nogil:
    """(c, n*plane) -> (n, c, plane), adding bias[c] when bias is not NULL."""
    cdef Py_ssize_t p, n, c, q, part
    cdef Py_ssize_t total = n_images * channels, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* src
    cdef floating* dst
    cdef floating value
    for part in prange(parts, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
            n = p // channels
            c = p - n * channels
            src = packed + c * n_images * plane + n * plane
            dst = out + p * plane
            if bias == NULL:
                memcpy(dst, src, plane * sizeof(floating))
            else:
                value = bias[c]
                for q in range(plane):
                    dst[q] = src[q] + value
        suite_stage_stop(call, SUITE_STAGE_UNPACK, t0)


def im2col(const floating[:, :, :, ::1] x, floating[:, :, ::1] out,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
           Py_ssize_t col_h, Py_ssize_t col_w, int n_threads):
    """out (N, C*kh*kw, col_h*col_w) = unfold(x)."""
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, col_h, col_w)
    cdef Py_ssize_t n = x.shape[0], channels = x.shape[1]
    if n == 0:
        return
    with nogil:
        im2col_images(&x[0, 0, 0, 0], channels * x.shape[2] * x.shape[3], n, channels,
                      x.shape[2], x.shape[3], &g,
                      &out[0, 0, 0], out.shape[1] * out.shape[2], out.shape[2], n_threads)


def col2im(const floating[:, :, ::1] cols, floating[:, :, :, ::1] out,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
           Py_ssize_t col_h, Py_ssize_t col_w, int n_threads):
    """out (N, C, H, W) = fold(cols)."""
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, col_h, col_w)
    cdef Py_ssize_t n = out.shape[0], channels = out.shape[1]
    if n == 0:
        return
    suite_cpu_has_avx2()        # asked once, before the threads
    with nogil:
        col2im_images(&cols[0, 0, 0], cols.shape[1] * cols.shape[2], cols.shape[2],
                      n, channels, out.shape[2], out.shape[3], &g, 0, col_h, 0, out.shape[2],
                      0, NULL, &out[0, 0, 0, 0], channels * out.shape[2] * out.shape[3],
                      n_threads)


def conv2d_im2col(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                  const floating[::1] bias, floating[:, :, :, ::1] out,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                  Py_ssize_t images_per_gemm, int n_threads, bint transposed=False,
                  Py_ssize_t slice_channels=0):
    """out = conv2d(x, weight) + bias: per batch of images and group, im2col then one GEMM,
    or, with ``slice_channels`` (0 < it < C_in/groups), im2col and a GEMM per slice of that
    many input channels, each product adding into the sums of the slices before it (the
    columns of a slice stay in the cache: suite._plan.band_channels).

    weight (C_out, C_in/groups, kh, kw); bias None or (C_out,). ``transposed``: weight is a
    transposed convolution's (C_in, C_out/groups, 1, 1), multiplied as its transpose where it
    lies (a 1x1 transposed convolution at stride 1 is this 1x1 convolution; not sliced).
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, K = cig * kk
    # each group's A: (cog x K) rows of K, or its transpose where it lies (rows of cog)
    cdef Py_ssize_t a_group = cig * cog if transposed else cog * K
    cdef Py_ssize_t lda = cog if transposed else K
    cdef Py_ssize_t L = out_h * out_w, nb = images_per_gemm, n0, cur, grp, ld, c0, c1
    cdef Py_ssize_t in_image = c_in * height * width, out_image = c_out * L
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w)
    cdef bint pointwise = (kk == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0
                           and L == height * width)
    cdef Py_ssize_t CH = (slice_channels if 0 < slice_channels < cig and not pointwise
                          and not transposed else cig)
    cdef const floating* b_ptr = NULL
    cdef const floating* operand
    cdef const floating* start
    cdef floating* col = NULL
    cdef floating* packed_out = NULL
    cdef floating zero = 0, one = 1
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    try:    # sizes restated in suite._workspaces.conv2d_workspace
        if nb > 1 or not pointwise:     # a 1x1 convolution of one image multiplies x itself
            col = allocate(CH * kk * nb * L, col)
        if nb > 1:
            packed_out = allocate(c_out * nb * L, col)
        with nogil:
            n0 = 0
            while n0 < N:
                cur = min(nb, N - n0)
                ld = cur * L
                for grp in range(groups):
                    c0 = 0
                    while c0 < cig:
                        c1 = min(cig, c0 + CH)
                        if pointwise and cur == 1:
                            operand = &x[n0, grp * cig, 0, 0]
                        else:
                            im2col_images(&x[n0, grp * cig + c0, 0, 0], in_image, cur,
                                          c1 - c0, height, width, &g, col, L, ld, n_threads)
                            operand = col
                        if cur == 1:
                            # the bias is where the sums start: no pass over the output
                            start = NULL if b_ptr == NULL or c0 > 0 else b_ptr + grp * cog
                            parallel_gemm(transposed, False, cog, L, (c1 - c0) * kk,
                                          &weight[0, 0, 0, 0] + grp * a_group + c0 * kk, lda,
                                          operand, ld, zero if c0 == 0 else one,
                                          &out[n0, grp * cog, 0, 0], L, n_threads, start)
                        else:
                            parallel_gemm(transposed, False, cog, ld, (c1 - c0) * kk,
                                          &weight[0, 0, 0, 0] + grp * a_group + c0 * kk, lda,
                                          operand, ld, zero if c0 == 0 else one,
                                          packed_out + grp * cog * ld, ld, n_threads)
                        c0 = c1
                if cur > 1:
                    unpack_images(packed_out, cur, c_out, L, b_ptr, &out[n0, 0, 0, 0],
                                  n_threads)
                n0 += cur
    finally:
        release(col)
        release(packed_out)


def scale_planes(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                 const floating[::1] bias, floating[:, :, :, ::1] out, Py_ssize_t groups,
                 int n_threads):
    """out[n, g*cog + o] = bias[g*cog + o] + weight[g, o] * x[n, g]: a 1x1 transposed
    convolution at stride 1 with one input channel per group (weight (C_in, C_out/groups,
    1, 1), C_in = groups), whose product has K 1: each output plane an input plane scaled,
    parallel over the output planes. Recorded as the GEMM stage."""
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], L = x.shape[2] * x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], cog = c_out // groups, total = N * c_out
    cdef Py_ssize_t part, parts, p, n, c, q
    cdef const floating* b_ptr = NULL
    cdef const floating* src
    cdef floating* dst
    cdef floating w, b
    cdef int64_t call = suite_profile_call(), t0
    if total == 0 or L == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef const floating* w_ptr = &weight[0, 0, 0, 0]
    cdef floating* out_ptr = &out[0, 0, 0, 0]
    parts = parts_for(total, n_threads)
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                n = p // c_out
                c = p - n * c_out
                src = x_ptr + (n * c_in + c // cog) * L
                dst = out_ptr + p * L
                w = w_ptr[c]        # weight[c // cog, c % cog, 0, 0]
                b = bias_value(b_ptr, c)
                for q in range(L):
                    dst[q] = b + w * src[q]
            suite_stage_stop(call, SUITE_STAGE_GEMM, t0)


def thin_rows_isa(allow_avx512=None):
    """The vectors of thin_planes: "avx512" where the CPU has AVX-512F and the switches
    allow it, else this module's row vectors (its portable loop). Tests: allow_avx512=False
    runs the portable loop on an AVX-512 machine, True restores the kernel."""
    global suite_avx512_allowed
    if allow_avx512 is not None:
        suite_avx512_allowed = 1 if allow_avx512 else 0
    return "avx512" if suite_cpu_has_avx512() else vector_isa()


def thin_planes(const float[:, :, :, ::1] x, const float[:, :, :, ::1] weight,
                const float[::1] bias, float[:, :, :, ::1] out, Py_ssize_t groups,
                int n_threads):
    """out[n, g*cog + o] = bias[g*cog + o] + sum over k of weight[g*cig + k, o] * x[n, g*cig
    + k]: a 1x1 transposed convolution at stride 1 (weight (C_in, C_out/groups, 1, 1)) whose
    groups have few output channels, x read once, row by row, in chunks of SUITE_THIN_CHUNK
    columns whose output rows stay in L1 (_thin_rows.h); parallel over images x groups x
    chunks. Each sum runs in k's order, whatever the threads. Recorded as the GEMM stage."""
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], L = x.shape[2] * x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], cig = c_in // groups, cog = c_out // groups
    cdef Py_ssize_t chunks = (L + SUITE_THIN_CHUNK - 1) // SUITE_THIN_CHUNK
    cdef Py_ssize_t total = N * groups * chunks, part, parts, t, n, g, q0
    cdef const float* b_ptr = NULL
    cdef int64_t call = suite_profile_call(), t0
    if total == 0 or cog == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    cdef const float* x_ptr = &x[0, 0, 0, 0]
    cdef const float* w_ptr = &weight[0, 0, 0, 0]
    cdef float* out_ptr = &out[0, 0, 0, 0]
    suite_cpu_has_avx512()      # asked once, before the threads start
    parts = parts_for(total, n_threads)
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            for t in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                n = t // (groups * chunks)
                g = (t // chunks) % groups
                q0 = (t % chunks) * SUITE_THIN_CHUNK
                suite_thin_rows_f32(x_ptr + (n * c_in + g * cig) * L + q0, L, cig,
                                    w_ptr + g * cig * cog, cog, cog,
                                    NULL if b_ptr == NULL else b_ptr + g * cog,
                                    out_ptr + (n * c_out + g * cog) * L + q0, L,
                                    min(SUITE_THIN_CHUNK, L - q0))
            suite_stage_stop(call, SUITE_STAGE_GEMM, t0)


def deconv2d_col2im(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                    const floating[::1] bias, floating[:, :, :, ::1] out,
                    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                    Py_ssize_t images_per_gemm, Py_ssize_t channels_per_block,
                    Py_ssize_t rows_per_band, int n_threads, bint stream=False):
    """out = conv_transpose2d(x, weight) + bias by Caffe's method: col = W_g^T x_g (GEMM),
    then col2im into the group's output channels.

    ``stream``: an output past the cache; the planes of disjoint geometries that col2im
    spreads whole are written with non-temporal stores.

    weight (C_in, C_out/groups, kh, kw); bias None or (C_out,).

    With channels_per_block > 0 the work is cut into independent tasks (images_per_gemm
    images x one group x channels_per_block output channels), each a single-threaded GEMM
    into its thread's column block, small enough to stay in cache, followed at once by the
    block's col2im: no barrier, no column matrix larger than a cache, and the result does not
    depend on the thread count. With channels_per_block == 0 (too few tasks for the threads,
    e.g. one image with one output channel) each group's GEMM is split across the threads
    and col2im is parallel over output rows.

    rows_per_band < the input's height (large maps, one image per GEMM): each GEMM covers a
    band of that many input rows, and its columns are added into the output rows they reach
    before the next band's GEMM overwrites them, so the columns stay in cache. An output row
    is set to the bias when a band first reaches it; the rows two bands share get the first
    band's values, then the second's. The bands depend on the shapes alone.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, M = cog * kk
    cdef Py_ssize_t HW = height * width, nb = images_per_gemm, n0, cur, grp, ld
    cdef Py_ssize_t out_image = c_out * out_h * out_w, plane = out_h * out_w
    cdef Py_ssize_t cb = channels_per_block, n_chunks, n_blocks, task, chunk, rest, blk
    cdef Py_ssize_t c0, count, block_size = 0, rb = rows_per_band, r0, r1, bc
    cdef Py_ssize_t row_first, row_end, filled, band, n_bands
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, height, width)
    cdef const floating* b_ptr = NULL
    cdef const floating* operand
    cdef floating* col = NULL
    cdef floating* packed = NULL
    cdef floating* block
    cdef floating zero = 0, one = 1
    cdef int64_t call = suite_profile_call(), t0
    if N == 0:
        return
    if rb <= 0 or rb > height:
        rb = height
    if rb < height and nb != 1:
        raise ValueError(f"bands of rows need one image per GEMM, got {nb}")
    n_bands = (height + rb - 1) // rb
    if bias is not None:
        b_ptr = &bias[0]
    n_chunks = (N + nb - 1) // nb
    suite_cpu_has_avx2()        # asked once, before the threads
    try:    # sizes restated in suite._workspaces.col2im_deconv_workspace
        if nb > 1:
            packed = allocate(n_chunks * c_in * nb * HW, col)
        if cb > 0:
            block_size = cb * kk * nb * rb * width
            col = allocate(n_threads * block_size, col)
        else:
            col = allocate(M * nb * rb * width, col)
        with nogil:
            if nb > 1:
                for chunk in range(n_chunks):
                    n0 = chunk * nb
                    pack_images(&x[n0, 0, 0, 0], min(nb, N - n0), c_in, HW,
                                packed + chunk * c_in * nb * HW, n_threads)
            if cb > 0:
                n_blocks = (cog + cb - 1) // cb
                for task in prange(n_chunks * groups * n_blocks, schedule="static",
                                   num_threads=n_threads):
                    chunk = task // (groups * n_blocks)
                    rest = task - chunk * groups * n_blocks
                    grp = rest // n_blocks
                    blk = rest - grp * n_blocks
                    n0 = chunk * nb
                    cur = min(nb, N - n0)
                    ld = cur * HW
                    if nb == 1:
                        operand = &x[n0, 0, 0, 0]
                    else:
                        operand = packed + chunk * c_in * nb * HW
                    c0 = blk * cb
                    count = min(cb, cog - c0)
                    block = col + omp_get_thread_num() * block_size
                    filled = 0
                    for band in range(n_bands):
                        r0 = band * rb
                        r1 = min(height, r0 + rb)
                        bc = cur * (r1 - r0) * width    # cur == 1 when r1 - r0 < height
                        row_first = band_first(&g, r0)
                        row_end = band_end(&g, out_h, r1)
                        t0 = suite_stage_start(call)
                        gemm(True, False, <int> (count * kk), <int> bc, <int> cig,
                             one, &weight[grp * cig, c0, 0, 0], <int> M,
                             operand + grp * cig * ld + r0 * width, <int> ld, zero, block,
                             <int> bc)
                        suite_stage_stop(call, SUITE_STAGE_GEMM, t0)
                        t0 = suite_stage_start(call)
                        col2im_block(block, HW, bc, cur, count, out_h, out_w, &g, r0, r1,
                                     row_first, row_end, filled,
                                     NULL if b_ptr == NULL else b_ptr + grp * cog + c0,
                                     &out[n0, grp * cog + c0, 0, 0], out_image, stream)
                        suite_stage_stop(call, SUITE_STAGE_COL2IM, t0)
                        filled = row_end
            else:
                for chunk in range(n_chunks):
                    n0 = chunk * nb
                    cur = min(nb, N - n0)
                    ld = cur * HW
                    if nb == 1:
                        operand = &x[n0, 0, 0, 0]
                    else:
                        operand = packed + chunk * c_in * nb * HW
                    for grp in range(groups):
                        filled = 0
                        for band in range(n_bands):
                            r0 = band * rb
                            r1 = min(height, r0 + rb)
                            bc = cur * (r1 - r0) * width
                            row_first = band_first(&g, r0)
                            row_end = band_end(&g, out_h, r1)
                            parallel_gemm(True, False, M, bc, cig, &weight[grp * cig, 0, 0, 0],
                                          M, operand + grp * cig * ld + r0 * width, ld, zero,
                                          col, bc, n_threads)
                            col2im_images(col, HW, bc, cur, cog, out_h, out_w, &g, r0, r1,
                                          row_first, row_end, filled,
                                          NULL if b_ptr == NULL else b_ptr + grp * cog,
                                          &out[n0, grp * cog, 0, 0], out_image, n_threads,
                                          stream)
                            filled = row_end
    finally:
        release(col)
        release(packed)


def deconv2d_one_pixel(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                       const floating[::1] bias, floating[:, :, :, ::1] out,
                       Py_ssize_t groups, int n_threads):
    """out = conv_transpose2d(x, weight) + bias for 1x1 maps with no padding, dilation 1 and
    no output padding (a generator's first layer: a latent vector projected to a k x k map):
    out[n, co, i, j] = sum_ci x[n, ci] weight[ci, co, i, j]. Caffe's columns would be the
    output itself, so per group one GEMM of the images' channels (N x C_in/groups) by the
    weight as it lies (C_in/groups x C_out/groups*kH*kW) writes the output (rows C_out*kH*kW
    apart), then the bias added: no columns and no scatter. The images' channels are
    first copied transposed (C_in x N, a few KiB), so the product is A^T B with A = that
    copy: float32's goes to suite's own kernels where they take it (_cython_blas.pxd: a few
    rows of C, many columns, the weight streamed once), BLAS otherwise.

    The GEMM is split over the threads by parallel_gemm; the bias runs by image."""
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], c_out = out.shape[1]
    cdef Py_ssize_t kk = out.shape[2] * out.shape[3], image = c_out * kk
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, n, co, grp, ci, q
    cdef const floating* b_ptr = NULL
    cdef floating* xt = NULL
    cdef floating* row
    cdef floating value
    cdef int64_t call = suite_profile_call(), t0
    if N == 0 or c_out == 0 or kk == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    try:
        xt = allocate(c_in * N, xt)
        with nogil:
            t0 = suite_stage_start(call)
            for ci in range(c_in):
                for n in range(N):
                    xt[ci * N + n] = x[n, ci, 0, 0]
            suite_stage_stop(call, SUITE_STAGE_PACK, t0)
            for grp in range(groups):
                parallel_gemm(True, False, N, cog * kk, cig, xt + grp * cig * N, N,
                              &weight[grp * cig, 0, 0, 0], cog * kk, 0,
                              &out[0, grp * cog, 0, 0], image, n_threads)
            if b_ptr != NULL:
                for n in prange(N, schedule="static", num_threads=n_threads):
                    t0 = suite_stage_start(call)
                    for co in range(c_out):
                        row = &out[n, co, 0, 0]
                        value = b_ptr[co]
                        for q in range(kk):
                            row[q] = row[q] + value
                    suite_stage_stop(call, SUITE_STAGE_BIAS, t0)
    finally:
        release(xt)


def deconv2d_backward_col2im(const floating[:, :, :, ::1] grad_out,
                             const floating[:, :, :, ::1] x,
                             const floating[:, :, :, ::1] weight,
                             floating[:, :, :, ::1] grad_x, floating[:, :, :, ::1] grad_w,
                             floating[::1] grad_b,
                             Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                             Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                             Py_ssize_t images_per_gemm, int n_threads):
    """Gradients of conv_transpose2d with respect to x, weight and bias.

    Per batch of images and group: cols = im2col(grad_out_g) on the input's grid
    (C_out/groups*kh*kw rows, H*W columns per image), grad_w_g += x_g cols^T,
    grad_x_g = W_g cols (a convolution of grad_out); grad_b = grad_out summed over N, H, W.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = grad_out.shape[1], out_h = grad_out.shape[2]
    cdef Py_ssize_t out_w = grad_out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, M = cog * kk
    cdef Py_ssize_t HW = height * width, nb = images_per_gemm, n0, cur, grp, ld, c, n, q
    cdef Py_ssize_t plane = out_h * out_w, grad_image = c_out * plane
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, height, width)
    cdef const floating* operand
    cdef const floating* src
    cdef floating* col = NULL
    cdef floating* packed = NULL
    cdef floating* packed_grad = NULL
    cdef floating zero = 0, one = 1, beta
    cdef double total
    cdef Py_ssize_t part, parts = parts_for(c_out, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    if N == 0:
        return
    try:    # sizes restated in suite._workspaces.deconv_backward_workspace
        col = allocate(M * nb * HW, col)
        if nb > 1:
            packed = allocate(c_in * nb * HW, col)
            packed_grad = allocate(c_in * nb * HW, col)
        with nogil:
            n0 = 0
            while n0 < N:
                cur = min(nb, N - n0)
                ld = cur * HW
                if cur == 1:
                    operand = &x[n0, 0, 0, 0]
                else:
                    pack_images(&x[n0, 0, 0, 0], cur, c_in, HW, packed, n_threads)
                    operand = packed
                beta = zero if n0 == 0 else one
                for grp in range(groups):
                    im2col_images(&grad_out[n0, grp * cog, 0, 0], grad_image, cur, cog,
                                  out_h, out_w, &g, col, HW, ld, n_threads)
                    parallel_gemm(False, True, cig, M, ld, operand + grp * cig * ld, ld,
                                  col, ld, beta, &grad_w[grp * cig, 0, 0, 0], M, n_threads)
                    if cur == 1:
                        parallel_gemm(False, False, cig, HW, M, &weight[grp * cig, 0, 0, 0], M,
                                      col, ld, zero, &grad_x[n0, grp * cig, 0, 0], HW,
                                      n_threads)
                    else:
                        parallel_gemm(False, False, cig, ld, M, &weight[grp * cig, 0, 0, 0], M,
                                      col, ld, zero, packed_grad + grp * cig * ld, ld,
                                      n_threads)
                if cur > 1:
                    unpack_images(packed_grad, cur, c_in, HW, NULL, &grad_x[n0, 0, 0, 0],
                                  n_threads)
                n0 += cur
            for part in prange(parts, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                for c in range(part_start(part, parts, c_out),
                               part_start(part + 1, parts, c_out)):
                    total = 0
                    for n in range(N):
                        src = &grad_out[n, c, 0, 0]
                        for q in range(plane):
                            total = total + src[q]
                    grad_b[c] = <floating> total
                suite_stage_stop(call, SUITE_STAGE_BIAS_GRADIENT, t0)
    finally:
        release(col)
        release(packed)
        release(packed_grad)
