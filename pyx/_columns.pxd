# The column matrix of a convolution window, shared by the kernels that build or fold one
# (_im2col.pyx, _phase.pyx, _banded.pyx) and the direct transposed convolution (_direct.pyx).
#
# Window: the geometry of one sliding window and its grid of positions; valid_columns: the
# output columns a row segment reaches; the im2col row loop (Caffe's order), the col2im row
# gather, and im2col over a batch of images, parallel over (image, channel, kernel row).

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from _bias cimport fill_value

from _profile cimport (SUITE_STAGE_IM2COL, TaskIndex, next_task, part_start, parts_for,
                       suite_profile_call, suite_stage_start, suite_stage_stop, task_index)


cdef extern from "_col2im_rows.h" nogil:
    void suite_col2im_interleave_f32(const float* src, Py_ssize_t ld, Py_ssize_t n,
                                     Py_ssize_t k, float* dst)
    void suite_col2im_spread_f32(const float* src, Py_ssize_t ld, Py_ssize_t n, Py_ssize_t kw,
                                 Py_ssize_t sw, float value, float* dst)
    int suite_col2im_spread_vectors(Py_ssize_t sw)
    ctypedef struct suite_col2im_columns:
        pass
    int suite_col2im_columns_init(suite_col2im_columns* g, Py_ssize_t kw, Py_ssize_t sw,
                                  Py_ssize_t dw, Py_ssize_t pw, const Py_ssize_t* lo,
                                  const Py_ssize_t* hi, Py_ssize_t width, Py_ssize_t ld)
    ctypedef struct suite_col2im_phases:
        pass
    int suite_col2im_phases_init(suite_col2im_phases* g, Py_ssize_t kw, Py_ssize_t sw,
                                 Py_ssize_t dw, Py_ssize_t pw, const Py_ssize_t* lo,
                                 const Py_ssize_t* hi, Py_ssize_t width, Py_ssize_t ld,
                                 Py_ssize_t col_w)
    void suite_col2im_rows_f32(const suite_col2im_columns* columns,
                               const suite_col2im_phases* phases, int phased,
                               const float* const* rows, Py_ssize_t n_rows, float* dst,
                               int fresh, float init)
    enum: SUITE_GATHER_MAX_KW
    void suite_stream_copy_f32(float* d, const float* src, Py_ssize_t n)
    void suite_stream_fill_f32(float* d, float value, Py_ssize_t n)
    void suite_stream_copy_f64(double* d, const double* src, Py_ssize_t n)
    void suite_stream_fill_f64(double* d, double value, Py_ssize_t n)
    void suite_stream_fence()


cdef struct Window:
    Py_ssize_t kh, kw, sh, sw, ph, pw, dh, dw
    Py_ssize_t col_h, col_w     # kernel positions along each axis (the columns' grid)


cdef inline void valid_columns(Py_ssize_t offset, Py_ssize_t stride, Py_ssize_t width,
                               Py_ssize_t n_columns, Py_ssize_t* lo,
                               Py_ssize_t* hi) noexcept nogil:
    """Columns c in [lo, hi) with 0 <= c*stride + offset < width."""
    cdef Py_ssize_t first = 0, end
    if offset < 0:
        first = (-offset + stride - 1) // stride
    if width - 1 - offset >= 0:
        end = (width - 1 - offset) // stride + 1
    else:
        end = 0
    if first > n_columns:
        first = n_columns
    if end > n_columns:
        end = n_columns
    if end < first:
        end = first
    lo[0] = first
    hi[0] = end


cdef enum:
    # im2col copies the rows of narrower planes as blocks (im2col_kernel_row_blocks). Wider
    # rows stay row by row: their loops cost little against the copy, and glibc's copies of
    # several KiB (rep movsb) looked slower on a 57-wide plane's columns (AMD EPYC, Zen 3).
    IM2COL_BLOCK_MAX_WIDTH = 32


