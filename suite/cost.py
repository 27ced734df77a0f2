"""The cost model: FLOPs, bytes, workspace and parameters of every operation (pure Python).

One place used by the benchmarks (``track_`` values), the reports (joined to the timings by
layer, operation and algorithm) and the docs. Nothing here runs a kernel; every count is a
closed formula or an exact sum over the geometry. Shapes are NCHW; ``itemsize`` is the bytes
per value (4 for float32, 8 for float64).

Counting conventions
--------------------
* **Multiply-adds (``macs``)** are the products of the operation's definition: each counts
  2 FLOPs (the first product of a sum counts as a multiply-add into zero), as in PyTorch's
  ``torch.utils.flop_counter.FlopCounterMode`` (which reports exactly ``2*macs`` for
  ``conv2d`` and ``conv_transpose2d`` and does not count the bias).
* **Additions (``adds``)** are 1 FLOP each: bias adds (one per output value), the skip
  addition of ``upsample_add``, accumulations that are not products (col2im's scatter, the
  nearest-upsampling gradient).
* **useful_flops** ``= 2*macs + adds``: the cost of the *definition*, the same for every
  algorithm, so time ratios between algorithms are ratios of effective throughput.
  **executed_flops[algorithm]** is what that algorithm really performs (more for zero
  insertion and col2im, fewer for Winograd and the collapsed-kernel fused upsample +
  convolution).
  Place a kernel on its roofline with its executed FLOPs.
* **Nearest upsampling** is 0 FLOPs (a gather). **Bilinear upsampling** is 4 taps per output
  value, each a multiply-add with a precomputed weight ``lh*lw``: 4 macs = 8 FLOPs per output
  value (``executed_flops`` also gives the nested and separable evaluations).
* **min_bytes** moves each input, weight, bias and output exactly once (``itemsize`` each).
* **workspace_bytes[algorithm]**: what one call of ``suite``'s kernel allocates beyond its
  output, at ``num_threads`` threads (after the kernels' own lowering of the thread count
  for small work): its plan's column buffers (images per GEMM, blocks of channels, bands
  of rows, passes: :mod:`suite._plan`, which restates each kernel's allocations), its
  per-thread buffers, packed or transformed weights and materialised intermediate maps (the
  upsampled map of upsample-then-convolve) for the whole batch. Index tables of a few rows
  are ignored. The tests hold every algorithm to it within 10%, measured by tracemalloc
  (the kernels report their buffers to it). ``"zero_insertion"``, which suite does not run,
  is priced as the zero-inserted map plus one image's im2col columns.
* **parameters**: weights + bias (0 for upsampling).
* **arithmetic_intensity** ``= useful_flops / min_bytes`` (FLOPs per byte).

Deconvolution algorithms (``PRICED_DECONV_ALGORITHMS``)
-------------------------------------------------------
With ``M = N*C_in*(C_out/g)*kH*kW*H*W`` (the definition's multiply-adds) and
``B = N*C_out*H_out*W_out`` bias adds (0 without bias):

* ``"col2im"``: ``2*M + B`` (one GEMM, every product) plus the col2im scatter:
  ``N*C_out*hits_H*hits_W`` additions, ``hits`` the number of (input, tap) pairs of an axis
  whose product lands inside the output (:func:`deconv2d_macs_in_output`); workspace the
  column buffer, ``(C_out/g)*kH*kW*H*W`` values per image of a GEMM (one block of output
  channels per thread when the kernel blocks them), and the batch's packed input when
  several images share a GEMM.
* ``"phase"``: ``2*M + B``: the sub-pixel decomposition does the definition's products
  (it may skip the few that land in the cropped padding; see
  :func:`deconv2d_macs_in_output`); workspace the packed sub-kernels (the weight's size)
  and the largest phase's columns and products (per thread when phases run as tasks).
* ``"winograd"``: where ``kH = 2*sH``, ``kW = 2*sW`` and dilation is 1 (every phase a
  2x2 correlation), ``2*9*N*C_in*(C_out/g)*T + B`` with ``T`` the 2x2 output tiles of all
  phases (``sum_r ceil(count_r/2)`` per axis): 9 multiplications per tile instead of 16
  (the transforms' additions are not counted); workspace the transformed weights of as
  many phases as fit ``WINOGRAD_PASS_BYTES`` (at least one), ``9*C_in*(C_out/g)`` values
  each: all ``sH*sW`` of them, 9/4 of the weight, for the catalogue's layers.
  Elsewhere it runs, and costs, ``"phase"``.
* ``"direct"``: ``2*M + B`` like ``"phase"`` (each output row gathers the definition's
  products that land on it); workspace at most one output row's column phases and its
  source rows per thread (``suite._workspaces.direct_workspace``).
* ``"zero_insertion"``: a dense stride-1 correlation (dilation d, flipped kernel) over the
  zero-inserted, padded map: ``2*N*C_out*(C_in/g)*kH*kW*H_out*W_out + B``, about ``sH*sW``
  times ``2*M`` (exactly when ``H_out = sH*H``); workspace the zero-inserted map
  ``N*C_in*(H_out + dH*(kH-1))*(W_out + dW*(kW-1))`` plus one image's im2col columns
  ``(C_in/g)*kH*kW*H_out*W_out``.

Fused upsample + convolution
----------------------------
``upsample_conv2d = conv2d(upsample(x))``. Nearest upsampling by an integer ``s`` followed by
a ``k``-tap convolution reads, for an output position ``o``, the upsampled positions
``j_i = o*stride - p + i*d``, i.e. the input offsets ``floor(j_i/s)``: the *collapsed kernel*
of that phase has as many taps as there are distinct offsets (docs/design.md, "Semantics").
Bilinear (``align_corners=False``, integer ``s``) collapses the same way: an upsampled position
``j`` reads ``i0 = floor(src)`` and, when its weight is non-zero, ``i0 + 1``, with
``src = (j + 1/2)/s - 1/2``; the collapsed phase kernel has the distinct offsets with a
non-zero weight (the border rows, where PyTorch clamps, are counted like the interior).
Positions in the convolution's zero padding map to virtual offsets (as in a dense phase
correlation that reads zero padding), so the count is periodic in ``o``. Per axis the fused
count is ``sum_o taps(o)``; the 2-D count is the product of the two axes. Examples
(multiply-adds per low-resolution pixel per channel pair, fused vs unfused, "same" padding):
x2 + 3x3: 16 vs 36; x2 + 5x5: 36 vs 100; x3 + 3x3: 25 vs 81; x4 + 3x3: 36 vs 144
(:func:`collapsed_macs_per_pixel`). Other cases (non-integer scale, bilinear with
``align_corners=True``) do not collapse. ``suite.upsample_conv2d`` runs nearest x2 + 3x3
(every collapsed kernel 2x2) by Winograd F(2x2, 2x2), 9 products per 2x2 output tile, other
collapsible nearest cases by the collapsed kernel, and bilinear by interpolating on the fly
(the unfused arithmetic without the intermediate map): :func:`upsample_conv2d_cost`'s
"fused" counts what it runs. The cost of collapsing or transforming the weights
(``C_out*C_in/g*sH*sW*kH*kW`` additions once per call) is not counted.

Checkerboard figures
--------------------
:func:`overlap_ratio` (kernel geometry) and :func:`phase_sum_spread` (kernel values), defined
in :mod:`suite.checkerboard`; see their docstrings.
"""

