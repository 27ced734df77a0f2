"""What this build of the compiled core is: OpenMP or not, compile flags, bounds checks."""

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
    call runs on: the CPUs OpenMP may use when first asked (1 in a serial build), at most
    PLANNING_MAX. The kernels' GEMMs round as their shapes say, so a split that followed
    the call's thread count would change the result's bits with it."""
    return suite_planning_width()


#: The most threads a split is planned for (beyond them, a call's threads share the tasks).
PLANNING_MAX = SUITE_PLANNING_MAX


def compile_flags():
    """The C compiler flags the extensions were built with."""
    return SUITE_BUILD_CFLAGS.decode()


def boundscheck():
    """True for the bounds-checked test build (``SUITE_BOUNDSCHECK=1``)."""
    return bool(SUITE_BUILD_BOUNDSCHECK)
