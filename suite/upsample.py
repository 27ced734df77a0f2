"""Nearest and bilinear upsampling (and downsampling), forward and backward, NCHW.

Coordinates follow PyTorch's ``torch.nn.functional.interpolate`` (``aten/src/ATen/native/
UpSample.h``), per axis, with ``in`` the input size and ``out`` the output size:

* output size: ``size``, or ``floor(in * scale_factor)``;
* ``nearest``: ``src = (dst * in) // out`` when ``size`` was given (exact integer arithmetic),
  ``min(floor(dst / scale_factor), in - 1)`` when a scale factor was given; whatever the scale
  factor, an output as large as the input copies it and one exactly twice as large takes
  ``dst // 2`` (PyTorch's fast paths, e.g. in 5 with scale 1.19 or 2.1);
* ``nearest-exact``: ``((2*dst + 1) * in) // (2*out)``, or ``min(floor((dst + 0.5) /
  scale_factor), in - 1)`` with a scale factor;
* ``bilinear``: with ``align_corners=True`` ``src = dst * (in - 1)/(out - 1)`` (0 when
  out == 1); otherwise ``src = max(scale*(dst + 0.5) - 0.5, 0)`` with ``scale = 1/scale_factor``
  if a scale factor was given, else ``in/out``; ``i0 = min(floor(src), in - 1)``,
  ``i1 = i0 + (i0 < in - 1)``, ``l1 = src - i0``, ``l0 = 1 - l1``; an output as large as the
  input copies it, whatever the scale factor (as PyTorch does).

At exact ties (``dst*in/out`` a whole number reached through rounding) PyTorch's float
evaluation rounds either way depending on dtype and code path; the integer rules above are
exact and agree with it everywhere else.
"""

import functools

import numpy as np

from . import _outputs, _upsample
from ._plan import streams_past_cache, threads_for_bytes
from ._threads import effective_n_threads
from .profiling import note_call, profiled, python_stage_start, python_stage_stop
from ._validation import (
    UPSAMPLE_MODES,
    check_array,
    check_out,
    check_mode,
    check_pair,
    check_size,
    contiguous,
    make_output,
)
from .geometry import upsample_output_size

__all__ = ["upsample", "upsample_backward", "upsample_output_size", "UPSAMPLE_MODES"]


def _nearest_index(in_size, out_size, scale, exact):
    dst = np.arange(out_size, dtype=np.int64)
    if out_size == in_size and not exact:
        return dst.astype(np.intp)
    if scale is None:
        if exact:
            index = ((2 * dst + 1) * in_size) // (2 * out_size)
        else:
            index = (dst * in_size) // out_size
    elif not exact and out_size == 2 * in_size:
        index = dst // 2
    elif scale.is_integer():
        k = int(scale)
        index = (2 * dst + 1) // (2 * k) if exact else dst // k
    else:
        offset = 0.5 if exact else 0.0
        index = np.floor((dst + offset) / scale).astype(np.int64)
    return np.minimum(index, in_size - 1).astype(np.intp)


def _row_ranges(source_rows, in_size):
    """For each input row, the range [start, stop) of output rows that read it.

    ``source_rows`` is non-decreasing, so each range is contiguous (empty for rows skipped
    when downsampling).
    """
    rows = np.arange(in_size)
    start = np.searchsorted(source_rows, rows, side="left").astype(np.intp)
    stop = np.searchsorted(source_rows, rows, side="right").astype(np.intp)
    return start, stop


def _repeat_factor(index, in_size, out_size):
    """k when index[o] == o // k for every o (an integer scale), else 0."""
    if out_size % in_size:
        return 0
    k = out_size // in_size
    if np.array_equal(index, np.arange(out_size) // k):
        return k
    return 0


def _linear_tables(in_size, out_size, scale, align_corners, dtype):
    dst = np.arange(out_size, dtype=np.float64)
    if out_size == in_size:
        # A copy: both taps on the same pixel, as PyTorch does, so a NaN or Inf next to
        # it does not leak in through a zero weight.
        i0 = dst.astype(np.intp)
        return i0, i0.copy(), np.ones(out_size, dtype=dtype), np.zeros(out_size, dtype=dtype)
    else:
        if align_corners:
            ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
            src = ratio * dst
        else:
            ratio = 1.0 / scale if scale is not None else in_size / out_size
            src = np.maximum(ratio * (dst + 0.5) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.intp), in_size - 1)
        l1 = np.clip(src - i0, 0.0, 1.0)
    i1 = (i0 + (i0 < in_size - 1)).astype(np.intp)
    return i0, i1, (1.0 - l1).astype(dtype), l1.astype(dtype)


