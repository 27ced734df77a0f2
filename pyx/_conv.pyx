"""Compiled core of im2col / col2im, convolution and transposed convolution (NCHW).

The Python layer (``suite.conv``) validates every argument, makes the inputs C-contiguous,
allocates the outputs and chooses how many images share one GEMM; these kernels trust it.

Threading: one level at a time. GEMMs run on BLAS's threads (the caller sets BLAS's limit);
the loops between them (im2col, col2im, packing) run on ``n_threads`` OpenMP threads, each
thread owning whole output planes, so no two threads ever write the same element and the
result of every loop does not depend on the thread count.

Batching: ``images_per_gemm`` images are packed side by side into one column matrix so that
small feature maps still give BLAS a wide matrix (a 4x4 map alone is a 16-column GEMM).
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memmove, memset

from _cython_blas cimport gemm
from _interpolation cimport bilinear_row, nearest_row
from _openmp_helpers cimport omp_get_thread_num


# ---------------------------------------------------------------------------------------------
# Geometry shared by im2col and col2im
# ---------------------------------------------------------------------------------------------

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


cdef inline void col2im_row(const floating* col, Py_ssize_t ld_col, Py_ssize_t height,
                            Py_ssize_t width, const Window* g, Py_ssize_t h,
                            floating* dst) noexcept nogil:
    """Add into output row h (already initialised) every column value that lands on it.

    Gather form of col2im: the kernel rows i with h = oh*sh - ph + i*dh for a whole oh in
    range contribute their kw column rows; the row stays in cache and is written by one thread.
    """
    cdef Py_ssize_t i, j, oh, ow, t, offset, lo, hi, sw = g.sw
    cdef const floating* src
    for i in range(g.kh):
        t = h + g.ph - i * g.dh
        if t < 0 or t % g.sh != 0:
            continue
        oh = t // g.sh
        if oh >= g.col_h:
            continue
        for j in range(g.kw):
            offset = j * g.dw - g.pw
            valid_columns(offset, sw, width, g.col_w, &lo, &hi)
            src = col + (i * g.kw + j) * ld_col + oh * g.col_w
            if sw == 1:
                for ow in range(lo, hi):
                    dst[ow + offset] += src[ow]
            else:
                for ow in range(lo, hi):
                    dst[ow * sw + offset] += src[ow]


# ---------------------------------------------------------------------------------------------
# Batched drivers
# ---------------------------------------------------------------------------------------------
# Planes: image n, channel c of an image tensor is at  base + n*image_stride + c*height*width.
# Columns: image n, channel c, kernel tap r is the row segment starting at
#     col + n*col_image_offset + (c*kh*kw + r)*ld_col
# which covers both the packed layout (images side by side: col_image_offset = L,
# ld_col = n_images*L) and unfold's layout (col_image_offset = C*kh*kw*L, ld_col = L).

cdef void im2col_images(const floating* x, Py_ssize_t image_stride, Py_ssize_t n_images,
                        Py_ssize_t channels, Py_ssize_t height, Py_ssize_t width,
                        const Window* g, floating* col, Py_ssize_t col_image_offset,
                        Py_ssize_t ld_col, int n_threads) noexcept nogil:
    """Parallel over (image, channel, kernel row): every task writes its own kw column rows."""
    cdef Py_ssize_t task, p, n, c, i, kh = g.kh
    for task in prange(n_images * channels * kh, schedule="static", num_threads=n_threads):
        p = task // kh
        i = task - p * kh
        n = p // channels
        c = p - n * channels
        im2col_kernel_row(x + n * image_stride + c * height * width, height, width, g, i,
                          col + n * col_image_offset + c * kh * g.kw * ld_col, ld_col)


cdef void col2im_images(const floating* col, Py_ssize_t col_image_offset, Py_ssize_t ld_col,
                        Py_ssize_t n_images, Py_ssize_t channels,
                        Py_ssize_t height, Py_ssize_t width, const Window* g,
                        const floating* bias, floating* im, Py_ssize_t image_stride,
                        int n_threads) noexcept nogil:
    """im = bias (or 0) + col2im(col), parallel over output rows; bias may be NULL."""
    cdef Py_ssize_t task, p, n, c, h, q, kk = g.kh * g.kw
    cdef floating* dst
    cdef floating value
    for task in prange(n_images * channels * height, schedule="static", num_threads=n_threads):
        p = task // height
        h = task - p * height
        n = p // channels
        c = p - n * channels
        dst = im + n * image_stride + (c * height + h) * width
        value = 0
        if bias != NULL:
            value = bias[c]
        for q in range(width):
            dst[q] = value
        col2im_row(col + n * col_image_offset + c * kk * ld_col, ld_col, height, width, g, h,
                   dst)


cdef void col2im_block(const floating* col, Py_ssize_t col_image_offset, Py_ssize_t ld_col,
                       Py_ssize_t n_images, Py_ssize_t channels,
                       Py_ssize_t height, Py_ssize_t width, const Window* g,
                       const floating* bias, floating* im,
                       Py_ssize_t image_stride) noexcept nogil:
    """col2im_images on the calling thread alone (one task of a parallel loop)."""
    cdef Py_ssize_t n, c, h, q, kk = g.kh * g.kw
    cdef floating* dst
    cdef floating value
    for n in range(n_images):
        for c in range(channels):
            value = 0
            if bias != NULL:
                value = bias[c]
            for h in range(height):
                dst = im + n * image_stride + (c * height + h) * width
                for q in range(width):
                    dst[q] = value
                col2im_row(col + n * col_image_offset + c * kk * ld_col, ld_col, height,
                           width, g, h, dst)


cdef void pack_images(const floating* x, Py_ssize_t n_images, Py_ssize_t channels,
                      Py_ssize_t plane, floating* packed, int n_threads) noexcept nogil:
    """(n, c, plane) -> (c, n*plane): images side by side, one GEMM operand for all."""
    cdef Py_ssize_t p, n, c
    for p in prange(n_images * channels, schedule="static", num_threads=n_threads):
        n = p // channels
        c = p - n * channels
        memcpy(packed + c * n_images * plane + n * plane, x + p * plane,
               plane * sizeof(floating))


cdef void unpack_images(const floating* packed, Py_ssize_t n_images, Py_ssize_t channels,
                        Py_ssize_t plane, const floating* bias, floating* out,
                        int n_threads) noexcept nogil:
    """(c, n*plane) -> (n, c, plane), adding bias[c] when bias is not NULL."""
    cdef Py_ssize_t p, n, c, q
    cdef const floating* src
    cdef floating* dst
    cdef floating value
    for p in prange(n_images * channels, schedule="static", num_threads=n_threads):
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


cdef void fill_planes(floating* out, Py_ssize_t channels, Py_ssize_t plane,
                      const floating* bias, int n_threads) noexcept nogil:
    cdef Py_ssize_t c, q
    cdef floating value
    for c in prange(channels, schedule="static", num_threads=n_threads):
        value = bias[c]
        for q in range(plane):
            out[c * plane + q] = value


cdef void parallel_gemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        const floating* a, Py_ssize_t lda, const floating* b, Py_ssize_t ldb,
                        floating beta, floating* c, Py_ssize_t ldc,
                        int n_threads) noexcept nogil:
    """C = op(A) op(B) + beta*C (row-major), split into n_threads blocks of C's rows or columns,
    each a single-threaded BLAS call on its own OpenMP thread (BLAS is held at one thread by
    the caller). One thread pool for the whole kernel: no hand-over between OpenMP's threads
    and BLAS's, and no nesting."""
    cdef Py_ssize_t t, lo, hi, blocks
    cdef floating one = 1
    cdef bint split_rows = m >= n
    blocks = n_threads
    if blocks > (m if split_rows else n) // 16:
        blocks = (m if split_rows else n) // 16
    if blocks <= 1:
        gemm(trans_a, trans_b, <int> m, <int> n, <int> k, one, a, <int> lda, b, <int> ldb,
             beta, c, <int> ldc)
        return
    for t in prange(blocks, schedule="static", num_threads=n_threads):
        if split_rows:
            lo = (t * m // blocks) // 16 * 16
            hi = m if t == blocks - 1 else ((t + 1) * m // blocks) // 16 * 16
            gemm(trans_a, trans_b, <int> (hi - lo), <int> n, <int> k, one,
                 a + (lo if trans_a else lo * lda), <int> lda, b, <int> ldb,
                 beta, c + lo * ldc, <int> ldc)
        else:
            lo = (t * n // blocks) // 16 * 16
            hi = n if t == blocks - 1 else ((t + 1) * n // blocks) // 16 * 16
            gemm(trans_a, trans_b, <int> m, <int> (hi - lo), <int> k, one,
                 a, <int> lda, b + (lo * ldb if trans_b else lo), <int> ldb,
                 beta, c + lo, <int> ldc)


cdef inline floating* allocate(Py_ssize_t count, floating* like) except? NULL:
    cdef floating* p
    if count <= 0:
        return NULL
    p = <floating*> malloc(count * sizeof(floating))
    if p == NULL:
        raise MemoryError(f"could not allocate a workspace of {count * sizeof(floating)} bytes")
    return p


# ---------------------------------------------------------------------------------------------
# Entry points (called by suite.conv with validated, C-contiguous arrays; BLAS held at one
# thread by the caller for those that run GEMMs)
# ---------------------------------------------------------------------------------------------

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
    with nogil:
        col2im_images(&cols[0, 0, 0], cols.shape[1] * cols.shape[2], cols.shape[2],
                      n, channels, out.shape[2], out.shape[3], &g,
                      NULL, &out[0, 0, 0, 0], channels * out.shape[2] * out.shape[3],
                      n_threads)


def conv2d_im2col(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                  const floating[::1] bias, floating[:, :, :, ::1] out,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                  Py_ssize_t images_per_gemm, int n_threads):
    """out = conv2d(x, weight) + bias: per batch of images and group, im2col then one GEMM.

    weight (C_out, C_in/groups, kh, kw); bias None or (C_out,).
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, K = cig * kk
    cdef Py_ssize_t L = out_h * out_w, nb = images_per_gemm, n0, cur, grp, ld
    cdef Py_ssize_t in_image = c_in * height * width, out_image = c_out * L
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w)
    cdef bint pointwise = (kk == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0
                           and L == height * width)
    cdef const floating* b_ptr = NULL
    cdef const floating* operand
    cdef floating* col = NULL
    cdef floating* packed_out = NULL
    cdef floating zero = 0, one = 1, beta
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    try:
        col = allocate(K * nb * L, col)
        if nb > 1:
            packed_out = allocate(c_out * nb * L, col)
        with nogil:
            n0 = 0
            while n0 < N:
                cur = min(nb, N - n0)
                ld = cur * L
                beta = zero
                if cur == 1 and b_ptr != NULL:
                    fill_planes(&out[n0, 0, 0, 0], c_out, L, b_ptr, n_threads)
                    beta = one
                for grp in range(groups):
                    if pointwise and cur == 1:
                        operand = &x[n0, grp * cig, 0, 0]
                    else:
                        im2col_images(&x[n0, grp * cig, 0, 0], in_image, cur, cig,
                                      height, width, &g, col, L, ld, n_threads)
                        operand = col
                    if cur == 1:
                        parallel_gemm(False, False, cog, L, K, &weight[grp * cog, 0, 0, 0], K,
                                      operand, ld, beta, &out[n0, grp * cog, 0, 0], L,
                                      n_threads)
                    else:
                        parallel_gemm(False, False, cog, ld, K, &weight[grp * cog, 0, 0, 0], K,
                                      operand, ld, zero, packed_out + grp * cog * ld, ld,
                                      n_threads)
                if cur > 1:
                    unpack_images(packed_out, cur, c_out, L, b_ptr, &out[n0, 0, 0, 0],
                                  n_threads)
                n0 += cur
    finally:
        free(col)
        free(packed_out)


def deconv2d_col2im(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                    const floating[::1] bias, floating[:, :, :, ::1] out,
                    Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                    Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                    Py_ssize_t images_per_gemm, Py_ssize_t channels_per_block,
                    int n_threads):
    """out = conv_transpose2d(x, weight) + bias by Caffe's method: col = W_g^T x_g (GEMM),
    then col2im into the group's output channels.

    weight (C_in, C_out/groups, kh, kw); bias None or (C_out,).

    With channels_per_block > 0 the work is cut into independent tasks (images_per_gemm
    images x one group x channels_per_block output channels), each a single-threaded GEMM
    into its thread's column block, small enough to stay in cache, followed at once by the
    block's col2im: no barrier, no column matrix larger than a cache, and the result does not
    depend on the thread count. With channels_per_block == 0 (too few tasks for the threads,
    e.g. one image with one output channel) each group's GEMM is split across the threads
    and col2im is parallel over output rows.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, M = cog * kk
    cdef Py_ssize_t HW = height * width, nb = images_per_gemm, n0, cur, grp, ld
    cdef Py_ssize_t out_image = c_out * out_h * out_w, plane = out_h * out_w
    cdef Py_ssize_t cb = channels_per_block, n_chunks, n_blocks, task, chunk, rest, blk
    cdef Py_ssize_t c0, count, block_size = 0
    cdef Window g = make_window(kh, kw, sh, sw, ph, pw, dh, dw, height, width)
    cdef const floating* b_ptr = NULL
    cdef const floating* operand
    cdef floating* col = NULL
    cdef floating* packed = NULL
    cdef floating* block
    cdef floating zero = 0, one = 1
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    n_chunks = (N + nb - 1) // nb
    try:
        if nb > 1:
            packed = allocate(n_chunks * c_in * nb * HW, col)
        if cb > 0:
            block_size = cb * kk * nb * HW
            col = allocate(n_threads * block_size, col)
        else:
            col = allocate(M * nb * HW, col)
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
                    gemm(True, False, <int> (count * kk), <int> ld, <int> cig,
                         one, &weight[grp * cig, c0, 0, 0], <int> M,
                         operand + grp * cig * ld, <int> ld, zero, block, <int> ld)
                    col2im_block(block, HW, ld, cur, count, out_h, out_w, &g,
                                 NULL if b_ptr == NULL else b_ptr + grp * cog + c0,
                                 &out[n0, grp * cog + c0, 0, 0], out_image)
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
                        parallel_gemm(True, False, M, ld, cig, &weight[grp * cig, 0, 0, 0], M,
                                      operand + grp * cig * ld, ld, zero, col, ld, n_threads)
                        col2im_images(col, HW, ld, cur, cog, out_h, out_w, &g,
                                      NULL if b_ptr == NULL else b_ptr + grp * cog,
                                      &out[n0, grp * cog, 0, 0], out_image, n_threads)
    finally:
        free(col)
        free(packed)


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
    if N == 0:
        return
    try:
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
            for c in prange(c_out, schedule="static", num_threads=n_threads):
                total = 0
                for n in range(N):
                    src = &grad_out[n, c, 0, 0]
                    for q in range(plane):
                        total = total + src[q]
                grad_b[c] = <floating> total
    finally:
        free(col)
        free(packed)
        free(packed_grad)


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
    cdef floating value = 0
    if bias != NULL:
        value = bias[c]
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
    """Every row of a phase (scatter_row), parallel over (image, channel, row)."""
    cdef Py_ssize_t task, p, n, c, t
    for task in prange(n_images * channels * q_h, schedule="static", num_threads=n_threads):
        p = task // q_h
        t = task - p * q_h
        n = p // channels
        c = p - n * channels
        scatter_row(y, ld_y, q_h, q_w, bias, out, image_stride, out_w, out_plane, first_h,
                    first_w, sh, sw, n, c, t)


cdef void phase_task(const floating* x, Py_ssize_t in_image, Py_ssize_t n_images,
                     Py_ssize_t channels, Py_ssize_t height, Py_ssize_t width,
                     const Window* g, const floating* w, Py_ssize_t m, Py_ssize_t k,
                     floating* col, floating* y, const floating* bias, floating* out,
                     Py_ssize_t out_image, Py_ssize_t out_w, Py_ssize_t out_plane,
                     Py_ssize_t first_h, Py_ssize_t first_w, Py_ssize_t sh,
                     Py_ssize_t sw) noexcept nogil:
    """One phase of one group for a batch of images, on the calling thread alone: im2col,
    a single-threaded GEMM, and the phase's rows written with the bias."""
    cdef Py_ssize_t q = g.col_h * g.col_w, ld = n_images * q, n, c, i, t
    cdef floating one = 1, zero = 0
    cdef const floating* result = NULL
    if k > 0:
        for n in range(n_images):
            for c in range(channels):
                for i in range(g.kh):
                    im2col_kernel_row(x + n * in_image + c * height * width, height, width,
                                      g, i, col + n * q + c * g.kh * g.kw * ld, ld)
        gemm(False, False, <int> m, <int> ld, <int> k, one, w, <int> k, col, <int> ld,
             zero, y, <int> ld)
        result = y
    for n in range(n_images):
        for c in range(m):
            for t in range(g.col_h):
                scatter_row(result, ld, g.col_h, g.col_w, bias, out, out_image, out_w,
                            out_plane, first_h, first_w, sh, sw, n, c, t)


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
    cdef Py_ssize_t per_group = 0, task, grp, rh, rw, th, tw, co, ci, a, b, c0, c1, p, n_taps
    cdef Py_ssize_t n_blocks = (cig + 15) // 16, kw = weight.shape[3]
    cdef Py_ssize_t kk = weight.shape[2] * kw
    cdef Py_ssize_t* offsets = <Py_ssize_t*> malloc(sh * sw * sizeof(Py_ssize_t))
    cdef Py_ssize_t* taps = <Py_ssize_t*> malloc(sh * sw * kk * sizeof(Py_ssize_t))
    cdef const floating* src
    cdef floating* dst
    if offsets == NULL or taps == NULL:
        free(offsets)
        free(taps)
        raise MemoryError()
    try:
        for rh in range(sh):
            for rw in range(sw):
                offsets[rh * sw + rw] = per_group
                per_group += cog * cig * phases_h[rh, 0] * phases_w[rw, 0]
        if per_group == 0:
            return
        # where tap (a, b) of each phase sits in a (kh x kw) kernel
        for rh in range(sh):
            for rw in range(sw):
                th = phases_h[rh, 0]
                tw = phases_w[rw, 0]
                for a in range(th):
                    for b in range(tw):
                        taps[(rh * sw + rw) * kk + a * tw + b] = (
                            (phases_h[rh, 1] + (th - 1 - a) * step_h) * kw
                            + phases_w[rw, 1] + (tw - 1 - b) * step_w)
        with nogil:
            for task in prange(groups * n_blocks, schedule="static", num_threads=n_threads):
                grp = task // n_blocks
                c0 = (task % n_blocks) * 16
                c1 = min(c0 + 16, cig)
                for co in range(cog):
                    for ci in range(c0, c1):
                        src = &weight[grp * cig + ci, co, 0, 0]
                        for p in range(sh * sw):
                            n_taps = phases_h[p // sw, 0] * phases_w[p % sw, 0]
                            dst = (&packed[0] + grp * per_group + offsets[p]
                                   + (co * cig + ci) * n_taps)
                            for a in range(n_taps):
                                dst[a] = src[taps[p * kk + a]]
    finally:
        free(offsets)
        free(taps)


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
    cdef Py_ssize_t sh = taps_h.shape[0], sw = taps_w.shape[0]
    cdef Py_ssize_t task, grp, co, ci, rh, rw, i, j, th, tw, base, offset, per_group = 0
    cdef floating* block
    for rh in range(sh):
        for rw in range(sw):
            per_group += cog * cig * taps_h[rh] * taps_w[rw]
    with nogil:
        for task in prange(c_out, schedule="static", num_threads=n_threads):
            grp = task // cog
            co = task - grp * cog
            offset = grp * per_group
            for rh in range(sh):
                for rw in range(sw):
                    th = taps_h[rh]
                    tw = taps_w[rw]
                    block = &packed[offset + co * cig * th * tw]
                    memset(block, 0, cig * th * tw * sizeof(floating))
                    for ci in range(cig):
                        base = ci * th * tw
                        for i in range(kh):
                            for j in range(kw):
                                block[base + tap_h[rh, i] * tw + tap_w[rw, j]] += (
                                    weight[task, ci, i, j])
                    offset = offset + cog * cig * th * tw


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

    phases_h[r] = (th, -, pad, count, first_out); phases_w likewise. packed_w holds, for each
    group and phase in (group, rh, rw) order, a row-major (C_out/groups) x (C_in/groups*th*tw)
    matrix.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t sh = phases_h.shape[0], sw = phases_w.shape[0]
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups
    cdef Py_ssize_t in_image = c_in * height * width, out_image = c_out * out_h * out_w
    cdef Py_ssize_t nb = images_per_gemm, n0, cur, grp, rh, rw, th, tw, qh, qw, K, ld
    cdef Py_ssize_t offset, max_col = 0, max_y = 0, q, n_chunks, task, chunk, tid, per_group
    cdef Py_ssize_t copies
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
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    for rh in range(sh):
        for rw in range(sw):
            q = phases_h[rh, 3] * phases_w[rw, 3]
            max_col = max(max_col, cig * phases_h[rh, 0] * phases_w[rw, 0] * q)
            max_y = max(max_y, cog * q)
    n_chunks = (N + nb - 1) // nb
    as_tasks = n_threads > 1 and n_chunks * groups * sh * sw >= 2 * n_threads
    copies = n_threads if as_tasks else 1
    try:
        col = allocate(copies * max_col * nb, col)
        y = allocate(copies * max_y * nb, col)
        offsets = <Py_ssize_t*> malloc(sh * sw * sizeof(Py_ssize_t))
        if offsets == NULL:
            raise MemoryError()
        per_group = 0
        for rh in range(sh):
            for rw in range(sw):
                offsets[rh * sw + rw] = per_group
                per_group += cog * cig * phases_h[rh, 0] * phases_w[rw, 0]
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
                    th = phases_h[rh, 0]
                    tw = phases_w[rw, 0]
                    qh = phases_h[rh, 3]
                    qw = phases_w[rw, 3]
                    if qh * qw == 0:
                        continue
                    g = make_window(th, tw, 1, 1, phases_h[rh, 2], phases_w[rw, 2],
                                    dil_h, dil_w, qh, qw)
                    phase_task(&x[n0, grp * cig, 0, 0], in_image, cur, cig, height, width,
                               &g, w_base + grp * per_group + offsets[rh * sw + rw], cog,
                               cig * th * tw, col + tid * max_col * nb, y + tid * max_y * nb,
                               NULL if b_ptr == NULL else b_ptr + grp * cog,
                               &out[n0, grp * cog, 0, 0], out_image, out_w, out_h * out_w,
                               phases_h[rh, 4], phases_w[rw, 4], sh, sw)
            n0 = N if as_tasks else 0
            while n0 < N:
                cur = min(nb, N - n0)
                offset = 0
                for grp in range(groups):
                    b_grp = NULL if b_ptr == NULL else b_ptr + grp * cog
                    dst = &out[n0, grp * cog, 0, 0]
                    for rh in range(sh):
                        for rw in range(sw):
                            th = phases_h[rh, 0]
                            tw = phases_w[rw, 0]
                            qh = phases_h[rh, 3]
                            qw = phases_w[rw, 3]
                            K = cig * th * tw
                            if qh * qw == 0:
                                pass
                            elif K == 0:
                                scatter_phase(NULL, 0, cur, cog, qh, qw, b_grp, dst, out_image,
                                              out_w, out_h * out_w, phases_h[rh, 4],
                                              phases_w[rw, 4], sh, sw, n_threads)
                            else:
                                g = make_window(th, tw, 1, 1, phases_h[rh, 2],
                                                phases_w[rw, 2], dil_h, dil_w, qh, qw)
                                ld = cur * qh * qw
                                im2col_images(&x[n0, grp * cig, 0, 0], in_image, cur, cig,
                                              height, width, &g, col, qh * qw, ld, n_threads)
                                parallel_gemm(False, False, cog, ld, K, &packed_w[offset], K,
                                              col, ld, zero, y, ld, n_threads)
                                scatter_phase(y, ld, cur, cog, qh, qw, b_grp, dst, out_image,
                                              out_w, out_h * out_w, phases_h[rh, 4],
                                              phases_w[rw, 4], sh, sw, n_threads)
                            offset += cog * K
                n0 += cur
    finally:
        free(col)
        free(y)
        free(offsets)


# ---------------------------------------------------------------------------------------------
# Winograd F(2x2, 2x2) phases
# ---------------------------------------------------------------------------------------------
#
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
    cdef const floating* kernel
    cdef const floating* src
    cdef const Py_ssize_t* listed
    cdef floating* dst
    cdef floating* copy
    cdef floating* rows
    cdef floating* g
    for task in prange(groups * n_blocks, schedule="static", num_threads=n_threads):
        copy = scratch + omp_get_thread_num() * (copy_size + 16 * kk + 64)
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
        for r in range(n_rows):
            n = (row0 + r) // tiles_h
            ty = (row0 + r) % tiles_h
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
    cdef floating value, s0, s1, s2, t0, t1, t2
    cdef const floating* src
    cdef floating* dst0
    cdef floating* dst1
    cdef bint two_rows
    for co in range(cog):
        value = 0
        if bias != NULL:
            value = bias[co]
        for r in range(n_rows):
            n = (row0 + r) // tiles_h
            oy = 2 * ((row0 + r) % tiles_h)
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
                               Py_ssize_t sw) noexcept nogil:
    """n_co output channels of one block of one phase: the 9 GEMMs m[co, e] = u_part[co, e]
    v[e] (u_part's rows 9*ldu apart, v's and m's 9*ld), then the output transform into out
    (the first of the channels) plus bias (or NULL)."""
    cdef Py_ssize_t e
    cdef floating one = 1, zero = 0
    for e in range(9):
        gemm(False, False, <int> n_co, <int> nt, <int> cig, one, u_part + e * ldu,
             <int> (9 * ldu), v + e * ld, <int> (9 * ld), zero, m + e * ld, <int> (9 * ld))
    winograd_output(m, ld, n_co, row0, n_rows, tiles_h, tiles_w, qh, qw, bias, out,
                    out_image, out_w, plane, first_h, first_w, sh, sw)


def winograd_phases(const floating[:, :, :, ::1] x, const floating[::1] weight,
                    Py_ssize_t s_grp, Py_ssize_t s_co, Py_ssize_t s_ci,
                    const Py_ssize_t[:, :, ::1] taps, const floating[::1] bias,
                    floating[:, :, :, ::1] out, const Py_ssize_t[:, ::1] phases_h,
                    const Py_ssize_t[:, ::1] phases_w, Py_ssize_t groups, Py_ssize_t block,
                    Py_ssize_t co_parts, Py_ssize_t phases_per_pass, int n_threads):
    """out = bias + the phase-decomposed operator (as phase_correlation) where every phase
    has a 2x2 kernel of dilation 1, by Winograd F(2x2, 2x2).

    weight: the layer's weights, flat; the (grp, co, ci) kernel of kk = taps.shape[2]
    values starts at grp*s_grp + co*s_co + ci*s_ci. taps (phases, 4, kk): the kernel
    positions each phase's 2x2 sub-kernel sums, -1 after the last (winograd_phase_weights).

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
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t sh = phases_h.shape[0], sw = phases_w.shape[0], P = sh * sw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, kk = taps.shape[2]
    cdef Py_ssize_t in_image = c_in * height * width, out_image = c_out * out_h * out_w
    cdef Py_ssize_t plane = out_h * out_w, max_tw = 0, max_th = 0, rows_per_block
    cdef Py_ssize_t n_blocks, task, grp, p, rh, rw, blk, qh, qw, tiles_w, tiles_h, row0
    cdef Py_ssize_t n_rows, nt, tid, ldu = skewed(cig), uw = skewed(9 * cog * ldu), max_nt
    cdef Py_ssize_t span, p0, n_pass, c0, c1, co_block = 16
    cdef Py_ssize_t ld, co0, n_co, co_per_part = (cog + co_parts - 1) // co_parts
    cdef floating* u = NULL
    cdef floating* v = NULL
    cdef floating* m = NULL
    cdef floating* rows = NULL
    cdef floating* scratch = NULL
    cdef floating* v_t
    cdef floating* m_t
    cdef const floating* b_ptr = NULL
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    for rh in range(sh):
        max_th = max(max_th, (phases_h[rh, 3] + 1) // 2)
    for rw in range(sw):
        max_tw = max(max_tw, (phases_w[rw, 3] + 1) // 2)
    if max_th * max_tw == 0:
        return
    phases_per_pass = max(1, min(phases_per_pass, P))
    # the weight transform's copy of a transposed convolution's kernels: within L2
    while co_block > 1 and co_block * cig * kk * sizeof(floating) > 512 * 1024:
        co_block //= 2
    rows_per_block = max(1, block // max_tw)
    n_blocks = (N * max_th + rows_per_block - 1) // rows_per_block
    max_nt = skewed(rows_per_block * max_tw)
    span = 2 * max_tw + 1
    try:
        u = allocate(phases_per_pass * groups * uw, u)
        v = allocate(n_threads * 9 * cig * max_nt, u)
        m = allocate(n_threads * 9 * cog * max_nt, u)
        rows = allocate(n_threads * 3 * span, u)
        scratch = allocate(n_threads * (winograd_copy_size(s_co, s_ci, co_block, cig, kk)
                                        + 16 * kk + 64), u)
        with nogil:
            p0 = 0
            while p0 < P:
                n_pass = min(phases_per_pass, P - p0)
                winograd_phase_weights(&weight[0], s_grp, s_co, s_ci, kk, &taps[p0, 0, 0],
                                       n_pass, groups, cog, cig, u, ldu, uw, co_block,
                                       scratch, n_threads)
                if co_parts > 1:
                    # few blocks (fewer than threads): per block and phase, the input
                    # transform split over the threads by input channels, then the output
                    # channels' parts (as the tasks below, without repeating the transform)
                    for p in range(p0, p0 + n_pass):
                        rh = p // sw
                        rw = p % sw
                        qh = phases_h[rh, 3]
                        qw = phases_w[rw, 3]
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
                                        winograd_input(&x[0, grp * cig + c0, 0, 0], in_image,
                                                       c1 - c0, height, width, row0, n_rows,
                                                       tiles_h, tiles_w, phases_h[rh, 2],
                                                       phases_w[rw, 2],
                                                       rows + omp_get_thread_num() * 3 * span,
                                                       v + c0 * 9 * ld, ld)
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
                                        plane, phases_h[rh, 4], phases_w[rw, 4], sh, sw)
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
                            qh = phases_h[rh, 3]
                            qw = phases_w[rw, 3]
                            tiles_h = (qh + 1) // 2
                            tiles_w = (qw + 1) // 2
                            if tiles_w == 0 or row0 >= N * tiles_h:
                                continue
                            n_rows = min(rows_per_block, N * tiles_h - row0)
                            nt = n_rows * tiles_w
                            ld = skewed(nt)
                            winograd_input(&x[0, grp * cig, 0, 0], in_image, cig, height,
                                           width, row0, n_rows, tiles_h, tiles_w,
                                           phases_h[rh, 2], phases_w[rw, 2],
                                           rows + tid * 3 * span, v_t, ld)
                            winograd_part(u + ((p - p0) * groups + grp) * uw, ldu, v_t, ld,
                                          m_t, cog, nt, cig, row0, n_rows, tiles_h, tiles_w,
                                          qh, qw, NULL if b_ptr == NULL else b_ptr + grp * cog,
                                          &out[0, grp * cog, 0, 0], out_image, out_w, plane,
                                          phases_h[rh, 4], phases_w[rw, 4], sh, sw)
                p0 += n_pass
    finally:
        free(u)
        free(v)
        free(m)
        free(rows)
        free(scratch)


# ---------------------------------------------------------------------------------------------
# Direct transposed convolution (few input channels per group)
# ---------------------------------------------------------------------------------------------

cdef inline void direct_row(const floating* x_group, Py_ssize_t cig, Py_ssize_t height,
                            Py_ssize_t width, const floating* w_col, Py_ssize_t w_stride,
                            Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t oh, Py_ssize_t sh,
                            Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh,
                            Py_ssize_t dw, floating* row, Py_ssize_t out_w,
                            Py_ssize_t inner_lo, Py_ssize_t inner_hi,
                            Py_ssize_t tap_major_below) noexcept nogil:
    """row += the contributions of every input pixel of the group's cig input planes
    (x_group, plane after plane) to output row oh of one output channel, whose kernels are
    w_col + ci*w_stride (kh x kw each). Scatter form along the row: each input pixel adds its
    value times one kernel row to a contiguous (dilation 1) stretch of the output row, so the
    inner loop is a vectorizable axpy of length kw while the row stays in L1. Input columns
    in [inner_lo, inner_hi) reach the row with their whole kernel row."""
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
    input row that reaches it adds each of its pixels times a kernel row. Every output element
    is written by one thread in a fixed order: the result does not depend on the thread
    count. No workspace.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3]
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups
    cdef Py_ssize_t rows = N * c_out * out_h, r, n, co, oh, q, grp
    cdef Py_ssize_t inner_lo = (pw + sw - 1) // sw, inner_hi
    cdef const floating* b_ptr = NULL
    cdef floating* row
    cdef floating value
    if rows == 0:
        return
    # input columns iw with 0 <= iw*sw - pw and iw*sw - pw + (kw - 1)*dw < out_w
    inner_hi = out_w - 1 - (kw - 1) * dw + pw
    inner_hi = inner_hi // sw + 1 if inner_hi >= 0 else 0
    if bias is not None:
        b_ptr = &bias[0]
    with nogil:
        for r in prange(rows, schedule="static", num_threads=n_threads):
            oh = r % out_h
            co = (r // out_h) % c_out
            n = r // (out_h * c_out)
            grp = co // cog
            row = &out[n, co, oh, 0]
            value = 0
            if b_ptr != NULL:
                value = b_ptr[co]
            for q in range(out_w):
                row[q] = value
            direct_row(&x[n, grp * cig, 0, 0], cig, height, width,
                       &weight[grp * cig, co - grp * cog, 0, 0], cog * kh * kw,
                       kh, kw, oh, sh, sw, ph, pw, dh, dw, row, out_w, inner_lo, inner_hi,
                       tap_major_below)


cdef enum SourceKind:
    SOURCE_INPUT = 0       # the input planes themselves
    SOURCE_NEAREST = 1     # nearest upsampling of the input, made row by row on the fly
    SOURCE_BILINEAR = 2    # bilinear upsampling of the input, made row by row on the fly


def correlation_banded(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                       const floating[::1] bias, floating[:, :, :, ::1] out,
                       int source, Py_ssize_t src_h, Py_ssize_t src_w,
                       const Py_ssize_t[::1] h_index, const Py_ssize_t[::1] w_index,
                       Py_ssize_t w_repeat,
                       const Py_ssize_t[::1] h0, const Py_ssize_t[::1] h1,
                       const floating[::1] lh0, const floating[::1] lh1,
                       const Py_ssize_t[::1] w0, const Py_ssize_t[::1] w1,
                       const floating[::1] lw0, const floating[::1] lw1,
                       Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                       Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                       Py_ssize_t band_rows, int n_threads):
    """out = conv2d(source, weight) + bias in independent tasks of (image, group, band of
    band_rows output rows).

    A task packs the columns of its band only (C_in/groups*kh*kw x band_rows*W_out, sized to
    stay in cache) and multiplies them by the group's weights with a single-threaded GEMM
    that writes straight into the band's output rows. When the source is an upsampling of x
    (``source`` 1 nearest, 2 bilinear, with its tables; src_h x src_w the upsampled size),
    the task first interpolates the few source rows its band reads into a buffer of its
    thread: the upsampled map never exists. A thread that takes the next band of the same
    image and group keeps the rows the two bands share (the kernel's halo) and interpolates
    only the new ones. The result does not depend on the thread count.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, K = cig * kk
    cdef Py_ssize_t L = out_h * out_w, R = band_rows
    cdef Py_ssize_t bands = (out_h + R - 1) // R
    cdef Py_ssize_t span = (R - 1) * sh + (kh - 1) * dh + 1
    cdef Py_ssize_t col_size = K * R * out_w, src_size = cig * span * src_w
    cdef Py_ssize_t task, n, grp, band, r0, r1, rows, u_first, u0, u1, n_src, ci, i, u, q, c
    cdef Py_ssize_t ld, tid, first_new, kept, shift
    cdef Py_ssize_t* held = NULL     # per thread: image, group, first and last row in its buffer
    cdef Window g
    cdef const floating* b_ptr = NULL
    cdef const floating* plane
    cdef const floating* xp
    cdef floating* cols = NULL
    cdef floating* sources = NULL
    cdef floating* col
    cdef floating* src_rows
    cdef floating* dst
    cdef floating zero = 0, one = 1, beta, value
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    try:
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
                    for ci in range(cig):
                        plane = &x[n, grp * cig + ci, 0, 0]
                        for i in range(kh):
                            im2col_kernel_row(plane, height, width, &g, i,
                                              col + ci * kk * ld, ld)
                else:
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
                    for ci in range(cig):
                        xp = &x[n, grp * cig + ci, 0, 0]
                        for u in range(first_new, n_src):
                            dst = src_rows + (ci * span + u) * src_w
                            if source == SOURCE_BILINEAR:
                                bilinear_row(xp + h0[u0 + u] * width, xp + h1[u0 + u] * width,
                                             lh0[u0 + u], lh1[u0 + u], dst, src_w,
                                             &w0[0], &w1[0], &lw0[0], &lw1[0])
                            elif u > 0 and h_index[u0 + u] == h_index[u0 + u - 1]:
                                memcpy(dst, dst - src_w, src_w * sizeof(floating))
                            else:
                                nearest_row(xp + h_index[u0 + u] * width, width, dst, src_w,
                                            &w_index[0], w_repeat)
                        for i in range(kh):
                            im2col_kernel_row(src_rows + ci * span * src_w, n_src, src_w,
                                              &g, i, col + ci * kk * ld, ld)
                beta = zero
                if b_ptr != NULL:
                    for c in range(cog):
                        value = b_ptr[grp * cog + c]
                        dst = &out[n, grp * cog + c, r0, 0]
                        for q in range(ld):
                            dst[q] = value
                    beta = one
                gemm(False, False, <int> cog, <int> ld, <int> K, one,
                     &weight[grp * cog, 0, 0, 0], <int> K, col, <int> ld,
                     beta, &out[n, grp * cog, r0, 0], <int> L)
    finally:
        free(cols)
        free(sources)
        free(held)
