"""Fused kernels: ``suite.upsample_conv2d`` and ``suite.upsample_add`` on the catalogue.

* ``UpsampleConv2d``: upsample (x the layer's scale) + 3x3 convolution (padding 1) in one
  kernel, for every layer measured as "nearest+conv3x3" / "bilinear+conv3x3"
  (``bench_counterparts`` times the unfused pair on the same data).
* ``UpsampleAdd``: ``upsample(x, size=skip.shape[-2:]) + skip`` for the layers measured as
  "nearest+add" (FPN), by mode.

A build without the kernel skips every combination (asv's NotImplementedError in setup);
FLOPs and bytes are the same useful work as the unfused counterpart, so GFLOP/s compare.
"""

import numpy as np

from . import common
from .bench_counterparts import counterpart_cost, counterpart_entry

FUSED_MODES = ["nearest", "bilinear"]


class _UpsampleConv2dCase:
    params = [common.layer_names(), FUSED_MODES, common.DTYPES, common.THREADS]
    param_names = ["layer", "mode", "dtype", "threads"]

    def build(self, layer, mode, dtype, threads=1):
        upsample_conv2d = common.require("upsample_conv2d")
        counterpart = f"{mode}+conv3x3"
        entry = counterpart_entry(layer, counterpart)
        scale = entry.scale_factor

        def prepare():
            data = entry.make_counterpart_inputs(np.dtype(dtype))
            x, w, b = data["x"], data["conv_weight"], data["conv_bias"]
            return lambda: upsample_conv2d(x, w, b, scale_factor=scale, mode=mode, padding=1,
                                           num_threads=threads)

        return common.Case(counterpart_cost(entry, counterpart, dtype, "fused"), prepare)


class UpsampleConv2d(_UpsampleConv2dCase, common.Gflops, common.TimeBench):
    def time_upsample_conv2d(self, *params):
        self.case.run()


class UpsampleConv2dPeakMem(_UpsampleConv2dCase, common.MemBench):
    def peakmem_upsample_conv2d(self, *params):
        self.case.run()


class _UpsampleAddCase:
    params = [common.layer_names(), FUSED_MODES, common.DTYPES, common.THREADS]
    param_names = ["layer", "mode", "dtype", "threads"]

    def build(self, layer, mode, dtype, threads=1):
        upsample_add = common.require("upsample_add")
        entry = counterpart_entry(layer, "nearest+add")

        def prepare():
            data = entry.make_counterpart_inputs(np.dtype(dtype))
            x, skip = data["x"], data["skip"]
            return lambda: upsample_add(x, skip, mode=mode, num_threads=threads)

        return common.Case(counterpart_cost(entry, f"{mode}+add", dtype, "fused"), prepare)


class UpsampleAdd(_UpsampleAddCase, common.Gbps, common.TimeBench):
    def time_upsample_add(self, *params):
        self.case.run()


class UpsampleAddPeakMem(_UpsampleAddCase, common.MemBench):
    def peakmem_upsample_add(self, *params):
        self.case.run()