def _x2_columns(w0, w1, lw0, lw1):
    """True when the column tables of a bilinear resize are x2's with align_corners=False
    between the edge columns: output 2j + 1 = 0.75 in[j] + 0.25 in[j + 1] and output 2j + 2 =
    0.25 in[j] + 0.75 in[j + 1] (the bilinear kernel then computes them from vectors)."""
    in_w, out_w = (len(w0) + 1) // 2, len(w0)
    if out_w != 2 * in_w or in_w < 2:
        return False
    j = np.arange(in_w - 1)
    odd, even = 2 * j + 1, 2 * j + 2
    return bool(np.array_equal(w0[odd], j) and np.array_equal(w1[odd], j + 1)
                and np.array_equal(w0[even], j) and np.array_equal(w1[even], j + 1)
                and (lw0[odd] == 0.75).all() and (lw1[odd] == 0.25).all()
                and (lw0[even] == 0.25).all() and (lw1[even] == 0.75).all())


def _gather_blocks(w_index, in_w, short_rows=False):
    """Tables of the row kernels that take 8 outputs at a time from one load of 8
    consecutive inputs: nearest at a fractional width scale, and each tap of bilinear's
    horizontal pass (w_index: the tap's input columns); float32, rows of at least 8 values
    in and out. (base, perm), the kernel's last arguments, or () for none. Per block of 8
    outputs (the last one ending at the row's end), the first of the 8 consecutive inputs
    it loads and the permutation that places them (pyx/_nearest_rows.h,
    suite_nearest_gather_f32; pyx/_bilinear_rows.h, suite_bilinear_row_gather_f32); -1
    where the block reads inputs more than 8 apart, which it then gathers one by one. ()
    when fewer than half the blocks fit (downscaling by more than 8/7: the scalar loop is
    faster than blocks that mostly fall back to it: 0.88x at x0.7). ``short_rows``
    (nearest's kernel, which loads a row of fewer than 8 inputs once, masked): tables also
    for rows of 1-7 inputs, every block from the row's start (docs/performance.md, item
    105: x3.5 of 1024 maps of 6x6 1.9x faster than the scalar loop)."""
    out_w = len(w_index)
    if out_w < 8 or in_w < 1 or (in_w < 8 and not short_rows):
        return ()
    starts = np.minimum(np.arange(0, out_w, 8), out_w - 8)
    index = w_index[starts[:, None] + np.arange(8)]
    if in_w < 8:
        return np.zeros(len(starts), np.int32), index.astype(np.int32).reshape(-1)
    base = np.minimum(index.min(axis=1), in_w - 8)
    fits = index.max(axis=1) - base < 8
    if 2 * fits.sum() < len(fits):
        return ()
    perm = np.where(fits[:, None], index - base[:, None], 0).astype(np.int32)
    return np.where(fits, base, -1).astype(np.int32), perm.reshape(-1)


