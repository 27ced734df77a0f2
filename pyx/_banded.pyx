"""Convolution in bands of output rows (NCHW), of the input itself or of its nearest or
bilinear upsampling made row by row on the fly (the upsampled map never exists).

Threading: one level of parallelism, on ``n_threads`` OpenMP threads: independent tasks of
(image, group, band of output rows), each packing its band's columns in its thread's buffer
and running one single-threaded BLAS call straight into the band's output rows (the caller
holds BLAS at one thread). The results do not depend on the thread count.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memmove, memset

from _columns cimport Window, im2col_planes, make_window
from _cython_blas cimport gemm
from _gemm cimport allocate, release
from _interpolation cimport bilinear_row, nearest_row


include "_own_gemm.pxi"


cdef extern from "_bilinear_rows.h" nogil:
    void suite_bilinear_x2_blend_row_f32(
        const float* r0, const float* r1, float a, float b, Py_ssize_t n, float* d,
        const Py_ssize_t* w0, const Py_ssize_t* w1, const float* lw0, const float* lw1)
    void suite_bilinear_x2_blend_row_f64(
        const double* r0, const double* r1, double a, double b, Py_ssize_t n, double* d,
        const Py_ssize_t* w0, const Py_ssize_t* w1, const double* lw0, const double* lw1)


include "_rows.pxi"
from _openmp_helpers cimport omp_get_thread_num
from _profile cimport (SUITE_STAGE_GEMM, SUITE_STAGE_IM2COL,
                       SUITE_STAGE_INTERPOLATION, attach_profiler, suite_now_ns,
                       suite_profile_call, suite_stage_record, suite_stage_start,
                       suite_stage_stop)

attach_profiler()


cdef enum SourceKind:
    SOURCE_INPUT = 0       # the input planes themselves
    SOURCE_NEAREST = 1     # nearest upsampling of the input, made row by row on the fly
    SOURCE_BILINEAR = 2    # bilinear upsampling of the input, made row by row on the fly


cdef struct Banding:
    # The convolution's stride, padding, dilation and groups, the rows in one band and the
    # input channels whose columns are packed and multiplied at a time (band_channels).
    Py_ssize_t sh, sw, ph, pw, dh, dw, groups, band_rows, band_channels


cdef struct Upsampling:
    # The upsampling a task makes its source rows with: its kind, the upsampled size and
    # suite.upsample's tables for it (per upsampled row h_*, column w_*; NULL where the kind
    # has none). lh0, lh1, lw0, lw1 are the bilinear weights, of the data's type (float or
    # double, as x).
    SourceKind kind
    Py_ssize_t src_h, src_w
    const Py_ssize_t* h_index      # nearest
    const Py_ssize_t* w_index
    Py_ssize_t w_repeat
    const Py_ssize_t* h0           # bilinear
    const Py_ssize_t* h1
    const void* lh0
    const void* lh1
    const Py_ssize_t* w0
    const Py_ssize_t* w1
    const void* lw0
    const void* lw1
    bint x2_columns                # the column tables are x2's (align_corners=False)


def banded_conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                  const floating[::1] bias, floating[:, :, :, ::1] out,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                  Py_ssize_t band_rows, Py_ssize_t band_channels, int n_threads):
    """out = conv2d(x, weight) + bias in bands of band_rows output rows, band_channels
    input channels at a time (see banded_correlation)."""
    cdef Banding geo = Banding(sh, sw, ph, pw, dh, dw, groups, band_rows, band_channels)
    banded_correlation(x, weight, bias, out, &geo, NULL, n_threads)


def banded_nearest_conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                          const floating[::1] bias, floating[:, :, :, ::1] out,
                          const Py_ssize_t[::1] h_index, const Py_ssize_t[::1] w_index,
                          Py_ssize_t w_repeat,
                          Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                          Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                          Py_ssize_t band_rows, Py_ssize_t band_channels, int n_threads):
    """out = conv2d(nearest upsampling of x, weight) + bias in bands of band_rows output rows,
    the upsampled rows made on the fly (see banded_correlation).

    h_index, w_index: the input row and column of each upsampled row and column (their
    lengths are the upsampled size); w_repeat as for suite.upsample's nearest kernel.
    """
    cdef Banding geo = Banding(sh, sw, ph, pw, dh, dw, groups, band_rows, band_channels)
    cdef Upsampling up
    memset(&up, 0, sizeof(up))
    up.kind = SOURCE_NEAREST
    up.src_h = h_index.shape[0]
    up.src_w = w_index.shape[0]
    up.h_index = &h_index[0]
    up.w_index = &w_index[0]
    up.w_repeat = w_repeat
    banded_correlation(x, weight, bias, out, &geo, &up, n_threads)


def banded_bilinear_conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                           const floating[::1] bias, floating[:, :, :, ::1] out,
                           const Py_ssize_t[::1] h0, const Py_ssize_t[::1] h1,
                           const floating[::1] lh0, const floating[::1] lh1,
                           const Py_ssize_t[::1] w0, const Py_ssize_t[::1] w1,
                           const floating[::1] lw0, const floating[::1] lw1,
                           Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                           Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                           Py_ssize_t band_rows, Py_ssize_t band_channels, int n_threads,
                           bint x2_columns=False):
    """out = conv2d(bilinear upsampling of x, weight) + bias in bands of band_rows output
    rows, the upsampled rows made on the fly (see banded_correlation).

    Upsampled row u = lh0[u]*x[h0[u]] + lh1[u]*x[h1[u]], columns likewise with w0, w1, lw0,
    lw1 (their lengths are the upsampled size). ``x2_columns``: the caller checked that the
    column tables are x2's with align_corners=False (suite.upsample's plan), whose interior
    rows are then made from vectors (_bilinear_rows.h; the same bits).
    """
    cdef Banding geo = Banding(sh, sw, ph, pw, dh, dw, groups, band_rows, band_channels)
    cdef Upsampling up
    memset(&up, 0, sizeof(up))
    up.kind = SOURCE_BILINEAR
    up.src_h = h0.shape[0]
    up.src_w = w0.shape[0]
    up.h0 = &h0[0]
    up.h1 = &h1[0]
    up.lh0 = &lh0[0]
    up.lh1 = &lh1[0]
    up.w0 = &w0[0]
    up.w1 = &w1[0]
    up.lw0 = &lw0[0]
    up.lw1 = &lw1[0]
    if x2_columns and (w0.shape[0] != 2 * x.shape[3] or x.shape[3] < 2):
        raise ValueError(f"x2_columns needs an upsampled width of 2 x {x.shape[3]} >= 4, "
                         f"got {w0.shape[0]}")
    up.x2_columns = x2_columns
    suite_cpu_has_avx2()        # asked once, before the threads
    banded_correlation(x, weight, bias, out, &geo, &up, n_threads)


cdef int banded_correlation(const floating[:, :, :, ::1] x,
                            const floating[:, :, :, ::1] weight, const floating[::1] bias,
                            floating[:, :, :, ::1] out, const Banding* geo,
                            const Upsampling* up, int n_threads) except -1:
    """out = conv2d(source, weight) + bias in independent tasks of (image, group, band of
    band_rows output rows); the source is x itself (up NULL) or its upsampling.

    A task packs the columns of its band only (C_in/groups*kh*kw x band_rows*W_out), a slice
    of band_channels input channels at a time (0: all of them), so that they stay in the
    cache, and multiplies each slice by the group's weights with a single-threaded GEMM that
    writes straight into the band's output rows (the first slice from the bias, the others
    adding to the sums: the same order for every thread count). When the source is an
    upsampling of x (up.kind nearest or bilinear, with its tables; up.src_h x up.src_w the
    upsampled size), the task first interpolates the few source rows its band reads into a
    buffer of its thread: the upsampled map never exists. A thread that takes the next band of the same
    image and group keeps the rows the two bands share (the kernel's halo) and interpolates
    only the new ones. The result does not depend on the thread count.
    """
    cdef Py_ssize_t sh = geo.sh, sw = geo.sw, ph = geo.ph, pw = geo.pw, dh = geo.dh
    cdef Py_ssize_t dw = geo.dw, groups = geo.groups, band_rows = geo.band_rows
    cdef SourceKind source = SOURCE_INPUT if up == NULL else up.kind
    cdef Py_ssize_t src_h = x.shape[2] if up == NULL else up.src_h
    cdef Py_ssize_t src_w = x.shape[3] if up == NULL else up.src_w
    cdef const Py_ssize_t* h_index = NULL
    cdef const Py_ssize_t* w_index = NULL
    cdef const Py_ssize_t* h0 = NULL
    cdef const Py_ssize_t* h1 = NULL
    cdef const Py_ssize_t* w0 = NULL
    cdef const Py_ssize_t* w1 = NULL
    cdef const floating* lh0 = NULL
    cdef const floating* lh1 = NULL
    cdef const floating* lw0 = NULL
    cdef const floating* lw1 = NULL
    cdef Py_ssize_t w_repeat = 0
    cdef bint x2_columns = False
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, K = cig * kk
    cdef Py_ssize_t L = out_h * out_w, R = band_rows
    cdef Py_ssize_t bands = (out_h + R - 1) // R
    cdef Py_ssize_t span = (R - 1) * sh + (kh - 1) * dh + 1
    cdef Py_ssize_t CH = geo.band_channels if 0 < geo.band_channels < cig else cig
    cdef Py_ssize_t col_size = CH * kk * R * out_w, src_size = cig * span * src_w
    cdef Py_ssize_t task, n, grp, band, r0, r1, rows, u_first, u0, u1, n_src, ci, u, c
    cdef Py_ssize_t ld, tid, first_new, kept, shift, c0, c1
    cdef Py_ssize_t* held = NULL     # per thread: image, group, first and last row in its buffer
    cdef Window g
    cdef const floating* b_ptr = NULL
    cdef const floating* xp
    cdef floating* cols = NULL
    cdef floating* sources = NULL
    cdef floating* col
    cdef floating* src_rows
    cdef floating* dst
    cdef floating zero = 0, one = 1
    cdef int64_t call = suite_profile_call(), t0, t1, packed
    if N == 0:
        return 0
    if up != NULL:
        h_index = up.h_index
        w_index = up.w_index
        w_repeat = up.w_repeat
        h0 = up.h0
        h1 = up.h1
        lh0 = <const floating*> up.lh0
        lh1 = <const floating*> up.lh1
        w0 = up.w0
        w1 = up.w1
        lw0 = <const floating*> up.lw0
        lw1 = <const floating*> up.lw1
        x2_columns = up.x2_columns
    if bias is not None:
        b_ptr = &bias[0]
    try:    # sizes restated in suite._workspaces.conv2d_workspace, banded_upsample_workspace
        cols = allocate(n_threads * col_size, cols)
        if source != SOURCE_INPUT:
            sources = allocate(n_threads * src_size, cols)
            held = <Py_ssize_t*> malloc(n_threads * 4 * sizeof(Py_ssize_t))
            if held == NULL:
                raise MemoryError()
            for tid in range(n_threads):
                held[4 * tid] = -1
        with nogil:
            for task in prange(N * groups * bands, schedule="static", num_threads=n_threads):
                n = task // (groups * bands)
                grp = (task // bands) % groups
                band = task % bands
                tid = omp_get_thread_num()
                col = cols + tid * col_size
                r0 = band * R
                r1 = min(out_h, r0 + R)
                rows = r1 - r0
                ld = rows * out_w
                u_first = r0 * sh - ph
                if source == SOURCE_INPUT:
                    g = make_window(kh, kw, sh, sw, ph - r0 * sh, pw, dh, dw, rows, out_w)
                else:
                    t0 = suite_stage_start(call)
                    # The source rows this band reads, clipped to the upsampled map.
                    u0 = max(u_first, 0)
                    u1 = min(u_first + (rows - 1) * sh + (kh - 1) * dh, src_h - 1)
                    n_src = u1 - u0 + 1
                    if n_src < 0:
                        n_src = 0
                    src_rows = sources + tid * src_size
                    g = make_window(kh, kw, sh, sw, ph - r0 * sh + u0, pw, dh, dw, rows,
                                    out_w)
                    # rows u0 .. held[3] are still in the buffer from this thread's last band
                    first_new = 0
                    if (held[4 * tid] == n and held[4 * tid + 1] == grp
                            and held[4 * tid + 2] <= u0 <= held[4 * tid + 3]):
                        shift = u0 - held[4 * tid + 2]
                        kept = min(held[4 * tid + 3] - u0 + 1, n_src)
                        if shift > 0:
                            for ci in range(cig):
                                memmove(src_rows + ci * span * src_w,
                                        src_rows + (ci * span + shift) * src_w,
                                        kept * src_w * sizeof(floating))
                        first_new = kept
                    held[4 * tid] = n if n_src > 0 else -1
                    held[4 * tid + 1] = grp
                    held[4 * tid + 2] = u0
                    held[4 * tid + 3] = u0 + n_src - 1
                    suite_stage_stop(call, SUITE_STAGE_INTERPOLATION, t0)
                # A slice of band_channels input channels at a time: its columns (at most
                # about BAND_BYTES, suite._plan.band_channels) stay in the cache for the
                # product that adds them into the band's rows.
                c0 = 0
                while c0 < cig:
                    c1 = min(cig, c0 + CH)
                    if source == SOURCE_INPUT:
                        t0 = suite_stage_start(call)
                        im2col_planes(&x[n, grp * cig + c0, 0, 0], c1 - c0, height, width,
                                      &g, col, ld)
                        suite_stage_stop(call, SUITE_STAGE_IM2COL, t0)
                    else:
                        # Interpolation and im2col alternate per input channel: when
                        # profiled, recorded as two consecutive stages, the im2col's time
                        # summed.
                        t0 = suite_stage_start(call)
                        packed = 0
                        for ci in range(c0, c1):
                            xp = &x[n, grp * cig + ci, 0, 0]
                            for u in range(first_new, n_src):
                                dst = src_rows + (ci * span + u) * src_w
                                if source == SOURCE_BILINEAR and x2_columns:
                                    if floating is float:
                                        suite_bilinear_x2_blend_row_f32(
                                            xp + h0[u0 + u] * width, xp + h1[u0 + u] * width,
                                            lh0[u0 + u], lh1[u0 + u], width, dst, w0, w1,
                                            lw0, lw1)
                                    else:
                                        suite_bilinear_x2_blend_row_f64(
                                            xp + h0[u0 + u] * width, xp + h1[u0 + u] * width,
                                            lh0[u0 + u], lh1[u0 + u], width, dst, w0, w1,
                                            lw0, lw1)
                                elif source == SOURCE_BILINEAR:
                                    bilinear_row(xp + h0[u0 + u] * width,
                                                 xp + h1[u0 + u] * width, lh0[u0 + u],
                                                 lh1[u0 + u], dst, src_w, w0, w1, lw0, lw1)
                                elif u > 0 and h_index[u0 + u] == h_index[u0 + u - 1]:
                                    memcpy(dst, dst - src_w, src_w * sizeof(floating))
                                else:
                                    nearest_row(xp + h_index[u0 + u] * width, width, dst,
                                                src_w, w_index, w_repeat)
                            t1 = suite_stage_start(call)
                            im2col_planes(src_rows + ci * span * src_w, 1, n_src, src_w, &g,
                                          col + (ci - c0) * kk * ld, ld)
                            if call:
                                packed = packed + (suite_now_ns() - t1)
                        if call:
                            t1 = suite_now_ns()
                            suite_stage_record(call, SUITE_STAGE_INTERPOLATION, t0,
                                               t1 - packed)
                            suite_stage_record(call, SUITE_STAGE_IM2COL, t1 - packed, t1)
                    t0 = suite_stage_start(call)
                    # the first slice's sums start from the bias (no pass over the band
                    # before the product), the others' from the sums before them
                    gemm(False, False, <int> cog, <int> ld, <int> ((c1 - c0) * kk), one,
                         &weight[grp * cog, c0, 0, 0], <int> K, col, <int> ld,
                         zero if c0 == 0 else one, &out[n, grp * cog, r0, 0], <int> L, True,
                         NULL if b_ptr == NULL or c0 > 0 else b_ptr + grp * cog)
                    suite_stage_stop(call, SUITE_STAGE_GEMM, t0)
                    c0 = c1
    finally:
        release(cols)
        release(sources)
        free(held)
    return 0