cdef inline void im2col_kernel_row(const floating* im, Py_ssize_t height, Py_ssize_t width,
                                   const Window* g, Py_ssize_t i,
                                   floating* col, Py_ssize_t ld_col) noexcept nogil:
    """Write the kw column rows of kernel row i (rows i*kw + j, ld_col apart) of one plane.

    Caffe's loop order within: kernel column, output row, output column; writes are strictly
    sequential and a row that falls in the padding is zero-filled at once.
    """
    cdef Py_ssize_t j, oh, ow, h, offset, lo, hi, col_w = g.col_w, sw = g.sw
    cdef floating* dst
    cdef const floating* src
    for j in range(g.kw):
        offset = j * g.dw - g.pw
        valid_columns(offset, sw, width, col_w, &lo, &hi)
        dst = col + (i * g.kw + j) * ld_col
        for oh in range(g.col_h):
            h = oh * g.sh - g.ph + i * g.dh
            if h < 0 or h >= height:
                memset(dst, 0, col_w * sizeof(floating))
            else:
                src = im + h * width
                for ow in range(lo):
                    dst[ow] = 0
                if sw == 1:
                    for ow in range(lo, hi):
                        dst[ow] = src[ow + offset]
                else:
                    for ow in range(lo, hi):
                        dst[ow] = src[ow * sw + offset]
                for ow in range(hi, col_w):
                    dst[ow] = 0
            dst += col_w


cdef inline bint im2col_blocks(const Window* g, Py_ssize_t width) noexcept nogil:
    """True where im2col_kernel_row_blocks applies: unit strides, output rows as long as the
    plane's ("same" padding in width) and narrower than IM2COL_BLOCK_MAX_WIDTH."""
    return g.sw == 1 and g.sh == 1 and g.col_w == width and width < IM2COL_BLOCK_MAX_WIDTH


cdef inline void im2col_kernel_row_blocks(const floating* im, Py_ssize_t height,
                                          Py_ssize_t width, const Window* g, Py_ssize_t i,
                                          floating* col, Py_ssize_t ld_col) noexcept nogil:
    """im2col_kernel_row where im2col_blocks(g, width): a kernel column's rows inside the
    plane are one shifted block of it, copied at once, then its padding columns zeroed
    (narrow maps spent most of their im2col on the per-row loops)."""
    cdef Py_ssize_t j, oh, ow, offset, lo, hi, col_w = g.col_w
    cdef Py_ssize_t oh_lo, oh_hi, skip_lo, skip_hi, count
    cdef floating* dst
    oh_lo = max(0, min(g.col_h, g.ph - i * g.dh))
    oh_hi = max(oh_lo, min(g.col_h, height + g.ph - i * g.dh))
    for j in range(g.kw):
        offset = j * g.dw - g.pw
        valid_columns(offset, 1, width, col_w, &lo, &hi)
        dst = col + (i * g.kw + j) * ld_col
        memset(dst, 0, oh_lo * col_w * sizeof(floating))
        memset(dst + oh_hi * col_w, 0, (g.col_h - oh_hi) * col_w * sizeof(floating))
        # dst[oh*W + ow] = im[(oh - ph + i*dh)*W + ow + offset] for the rows inside the
        # plane, copied as one block less the values before its first and after its last
        # source value (which the padding columns' zeros below cover)
        skip_lo = max(0, -offset)
        skip_hi = max(0, offset)
        count = (oh_hi - oh_lo) * col_w - skip_lo - skip_hi
        if count > 0:
            memcpy(dst + oh_lo * col_w + skip_lo,
                   im + (oh_lo - g.ph + i * g.dh) * width + skip_lo + offset,
                   count * sizeof(floating))
        for oh in range(oh_lo, oh_hi):
            for ow in range(lo):
                dst[oh * col_w + ow] = 0
            for ow in range(hi, col_w):
                dst[oh * col_w + ow] = 0


