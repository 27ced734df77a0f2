"""Direct transposed convolution (NCHW) for layers with few input channels per group
(depthwise upsampling filters), where a GEMM would have K = C_in/groups of 1 to 4.

Two row kernels: by column phase (_direct_rows.h: the output columns q*sw + b of each phase
b computed contiguous, each kernel tap one vector operation per 8 of them, then interleaved)
for most layers, and tap-major (direct_row: each input pixel adds its whole kernel row) for
long undilated kernel rows when that takes fewer operations, or the Kronecker form for
kernel rows as long as the stride.

Threading: one level of parallelism, on ``n_threads`` OpenMP threads, over output rows
(image, channel, row); each row is written by one thread in a fixed order, so the results do
not depend on the thread count. No BLAS; per thread one row's phases and its source rows.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from _bias cimport bias_value, fill_bias
from _columns cimport valid_columns
from _profile cimport (SUITE_STAGE_DIRECT_ROWS, TaskIndex, attach_profiler, next_task,
                       part_start, parts_for, suite_profile_call, suite_stage_start,
                       suite_stage_stop, task_index)

attach_profiler()


cdef extern from "_direct_rows.h" nogil:
    void suite_kron_add_f32(const float* s, Py_ssize_t n, const float* w, Py_ssize_t k,
                            float* d)
    void suite_kron_add_f64(const double* s, Py_ssize_t n, const double* w, Py_ssize_t k,
                            double* d)
    ctypedef struct suite_column_tap:
        Py_ssize_t phase, shift, lo, hi
    ctypedef struct suite_phased_geometry:
        Py_ssize_t cig, height, width, w_stride, kh, kw, sw, span, out_w
        const suite_column_tap* taps
        const Py_ssize_t* tap_column
        const Py_ssize_t* first
        const Py_ssize_t* n_q
        const Py_ssize_t* kernel_rows
        const Py_ssize_t* n_rows
    void suite_phased_rows_f32(const suite_phased_geometry* g, const float* x_group,
                               const float* w_col, float start, Py_ssize_t oh0,
                               Py_ssize_t oh1, float* out, float* acc, const float** xrows,
                               const float** wrows)
    void suite_phased_rows_f64(const suite_phased_geometry* g, const double* x_group,
                               const double* w_col, double start, Py_ssize_t oh0,
                               Py_ssize_t oh1, double* out, double* acc, const double** xrows,
                               const double** wrows)


include "_rows.pxi"


cdef inline void direct_row(const floating* x_group, Py_ssize_t cig, Py_ssize_t height,
                            Py_ssize_t width, const floating* w_col, Py_ssize_t w_stride,
                            Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t oh, Py_ssize_t sh,
                            Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                            floating* row, Py_ssize_t out_w, Py_ssize_t inner_lo,
                            Py_ssize_t inner_hi, bint kron) noexcept nogil:
    """row += the contributions of every input pixel of the group's cig input planes
    (x_group, plane after plane) to output row oh of one output channel, whose kernels are
    w_col + ci*w_stride (kh x kw each), for kernel rows of dilation 1. Tap-major: each input
    pixel adds its value times its whole kernel row to a contiguous stretch of the output
    row, so the inner loop is a vectorizable axpy of length kw while the row stays in L1;
    input columns in [inner_lo, inner_hi) reach the row with their whole kernel row.
    ``kron``: the kernel rows are as long as the stride (sw == kw), padding 0: each input
    row adds its values times the kernel row, tiled (a Kronecker product), to the row's
    first width*kw elements."""
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
            if kron:
                # kernel rows as long as the stride, no padding: the input row's
                # contributions tile the output row (_direct_rows.h, from vectors)
                if floating is float:
                    suite_kron_add_f32(xrow, width, wrow, kw, row)
                else:
                    suite_kron_add_f64(xrow, width, wrow, kw, row)
                continue
            for iw in range(width):
                v = xrow[iw]
                o0 = iw * sw - pw
                # kernel columns j with 0 <= o0 + j < out_w: all of them inside
                # [inner_lo, inner_hi), found by division only at the edges
                if iw >= inner_lo and iw < inner_hi:
                    lo = 0
                    hi = kw
                else:
                    valid_columns(o0, 1, out_w, kw, &lo, &hi)
                dst = row + o0
                for j in range(lo, hi):
                    dst[j] = dst[j] + v * wrow[j]


def deconv2d_direct(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                    const floating[::1] bias, floating[:, :, :, ::1] out,
                    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                    Py_ssize_t tap_major_below, int n_threads):
    """out = conv_transpose2d(x, weight) + bias computed row by row from the definition, for
    layers with few input channels per group (depthwise upsampling filters), where a GEMM
    would have K = C_in/groups of 1 to 4.

    Each output row (image, channel, row) is one task: it starts from the bias, then every
    input row that reaches it adds its pixels times a kernel row, plane by plane and kernel
    row by kernel row; each thread's share of the rows is one "direct rows" stage. Every
    output element is written by one thread in a fixed order: the result does not depend on
    the thread count. tap_major_below: the shortest kernel rows the tap-major kernel may
    take.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3]
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups
    cdef Py_ssize_t rows = N * c_out * out_h, r, n, co, oh, grp, i, j, t, b, m, ci, k
    cdef TaskIndex rk
    cdef Py_ssize_t inner_lo = (pw + sw - 1) // sw, inner_hi, first, last, reach
    cdef Py_ssize_t part, parts = parts_for(rows, n_threads)
    cdef Py_ssize_t span = (out_w + sw - 1) // sw + 8, acc_stride = 0, rows_stride = 0
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* b_ptr = NULL
    cdef const floating* x_group
    cdef const floating* w_col
    cdef floating* row
    # phased: per thread a row's phases (acc) and the input and kernel rows that reach it
    cdef floating* acc = NULL
    cdef const floating** xrows = NULL
    cdef const floating** wrows = NULL
    # phased: the kernel columns by phase (taps[first_tap[b]:first_tap[b + 1]], ascending),
    # each phase's output columns (n_q), the kernel rows that reach each output row
    cdef suite_phased_geometry geometry
    cdef suite_column_tap* taps = NULL
    cdef Py_ssize_t* tap_column = NULL
    cdef Py_ssize_t* first_tap = NULL
    cdef Py_ssize_t* n_q = NULL
    cdef Py_ssize_t* kernel_rows = NULL     # per output row: kh pairs (kernel row, input row)
    cdef Py_ssize_t* n_rows = NULL          # per output row: how many of them reach it
    cdef bint kron, phased
    if rows == 0:
        return
    # input columns iw with 0 <= iw*sw - pw and iw*sw - pw + (kw - 1)*dw < out_w
    inner_hi = out_w - 1 - (kw - 1) * dw + pw
    inner_hi = inner_hi // sw + 1 if inner_hi >= 0 else 0
    if bias is not None:
        b_ptr = &bias[0]
    kron = sw == kw and dw == 1 and pw == 0 and out_w >= width * kw and 2 <= kw < tap_major_below
    # by column phase (_direct_rows.h), unless the kernel rows are long and undilated and
    # adding each input pixel's whole kernel row into the output row (direct_row) takes fewer
    # vector operations per input row reaching it: phased, about 1.5 per kernel column and 8
    # columns of its phase, plus interleaving the row (one per value from 3 phases on, one
    # per 8 below) shared by the ~kh/sh input rows that reach it; tap-major, the kernel
    # row's vectors plus ~6 of overhead per input pixel (docs/performance.md, item 48)
    phased = not kron
    if phased and dw == 1 and kw >= tap_major_below:
        phased = (1.5 * kw * ((span - 1) // 8)
                  + (out_w if sw > 2 else out_w / 8.0) / max(1.0, kh / <double>sh)
                  <= width * ((kw + 7) // 8 + 6.0))
    try:
        if phased:
            # each thread's part whole cache lines and one line apart: no line written by two
            acc_stride = ((sw * span * sizeof(floating) + 63) // 64 + 1) * 64 // sizeof(floating)
            rows_stride = ((cig * kh * sizeof(floating*) + 63) // 64 + 1) * 64 // sizeof(floating*)
            acc = <floating*> malloc(n_threads * acc_stride * sizeof(floating))
            xrows = <const floating**> malloc(n_threads * rows_stride * sizeof(floating*))
            wrows = <const floating**> malloc(n_threads * rows_stride * sizeof(floating*))
            taps = <suite_column_tap*> malloc(kw * sizeof(suite_column_tap))
            tap_column = <Py_ssize_t*> malloc(kw * sizeof(Py_ssize_t))
            first_tap = <Py_ssize_t*> malloc((sw + 1) * sizeof(Py_ssize_t))
            n_q = <Py_ssize_t*> malloc(sw * sizeof(Py_ssize_t))
            kernel_rows = <Py_ssize_t*> malloc(out_h * 2 * kh * sizeof(Py_ssize_t))
            n_rows = <Py_ssize_t*> malloc(out_h * sizeof(Py_ssize_t))
            if (acc == NULL or xrows == NULL or wrows == NULL or taps == NULL
                    or tap_column == NULL or first_tap == NULL or n_q == NULL
                    or kernel_rows == NULL or n_rows == NULL):
                raise MemoryError("deconv2d_direct: no memory for the row tables")
            for oh in range(out_h):
                n_rows[oh] = 0
                for i in range(kh):
                    t = oh + ph - i * dh
                    if t < 0 or t % sh != 0 or t // sh >= height:
                        continue
                    kernel_rows[2 * (oh * kh + n_rows[oh])] = i
                    kernel_rows[2 * (oh * kh + n_rows[oh]) + 1] = t // sh
                    n_rows[oh] += 1
            # output column ow = q*sw + b takes input column (ow + pw - j*dw) / sw = q + shift
            # from kernel column j when sw divides b + pw - j*dw
            k = 0
            for b in range(sw):
                first_tap[b] = k
                n_q[b] = (out_w - b + sw - 1) // sw if out_w > b else 0
                for j in range(kw):
                    t = pw - j * dw
                    reach = (b + t) % sw
                    if reach != 0:
                        continue
                    taps[k].phase = b
                    taps[k].shift = (b + t) // sw
                    taps[k].lo = -taps[k].shift if taps[k].shift < 0 else 0
                    taps[k].hi = min(n_q[b], width - taps[k].shift)
                    tap_column[k] = j
                    k += 1
            first_tap[sw] = k
            geometry.cig = cig
            geometry.height = height
            geometry.width = width
            geometry.w_stride = cog * kh * kw
            geometry.kh = kh
            geometry.kw = kw
            geometry.sw = sw
            geometry.span = span
            geometry.out_w = out_w
            geometry.taps = taps
            geometry.tap_column = tap_column
            geometry.first = first_tap
            geometry.n_q = n_q
            geometry.kernel_rows = kernel_rows
            geometry.n_rows = n_rows
        suite_cpu_has_avx2()        # asked once, before the threads
        with nogil:
            for part in prange(parts, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                first = part_start(part, parts, rows)
                last = part_start(part + 1, parts, rows)
                if phased:
                    # the part's rows, plane by plane
                    r = first
                    while r < last:
                        oh = r % out_h
                        co = (r // out_h) % c_out
                        n = r // (out_h * c_out)
                        k = min(out_h, oh + last - r)
                        grp = co // cog
                        m = threadid()
                        if floating is float:
                            suite_phased_rows_f32(
                                &geometry, &x[n, grp * cig, 0, 0],
                                &weight[grp * cig, co - grp * cog, 0, 0],
                                bias_value(b_ptr, co), oh, k, &out[n, co, 0, 0],
                                acc + m * acc_stride, xrows + m * rows_stride,
                                wrows + m * rows_stride)
                        else:
                            suite_phased_rows_f64(
                                &geometry, &x[n, grp * cig, 0, 0],
                                &weight[grp * cig, co - grp * cog, 0, 0],
                                bias_value(b_ptr, co), oh, k, &out[n, co, 0, 0],
                                acc + m * acc_stride, xrows + m * rows_stride,
                                wrows + m * rows_stride)
                        r = r + k - oh
                else:
                    rk = task_index(first, c_out, out_h)
                    grp = rk.c // cog
                    for r in range(first, last):
                        if rk.i == 0:
                            grp = rk.c // cog       # once a plane
                        row = &out[rk.n, rk.c, rk.i, 0]
                        fill_bias(row, out_w, b_ptr, rk.c)
                        direct_row(&x[rk.n, grp * cig, 0, 0], cig, height, width,
                                   &weight[grp * cig, rk.c - grp * cog, 0, 0], cog * kh * kw,
                                   kh, kw, rk.i, sh, sw, ph, pw, dh, row, out_w, inner_lo,
                                   inner_hi, kron)
                        rk = next_task(rk, c_out, out_h)
                suite_stage_stop(call, SUITE_STAGE_DIRECT_ROWS, t0)
    finally:
        free(acc)
        free(xrows)
        free(wrows)
        free(taps)
        free(tap_column)
        free(first_tap)
        free(n_q)
        free(kernel_rows)
        free(n_rows)
