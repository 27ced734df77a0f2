"""Transposed convolution by algorithm and layer: ``suite.deconv2d`` on the catalogue.

``Deconv2d``: every deconvolution layer of the catalogue at its own geometry, with every
``algorithm=`` of ``suite.DECONV_ALGORITHMS`` ("auto" too: it is what a user gets), except
``measure`` (after its first call it runs one of the others, measured here by name),
``winograd`` where the kernel is not twice the stride (it would run ``phase``) and ``direct``
on layers with more than 4 input channels per group (its domain is depthwise filters).
``Deconv2dStride`` (full profile): the same kernels and padding at strides 1, 2, 4 up to
the kernel size, other than the layer's own (output padding kept below the stride).
The output is allocated by each call, as PyTorch's is.
"""

import numpy as np

import suite

from . import common


def deconv_case(layer, stride, dtype, algorithm, threads):
    if algorithm not in suite.DECONV_ALGORITHMS:
        raise NotImplementedError(f"algorithm {algorithm!r} is not in this build")
    if algorithm == "measure":
        raise NotImplementedError("measure runs the fastest of the others after its first "
                                  "call; each is measured under its own name")
    base = common.layer(layer)
    entry = common.restride(base, stride) if stride is not None else base
    if algorithm == "winograd" and entry.kernel != 2 * entry.stride:
        raise NotImplementedError(f"{entry.name}: winograd needs kernel = 2*stride "
                                  "(elsewhere it runs phase, measured as such)")
    if algorithm == "direct" and entry.in_channels // entry.groups > 4:
        raise NotImplementedError(f"{entry.name}: direct is for at most 4 input channels "
                                  "per group (it takes seconds on dense layers)")
    kwargs = entry.deconv_kwargs
    cost = common.cost("deconv2d", dtype, algorithm, **entry.deconv_arguments)

    def prepare():
        x, weight, bias = base.make_inputs(np.dtype(dtype))   # the layer's own weights
        return lambda: suite.deconv2d(x, weight, bias, **kwargs, algorithm=algorithm,
                                      num_threads=threads)

    return common.Case(cost, prepare)


class _Deconv2dCase:
    params = [common.deconv_layer_names(), common.DTYPES, common.ALGORITHMS, common.THREADS]
    param_names = ["layer", "dtype", "algorithm", "threads"]

    def build(self, layer, dtype, algorithm, threads=1):
        return deconv_case(layer, None, dtype, algorithm, threads)


class Deconv2d(_Deconv2dCase, common.Gflops, common.TimeBench):
    """Each layer at its own geometry: time and achieved GFLOP/s."""

    def time_deconv2d(self, *params):
        self.case.run()


class Deconv2dPeakMem(_Deconv2dCase, common.MemBench):
    """Peak memory; net figure = peakmem_deconv2d - peakmem_baseline."""

    def peakmem_deconv2d(self, *params):
        self.case.run()


class Deconv2dCost(_Deconv2dCase, common.CostBench):
    """FLOPs, bytes, parameters and the column workspace of each algorithm."""

    params = _Deconv2dCase.params[:-1]
    param_names = _Deconv2dCase.param_names[:-1]


class _Deconv2dStrideCase:
    params = [common.deconv_layer_names(), list(common.EXTRA_FACTORS), common.DTYPES,
              common.ALGORITHMS, common.THREADS]
    param_names = ["layer", "stride", "dtype", "algorithm", "threads"]

    def build(self, layer, stride, dtype, algorithm, threads=1):
        if stride == common.layer(layer).stride:
            raise NotImplementedError(f"{layer}'s own stride: see Deconv2d")
        return deconv_case(layer, stride, dtype, algorithm, threads)


if common.FULL:  # the quick profile keeps every layer's own stride only

    class Deconv2dStride(_Deconv2dStrideCase, common.Gflops, common.TimeBench):
        """The layer's kernel and padding at strides 1, 2, 4 (stride <= kernel, other than
        its own): time and achieved GFLOP/s."""

        def time_deconv2d(self, *params):
            self.case.run()

    class Deconv2dStrideCost(_Deconv2dStrideCase, common.CostBench):
        params = _Deconv2dStrideCase.params[:-1]
        param_names = _Deconv2dStrideCase.param_names[:-1]