import math


from ._plan import (
    DECONV_METHODS,
    band_rows,
    UPSAMPLE_WINOGRAD_CACHED_BYTES,
    UPSAMPLE_WINOGRAD_MIN_TILES,
    collapse_pays,
    one_pixel_deconv,
    pointwise_conv,
    pointwise_deconv,
    planning_width,
    thin_pointwise,
    threads_for_work,
    winograd_blocking,
)
from ._workspaces import (
    banded_upsample_workspace,
    col2im_deconv_workspace,
    conv2d_workspace,
    deconv_backward_workspace,
    direct_workspace,
    phase_workspace,
    winograd_workspace,
)
from ._cost_base import (
    Cost,
    _bias_flag,
    _conv_geometry,
    _deconv_geometry,
    _itemsize,
    _mode,
    _shape,
    _threads,
)
from ._validation import check_int, check_pair
from .checkerboard import overlap_ratio, phase_sum_spread, phase_sums  # noqa: F401
from .collapse import collapsed_kernel_taps, collapsed_macs_per_pixel  # noqa: F401
from .collapse import (
    collapsed_residue_taps,
    collapsible_scales,
    fused_axis_taps,
    winograd_axis_tiles,
)
from .geometry import (
    collapsed_phase_table,
    phase_table,
    sliding_positions,
    upsample_output_size,
    winograd_tiles,
)

__all__ = [
    "Cost",
    "PRICED_DECONV_ALGORITHMS",
    "PRICED_FUSION_VARIANTS",
    "collapsed_kernel_taps",
    "collapsed_macs_per_pixel",
    "col2im_cost",
    "conv2d_cost",
    "deconv2d_backward_cost",
    "deconv2d_cost",
    "deconv2d_macs_in_output",
    "im2col_cost",
    "overlap_ratio",
    "phase_sum_spread",
    "phase_sums",
    "upsample_add_cost",
    "upsample_backward_cost",
    "upsample_conv2d_cost",
    "upsample_conv2d_methods",
    "upsample_conv2d_order",
    "upsample_cost",
]

#: The deconvolution algorithms the model prices (keys of ``executed_flops``): suite's
#: methods (``suite.DECONV_ALGORITHMS`` but "auto" and "measure") and the textbook zero
#: insertion.
PRICED_DECONV_ALGORITHMS = DECONV_METHODS + ("zero_insertion",)

#: The variants priced for ``upsample_conv2d`` and ``upsample_add``: what the fused kernel
#: runs, and the upsample followed by the separate operation.
PRICED_FUSION_VARIANTS = ("fused", "unfused")



# ----------------------------------------------------------------------------------------
# exact per-axis sums
# ----------------------------------------------------------------------------------------

