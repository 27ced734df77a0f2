# Stage timers of the kernels (_profile.h): the declarations every kernel module cimports,
# and attach_profiler, which a module calls once at import to reach the process's recorder
# in suite._profile.
#
# In a kernel: read the call id once per parallel loop, on the thread that starts it, then
# time each task (or each thread's share of a fine-grained loop) on the thread that runs it:
#
#     cdef int64_t call = suite_profile_call()          # 0: not profiled
#     for part in prange(...):
#         t0 = suite_stage_start(call)
#         ...the task...
#         suite_stage_stop(call, SUITE_STAGE_GEMM, t0)

from libc.stdint cimport int64_t


cdef extern from "_profile.h" nogil:
    enum:
        SUITE_STAGE_IM2COL
        SUITE_STAGE_PACK
        SUITE_STAGE_GEMM
        SUITE_STAGE_COL2IM
        SUITE_STAGE_BIAS
        SUITE_STAGE_UNPACK
        SUITE_STAGE_WEIGHT_PACK
        SUITE_STAGE_PHASE_WRITE
        SUITE_STAGE_WINOGRAD_WEIGHT
        SUITE_STAGE_WINOGRAD_INPUT
        SUITE_STAGE_WINOGRAD_OUTPUT
        SUITE_STAGE_DIRECT_ROWS
        SUITE_STAGE_INTERPOLATION
        SUITE_STAGE_UPSAMPLE_TABLES
        SUITE_STAGE_UPSAMPLE_ROWS
        SUITE_STAGE_UPSAMPLE_ADD_ROWS
        SUITE_STAGE_GRADIENT_ROWS
        SUITE_STAGE_BIAS_GRADIENT
        SUITE_STAGE_COUNT

    void suite_profile_attach(void* recorder) noexcept
    int64_t suite_now_ns() noexcept
    int64_t suite_profile_call() noexcept
    void suite_stage_record(int64_t call, int stage, int64_t start_ns,
                            int64_t end_ns) noexcept
    int64_t suite_stage_start(int64_t call) noexcept
    void suite_stage_stop(int64_t call, int stage, int64_t start_ns) noexcept


cdef inline int attach_profiler() except -1:
    """Point this module's stage timers at the process's recorder (suite._profile)."""
    from suite import _profile
    suite_profile_attach(<void*> <size_t> _profile.recorder_address())
    return 0


cdef inline Py_ssize_t part_start(Py_ssize_t part, Py_ssize_t parts,
                                  Py_ssize_t total) noexcept nogil:
    """The first of total tasks that part (of parts) runs: the tasks of a fine-grained loop
    cut into parts contiguous shares, as a static schedule would, each timed as one."""
    return part * total // parts


cdef inline Py_ssize_t parts_for(Py_ssize_t total, int n_threads) noexcept nogil:
    """One part per thread, at most one per task."""
    return total if total < n_threads else n_threads


cdef struct TaskIndex:
    # task = (n*channels + c)*rows + i of a flattened loop, as its three indices
    Py_ssize_t n, c, i


cdef inline TaskIndex task_index(Py_ssize_t task, Py_ssize_t channels,
                                 Py_ssize_t rows) noexcept nogil:
    """The indices of a part's first task, by division (once a part: a row's two or three
    64-bit divisions cost more than writing a short row; docs/performance.md, item 58)."""
    cdef TaskIndex k
    cdef Py_ssize_t p = task // rows
    k.i = task - p * rows
    k.n = p // channels
    k.c = p - k.n * channels
    return k


cdef inline TaskIndex next_task(TaskIndex k, Py_ssize_t channels,
                                Py_ssize_t rows) noexcept nogil:
    """The indices of the task after k, counted on."""
    k.i += 1
    if k.i == rows:
        k.i = 0
        k.c += 1
        if k.c == channels:
            k.c = 0
            k.n += 1
    return k
