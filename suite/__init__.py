"""Transposed convolution ("deconvolution") and upsampling kernels for the CPU.

OpenMP-parallel Cython kernels (float32 and float64, NCHW) with PyTorch's semantics:

>>> import numpy as np, suite
>>> x = np.random.default_rng(0).standard_normal((1, 8, 16, 16), dtype=np.float32)
>>> w = np.random.default_rng(1).standard_normal((8, 4, 4, 4), dtype=np.float32)
>>> suite.deconv2d(x, w, stride=2, padding=1).shape
(1, 4, 32, 32)
>>> suite.upsample(x, scale_factor=2, mode="bilinear").shape
(1, 8, 32, 32)

``num_threads=None`` uses OpenMP's current limit (``OMP_NUM_THREADS``,
``threadpoolctl.threadpool_limits``); an int pins OpenMP and BLAS to that many threads for one
call. ``suite.reference`` holds the pure-NumPy definitions every kernel is tested against.

``suite.Deconv2d`` and ``suite.UpsampleConv2d`` take their weights once and keep a plan per
input shape (``layer(x)`` equals the function bit for bit); ``algorithm="measure"`` times the
methods on the first call for a configuration and keeps the fastest in ``suite.wisdom``,
which ``algorithm="auto"`` follows.
"""

from . import wisdom
from ._outputs import release as release_memory
from ._buildinfo import openmp_enabled
from ._plan import DECONV_ALGORITHMS, UPSAMPLE_CONV_ALGORITHMS, choose_algorithm
from ._validation import UPSAMPLE_MODES
from ._version import __version__
from .conv import bilinear_kernel, col2im, conv2d, deconv2d, deconv2d_backward, im2col
from .fused import upsample_add, upsample_conv2d
from .geometry import conv2d_output_shape, deconv2d_output_shape, upsample_output_size
from .layers import Deconv2d, UpsampleConv2d
from .profiling import profile
from .upsample import upsample, upsample_backward

__all__ = [
    "DECONV_ALGORITHMS",
    "Deconv2d",
    "UPSAMPLE_CONV_ALGORITHMS",
    "UPSAMPLE_MODES",
    "UpsampleConv2d",
    "bilinear_kernel",
    "choose_algorithm",
    "col2im",
    "conv2d",
    "conv2d_output_shape",
    "deconv2d",
    "deconv2d_backward",
    "deconv2d_output_shape",
    "im2col",
    "openmp_enabled",
    "profile",
    "release_memory",
    "upsample",
    "upsample_add",
    "upsample_backward",
    "upsample_conv2d",
    "upsample_output_size",
    "wisdom",
]
