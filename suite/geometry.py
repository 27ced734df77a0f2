"""Geometry: output sizes, the sub-pixel phase tables, the collapsed upsample + convolution
tables and the Winograd tap lists (pure Python over the shapes; no kernel runs here).

One home for these facts: the API validates with them, the planners size work from them,
the compiled kernels read the tables, and the cost model counts from them.

Phase tables are read-only ``(phases, 5)`` intp arrays, cached per geometry, whose columns
are named by :data:`PHASE_TAPS`, :data:`PHASE_FIRST`, :data:`PHASE_PAD`,
:data:`PHASE_COUNT` and :data:`PHASE_FIRST_OUT` (the compiled kernels read the same rows
through the ``PhaseRow`` struct of ``pyx/_phase_table.pxd``).
"""

import functools
import math

import numpy as np

from ._validation import check_int, check_pair, check_scale, check_size

__all__ = [
    "PHASE_COLUMNS",
    "collapsed_phase_table",
    "collapsed_winograd_taps",
    "conv2d_output_shape",
    "deconv2d_output_shape",
    "deconv_winograd_taps",
    "phase_table",
    "sliding_positions",
    "upsample_output_size",
    "winograd_applies",
    "winograd_tiles",
]

#: Columns of a phase table row: the taps of the phase's sub-kernel along the axis, the
#: first kernel tap, the padding of the stride-1 correlation, the number of outputs in the
#: phase, and the first output index of the phase.
PHASE_COLUMNS = ("taps", "first", "pad", "count", "first_out")
PHASE_TAPS, PHASE_FIRST, PHASE_PAD, PHASE_COUNT, PHASE_FIRST_OUT = range(len(PHASE_COLUMNS))


def check_geometry(stride, padding, dilation):
    """(stride, padding, dilation) as validated (height, width) pairs."""
    return (
        check_pair(stride, "stride", 1),
        check_pair(padding, "padding", 0),
        check_pair(dilation, "dilation", 1),
    )


def sliding_positions(size, kernel, stride, padding, dilation, what):
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


