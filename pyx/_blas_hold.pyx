"""BLAS held at one thread while a kernel runs, in C (suite._threads decides what to hold).

OpenBLAS's thread limit is process-wide and kernels run from several Python threads at once
(they release the GIL): the first kernel in saves each library's limit and sets 1, the last
one out restores it, under one mutex. Called from Python through ctypes with a lock and a
context manager this cost 1.5 us a kernel call (a sixth of a small layer's); here the
limits are read and set through the libraries' own function pointers.
"""

from libc.stdint cimport uintptr_t

cdef extern from *:
    """
    #include <pthread.h>
    #define SUITE_HOLD_MAX 8
    typedef int (*suite_blas_get_t)(void);
    typedef void (*suite_blas_set_t)(int);
    static pthread_mutex_t suite_hold_mutex = PTHREAD_MUTEX_INITIALIZER;
    static int suite_hold_depth = 0, suite_hold_n = 0;
    static suite_blas_get_t suite_hold_get[SUITE_HOLD_MAX];
    static suite_blas_set_t suite_hold_set[SUITE_HOLD_MAX];
    static int suite_hold_saved[SUITE_HOLD_MAX];

    static int suite_hold_register(uintptr_t get, uintptr_t set)
    {
        if (suite_hold_n >= SUITE_HOLD_MAX)
            return 0;
        suite_hold_get[suite_hold_n] = (suite_blas_get_t)get;
        suite_hold_set[suite_hold_n] = (suite_blas_set_t)set;
        suite_hold_n++;
        return 1;
    }

    static void suite_hold_enter(void)
    {
        pthread_mutex_lock(&suite_hold_mutex);
        if (suite_hold_depth++ == 0)
            for (int i = 0; i < suite_hold_n; i++) {
                suite_hold_saved[i] = suite_hold_get[i]();
                if (suite_hold_saved[i] != 1)
                    suite_hold_set[i](1);
            }
        pthread_mutex_unlock(&suite_hold_mutex);
    }

    static void suite_hold_exit(void)
    {
        pthread_mutex_lock(&suite_hold_mutex);
        if (suite_hold_depth > 0 && --suite_hold_depth == 0)
            for (int i = 0; i < suite_hold_n; i++)
                if (suite_hold_saved[i] != 1)
                    suite_hold_set[i](suite_hold_saved[i]);
        pthread_mutex_unlock(&suite_hold_mutex);
    }

    /* A forked child has only the forking thread: a mutex held by another thread would
       never be released, and a kernel that ran there never ends. Start afresh, with the
       limits as they were before any kernel held them. */
    static void suite_hold_after_fork(void)
    {
        pthread_mutex_init(&suite_hold_mutex, NULL);
        if (suite_hold_depth > 0)
            for (int i = 0; i < suite_hold_n; i++)
                if (suite_hold_saved[i] != 1)
                    suite_hold_set[i](suite_hold_saved[i]);
        suite_hold_depth = 0;
    }
    """
    int suite_hold_register(uintptr_t get, uintptr_t set)
    void suite_hold_enter() nogil
    void suite_hold_exit() nogil
    void suite_hold_after_fork()


def register(uintptr_t get, uintptr_t set_):
    """Hold the library whose ``int get(void)`` and ``void set(int)`` thread-limit functions
    are at these addresses (OpenBLAS's, through ctypes). False when the table is full."""
    return bool(suite_hold_register(get, set_))


cdef class Hold:
    """``with HOLD:`` holds every registered library at one thread; the first kernel in
    saves its limit, the last one out restores it. Called with the GIL held (it serialises
    the callers; the mutex guards the C state for any caller without it)."""

    def __enter__(self):
        suite_hold_enter()
        return self

    def __exit__(self, exc_type, exc, tb):
        suite_hold_exit()
        return False


HOLD = Hold()


def after_fork_in_child():
    """Restore the saved limits and the mutex in a forked child."""
    suite_hold_after_fork()