cdef inline void im2col_planes(const floating* x, Py_ssize_t channels, Py_ssize_t height,
                               Py_ssize_t width, const Window* g, floating* col,
                               Py_ssize_t ld_col) noexcept nogil:
    """The column rows of channels consecutive planes (height x width each) on the calling
    thread: channel c, kernel tap r at col + (c*kh*kw + r)*ld_col."""
    cdef Py_ssize_t c, i
    if im2col_blocks(g, width):
        for c in range(channels):
            for i in range(g.kh):
                im2col_kernel_row_blocks(x + c * height * width, height, width, g, i,
                                         col + c * g.kh * g.kw * ld_col, ld_col)
        return
    for c in range(channels):
        for i in range(g.kh):
            im2col_kernel_row(x + c * height * width, height, width, g, i,
                              col + c * g.kh * g.kw * ld_col, ld_col)


#: Kernel widths up to this get their column ranges computed once per task
#: (column_ranges); wider kernels compute them on every row. The vector rows of
#: _col2im_rows.h take the same tables, so the bound is theirs.
cdef enum:
    RANGES_MAX_KW = SUITE_GATHER_MAX_KW


cdef inline void column_ranges(const Window* g, Py_ssize_t width, Py_ssize_t* lo,
                               Py_ssize_t* hi) noexcept nogil:
    """For each kernel column j < kw (at most RANGES_MAX_KW), the columns [lo[j], hi[j]) of
    the grid that land inside an output row of ``width`` (the same for every row)."""
    cdef Py_ssize_t j
    for j in range(g.kw):
        valid_columns(j * g.dw - g.pw, g.sw, width, g.col_w, &lo[j], &hi[j])


cdef inline bint interleaves(const Window* g) noexcept nogil:
    """True where col2im's rows are interleaves of each kernel row's column rows
    (_col2im_rows.h): kernel rows as long as the stride, 2 to 4, undilated, unpadded."""
    return g.sw == g.kw and 2 <= g.kw <= 4 and g.dw == 1 and g.pw == 0


cdef inline bint interleave_add(const floating* src, Py_ssize_t ld, Py_ssize_t n,
                               Py_ssize_t k, floating* dst) noexcept nogil:
    """dst[ow*k + j] += src[j*ld + ow] (ow < n, j < k) from vectors, True; float32 only
    (False for float64: the caller adds the rows one by one)."""
    if floating is float:
        suite_col2im_interleave_f32(src, ld, n, k, dst)
        return True
    else:
        return False


cdef enum:
    GATHER_ROWS = 16    # kernel rows a gathered output row takes at once (then again)


cdef struct RowPlan:
    bint interleaved            # interleaves(g), float32
    bint gathered               # output vectors: columns, or phases when phased (float32)
    bint phased                 # column strides 3 and 4: phases holds the geometry
    suite_col2im_columns columns
    suite_col2im_phases phases


cdef inline void row_plan(RowPlan* plan, const Window* g, Py_ssize_t width, Py_ssize_t ld_col,
                          bint is_float, const Py_ssize_t* lo_j,
                          const Py_ssize_t* hi_j) noexcept nogil:
    """How col2im_row adds a row of this geometry (column rows ld_col apart): the kernel
    row's column rows interleaved (interleaves), or every value of an output vector summed in
    registers (_col2im_rows.h: column strides 1 and 2; 3 and 4 by phase vectors;
    AVX2; needs column_ranges' tables, lo_j and hi_j), or one strided pass a kernel column
    (float64, other strides)."""
    plan.interleaved = is_float and interleaves(g)
    plan.phased = False
    plan.gathered = (is_float and not plan.interleaved and lo_j != NULL and
                     suite_col2im_columns_init(&plan.columns, g.kw, g.sw, g.dw, g.pw, lo_j,
                                               hi_j, width, ld_col) != 0)
    if is_float and not plan.interleaved and not plan.gathered and lo_j != NULL:
        plan.phased = suite_col2im_phases_init(&plan.phases, g.kw, g.sw, g.dw, g.pw, lo_j,
                                               hi_j, width, ld_col, g.col_w) != 0
        plan.gathered = plan.phased


cdef inline void gather_add(const RowPlan* plan, const floating** rows, Py_ssize_t n_rows,
                            floating* dst, bint fresh, floating init) noexcept nogil:
    if floating is float:
        suite_col2im_rows_f32(&plan.columns, &plan.phases, plan.phased, rows, n_rows, dst, fresh,
                              init)


