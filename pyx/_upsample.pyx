"""Compiled core of nearest and bilinear upsampling, forward and backward (NCHW).

``suite.upsample`` computes the per-axis index and weight tables once (PyTorch's coordinate
rules, see its docstring) and passes them here. Every loop runs over (plane, row) pairs cut into one
contiguous share per thread (each timed as one stage when profiled): each output row is
written by exactly one thread, in a fixed order, so the results are bit-for-bit the same for
every thread count, and N=1 large maps use every thread as well as large-N small maps do.

Backward passes gather instead of scattering across rows: for each input row the output rows
that read it form one contiguous range (the coordinate maps are monotone), so each thread owns
whole rows of the gradient and no atomics are needed.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from _openmp_helpers cimport omp_get_thread_num
from _profile cimport (SUITE_STAGE_GRADIENT_ROWS, SUITE_STAGE_UPSAMPLE_ADD_ROWS,
                       SUITE_STAGE_UPSAMPLE_ROWS, TaskIndex, attach_profiler, next_task,
                       part_start, parts_for, suite_profile_call, suite_stage_start,
                       suite_stage_stop, task_index)

attach_profiler()

from _interpolation cimport nearest_row

import numpy as np


cdef extern from "_nearest_rows.h" nogil:
    void suite_nearest_x2_f32(const float* src, Py_ssize_t rows, Py_ssize_t n, float* dst,
                              int streaming)
    void suite_nearest_x2_f64(const double* src, Py_ssize_t rows, Py_ssize_t n, double* dst,
                              int streaming)
    void suite_nearest_k_rows_f32(const float* s, Py_ssize_t n, Py_ssize_t k, float* d,
                                  Py_ssize_t rows, Py_ssize_t pitch)
    void suite_nearest_k_rows_f64(const double* s, Py_ssize_t n, Py_ssize_t k, double* d,
                                  Py_ssize_t rows, Py_ssize_t pitch)
    int suite_nearest_gather_f32(const float* s, Py_ssize_t in_w, float* d, Py_ssize_t out_w,
                                 const int32_t* base, const int32_t* perm,
                                 const Py_ssize_t* index, Py_ssize_t rows, Py_ssize_t pitch)
    int suite_nearest_gather_plane_f32(const float* s, Py_ssize_t in_h, Py_ssize_t in_w,
                                       float* d, Py_ssize_t out_w, const Py_ssize_t* row_start,
                                       const Py_ssize_t* row_stop, const int32_t* base,
                                       const int32_t* perm, const Py_ssize_t* index)


cdef extern from "_simd.h" nogil:
    int suite_cpu_has_avx512()
    int suite_avx512_allowed


cdef extern from "_bilinear_rows.h" nogil:
    void suite_bilinear_band_f32(
        int x2, const float* src, Py_ssize_t n, float* dst, Py_ssize_t out_w,
        Py_ssize_t oh_start, Py_ssize_t oh_stop, const Py_ssize_t* h0, const Py_ssize_t* h1,
        const float* lh0, const float* lh1, const Py_ssize_t* w0, const Py_ssize_t* w1,
        const float* lw0, const float* lw1, const int32_t* base0, const int32_t* perm0,
        const int32_t* base1, const int32_t* perm1, float* buf)
    void suite_bilinear_band_f64(
        int x2, const double* src, Py_ssize_t n, double* dst, Py_ssize_t out_w,
        Py_ssize_t oh_start, Py_ssize_t oh_stop, const Py_ssize_t* h0, const Py_ssize_t* h1,
        const double* lh0, const double* lh1, const Py_ssize_t* w0, const Py_ssize_t* w1,
        const double* lw0, const double* lw1, const int32_t* base0, const int32_t* perm0,
        const int32_t* base1, const int32_t* perm1, double* buf)
    int suite_bilinear_narrow_f32(
        const float* src, Py_ssize_t in_h, Py_ssize_t n, float* dst, Py_ssize_t out_h,
        Py_ssize_t out_w, Py_ssize_t task_start, Py_ssize_t task_stop, Py_ssize_t bands,
        Py_ssize_t band, const Py_ssize_t* h0, const Py_ssize_t* h1, const float* lh0,
        const float* lh1, const Py_ssize_t* w0, const Py_ssize_t* w1, const float* lw0,
        const float* lw1)


include "_rows.pxi"


def narrow_rows_isa(allow_avx512=None):
    """"avx512" where float32 bilinear rows of narrow planes run on their AVX-512 kernel
    (_bilinear_rows.h, suite_bilinear_narrow_f32), else ``vector_isa()``. Tests:
    allow_avx512=False runs the row kernels there, True restores the kernel."""
    global suite_avx512_allowed
    if allow_avx512 is not None:
        suite_avx512_allowed = 1 if allow_avx512 else 0
    return "avx512" if suite_cpu_has_avx512() else vector_isa()


cdef inline void nearest_x2_rows(const floating* src, Py_ssize_t rows, Py_ssize_t n,
                                 floating* dst, bint streaming) noexcept nogil:
    if floating is float:
        suite_nearest_x2_f32(src, rows, n, dst, streaming)
    else:
        suite_nearest_x2_f64(src, rows, n, dst, streaming)


def nearest_x2(const floating[:, :, ::1] x, floating[:, :, ::1] out, int n_threads,
               bint streaming=False):
    """out[p, 2i + a, 2j + b] = x[p, i, j] for a, b in {0, 1}: nearest x2 in both directions.

    x (P, H, W), out (P, 2H, 2W). The P*H input rows are cut into one share per thread; each
    input row writes its two output rows at once, a share in one vector loop (_nearest_rows.h),
    with ``streaming`` (the caller's choice, for outputs larger than the cache) by streaming
    stores, which do not read the destination lines first.
    """
    cdef Py_ssize_t planes = x.shape[0], in_h = x.shape[1], in_w = x.shape[2]
    cdef Py_ssize_t total = planes * in_h, parts = parts_for(total, n_threads)
    cdef Py_ssize_t part, first, stop
    cdef int64_t call = suite_profile_call(), t0
    if out.shape[0] != planes or out.shape[1] != 2 * in_h or out.shape[2] != 2 * in_w:
        raise ValueError(f"out must have shape {(planes, 2 * in_h, 2 * in_w)}, "
                         f"got {(out.shape[0], out.shape[1], out.shape[2])}")
    if total == 0 or in_w == 0:
        return
    suite_cpu_has_avx2()        # asked once, before the threads
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            first = part_start(part, parts, total)
            stop = part_start(part + 1, parts, total)
            nearest_x2_rows(&x[0, 0, 0] + first * in_w, stop - first, in_w,
                            &out[0, 0, 0] + first * 4 * in_w, streaming)
            suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ROWS, t0)


cdef int gather_tables(const int32_t[::1] base, const int32_t[::1] perm, Py_ssize_t in_w,
                       Py_ssize_t out_w, const int32_t** base_data,
                       const int32_t** perm_data, bint short_rows=False) except -1:
    """The data of the tables of a row kernel by blocks of 8 outputs (suite/upsample.py,
    _gather_blocks), checked against rows of in_w -> out_w values; NULL when not given.
    ``short_rows``: the kernel takes rows of fewer than 8 inputs (nearest's: one masked
    load a row), whose tables load from the row's start (base 0) and permute within it."""
    cdef Py_ssize_t blocks = (out_w + 7) // 8, b, j
    base_data[0] = perm_data[0] = NULL
    if base is None or perm is None:
        return 0
    if (base.shape[0] != blocks or perm.shape[0] != 8 * blocks or out_w < 8
            or in_w < (1 if short_rows else 8)):
        raise ValueError(f"gather tables of {base.shape[0]} blocks and {perm.shape[0]} "
                         f"lanes do not fit rows of {in_w} -> {out_w} values")
    if in_w < 8:
        for b in range(blocks):
            if base[b] != 0:
                raise ValueError(f"gather tables of rows of {in_w} < 8 values must load "
                                 f"from the row's start (base 0), block {b} has {base[b]}")
            for j in range(8):
                if not 0 <= perm[8 * b + j] < in_w:
                    raise ValueError(f"gather tables of rows of {in_w} values: lane {j} of "
                                     f"block {b} takes value {perm[8 * b + j]}")
    base_data[0] = &base[0]
    perm_data[0] = &perm[0]
    return 0


cdef int nearest_rows(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                      const Py_ssize_t* row_start, const Py_ssize_t* row_stop,
                      const Py_ssize_t* w_index, Py_ssize_t w_repeat, int n_threads,
                      const int32_t* g_base, const int32_t* g_perm) except -1:
    """nearest_forward on tables given by their data (checked by the caller)."""
    cdef Py_ssize_t planes = x.shape[0], in_h = x.shape[1], in_w = x.shape[2]
    cdef Py_ssize_t out_w = out.shape[2]
    cdef Py_ssize_t p, plane, ih, oh, part
    cdef TaskIndex at
    cdef Py_ssize_t total = planes * in_h, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef floating* dst
    if planes == 0:
        return 0
    if (floating is float and g_base != NULL and out_w >= 8 and suite_cpu_has_avx2()
            and planes >= 4 * n_threads):
        # plane by plane, the row loop in C (item 79)
        with nogil:
            for part in prange(planes, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                suite_nearest_gather_plane_f32(&x[part, 0, 0], in_h, in_w, &out[part, 0, 0],
                                               out_w, row_start, row_stop, g_base,
                                               g_perm, w_index)
                suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ROWS, t0)
        return 0
    if floating is float and g_base != NULL and out_w >= 8 and suite_cpu_has_avx2():
        # a loop of its own: beside the scalar loop below, its call slowed that loop by a
        # third (x0.7: 152 -> 204 us; the same instructions, placed otherwise)
        with nogil:
            for part in prange(parts, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                at = task_index(part_start(part, parts, total), planes, in_h)
                for p in range(part_start(part, parts, total),
                               part_start(part + 1, parts, total)):
                    plane = at.c
                    ih = at.i
                    at = next_task(at, planes, in_h)
                    if row_start[ih] < row_stop[ih]:
                        suite_nearest_gather_f32(&x[plane, ih, 0], in_w,
                                                 &out[plane, row_start[ih], 0], out_w, g_base,
                                                 g_perm, w_index,
                                                 row_stop[ih] - row_start[ih], out_w)
                suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ROWS, t0)
        return 0
    suite_cpu_has_avx2()        # asked once, before the threads
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            at = task_index(part_start(part, parts, total), planes, in_h)
            for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                plane = at.c
                ih = at.i
                at = next_task(at, planes, in_h)
                if row_start[ih] < row_stop[ih]:
                    dst = &out[plane, row_start[ih], 0]
                    if w_repeat >= 2:
                        if floating is float:
                            suite_nearest_k_rows_f32(&x[plane, ih, 0], in_w, w_repeat, dst,
                                                     row_stop[ih] - row_start[ih], out_w)
                        else:
                            suite_nearest_k_rows_f64(&x[plane, ih, 0], in_w, w_repeat, dst,
                                                     row_stop[ih] - row_start[ih], out_w)
                        continue
                    nearest_row(&x[plane, ih, 0], in_w, dst, out_w, w_index, w_repeat)
                    for oh in range(row_start[ih] + 1, row_stop[ih]):
                        memcpy(&out[plane, oh, 0], dst, out_w * sizeof(floating))
            suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ROWS, t0)
    return 0


