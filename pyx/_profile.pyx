"""The process's stage recorder (_profile.h): its event buffer, its on/off flag and each
Python thread's current call id. ``suite.profiling`` drives it; the kernel modules reach it
through ``recorder_address`` (``_profile.pxd``, ``attach_profiler``).

Nothing here decides what is recorded: ``suite.profiling`` opens and closes the blocks,
numbers the calls, and replaces the buffer only while no profiled call runs.
"""

import numpy as np

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from _profile cimport (SUITE_STAGE_COUNT, suite_now_ns, suite_profile_attach,
                       suite_stage_record)


cdef extern from *:
    """
    #include "_profile.h"
    static suite_profiler suite_profiler_shared = {0, 0, 0, 0, 0};
    static __thread int64_t suite_thread_call = 0;
    static int64_t suite_read_thread_call(void) { return suite_thread_call; }
    """
    ctypedef struct suite_stage_event:
        pass
    ctypedef struct suite_profiler:
        int enabled
        int64_t (*current_call)()
        suite_stage_event* events
        int64_t capacity
        int64_t next
    suite_profiler suite_profiler_shared
    int64_t suite_thread_call
    int64_t suite_read_thread_call() noexcept nogil
    const char* suite_stage_names[]


#: One recorded event, as the C struct lays it out.
EVENT_DTYPE = np.dtype([("call", "<i8"), ("start_ns", "<i8"), ("end_ns", "<i8"),
                        ("stage", "<i4"), ("thread", "<i4")])
assert EVENT_DTYPE.itemsize == sizeof(suite_stage_event)

suite_profiler_shared.current_call = suite_read_thread_call


def recorder_address():
    """The address of the process's recorder (for attach_profiler)."""
    return <size_t> &suite_profiler_shared


def stage_names():
    """The stage names, indexed by the stage ids the kernels record."""
    return tuple(suite_stage_names[i].decode() for i in range(SUITE_STAGE_COUNT))


def now_ns():
    """The recorder's clock (CLOCK_MONOTONIC) in ns."""
    return suite_now_ns()


def capacity():
    """Events the buffer holds (0 before the first allocate)."""
    return suite_profiler_shared.capacity


def allocate(int64_t events):
    """Replace the buffer by one of ``events`` events, emptied. Only while no kernel
    records (the caller's duty)."""
    cdef suite_stage_event* buffer
    if events < 1:
        raise ValueError(f"the event buffer must hold at least one event, got {events}")
    buffer = <suite_stage_event*> malloc(events * sizeof(suite_stage_event))
    if buffer == NULL:
        raise MemoryError(f"could not allocate {events} profiling events")
    free(suite_profiler_shared.events)
    suite_profiler_shared.events = buffer
    suite_profiler_shared.capacity = events
    suite_profiler_shared.next = 0


def clear():
    """Empty the buffer (only while no kernel records)."""
    suite_profiler_shared.next = 0


def set_enabled(bint enabled):
    """Turn recording on or off for every module."""
    suite_profiler_shared.enabled = enabled


def set_call(int64_t call):
    """Make ``call`` (0: none) the calling thread's current call; return the previous one."""
    global suite_thread_call
    previous = suite_thread_call
    suite_thread_call = call
    return previous


def recorded():
    """Events appended so far, dropped ones included (the buffer's next index)."""
    return suite_profiler_shared.next


def events(int64_t first=0):
    """A copy of the kept events from index ``first`` on (EVENT_DTYPE)."""
    cdef int64_t stop = min(suite_profiler_shared.next, suite_profiler_shared.capacity)
    cdef int64_t n = max(stop - first, 0)
    out = np.empty(n, dtype=EVENT_DTYPE)
    cdef unsigned char[::1] raw = out.view(np.uint8)
    if n:
        memcpy(&raw[0], suite_profiler_shared.events + first, n * sizeof(suite_stage_event))
    return out


def record(int64_t call, int stage, int64_t start_ns, int64_t end_ns):
    """Record a stage that ran in Python on the calling thread (thread 0 of its call)."""
    if not 0 <= stage < SUITE_STAGE_COUNT:
        raise ValueError(f"stage must be in [0, {SUITE_STAGE_COUNT}), got {stage}")
    if suite_profiler_shared.events != NULL:
        suite_stage_record(call, stage, start_ns, end_ns)


# This module's own timers (record) write into the recorder it owns.
suite_profile_attach(&suite_profiler_shared)