def _axis_hits(n_in, k, s, p, d, n_out):
    """#{(i_in, tap): 0 <= i_in*s - p + tap*d < n_out, 0 <= i_in < n_in, 0 <= tap < k}."""
    total = 0
    for tap in range(k):
        off = tap * d - p
        lo = max(0, -(off // s))                   # ceil(-off / s)
        hi = min(n_in - 1, (n_out - 1 - off) // s)
        total += max(0, hi - lo + 1)
    return total



# ----------------------------------------------------------------------------------------
# convolution, transposed convolution, im2col, col2im
# ----------------------------------------------------------------------------------------

def deconv2d_macs_in_output(input_shape, weight_shape, stride=1, padding=0, output_padding=0,
                            dilation=1, groups=1):
    """Products of the scatter definition that land inside the output (not in the cropped
    padding): ``N*C_out*(C_in/g)*hits_H*hits_W`` with
    ``hits_H = #{(ih, i): 0 <= ih*sH - pH + i*dH < H_out}``.

    Equal to the definition's ``N*C_in*(C_out/g)*kH*kW*H*W`` when ``padding`` is 0; it is also
    the number of non-zero-input multiply-adds of the zero-insertion algorithm, and the sum
    of ``deconv2d(ones, ones)`` (no bias).
    """
    (n, c_in, h, w), (_, cog, kh, kw), s, p, _, d, groups, (_, c_out, ho, wo) = \
        _deconv_geometry(input_shape, weight_shape, stride, padding, output_padding, dilation,
                         groups)
    return (n * c_out * (c_in // groups) * _axis_hits(h, kh, s[0], p[0], d[0], ho)
            * _axis_hits(w, kw, s[1], p[1], d[1], wo))


def deconv2d_cost(input_shape, weight_shape, stride=1, padding=0, output_padding=0, dilation=1,
                  groups=1, bias=True, itemsize=4, num_threads=1):
    """Cost of ``suite.deconv2d`` (weight ``(C_in, C_out/g, kH, kW)``).

    ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + opH + 1``;
    ``macs = N*C_in*(C_out/g)*kH*kW*H*W``; ``adds = N*C_out*H_out*W_out`` with bias;
    ``parameters = C_in*(C_out/g)*kH*kW (+ C_out)``;
    ``min_bytes = (N*C_in*H*W + weights + C_out (bias) + N*C_out*H_out*W_out) * itemsize``.
    Algorithms ``"col2im"``, ``"phase"``, ``"winograd"``, ``"direct"``, ``"zero_insertion"``:
    see the module docstring. ``num_threads``: the workspace of a call with that many threads.
    """
    itemsize = _itemsize(itemsize)
    num_threads = _threads(num_threads)
    bias = _bias_flag(bias)
    (n, c_in, h, w), (_, cog, kh, kw), s, p, op, d, groups, out = _deconv_geometry(
        input_shape, weight_shape, stride, padding, output_padding, dilation, groups)
    _, c_out, ho, wo = out
    cig = c_in // groups
    macs = n * c_in * cog * kh * kw * h * w
    adds = n * c_out * ho * wo if bias else 0
    useful = 2 * macs + adds
    scatter = n * c_out * _axis_hits(h, kh, s[0], p[0], d[0], ho) \
        * _axis_hits(w, kw, s[1], p[1], d[1], wo)
    zero_macs = n * c_out * cig * kh * kw * ho * wo
    weights = c_in * cog * kh * kw
    params = weights + (c_out if bias else 0)
    zero_map = n * c_in * (ho + d[0] * (kh - 1)) * (wo + d[1] * (kw - 1))
    phases_h = phase_table(h, ho, kh, s[0], p[0], d[0])[0]
    phases_w = phase_table(w, wo, kw, s[1], p[1], d[1])[0]
    tiles = None
    if (kh, kw) == (2 * s[0], 2 * s[1]) and d == (1, 1):
        tiles = winograd_tiles(phases_h) * winograd_tiles(phases_w)
    workspace = dict.fromkeys(("col2im", "phase", "winograd", "direct"), 0)
    if n:
        threads = threads_for_work(num_threads, 2 * macs,
                                   (n * c_in * h * w + n * c_out * ho * wo) * itemsize)
        one_pixel = one_pixel_deconv((h, w), p, op, d)
        workspace["col2im"] = col2im_deconv_workspace(n, c_in, h, w, cog, kh * kw, groups,
                                                      itemsize, threads, one_pixel)
        if not one_pixel and pointwise_deconv((kh, kw), s, p, op):
            # the 1x1 convolution, its weight read as its transpose where it lies (one input
            # channel per group: planes scaled; few output channels a group: rows
            # streamed; neither has a workspace)
            thin = thin_pointwise(c_in, groups, cog, itemsize)
            workspace["col2im"] = 0 if c_in == groups or thin else conv2d_workspace(
                n, c_in, c_out, groups, 1, 1, h, w, True, itemsize, threads, transposed=True)
        workspace["direct"] = direct_workspace(wo, cig, kh, s[1], itemsize, threads)
        workspace["phase"] = weights + phase_workspace(n, cig, cog, groups, phases_h, phases_w,
                                                       itemsize, threads)
        workspace["winograd"] = workspace["phase"]
        if tiles is not None:
            # the kernel copies a transposed convolution's kernels when C_out/g > 1
            blocking = winograd_blocking(n, cig, cog, groups, itemsize, phases_h, phases_w,
                                         s[0] * s[1], cog > 1, planning_width())
            workspace["winograd"] = winograd_workspace(cig, cog, groups, kh * kw, phases_h,
                                                       phases_w, blocking, cog > 1, itemsize,
                                                       threads)
    return Cost(
        operation="deconv2d", output_shape=out, macs=macs, adds=adds,
        executed_flops={"col2im": useful + scatter, "phase": useful,
                        "winograd": useful if tiles is None else 2 * 9 * n * c_in * cog * tiles
                        + adds,
                        "direct": useful, "zero_insertion": 2 * zero_macs + adds},
        min_bytes=(n * c_in * h * w + params + n * c_out * ho * wo) * itemsize,
        workspace_bytes={**{name: values * itemsize for name, values in workspace.items()},
                         "zero_insertion": (zero_map + cig * kh * kw * ho * wo) * itemsize},
        parameters=params, itemsize=itemsize)


def deconv2d_backward_cost(input_shape, weight_shape, stride=1, padding=0, output_padding=0,
                           dilation=1, groups=1, bias=True, itemsize=4):
    """Cost of ``suite.deconv2d_backward`` (grad_input, grad_weight and, with bias, grad_bias).

    ``grad_input = conv2d(grad_out, W)`` and ``grad_weight = x . im2col(grad_out)^T`` are two
    GEMMs of the forward's size: ``macs = 2*N*C_in*(C_out/g)*kH*kW*H*W``;
    ``adds = N*C_out*H_out*W_out`` (grad_bias) with bias. Algorithm ``"col2im"`` (suite's:
    im2col of grad_out on the input grid, then the two GEMMs): executes ``useful_flops``;
    workspace the column buffer ``(C_out/g)*kH*kW*H*W`` values per image of a GEMM and, when
    images share a GEMM, their packed input and input gradient.
    ``min_bytes``: read grad_out, x, weight; write grad_x, grad_weight (and grad_bias).
    ``output_shape`` is grad_input's (= input_shape).
    """
    itemsize = _itemsize(itemsize)
    bias = _bias_flag(bias)
    (n, c_in, h, w), (_, cog, kh, kw), s, p, op, d, groups, out = _deconv_geometry(
        input_shape, weight_shape, stride, padding, output_padding, dilation, groups)
    _, c_out, ho, wo = out
    macs = 2 * n * c_in * cog * kh * kw * h * w
    adds = n * c_out * ho * wo if bias else 0
    weights = c_in * cog * kh * kw
    params = weights + (c_out if bias else 0)
    moved = n * c_out * ho * wo + 2 * n * c_in * h * w + 2 * weights + (c_out if bias else 0)
    columns = deconv_backward_workspace(n, c_in, h * w, cog, kh * kw, itemsize) if n else 0
    return Cost(
        operation="deconv2d_backward", output_shape=(n, c_in, h, w), macs=macs, adds=adds,
        executed_flops={"col2im": 2 * macs + adds}, min_bytes=moved * itemsize,
        workspace_bytes={"col2im": columns * itemsize},
        parameters=params, itemsize=itemsize)


def conv2d_cost(input_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1,
                bias=True, itemsize=4, num_threads=1):
    """Cost of ``suite.conv2d`` (weight ``(C_out, C_in/g, kH, kW)``).

    ``H_out = (H + 2*pH - dH*(kH - 1) - 1)//sH + 1``;
    ``macs = N*C_out*(C_in/g)*kH*kW*H_out*W_out``; ``adds = N*C_out*H_out*W_out`` with bias.
    Algorithm ``"im2col"`` (im2col + GEMM) executes ``useful_flops`` (the GEMM multiplies the
    zero padding too, as the definition does); workspace the columns,
    ``(C_in/g)*kH*kW*H_out*W_out`` values per image of a GEMM (none for a 1x1, stride-1,
    unpadded convolution of one image, which multiplies x in place) and the batch's packed
    products, or, for maps of at least 512 outputs, a band of columns per thread; deep
    layers' columns a slice of input channels at a time (``suite._plan.band_channels``:
    about 512 KiB of them).
    """
    itemsize = _itemsize(itemsize)
    bias = _bias_flag(bias)
    (n, c_in, h, w), (c_out, cig, kh, kw), s, p, d, groups, out = _conv_geometry(
        input_shape, weight_shape, stride, padding, dilation, groups)
    _, _, ho, wo = out
    macs = n * c_out * cig * kh * kw * ho * wo
    adds = n * c_out * ho * wo if bias else 0
    params = c_out * cig * kh * kw + (c_out if bias else 0)
    columns = 0
    if n:
        columns = conv2d_workspace(n, c_in, c_out, groups, kh, kw, ho, wo,
                                   pointwise_conv((kh, kw), s, p), itemsize,
                                   _threads(num_threads)) * itemsize
    return Cost(
        operation="conv2d", output_shape=out, macs=macs, adds=adds,
        executed_flops={"im2col": 2 * macs + adds},
        min_bytes=(n * c_in * h * w + params + n * c_out * ho * wo) * itemsize,
        workspace_bytes={"im2col": columns}, parameters=params, itemsize=itemsize)


def im2col_cost(input_shape, kernel_size, stride=1, padding=0, dilation=1, itemsize=4):
    """Cost of ``suite.im2col``: output ``(N, C*kH*kW, H_out*W_out)``, 0 FLOPs (a copy);
    ``min_bytes = (N*C*H*W + N*C*kH*kW*H_out*W_out) * itemsize``."""
    itemsize = _itemsize(itemsize)
    n, c, h, w = _shape(input_shape, "input_shape")
    kh, kw = check_pair(kernel_size, "kernel_size", 1)
    s, p, d = check_pair(stride, "stride", 1), check_pair(padding, "padding", 0), \
        check_pair(dilation, "dilation", 1)
    ho = sliding_positions(h, kh, s[0], p[0], d[0], "height")
    wo = sliding_positions(w, kw, s[1], p[1], d[1], "width")
    out = (n, c * kh * kw, ho * wo)
    return Cost(operation="im2col", output_shape=out, macs=0, adds=0,
                executed_flops={"im2col": 0},
                min_bytes=(n * c * h * w + math.prod(out)) * itemsize,
                workspace_bytes={"im2col": 0}, parameters=0, itemsize=itemsize)


def col2im_cost(cols_shape, output_size, kernel_size, stride=1, padding=0, dilation=1,
                itemsize=4):
    """Cost of ``suite.col2im`` (``torch.nn.functional.fold``): cols ``(N, C*kH*kW, L)`` ->
    ``(N, C, H, W)``.

    ``adds = N*C*hits_H*hits_W``: one addition per column entry that lands inside the image
    (entries in the padding are dropped), ``hits_H = #{(oh, i): 0 <= oh*sH - pH + i*dH < H}``
    over the ``L_H`` kernel positions; ``min_bytes = (N*C*kH*kW*L + N*C*H*W) * itemsize``.
    """
    itemsize = _itemsize(itemsize)
    n, rows, length = _shape(cols_shape, "cols_shape", 3)
    h, w = check_pair(output_size, "output_size", 1)
    kh, kw = check_pair(kernel_size, "kernel_size", 1)
    s, p, d = check_pair(stride, "stride", 1), check_pair(padding, "padding", 0), \
        check_pair(dilation, "dilation", 1)
    if rows % (kh * kw):
        raise ValueError(f"cols must have a multiple of kH*kW = {kh * kw} rows, got {rows}")
    c = rows // (kh * kw)
    lh = sliding_positions(h, kh, s[0], p[0], d[0], "output height")
    lw = sliding_positions(w, kw, s[1], p[1], d[1], "output width")
    if lh * lw != length:
        raise ValueError(f"cols has {length} columns, the geometry gives {lh}x{lw}")
    adds = n * c * _axis_hits(lh, kh, s[0], p[0], d[0], h) * _axis_hits(lw, kw, s[1], p[1],
                                                                        d[1], w)
    return Cost(operation="col2im", output_shape=(n, c, h, w), macs=0, adds=adds,
                executed_flops={"col2im": adds},
                min_bytes=(n * rows * length + n * c * h * w) * itemsize,
                workspace_bytes={"col2im": 0}, parameters=0, itemsize=itemsize)


# ----------------------------------------------------------------------------------------
# upsampling
# ----------------------------------------------------------------------------------------

def _interp_macs(mode, planes, ho, wo):
    return 4 * planes * ho * wo if mode == "bilinear" else 0


def upsample_cost(input_shape, size=None, scale_factor=None, mode="nearest",
                  align_corners=None, itemsize=4):
    """Cost of ``suite.upsample``: ``(N, C, H, W)`` -> ``(N, C, H_out, W_out)``,
    ``H_out = size`` or ``floor(H*scale_factor)``.

    nearest / nearest-exact: 0 FLOPs; algorithm ``"gather"``.
    bilinear: ``macs = 4*N*C*H_out*W_out`` (4 taps with weights ``lh*lw``, 8 FLOPs per output
    value); algorithms ``"direct"`` (the 4 taps: 8 FLOPs per output), ``"nested"`` (suite's
    kernel: interpolate two rows along W, then along H: 6 taps, 12 FLOPs per output) and
    ``"separable"`` (an H pass into an ``H_out x W`` plane, then a W pass, 2 taps each:
    ``4*N*C*(H_out*W + H_out*W_out)`` FLOPs; workspace that plane, ``H_out*W*itemsize``).
    The count is the same for every output value (taps with weight 0 included).
    ``min_bytes = N*C*(H*W + H_out*W_out) * itemsize``; ``parameters = 0``.
    """
    itemsize = _itemsize(itemsize)
    n, c, h, w = _shape(input_shape, "input_shape")
    mode, _ = _mode(mode, align_corners)
    (ho, wo), _ = upsample_output_size((h, w), size, scale_factor)
    planes = n * c
    macs = _interp_macs(mode, planes, ho, wo)
    if mode == "bilinear":
        executed = {"direct": 2 * macs, "nested": 12 * planes * ho * wo,
                    "separable": 4 * planes * (ho * w + ho * wo)}
        workspace = {"direct": 0, "nested": 0, "separable": ho * w * itemsize}
    else:
        executed, workspace = {"gather": 0}, {"gather": 0}
    return Cost(operation="upsample", output_shape=(n, c, ho, wo), macs=macs, adds=0,
                executed_flops=executed, min_bytes=planes * (h * w + ho * wo) * itemsize,
                workspace_bytes=workspace, parameters=0, itemsize=itemsize)


def upsample_backward_cost(input_shape, size=None, scale_factor=None, mode="nearest",
                           align_corners=None, itemsize=4):
    """Cost of ``suite.upsample_backward`` (``input_shape`` is the forward input's).

    The adjoint accumulates every output gradient into the input values it was read from:
    nearest ``adds = N*C*H_out*W_out`` (1 FLOP per gradient value), bilinear
    ``macs = 4*N*C*H_out*W_out`` (the 4 weighted taps). Algorithm ``"gather"`` (each input
    row gathers its gradients; no atomics, no workspace) executes ``useful_flops``.
    ``min_bytes = N*C*(H_out*W_out + H*W) * itemsize``; output_shape = input_shape.
    """
    itemsize = _itemsize(itemsize)
    n, c, h, w = _shape(input_shape, "input_shape")
    mode, _ = _mode(mode, align_corners)
    (ho, wo), _ = upsample_output_size((h, w), size, scale_factor)
    planes = n * c
    macs = _interp_macs(mode, planes, ho, wo)
    adds = 0 if mode == "bilinear" else planes * ho * wo
    return Cost(operation="upsample_backward", output_shape=(n, c, h, w), macs=macs, adds=adds,
                executed_flops={"gather": 2 * macs + adds},
                min_bytes=planes * (h * w + ho * wo) * itemsize,
                workspace_bytes={"gather": 0}, parameters=0, itemsize=itemsize)


def upsample_conv2d_order(executed_flops, unfused_flops, collapse_additions,
                          winograd_values=0, prepared=False, winograd_tiles=None):
    """The methods of ``suite.upsample_conv2d`` that apply (the keys of ``executed_flops``,
    method -> FLOPs it executes), in the order ``algorithm="auto"`` takes the first:
    Winograd, the collapsed kernel, banded (Winograd after the collapsed kernel on fewer
    than ``UPSAMPLE_WINOGRAD_MIN_TILES`` tiles a phase whose transformed weights pass
    ``UPSAMPLE_WINOGRAD_CACHED_BYTES``: ``winograd_tiles`` = (tiles, bytes), for a call that
    prepares its weights), except that a call which prepares its weights
    (not ``prepared`` once by a layer object) puts a method after banded when preparing them
    costs more than it saves against the unfused arithmetic (``suite._plan.collapse_pays``):
    the collapse adds every tap into its phase's kernel (``collapse_additions``), and
    Winograd then writes 16 transformed values per phase's 2x2 kernel (``winograd_values``;
    nearest x2 + 3x3, 512
    -> 512 channels on a 5x4 map: Winograd's transform took 9.7 of its 15.4 ms, banded ran
    in 5.1; docs/performance.md items 27 and 39)."""
    late = set()
    few_tiles = False
    if not prepared:
        for method, extra in (("winograd", winograd_values), ("collapsed", 0)):
            if method in executed_flops and not collapse_pays(
                    unfused_flops - executed_flops[method], collapse_additions + extra):
                late.add(method)
        # Winograd after the collapsed kernel on few tiles a phase (``winograd_tiles``,
        # the batch's) where a phase's transformed weights (``winograd_tiles[1]`` bytes)
        # are past the cache: it saves 14 FLOPs a tile and channel pair, ~0.14 ns, for 16
        # transformed weights a pair, ~0.1 ns each in the cache, ~1 ns past it: even at 12
        # and 115 tiles (docs/performance.md, item 96)
        few_tiles = (winograd_tiles is not None
                     and winograd_tiles[0] < UPSAMPLE_WINOGRAD_MIN_TILES
                     and winograd_tiles[1] > UPSAMPLE_WINOGRAD_CACHED_BYTES)
    order = (("collapsed", "winograd", "banded") if few_tiles
             else ("winograd", "collapsed", "banded"))
    return tuple(sorted((m for m in order if m in executed_flops), key=lambda m: m in late))


def _upsample_conv2d_parts(input_shape, weight_shape, scale_factor, mode, align_corners,
                           stride, padding, dilation, groups, bias, itemsize, num_threads):
    """What upsample_conv2d_cost and upsample_conv2d_methods share: the convolution's cost,
    each method's (executed FLOPs, workspace values), the unfused FLOPs, the collapse's
    additions and Winograd's transformed weight values, and the sizes."""
    itemsize = _itemsize(itemsize)
    num_threads = _threads(num_threads)
    n, c_in, h, w = _shape(input_shape, "input_shape")
    mode, align_corners = _mode(mode, align_corners)
    (hu, wu), scales = upsample_output_size((h, w), None, scale_factor)
    conv = conv2d_cost((n, c_in, hu, wu), weight_shape, stride, padding, dilation, groups,
                       bias, itemsize, num_threads)
    c_out, cig, kh, kw = conv.output_shape[1], weight_shape[1], weight_shape[2], weight_shape[3]
    _, _, ho, wo = conv.output_shape
    interp = _interp_macs(mode, n * c_in, hu, wu)
    macs = conv.macs + interp
    useful = 2 * macs + conv.adds
    upsampled_map = n * c_in * hu * wu * itemsize
    collapse = collapsible_scales(scales, mode, align_corners)
    s, p, d = check_pair(stride, "stride", 1), check_pair(padding, "padding", 0), \
        check_pair(dilation, "dilation", 1)
    if mode == "bilinear" or s != (1, 1):
        collapse = None
    tiles = None
    if collapse is not None:
        tiles_h = winograd_axis_tiles(ho, collapse[0], kh, p[0], d[0])
        tiles_w = winograd_axis_tiles(wo, collapse[1], kw, p[1], d[1])
        if tiles_h is not None and tiles_w is not None:
            tiles = tiles_h * tiles_w
    groups = check_int(groups, "groups", 1)
    cog = c_out // groups
    threads = threads_for_work(num_threads, 2 * n * c_out * ho * wo * cig * kh * kw)
    if collapse is not None:
        phases_h = collapsed_phase_table(ho, int(collapse[0]), kh, p[0], d[0])[0]
        phases_w = collapsed_phase_table(wo, int(collapse[1]), kw, p[1], d[1])[0]
    methods = {}    # method -> (executed FLOPs, workspace values)
    if tiles is not None:
        workspace = 0
        if n:
            blocking = winograd_blocking(n, cig, cog, groups, itemsize, phases_h, phases_w,
                                         len(phases_h) * len(phases_w), False,
                                         planning_width())
            workspace = winograd_workspace(cig, cog, groups, kh * kw, phases_h, phases_w,
                                           blocking, False, itemsize, threads)
        methods["winograd"] = (2 * 9 * n * c_out * cig * tiles + conv.adds, workspace)
    if collapse is not None:
        fh = fused_axis_taps(ho, collapse[0], kh, s[0], p[0], d[0], mode)
        fw = fused_axis_taps(wo, collapse[1], kw, s[1], p[1], d[1], mode)
        th = sum(collapsed_residue_taps(collapse[0], kh, d[0], mode))
        tw = sum(collapsed_residue_taps(collapse[1], kw, d[1], mode))
        methods["collapsed"] = (
            2 * n * c_out * cig * fh * fw + conv.adds,
            c_out * cig * th * tw + phase_workspace(n, cig, cog, groups, phases_h, phases_w,
                                                    itemsize, threads))
        if kh == kw == 1 and tuple(p) == (0, 0):
            # suite.fused: every phase's kernel is the 1x1 kernel, so the convolution runs
            # once at the input's resolution and the nearest kernel repeats its output
            small = conv2d_cost((n, c_in, h, w), weight_shape, 1, 0, d, groups, bias,
                                itemsize, threads)
            methods["collapsed"] = (2 * small.macs + small.adds,
                                    n * c_out * h * w
                                    + small.workspace_bytes["im2col"] // itemsize)
    rows = band_rows(n * groups, ho, wo, cig * kh * kw, itemsize, planning_width())
    span = (rows - 1) * s[0] + (kh - 1) * d[0] + 1
    methods["banded"] = (useful,
                         banded_upsample_workspace(cig, kh, kw, rows, wo, span, wu, threads,
                                                   itemsize))
    additions = c_out * cig * int(collapse[0]) * int(collapse[1]) * kh * kw if collapse else 0
    winograd_values = 16 * c_out * cig * int(collapse[0]) * int(collapse[1]) if collapse else 0
    # the batch's 2x2 tiles a phase (the tiles of all phases over their count), and the
    # bytes of a phase's transformed weights
    winograd_tiles = None
    if tiles is not None:
        winograd_tiles = (n * tiles / (int(collapse[0]) * int(collapse[1])),
                          16 * c_out * cig * itemsize)
    return dict(conv=conv, methods=methods, useful=useful, macs=macs, additions=additions,
                winograd_values=winograd_values, winograd_tiles=winograd_tiles, upsampled_map=upsampled_map, n=n, c_in=c_in,
                h=h, w=w, c_out=c_out, ho=ho, wo=wo, itemsize=itemsize)


def upsample_conv2d_methods(input_shape, weight_shape, scale_factor=2, mode="nearest",
                            align_corners=None, stride=1, padding=0, dilation=1, groups=1,
                            prepared=False):
    """The methods of ``suite.upsample_conv2d`` that apply, in the order its
    ``algorithm="auto"`` takes the first (:func:`upsample_conv2d_order`)."""
    parts = _upsample_conv2d_parts(input_shape, weight_shape, scale_factor, mode,
                                   align_corners, stride, padding, dilation, groups, False, 4,
                                   1)
    return upsample_conv2d_order({m: f for m, (f, _) in parts["methods"].items()},
                                 parts["useful"], parts["additions"],
                                 parts["winograd_values"], prepared, parts["winograd_tiles"])


def upsample_conv2d_cost(input_shape, weight_shape, scale_factor=2, mode="nearest",
                         align_corners=None, stride=1, padding=0, dilation=1, groups=1,
                         bias=True, itemsize=4, num_threads=1, prepared=False):
    """Cost of ``suite.upsample_conv2d`` = ``conv2d(upsample(x, scale_factor, mode), weight)``.

    Weight ``(C_out, C_in/g, kH, kW)``; the upsampled map is ``(N, C_in, H_u, W_u)`` with
    ``H_u = floor(H*sH)``, the output that of :func:`conv2d_cost` on it.
    ``macs`` = the convolution's ``N*C_out*(C_in/g)*kH*kW*H_out*W_out`` plus, for bilinear,
    the interpolation's ``4*N*C_in*H_u*W_u``; ``adds`` = bias.

    * ``"unfused"``: upsample then convolve: executes ``useful_flops``; workspace the whole
      upsampled map ``N*C_in*H_u*W_u`` plus :func:`conv2d_cost`'s workspace on it.
    * ``"fused"``: what ``algorithm="auto"``'s rule runs (:func:`upsample_conv2d_order`: on
      tiny maps with wide layers, where preparing the weights on every call costs more than
      Winograd or the collapse saves, banded; ``prepared=True``: a layer object's call, which
      prepared them once). Otherwise: nearest by integer factors into a
      stride-1 convolution whose collapsed kernels (module docstring) are all 2x2 (x2 + 3x3 with
      padding 1): Winograd F(2x2, 2x2), ``2*9*N*C_out*(C_in/g)*T_H*T_W + adds`` with ``T``
      the 2x2 output tiles of all phases of an axis (``sum_r ceil(count_r/2)``; the
      transforms' additions are not counted), workspace one phase's transformed weights,
      about ``9*C_out*(C_in/g)`` values, and per thread one block's tiles. Other nearest integer cases: the collapsed kernel,
      ``2*N*C_out*(C_in/g)*F_H*F_W + adds``, ``F_H = sum over output rows of the collapsed
      phase's taps``, workspace the collapsed weights ``C_out*(C_in/g)*T_H*T_W`` values
      (``T`` = the taps of all phases of an axis) and the largest phase's columns and
      products; a 1x1 kernel without padding, :func:`conv2d_cost` of x (the convolution at
      the input's resolution, its output repeated), workspace that ``N*C_out*H*W`` output
      and its columns. Bilinear, fractional scales and strided convolutions: the banded kernel,
      which interpolates rows on the fly and executes the unfused arithmetic (interpolation
      included), with per thread a band of im2col columns and the upsampled rows it reads,
      and no map.
      (Bilinear collapses on paper too, :func:`collapsed_macs_per_pixel`, but is not run
      that way.)

    ``min_bytes`` = x, weight, bias and output once (what a fused kernel moves).
    """
    parts = _upsample_conv2d_parts(input_shape, weight_shape, scale_factor, mode,
                                   align_corners, stride, padding, dilation, groups, bias,
                                   itemsize, num_threads)
    conv, n, itemsize = parts["conv"], parts["n"], parts["itemsize"]
    c_in, h, w, c_out, ho, wo = (parts[k] for k in ("c_in", "h", "w", "c_out", "ho", "wo"))
    macs, useful, upsampled_map = parts["macs"], parts["useful"], parts["upsampled_map"]
    order = upsample_conv2d_order({m: f for m, (f, _) in parts["methods"].items()}, useful,
                                  parts["additions"], parts["winograd_values"], prepared,
                                  parts["winograd_tiles"])
    fused, fused_ws = parts["methods"][order[0]]
    fused_ws = fused_ws * itemsize if n else 0
    return Cost(
        operation="upsample_conv2d", output_shape=conv.output_shape, macs=macs, adds=conv.adds,
        executed_flops={"fused": fused, "unfused": useful},
        min_bytes=(n * c_in * h * w + conv.parameters + n * c_out * ho * wo) * itemsize,
        workspace_bytes={"fused": fused_ws,
                         "unfused": upsampled_map + conv.workspace_bytes["im2col"]},
        parameters=conv.parameters, itemsize=itemsize)


def upsample_add_cost(input_shape, skip_shape, mode="nearest", align_corners=None, itemsize=4):
    """Cost of ``suite.upsample_add`` = ``upsample(x, size=skip.shape[-2:], mode) + skip``.

    ``adds = N*C*H_out*W_out`` (the skip); ``macs`` = bilinear's ``4*N*C*H_out*W_out`` (0 for
    nearest). ``"fused"`` and ``"unfused"`` execute ``useful_flops``; the unfused pair
    materialises the upsampled map (``N*C*H_out*W_out`` values of workspace).
    ``min_bytes = N*C*(H*W + 2*H_out*W_out) * itemsize`` (x and skip read, output written).
    """
    itemsize = _itemsize(itemsize)
    n, c, h, w = _shape(input_shape, "input_shape")
    sn, sc, ho, wo = _shape(skip_shape, "skip_shape")
    if (sn, sc) != (n, c):
        raise ValueError(f"skip_shape {skip_shape} must have x's batch and channels {(n, c)}")
    mode, _ = _mode(mode, align_corners)
    planes = n * c
    macs = _interp_macs(mode, planes, ho, wo)
    adds = planes * ho * wo
    useful = 2 * macs + adds
    return Cost(operation="upsample_add", output_shape=(n, c, ho, wo), macs=macs, adds=adds,
                executed_flops={"fused": useful, "unfused": useful},
                min_bytes=planes * (h * w + 2 * ho * wo) * itemsize,
                workspace_bytes={"fused": 0, "unfused": planes * ho * wo * itemsize},
                parameters=0, itemsize=itemsize)
