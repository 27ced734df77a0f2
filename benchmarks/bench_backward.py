"""Backward passes: ``suite.deconv2d_backward`` and ``suite.upsample_backward`` per layer.

* ``Deconv2dBackward``: (grad_x, grad_weight, grad_bias) of each deconvolution layer at its
  own geometry; FLOPs are the two GEMM-sized products (grad_x = conv2d(grad_out, W),
  grad_weight) plus the bias sum.
* ``UpsampleBackward``: the gradient of each layer's upsample at its own scale factor, by
  mode (nearest: every output gradient added once; bilinear: four multiply-adds each).
"""

import numpy as np

import suite

from . import common


class _Deconv2dBackwardCase:
    params = [common.deconv_layer_names(), common.DTYPES, common.THREADS]
    param_names = ["layer", "dtype", "threads"]

    def build(self, layer, dtype, threads=1):
        entry = common.layer(layer)
        kwargs = entry.deconv_kwargs
        cost = common.cost("deconv2d_backward", dtype, **entry.deconv_arguments)

        def prepare():
            x, weight, _ = entry.make_inputs(np.dtype(dtype))
            grad = common.rng_for("grad", layer).standard_normal(entry.output_shape)
            grad = grad.astype(dtype)
            return lambda: suite.deconv2d_backward(grad, x, weight, **kwargs,
                                                   num_threads=threads)

        return common.Case(cost, prepare)


class Deconv2dBackward(_Deconv2dBackwardCase, common.Gflops, common.TimeBench):
    def time_deconv2d_backward(self, *params):
        self.case.run()


class Deconv2dBackwardPeakMem(_Deconv2dBackwardCase, common.MemBench):
    def peakmem_deconv2d_backward(self, *params):
        self.case.run()


class Deconv2dBackwardCost(_Deconv2dBackwardCase, common.CostBench):
    params = _Deconv2dBackwardCase.params[:-1]
    param_names = _Deconv2dBackwardCase.param_names[:-1]


class _UpsampleBackwardCase:
    params = [common.layer_names(), common.UPSAMPLE_MODES, common.DTYPES, common.THREADS]
    param_names = ["layer", "mode", "dtype", "threads"]

    def build(self, layer, mode, dtype, threads=1):
        if mode not in suite.UPSAMPLE_MODES:
            raise NotImplementedError(f"mode {mode!r} is not in this build")
        entry = common.layer(layer)
        scale = entry.scale_factor
        cost = common.cost("upsample_backward", dtype, input_shape=entry.input_shape,
                           scale_factor=scale, mode=mode,
                           align_corners=common.align_corners(mode))

        def prepare():
            grad = common.rng_for("grad", layer).standard_normal(entry.upsample_output_shape)
            grad = grad.astype(dtype)
            return lambda: suite.upsample_backward(grad, entry.input_shape, scale_factor=scale,
                                                   mode=mode, num_threads=threads)

        return common.Case(cost, prepare)


class UpsampleBackward(_UpsampleBackwardCase, common.Gbps, common.TimeBench):
    def time_upsample_backward(self, *params):
        self.case.run()


class UpsampleBackwardPeakMem(_UpsampleBackwardCase, common.MemBench):
    def peakmem_upsample_backward(self, *params):
        self.case.run()


class UpsampleBackwardCost(_UpsampleBackwardCase, common.CostBench):
    params = _UpsampleBackwardCase.params[:-1]
    param_names = _UpsampleBackwardCase.param_names[:-1]