class _Plan:
    """Index and weight tables of one upsampling, shared by forward and backward.

    Plans are cached (:func:`_plan`): a network calls the same resize again and again, and
    building the tables costs more than upsampling a small map.
    """

    def __init__(self, in_hw, out_hw, scales, mode, align_corners, dtype):
        (in_h, in_w), (out_h, out_w) = in_hw, out_hw
        self.mode = mode
        self.x2 = False
        if mode == "bilinear":
            self.h = _linear_tables(in_h, out_h, scales[0], align_corners, dtype)
            self.w = _linear_tables(in_w, out_w, scales[1], align_corners, dtype)
            self.x2_columns = _x2_columns(*self.w)
            self.gather = ()
            if not self.x2_columns and np.dtype(dtype) == np.float32:
                # the horizontal pass by blocks of 8: both taps' tables, where both fit
                taps = _gather_blocks(self.w[0], in_w), _gather_blocks(self.w[1], in_w)
                if all(taps):
                    self.gather = taps[0] + taps[1]
            h0, h1 = self.h[0], self.h[1]
            rows = np.arange(in_h)
            # Output rows reading input row ih: those with h1 >= ih and h0 <= ih.
            self.row_start = np.searchsorted(h1, rows, side="left").astype(np.intp)
            self.row_stop = np.searchsorted(h0, rows, side="right").astype(np.intp)
        else:
            exact = mode == "nearest-exact"
            h_index = self.h_index = _nearest_index(in_h, out_h, scales[0], exact)
            self.w_index = _nearest_index(in_w, out_w, scales[1], exact)
            self.w_repeat = _repeat_factor(self.w_index, in_w, out_w)
            self.row_start, self.row_stop = _row_ranges(h_index, in_h)
            # x2 in both directions (PyTorch's rule takes dst // 2 whatever the scale
            # factor): the row kernel that writes both output rows of an input row at once
            self.x2 = (out_h == 2 * in_h and out_w == 2 * in_w
                       and _repeat_factor(h_index, in_h, out_h) == 2 and self.w_repeat == 2)
            # fractional width scales, and integer ones of rows under 8 inputs (the
            # repeating kernel's vectors take 8 inputs; below, one masked load a row and
            # a permute a block: item 105); none for x2, whose kernel reads no table
            self.gather = (_gather_blocks(self.w_index, in_w, short_rows=True)
                           if ((self.w_repeat == 0 or in_w < 8) and not self.x2
                               and np.dtype(dtype) == np.float32) else ())
        if mode == "bilinear":
            # the tables' data taken once: a call converts x and out alone (item 80)
            self.tables = _upsample.BilinearTables(*self.h, *self.w, in_h, in_w,
                                                   self.x2_columns, self.gather)
            self.kernel = _upsample.bilinear_planned[_SPECIALISATION[np.dtype(dtype).str]]
        elif self.x2:
            self.kernel = _upsample.nearest_x2[_SPECIALISATION[np.dtype(dtype).str]]
        else:
            self.tables = _upsample.NearestTables(self.row_start, self.row_stop, self.w_index,
                                                  self.w_repeat, in_w, out_h, self.gather)
            self.kernel = _upsample.nearest_planned[_SPECIALISATION[np.dtype(dtype).str]]

        for table in vars(self).values():
            if isinstance(table, (_upsample.BilinearTables, _upsample.NearestTables)):
                continue
            if isinstance(table, np.ndarray):
                table.flags.writeable = False
            elif isinstance(table, tuple):
                for item in table:
                    item.flags.writeable = False

    def forward(self, x_planes, out_planes, n_threads, streaming=False):
        """Streaming stores (``streaming``) where the kernel has them: nearest x2."""
        if self.mode == "bilinear":
            self.kernel(x_planes, out_planes, self.tables, n_threads)
        elif self.x2:
            self.kernel(x_planes, out_planes, n_threads, streaming)
        else:
            self.kernel(x_planes, out_planes, self.tables, n_threads)

    def backward(self, grad_planes, out_planes, n_threads):
        if self.mode == "bilinear":
            _upsample.bilinear_backward(grad_planes, out_planes, self.row_start, self.row_stop,
                                        *self.h[:2], *self.h[2:], *self.w[:2], *self.w[2:],
                                        n_threads)
        else:
            _upsample.nearest_backward(grad_planes, out_planes, self.row_start, self.row_stop,
                                       self.w_index, self.w_repeat, n_threads)


#: The compiled kernels' specialisation per dtype (indexing a fused function skips its
#: per-call type dispatch).
_SPECIALISATION = {np.dtype(np.float32).str: "float", np.dtype(np.float64).str: "double"}


@functools.lru_cache(maxsize=256)
def upsample_plan(in_hw, out_hw, scales, mode, align_corners, dtype):
    """The cached :class:`_Plan` of one resize (``dtype`` as a string, hashable)."""
    return _Plan(in_hw, out_hw, scales, mode, align_corners, np.dtype(dtype))


def _check_input(x, name):
    x = check_array(x, name, 4)
    if min(x.shape[1:]) < 1:
        raise ValueError(
            f"{name} must have at least one channel, row and column, got shape {x.shape}"
        )
    return x


class _Resize:
    """One validated upsample() configuration: the output shape and the plan of an input
    shape, dtype, size or scale factor, mode and align_corners."""

    __slots__ = ("out_shape", "plan", "mode", "planes_in", "planes_out")

    def __init__(self, shape, dtype, size, scale_factor, mode, align_corners):
        mode, align_corners = check_mode(mode, align_corners)
        (out_h, out_w), scales = upsample_output_size(shape[2:], size, scale_factor)
        n, c, h, w = shape
        self.out_shape = tuple(map(int, (n, c, out_h, out_w)))
        check_size(self.out_shape, "the output")
        self.mode = mode
        self.planes_in = (n * c, h, w)
        self.planes_out = (n * c, out_h, out_w)
        self.plan = upsample_plan((h, w), (out_h, out_w), scales, mode, align_corners,
                                  np.dtype(dtype).str)


@functools.lru_cache(maxsize=256)
def _resize_cached(shape, dtype, size, scale_factor, scale_type, mode, align_corners):
    """``scale_type`` keeps 2 and 2.0 apart in the cache's key."""
    return _Resize(shape, dtype, size, scale_factor, mode, align_corners)


