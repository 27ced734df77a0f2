# Included by every module whose float32 GEMMs may run on suite's own kernels (_sgemm.h):
# each extension module holds its own copy of the header's switch, so each has this function
# (suite.conv.own_gemm sets them all).

cdef extern from "_sgemm.h" nogil:
    int suite_sgemm_available()
    int suite_sgemm_allowed


def gemm_kernel(allow_own=None):
    """What runs this module's float32 products that suite's own kernels take (col2im's
    A^T B of at most 64 columns or of K at least WIDE_GEMM_MIN_DEPTH, the convolutions' A B of
    K at least WIDE_GEMM_MIN_DEPTH): "avx512" (pyx/_sgemm.h, on a CPU with AVX-512) or
    "blas". allow_own=False sends them to BLAS, True restores the kernels."""
    global suite_sgemm_allowed
    if allow_own is not None:
        suite_sgemm_allowed = 1 if allow_own else 0
    return "avx512" if suite_sgemm_available() else "blas"