def check_shape(shape, name, minimum):
    """A 4-tuple of ints: the first two at least minimum[0], the last two minimum[1]."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 4:
        raise ValueError(f"{name} must be a 4-tuple, got {shape!r}")
    return check_pair(tuple(shape[:2]), name, minimum[0]) + check_pair(tuple(shape[2:]), name,
                                                                       minimum[1])


def conv2d_output_shape(input_shape, weight_shape, stride=1, padding=0, dilation=1):
    """(N, C_out, H_out, W_out) of :func:`conv2d` for these shapes."""
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    n, _, h, w = check_shape(input_shape, "input_shape", (0, 1))
    c_out, _, kh, kw = check_shape(weight_shape, "weight_shape", (1, 1))
    return (
        n,
        c_out,
        sliding_positions(h, kh, stride[0], padding[0], dilation[0], "input height"),
        sliding_positions(w, kw, stride[1], padding[1], dilation[1], "input width"),
    )


def check_output_padding(output_padding, stride, dilation):
    """A transposed convolution's output padding as a validated pair, smaller than the stride
    or the dilation (validated pairs) along each axis."""
    output_padding = check_pair(output_padding, "output_padding", 0)
    for axis, name in enumerate(("height", "width")):
        if not (output_padding[axis] < stride[axis] or output_padding[axis] < dilation[axis]):
            raise ValueError(
                f"output_padding must be smaller than the stride or the dilation in each "
                f"dimension, got output_padding={output_padding}, stride={stride}, "
                f"dilation={dilation} ({name})"
            )
    return output_padding


def deconv2d_output_shape(input_shape, weight_shape, stride=1, padding=0, output_padding=0,
                          dilation=1, groups=1):
    """(N, C_out, H_out, W_out) of :func:`deconv2d`:
    ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + opH + 1`` (as ``torch.nn.ConvTranspose2d``)."""
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    output_padding = check_output_padding(output_padding, stride, dilation)
    n, _, h, w = check_shape(input_shape, "input_shape", (0, 1))
    _, c_out_per_group, kh, kw = check_shape(weight_shape, "weight_shape", (1, 1))
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


@functools.lru_cache(maxsize=256)
def phase_table(in_size, out_size, kernel, stride, padding, dilation):
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



def winograd_applies(phases_h, phases_w, dil_h, dil_w):
    """True if every phase of a phase table pair has a 2x2 sub-kernel of dilation 1."""
    return (dil_h == 1 and dil_w == 1 and bool(np.all(phases_h[:, PHASE_TAPS] == 2))
            and bool(np.all(phases_w[:, PHASE_TAPS] == 2)))


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
    pairs of phase_table's. Cached per geometry; read-only."""
    (phases_h, step_h, dil_h), (phases_w, step_w, dil_w) = (
        phase_table(*axis) for axis in zip(in_size, out_size, kernel, stride, padding,
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
                    i = int(phases_h[rh, PHASE_FIRST]) + (1 - a) * step_h
                    j = int(phases_w[rw, PHASE_FIRST]) + (1 - b) * step_w
                    tap_map[rh * sw + rw, 2 * a + b, i * kw + j] = True
    taps = tap_lists(tap_map)
    taps.flags.writeable = False
    return taps



@functools.lru_cache(maxsize=256)
def collapsed_phase_table(out_size, scale, kernel, padding, dilation):
    """Per-phase geometry of nearest upsampling by an integer ``scale`` followed by a
    stride-1 convolution along one axis, and where each kernel tap lands.

    Output index o = scale*q + r (phase r) reads upsampled index o - padding + i*dilation,
    i.e. input index q + (r - padding + i*dilation) // scale: the kernel's taps land on a few
    consecutive input offsets, and taps landing on the same offset can be summed once (the
    collapsed kernel). Zero padding of the upsampled map is zero padding of the input.

    Returns rows (taps, 0, pad, count, first_out) for the phase correlation kernel, and a
    (scale x kernel) array: the collapsed tap that kernel tap i becomes in phase r. Both are
    cached per geometry and read-only.
    """
    rows = []
    tap = np.empty((scale, kernel), dtype=np.intp)
    for r in range(scale):
        offsets = [(r - padding + i * dilation) // scale for i in range(kernel)]
        low = offsets[0]
        taps = offsets[-1] - low + 1
        count = 0 if r >= out_size else (out_size - r + scale - 1) // scale
        rows.append((taps, 0, -low, count, r))
        tap[r] = np.array(offsets) - low
    table = np.array(rows, dtype=np.intp).reshape(scale, 5)
    for array in (table, tap):      # cached: shared by every call with this geometry
        array.flags.writeable = False
    return table, tap


@functools.lru_cache(maxsize=256)
def collapsed_winograd_taps(out_h, out_w, scale_h, scale_w, kh, kw, padding, dilation):
    """(phases, 4, kH*kW): the convolution taps each entry of each phase's 2x2 collapsed
    kernel sums (-1 padded, see tap_lists), or None unless every phase has two
    taps per axis. Cached per geometry; read-only."""
    phases_h, tap_h = collapsed_phase_table(out_h, scale_h, kh, padding[0], dilation[0])
    phases_w, tap_w = collapsed_phase_table(out_w, scale_w, kw, padding[1], dilation[1])
    if not winograd_applies(phases_h, phases_w, 1, 1):
        return None
    sh, sw = len(phases_h), len(phases_w)
    tap_map = np.zeros((sh * sw, 4, kh * kw), dtype=bool)
    for rh in range(sh):
        for rw in range(sw):
            for i in range(kh):
                for j in range(kw):
                    tap_map[rh * sw + rw, 2 * tap_h[rh, i] + tap_w[rw, j], i * kw + j] = True
    taps = tap_lists(tap_map)
    taps.flags.writeable = False
    return taps


def upsample_output_size(input_size, size=None, scale_factor=None):
    """(H_out, W_out) and the per-axis scale factors (None when ``size`` was given).

    ``input_size`` is (H, W); exactly one of ``size`` and ``scale_factor`` must be given.
    """
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "give exactly one of size and scale_factor, got "
            + ("both" if size is not None else "neither")
        )
    if not isinstance(input_size, (tuple, list)) or len(input_size) != 2:
        raise ValueError(f"input_size must be a pair (H, W), got {input_size!r}")
    input_size = check_pair(tuple(input_size), "input_size", 1)
    if size is not None:
        out = check_pair(size, "size", 1)
        return out, (None, None)
    scales = check_scale(scale_factor, "scale_factor")
    out = []
    for length, scale in zip(input_size, scales):
        value = math.floor(length * scale)
        if value < 1:
            raise ValueError(
                f"scale_factor={scale_factor!r} turns an input of size {tuple(input_size)} "
                f"into an empty output; the output size floor(in * scale_factor) must be >= 1"
            )
        out.append(value)
    check_size(out, "the output")
    return tuple(out), scales



def winograd_tiles(table):
    """2x2 output tiles along one axis of a phase table: ceil(count/2) per phase."""
    return int(sum((int(c) + 1) // 2 for c in table[:, PHASE_COUNT]))