def nearest_forward(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                    const Py_ssize_t[::1] row_start, const Py_ssize_t[::1] row_stop,
                    const Py_ssize_t[::1] w_index, Py_ssize_t w_repeat, int n_threads,
                    const int32_t[::1] gather_base=None, const int32_t[::1] gather_perm=None):
    """out[p, oh, ow] = x[p, ih, w_index[ow]] for oh in [row_start[ih], row_stop[ih]).

    x (P, H, W) and out (P, H_out, W_out) are planes; w_repeat > 0 says that
    w_index[ow] == ow // w_repeat (an integer scale), 0 otherwise. At an integer scale every
    output row that reads an input row is written by broadcast stores (_nearest_rows.h); otherwise
    the input row is expanded once through w_index and copied to the others
    (:func:`nearest_x2` is the faster kernel of x2 in both directions). Plain stores: no
    streaming (_nearest_rows.h). gather_base and gather_perm (float32, rows of at least 8
    outputs; suite/upsample.py, _gather_blocks): every output row of an input row written by
    blocks of 8 outputs, each a load and a permute stored into all of them
    (suite_nearest_gather_f32).
    """
    gather = ()
    if gather_base is not None or gather_perm is not None:
        gather = (<object> gather_base, <object> gather_perm)
    nearest_planned(x, out, NearestTables(row_start, row_stop, w_index, w_repeat, x.shape[2],
                                          out.shape[1], gather), n_threads)


