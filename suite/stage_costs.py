"""The cost model split by kernel stage: the FLOPs and bytes each stage of a call does, for
placing a profiled stage (``suite.profile``) against the machine's ceilings.

``stage_costs(function, algorithm, arguments, itemsize)`` returns ``{stage: (flops,
bytes)}`` for the stages the kernels record (names of ``suite._profile.stage_names()``),
from the call's shapes alone. Conventions are :mod:`suite.cost`'s (2 FLOPs per
multiply-add, 1 per other addition) and its totals are reused where a stage is the whole
arithmetic of the call. Per stage:

* **FLOPs** where a stage computes: a GEMM's multiply-adds (those the algorithm executes:
  the phase and Winograd GEMMs' own counts), col2im's scatter additions, bias additions,
  interpolation and gradient taps. Transforms and copies count none.
* **bytes**: the values the stage must read and write at least, each once, for the whole
  call: a GEMM its two operands and its result; im2col the input and the columns it
  writes; a scatter or a write its source and the output; a transform what it reads and
  writes. Caches make some of these cheaper than memory traffic (the phase and banded
  kernels' columns stay in cache): a stage's GB/s is a rate over its minimum data, not a
  measured bandwidth.

Stages the model does not price (the Python-side upsample tables) are absent; a stage
that did not run in a call is simply not looked up.
"""

import math

from . import cost
from .geometry import (
    PHASE_COUNT,
    PHASE_TAPS,
    collapsed_phase_table,
    conv2d_output_shape,
    deconv2d_output_shape,
    phase_table,
    upsample_output_size,
    winograd_tiles,
)

__all__ = ["stage_costs"]


def _size(shape):
    return math.prod(shape) if shape is not None else 0


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _phase_macs(tables, n, cig, cog, groups):
    """Multiply-adds of phase_correlation's GEMMs: per group and phase, C_out/g x
    (C_in/g * th * tw) times (images * count_h * count_w); the axes separate."""
    per_axis = [int((t[:, PHASE_TAPS] * t[:, PHASE_COUNT]).sum()) for t in tables]
    return n * groups * cog * cig * per_axis[0] * per_axis[1]


def _gemm(macs, a, b, c, itemsize):
    """A GEMM stage: 2 FLOPs per multiply-add; operands and result moved once."""
    return 2 * macs, (a + b + c) * itemsize


def _deconv(algorithm, a, itemsize):
    """Stages of deconv2d (arguments as bound, arrays as shapes)."""
    x, w = a["x"], a["weight"]
    stride, padding = _pair(a["stride"]), _pair(a["padding"])
    output_padding, dilation = _pair(a["output_padding"]), _pair(a["dilation"])
    groups = a["groups"]
    out = deconv2d_output_shape(x, w, stride, padding, output_padding, dilation, groups)
    c = cost.deconv2d_cost(x, w, stride, padding, output_padding, dilation, groups,
                           a["bias"] is not None, itemsize)
    n, c_in, h, wd = x
    _, cog, kh, kw = w
    cig = c_in // groups
    if algorithm == "col2im":
        columns = n * groups * cog * kh * kw * h * wd
        return {"pack": (0, 2 * _size(x) * itemsize),
                "gemm": _gemm(c.macs, _size(x), _size(w), columns, itemsize),
                "col2im scatter": (c.executed_flops["col2im"] - 2 * c.macs,
                                   (columns + _size(out)) * itemsize)}
    if algorithm == "direct":
        return {"direct rows": (c.executed_flops["direct"], c.min_bytes)}
    tables = [phase_table(x[2 + i], out[2 + i], (kh, kw)[i], stride[i], padding[i],
                          dilation[i])[0] for i in range(2)]
    stages = {"weight pack": (0, 2 * _size(w) * itemsize)}
    if algorithm == "winograd" and c.executed_flops["winograd"] != c.executed_flops["phase"]:
        return {**stages, **_winograd(n, cig, cog, groups, tables, x, w, out, c.adds,
                                      itemsize)}
    macs = _phase_macs(tables, n, cig, cog, groups)
    return {**stages, **_phase_stages(macs, cog, x, w, out, c.adds, itemsize)}


def _phase_stages(macs, cog, x, w, out, bias_adds, itemsize):
    """im2col, GEMM and phase write of phase_correlation (columns = macs / (C_out/g))."""
    columns = macs // cog
    return {"im2col": (0, (_size(x) + columns) * itemsize),
            "gemm": _gemm(macs, columns, _size(w), _size(out), itemsize),
            "phase write": (bias_adds, 2 * _size(out) * itemsize)}


def _winograd(n, cig, cog, groups, tables, x, w, out, bias_adds, itemsize):
    """Winograd F(2x2, 2x2): 9 GEMMs per block of 2x2 output tiles (T tiles per image); the
    output transform adds the bias."""
    tiles = winograd_tiles(tables[0]) * winograd_tiles(tables[1])
    phases = len(tables[0]) * len(tables[1])
    macs = 9 * n * groups * cig * cog * tiles
    v, m = 9 * n * groups * cig * tiles, 9 * n * groups * cog * tiles
    u = 9 * phases * groups * cig * cog
    return {"winograd weight transform": (0, (_size(w) + u) * itemsize),
            "winograd input transform": (0, (phases * _size(x) + v) * itemsize),
            "gemm": _gemm(macs, u, v, m, itemsize),
            "winograd output transform": (bias_adds, (m + _size(out)) * itemsize)}


