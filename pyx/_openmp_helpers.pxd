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
    #include <stdlib.h>
    #define SUITE_PLANNING_MAX 16
    static int suite_planning_width_value = 0;
    static int suite_planning_width_read(void) {
        char* end;
        long v;
        const char* s = getenv("SUITE_PLANNING_WIDTH");
        int p = omp_get_num_procs();
        if (s != NULL && *s != '\0') {
            v = strtol(s, &end, 10);
            if (*end == '\0' && v >= 1)
                return v > SUITE_PLANNING_MAX ? SUITE_PLANNING_MAX : (int)v;
        }
        s = getenv("OMP_NUM_THREADS");
        if (s != NULL) {
            v = strtol(s, &end, 10);
            if (end != s && v >= 1 && v < p)
                p = (int)v;
        }
        return p < 1 ? 1 : (p > SUITE_PLANNING_MAX ? SUITE_PLANNING_MAX : p);
    }
    static int suite_planning_width(void) {
        int p = __atomic_load_n(&suite_planning_width_value, __ATOMIC_RELAXED);
        if (p == 0) {
            p = suite_planning_width_read();
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
    # SUITE_PLANNING_WIDTH if set, else the CPUs OpenMP may use (fewer if OMP_NUM_THREADS
    # says so), at most SUITE_PLANNING_MAX. BLAS's rounding depends on the shape of each
    # product (an element of a 16-row block can round unlike the same element of the whole
    # GEMM), so a split that followed the call's thread count would change the bits with
    # it. Each extension module keeps its own copy: every module that plans calls this at
    # import, so they all read the environment once, as suite is imported.
    # suite._plan.planning_width() is this value.
    int suite_planning_width() noexcept nogil
