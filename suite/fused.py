"""Fused upsampling kernels: upsample + convolution without the upsampled map, and
upsample + skip addition (FPN's top-down path) in one pass."""

import math
from typing import NamedTuple

import numpy as np

from . import _banded, _outputs, _phase, _upsample
from ._plan import (
    UPSAMPLE_CONV_ALGORITHMS,
    UPSAMPLE_CONV_METHODS,
    band_channels,
    band_rows,
    phase_gemm_images,
    planning_width,
    streams_past_cache,
    threads_for_bytes,
    threads_for_work,
)
from ._threads import effective_n_threads, single_threaded_blas
from .cost import upsample_conv2d_methods
from .profiling import note_call, profiled, python_stage_start, python_stage_stop
from ._validation import (
    check_array,
    check_bias,
    check_blas_dims,
    check_choice,
    check_groups,
    check_input,
    check_int,
    check_mode,
    check_out,
    check_same_dtype,
    check_scale,
    check_size,
    check_weight,
    contiguous,
    make_output,
)
from .conv import KernelPlan, WinogradPhases, conv2d_into, plan_call
from .geometry import (
    PHASE_TAPS,
    check_geometry,
    collapsed_phase_table,
    collapsed_winograd_taps,
    conv2d_output_shape,
    upsample_output_size,
)
from .upsample import upsample_plan

__all__ = ["upsample_conv2d", "upsample_add", "UPSAMPLE_CONV_ALGORITHMS"]


class UpsampleConvGeometry(NamedTuple):
    """upsample_conv2d's validated geometry: the upsampling's per-axis scale factors, mode
    and align_corners, then the convolution's (pairs, and the group count)."""
    scales: tuple
    mode: str
    align_corners: bool
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int


def upsample_conv_geometry(scale_factor, mode, align_corners, stride, padding, dilation,
                           groups):
    """Check upsample_conv2d's geometry arguments once (:class:`UpsampleConvGeometry`)."""
    mode, align_corners = check_mode(mode, align_corners)
    if scale_factor is None:
        raise ValueError("scale_factor must be given (a number or a pair), got None")
    scales = check_scale(scale_factor, "scale_factor")
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    return UpsampleConvGeometry(scales, mode, align_corners, stride, padding, dilation,
                                check_int(groups, "groups", minimum=1))


def check_upsample_conv_weight(weight_shape, c_in, groups):
    """A convolution's weight (C_out, C_in/groups, kH, kW) for C_in channels."""
    check_groups(groups, c_in, weight_shape[0])
    if weight_shape[1] * groups != c_in:
        raise ValueError(
            f"weight has {weight_shape[1]} input channels per group x {groups} groups = "
            f"{weight_shape[1] * groups}, but x has {c_in} channels"
        )


