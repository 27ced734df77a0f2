# OpenMP behind a header-only guard: the same code compiles with and without -fopenmp.
# Without OpenMP every query answers as a one-thread runtime would and `prange` runs serially.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define SUITE_OPENMP_ENABLED 1
    #else
    #define SUITE_OPENMP_ENABLED 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    #endif
    """
    bint SUITE_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
