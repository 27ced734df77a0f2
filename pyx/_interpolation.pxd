# Row kernels of nearest and bilinear interpolation, shared by the upsampling kernels
# (_upsample.pyx) and the fused upsample + convolution (_banded.pyx). Tables are per output
# column: w_index (nearest), w0/w1 and lw0/lw1 (bilinear), computed once per call in Python.

from cython cimport floating
from libc.string cimport memcpy


cdef inline void nearest_row(const floating* src, Py_ssize_t in_w, floating* dst,
                             Py_ssize_t out_w, const Py_ssize_t* w_index,
                             Py_ssize_t w_repeat) noexcept nogil:
    """dst[ow] = src[w_index[ow]]; w_repeat > 0 promises w_index[ow] == ow // w_repeat."""
    cdef Py_ssize_t iw, ow, r
    cdef floating v
    if w_repeat == 1:
        memcpy(dst, src, out_w * sizeof(floating))
    elif w_repeat == 2:
        for iw in range(in_w):
            v = src[iw]
            dst[2 * iw] = v
            dst[2 * iw + 1] = v
    elif w_repeat > 2:
        for iw in range(in_w):
            v = src[iw]
            for r in range(w_repeat):
                dst[iw * w_repeat + r] = v
    else:
        for ow in range(out_w):
            dst[ow] = src[w_index[ow]]


cdef inline void bilinear_row(const floating* r0, const floating* r1, floating a, floating b,
                              floating* dst, Py_ssize_t out_w,
                              const Py_ssize_t* w0, const Py_ssize_t* w1,
                              const floating* lw0, const floating* lw1) noexcept nogil:
    """dst[ow] = a*(lw0*r0[w0] + lw1*r0[w1]) + b*(lw0*r1[w0] + lw1*r1[w1])."""
    cdef Py_ssize_t ow
    for ow in range(out_w):
        dst[ow] = (a * (lw0[ow] * r0[w0[ow]] + lw1[ow] * r0[w1[ow]])
                   + b * (lw0[ow] * r1[w0[ow]] + lw1[ow] * r1[w1[ow]]))
