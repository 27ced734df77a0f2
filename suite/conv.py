"""im2col / col2im, convolution and transposed convolution (NCHW, float32 and float64).

Semantics and argument names follow PyTorch's functional API (``unfold``, ``fold``,
``conv2d``, ``conv_transpose2d``); weights use the Caffe/PyTorch layouts.
"""

import functools
import math

import numpy as np

from . import _conv, cost
from ._threads import single_threaded_blas
from ._validation import (
    check_array,
    check_bias,
    check_blas_dims,
    check_choice,
    check_int,
    check_pair,
    check_same_dtype,
    check_size,
    contiguous,
    effective_n_threads,
    make_output,
)

__all__ = [
    "im2col",
    "col2im",
    "conv2d",
    "deconv2d",
    "deconv2d_backward",
    "deconv2d_output_shape",
    "conv2d_output_shape",
    "bilinear_kernel",
    "DECONV_ALGORITHMS",
]

#: ``algorithm=`` values of :func:`deconv2d`.
DECONV_ALGORITHMS = ("auto", "col2im", "phase", "winograd", "direct")

#: Images are packed side by side until a GEMM has about this many columns: BLAS runs a
#: 16-column product (one 4x4 map) far below its peak, a 2048-column one near it.
GEMM_TARGET_COLUMNS = 2048

#: The direct deconvolution adds kernel rows shorter than this tap by tap (an axpy over the
#: input row into every stride-th output element), longer ones pixel by pixel (an axpy of
#: the kernel row into a contiguous stretch of the output row).
_TAP_MAJOR_BELOW = 8

#: ... but the column workspace of one batch stays below this many bytes.
WORKSPACE_BUDGET_BYTES = 64 * 2**20


