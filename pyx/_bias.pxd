# The value an output starts from: its channel's bias, or zero without one. Shared by every
# kernel that writes outputs (_im2col.pyx, _phase.pyx, _winograd.pyx, _direct.pyx,
# _banded.pyx); bias is a pointer to C_out values, or NULL for no bias.

from cython cimport floating


cdef extern from "_fill.h" nogil:
    void suite_fill_f32(float* dst, Py_ssize_t n, float value)
    void suite_fill_f64(double* dst, Py_ssize_t n, double value)


cdef inline floating bias_value(const floating* bias, Py_ssize_t c) noexcept nogil:
    """bias[c], or 0 when bias is NULL."""
    if bias == NULL:
        return 0
    return bias[c]


cdef inline void fill_value(floating* dst, Py_ssize_t count, floating value) noexcept nogil:
    """dst[0:count] = value (_fill.h: wide stores where the CPU has them)."""
    if floating is float:
        suite_fill_f32(dst, count, value)
    else:
        suite_fill_f64(dst, count, value)


cdef inline void fill_bias(floating* dst, Py_ssize_t count, const floating* bias,
                           Py_ssize_t c) noexcept nogil:
    """dst[0:count] = bias[c] (0 when bias is NULL): an output row or plane before a GEMM or
    a col2im adds into it."""
    fill_value(dst, count, bias_value(bias, c))
