"""What this build of the compiled core is: OpenMP or not, compile flags, bounds checks."""

from _openmp_helpers cimport SUITE_OPENMP_ENABLED, omp_get_max_threads

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


def compile_flags():
    """The C compiler flags the extensions were built with."""
    return SUITE_BUILD_CFLAGS.decode()


def boundscheck():
    """True for the bounds-checked test build (``SUITE_BOUNDSCHECK=1``)."""
    return bool(SUITE_BUILD_BOUNDSCHECK)