def _images_per_gemm(n_images, columns_per_image, rows, itemsize):
    """How many images share one GEMM (see GEMM_TARGET_COLUMNS and WORKSPACE_BUDGET_BYTES)."""
    if n_images <= 1:
        return 1
    wanted = max(1, math.ceil(GEMM_TARGET_COLUMNS / columns_per_image))
    affordable = max(1, WORKSPACE_BUDGET_BYTES // max(1, rows * columns_per_image * itemsize))
    return int(min(n_images, wanted, affordable))


def _check_input(x, name="x"):
    x = check_array(x, name, 4)
    if min(x.shape[1:]) < 1:
        raise ValueError(
            f"{name} must have at least one channel, row and column, got shape {x.shape}"
        )
    return x


def _check_geometry(stride, padding, dilation):
    return (
        check_pair(stride, "stride", 1),
        check_pair(padding, "padding", 0),
        check_pair(dilation, "dilation", 1),
    )


def _sliding_positions(size, kernel, stride, padding, dilation, what):
    """Number of kernel positions along one axis (the convolution's output size)."""
    span = dilation * (kernel - 1) + 1
    count = (size + 2 * padding - span) // stride + 1
    if count < 1:
        raise ValueError(
            f"the kernel (size {kernel}, dilation {dilation}, extent {span}) does not fit in "
            f"the padded {what} (size {size} + 2*{padding}): the output would be empty; "
            f"check kernel_size, padding and dilation"
        )
    return count


def _check_shape(shape, name, minimum):
    if not isinstance(shape, (tuple, list)) or len(shape) != 4:
        raise ValueError(f"{name} must be a 4-tuple, got {shape!r}")
    return check_pair(tuple(shape[:2]), name, minimum[0]) + check_pair(tuple(shape[2:]), name,
                                                                       minimum[1])


def conv2d_output_shape(input_shape, weight_shape, stride=1, padding=0, dilation=1):
    """(N, C_out, H_out, W_out) of :func:`conv2d` for these shapes."""
    stride, padding, dilation = _check_geometry(stride, padding, dilation)
    n, _, h, w = _check_shape(input_shape, "input_shape", (0, 1))
    c_out, _, kh, kw = _check_shape(weight_shape, "weight_shape", (1, 1))
    return (
        n,
        c_out,
        _sliding_positions(h, kh, stride[0], padding[0], dilation[0], "input height"),
        _sliding_positions(w, kw, stride[1], padding[1], dilation[1], "input width"),
    )


def deconv2d_output_shape(input_shape, weight_shape, stride=1, padding=0, output_padding=0,
                          dilation=1, groups=1):
    """(N, C_out, H_out, W_out) of :func:`deconv2d`:
    ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + opH + 1`` (as ``torch.nn.ConvTranspose2d``)."""
    stride, padding, dilation = _check_geometry(stride, padding, dilation)
    output_padding = check_pair(output_padding, "output_padding", 0)
    for axis, name in enumerate(("height", "width")):
        if not (output_padding[axis] < stride[axis] or output_padding[axis] < dilation[axis]):
            raise ValueError(
                f"output_padding must be smaller than the stride or the dilation in each "
                f"dimension, got output_padding={output_padding}, stride={stride}, "
                f"dilation={dilation} ({name})"
            )
    n, _, h, w = _check_shape(input_shape, "input_shape", (0, 1))
    _, c_out_per_group, kh, kw = _check_shape(weight_shape, "weight_shape", (1, 1))
    groups = check_int(groups, "groups", minimum=1)
    size = []
    for axis, (length, k) in enumerate(((h, kh), (w, kw))):
        out = ((length - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (k - 1)
               + output_padding[axis] + 1)
        if out < 1:
            raise ValueError(
                f"padding={padding} is too large: the output {('height', 'width')[axis]} "
                f"would be {out} (it must be at least 1)"
            )
        size.append(out)
    return (n, c_out_per_group * groups, size[0], size[1])


def _check_weight(weight, x):
    """A 4-D weight of x's dtype with positive sizes (the layouts differ per operation)."""
    weight = check_array(weight, "weight", 4)
    check_same_dtype(x, "x", weight, "weight")
    if min(weight.shape) < 1:
        raise ValueError(
            f"weight must have positive channel counts and kernel size, got shape {weight.shape}"
        )
    return weight


def _check_groups(groups, in_channels, out_channels):
    groups = check_int(groups, "groups", minimum=1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels ({in_channels}) and the "
            f"output channels ({out_channels})"
        )
    return groups


def check_conv_arguments(x, weight, bias, groups):
    """x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) or None."""
    x = _check_input(x)
    weight = _check_weight(weight, x)
    c_out, c_in_per_group = weight.shape[:2]
    groups = _check_groups(groups, x.shape[1], c_out)
    if c_in_per_group * groups != x.shape[1]:
        raise ValueError(
            f"weight has {c_in_per_group} input channels per group x {groups} groups = "
            f"{c_in_per_group * groups}, but x has {x.shape[1]} channels"
        )
    return x, weight, check_bias(bias, c_out, x.dtype), groups


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, *, num_threads=None):
    """Unfold sliding kH x kW patches of ``x`` into columns (``torch.nn.functional.unfold``).

    x (N, C, H, W) -> (N, C*kH*kW, L), L = H_out*W_out with
    ``H_out = (H + 2*pH - dH*(kH - 1) - 1)//sH + 1``; row ``c*kH*kW + i*kW + j`` of image n holds
    x[n, c, h*sH - pH + i*dH, w*sW - pW + j*dW] (zero in the padding).

    Cost: no FLOPs; reads x once and writes C*kH*kW*L values per image.
    """
    x = _check_input(x)
    kernel = check_pair(kernel_size, "kernel_size", 1)
    stride, padding, dilation = _check_geometry(stride, padding, dilation)
    n_threads = effective_n_threads(num_threads)
    n, c, h, w = x.shape
    out_h = _sliding_positions(h, kernel[0], stride[0], padding[0], dilation[0], "input height")
    out_w = _sliding_positions(w, kernel[1], stride[1], padding[1], dilation[1], "input width")
    out = make_output(None, (n, c * kernel[0] * kernel[1], out_h * out_w), x.dtype, ())
    _conv.im2col(contiguous(x), out, kernel[0], kernel[1], stride[0], stride[1],
                 padding[0], padding[1], dilation[0], dilation[1], out_h, out_w, n_threads)
    return out


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1, *,
           num_threads=None):
    """Sum columns back into images (``torch.nn.functional.fold``), the adjoint of im2col.

    cols (N, C*kH*kW, L) -> (N, C, H, W) with (H, W) = output_size; L must be the number of
    kernel positions on that image. Overlapping patches add up.

    Cost: C*kH*kW*L additions per image; reads cols once, writes the image once.
    """
    cols = check_array(cols, "cols", 3)
    size = check_pair(output_size, "output_size", 1)
    kernel = check_pair(kernel_size, "kernel_size", 1)
    stride, padding, dilation = _check_geometry(stride, padding, dilation)
    n_threads = effective_n_threads(num_threads)
    n, rows, length = cols.shape
    kk = kernel[0] * kernel[1]
    if rows < 1 or rows % kk:
        raise ValueError(
            f"cols must have a positive multiple of kH*kW = {kk} rows (C*kH*kW), got {rows} "
            f"(shape {cols.shape})"
        )
    col_h = _sliding_positions(size[0], kernel[0], stride[0], padding[0], dilation[0],
                               "output height")
    col_w = _sliding_positions(size[1], kernel[1], stride[1], padding[1], dilation[1],
                               "output width")
    if length != col_h * col_w:
        raise ValueError(
            f"cols has {length} columns but output_size={size} with kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation} has "
            f"{col_h}x{col_w} = {col_h * col_w} kernel positions"
        )
    out = make_output(None, (n, rows // kk, size[0], size[1]), cols.dtype, ())
    _conv.col2im(contiguous(cols), out, kernel[0], kernel[1], stride[0], stride[1],
                 padding[0], padding[1], dilation[0], dilation[1], col_h, col_w, n_threads)
    return out


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, out=None,
           num_threads=None):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) or None ->
    (N, C_out, H_out, W_out), ``H_out = (H + 2*pH - dH*(kH - 1) - 1)//sH + 1``.

    Method: im2col, then one GEMM per group for a batch of images (several small images share
    one GEMM). Cost: 2*C_out*(C_in/groups)*kH*kW*H_out*W_out FLOPs per image; a column
    workspace of C_in*kH*kW*H_out*W_out values per batched image (none for a 1x1, stride-1,
    unpadded convolution of one image).
    """
    x, weight, bias, groups = check_conv_arguments(x, weight, bias, groups)
    c_out, c_in_per_group, kh, kw = weight.shape
    stride, padding, dilation = _check_geometry(stride, padding, dilation)
    n_threads = effective_n_threads(num_threads)
    shape = conv2d_output_shape(x.shape, weight.shape, stride, padding, dilation)
    out = make_output(out, shape, x.dtype, (("x", x), ("weight", weight), ("bias", bias)))
    n, _, out_h, out_w = shape
    if n == 0:
        return out
    per_image = out_h * out_w
    if per_image >= BAND_MIN_COLUMNS:
        rows = band_rows(n * groups, out_h, out_w, c_in_per_group * kh * kw, x.itemsize,
                         n_threads)
        check_blas_dims(M=c_out // groups, N=rows * out_w, K=c_in_per_group * kh * kw,
                        ldc=per_image)
        with single_threaded_blas():
            _conv.correlation_banded(contiguous(x), contiguous(weight), bias, out,
                                     SOURCE_INPUT, x.shape[2], x.shape[3], *NO_TABLES[x.dtype],
                                     stride[0], stride[1], padding[0], padding[1],
                                     dilation[0], dilation[1], groups, rows, n_threads)
        return out
    nb = _images_per_gemm(n, per_image, c_in_per_group * kh * kw + c_out, x.itemsize)
    check_size((c_in_per_group * kh * kw, nb * per_image), "the column workspace")
    check_blas_dims(M=c_out // groups, N=nb * per_image, K=c_in_per_group * kh * kw)
    with single_threaded_blas():
        _conv.conv2d_im2col(contiguous(x), contiguous(weight), bias, out, stride[0], stride[1],
                            padding[0], padding[1], dilation[0], dilation[1], groups, nb,
                            n_threads)
    return out


#: Banded convolution: a task packs the columns of a band of output rows, at most this many
#: bytes (so they stay in the core's cache for the GEMM) ...
BAND_BYTES = 512 * 2**10

#: ... but at least this many output values wide, so BLAS still runs near its peak. Maps
#: with fewer output values per image batch several images into one GEMM instead.
BAND_MIN_COLUMNS = 256

#: ``source`` codes of _conv.correlation_banded.
SOURCE_INPUT, SOURCE_NEAREST, SOURCE_BILINEAR = 0, 1, 2

#: Placeholder interpolation tables for a convolution of the input itself.
NO_TABLES = {
    np.dtype(dt): (np.zeros(1, np.intp), np.zeros(1, np.intp), 0,
                   np.zeros(1, np.intp), np.zeros(1, np.intp), np.zeros(1, dt), np.zeros(1, dt),
                   np.zeros(1, np.intp), np.zeros(1, np.intp), np.zeros(1, dt), np.zeros(1, dt))
    for dt in (np.float32, np.float64)
}


def band_rows(planes, out_h, out_w, column_rows, itemsize, n_threads):
    """Output rows per task of the banded convolution (``planes`` = images x groups).

    Sized by BAND_BYTES and BAND_MIN_COLUMNS; cut further only when the tasks would be fewer
    than the threads.
    """
    rows = max(math.ceil(BAND_MIN_COLUMNS / out_w),
               BAND_BYTES // max(1, column_rows * out_w * itemsize))
    rows = min(rows, out_h)
    if planes * math.ceil(out_h / rows) < n_threads:
        rows = max(1, math.ceil(out_h / math.ceil(n_threads / planes)))
    check_size((column_rows, rows * out_w), "the column workspace")
    return int(rows)


@functools.lru_cache(maxsize=256)
def _phase_table(in_size, out_size, kernel, stride, padding, dilation):
    """Per-phase geometry of one axis for the sub-pixel decomposition.

    Output index o belongs to phase r = (o + padding) % stride. The kernel taps i that reach
    phase r satisfy i*dilation = r (mod stride): i = first + m*step with
    step = stride/gcd(stride, dilation); they read input index q - a0 - m*dil with
    q = (o + padding - r)/stride, a0 = (first*dilation - r)/stride, dil = dilation/gcd.
    Flipping the taps turns that into im2col with stride 1, dilation dil and padding
    a0 + (taps - 1)*dil - q0, where q0 is q of the phase's first output index.

    Returns rows (taps, first, pad, count, first_out) and (step, dil).
    """
    common = math.gcd(stride, dilation)
    step, dil = stride // common, dilation // common
    rows = []
    for r in range(stride):
        first = next((i for i in range(min(kernel, step)) if (i * dilation - r) % stride == 0),
                     None)
        taps = 0 if first is None else (kernel - 1 - first) // step + 1
        first_out = (r - padding) % stride
        count = 0 if first_out >= out_size else (out_size - first_out + stride - 1) // stride
        q0 = (first_out + padding - r) // stride
        a0 = 0 if first is None else (first * dilation - r) // stride
        pad = a0 + (taps - 1) * dil - q0 if taps else 0
        rows.append((taps, first or 0, pad, count, first_out))
    table = np.array(rows, dtype=np.intp).reshape(stride, 5)
    table.flags.writeable = False   # cached: shared by every call with this geometry
    return table, step, dil


#: Winograd blocks of tiles keep one block's transformed input and products (9 values per
#: tile and input or output channel) within about this many bytes, or half the phase's
#: transformed weights if larger (run_winograd), with 32 to WINOGRAD_MAX_BLOCK tiles: half
#: the core's L2 on the machines measured (larger blocks, which widen the GEMMs, ran
#: slower: DCGAN-G4 9.5 ms at 512 KiB, 12 ms at 2 MiB, 24 ms at 8 MiB).
WINOGRAD_BLOCK_BYTES = 512 * 2**10
WINOGRAD_MAX_BLOCK = 512


#: Winograd transforms a transposed convolution's weights for as many phases as fit in
#: this many bytes in one sweep over the weight, a phase at a time beyond it. A sweep per
#: phase reads the whole weight (C_in, C_out, k, k) once per phase, since a kernel's taps
#: share cache lines, and reorders it each time (DCGAN-G2: 20.7 -> 16.8 ms, StyleGAN 13.9
#: -> 12.0 by one sweep); larger buffers are mapped afresh by malloc on every call, and
#: their page faults cost more than the sweeps save. A convolution's weight (C_out, C_in,
#: k, k), the fused upsample + conv's, is read in its own order and goes a phase at a time
#: (StyleGAN's nearest x2 + 3x3: 11.4 ms, 12.5 in one sweep). Defined with the cost model,
#: which counts that workspace.
WINOGRAD_PASS_BYTES = cost.WINOGRAD_PASS_BYTES

#: choose_algorithm takes Winograd only with at least this many 2x2 tiles per phase.
WINOGRAD_MIN_TILES = 128


#: deconv2d and upsample_conv2d give each thread at least this many FLOPs: below it the
#: parallel regions cost more than they save (FCN-8s upscore2, 14 MFLOP: 0.33 ms on one
#: thread, 0.47 ms on two).
MIN_FLOPS_PER_THREAD = 10_000_000


def threads_for_work(n_threads, flops):
    """n_threads, lowered so that each thread gets at least MIN_FLOPS_PER_THREAD (at least
    one thread): for these kernels num_threads is an upper bound."""
    if MIN_FLOPS_PER_THREAD <= 0:
        return n_threads
    return int(max(1, min(n_threads, flops // MIN_FLOPS_PER_THREAD)))


def winograd_applies(phases_h, phases_w, dil_h, dil_w):
    """True if every phase of a phase table pair has a 2x2 sub-kernel of dilation 1."""
    return (dil_h == 1 and dil_w == 1 and bool(np.all(phases_h[:, 0] == 2))
            and bool(np.all(phases_w[:, 0] == 2)))


def tap_lists(tap_map):
    """(phases, 4, kk) 0/1 map -> the same shape of intp: each row's positions, then -1."""
    lists = np.full(tap_map.shape, -1, dtype=np.intp)
    for index in np.ndindex(tap_map.shape[:2]):
        where = np.flatnonzero(tap_map[index])
        lists[index][:where.size] = where
    return lists


