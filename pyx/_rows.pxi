# The run-time vector switch of the row kernels (_simd.h), included by every module that
# calls them: each extension module holds its own copy of the header's static state, so each
# gets this function, which the tests use to run the portable path on an AVX2 machine.

cdef extern from "_simd.h" nogil:
    int suite_cpu_has_avx2()
    int suite_avx2_allowed


def vector_isa(allow_avx2=None):
    """The widest vectors of this module's row kernels (_simd.h), "avx2" or "sse2". Tests:
    allow_avx2=False runs the portable path on an AVX2 machine, True restores it."""
    global suite_avx2_allowed
    if allow_avx2 is not None:
        suite_avx2_allowed = 1 if allow_avx2 else 0
    return "avx2" if suite_cpu_has_avx2() else "sse2"
