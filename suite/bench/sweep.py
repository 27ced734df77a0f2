"""Layers the suite was never tuned on: a deterministic draw of realistic configurations of
transposed convolution, upsampling and upsample + convolution.

The catalogue (``suite.bench.catalogue``) holds the eleven layers every optimization was
measured on; a speed-up that holds only there says little. :func:`draw` ``(n, seed)`` returns
``n`` configurations drawn by a ``numpy.random.Generator`` seeded with ``seed`` (the same
list for the same seed on every machine and version; the first ``n`` of a longer draw are the
draw of ``n``), each with a readable name such as ``deconv k5s3p1op2 g4 c96->48 17x23 n3``.
``python -m suite compare --sweep N --seed S`` times them against the peers, and
``benchmarks/bench_sweep.py`` on a fixed seed.

What is drawn (each kind's share in :data:`KIND_SHARES`):

* **deconv**: a transposed convolution. Stride 1 to 4 per axis (2 most often), kernel 1 to 9
  per axis, mostly at least the stride (s, s+1, 2s-1, 2s, 2s+1, 3s) and in a fifth of the
  strided axes smaller than it; dilation 2 or 3 on one axis in seven; padding and output
  padding either the pair that makes the output exactly ``stride x`` the input (where one
  exists) or any padding up to half the dilated kernel with any valid output padding
  (``output_padding < max(stride, dilation)``); groups 1, depthwise (groups = channels), or
  2 to 32 with several channels per group; one kernel, stride and geometry in seven
  rectangular.
* **upsample**: nearest or bilinear (``align_corners=False``) at an integer scale (2, 3, 4, 8)
  or a fractional one (1.25, 1.5, 1.75, 2.5, 3.5; the map is rounded up so that the scaled
  size is a whole number, where every peer's definition of the scale agrees).
* **upsample_conv**: nearest or bilinear upsampling by 2, 3, 4, 1.5 or 2.5 followed by a
  1x1, 3x3 or 5x5 convolution with "same" padding (``suite.upsample_conv2d``).

Channels 1 to 1024 (two in three a common count such as 64 or 96, else any whole number;
output channels often half or equal the input's), maps 4x4 to 256x256 (square two times in
three), batch 1 to 32 (1 half the time). Each configuration is bounded: at most
:data:`MAX_MACS` multiply-adds and :data:`MAX_BYTES` bytes of float32 data (input, weights,
output and the largest intermediate a peer makes: one image's column matrix of a
col2im-style transposed convolution, the upsampled map of upsample + convolution); a draw
above the bounds is shrunk (batch, then map, then channels). The bounds keep one
configuration to tens of milliseconds on one core for most peers, so a sweep of 40 at one and
two threads runs in a few minutes on two cores.

The module imports numpy and suite's public functions only: in a history campaign asv loads
it by path beside an older build (``benchmarks/common.py``), and the draw must not depend on
the build.
"""

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

import suite

__all__ = ["KINDS", "MAX_BYTES", "MAX_MACS", "SweepConfig", "draw"]

KINDS = ("deconv", "upsample", "upsample_conv")
#: The share of each kind in a draw.
KIND_SHARES = (0.6, 0.2, 0.2)

#: Bounds of one configuration: multiply-adds of the definition, and bytes of float32 data
#: (input, weights, output and the largest intermediate a peer makes).
MAX_MACS = 200_000_000
MAX_BYTES = 96 * 2 ** 20