def _conv(a, itemsize):
    """Stages of conv2d (banded or im2col + GEMM: the same stages)."""
    x, w = a["x"], a["weight"]
    stride, padding, dilation = _pair(a["stride"]), _pair(a["padding"]), _pair(a["dilation"])
    out = conv2d_output_shape(x, w, stride, padding, dilation)
    c = cost.conv2d_cost(x, w, stride, padding, dilation, a["groups"], a["bias"] is not None,
                         itemsize)
    columns = c.macs // (w[0] // a["groups"])
    # the bias is where the products' sums start (one image a product) or added as the
    # batch's products are unpacked: its additions counted with the GEMM either way
    flops, data = _gemm(c.macs, columns, _size(w), _size(out), itemsize)
    return {"im2col": (0, (_size(x) + columns) * itemsize),
            "gemm": (flops + c.adds, data),
            "unpack": (0, 2 * _size(out) * itemsize)}


def _upsample_conv(algorithm, a, itemsize):
    """Stages of upsample_conv2d: Winograd or collapsed phases, or the banded kernel."""
    x, w = a["x"], a["weight"]
    stride, padding, dilation = _pair(a["stride"]), _pair(a["padding"]), _pair(a["dilation"])
    groups = a["groups"]
    (hu, wu), scales = upsample_output_size(x[2:], None, a["scale_factor"])
    up = (x[0], x[1], hu, wu)
    out = conv2d_output_shape(up, w, stride, padding, dilation)
    c_out, cig, kh, kw = w
    cog = c_out // groups
    bias_adds = _size(out) if a["bias"] is not None else 0
    if algorithm in ("winograd", "collapsed"):
        tables = [collapsed_phase_table(out[2 + i], int(scales[i]), (kh, kw)[i], padding[i],
                                        dilation[i])[0] for i in range(2)]
        if algorithm == "winograd":
            return _winograd(x[0], cig, cog, groups, tables, x, w, out, bias_adds, itemsize)
        macs = _phase_macs(tables, x[0], cig, cog, groups)
        packed = c_out * cig * int(tables[0][:, PHASE_TAPS].sum()) \
            * int(tables[1][:, PHASE_TAPS].sum())
        return {"weight pack": (0, (_size(w) + packed) * itemsize),
                **_phase_stages(macs, cog, x, w, out, bias_adds, itemsize)}
    # banded: upsampled rows made on the fly (bilinear: 4 taps, 8 FLOPs per value), then
    # the convolution's stages on them
    stages = _conv(dict(a, x=up), itemsize)
    stages["interpolation"] = (8 * _size(up) if a["mode"] == "bilinear" else 0,
                               (_size(x) + _size(up)) * itemsize)
    return stages


def stage_costs(function, algorithm, arguments, itemsize):
    """``{stage: (flops, bytes)}`` of one call of ``suite.<function>`` run by
    ``algorithm`` (as ``suite.profile`` records it), ``arguments`` as the function bound
    them with every array replaced by its shape; ``itemsize`` 4 or 8."""
    a = arguments
    if function == "deconv2d":
        return _deconv(algorithm, a, itemsize)
    if function == "conv2d":
        return _conv(a, itemsize)
    if function == "upsample_conv2d":
        return _upsample_conv(algorithm, a, itemsize)
    if function == "deconv2d_backward":
        c = cost.deconv2d_backward_cost(a["x"], a["weight"], a["stride"], a["padding"],
                                        a["output_padding"], a["dilation"], a["groups"], True,
                                        itemsize)
        n, c_in, h, wd = a["x"]
        _, cog, kh, kw = a["weight"]
        columns = n * a["groups"] * cog * kh * kw * h * wd
        grad_out = _size(a["grad_out"])
        return {"pack": (0, 2 * _size(a["x"]) * itemsize),
                "im2col": (0, (grad_out + columns) * itemsize),
                "gemm": _gemm(c.macs, 2 * columns, 2 * _size(a["x"]),
                              _size(a["weight"]) + _size(a["x"]), itemsize),
                "unpack": (0, 2 * _size(a["x"]) * itemsize),
                "bias gradient": (grad_out, grad_out * itemsize)}
    if function == "im2col":
        c = cost.im2col_cost(a["x"], a["kernel_size"], a["stride"], a["padding"],
                             a["dilation"], itemsize)
        return {"im2col": (0, c.min_bytes)}
    if function == "col2im":
        c = cost.col2im_cost(a["cols"], a["output_size"], a["kernel_size"], a["stride"],
                             a["padding"], a["dilation"], itemsize)
        return {"col2im scatter": (c.useful_flops, c.min_bytes)}
    if function == "upsample":
        c = cost.upsample_cost(a["x"], a["size"], a["scale_factor"], a["mode"],
                               a["align_corners"], itemsize)
        return {"upsample rows": (c.useful_flops, c.min_bytes)}
    if function == "upsample_backward":
        c = cost.upsample_backward_cost(tuple(a["input_shape"]), a["size"], a["scale_factor"],
                                        a["mode"], a["align_corners"], itemsize)
        return {"gradient rows": (c.useful_flops, c.min_bytes)}
    if function == "upsample_add":
        c = cost.upsample_add_cost(a["x"], a["skip"], a["mode"], a["align_corners"], itemsize)
        return {"upsample+add rows": (c.useful_flops, c.min_bytes)}
    raise ValueError(f"no stage costs for {function!r}")
