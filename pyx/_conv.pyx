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
from libc.string cimport memcpy, memset

from _cython_blas cimport gemm


# ---------------------------------------------------------------------------------------------
# One channel plane <-> its kH*kW rows of a column matrix
# ---------------------------------------------------------------------------------------------

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


cdef inline void im2col_plane(const floating* im, Py_ssize_t height, Py_ssize_t width,
                              Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                              Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                              Py_ssize_t col_h, Py_ssize_t col_w,
                              floating* col, Py_ssize_t ld_col) noexcept nogil:
    """Write rows i*kw + j (each col_h*col_w long, ld_col apart) of one channel's columns.

    Caffe's loop order: kernel row, kernel column, output row, output column; writes are
    strictly sequential and a row that falls in the padding is zero-filled at once.
    """
    cdef Py_ssize_t i, j, oh, ow, h, offset, lo, hi
    cdef floating* dst
    cdef const floating* src
    for i in range(kh):
        for j in range(kw):
            offset = j * dw - pw
            valid_columns(offset, sw, width, col_w, &lo, &hi)
            dst = col + (i * kw + j) * ld_col
            for oh in range(col_h):
                h = oh * sh - ph + i * dh
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


cdef inline void col2im_plane(const floating* col, Py_ssize_t ld_col,
                              Py_ssize_t height, Py_ssize_t width,
                              Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                              Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                              Py_ssize_t col_h, Py_ssize_t col_w,
                              floating* im) noexcept nogil:
    """Scatter-add one channel's kH*kW column rows into its (already initialised) plane."""
    cdef Py_ssize_t i, j, oh, ow, h, offset, lo, hi
    cdef const floating* src
    cdef floating* dst
    for i in range(kh):
        for j in range(kw):
            offset = j * dw - pw
            valid_columns(offset, sw, width, col_w, &lo, &hi)
            src = col + (i * kw + j) * ld_col
            for oh in range(col_h):
                h = oh * sh - ph + i * dh
                if 0 <= h < height:
                    dst = im + h * width
                    if sw == 1:
                        for ow in range(lo, hi):
                            dst[ow + offset] += src[ow]
                    else:
                        for ow in range(lo, hi):
                            dst[ow * sw + offset] += src[ow]
                src += col_w


# ---------------------------------------------------------------------------------------------
# Batched drivers, parallel over (image, channel) planes
# ---------------------------------------------------------------------------------------------
# Column layout: image n, channel c, kernel tap r lives in row c*kH*kW + r, starting at
# column n*image_offset ... for the packed layout (image_offset = L, ld_col = n_images*L), or
# at the start of image n's own matrix for the unfold layout (image_offset = C*kH*kW*L,
# ld_col = L). Both are "col + n*image_offset + row*ld_col".

cdef void im2col_images(const floating* x, Py_ssize_t n_images, Py_ssize_t channels,
                        Py_ssize_t height, Py_ssize_t width,
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                        Py_ssize_t col_h, Py_ssize_t col_w,
                        floating* col, Py_ssize_t image_offset, Py_ssize_t ld_col,
                        int n_threads) noexcept nogil:
    cdef Py_ssize_t p, n, c
    for p in prange(n_images * channels, schedule="static", num_threads=n_threads):
        n = p // channels
        c = p - n * channels
        im2col_plane(x + p * height * width, height, width, kh, kw, sh, sw, ph, pw, dh, dw,
                     col_h, col_w, col + n * image_offset + c * kh * kw * ld_col, ld_col)


cdef void col2im_images(const floating* col, Py_ssize_t image_offset, Py_ssize_t ld_col,
                        Py_ssize_t n_images, Py_ssize_t channels,
                        Py_ssize_t height, Py_ssize_t width,
                        Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                        Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
                        Py_ssize_t col_h, Py_ssize_t col_w,
                        const floating* bias, floating* im, int n_threads) noexcept nogil:
    """im = bias (or 0) + col2im(col); bias may be NULL."""
    cdef Py_ssize_t p, n, c, q, plane = height * width
    cdef floating* dst
    cdef floating value
    for p in prange(n_images * channels, schedule="static", num_threads=n_threads):
        n = p // channels
        c = p - n * channels
        dst = im + p * plane
        if bias == NULL:
            memset(dst, 0, plane * sizeof(floating))
        else:
            value = bias[c]
            for q in range(plane):
                dst[q] = value
        col2im_plane(col + n * image_offset + c * kh * kw * ld_col, ld_col, height, width,
                     kh, kw, sh, sw, ph, pw, dh, dw, col_h, col_w, dst)


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