@functools.lru_cache(maxsize=256)
def deconv_winograd_taps(in_size, out_size, kernel, stride, padding, dilation):
    """(phases, 4, kH*kW): the kernel tap of each entry of each transposed-convolution
    phase's 2x2 sub-kernel, flipped to a correlation (as pack_deconv_phase_weights), -1
    padded (tap_lists); None unless every phase is 2x2. Arguments: the (height, width)
    pairs of _phase_table's. Cached per geometry; read-only."""
    (phases_h, step_h, dil_h), (phases_w, step_w, dil_w) = (
        _phase_table(*axis) for axis in zip(in_size, out_size, kernel, stride, padding,
                                             dilation))
    if not winograd_applies(phases_h, phases_w, dil_h, dil_w):
        return None
    kh, kw = kernel
    sh, sw = len(phases_h), len(phases_w)
    tap_map = np.zeros((sh * sw, 4, kh * kw), dtype=bool)
    for rh in range(sh):
        for rw in range(sw):
            for a in range(2):
                for b in range(2):
                    i = int(phases_h[rh, 1]) + (1 - a) * step_h
                    j = int(phases_w[rw, 1]) + (1 - b) * step_w
                    tap_map[rh * sw + rw, 2 * a + b, i * kw + j] = True
    taps = tap_lists(tap_map)
    taps.flags.writeable = False
    return taps


