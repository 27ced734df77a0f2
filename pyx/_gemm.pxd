# GEMMs for the kernels that run them between OpenMP loops (_im2col.pyx, _phase.pyx), and
# the kernels' workspaces (allocate and release: also _winograd.pyx and _banded.pyx).
#
# Workspaces are reported to tracemalloc (domain WORKSPACE_DOMAIN), so a traced call shows
# its kernel buffers beside the NumPy arrays it allocates: that is how the tests hold each
# kernel's workspace to suite.cost's figure. When tracemalloc is off, reporting costs one
# check per buffer. Buffers of a few index rows (phase offsets, per-thread markers) are
# plain malloc, as the cost model ignores them. Workspaces of 64 KiB or more are kept for
# later calls of the same module (_workspace.h, up to four: glibc would map them afresh or
# trim them from its heap, and each call would fault their pages in again); a kept block is
# traced only while a call holds it.
#
# parallel_gemm splits one GEMM into blocks of C, each a single-threaded BLAS call on its
# own OpenMP thread: one level of parallelism, BLAS held at one thread by the caller
# (suite._threads.single_threaded_blas). The blocks are planned for the planning width
# (_openmp_helpers.pxd), not the call's threads: BLAS rounds an element of a block as the
# block's shape says, so the split must not move with the thread count.

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t, uintptr_t

from _cython_blas cimport gemm
from _openmp_helpers cimport suite_planning_width
from _profile cimport SUITE_STAGE_GEMM, suite_profile_call, suite_stage_start, suite_stage_stop


cdef inline void parallel_gemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
                               Py_ssize_t k, const floating* a, Py_ssize_t lda,
                               const floating* b, Py_ssize_t ldb, floating beta, floating* c,
                               Py_ssize_t ldc, int n_threads,
                               const floating* start=NULL) noexcept nogil:
    """C = op(A) op(B) + beta*C (row-major), split into as many blocks of C's rows or columns
    as the planning width (at least 16 rows or columns each), each a single-threaded BLAS
    call, shared among n_threads OpenMP threads (BLAS is held at one thread by the caller):
    the same products, so the same bits, for every thread count. One thread pool for the whole kernel: no hand-over between OpenMP's threads
    and BLAS's, and no nesting. ``start`` (beta 0): a bias per row of C that the sums start
    from (``gemm``)."""
    cdef Py_ssize_t t, lo, hi, blocks
    cdef floating one = 1
    cdef bint split_rows = m >= n
    cdef int64_t call = suite_profile_call(), t0
    blocks = suite_planning_width()
    if blocks > (m if split_rows else n) // 16:
        blocks = (m if split_rows else n) // 16
    if blocks <= 1:
        t0 = suite_stage_start(call)
        gemm(trans_a, trans_b, <int> m, <int> n, <int> k, one, a, <int> lda, b, <int> ldb,
             beta, c, <int> ldc, True, start)
        suite_stage_stop(call, SUITE_STAGE_GEMM, t0)
        return
    for t in prange(blocks, schedule="static", num_threads=n_threads):
        t0 = suite_stage_start(call)
        if split_rows:
            lo = (t * m // blocks) // 16 * 16
            hi = m if t == blocks - 1 else ((t + 1) * m // blocks) // 16 * 16
            gemm(trans_a, trans_b, <int> (hi - lo), <int> n, <int> k, one,
                 a + (lo if trans_a else lo * lda), <int> lda, b, <int> ldb,
                 beta, c + lo * ldc, <int> ldc, True, NULL if start == NULL else start + lo)
        else:
            lo = (t * n // blocks) // 16 * 16
            hi = n if t == blocks - 1 else ((t + 1) * n // blocks) // 16 * 16
            gemm(trans_a, trans_b, <int> m, <int> (hi - lo), <int> k, one,
                 a, <int> lda, b + (lo * ldb if trans_b else lo), <int> ldb,
                 beta, c + lo, <int> ldc, True, start)
        suite_stage_stop(call, SUITE_STAGE_GEMM, t0)


cdef extern from "_workspace.h":
    void* suite_workspace_take(size_t nbytes) noexcept
    void suite_workspace_give(void* p) noexcept


cdef extern from "Python.h":
    int PyTraceMalloc_Track(unsigned int domain, uintptr_t ptr, size_t size)
    int PyTraceMalloc_Untrack(unsigned int domain, uintptr_t ptr)

# tracemalloc's domain of the kernels' workspaces ("SUIT"; NumPy's arrays use their own).
cdef enum:
    WORKSPACE_DOMAIN = 0x53554954


cdef inline floating* allocate(Py_ssize_t count, floating* like) except? NULL:
    """A workspace of count values of like's type (NULL for none); MemoryError if it fails.
    Give it back with release(). Called with the GIL (it serializes _workspace.h)."""
    cdef floating* p
    if count <= 0:
        return NULL
    p = <floating*> suite_workspace_take(count * sizeof(floating))
    if p == NULL:
        raise MemoryError(f"could not allocate a workspace of {count * sizeof(floating)} bytes")
    PyTraceMalloc_Track(WORKSPACE_DOMAIN, <uintptr_t> p, count * sizeof(floating))
    return p


cdef inline void release(void* p) noexcept:
    """Give back a workspace from allocate() (NULL: nothing); with the GIL."""
    if p != NULL:
        PyTraceMalloc_Untrack(WORKSPACE_DOMAIN, <uintptr_t> p)
        suite_workspace_give(p)