STRIDES, STRIDE_SHARES = (1, 2, 3, 4), (0.15, 0.5, 0.2, 0.15)
MAX_KERNEL = 9
#: Channel counts common in real networks (two draws in three pick one of these).
COMMON_CHANNELS = (3, 8, 16, 21, 24, 32, 48, 56, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
GROUPS = (2, 4, 8, 16, 32)
INTEGER_SCALES, INTEGER_SCALE_SHARES = (2, 3, 4, 8), (0.6, 0.2, 0.15, 0.05)
#: Fractional scales: dyadic, so ``H * scale`` is exact in floating point, and
#: (numerator, denominator) so the map can be rounded to a whole scaled size.
FRACTIONAL_SCALES = {1.25: (5, 4), 1.5: (3, 2), 1.75: (7, 4), 2.5: (5, 2), 3.5: (7, 2)}
FUSED_SCALES, FUSED_SCALE_SHARES = (2, 3, 4, 1.5, 2.5), (0.6, 0.1, 0.1, 0.1, 0.1)
FUSED_KERNELS, FUSED_KERNEL_SHARES = (1, 3, 5), (0.15, 0.7, 0.15)
MIN_MAP, MAX_MAP, MAX_FUSED_MAP = 4, 256, 128
MAX_CHANNELS, MAX_BATCH = 1024, 32


def _pair_text(values):
    a, b = values
    return f"{a}" if a == b else f"{a}x{b}"


@dataclass(frozen=True)
class SweepConfig:
    """One drawn configuration (NCHW). ``kind`` is one of :data:`KINDS`.

    deconv: ``kernel``, ``stride``, ``padding``, ``output_padding``, ``dilation`` (pairs),
    ``groups``; weight ``(C_in, C_out/groups, kH, kW)`` and a bias. upsample: ``mode`` and
    ``scale``. upsample_conv: ``mode``, ``scale``, ``kernel`` (square) and ``padding``
    ("same"), weight ``(C_out, C_in, k, k)`` and a bias.
    """

    kind: str
    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    output_padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    mode: str = ""
    scale: float = 0.0

    @property
    def name(self):
        """e.g. ``deconv k5s3p1op2 g4 c96->48 17x23 n3``, ``bilinear x1.5 c64 32x32 n1``,
        ``nearest x2 + conv3x3 c128->64 20x20 n2``."""
        where = f"{self.height}x{self.width} n{self.batch}"
        if self.kind == "upsample":
            return f"{self.mode} x{self.scale:g} c{self.in_channels} {where}"
        channels = f"c{self.in_channels}->{self.out_channels}"
        if self.kind == "upsample_conv":
            k = self.kernel[0]
            return f"{self.mode} x{self.scale:g} + conv{k}x{k} {channels} {where}"
        geometry = (f"k{_pair_text(self.kernel)}s{_pair_text(self.stride)}"
                    f"p{_pair_text(self.padding)}")
        if any(self.output_padding):
            geometry += f"op{_pair_text(self.output_padding)}"
        if self.dilation != (1, 1):
            geometry += f"d{_pair_text(self.dilation)}"
        groups = f" g{self.groups}" if self.groups > 1 else ""
        return f"deconv {geometry}{groups} {channels} {where}"

    # -- shapes --------------------------------------------------------------------------

    @property
    def input_shape(self):
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self):
        """deconv: (C_in, C_out/groups, kH, kW); upsample_conv: (C_out, C_in, k, k); None
        for a bare upsample."""
        if self.kind == "deconv":
            return (self.in_channels, self.out_channels // self.groups) + self.kernel
        if self.kind == "upsample_conv":
            return (self.out_channels, self.in_channels) + self.kernel
        return None

    @property
    def upsampled_size(self):
        """(H*scale, W*scale), whole numbers by construction (upsample kinds)."""
        return (int(self.height * self.scale), int(self.width * self.scale))

    @property
    def output_shape(self):
        if self.kind == "deconv":
            return suite.deconv2d_output_shape(self.input_shape, self.weight_shape,
                                               **self.deconv_kwargs)
        channels = self.in_channels if self.kind == "upsample" else self.out_channels
        return (self.batch, channels) + self.upsampled_size

    @property
    def deconv_kwargs(self):
        """Keyword arguments of ``suite.deconv2d`` / ``F.conv_transpose2d`` (deconv)."""
        return dict(stride=self.stride, padding=self.padding,
                    output_padding=self.output_padding, dilation=self.dilation,
                    groups=self.groups)

    @property
    def macs(self):
        """Multiply-adds of the definition (for upsample_conv, the convolution's)."""
        n, c_in, h, w = self.input_shape
        if self.kind == "deconv":
            return n * c_in * (self.out_channels // self.groups) * math.prod(self.kernel) * h * w
        if self.kind == "upsample_conv":
            return (n * self.out_channels * c_in * math.prod(self.kernel)
                    * math.prod(self.upsampled_size))
        return 0

    @property
    def nbytes(self):
        """float32 bytes of input, weights, output and the largest intermediate a peer makes
        (deconv: one image's column matrix; upsample_conv: the upsampled map)."""
        values = math.prod(self.input_shape) + math.prod(self.output_shape)
        if self.kind == "deconv":
            _, c_out_g, kh, kw = self.weight_shape
            values += math.prod(self.weight_shape) + c_out_g * kh * kw * self.height * self.width
        elif self.kind == "upsample_conv":
            values += (math.prod(self.weight_shape)
                       + self.batch * self.in_channels * math.prod(self.upsampled_size))
        return 4 * values

    @property
    def cost_operation(self):
        """``(operation, arguments)``: the ``suite.cost.<operation>_cost`` that prices this
        configuration and its arguments (shapes and geometry; bias on; bilinear
        ``align_corners=False``)."""
        arguments = dict(input_shape=self.input_shape)
        if self.kind == "deconv":
            return "deconv2d", dict(arguments, weight_shape=self.weight_shape,
                                    **self.deconv_kwargs, bias=True)
        arguments.update(scale_factor=self.scale, mode=self.mode,
                         align_corners=False if self.mode == "bilinear" else None)
        if self.kind == "upsample":
            return "upsample", arguments
        return "upsample_conv2d", dict(arguments, weight_shape=self.weight_shape,
                                       padding=self.padding, bias=True)

    def within_bounds(self):
        return self.macs <= MAX_MACS and self.nbytes <= MAX_BYTES

    # -- data and the kernel -------------------------------------------------------------

    def make_inputs(self, dtype=np.float32, seed=0):
        """Deterministic ``(x, weight, bias)`` (weight and bias None for a bare upsample): x
        standard normal; weight and bias standard normal over ``sqrt(fan_in)``, the number
        of products summed into one output value (deconv: ``C_in/groups * kH*kW /
        (sH*sW)``, at least 1; convolution: ``C_in * k*k``), so outputs have about unit
        variance. Drawn in float64 and rounded to ``dtype``."""
        rng = np.random.default_rng([int(seed), zlib.crc32(self.name.encode())])
        x = rng.standard_normal(self.input_shape).astype(dtype)
        if self.kind == "upsample":
            return x, None, None
        taps = math.prod(self.kernel)
        fan_in = (max(1.0, self.in_channels / self.groups * taps / math.prod(self.stride))
                  if self.kind == "deconv" else self.in_channels * taps)
        scale = 1.0 / math.sqrt(fan_in)
        weight = (rng.standard_normal(self.weight_shape) * scale).astype(dtype)
        bias = (rng.standard_normal(self.out_channels) * scale).astype(dtype)
        return x, weight, bias

    def suite_call(self, x, weight, bias, num_threads):
        """The suite function of this configuration on the data, as a callable. Resizes
        write into an ``out=`` allocated here, once, as the catalogue's resize sections time
        them and as OpenCV's ``dst=`` is given (a fresh output of tens of MB costs more in
        page faults than the resize)."""
        if self.kind == "deconv":
            return lambda: suite.deconv2d(x, weight, bias, **self.deconv_kwargs,
                                          num_threads=num_threads)
        if self.kind == "upsample":
            out = np.empty(self.output_shape, dtype=x.dtype)
            return lambda: suite.upsample(x, scale_factor=self.scale, mode=self.mode,
                                          out=out, num_threads=num_threads)
        return lambda: suite.upsample_conv2d(x, weight, bias, scale_factor=self.scale,
                                             mode=self.mode, padding=self.padding,
                                             num_threads=num_threads)


# ---------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------

def _log_uniform(rng, low, high):
    """A whole number in [low, high], uniform in its logarithm."""
    return int(min(high, max(low, round(math.exp(rng.uniform(math.log(low),
                                                             math.log(high + 0.5)))))))


def _channels(rng, high=MAX_CHANNELS):
    common = [c for c in COMMON_CHANNELS if c <= high]
    if common and rng.random() < 2 / 3:
        return int(common[rng.integers(len(common))])
    return _log_uniform(rng, 1, high)


def _out_channels(rng, c_in, high=MAX_CHANNELS):
    roll = rng.random()
    if roll < 0.4:
        return max(1, c_in // 2)
    if roll < 0.65:
        return c_in
    return _channels(rng, high)


def _map(rng, high=MAX_MAP):
    h = _log_uniform(rng, MIN_MAP, high)
    w = h if rng.random() < 2 / 3 else _log_uniform(rng, MIN_MAP, high)
    return h, w


def _batch(rng):
    return 1 if rng.random() < 0.5 else _log_uniform(rng, 2, MAX_BATCH)


def _choice(rng, values, shares):
    return values[int(rng.choice(len(values), p=shares))]


def _deconv_axis(rng, stride):
    """(kernel, dilation, padding, output padding) of one axis with this stride."""
    if stride > 1 and rng.random() < 0.2:
        kernel = int(rng.integers(1, stride))                       # smaller than the stride
    else:
        candidates = sorted({k for k in (stride, stride + 1, 2 * stride - 1, 2 * stride,
                                         2 * stride + 1, 3 * stride) if 1 <= k <= MAX_KERNEL})
        kernel = int(candidates[rng.integers(len(candidates))])
    dilation = int(rng.integers(2, 4)) if kernel > 1 and rng.random() < 1 / 7 else 1
    reach = dilation * (kernel - 1)                                # the dilated kernel - 1
    op_limit = max(stride, dilation)                               # output_padding < this
    # the output is exactly stride x the input when 2*p - op == reach + 1 - stride
    exact = [(p, op) for op in range(op_limit) for p in range(reach + 1)
             if 2 * p - op == reach + 1 - stride]
    if exact and rng.random() < 0.5:
        padding, output_padding = exact[rng.integers(len(exact))]
    else:
        padding = int(rng.integers(0, reach // 2 + 1))
        output_padding = 0 if rng.random() < 0.5 else int(rng.integers(0, op_limit))
    return kernel, dilation, padding, output_padding


def _draw_deconv(rng):
    stride_h = _choice(rng, STRIDES, STRIDE_SHARES)
    axes = [_deconv_axis(rng, stride_h)]
    stride = (stride_h, stride_h)
    if rng.random() < 1 / 7:                                       # a rectangular geometry
        stride = (stride_h, _choice(rng, STRIDES, STRIDE_SHARES))
        axes.append(_deconv_axis(rng, stride[1]))
    else:
        axes.append(axes[0])
    kernel, dilation, padding, output_padding = (tuple(int(a[i]) for a in axes)
                                                  for i in range(4))
    roll = rng.random()
    if roll < 0.55:
        groups, c_in = 1, _channels(rng)
        c_out = _out_channels(rng, c_in)
    elif roll < 0.75:                                              # depthwise
        groups = c_in = c_out = _channels(rng)
    else:
        groups = int(GROUPS[rng.integers(len(GROUPS))])
        per_group = _channels(rng, MAX_CHANNELS // groups)
        c_in = groups * per_group
        c_out = groups * _out_channels(rng, per_group, MAX_CHANNELS // groups)
    h, w = _map(rng)
    return SweepConfig("deconv", _batch(rng), c_in, c_out, h, w, kernel=kernel, stride=stride,
                       padding=padding, output_padding=output_padding, dilation=dilation,
                       groups=groups)


def _scaled_map(rng, scale, high):
    """A map whose size times ``scale`` is a whole number (rounded up to the denominator)."""
    h, w = _map(rng, high)
    step = FRACTIONAL_SCALES.get(scale, (None, 1))[1]
    return step * math.ceil(h / step), step * math.ceil(w / step)


def _draw_upsample(rng):
    mode = "nearest" if rng.random() < 0.5 else "bilinear"
    if rng.random() < 0.65:
        scale = _choice(rng, INTEGER_SCALES, INTEGER_SCALE_SHARES)
    else:
        fractions = tuple(FRACTIONAL_SCALES)
        scale = fractions[rng.integers(len(fractions))]
    c = _channels(rng)
    h, w = _scaled_map(rng, scale, MAX_MAP)
    return SweepConfig("upsample", _batch(rng), c, c, h, w, mode=mode, scale=scale)


def _draw_upsample_conv(rng):
    mode = "nearest" if rng.random() < 0.7 else "bilinear"
    scale = _choice(rng, FUSED_SCALES, FUSED_SCALE_SHARES)
    k = _choice(rng, FUSED_KERNELS, FUSED_KERNEL_SHARES)
    c_in = _channels(rng)
    c_out = _out_channels(rng, c_in)
    h, w = _scaled_map(rng, scale, MAX_FUSED_MAP)
    return SweepConfig("upsample_conv", _batch(rng), c_in, c_out, h, w, kernel=(k, k),
                       padding=(k // 2, k // 2), mode=mode, scale=scale)


_DRAW = {"deconv": _draw_deconv, "upsample": _draw_upsample,
         "upsample_conv": _draw_upsample_conv}


def _shrink(config):
    """``config`` made smaller until it is within the bounds: batch halved first, then the map
    by a quarter per axis (kept a whole number of scale steps and at least 4), then the
    channels halved (per group; a depthwise layer's groups with them)."""
    while not config.within_bounds():
        if config.batch > 1:
            config = replace(config, batch=config.batch // 2)
            continue
        step = FRACTIONAL_SCALES.get(config.scale, (None, 1))[1]
        h, w = (max(MIN_MAP, step * math.ceil(v * 0.75 / step))
                for v in (config.height, config.width))
        if (h, w) != (config.height, config.width):
            config = replace(config, height=h, width=w)
            continue
        g = config.groups
        depthwise = g > 1 and config.in_channels == g
        per_in, per_out = config.in_channels // g, config.out_channels // g
        if depthwise:
            g = max(1, g // 2)
        else:
            per_in, per_out = max(1, per_in // 2), max(1, per_out // 2)
        config = replace(config, groups=g, in_channels=g * per_in, out_channels=g * per_out)
    return config


def draw(n, seed):
    """``n`` distinct configurations (:class:`SweepConfig`) for ``seed``: the same on every
    machine and version; ``draw(m, seed)`` is the start of ``draw(n, seed)`` for m < n."""
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(int(seed))
    configs, names = [], set()
    while len(configs) < n:
        kind = _choice(rng, KINDS, KIND_SHARES)
        config = _shrink(_DRAW[kind](rng))
        if config.name not in names:
            names.add(config.name)
            configs.append(config)
    return tuple(configs)
