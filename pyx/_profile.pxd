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
