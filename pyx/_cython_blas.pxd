# Row-major GEMM over scipy's BLAS, one entry point for both precisions.
#
# C (m x n) = alpha * op(A) @ op(B) + beta * C, every matrix row-major with the given leading
# dimension. BLAS is column-major, so we ask it for C^T = op(B)^T op(A)^T: swap the operands
# instead of transposing anything. Every dimension must fit in a C int (checked by callers).
#
# Two products go elsewhere: float32 C = A^T B (col2im's product) of at most 64 columns (small
# maps), or of any width with K of at least 32, and C = A B (or C + A B) of K of at least 32
# (a convolution's weight times its columns) run on suite's own kernels (_sgemm.h) where the
# CPU has AVX-512; they decline (return 0) anywhere else and BLAS runs the product. A bias
# per row of C can be the start of the sums (``start``).

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm

from _bias cimport fill_bias


cdef extern from "_sgemm.h" nogil:
    int suite_sgemm_tn(int m, int n, int k, const float* a, Py_ssize_t lda, const float* b,
                       Py_ssize_t ldb, float* c, Py_ssize_t ldc, const float* start)
    int suite_sgemm_tn_wide(int m, int n, int k, const float* a, Py_ssize_t lda,
                            const float* b, Py_ssize_t ldb, float* c, Py_ssize_t ldc,
                            const float* start)
    int suite_sgemm_nn_wide(int m, int n, int k, const float* a, Py_ssize_t lda,
                            const float* b, Py_ssize_t ldb, float* c, Py_ssize_t ldc, int add,
                            const float* start)


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb,
                      floating beta, floating* c, int ldc, bint own_nn=True,
                      const floating* start=NULL) noexcept nogil:
    """``own_nn``: C = A B may run on suite's own kernel (False: BLAS's, for a caller whose
    B it reads slower, see _winograd.pyx). ``start`` (with alpha 1 and beta 0): C[i, j] =
    start[i] + (op(A) op(B))[i, j], a bias per row of C: suite's own kernels start their
    sums from it (no pass over C before or after); BLAS gets C filled with it and beta 1."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef Py_ssize_t i
    cdef floating one = 1
    if m == 0 or n == 0:
        return
    if floating is float:
        if trans_a and not trans_b and alpha == 1 and beta == 0 and (
                suite_sgemm_tn(m, n, k, <const float*> a, lda, <const float*> b, ldb,
                               <float*> c, ldc, <const float*> start)
                or suite_sgemm_tn_wide(m, n, k, <const float*> a, lda, <const float*> b, ldb,
                                       <float*> c, ldc, <const float*> start)):
            return
        if own_nn and not trans_a and not trans_b and alpha == 1 and (beta == 0 or beta == 1) and (
                suite_sgemm_nn_wide(m, n, k, <const float*> a, lda, <const float*> b, ldb,
                                    <float*> c, ldc, beta == 1, <const float*> start)):
            return
    if start != NULL:
        for i in range(m):
            fill_bias(c + i * ldc, n, start, i)
        beta = one
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda,
              &beta, c, &ldc)
