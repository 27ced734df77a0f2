"""Convolution: ``suite.conv2d`` on the two convolutions each catalogue layer implies.

* ``conv3x3``: the 3x3 convolution (padding 1, C_in -> C_out) of the layer's
  "upsample + 3x3 conv" counterpart, on the upsampled map: the larger half of that pair.
* ``adjoint``: the convolution whose adjoint is the layer's transposed convolution (kernel,
  stride, padding and groups of the layer, an output-shaped map in, an input-shaped map out):
  what ``deconv2d_backward`` computes for ``grad_x``. Deconvolution layers only; full
  profile only.
"""

import numpy as np

import suite

from . import common

#: quick: the counterpart's convolution only.
CONVS = ["conv3x3", "adjoint"] if common.FULL else ["conv3x3"]


def conv_geometry(entry, conv):
    """(x shape, weight shape, output shape, keyword arguments of conv2d)."""
    if conv == "conv3x3":
        x = entry.upsample_output_shape
        weight = entry.conv_after_upsample_weight_shape
        return x, weight, (x[0], weight[0], x[2], x[3]), dict(padding=1)
    if not entry.has_deconv:
        raise NotImplementedError(f"{entry.name} has no transposed convolution")
    kwargs = dict(stride=entry.stride, padding=entry.padding, groups=entry.groups)
    return entry.output_shape, entry.weight_shape, entry.input_shape, kwargs


class _Conv2dCase:
    params = [common.layer_names(), CONVS, common.DTYPES, common.THREADS]
    param_names = ["layer", "conv", "dtype", "threads"]

    def build(self, layer, conv, dtype, threads=1):
        entry = common.layer(layer)
        x_shape, w_shape, y_shape, kwargs = conv_geometry(entry, conv)
        cost = common.cost("conv2d", dtype, input_shape=x_shape, weight_shape=w_shape,
                           bias=True, **kwargs)

        def prepare():
            rng = common.rng_for("conv2d", layer, conv)
            x = rng.standard_normal(x_shape).astype(dtype)
            w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
            b = rng.standard_normal(y_shape[1]).astype(dtype)
            return lambda: suite.conv2d(x, w, b, **kwargs, num_threads=threads)

        return common.Case(cost, prepare)


class Conv2d(_Conv2dCase, common.Gflops, common.TimeBench):
    def time_conv2d(self, *params):
        self.case.run()


class Conv2dPeakMem(_Conv2dCase, common.MemBench):
    def peakmem_conv2d(self, *params):
        self.case.run()


class Conv2dCost(_Conv2dCase, common.CostBench):
    params = _Conv2dCase.params[:-1]
    param_names = _Conv2dCase.param_names[:-1]
