"""Fused upsampling kernels: upsample + convolution without the upsampled map, and
upsample + skip addition (FPN's top-down path) in one pass."""

import numpy as np

from . import _banded, _phase, _upsample
from ._plan import UPSAMPLE_CONV_ALGORITHMS, band_rows, phase_gemm_images, threads_for_work
from ._threads import effective_n_threads, single_threaded_blas
from .profiling import note_call, profiled, python_stage_start, python_stage_stop
from ._validation import (
    check_array,
    check_blas_dims,
    check_choice,
    check_conv_arguments,
    check_mode,
    check_pair,
    check_same_dtype,
    check_size,
    contiguous,
    make_output,
)
from .conv import run_winograd
from .geometry import (
    PHASE_TAPS,
    collapsed_phase_table,
    collapsed_winograd_taps,
    conv2d_output_shape,
    upsample_output_size,
)
from .upsample import upsample_plan

__all__ = ["upsample_conv2d", "upsample_add", "UPSAMPLE_CONV_ALGORITHMS"]


@profiled("upsample_conv2d")
def upsample_conv2d(x, weight, bias=None, scale_factor=2, mode="nearest", align_corners=None,
                    stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto", out=None,
                    num_threads=None):
    """``conv2d(upsample(x, scale_factor=scale_factor, mode=mode), weight, bias, ...)`` without
    the upsampled map.

    x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW) -> (N, C_out, H_out, W_out) where
    H_out is the convolution's output size on the upsampled height floor(H*scale_factor).

    algorithm (``"auto"``: the first of these that applies):

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
      x3 + 3x3: 25 vs 81, x4 + 3x3: 36 vs 144). Workspace: an im2col of x per phase.
    * ``"banded"``, any configuration (bilinear, fractional scales, strided convolutions): a
      banded convolution
      whose tasks interpolate just the upsampled rows their band of output rows reads, into
      a buffer of their thread, and pack the columns from there; the FLOPs are the unfused
      ones, the upsampled N x C map never exists.
    """
    algorithm = check_choice(algorithm, "algorithm", UPSAMPLE_CONV_ALGORITHMS)
    x, weight, bias, groups = check_conv_arguments(x, weight, bias, groups)
    c_out, c_in_per_group, kh, kw = weight.shape
    mode, align_corners = check_mode(mode, align_corners)
    if scale_factor is None:
        raise ValueError("scale_factor must be given (a number or a pair), got None")
    (up_h, up_w), scales = upsample_output_size(x.shape[2:], None, scale_factor)
    stride = check_pair(stride, "stride", 1)
    padding = check_pair(padding, "padding", 0)
    dilation = check_pair(dilation, "dilation", 1)
    n_threads = effective_n_threads(num_threads)
    n = x.shape[0]
    shape = conv2d_output_shape((n, x.shape[1], up_h, up_w), weight.shape, stride, padding,
                                dilation)
    collapsible = (mode != "bilinear" and stride == (1, 1)
                   and all(s.is_integer() for s in scales))
    taps = None
    if collapsible:
        taps = collapsed_winograd_taps(shape[2], shape[3], int(scales[0]), int(scales[1]),
                                       kh, kw, padding, dilation)
    if algorithm == "winograd" and taps is None:
        raise ValueError("algorithm='winograd' needs nearest upsampling by integer factors, a "
                         "stride-1 convolution and 2x2 collapsed kernels (e.g. x2 and 3x3 "
                         f"with padding 1); got mode={mode!r}, scale_factor={scale_factor!r}, "
                         f"kernel {kh}x{kw}, stride={stride}, padding={padding}, "
                         f"dilation={dilation}")
    if algorithm == "collapsed" and not collapsible:
        raise ValueError("algorithm='collapsed' needs nearest upsampling by integer factors "
                         f"and a stride-1 convolution; got mode={mode!r}, "
                         f"scale_factor={scale_factor!r}, stride={stride}")
    if algorithm == "auto":
        algorithm = ("winograd" if taps is not None else
                     "collapsed" if collapsible else "banded")
    out = make_output(out, shape, x.dtype, (("x", x), ("weight", weight), ("bias", bias)))
    if n == 0:
        return out
    x = contiguous(x)
    weight = contiguous(weight)
    n_threads = threads_for_work(n_threads, 2 * shape[0] * shape[1] * shape[2] * shape[3]
                                 * c_in_per_group * kh * kw)
    if algorithm in ("winograd", "collapsed"):
        s_h, s_w = int(scales[0]), int(scales[1])
        phases_h, tap_h = collapsed_phase_table(shape[2], s_h, kh, padding[0], dilation[0])
        phases_w, tap_w = collapsed_phase_table(shape[3], s_w, kw, padding[1], dilation[1])
        if algorithm == "winograd":
            cog = c_out // groups
            strides = (cog * c_in_per_group * kh * kw, c_in_per_group * kh * kw, kh * kw)
            run_winograd(x, weight, strides, taps, bias, out, phases_h, phases_w, groups,
                         n_threads)
            return out
        taps_h = np.ascontiguousarray(phases_h[:, PHASE_TAPS])
        taps_w = np.ascontiguousarray(phases_w[:, PHASE_TAPS])
        packed = np.empty(groups * (c_out // groups) * c_in_per_group
                          * int(taps_h.sum()) * int(taps_w.sum()), dtype=x.dtype)
        note_call("collapsed", n_threads)
        _phase.pack_collapsed_weights(weight, tap_h, taps_h, tap_w, taps_w, groups, packed,
                                      n_threads)
        nb = phase_gemm_images(n, phases_h, phases_w, c_in_per_group, c_out // groups,
                               x.itemsize)
        with single_threaded_blas():
            _phase.phase_correlation(x, packed, bias, out, phases_h, phases_w, 1, 1, groups, nb,
                                     n_threads)
        return out
    tables = python_stage_start()
    plan = upsample_plan(tuple(x.shape[2:]), (up_h, up_w), scales, mode, align_corners,
                         x.dtype.str)
    python_stage_stop("upsample tables", tables)
    rows = band_rows(n * groups, shape[2], shape[3], c_in_per_group * kh * kw, x.itemsize,
                     n_threads)
    check_blas_dims(M=c_out // groups, N=rows * shape[3], K=c_in_per_group * kh * kw,
                    ldc=shape[2] * shape[3])
    # Each thread keeps the upsampled rows one band reads, for every input channel of a group.
    span = (rows - 1) * stride[0] + (kh - 1) * dilation[0] + 1
    check_size((n_threads, c_in_per_group, span, up_w), "the upsampled-rows workspace")
    conv_args = (stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups,
                 rows, n_threads)
    note_call("banded", n_threads)
    with single_threaded_blas():
        if mode == "bilinear":
            _banded.banded_bilinear_conv2d(x, weight, bias, out, *plan.h, *plan.w, *conv_args)
        else:
            _banded.banded_nearest_conv2d(x, weight, bias, out, plan.h_index, plan.w_index,
                                          plan.w_repeat, *conv_args)
    return out


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
    note_call(mode, n_threads)
    if mode == "bilinear":
        _upsample.bilinear_add(x3, skip3, out3, *plan.h[:2], *plan.h[2:], *plan.w[:2],
                               *plan.w[2:], n_threads)
    else:
        _upsample.nearest_add(x3, skip3, out3, plan.h_index, plan.w_index, plan.w_repeat,
                              n_threads)
    return out