def _resize(x, size, scale_factor, mode, align_corners):
    """The :class:`_Resize` of a call: cached when the arguments are plain values (Python ints
    and floats, a tuple of two ints, a str, None or a bool), whose equality then means the same
    validation and the same tables; built afresh otherwise (lists, NumPy scalars, ...), so
    that every bad argument still gets its error."""
    if ((size is None and type(scale_factor) in (int, float))
            or (scale_factor is None and type(size) is tuple and len(size) == 2
                and type(size[0]) is int and type(size[1]) is int)) \
            and type(mode) is str and (align_corners is None or type(align_corners) is bool):
        return _resize_cached(x.shape, x.dtype.char, size, scale_factor,
                              type(scale_factor), mode, align_corners)
    return _Resize(x.shape, x.dtype.char, size, scale_factor, mode, align_corners)


@profiled("upsample")
def upsample(x, size=None, scale_factor=None, mode="nearest", align_corners=None, *,
             out=None, num_threads=None):
    """Resize feature maps, as ``torch.nn.functional.interpolate`` (see the module docstring).

    x (N, C, H, W) -> (N, C, H_out, W_out) with (H_out, W_out) = ``size`` or
    ``floor((H, W) * scale_factor)``; mode ``nearest`` | ``nearest-exact`` | ``bilinear``;
    ``align_corners`` (bilinear only) defaults to False. At integer nearest scales every
    output row is written from vectors (x2 in both directions: both output rows of an input
    row at once), with streaming stores into an ``out=`` larger than the last-level cache;
    bilinear x2 (align_corners=False) computes its rows from vectors too.

    Cost: no parameters; nearest moves N*C*(H*W + H_out*W_out) values and does no arithmetic,
    bilinear does 6 multiply-adds per output value. Parallel over (image, channel, row).
    """
    x = _check_input(x, "x")
    tables = python_stage_start()
    call = _resize(x, size, scale_factor, mode, align_corners)
    python_stage_stop("upsample tables", tables)
    n_threads = effective_n_threads(num_threads)
    # Streaming stores (nearest x2) only into an out= larger than the cache, the caller's or
    # a kept block (suite._outputs): freshly allocated pages are zeroed by the kernel on
    # first touch, which leaves them in cache, where plain stores are as fast
    # (docs/performance.md, item 28).
    fresh = out is None
    if fresh:
        out = _outputs.empty(call.out_shape, x.dtype)
    else:
        out = check_out(out, call.out_shape, x.dtype, (("x", x),))
    threads = threads_for_bytes(n_threads, out.nbytes)
    streaming = ((not fresh or out.base is not None)
                 and streams_past_cache(x.nbytes + out.nbytes, threads))
    if out.size == 0:
        return out
    note_call(call.mode, n_threads)
    call.plan.forward(contiguous(x).reshape(call.planes_in), out.reshape(call.planes_out),
                      threads, streaming)
    return out


@profiled("upsample_backward")
def upsample_backward(grad_out, input_shape, size=None, scale_factor=None, mode="nearest",
                      align_corners=None, *, num_threads=None):
    """Gradient of :func:`upsample` with respect to its input (its adjoint).

    grad_out (N, C, H_out, W_out) with the forward output's shape, ``input_shape`` the forward
    input's (N, C, H, W) -> grad_x (N, C, H, W): every output value's gradient goes back to the
    input values it was read from, with the same weights. Deterministic and parallel over
    (image, channel, input row): each thread gathers whole rows.
    """
    grad_out = _check_input(grad_out, "grad_out")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise ValueError(f"input_shape must be a 4-tuple (N, C, H, W), got {input_shape!r}")
    input_shape = tuple(check_pair(input_shape[:2], "input_shape", 0)
                        + check_pair(input_shape[2:], "input_shape", 1))
    mode, align_corners = check_mode(mode, align_corners)
    (out_h, out_w), scales = upsample_output_size(input_shape[2:], size, scale_factor)
    n, c, h, w = input_shape
    if grad_out.shape != (n, c, out_h, out_w):
        raise ValueError(
            f"grad_out must have the forward output's shape {(n, c, out_h, out_w)}, "
            f"got {grad_out.shape}"
        )
    n_threads = effective_n_threads(num_threads)
    grad_x = make_output(None, input_shape, grad_out.dtype, ())
    if n * c == 0:
        return grad_x
    tables = python_stage_start()
    plan = upsample_plan((h, w), (out_h, out_w), scales, mode, align_corners, grad_out.dtype.str)
    python_stage_stop("upsample tables", tables)
    note_call(mode, n_threads)
    plan.backward(contiguous(grad_out).reshape(n * c, out_h, out_w),
                  grad_x.reshape(n * c, h, w), threads_for_bytes(n_threads, grad_out.nbytes))
    return grad_x