cdef inline floating* allocate(Py_ssize_t count, floating* like) except? NULL:
    cdef floating* p
    if count <= 0:
        return NULL
    p = <floating*> malloc(count * sizeof(floating))
    if p == NULL:
        raise MemoryError(f"could not allocate a workspace of {count * sizeof(floating)} bytes")
    return p


# ---------------------------------------------------------------------------------------------
# Entry points (called by suite.conv with validated, C-contiguous arrays)
# ---------------------------------------------------------------------------------------------

def im2col(const floating[:, :, :, ::1] x, floating[:, :, ::1] out,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
           Py_ssize_t col_h, Py_ssize_t col_w, int n_threads):
    """out (N, C*kh*kw, col_h*col_w) = unfold(x)."""
    cdef Py_ssize_t n = x.shape[0], channels = x.shape[1]
    if n == 0:
        return
    with nogil:
        im2col_images(&x[0, 0, 0, 0], n, channels, x.shape[2], x.shape[3],
                      kh, kw, sh, sw, ph, pw, dh, dw, col_h, col_w,
                      &out[0, 0, 0], out.shape[1] * out.shape[2], out.shape[2], n_threads)


def col2im(const floating[:, :, ::1] cols, floating[:, :, :, ::1] out,
           Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
           Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t dh, Py_ssize_t dw,
           Py_ssize_t col_h, Py_ssize_t col_w, int n_threads):
    """out (N, C, H, W) = fold(cols)."""
    cdef Py_ssize_t n = out.shape[0]
    if n == 0:
        return
    with nogil:
        col2im_images(&cols[0, 0, 0], cols.shape[1] * cols.shape[2], cols.shape[2],
                      n, out.shape[1], out.shape[2], out.shape[3],
                      kh, kw, sh, sw, ph, pw, dh, dw, col_h, col_w,
                      NULL, &out[0, 0, 0, 0], n_threads)