cdef inline void col2im_row(const floating* col, Py_ssize_t ld_col, Py_ssize_t oh_lo,
                            Py_ssize_t oh_hi, Py_ssize_t width, const Window* g,
                            Py_ssize_t h, floating* dst, const Py_ssize_t* lo_j,
                            const Py_ssize_t* hi_j, const RowPlan* plan, bint fill,
                            floating value) noexcept nogil:
    """Add into output row h every column value of the grid rows
    [oh_lo, oh_hi) that lands on it; col holds those grid rows only (row oh at
    (oh - oh_lo)*col_w of each kernel tap's column row): the whole grid, or one band of it.

    Gather form of col2im: the kernel rows i with h = oh*sh - ph + i*dh for an oh in range
    contribute their kw column rows, in the order of i, then j; the row stays in cache and is
    written by one thread. lo_j, hi_j: column_ranges of this width (kw <= RANGES_MAX_KW), or
    NULL to compute them here. Undilated, the kernel rows that reach h are found with one
    division a row instead of two per kernel row (short output rows spent a third of their
    time in them: docs/performance.md, item 45). ``plan`` (row_plan) may add each kernel
    row's column rows as one interleave from vectors (item 53), or every value reaching an
    output vector in registers (item 54): the same sums in the same order either way.
    fill (plan.gathered only: other rows are filled by the caller): the row starts from
    ``value`` (its bias) rather than from what it holds; the vector rows start their
    registers from it instead of reading back a row just filled (stores narrower than their
    loads, which cannot forward to them).
    """
    cdef Py_ssize_t i, i_step, j, oh, ow, t, offset, lo, hi, sw = g.sw, sh = g.sh
    cdef Py_ssize_t n_rows = 0
    cdef const floating* src
    cdef const floating* krow
    cdef const floating* rows[GATHER_ROWS]
    cdef bint pending = fill        # the row is written by the first gather
    if g.dh == 1:
        # the kernel rows that reach h are every sh-th from (h + ph) mod sh: one division
        t = h + g.ph
        i = t % sh
        oh = t // sh
        i_step = sh
    else:
        t = 0
        oh = 0
        i = 0
        i_step = 1
    while i < g.kh:
        if g.dh == 1:
            if oh < oh_lo:      # oh falls as i rises: no later kernel row is in range
                break
        else:
            t = h + g.ph - i * g.dh
            if t < 0:
                break
            if t % sh != 0:
                i += 1
                continue
            oh = t // sh
        if oh_lo <= oh < oh_hi:
            # kernel row i's first column row, at grid row oh
            krow = col + i * g.kw * ld_col + (oh - oh_lo) * g.col_w
            if plan.gathered:
                rows[n_rows] = krow
                n_rows += 1
                if n_rows == GATHER_ROWS:
                    gather_add(plan, rows, n_rows, dst, pending, value)
                    pending = False
                    n_rows = 0
            elif not (plan.interleaved and interleave_add(krow, ld_col, g.col_w, g.kw, dst)):
                for j in range(g.kw):
                    offset = j * g.dw - g.pw
                    if lo_j != NULL:
                        lo = lo_j[j]
                        hi = hi_j[j]
                    else:
                        valid_columns(offset, sw, width, g.col_w, &lo, &hi)
                    src = krow + j * ld_col
                    if sw == 1:
                        for ow in range(lo, hi):
                            dst[ow + offset] += src[ow]
                    else:
                        for ow in range(lo, hi):
                            dst[ow * sw + offset] += src[ow]
        i += i_step
        if g.dh == 1:
            oh -= 1
    if n_rows > 0:
        gather_add(plan, rows, n_rows, dst, pending, value)
    elif pending:       # no kernel row reaches this row: its bias alone
        fill_value(dst, width, value)


cdef inline bint disjoint(const Window* g) noexcept nogil:
    """True where every output value gets at most one column value: kernels no longer than
    the stride along both axes, undilated (a kernel row reaching an output row is the only
    one, and its columns land on distinct outputs)."""
    return g.kh <= g.sh and g.kw <= g.sw and g.dh == 1 and g.dw == 1


