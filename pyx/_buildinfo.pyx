"""What this build of the compiled core is: OpenMP or not, compile flags, bounds checks."""

import os

from _openmp_helpers cimport (SUITE_OPENMP_ENABLED, SUITE_PLANNING_MAX, omp_get_max_threads,
                              suite_planning_width)

cdef extern from *:
    const char* SUITE_BUILD_CFLAGS
    int SUITE_BUILD_BOUNDSCHECK


def openmp_enabled():
    """True when the kernels were compiled with OpenMP (parallel), False for a serial build."""
    return bool(SUITE_OPENMP_ENABLED)


def omp_max_threads():
    """OpenMP's current thread limit for this process (1 in a serial build).

    This is what ``num_threads=None`` resolves to, so ``OMP_NUM_THREADS`` and
    ``threadpoolctl.threadpool_limits`` both reach the kernels.
    """
    return omp_get_max_threads()


def planning_width():
    """The threads every split of a layer into GEMMs is planned for, whatever thread count a
    call runs on: ``SUITE_PLANNING_WIDTH`` if set, else the CPUs OpenMP may use (fewer if
    ``OMP_NUM_THREADS`` asks for fewer; 1 in a serial build), at most PLANNING_MAX; read
    once, as suite is imported. The kernels' GEMMs round as their shapes say, so a split
    that followed the call's thread count would change the result's bits with it."""
    return suite_planning_width()


#: The most threads a split is planned for (beyond them, a call's threads share the tasks).
PLANNING_MAX = SUITE_PLANNING_MAX


def _planning_setting():
    """Where the planning width comes from, as ``python -m suite info`` names it, after
    checking SUITE_PLANNING_WIDTH: when set, a whole number of threads from 1 to
    PLANNING_MAX, anything else stopping the import with the variable, its value and what
    it takes (the kernels would otherwise fall back to the CPUs without a word)."""
    value = os.environ.get("SUITE_PLANNING_WIDTH", "")
    if not value:
        return "the CPUs OpenMP may use, fewer if OMP_NUM_THREADS says so"
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= PLANNING_MAX):
        raise ValueError(f"SUITE_PLANNING_WIDTH={value!r}: expected a whole number of threads"
                         f" from 1 to {PLANNING_MAX}, or unset for the CPUs OpenMP may use")
    return "SUITE_PLANNING_WIDTH"


#: Where the planning width came from: the environment as suite was imported.
PLANNING_SOURCE = _planning_setting()
suite_planning_width()   # the planning width read at import, as in every module that plans


def compile_flags():
    """The C compiler flags the extensions were built with."""
    return SUITE_BUILD_CFLAGS.decode()


def boundscheck():
    """True for the bounds-checked test build (``SUITE_BOUNDSCHECK=1``)."""
    return bool(SUITE_BUILD_BOUNDSCHECK)
