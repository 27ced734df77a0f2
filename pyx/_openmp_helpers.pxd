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
    static int omp_get_num_procs(void) { return 1; }
    #endif
    #define SUITE_PLANNING_MAX 16
    static int suite_planning_width_value = 0;
    static int suite_planning_width(void) {
        int p = __atomic_load_n(&suite_planning_width_value, __ATOMIC_RELAXED);
        if (p == 0) {
            p = omp_get_num_procs();
            p = p < 1 ? 1 : (p > SUITE_PLANNING_MAX ? SUITE_PLANNING_MAX : p);
            __atomic_store_n(&suite_planning_width_value, p, __ATOMIC_RELAXED);
        }
        return p;
    }
    """
    bint SUITE_OPENMP_ENABLED
    int SUITE_PLANNING_MAX
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    # The threads every split of work into GEMMs is planned for, whatever a call runs on:
    # the CPUs OpenMP may use when first asked, at most SUITE_PLANNING_MAX. BLAS's rounding
    # depends on the shape of each product (an element of a 16-row block can round unlike
    # the same element of the whole GEMM), so a split that followed the call's thread count
    # would change the bits with it. suite._plan.planning_width() is this value.
    int suite_planning_width() noexcept nogil
