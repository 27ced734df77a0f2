"""Direct transposed convolution (NCHW) for layers with few input channels per group
(depthwise upsampling filters), where a GEMM would have K = C_in/groups of 1 to 4.

Threading: one level of parallelism, on ``n_threads`` OpenMP threads, over output rows
(image, channel, row); each row is written by one thread in a fixed order, so the results do
not depend on the thread count. No BLAS, no workspace.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t

from _bias cimport fill_bias
from _columns cimport valid_columns
from _profile cimport (SUITE_STAGE_DIRECT_ROWS, attach_profiler, part_start, parts_for,
                       suite_profile_call, suite_stage_start, suite_stage_stop)

attach_profiler()


cdef extern from "_direct_rows.h" nogil:
    void suite_kron_add_f32(const float* s, Py_ssize_t n, const float* w, Py_ssize_t k,
                            float* d)
    void suite_kron_add_f64(const double* s, Py_ssize_t n, const double* w, Py_ssize_t k,
                            double* d)


include "_rows.pxi"


cdef inline void direct_row(const floating* x_group, Py_ssize_t cig, Py_ssize_t height,
                            Py_ssize_t width, const floating* w_col, Py_ssize_t w_stride,
                            Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t oh, Py_ssize_t sh,
                            Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                            Py_ssize_t dw, floating* row, Py_ssize_t out_w,
                            Py_ssize_t inner_lo, Py_ssize_t inner_hi,
                            Py_ssize_t tap_major_below, bint kron) noexcept nogil:
    """row += the contributions of every input pixel of the group's cig input planes
    (x_group, plane after plane) to output row oh of one output channel, whose kernels are
    w_col + ci*w_stride (kh x kw each). Scatter form along the row: each input pixel adds its
    value times one kernel row to a contiguous (dilation 1) stretch of the output row, so the
    inner loop is a vectorizable axpy of length kw while the row stays in L1. Input columns
    in [inner_lo, inner_hi) reach the row with their whole kernel row. ``kron``: the kernel
    rows are as long as the stride (sw == kw), dilation 1, padding 0: each input row adds
    its values times the kernel row, tiled (a Kronecker product), to the row's first
    width*kw elements."""
    cdef Py_ssize_t ci, i, j, t, ih, iw, o0, lo, hi
    cdef const floating* xrow
    cdef const floating* wrow
    cdef floating* dst
    cdef floating v
    for ci in range(cig):
        for i in range(kh):
            t = oh + ph - i * dh
            if t < 0 or t % sh != 0:
                continue
            ih = t // sh
            if ih >= height:
                continue
            xrow = x_group + (ci * height + ih) * width
            wrow = w_col + ci * w_stride + i * kw
            if kron and kw < tap_major_below:
                # kernel rows as long as the stride, no padding: the input row's
                # contributions tile the output row (_direct_rows.h, from vectors)
                if floating is float:
                    suite_kron_add_f32(xrow, width, wrow, kw, row)
                else:
                    suite_kron_add_f64(xrow, width, wrow, kw, row)
                continue
            if kw < tap_major_below:
                # short kernel rows: loop over the taps, each an axpy over the input row
                # into every sw-th output element
                for j in range(kw):
                    o0 = j * dw - pw
                    valid_columns(o0, sw, out_w, width, &lo, &hi)
                    v = wrow[j]
                    dst = row + o0
                    if sw == 1:
                        for iw in range(lo, hi):
                            dst[iw] = dst[iw] + v * xrow[iw]
                    else:
                        for iw in range(lo, hi):
                            dst[iw * sw] = dst[iw * sw] + v * xrow[iw]
                continue
            for iw in range(width):
                v = xrow[iw]
                o0 = iw * sw - pw
                # kernel columns j with 0 <= o0 + j*dw < out_w: all of them inside
                # [inner_lo, inner_hi), found by division only at the edges
                if iw >= inner_lo and iw < inner_hi:
                    lo = 0
                    hi = kw
                else:
                    valid_columns(o0, dw, out_w, kw, &lo, &hi)
                if dw == 1:
                    dst = row + o0
                    for j in range(lo, hi):
                        dst[j] = dst[j] + v * wrow[j]
                else:
                    for j in range(lo, hi):
                        row[o0 + j * dw] = row[o0 + j * dw] + v * wrow[j]


def deconv2d_direct(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                    const floating[::1] bias, floating[:, :, :, ::1] out,
                    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                    Py_ssize_t tap_major_below, int n_threads):
    """out = conv_transpose2d(x, weight) + bias computed row by row from the definition, for
    layers with few input channels per group (depthwise upsampling filters), where a GEMM
    would have K = C_in/groups of 1 to 4.

    Each output row (image, channel, row) is one task: it starts from the bias, then every
    input row that reaches it adds each of its pixels times a kernel row; each thread's
    share of the rows is one "direct rows" stage. Every output element
    is written by one thread in a fixed order: the result does not depend on the thread
    count. No workspace.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3]
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups
    cdef Py_ssize_t rows = N * c_out * out_h, r, n, co, oh, grp
    cdef Py_ssize_t inner_lo = (pw + sw - 1) // sw, inner_hi
    cdef Py_ssize_t part, parts = parts_for(rows, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* b_ptr = NULL
    cdef floating* row
    cdef bint kron
    if rows == 0:
        return
    # input columns iw with 0 <= iw*sw - pw and iw*sw - pw + (kw - 1)*dw < out_w
    inner_hi = out_w - 1 - (kw - 1) * dw + pw
    inner_hi = inner_hi // sw + 1 if inner_hi >= 0 else 0
    if bias is not None:
        b_ptr = &bias[0]
    kron = sw == kw and dw == 1 and pw == 0 and out_w >= width * kw
    suite_cpu_has_avx2()        # asked once, before the threads
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            for r in range(part_start(part, parts, rows), part_start(part + 1, parts, rows)):
                oh = r % out_h
                co = (r // out_h) % c_out
                n = r // (out_h * c_out)
                grp = co // cog
                row = &out[n, co, oh, 0]
                fill_bias(row, out_w, b_ptr, co)
                direct_row(&x[n, grp * cig, 0, 0], cig, height, width,
                           &weight[grp * cig, co - grp * cog, 0, 0], cog * kh * kw,
                           kh, kw, oh, sh, sw, ph, pw, dh, dw, row, out_w, inner_lo,
                           inner_hi, tap_major_below, kron)
            suite_stage_stop(call, SUITE_STAGE_DIRECT_ROWS, t0)
