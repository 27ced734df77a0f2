"""The layer catalogue of docs/design.md as data: one definition for the benchmarks, the
reports and the tests.

Each :class:`Layer` is one enlarging layer of a real network: its transposed convolution
(``N x C_in -> C_out at H x W``, kernel ``k``, stride ``s``, padding ``p``, output padding
``op``, groups) and the upsample counterparts that produce the same output shape from the
same input, so deconvolution and upsampling are compared like for like:

* ``"nearest"`` / ``"bilinear"``: ``upsample(x, scale_factor=s, mode=...)`` alone (only where
  ``C_in == C_out``);
* ``"nearest+conv3x3"`` / ``"bilinear+conv3x3"``: the upsample followed by a 3x3 convolution,
  padding 1, ``C_in -> C_out`` (weight :attr:`Layer.conv_after_upsample_weight_shape`);
* ``"nearest+add"``: FPN's top-down step, ``upsample(x) + skip`` with ``skip`` of the output
  shape.

Deconvolution output: ``H_out = (H - 1)*s - 2*p + (k - 1) + op + 1`` (dilation 1); every layer
with both checks ``H_out == H * scale_factor`` at import time.

Where the docs/design.md table is loose, the deconvolution geometry is kept and the choice is
recorded here:

* ``fcn8s-up2`` is listed without groups: it is a full 21 -> 21 deconvolution, as in FCN's
  Caffe nets, initialised like FCN's ``surgery.interp``: the bilinear kernel on the channel
  diagonal (``w[c, c] = bilinear``), zeros elsewhere. ``fcn32s-up`` and ``fcn8s-up8`` are
  depthwise (groups 21) and take :func:`suite.bilinear_kernel` directly. FCN's deconvolutions
  have no bias, so :meth:`Layer.make_inputs` returns ``bias=None`` for these three.
* ``fsrcnn-x3`` names "bilinear x3" as its counterpart, but its deconvolution maps 56 channels
  to 1, so a bare bilinear x3 of the 56-channel map has the right height and width only; the
  shape-matching counterpart is bilinear x3 + 3x3 conv 56 -> 1 (FSRCNN's paper compares with
  bicubic interpolation of the 1-channel low-resolution image, a different input).
* ``dcgan-g4`` / ``dcgan-out`` say "x2 + 3x3 conv": both nearest and bilinear are listed, as
  for ``dcgan-g2``.
* ``stylegan-up`` *is* nearest x2 + 3x3 conv pad 1, collapsed into one k4 s2 p1 transposed
  convolution (docs/design.md, "Semantics"); its counterpart is the uncollapsed pair.
* ``yolov3-up``'s second shape ("and 1 x 128 at 26x26") is its own entry, ``yolov3-up2``.
* ``fpn-p4`` and the YOLOv3 entries have no deconvolution: ``kernel``, ``stride`` and
  ``padding`` are None, ``has_deconv`` is False, ``weight_shape`` is None and
  ``output_shape`` is the upsample's.
"""

import math
import re
import zlib
from dataclasses import dataclass

import numpy as np

import suite

__all__ = [
    "COUNTERPARTS",
    "DECONV_LAYERS",
    "LAYERS",
    "Layer",
    "get_layer",
    "select_layers",
]

#: The upsample counterparts a layer may name (see the module docstring).
COUNTERPARTS = ("nearest", "bilinear", "nearest+conv3x3", "bilinear+conv3x3", "nearest+add")