cdef enum:
    SPREAD_MAX = 2048   # values of the spread rows disjoint_plane keeps (8 KiB of float32)


cdef inline bint spreads(const Window* g, bint is_float) noexcept nogil:
    """True where disjoint_plane spreads whole grid rows: a grid row of every kernel row fits
    SPREAD_MAX, and the kernel rows are as long as the stride (2 or more: a kernel column a
    row is a copy col2im_row's vector rows make as fast), or float32 with vectors for the
    stride (_col2im_rows.h, suite_col2im_spread_vectors: 2-4 on AVX2; spread by scalar
    loops, rows with gaps took 2.1x the time of col2im_row's vector rows on k1 s2)."""
    if g.kh * g.sw * g.col_w > SPREAD_MAX:
        return False
    return 2 <= g.kw == g.sw or (is_float and suite_col2im_spread_vectors(g.sw) != 0)


cdef inline bint by_planes(const Window* g, const RowPlan* plan,
                           bint is_float) noexcept nogil:
    """True where col2im runs plane by plane (disjoint_plane): disjoint geometries that
    spread, or whose rows have no vector path (the others keep their vector rows)."""
    return disjoint(g) and (spreads(g, is_float) or not (plan.gathered or plan.interleaved))


cdef inline void stream_copy(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    """dst[0:n] = src[0:n], whole lines of dst by non-temporal stores (_col2im_rows.h)."""
    if floating is float:
        suite_stream_copy_f32(dst, src, n)
    else:
        suite_stream_copy_f64(dst, src, n)


cdef inline void stream_fill(floating* dst, floating value, Py_ssize_t n) noexcept nogil:
    """dst[0:n] = value, whole lines of dst by non-temporal stores (_col2im_rows.h)."""
    if floating is float:
        suite_stream_fill_f32(dst, value, n)
    else:
        suite_stream_fill_f64(dst, value, n)


cdef inline void spread(const floating* src, Py_ssize_t ld, Py_ssize_t n, Py_ssize_t kw,
                        Py_ssize_t sw, floating value, floating* dst) noexcept nogil:
    """dst[ow*sw + j] = value + src[j*ld + ow] for j < kw, value for kw <= j < sw (ow < n):
    _col2im_rows.h, suite_col2im_spread_f32."""
    cdef Py_ssize_t ow, j
    if floating is float:
        suite_col2im_spread_f32(src, ld, n, kw, sw, value, dst)
    else:
        for ow in range(n):
            for j in range(kw):
                dst[ow * sw + j] = value + src[j * ld + ow]
            for j in range(kw, sw):
                dst[ow * sw + j] = value


cdef inline void disjoint_rows_add(const floating* krow, Py_ssize_t ld_col, Py_ssize_t width,
                                   const Window* g, floating* dst, const Py_ssize_t* lo_j,
                                   const Py_ssize_t* hi_j) noexcept nogil:
    """dst += one grid row of one kernel row (krow: its first column row) where it lands."""
    cdef Py_ssize_t j, ow, offset, lo, hi
    cdef const floating* src
    for j in range(g.kw):
        offset = j - g.pw
        if lo_j != NULL:
            lo = lo_j[j]
            hi = hi_j[j]
        else:
            valid_columns(offset, g.sw, width, g.col_w, &lo, &hi)
        src = krow + j * ld_col
        for ow in range(lo, hi):
            dst[ow * g.sw + offset] += src[ow]


cdef inline void fill_rows(floating* plane, Py_ssize_t h0, Py_ssize_t h1, Py_ssize_t width,
                           floating value, bint stream) noexcept nogil:
    """The rows [h0, h1) of a plane (rows of ``width``) at value: one run, streamed or not;
    nothing where h1 <= h0."""
    if h0 >= h1:
        return
    if stream:
        stream_fill(plane + h0 * width, value, (h1 - h0) * width)
    else:
        fill_value(plane + h0 * width, (h1 - h0) * width, value)


cdef inline void disjoint_plane(const floating* col, Py_ssize_t ld_col, Py_ssize_t oh_lo,
                                Py_ssize_t oh_hi, Py_ssize_t width, const Window* g,
                                Py_ssize_t first, Py_ssize_t row_end, Py_ssize_t filled,
                                floating* plane, const Py_ssize_t* lo_j,
                                const Py_ssize_t* hi_j, floating value,
                                bint stream=False) noexcept nogil:
    """col2im_row for the rows [first, row_end) of one plane (``plane``: its row 0; col as
    col2im_row takes it) of a disjoint geometry (:func:`disjoint`), with no search for the
    kernel rows that reach an output row. Rows from ``filled`` on start from ``value``, the
    rows before it from what they hold. Each output value is value + its one column value
    (or value alone): the sums of col2im_row.

    Where grid rows fit (:func:`spreads`), each kernel row's grid rows are spread, a run of
    them at a time, into a buffer holding value + column value at every output column
    (``spread``), and each output row from ``filled`` on is a copy of its piece; the rows
    no kernel row reaches (kernels shorter than the stride: k1 s2 leaves three outputs in
    four at the bias) are filled. Otherwise the rows are filled, then each grid row's
    kernel rows added where they land. lo_j, hi_j: column_ranges of this width, or NULL
    (computed here). ``stream``: the spread rows from ``filled`` on are written with
    non-temporal stores (outputs past the cache; stream_copy, stream_fill)."""
    cdef Py_ssize_t f0 = max(first, filled), oh, i, h, t, r0, r1, n_rows, span, keep
    cdef Py_ssize_t above, below, h0
    cdef floating buffer[SPREAD_MAX]
    cdef const floating* krow
    cdef floating* dst
    if not spreads(g, floating is float):
        fill_rows(plane, f0, row_end, width, value, False)
        for oh in range(oh_lo, oh_hi):
            for i in range(g.kh):
                h = oh * g.sh - g.ph + i
                if first <= h < row_end:
                    disjoint_rows_add(col + i * g.kw * ld_col + (oh - oh_lo) * g.col_w, ld_col,
                                      width, g, plane + h * width, lo_j, hi_j)
        return
    span = g.sw * g.col_w
    keep = max(0, min(width, span - g.pw))      # the output columns a spread row covers
    n_rows = SPREAD_MAX // (g.kh * span)
    # grid rows whose output rows may lie in [first, row_end); each row checked below
    r0 = max(oh_lo, (first + g.ph) // g.sh - 1)
    r1 = min(oh_hi, (row_end + g.ph) // g.sh + 1)
    # Rows of grid rows outside [r0, r1) (no grid row of this band reaches them): the rows
    # above the first and below the last, filled here. The rows between kernel rows
    # (kernels shorter than the stride: k2 s4 leaves two rows in four at the value) filled
    # below with the rows the kernel rows reach, one pass down the plane (k2 s4, 4 x 23
    # planes of 144x144: 1.1-1.6x the call against a pass of fills and then one of
    # copies); streamed outputs fill them here (the one pass did not help k1 s2 of 65 MB,
    # whose stores bypass the cache). i: the kernel row that could reach h.
    above = min(row_end, r0 * g.sh - g.ph)
    below = max(f0, r1 * g.sh - g.ph)
    fill_rows(plane, f0, above, width, value, stream)
    fill_rows(plane, below, row_end, width, value, stream)
    if stream and g.kh < g.sh:
        h0 = max(f0, above)
        i = (h0 + g.ph) % g.sh
        for h in range(h0, min(row_end, below)):
            if i >= g.kh:
                stream_fill(plane + h * width, value, width)
            i += 1
            if i == g.sh:
                i = 0
    while r0 < r1:
        # a run of t grid rows, each kernel row's spread at buffer + i*t*span, then the
        # output rows they reach in order (the stores stream through the plane)
        t = min(r1 - r0, n_rows)
        for i in range(g.kh):
            spread(col + i * g.kw * ld_col + (r0 - oh_lo) * g.col_w, ld_col, t * g.col_w,
                   g.kw, g.sw, value, buffer + i * t * span)
        for oh in range(r0, r0 + t):
            for i in range(g.sh):
                h = oh * g.sh - g.ph + i
                if h < first or h >= row_end:
                    continue
                dst = plane + h * width
                if i >= g.kh:
                    if h >= filled and not stream:
                        fill_value(dst, width, value)
                elif h >= filled and stream:
                    stream_copy(dst, buffer + (i * t + oh - r0) * span + g.pw, keep)
                    stream_fill(dst + keep, value, width - keep)
                elif h >= filled:
                    memcpy(dst, buffer + (i * t + oh - r0) * span + g.pw,
                           keep * sizeof(floating))
                    fill_value(dst + keep, width - keep, value)
                else:
                    disjoint_rows_add(col + i * g.kw * ld_col + (oh - oh_lo) * g.col_w,
                                      ld_col, width, g, dst, lo_j, hi_j)
        r0 += t
    if stream:
        suite_stream_fence()


cdef inline Py_ssize_t band_first(const Window* g, Py_ssize_t oh_lo) noexcept nogil:
    """The first output row that grid rows from oh_lo on reach (0 at the top)."""
    return max(0, oh_lo * g.sh - g.ph)


cdef inline Py_ssize_t band_end(const Window* g, Py_ssize_t height,
                                Py_ssize_t oh_hi) noexcept nogil:
    """One past the last output row that grid rows below oh_hi reach, clipped to the
    output's height; the output's height for the last band."""
    if oh_hi >= g.col_h:
        return height
    return min(height, (oh_hi - 1) * g.sh - g.ph + (g.kh - 1) * g.dh + 1)


cdef inline Window make_window(Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                               Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                               Py_ssize_t col_h, Py_ssize_t col_w) noexcept nogil:
    cdef Window g
    g.kh = kh
    g.kw = kw
    g.sh = sh
    g.sw = sw
    g.ph = ph
    g.pw = pw
    g.dh = dh
    g.dw = dw
    g.col_h = col_h
    g.col_w = col_w
    return g


# Planes: image n, channel c of an image tensor is at  base + n*image_stride + c*height*width.
# Columns: image n, channel c, kernel tap r is the row segment starting at
#     col + n*col_image_offset + (c*kh*kw + r)*ld_col
# which covers both the packed layout (images side by side: col_image_offset = L,
# ld_col = n_images*L) and unfold's layout (col_image_offset = C*kh*kw*L, ld_col = L).

cdef inline void im2col_images(const floating* x, Py_ssize_t image_stride, Py_ssize_t n_images,
                               Py_ssize_t channels, Py_ssize_t height, Py_ssize_t width,
                               const Window* g, floating* col, Py_ssize_t col_image_offset,
                               Py_ssize_t ld_col, int n_threads) noexcept nogil:
    """Parallel over (channel, kernel row, image), the image fastest: every task writes its
    own kw column rows' segment of one image, and a thread's consecutive tasks the images'
    segments of the same rows (split by image first, two threads wrote the two ends of
    every row's shared cache line: a batch of 2 images of 9 x 14x8, k7, ran 229 us of
    im2col at two threads against 30 at one; docs/performance.md, item 93). Each thread's
    share of the tasks is one "im2col" stage."""
    cdef Py_ssize_t task, kh = g.kh, part
    cdef TaskIndex k
    cdef Py_ssize_t total = n_images * channels * kh, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef bint blocks = im2col_blocks(g, width)
    for part in prange(parts, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        # k.n: the channel, k.c: the kernel row, k.i: the image
        k = task_index(part_start(part, parts, total), kh, n_images)
        for task in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
            if blocks:
                im2col_kernel_row_blocks(
                    x + k.i * image_stride + k.n * height * width, height, width, g, k.c,
                    col + k.i * col_image_offset + k.n * kh * g.kw * ld_col, ld_col)
            else:
                im2col_kernel_row(x + k.i * image_stride + k.n * height * width, height,
                                  width, g, k.c,
                                  col + k.i * col_image_offset + k.n * kh * g.kw * ld_col,
                                  ld_col)
            k = next_task(k, kh, n_images)
        suite_stage_stop(call, SUITE_STAGE_IM2COL, t0)
