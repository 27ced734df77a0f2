"""Upsampling by mode and scale: ``suite.upsample`` of each catalogue layer's input.

Modes ``nearest``, ``bilinear`` (align_corners=False) and, in the full profile,
``nearest-exact``; scale factors: the layer's own (quick), and 1, 2, 4 (full; 1 is a copy and
shows the fixed overhead). The output is allocated by each call, as PyTorch's interpolate
does. Memory-bound: compare track_gbps with the machine's copy bandwidth
(``bench_ceilings``).
"""

import suite

from . import common


class _UpsampleCase:
    params = [common.layer_names(), common.UPSAMPLE_MODES, common.all_scales(), common.DTYPES,
              common.THREADS]
    param_names = ["layer", "mode", "scale", "dtype", "threads"]

    def build(self, layer, mode, scale, dtype, threads=1):
        if mode not in suite.UPSAMPLE_MODES:
            raise NotImplementedError(f"mode {mode!r} is not in this build")
        entry = common.layer(layer)
        if scale not in common.scales_for(entry):
            raise NotImplementedError(f"{layer}: scale {scale} is not tried "
                                      f"(scales {common.scales_for(entry)})")
        cost = common.cost("upsample", dtype, input_shape=entry.input_shape,
                           scale_factor=scale, mode=mode,
                           align_corners=common.align_corners(mode))

        def prepare():
            x = common.rng_for("upsample", layer).standard_normal(entry.input_shape)
            x = x.astype(dtype)
            return lambda: suite.upsample(x, scale_factor=scale, mode=mode,
                                          num_threads=threads)

        return common.Case(cost, prepare)


class Upsample(_UpsampleCase, common.Gbps, common.TimeBench):
    def time_upsample(self, *params):
        self.case.run()


class UpsamplePeakMem(_UpsampleCase, common.MemBench):
    def peakmem_upsample(self, *params):
        self.case.run()


class UpsampleCost(_UpsampleCase, common.CostBench):
    params = _UpsampleCase.params[:-1]
    param_names = _UpsampleCase.param_names[:-1]