@dataclass(frozen=True)
class Layer:
    """One catalogue entry: a deconvolution and/or its upsample counterparts (NCHW).

    ``kernel``, ``stride`` and ``padding`` are None for layers without a deconvolution.
    ``bilinear_filler``: the deconvolution weights are Caffe's BilinearFiller
    (:func:`suite.bilinear_kernel`) instead of random.
    """

    name: str
    description: str
    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: int | None
    stride: int | None
    padding: int | None
    output_padding: int = 0
    groups: int = 1
    bilinear_filler: bool = False
    scale_factor: int = 2
    counterparts: tuple = ()

    def __post_init__(self):
        for kind in self.counterparts:
            if kind not in COUNTERPARTS:
                raise ValueError(f"{self.name}: unknown counterpart {kind!r}; "
                                 f"expected one of {COUNTERPARTS}")
        if not self.has_deconv and not self.counterparts:
            raise ValueError(f"{self.name}: neither a deconvolution nor a counterpart")
        geometry = (self.kernel, self.stride, self.padding)
        if any(v is None for v in geometry) and not all(v is None for v in geometry):
            raise ValueError(f"{self.name}: kernel, stride and padding go together")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{self.name}: groups={self.groups} must divide the channels")

    # -- shapes ---------------------------------------------------------------------------

    @property
    def has_deconv(self):
        """True if the layer has a transposed convolution (False: upsample only)."""
        return self.kernel is not None

    @property
    def input_shape(self):
        """(N, C_in, H, W)."""
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self):
        """Deconvolution weight (C_in, C_out // groups, k, k), or None without one."""
        if not self.has_deconv:
            return None
        return (self.in_channels, self.out_channels // self.groups, self.kernel, self.kernel)

    @property
    def bias_shape(self):
        """(C_out,), or None where the layer has no bias (FCN's bilinear deconvolutions)."""
        if not self.has_deconv or self.bilinear_filler:
            return None
        return (self.out_channels,)

    @property
    def deconv_kwargs(self):
        """Keyword arguments of ``suite.deconv2d`` / ``torch.nn.functional.conv_transpose2d``."""
        if not self.has_deconv:
            return None
        return dict(stride=self.stride, padding=self.padding,
                    output_padding=self.output_padding, groups=self.groups)

    @property
    def output_shape(self):
        """(N, C_out, H_out, W_out) of the deconvolution, else of the upsample counterpart."""
        if not self.has_deconv:
            return self.counterpart_output_shape(self.counterparts[0])
        return suite.deconv2d_output_shape(self.input_shape, self.weight_shape,
                                           **self.deconv_kwargs)

    @property
    def upsample_output_shape(self):
        """(N, C_in, H*s, W*s): the bare upsample's output (channels unchanged)."""
        return (self.batch, self.in_channels, self.height * self.scale_factor,
                self.width * self.scale_factor)

    @property
    def conv_after_upsample_weight_shape(self):
        """(C_out, C_in, 3, 3): the 3x3 convolution (padding 1) of "upsample + 3x3 conv"."""
        return (self.out_channels, self.in_channels, 3, 3)

    def counterpart_output_shape(self, kind):
        """Output shape of counterpart ``kind`` (one of :data:`COUNTERPARTS`)."""
        if kind not in COUNTERPARTS:
            raise ValueError(f"unknown counterpart {kind!r}; expected one of {COUNTERPARTS}")
        n, c, h, w = self.upsample_output_shape
        if kind.endswith("+conv3x3"):
            c = self.out_channels          # 3x3, padding 1, stride 1 keeps H and W
        return (n, c, h, w)

    # -- the operations, as the cost model and the kernels take them ----------------------

    @property
    def deconv_arguments(self):
        """Keyword arguments of ``suite.cost.deconv2d_cost`` (shapes, geometry, bias), or None
        without a deconvolution."""
        if not self.has_deconv:
            return None
        return dict(input_shape=self.input_shape, weight_shape=self.weight_shape,
                    stride=self.stride, padding=self.padding,
                    output_padding=self.output_padding, groups=self.groups,
                    bias=self.bias_shape is not None)

    def counterpart_operation(self, kind):
        """``(operation, arguments)`` of counterpart ``kind``: the suite operation that
        computes it (``"upsample"``, ``"upsample_conv2d"``, ``"upsample_add"``) and its
        shapes and geometry, named as ``suite.cost.<operation>_cost`` takes them. Bilinear is
        ``align_corners=False`` (PyTorch's default); "+conv3x3" is 3x3, padding 1, with bias.
        The one definition of what a counterpart is, for the benchmarks, the cost joins and
        the report. Besides :data:`COUNTERPARTS`, any ``<mode>``, ``<mode>+conv3x3`` or
        ``<mode>+add`` of suite's upsample modes (the fused benchmarks' bilinear+add)."""
        mode, _, after = kind.partition("+")
        if mode not in suite.UPSAMPLE_MODES or after not in ("", "conv3x3", "add"):
            raise ValueError(f"unknown counterpart {kind!r}; expected one of {COUNTERPARTS} "
                             f"or another upsample mode of suite.UPSAMPLE_MODES with them")
        arguments = dict(input_shape=self.input_shape, mode=mode,
                         align_corners=False if mode == "bilinear" else None)
        if kind.endswith("+conv3x3"):
            return "upsample_conv2d", dict(arguments,
                                           weight_shape=self.conv_after_upsample_weight_shape,
                                           scale_factor=self.scale_factor, padding=1, bias=True)
        if kind.endswith("+add"):
            return "upsample_add", dict(arguments, skip_shape=self.upsample_output_shape)
        return "upsample", dict(arguments, scale_factor=self.scale_factor)

    # -- cost -----------------------------------------------------------------------------

    @property
    def deconv_flops(self):
        """Useful FLOPs of the deconvolution (2 per multiply-add), 0 without one."""
        if not self.has_deconv:
            return 0
        return (2 * self.batch * self.in_channels * (self.out_channels // self.groups)
                * self.kernel ** 2 * self.height * self.width)

    @property
    def parameters(self):
        """Deconvolution weights + bias (0 without a deconvolution)."""
        if not self.has_deconv:
            return 0
        return math.prod(self.weight_shape) + (self.out_channels if self.bias_shape else 0)

    # -- data -----------------------------------------------------------------------------

    def _rng(self, seed):
        return np.random.default_rng([int(seed), zlib.crc32(self.name.encode())])

    def make_inputs(self, dtype=np.float32, seed=0):
        """Deterministic ``(x, weight, bias)`` for the deconvolution (C-contiguous, ``dtype``).

        x is standard normal; weight and bias are standard normal times ``1/sqrt(fan_in)``,
        ``fan_in = C_in/groups * k^2 / s^2`` (the average number of products summed into
        one output value), so the output has roughly unit variance. Bilinear-filler layers
        get :func:`suite.bilinear_kernel` weights (on the channel diagonal when groups == 1)
        and ``bias=None``. Layers without a deconvolution return ``(x, None, None)``.
        The values are drawn in float64 and rounded, so float32 and float64 inputs of the
        same seed agree to float32 precision; each layer has its own stream.
        """
        dtype = _check_dtype(dtype)
        rng = self._rng(seed)
        x = rng.standard_normal(self.input_shape).astype(dtype)
        if not self.has_deconv:
            return x, None, None
        if self.bilinear_filler:
            return x, self._bilinear_weight(dtype), None
        fan_in = max(1.0, self.in_channels / self.groups * self.kernel ** 2 / self.stride ** 2)
        scale = 1.0 / math.sqrt(fan_in)
        weight = (rng.standard_normal(self.weight_shape) * scale).astype(dtype)
        bias = (rng.standard_normal(self.out_channels) * scale).astype(dtype)
        return x, weight, bias

    def _bilinear_weight(self, dtype):
        kernel = suite.bilinear_kernel(self.stride, self.out_channels, dtype=dtype)
        if kernel.shape[2:] != (self.kernel, self.kernel):
            raise ValueError(f"{self.name}: bilinear kernel for stride {self.stride} is "
                             f"{kernel.shape[2]}x{kernel.shape[3]}, not k{self.kernel}")
        if self.groups == self.in_channels == self.out_channels:
            return kernel
        if self.groups == 1 and self.in_channels == self.out_channels:
            weight = np.zeros(self.weight_shape, dtype=dtype)
            idx = np.arange(self.in_channels)
            weight[idx, idx] = kernel[:, 0]
            return weight
        raise ValueError(f"{self.name}: a bilinear filler needs C_in == C_out and groups "
                         f"1 or C_in")

    def make_counterpart_inputs(self, dtype=np.float32, seed=0):
        """Deterministic data of the counterparts: dict with ``x``, ``conv_weight`` and
        ``conv_bias`` (the 3x3 conv after the upsample, scaled by ``1/sqrt(9*C_in)``) and
        ``skip`` (the ``nearest+add`` skip connection, standard normal, output shape).
        x is the same array :meth:`make_inputs` returns for the same seed.
        """
        dtype = _check_dtype(dtype)
        x = self.make_inputs(dtype, seed)[0]
        rng = np.random.default_rng([int(seed), zlib.crc32(self.name.encode()), 1])
        scale = 1.0 / math.sqrt(9 * self.in_channels)
        conv_weight = (rng.standard_normal(self.conv_after_upsample_weight_shape)
                       * scale).astype(dtype)
        conv_bias = (rng.standard_normal(self.out_channels) * scale).astype(dtype)
        skip = rng.standard_normal(self.upsample_output_shape).astype(dtype)
        return dict(x=x, conv_weight=conv_weight, conv_bias=conv_bias, skip=skip)

    def __str__(self):
        n, ci, h, w = self.input_shape
        if self.has_deconv:
            op = f" op{self.output_padding}" if self.output_padding else ""
            g = f" g{self.groups}" if self.groups > 1 else ""
            geo = f"k{self.kernel} s{self.stride} p{self.padding}{op}{g}"
        else:
            geo = f"x{self.scale_factor} " + "/".join(self.counterparts)
        return (f"{self.name}: {n} x {ci} -> {self.output_shape[1]} at {h}x{w} -> "
                f"{self.output_shape[2]}x{self.output_shape[3]}, {geo}")


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


_NB_CONV = ("nearest+conv3x3", "bilinear+conv3x3")

#: Every catalogue entry, in docs/design.md's table order.
LAYERS = (
    Layer("dcgan-g2", "DCGAN generator, 4x4 -> 8x8", 16, 512, 256, 4, 4, 4, 2, 1,
          counterparts=_NB_CONV),
    Layer("dcgan-g4", "DCGAN generator, 16x16 -> 32x32", 16, 128, 64, 16, 16, 4, 2, 1,
          counterparts=_NB_CONV),
    Layer("dcgan-out", "DCGAN generator output (RGB), 32x32 -> 64x64", 16, 64, 3, 32, 32,
          4, 2, 1, counterparts=_NB_CONV),
    Layer("fcn32s-up", "FCN-32s score upsampling x32 (bilinear filler), 16x16 -> 512x512",
          1, 21, 21, 16, 16, 64, 32, 16, groups=21, bilinear_filler=True, scale_factor=32,
          counterparts=("bilinear",)),
    Layer("fcn8s-up2", "FCN-8s upscore2 x2 (bilinear filler), 32x32 -> 64x64", 1, 21, 21,
          32, 32, 4, 2, 1, bilinear_filler=True, counterparts=("bilinear",)),
    Layer("fcn8s-up8", "FCN-8s final upsampling x8 (bilinear filler), 64x64 -> 512x512",
          1, 21, 21, 64, 64, 16, 8, 4, groups=21, bilinear_filler=True, scale_factor=8,
          counterparts=("bilinear",)),
    Layer("unet-up1", "U-Net first up-convolution, 32x32 -> 64x64", 1, 1024, 512, 32, 32,
          2, 2, 0, counterparts=("nearest+conv3x3",)),
    Layer("unet-up3", "U-Net third up-convolution, 128x128 -> 256x256", 1, 256, 128, 128,
          128, 2, 2, 0, counterparts=("nearest+conv3x3",)),
    Layer("erfnet-up", "ERFNet decoder upsampler, 64x128 -> 128x256", 1, 128, 64, 64, 128,
          3, 2, 1, output_padding=1, counterparts=("bilinear+conv3x3",)),
    Layer("fsrcnn-x3", "FSRCNN x3 super-resolution head, 96x96 -> 288x288", 1, 56, 1, 96,
          96, 9, 3, 4, output_padding=2, scale_factor=3,
          counterparts=("bilinear+conv3x3",)),
    Layer("stylegan-up", "StyleGAN fused nearest x2 + 3x3 conv as k4 s2 p1, 16x16 -> 32x32",
          2, 256, 256, 16, 16, 4, 2, 1, counterparts=("nearest+conv3x3",)),
    Layer("fpn-p4", "FPN top-down P5 -> P4: nearest x2 + lateral add, 32x32 -> 64x64", 2,
          256, 256, 32, 32, None, None, None, counterparts=("nearest+add",)),
    Layer("yolov3-up", "YOLOv3 route upsample, nearest x2, 13x13 -> 26x26", 1, 256, 256,
          13, 13, None, None, None, counterparts=("nearest",)),
    Layer("yolov3-up2", "YOLOv3 second route upsample, nearest x2, 26x26 -> 52x52", 1, 128,
          128, 26, 26, None, None, None, counterparts=("nearest",)),
)

#: The entries with a transposed convolution, in table order.
DECONV_LAYERS = tuple(layer for layer in LAYERS if layer.has_deconv)

_BY_NAME = {layer.name: layer for layer in LAYERS}


def get_layer(name):
    """The catalogue entry called ``name``; ValueError listing the valid names otherwise."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown layer {name!r}; valid names: "
                         f"{', '.join(_BY_NAME)}") from None


def select_layers(pattern=None, layers=LAYERS):
    """Entries whose name matches the regular expression ``pattern`` (``re.search``)."""
    if pattern is None:
        return tuple(layers)
    regex = re.compile(pattern)
    return tuple(layer for layer in layers if regex.search(layer.name))


def _check_catalogue():
    if len(_BY_NAME) != len(LAYERS):
        raise AssertionError("duplicate layer names in the catalogue")
    for layer in LAYERS:
        for kind in layer.counterparts:
            if layer.counterpart_output_shape(kind) != layer.output_shape:
                raise AssertionError(
                    f"{layer.name}: counterpart {kind} gives "
                    f"{layer.counterpart_output_shape(kind)}, the layer {layer.output_shape}")


_check_catalogue()