def conv2d_im2col(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                  const floating[::1] bias, floating[:, :, :, ::1] out,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw, Py_ssize_t groups,
                  Py_ssize_t images_per_gemm, int n_threads):
    """out = conv2d(x, weight) + bias by im2col + one GEMM per group and image batch.

    weight (C_out, C_in/groups, kh, kw); bias None or (C_out,).
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, K = cig * kk
    cdef Py_ssize_t L = out_h * out_w, nb = images_per_gemm, n0, cur, g, ld
    cdef bint pointwise = (kk == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0
                           and L == height * width)
    cdef const floating* b_ptr = NULL
    cdef const floating* operand
    cdef floating* col = NULL
    cdef floating* packed_out = NULL
    cdef floating one = 1, zero = 0, beta
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    try:
        col = allocate(c_in * kk * nb * L, col)
        if nb > 1:
            packed_out = allocate(c_out * nb * L, col)
        with nogil:
            n0 = 0
            while n0 < N:
                cur = min(nb, N - n0)
                ld = cur * L
                if pointwise and cur == 1:
                    operand = &x[n0, 0, 0, 0]
                else:
                    im2col_images(&x[n0, 0, 0, 0], cur, c_in, height, width,
                                  kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w,
                                  col, L, ld, n_threads)
                    operand = col
                if cur == 1:
                    beta = zero
                    if b_ptr != NULL:
                        fill_planes(&out[n0, 0, 0, 0], c_out, L, b_ptr, n_threads)
                        beta = one
                    for g in range(groups):
                        gemm(False, False, <int> cog, <int> L, <int> K,
                             one, &weight[g * cog, 0, 0, 0], <int> K,
                             operand + g * K * ld, <int> ld,
                             beta, &out[n0, g * cog, 0, 0], <int> L)
                else:
                    for g in range(groups):
                        gemm(False, False, <int> cog, <int> ld, <int> K,
                             one, &weight[g * cog, 0, 0, 0], <int> K,
                             operand + g * K * ld, <int> ld,
                             zero, packed_out + g * cog * ld, <int> ld)
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
                    Py_ssize_t images_per_gemm, int n_threads):
    """out = conv_transpose2d(x, weight) + bias by Caffe's method: col = W^T x, then col2im.

    weight (C_in, C_out/groups, kh, kw); bias None or (C_out,).
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = out.shape[1], out_h = out.shape[2], out_w = out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, M = cog * kk
    cdef Py_ssize_t HW = height * width, nb = images_per_gemm, n0, cur, g, ld
    cdef const floating* b_ptr = NULL
    cdef const floating* operand
    cdef floating* col = NULL
    cdef floating* packed = NULL
    cdef floating one = 1, zero = 0
    if N == 0:
        return
    if bias is not None:
        b_ptr = &bias[0]
    try:
        col = allocate(c_out * kk * nb * HW, col)
        if nb > 1:
            packed = allocate(c_in * nb * HW, col)
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
                for g in range(groups):
                    gemm(True, False, <int> M, <int> ld, <int> cig,
                         one, &weight[g * cig, 0, 0, 0], <int> M,
                         operand + g * cig * ld, <int> ld,
                         zero, col + g * M * ld, <int> ld)
                col2im_images(col, HW, ld, cur, c_out, out_h, out_w,
                              kh, kw, sh, sw, ph, pw, dh, dw, height, width,
                              b_ptr, &out[n0, 0, 0, 0], n_threads)
                n0 += cur
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

    cols = im2col(grad_out) on the input's grid (C_out*kh*kw rows, H*W columns per image);
    grad_x = W cols (a convolution of grad_out), grad_w = sum_n x_n cols_n^T,
    grad_b = grad_out summed over N, H, W.
    """
    cdef Py_ssize_t N = x.shape[0], c_in = x.shape[1], height = x.shape[2], width = x.shape[3]
    cdef Py_ssize_t c_out = grad_out.shape[1], out_h = grad_out.shape[2]
    cdef Py_ssize_t out_w = grad_out.shape[3]
    cdef Py_ssize_t kh = weight.shape[2], kw = weight.shape[3], kk = kh * kw
    cdef Py_ssize_t cig = c_in // groups, cog = c_out // groups, M = cog * kk
    cdef Py_ssize_t HW = height * width, nb = images_per_gemm, n0, cur, g, ld, c, n, q
    cdef Py_ssize_t plane = out_h * out_w
    cdef const floating* operand
    cdef const floating* src
    cdef floating* col = NULL
    cdef floating* packed = NULL
    cdef floating one = 1, zero = 0, beta
    cdef double total
    if N == 0:
        return
    try:
        col = allocate(c_out * kk * nb * HW, col)
        if nb > 1:
            packed = allocate(c_in * nb * HW, col)
        with nogil:
            n0 = 0
            while n0 < N:
                cur = min(nb, N - n0)
                ld = cur * HW
                im2col_images(&grad_out[n0, 0, 0, 0], cur, c_out, out_h, out_w,
                              kh, kw, sh, sw, ph, pw, dh, dw, height, width,
                              col, HW, ld, n_threads)
                if cur == 1:
                    operand = &x[n0, 0, 0, 0]
                else:
                    pack_images(&x[n0, 0, 0, 0], cur, c_in, HW, packed, n_threads)
                    operand = packed
                beta = zero if n0 == 0 else one
                for g in range(groups):
                    gemm(False, True, <int> cig, <int> M, <int> ld,
                         one, operand + g * cig * ld, <int> ld,
                         col + g * M * ld, <int> ld,
                         beta, &grad_w[g * cig, 0, 0, 0], <int> M)
                if cur == 1:
                    for g in range(groups):
                        gemm(False, False, <int> cig, <int> HW, <int> M,
                             one, &weight[g * cig, 0, 0, 0], <int> M,
                             col + g * M * ld, <int> ld,
                             zero, &grad_x[n0, g * cig, 0, 0], <int> HW)
                else:
                    for g in range(groups):
                        gemm(False, False, <int> cig, <int> ld, <int> M,
                             one, &weight[g * cig, 0, 0, 0], <int> M,
                             col + g * M * ld, <int> ld,
                             zero, packed + g * cig * ld, <int> ld)
                    unpack_images(packed, cur, c_in, HW, NULL, &grad_x[n0, 0, 0, 0],
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