def run_winograd(x, weight, strides, taps, bias, out, phases_h, phases_w, groups,
                 n_threads):
    """out = bias + the phases by Winograd F(2x2, 2x2). strides: (group, output channel,
    input channel) strides of the kernels in the flat weight; taps: the kernel positions
    each phase's 2x2 sub-kernel entry sums (tap_lists). The block of tiles depends on the
    shapes only."""
    n, c_in = x.shape[:2]
    c_out = out.shape[1]
    cig, cog = c_in // groups, c_out // groups
    per_tile = 9 * (cig + cog) * x.itemsize
    # Each block's 9 GEMMs repack the phase's transformed weights: blocks may hold half as
    # much as those weights, so that repacking stays a small share for wide layers.
    budget = max(WINOGRAD_BLOCK_BYTES, 9 * cig * cog * x.itemsize // 2)
    block = int(min(WINOGRAD_MAX_BLOCK, max(32, budget // per_tile))) // 16 * 16
    tiles_w = int((phases_w[:, 3].max() + 1) // 2)
    tile_rows = n * int((phases_h[:, 3].max() + 1) // 2)
    tiles = tile_rows * tiles_w
    # Blocks are whole tile rows; as many as the budget needs, then evened out (160 + 96
    # tiles on two threads ran at 1.5x one thread, 128 + 128 at 1.8x).
    rows_per_block = max(1, min(block, tiles) // tiles_w)
    rows_per_block = -(-tile_rows // -(-tile_rows // rows_per_block))
    block = rows_per_block * tiles_w
    co_parts = 1
    tasks = groups * math.ceil(tiles / block)
    if tasks < n_threads:
        # fewer tasks than threads (as the blocked col2im): split the output channels
        co_parts = max(1, min(math.ceil(n_threads / tasks), cog // 16))
    per_phase = groups * (9 * cog * (cig + 32) + 32)
    phases_per_pass = 1
    if strides[1] < strides[2]:
        # a transposed convolution's weight: output channels inner
        phases_per_pass = int(max(1, min(len(taps), WINOGRAD_PASS_BYTES
                                         // (per_phase * x.itemsize))))
    check_size((phases_per_pass, per_phase), "the transformed weights")
    check_size((n_threads * 9 * (cig + cog), block + 32), "the Winograd workspace")
    check_blas_dims(M=cog, N=block, K=cig, lda=9 * (cig + 32), ldb=9 * (block + 32))
    with single_threaded_blas():
        _conv.winograd_phases(contiguous(x), weight.reshape(-1), *strides, taps, bias, out,
                              phases_h, phases_w, groups, block, co_parts, phases_per_pass,
                              n_threads)


def _check_deconv_arguments(x, weight, stride, padding, output_padding, dilation, groups):
    x = _check_input(x)
    weight = _check_weight(weight, x)
    c_in, c_out_per_group = weight.shape[:2]
    if c_in != x.shape[1]:
        raise ValueError(
            f"weight must have shape (C_in, C_out/groups, kH, kW) with C_in = {x.shape[1]} "
            f"(the channels of x), got {weight.shape}"
        )
    groups = check_int(groups, "groups", minimum=1)
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide the input channels ({c_in})")
    shape = deconv2d_output_shape(x.shape, weight.shape, stride, padding, output_padding,
                                  dilation, groups)
    stride, padding, dilation = _check_geometry(stride, padding, dilation)
    return x, weight, stride, padding, dilation, groups, shape


def deconv2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1,
             groups=1, *, algorithm="auto", out=None, num_threads=None):
    """Transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW), bias (C_out,) or None ->
    (N, C_out, H_out, W_out), ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + opH + 1``:
    every input pixel scatters its kernel-weighted value into the output,
    ``y[n, co, ih*sH - pH + i*dH, iw*sW - pW + j*dW] += x[n, ci, ih, iw] * w[ci, co, i, j]``.

    algorithm:

    * ``"col2im"``: Caffe's method. Per group ``col = W^T x`` by one GEMM (M =
      C_out/groups*kH*kW, N = images*H*W, K = C_in/groups), then col2im adds the columns into
      the output, bias included. Workspace: C_out/groups*kH*kW*H*W values per batched image;
      the additions overlap where the kernel is larger than the stride.
    * ``"phase"``: sub-pixel decomposition. The output splits into sH*sW phases, each a
      stride-1 correlation of x with the sub-kernel of the taps that land on it: an im2col of
      x and one GEMM (M = C_out/groups, N = images*H*W/(sH*sW) approximately, K =
      C_in/groups*kH*kW/(sH*sW)), whose result is written once into the phase's positions.
      Workspace: C_in/groups*kH*kW/(sH*sW)*H*W values per batched image and phase.
    * ``"winograd"``: the phases by Winograd F(2x2, 2x2) where every phase has a 2x2
      sub-kernel (kH = 2*sH, kW = 2*sW, dilation 1: DCGAN's and StyleGAN's k4 s2): each 2x2
      block of a phase's outputs comes from a 3x3 input patch in 9 multiplications instead of
      16, as 9 GEMMs per block of tiles (M = C_out/groups, K = C_in/groups). 1.78x fewer
      multiply-adds; the transforms only add and subtract. Other geometries run ``"phase"``.
      Workspace: the transformed weights (9/4 of the weight) and, per thread, one block's
      transformed tiles.
    * ``"direct"``: the definition, one output row at a time: every input row that reaches
      the output row adds each of its pixels times a kernel row (a contiguous axpy of length
      kW) into it, starting from the bias. No GEMM and no workspace; for layers with one to
      a few input channels per group (FCN's depthwise bilinear upsampling), where both GEMM
      methods would multiply with K = C_in/groups.
    * ``"auto"``: the fastest for this configuration (see ``choose_algorithm``).

    Cost: 2*C_in*(C_out/groups)*kH*kW*H*W useful FLOPs per image for every method.
    """
    algorithm = check_choice(algorithm, "algorithm", DECONV_ALGORITHMS)
    x, weight, stride, padding, dilation, groups, shape = _check_deconv_arguments(
        x, weight, stride, padding, output_padding, dilation, groups)
    bias = check_bias(bias, shape[1], x.dtype)
    n_threads = effective_n_threads(num_threads)
    out = make_output(out, shape, x.dtype, (("x", x), ("weight", weight), ("bias", bias)))
    n, c_out = shape[:2]
    if n == 0:
        return out
    c_in, c_out_per_group, kh, kw = weight.shape
    per_image = x.shape[2] * x.shape[3]
    n_threads = threads_for_work(n_threads, 2 * n * c_in * c_out_per_group * kh * kw * per_image)
    if algorithm == "auto":
        algorithm = choose_algorithm(x.shape, weight.shape, stride, dilation, groups)
    if algorithm in ("phase", "winograd"):
        phases_h, step_h, dil_h = _phase_table(x.shape[2], shape[2], kh, stride[0], padding[0],
                                               dilation[0])
        phases_w, step_w, dil_w = _phase_table(x.shape[3], shape[3], kw, stride[1], padding[1],
                                               dilation[1])
        taps = None
        if algorithm == "winograd":
            taps = deconv_winograd_taps(x.shape[2:], shape[2:], (kh, kw), stride, padding,
                                        dilation)
        if taps is not None:
            weight = contiguous(weight)
            strides = ((c_in // groups) * c_out_per_group * kh * kw, kh * kw,
                       c_out_per_group * kh * kw)
            run_winograd(x, weight, strides, taps, bias, out, phases_h, phases_w, groups,
                         n_threads)
            return out
        taps = int(phases_h[:, 0].max()) * int(phases_w[:, 0].max())
        per_phase = int(phases_h[:, 3].max()) * int(phases_w[:, 3].max())
        rows = (c_in // groups) * taps
        nb = _images_per_gemm(n, per_phase, rows + c_out_per_group, x.itemsize)
        check_size((rows, nb * per_phase), "the column workspace")
        check_blas_dims(M=c_out_per_group, N=nb * per_phase, K=rows)
        weight = contiguous(weight)
        packed = np.empty(weight.size, dtype=x.dtype)
        _conv.pack_deconv_phase_weights(weight, phases_h, phases_w, step_h, step_w, groups,
                                        packed, n_threads)
        with single_threaded_blas():
            _conv.phase_correlation(contiguous(x), packed, bias, out, phases_h, phases_w,
                                    dil_h, dil_w, groups, nb, n_threads)
        return out
    if algorithm == "direct":
        with single_threaded_blas():
            _conv.deconv2d_direct(contiguous(x), contiguous(weight), bias, out,
                                  stride[0], stride[1], padding[0], padding[1],
                                  dilation[0], dilation[1], groups, _TAP_MAJOR_BELOW,
                                  n_threads)
        return out
    nb, blocks = _col2im_blocking(n, per_image, c_out_per_group, kh * kw, groups, x.itemsize,
                                  n_threads)
    check_size((c_out_per_group * kh * kw, nb * per_image), "the column workspace")
    check_blas_dims(M=c_out_per_group * kh * kw, N=nb * per_image, K=c_in // groups)
    with single_threaded_blas():
        _conv.deconv2d_col2im(contiguous(x), contiguous(weight), bias, out,
                              stride[0], stride[1], padding[0], padding[1],
                              dilation[0], dilation[1], groups, nb, blocks, n_threads)
    return out


#: Column blocks of the blocked col2im deconvolution stay below this many bytes, so a
#: block is still in the core's cache (1 MiB of L2 on the machines measured) when col2im
#: reads it back right after the GEMM wrote it.
COLUMN_BLOCK_BYTES = 512 * 2**10

#: ... but each block's GEMM keeps at least this many columns (images are batched for
#: that) and rows (a thinner product streams its whole input once per block).
BLOCK_MIN_COLUMNS = 256
BLOCK_MIN_ROWS = 256


def _col2im_blocking(n, per_image, c_out_per_group, taps, groups, itemsize, n_threads):
    """(images per GEMM, output channels per block) of the col2im deconvolution.

    Blocks are sized by the cache alone, so the result does not depend on the thread count;
    they are split further only when there are fewer tasks than threads. 0 channels per
    block selects the unblocked method (one GEMM per group split across threads), for
    layers too small to give every thread a task (one image, one output channel).
    """
    nb = int(min(n, max(1, math.ceil(BLOCK_MIN_COLUMNS / per_image))))
    columns = nb * per_image
    per_channel = taps * columns * itemsize
    if min(BLOCK_MIN_ROWS, c_out_per_group * taps) * columns * itemsize > COLUMN_BLOCK_BYTES:
        # Large maps: no block that is wide enough for BLAS fits in cache anyway.
        return _images_per_gemm(n, per_image, c_out_per_group * taps, itemsize), 0
    blocks_per_group = max(1, math.ceil(c_out_per_group * per_channel / COLUMN_BLOCK_BYTES))
    blocks_per_group = min(blocks_per_group,
                           max(1, c_out_per_group * taps // BLOCK_MIN_ROWS))
    chunks = math.ceil(n / nb)
    if chunks * groups * blocks_per_group < n_threads:
        blocks_per_group = min(c_out_per_group, math.ceil(n_threads / (chunks * groups)))
    if chunks * groups * blocks_per_group < n_threads:
        return _images_per_gemm(n, per_image, c_out_per_group * taps, itemsize), 0
    return nb, math.ceil(c_out_per_group / blocks_per_group)


def choose_algorithm(input_shape, weight_shape, stride=1, dilation=1, groups=1):
    """The deconvolution algorithm ``algorithm="auto"`` runs for this configuration.

    ``"direct"`` where a group has at most 4 input channels and the kernel rows are long
    (kW >= 8): every GEMM method would multiply with K = C_in/groups of 1 to 4, while the
    direct kernel adds whole kernel rows into output rows held in L1 (FCN-32s x32: 4.8x
    PyTorch, 3.9x col2im at one thread; docs/performance.md). Short kernel rows give it
    short, strided inner loops, so there the GEMM methods stay.

    ``"winograd"`` where every phase has a 2x2 sub-kernel (k = 2*stride, dilation 1), both
    channel counts per group are 16 or more (smaller GEMMs leave the transforms dominant:
    DCGAN's RGB output layer runs 2.5x faster by col2im) and each phase has at least
    ``WINOGRAD_MIN_TILES`` 2x2 output tiles over the batch: with fewer, the 9 GEMMs per
    block are too narrow and the per-call weight transform too large a share (DCGAN-G2, 64
    tiles: col2im 1.1x faster; StyleGAN, 128: Winograd 1.2x faster than col2im, DCGAN-G4,
    1024: 1.4x, FCN-8s upscore2, 256: 1.4x).

    Both GEMM methods do the same FLOPs; they differ in the memory they stream. col2im writes
    and reads a column matrix of C_out/groups*kH*kW rows, phase one of C_in/groups*kH*kW rows
    and it runs sH*sW smaller GEMMs with only C_out/groups rows. Measured on the layer
    catalogue (docs/performance.md), phase wins clearly only for grouped layers with one or a
    few channels per group, where col2im's GEMM degenerates (K = C_in/groups) and its
    overlapping scatter dominates, and where the phases are few enough to keep each GEMM wide
    (FCN-8s x8: 1.8x faster at one thread, 1.2-1.9x at two); everywhere else col2im is as
    fast or faster.
    """
    stride = check_pair(stride, "stride", 1)
    dilation = check_pair(dilation, "dilation", 1)
    _check_shape(input_shape, "input_shape", (0, 1))
    c_in, c_out_per_group = _check_shape(weight_shape, "weight_shape", (1, 1))[:2]
    groups = check_int(groups, "groups", minimum=1)
    if c_in // groups <= 4 and weight_shape[3] >= _TAP_MAJOR_BELOW:
        return "direct"
    kh, kw = weight_shape[2:]
    if (dilation == (1, 1) and (kh, kw) == (2 * stride[0], 2 * stride[1])
            and c_in // groups >= 16 and c_out_per_group >= 16
            and input_shape[0] * math.ceil(input_shape[2] / 2) * math.ceil(input_shape[3] / 2)
            >= WINOGRAD_MIN_TILES):
        return "winograd"
    phases = stride[0] * stride[1]
    if groups > 1 and c_in // groups <= 4 and c_out_per_group <= 4 and phases <= 64:
        return "phase"
    return "col2im"


def deconv2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0, dilation=1,
                      groups=1, *, num_threads=None):
    """Gradients of :func:`deconv2d` with respect to x, weight and bias.

    grad_out (N, C_out, H_out, W_out) of the forward output's shape ->
    (grad_x like x, grad_weight like weight, grad_bias (C_out,)).

    Method: cols = im2col(grad_out) on the input's grid (one workspace shared by both GEMMs);
    grad_x = W cols (a convolution of grad_out with the same weight), grad_weight = x cols^T
    summed over images, grad_bias = grad_out summed over N, H, W.
    Cost: 4*C_in*(C_out/groups)*kH*kW*H*W FLOPs per image (two GEMMs) plus N*C_out*H_out*W_out
    additions; a workspace of C_out/groups*kH*kW*H*W values per batched image (one group at a time).
    """
    x, weight, stride, padding, dilation, groups, shape = _check_deconv_arguments(
        x, weight, stride, padding, output_padding, dilation, groups)
    grad_out = check_array(grad_out, "grad_out", 4)
    check_same_dtype(x, "x", grad_out, "grad_out")
    if grad_out.shape != shape:
        raise ValueError(
            f"grad_out must have the forward output's shape {shape}, got {grad_out.shape}"
        )
    n_threads = effective_n_threads(num_threads)
    n, c_out = shape[:2]
    c_in, c_out_per_group, kh, kw = weight.shape
    grad_x = np.empty(x.shape, dtype=x.dtype)
    grad_w = np.zeros(weight.shape, dtype=x.dtype)
    grad_b = np.zeros(c_out, dtype=x.dtype)
    if n == 0:
        return grad_x, grad_w, grad_b
    per_image = x.shape[2] * x.shape[3]
    nb = _images_per_gemm(n, per_image, c_out_per_group * kh * kw + c_in, x.itemsize)
    check_size((c_out_per_group * kh * kw, nb * per_image), "the column workspace")
    check_blas_dims(M=c_out_per_group * kh * kw, N=nb * per_image, K=c_in // groups)
    with single_threaded_blas():
        _conv.deconv2d_backward_col2im(contiguous(grad_out), contiguous(x), contiguous(weight),
                                       grad_x, grad_w, grad_b,
                                       stride[0], stride[1], padding[0], padding[1],
                                       dilation[0], dilation[1], groups, nb, n_threads)
    return grad_x, grad_w, grad_b


def bilinear_kernel(factor, channels, dtype=np.float32):
    """Caffe's BilinearFiller weights for a grouped deconvolution that upsamples by ``factor``.

    Returns (channels, 1, K, K) with ``K = 2*factor - factor % 2``,
    ``w[i, j] = (1 - |i/f - c|) * (1 - |j/f - c|)``, ``f = ceil(K/2)``,
    ``c = (2f - 1 - f % 2) / (2f)``. Use with ``stride=factor``,
    ``padding=ceil((factor - 1)/2)``, ``groups=channels``: the result equals bilinear
    ``align_corners=False`` upsampling except within ``factor`` pixels of the border.
    """
    factor = check_int(factor, "factor", minimum=1)
    channels = check_int(channels, "channels", minimum=1)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    size = 2 * factor - factor % 2
    check_size((channels, 1, size, size), "the kernel")
    f = math.ceil(size / 2)
    center = (2 * f - 1 - f % 2) / (2.0 * f)
    taps = 1 - np.abs(np.arange(size) / f - center)
    kernel = np.outer(taps, taps).astype(dtype)
    return np.ascontiguousarray(np.broadcast_to(kernel, (channels, 1, size, size)))