cdef class NearestTables:
    """The tables of one nearest resize (nearest_forward's, checked once), kept by its
    plan: nearest_planned then converts two arrays a call instead of seven (item 80)."""
    cdef tuple arrays       # the tables, kept alive while their data is read
    cdef const Py_ssize_t* row_start
    cdef const Py_ssize_t* row_stop
    cdef const Py_ssize_t* w_index
    cdef const int32_t* g_base
    cdef const int32_t* g_perm
    cdef readonly Py_ssize_t in_h, in_w, out_h, out_w, w_repeat

    def __init__(self, row_start, row_stop, w_index, Py_ssize_t w_repeat, Py_ssize_t in_w,
                 Py_ssize_t out_h, gather=()):
        cdef const Py_ssize_t[::1] view
        cdef const int32_t[::1] base, perm
        starts = np.ascontiguousarray(row_start, dtype=np.intp)
        stops = np.ascontiguousarray(row_stop, dtype=np.intp)
        index = np.ascontiguousarray(w_index, dtype=np.intp)
        self.in_h, self.in_w, self.out_h, self.out_w = len(starts), in_w, out_h, len(index)
        if (len(stops) != self.in_h or (self.in_h and (
                starts.min() < 0 or stops.max() > out_h or (stops < starts).any()))):
            raise ValueError(f"row_start and row_stop must be {self.in_h} ranges in "
                             f"[0, {out_h}]")
        if self.out_w and (index.min() < 0 or index.max() >= in_w):
            raise ValueError(f"w_index must have entries in [0, {in_w})")
        if w_repeat < 0 or (w_repeat > 0 and not np.array_equal(
                index, np.arange(self.out_w) // w_repeat)):
            raise ValueError(f"w_repeat {w_repeat} does not describe w_index")
        self.w_repeat = w_repeat
        if len(gather) not in (0, 2) or any(t is None for t in gather):
            raise ValueError(f"gather must hold 0 or 2 tables, got {len(gather)}: {gather!r}")
        gather = tuple(np.ascontiguousarray(t, dtype=np.int32) for t in gather)
        self.arrays = (starts, stops, index) + gather
        self.row_start = self.row_stop = self.w_index = NULL
        self.g_base = self.g_perm = NULL
        if self.in_h == 0 or self.out_w == 0:
            return
        view = starts
        self.row_start = &view[0]
        view = stops
        self.row_stop = &view[0]
        view = index
        self.w_index = &view[0]
        if gather:
            base, perm = gather
            gather_tables(base, perm, in_w, self.out_w, &self.g_base, &self.g_perm, True)


def nearest_planned(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                    NearestTables tables not None, int n_threads):
    """nearest_forward with the tables a NearestTables keeps (the same rows, the same
    bits); the blocks-of-8 tables are float32's."""
    if (x.shape[1] != tables.in_h or x.shape[2] != tables.in_w or out.shape[0] != x.shape[0]
            or out.shape[1] != tables.out_h or out.shape[2] != tables.out_w):
        raise ValueError(f"planes of {x.shape[1]}x{x.shape[2]} -> {out.shape[1]}x{out.shape[2]}"
                         f" ({x.shape[0]} and {out.shape[0]} of them) do not fit tables of "
                         f"{tables.in_h}x{tables.in_w} -> {tables.out_h}x{tables.out_w}")
    if x.shape[0] == 0 or tables.in_h == 0 or tables.out_w == 0:
        return
    nearest_rows(x, out, tables.row_start, tables.row_stop, tables.w_index, tables.w_repeat,
                 n_threads, tables.g_base if floating is float else NULL,
                 tables.g_perm if floating is float else NULL)


def nearest_backward(const floating[:, :, ::1] grad_out, floating[:, :, ::1] grad_x,
                     const Py_ssize_t[::1] row_start, const Py_ssize_t[::1] row_stop,
                     const Py_ssize_t[::1] w_index, Py_ssize_t w_repeat, int n_threads,
                    bint streaming=False):
    """grad_x[p, ih, iw] = sum of grad_out[p, oh, ow] over the outputs that read (ih, iw)."""
    cdef Py_ssize_t planes = grad_x.shape[0], in_h = grad_x.shape[1], in_w = grad_x.shape[2]
    cdef Py_ssize_t out_w = grad_out.shape[2]
    cdef Py_ssize_t p, plane, ih, iw, oh, ow, r, part
    cdef TaskIndex at
    cdef Py_ssize_t tasks = planes * in_h, parts = parts_for(tasks, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* src
    cdef floating* dst
    cdef floating total
    if planes == 0:
        return
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            at = task_index(part_start(part, parts, tasks), planes, in_h)
            for p in range(part_start(part, parts, tasks), part_start(part + 1, parts, tasks)):
                plane = at.c
                ih = at.i
                at = next_task(at, planes, in_h)
                dst = &grad_x[plane, ih, 0]
                memset(dst, 0, in_w * sizeof(floating))
                for oh in range(row_start[ih], row_stop[ih]):
                    src = &grad_out[plane, oh, 0]
                    if w_repeat > 0:
                        for iw in range(in_w):
                            total = src[iw * w_repeat]
                            for r in range(1, w_repeat):
                                total = total + src[iw * w_repeat + r]
                            dst[iw] = dst[iw] + total
                    else:
                        for ow in range(out_w):
                            dst[w_index[ow]] = dst[w_index[ow]] + src[ow]
            suite_stage_stop(call, SUITE_STAGE_GRADIENT_ROWS, t0)


cdef struct RowGather:
    # the tables of a row's horizontal pass by blocks of 8 (float32, AVX2), or base0 NULL
    const int32_t* base0
    const int32_t* perm0
    const int32_t* base1
    const int32_t* perm1


cdef enum:
    # Output rows per task of the bilinear kernel: consecutive rows share input rows, whose
    # horizontal interpolation a task computes once and keeps.
    BILINEAR_BAND = 16


cdef int bilinear_rows(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                       const Py_ssize_t* h0, const Py_ssize_t* h1, const floating* lh0,
                       const floating* lh1, const Py_ssize_t* w0, const Py_ssize_t* w1,
                       const floating* lw0, const floating* lw1, int n_threads,
                       bint x2_columns, RowGather g) except -1:
    """bilinear_forward on tables given by their data (checked by the caller)."""
    cdef Py_ssize_t planes = x.shape[0], out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t in_w = x.shape[2]
    cdef Py_ssize_t bands = (out_h + BILINEAR_BAND - 1) // BILINEAR_BAND
    cdef Py_ssize_t task, plane, band, oh_start, oh_stop, part, task_start, task_stop
    cdef Py_ssize_t in_h = x.shape[1]
    cdef Py_ssize_t tasks = planes * bands, parts = parts_for(tasks, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef floating* buffers
    cdef void* block
    cdef Py_ssize_t stride
    cdef floating* buf
    if planes == 0:
        return 0
    suite_cpu_has_avx2()        # asked once, before the threads
    # Each thread's two rows start on a cache line of their own: threads that wrote
    # neighbouring short rows of one line took turns owning it (2x256x13x13: two threads
    # slower than one).
    stride = (2 * out_w * sizeof(floating) + 127) // 128 * 128 // sizeof(floating)
    block = malloc(n_threads * stride * sizeof(floating) + 64)
    buffers = <floating*> ((<uintptr_t> block + 63) // 64 * 64)
    if block == NULL:
        raise MemoryError()
    try:
        with nogil:
            for part in prange(parts, schedule="static", num_threads=n_threads):
                t0 = suite_stage_start(call)
                task_start = part_start(part, parts, tasks)
                task_stop = part_start(part + 1, parts, tasks)
                if floating is float:
                    if suite_bilinear_narrow_f32(&x[0, 0, 0], in_h, in_w, &out[0, 0, 0], out_h,
                                                 out_w, task_start, task_stop, bands,
                                                 BILINEAR_BAND, h0, h1, lh0, lh1, w0, w1, lw0,
                                                 lw1):
                        task_stop = task_start      # done
                for task in range(task_start, task_stop):
                    plane = task // bands
                    band = task - plane * bands
                    buf = buffers + omp_get_thread_num() * stride
                    oh_start = band * BILINEAR_BAND
                    oh_stop = min(out_h, (band + 1) * BILINEAR_BAND)
                    if floating is float:
                        suite_bilinear_band_f32(
                            x2_columns, &x[plane, 0, 0], in_w, &out[plane, 0, 0], out_w,
                            oh_start, oh_stop, h0, h1, lh0, lh1, w0, w1, lw0, lw1, g.base0,
                            g.perm0, g.base1, g.perm1, buf)
                    else:
                        suite_bilinear_band_f64(
                            x2_columns, &x[plane, 0, 0], in_w, &out[plane, 0, 0], out_w,
                            oh_start, oh_stop, h0, h1, lh0, lh1, w0, w1, lw0, lw1, NULL, NULL,
                            NULL, NULL, buf)
                suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ROWS, t0)
    finally:
        free(block)
    return 0


def bilinear_forward(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                     const Py_ssize_t[::1] h0, const Py_ssize_t[::1] h1,
                     const floating[::1] lh0, const floating[::1] lh1,
                     const Py_ssize_t[::1] w0, const Py_ssize_t[::1] w1,
                     const floating[::1] lw0, const floating[::1] lw1, int n_threads,
                     bint x2_columns=False, const int32_t[::1] gather_base0=None,
                     const int32_t[::1] gather_perm0=None, const int32_t[::1] gather_base1=None,
                     const int32_t[::1] gather_perm1=None):
    """out[p, oh, ow] = lh0*(lw0*x[h0, w0] + lw1*x[h0, w1]) + lh1*(lw0*x[h1, w0] + lw1*x[h1, w1])
    with the tables indexed by oh (h*) and ow (w*).

    Separable: each task takes a band of output rows of one plane, interpolates the input
    rows it needs horizontally once into two row buffers of its thread, and blends them
    vertically, both from vectors (_bilinear_rows.h). ``x2_columns``: the caller checked that the
    column tables are those of x2, align_corners=False (out_w == 2 in_w), whose interior
    needs no table. gather_*: the tables of the horizontal pass by blocks of 8 outputs
    (suite/upsample.py, _gather_blocks of w0 and of w1; float32, rows of 8 values or more).
    The arithmetic is the formula's, so the result does not depend on the banding, the
    vector width or the thread count.
    """
    gather = ()
    if not (gather_base0 is None and gather_perm0 is None and gather_base1 is None
            and gather_perm1 is None):
        gather = (<object> gather_base0, <object> gather_perm0, <object> gather_base1,
                  <object> gather_perm1)
    bilinear_planned(x, out, BilinearTables(h0, h1, lh0, lh1, w0, w1, lw0, lw1, x.shape[1],
                                            x.shape[2], x2_columns, gather), n_threads)


cdef class BilinearTables:
    """The tables of one bilinear resize (bilinear_forward's, checked once), kept by its
    plan: bilinear_planned then converts two arrays a call instead of fourteen (a typed
    memoryview argument costs ~0.2 us; a small map's whole call was ~8 us: item 80)."""
    cdef tuple arrays       # the tables, kept alive while their data is read
    cdef const Py_ssize_t* h0
    cdef const Py_ssize_t* h1
    cdef const Py_ssize_t* w0
    cdef const Py_ssize_t* w1
    cdef const void* weights[4]     # lh0, lh1, lw0, lw1
    cdef readonly object dtype
    cdef int itemsize
    cdef readonly Py_ssize_t in_h, in_w, out_h, out_w
    cdef bint x2_columns
    cdef RowGather g

    def __init__(self, h0, h1, lh0, lh1, w0, w1, lw0, lw1, Py_ssize_t in_h,
                 Py_ssize_t in_w, bint x2_columns=False, gather=()):
        cdef const Py_ssize_t[::1] index
        cdef const float[::1] f
        cdef const double[::1] d
        cdef const int32_t[::1] base0, perm0, base1, perm1
        cdef int i
        self.dtype = np.asarray(lh0).dtype
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"the weights must be float32 or float64, got {self.dtype}")
        self.itemsize = self.dtype.itemsize
        self.out_h, self.out_w, self.in_h, self.in_w = len(h0), len(w0), in_h, in_w
        tables = []
        for name, table, size, bound in (("h0", h0, self.out_h, in_h),
                                         ("h1", h1, self.out_h, in_h),
                                         ("w0", w0, self.out_w, in_w),
                                         ("w1", w1, self.out_w, in_w)):
            table = np.ascontiguousarray(table, dtype=np.intp)
            if len(table) != size or (size and (table.min() < 0 or table.max() >= bound)):
                raise ValueError(f"{name} must have {size} entries in [0, {bound})")
            tables.append(table)
        for name, table, size in (("lh0", lh0, self.out_h), ("lh1", lh1, self.out_h),
                                  ("lw0", lw0, self.out_w), ("lw1", lw1, self.out_w)):
            table = np.ascontiguousarray(table, dtype=self.dtype)
            if len(table) != size:
                raise ValueError(f"{name} must have {size} entries, got {len(table)}")
            tables.append(table)
        if x2_columns and (self.out_w != 2 * in_w or in_w < 2):
            raise ValueError(f"x2_columns needs out_w == 2 * in_w >= 4, got {self.out_w} "
                             f"and {in_w}")
        self.x2_columns = x2_columns
        if len(gather) not in (0, 4) or any(t is None for t in gather):
            raise ValueError(f"gather must hold 0 or 4 tables, got {len(gather)}: {gather!r}")
        gather = tuple(np.ascontiguousarray(t, dtype=np.int32) for t in gather)
        self.arrays = tuple(tables) + gather
        if self.out_h == 0 or self.out_w == 0:
            return
        index = self.arrays[0]
        self.h0 = &index[0]
        index = self.arrays[1]
        self.h1 = &index[0]
        index = self.arrays[2]
        self.w0 = &index[0]
        index = self.arrays[3]
        self.w1 = &index[0]
        for i in range(4):
            if self.itemsize == 4:
                f = self.arrays[4 + i]
                self.weights[i] = &f[0]
            else:
                d = self.arrays[4 + i]
                self.weights[i] = &d[0]
        if gather:
            base0, perm0, base1, perm1 = gather
            gather_tables(base0, perm0, in_w, self.out_w, &self.g.base0, &self.g.perm0)
            gather_tables(base1, perm1, in_w, self.out_w, &self.g.base1, &self.g.perm1)
        else:
            self.g.base0 = self.g.perm0 = self.g.base1 = self.g.perm1 = NULL


def bilinear_planned(const floating[:, :, ::1] x, floating[:, :, ::1] out,
                     BilinearTables tables not None, int n_threads):
    """bilinear_forward with the tables a BilinearTables keeps (the same rows, the same
    bits)."""
    if tables.itemsize != sizeof(floating):
        raise TypeError(f"x is not of the tables' dtype {tables.dtype}")
    if (x.shape[1] != tables.in_h or x.shape[2] != tables.in_w or out.shape[0] != x.shape[0]
            or out.shape[1] != tables.out_h or out.shape[2] != tables.out_w):
        raise ValueError(f"planes of {x.shape[1]}x{x.shape[2]} -> {out.shape[1]}x{out.shape[2]}"
                         f" ({x.shape[0]} and {out.shape[0]} of them) do not fit tables of "
                         f"{tables.in_h}x{tables.in_w} -> {tables.out_h}x{tables.out_w}")
    if tables.out_h == 0 or tables.out_w == 0:
        return
    bilinear_rows(x, out, tables.h0, tables.h1, <const floating*> tables.weights[0],
                  <const floating*> tables.weights[1], tables.w0, tables.w1,
                  <const floating*> tables.weights[2], <const floating*> tables.weights[3],
                  n_threads, tables.x2_columns, tables.g)


def bilinear_backward(const floating[:, :, ::1] grad_out, floating[:, :, ::1] grad_x,
                      const Py_ssize_t[::1] row_start, const Py_ssize_t[::1] row_stop,
                      const Py_ssize_t[::1] h0, const Py_ssize_t[::1] h1,
                      const floating[::1] lh0, const floating[::1] lh1,
                      const Py_ssize_t[::1] w0, const Py_ssize_t[::1] w1,
                      const floating[::1] lw0, const floating[::1] lw1, int n_threads):
    """The adjoint of bilinear_forward; output rows [row_start[ih], row_stop[ih]) read row ih."""
    cdef Py_ssize_t planes = grad_x.shape[0], in_h = grad_x.shape[1], in_w = grad_x.shape[2]
    cdef Py_ssize_t out_w = grad_out.shape[2]
    cdef Py_ssize_t p, plane, ih, oh, ow, part
    cdef TaskIndex at
    cdef Py_ssize_t total = planes * in_h, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* src
    cdef floating* dst
    cdef floating weight, v
    if planes == 0:
        return
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            at = task_index(part_start(part, parts, total), planes, in_h)
            for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                plane = at.c
                ih = at.i
                at = next_task(at, planes, in_h)
                dst = &grad_x[plane, ih, 0]
                memset(dst, 0, in_w * sizeof(floating))
                for oh in range(row_start[ih], row_stop[ih]):
                    weight = 0
                    if h0[oh] == ih:
                        weight = weight + lh0[oh]
                    if h1[oh] == ih:
                        weight = weight + lh1[oh]
                    src = &grad_out[plane, oh, 0]
                    for ow in range(out_w):
                        v = weight * src[ow]
                        dst[w0[ow]] = dst[w0[ow]] + lw0[ow] * v
                        dst[w1[ow]] = dst[w1[ow]] + lw1[ow] * v
            suite_stage_stop(call, SUITE_STAGE_GRADIENT_ROWS, t0)


def nearest_add(const floating[:, :, ::1] x, const floating[:, :, ::1] skip,
                floating[:, :, ::1] out, const Py_ssize_t[::1] h_index,
                const Py_ssize_t[::1] w_index, Py_ssize_t w_repeat, int n_threads):
    """out[p, oh, ow] = skip[p, oh, ow] + x[p, h_index[oh], w_index[ow]] in one pass.

    out may be skip itself (in-place accumulation: each element is read, then written, by
    the same iteration).
    """
    cdef Py_ssize_t planes = x.shape[0], in_w = x.shape[2]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t p, plane, oh, ow, iw, r, part
    cdef TaskIndex at
    cdef Py_ssize_t total = planes * out_h, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* src
    cdef const floating* add
    cdef floating* dst
    cdef floating v
    if planes == 0:
        return
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            at = task_index(part_start(part, parts, total), planes, out_h)
            for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                plane = at.c
                oh = at.i
                at = next_task(at, planes, out_h)
                src = &x[plane, h_index[oh], 0]
                add = &skip[plane, oh, 0]
                dst = &out[plane, oh, 0]
                if w_repeat == 2:
                    for iw in range(in_w):
                        v = src[iw]
                        dst[2 * iw] = add[2 * iw] + v
                        dst[2 * iw + 1] = add[2 * iw + 1] + v
                elif w_repeat > 0:
                    for iw in range(in_w):
                        v = src[iw]
                        for r in range(w_repeat):
                            dst[iw * w_repeat + r] = add[iw * w_repeat + r] + v
                else:
                    for ow in range(out_w):
                        dst[ow] = add[ow] + src[w_index[ow]]
            suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ADD_ROWS, t0)


def bilinear_add(const floating[:, :, ::1] x, const floating[:, :, ::1] skip,
                 floating[:, :, ::1] out,
                 const Py_ssize_t[::1] h0, const Py_ssize_t[::1] h1,
                 const floating[::1] lh0, const floating[::1] lh1,
                 const Py_ssize_t[::1] w0, const Py_ssize_t[::1] w1,
                 const floating[::1] lw0, const floating[::1] lw1, int n_threads):
    """out = skip + bilinear_forward(x) in one pass; out may be skip itself."""
    cdef Py_ssize_t planes = x.shape[0], out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t p, plane, oh, ow, part
    cdef TaskIndex at
    cdef Py_ssize_t total = planes * out_h, parts = parts_for(total, n_threads)
    cdef int64_t call = suite_profile_call(), t0
    cdef const floating* r0
    cdef const floating* r1
    cdef const floating* add
    cdef floating* dst
    cdef floating a, b
    if planes == 0:
        return
    with nogil:
        for part in prange(parts, schedule="static", num_threads=n_threads):
            t0 = suite_stage_start(call)
            at = task_index(part_start(part, parts, total), planes, out_h)
            for p in range(part_start(part, parts, total), part_start(part + 1, parts, total)):
                plane = at.c
                oh = at.i
                at = next_task(at, planes, out_h)
                r0 = &x[plane, h0[oh], 0]
                r1 = &x[plane, h1[oh], 0]
                a = lh0[oh]
                b = lh1[oh]
                add = &skip[plane, oh, 0]
                dst = &out[plane, oh, 0]
                for ow in range(out_w):
                    dst[ow] = add[ow] + (a * (lw0[ow] * r0[w0[ow]] + lw1[ow] * r0[w1[ow]])
                                         + b * (lw0[ow] * r1[w0[ow]] + lw1[ow] * r1[w1[ow]]))
            suite_stage_stop(call, SUITE_STAGE_UPSAMPLE_ADD_ROWS, t0)