class UpsampleConvPlan(KernelPlan):
    """How :func:`upsample_conv2d` runs one configuration with one method, decided from the
    shapes, the dtype, the geometry and the thread count alone (as
    :class:`suite.conv.DeconvPlan`): the output shape, the threads, the phase tables or the
    upsampling's tables and bands, and the checks, before any work. ``prepare(weight)``
    (:class:`suite.conv.KernelPlan`) gives the collapsed phase kernels for ``"collapsed"``
    and the contiguous weight otherwise (Winograd transforms it inside the kernel, except
    for a layer object: ``prepare(weight, kept=True)`` transforms it once)."""

    def __init__(self, input_shape, weight_shape, dtype, geometry, algorithm, n_threads):
        scales, mode, align_corners, stride, padding, dilation, groups = geometry
        (up_h, up_w), _ = upsample_output_size(input_shape[2:], None, scales)
        n, c_in = input_shape[:2]
        c_out, cig, kh, kw = weight_shape
        self.shape = conv2d_output_shape((n, c_in, up_h, up_w), weight_shape, stride, padding,
                                         dilation)
        check_size(self.shape, "the output")
        collapsible, taps = _collapsible(self.shape, weight_shape, geometry)
        if algorithm == "winograd" and taps is None:
            raise ValueError(
                "algorithm='winograd' needs nearest upsampling by integer factors, a "
                "stride-1 convolution and 2x2 collapsed kernels (e.g. x2 and 3x3 with "
                f"padding 1); got mode={mode!r}, scale_factor={_scale_text(scales)}, kernel "
                f"{kh}x{kw}, stride={stride}, padding={padding}, dilation={dilation}")
        if algorithm == "collapsed" and not collapsible:
            raise ValueError(
                "algorithm='collapsed' needs nearest upsampling by integer factors and a "
                f"stride-1 convolution; got mode={mode!r}, "
                f"scale_factor={_scale_text(scales)}, stride={stride}")
        self.algorithm = self.kernel_name = algorithm
        self.n_threads = threads_for_work(n_threads,
                                          2 * math.prod(self.shape) * cig * kh * kw)
        itemsize = np.dtype(dtype).itemsize
        if n == 0:
            return
        if algorithm == "collapsed" and (kh, kw) == (1, 1) and padding == (0, 0):
            # Every phase's collapsed kernel is the 1x1 kernel itself: the convolution runs
            # once, at the input's resolution (1 / (sH*sW) of the FLOPs), and the nearest
            # kernel repeats its output. Each output value is the same sum of the same
            # input pixel's products as in the phases: the same bits.
            small = (n, c_out) + tuple(input_shape[2:])
            planes = (n * c_out,)
            out_bytes = math.prod(self.shape) * itemsize
            threads = threads_for_bytes(self.n_threads, out_bytes)
            # what the nearest kernel's call takes besides the arrays, fixed per plan
            self._pointwise = (small, planes + small[2:], planes + self.shape[2:], dilation,
                               groups,
                               upsample_plan(tuple(input_shape[2:]), (up_h, up_w), scales,
                                             mode, align_corners, np.dtype(dtype).str),
                               threads,
                               streams_past_cache(math.prod(small) * itemsize + out_bytes,
                                                  threads))
            self._kernel = self._pointwise_kernel
            self.prepared_key = "weight"
            return
        if algorithm in ("winograd", "collapsed"):
            s_h, s_w = int(scales[0]), int(scales[1])
            phases_h, tap_h = collapsed_phase_table(self.shape[2], s_h, kh, padding[0],
                                                    dilation[0])
            phases_w, tap_w = collapsed_phase_table(self.shape[3], s_w, kw, padding[1],
                                                    dilation[1])
            if algorithm == "winograd":
                strides = ((c_out // groups) * cig * kh * kw, cig * kh * kw, kh * kw)
                winograd = WinogradPhases(input_shape, c_out, groups, strides, taps,
                                          phases_h, phases_w, itemsize, self.n_threads)
                self._kernel, self._keep = winograd.run, winograd.transform
                self.prepared_key = winograd.prepared_key
                return
            taps_h = np.ascontiguousarray(phases_h[:, PHASE_TAPS])
            taps_w = np.ascontiguousarray(phases_w[:, PHASE_TAPS])
            self._collapse = (tap_h, taps_h, tap_w, taps_w, groups,
                              groups * (c_out // groups) * cig * int(taps_h.sum())
                              * int(taps_w.sum()))
            self._phases = (phases_h, phases_w, groups,
                            phase_gemm_images(n, phases_h, phases_w, cig, c_out // groups,
                                              itemsize))
            self.prepared_key = ("collapsed", tap_h.tobytes(), tap_w.tobytes())
            self._kernel = self._collapsed
            self._pack = self._pack_collapsed
            return
        plan = upsample_plan(tuple(input_shape[2:]), (up_h, up_w), scales, mode,
                             align_corners, np.dtype(dtype).str)
        rows = band_rows(n * groups, self.shape[2], self.shape[3], cig * kh * kw, itemsize,
                         planning_width())
        check_blas_dims(M=c_out // groups, N=rows * self.shape[3], K=cig * kh * kw,
                        ldc=self.shape[2] * self.shape[3])
        # Each thread keeps the upsampled rows one band reads, for every input channel of a
        # group.
        span = (rows - 1) * stride[0] + (kh - 1) * dilation[0] + 1
        check_size((self.n_threads, cig, span, up_w), "the upsampled-rows workspace")
        channels = band_channels(cig, kh * kw, rows * self.shape[3], itemsize)
        conv_args = (stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1],
                     groups, rows, channels, self.n_threads)
        if mode == "bilinear":
            self._banded = (_banded.banded_bilinear_conv2d, (*plan.h, *plan.w),
                            conv_args + (plan.x2_columns,))
        else:
            self._banded = (_banded.banded_nearest_conv2d,
                            (plan.h_index, plan.w_index, plan.w_repeat), conv_args)
        self._kernel = self._banded_kernel

    def _pack_collapsed(self, weight):
        tap_h, taps_h, tap_w, taps_w, groups, size = self._collapse
        packed = _outputs.empty((size,), weight.dtype)
        _phase.pack_collapsed_weights(weight, tap_h, taps_h, tap_w, taps_w, groups, packed,
                                      self.n_threads)
        return packed

    def _pointwise_kernel(self, x, weight, bias, out):
        shape, planes_in, planes_out, dilation, groups, repeat, threads, streaming = (
            self._pointwise)
        small = _outputs.empty(shape, out.dtype)
        conv2d_into(x, weight, bias, small, (1, 1), (0, 0), dilation, groups, self.n_threads,
                    note=False)
        repeat.forward(small.reshape(planes_in), out.reshape(planes_out), threads, streaming)

    def _collapsed(self, x, packed, bias, out):
        phases_h, phases_w, groups, images = self._phases
        with single_threaded_blas():
            _phase.phase_correlation(contiguous(x), packed, bias, out, phases_h, phases_w,
                                     1, 1, groups, images, self.n_threads)

    def _banded_kernel(self, x, weight, bias, out):
        kernel, tables, conv_args = self._banded
        with single_threaded_blas():
            kernel(contiguous(x), weight, bias, out, *tables, *conv_args)

    @staticmethod
    def candidates(input_shape, weight_shape, geometry, prepared=False, n_threads=1,
                   itemsize=4):
        """The methods that apply, in the order ``"auto"`` takes the first (at any thread
        count and dtype): Winograd, the
        collapsed kernel, banded; each of the first two after banded when a call that
        prepares its weights (not ``prepared`` by a layer object) would spend longer on them
        than the method saves (``suite.cost.upsample_conv2d_order``: tiny maps, wide
        layers)."""
        scales = geometry.scales
        (up_h, up_w), _ = upsample_output_size(input_shape[2:], None, scales)
        shape = conv2d_output_shape((input_shape[0], input_shape[1], up_h, up_w),
                                    weight_shape, geometry.stride, geometry.padding,
                                    geometry.dilation)
        check_size(shape, "the output")     # before any table of scale rows
        collapsible, taps = _collapsible(shape, weight_shape, geometry)
        applies = {"winograd": taps is not None, "collapsed": collapsible, "banded": True}
        order = UPSAMPLE_CONV_METHODS
        if collapsible and input_shape[0] > 0:
            order = upsample_conv2d_methods(input_shape, weight_shape, scales, geometry.mode,
                                            None, geometry.stride, geometry.padding,
                                            geometry.dilation, geometry.groups, prepared)
        return tuple(a for a in order if applies[a])


def _collapsible(shape, weight_shape, geometry):
    """(nearest by integer factors into a stride-1 convolution, the Winograd taps of its
    collapsed kernels or None) for an output of ``shape``."""
    scales = geometry.scales
    collapsible = (geometry.mode != "bilinear" and geometry.stride == (1, 1)
                   and all(s.is_integer() for s in scales))
    taps = None
    if collapsible:
        taps = collapsed_winograd_taps(shape[2], shape[3], int(scales[0]), int(scales[1]),
                                       weight_shape[2], weight_shape[3], geometry.padding,
                                       geometry.dilation)
    return collapsible, taps


def _scale_text(scales):
    return repr(scales[0] if scales[0] == scales[1] else scales)


@profiled("upsample_conv2d")
def upsample_conv2d(x, weight, bias=None, scale_factor=2, mode="nearest", align_corners=None,
                    stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto", out=None,
                    num_threads=None):
    """``conv2d(upsample(x, scale_factor=scale_factor, mode=mode), weight, bias, ...)`` without
    the upsampled map.

    x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW) -> (N, C_out, H_out, W_out) where
    H_out is the convolution's output size on the upsampled height floor(H*scale_factor).

    algorithm (``"auto"``: the measured choice that ``suite.wisdom`` records for this
    configuration, else the first of these that applies; ``"measure"``: on the first call
    for a configuration, time those that apply on this call's data, keep the fastest in
    ``suite.wisdom`` and return its result, exactly that method's):

    * ``"winograd"``: where every collapsed kernel (below) is 2x2, as for nearest x2 + 3x3
      with padding 1: each phase by Winograd F(2x2, 2x2), a 2x2 block of outputs from a
      3x3 input patch in 9 multiplications per channel pair instead of the collapsed
      kernel's 16 (36 for the unfused pair), as 9 GEMMs per block of tiles. Workspace: one
      phase's transformed weights (9/4 of a phase's collapsed kernels) and, per thread, one
      block's transformed tiles (about 512 KiB).
    * ``"collapsed"``: nearest (or nearest-exact) by integer scale factors with a stride-1
      convolution. Each of the sH*sW output phases is a stride-1 correlation of x with
      the convolution's taps summed where they land on the same input pixel: for x2 + 3x3,
      16 multiply-adds per input pixel and channel pair instead of 36 (x2 + 5x5: 36 vs 100,
      x3 + 3x3: 25 vs 81, x4 + 3x3: 36 vs 144). Workspace: an im2col of x per phase. A 1x1
      convolution without padding has the 1x1 kernel in every phase: it runs once, at the
      input's resolution (1/(sH*sW) of the FLOPs), and the nearest kernel repeats its output
      (workspace: that N x C_out x H x W map).
    * ``"banded"``, any configuration (bilinear, fractional scales, strided convolutions): a
      banded convolution
      whose tasks interpolate just the upsampled rows their band of output rows reads, into
      a buffer of their thread, and pack the columns from there; the FLOPs are the unfused
      ones, the upsampled N x C map never exists.

    The plan (tables, blocking, checks) is cached per configuration; the weights are
    collapsed (or transformed) on every call: ``suite.UpsampleConv2d`` collapses them once.
    """
    algorithm = check_choice(algorithm, "algorithm", UPSAMPLE_CONV_ALGORITHMS)
    x = check_input(x)
    weight = check_weight(weight, x)
    geometry = upsample_conv_geometry(scale_factor, mode, align_corners, stride, padding,
                                      dilation, groups)
    check_upsample_conv_weight(weight.shape, x.shape[1], geometry.groups)
    bias = check_bias(bias, weight.shape[0], x.dtype)
    n_threads = effective_n_threads(num_threads)
    plan, measure = plan_call(UpsampleConvPlan, "upsample_conv2d", x.shape, weight.shape,
                              x.dtype, geometry, algorithm, n_threads)
    # the plan checked its output shape: a fresh output needs no further check
    out = (_outputs.empty(plan.shape, x.dtype) if out is None else
           check_out(out, plan.shape, x.dtype, (("x", x), ("weight", weight), ("bias", bias))))
    if measure is not None:
        plan = measure(lambda p: lambda: p.run(x, p.prepare(weight), bias, out))
    return plan.run(x, plan.prepare(weight), bias, out)


@profiled("upsample_add")
def upsample_add(x, skip, mode="nearest", align_corners=None, *, out=None, num_threads=None):
    """``upsample(x, size=skip.shape[-2:], mode=mode) + skip`` in one pass (FPN's top-down
    merge).

    x (N, C, h, w) and skip (N, C, H, W) -> (N, C, H, W). ``out`` may be ``skip`` itself to
    accumulate in place (any other overlap with an input is refused).

    Cost: reads x and skip once, writes the output once; N*C*H*W additions (plus 6
    multiply-adds per output value for bilinear). The upsampled map never exists.
    """
    x = check_array(x, "x", 4)
    skip = check_array(skip, "skip", 4)
    check_same_dtype(x, "x", skip, "skip")
    if min(x.shape[1:]) < 1 or min(skip.shape[1:]) < 1:
        raise ValueError(
            f"x and skip must have at least one channel, row and column, got shapes "
            f"{x.shape} and {skip.shape}"
        )
    if x.shape[:2] != skip.shape[:2]:
        raise ValueError(
            f"skip must have the batch and channels of x {x.shape[:2]}, got {skip.shape[:2]}"
        )
    mode, align_corners = check_mode(mode, align_corners)
    n_threads = effective_n_threads(num_threads)
    in_place = out is skip
    if in_place:
        if not (skip.flags.c_contiguous and skip.flags.writeable):
            raise ValueError("out=skip (in place) needs skip to be C-contiguous and writeable")
        if np.may_share_memory(skip, x):
            raise ValueError("out must not overlap the input x")
    else:
        out = make_output(out, skip.shape, x.dtype, (("x", x), ("skip", skip)))
    n, c, out_h, out_w = skip.shape
    if n == 0:
        return out
    h, w = x.shape[2:]
    tables = python_stage_start()
    plan = upsample_plan((h, w), (out_h, out_w), (None, None), mode, align_corners, x.dtype.str)
    python_stage_stop("upsample tables", tables)
    x3 = contiguous(x).reshape(n * c, h, w)
    skip3 = (skip if in_place else contiguous(skip)).reshape(n * c, out_h, out_w)
    out3 = out.reshape(n * c, out_h, out_w)
    n_threads = threads_for_bytes(n_threads, out.nbytes)
    note_call(mode, n_threads)
    if mode == "bilinear":
        _upsample.bilinear_add(x3, skip3, out3, *plan.h[:2], *plan.h[2:], *plan.w[:2],
                               *plan.w[2:], n_threads)
    else:
        _upsample.nearest_add(x3, skip3, out3, plan.h_index, plan.w_index, plan.w_repeat,
                              n_threads)
    return out
