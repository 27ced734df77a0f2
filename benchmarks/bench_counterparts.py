"""Each catalogue layer as its upsample counterparts, like for like with its deconvolution.

Same input (``Layer.make_counterpart_inputs``) and the same output shape as the layer's
transposed convolution (``bench_deconv``), at the layer's own scale factor:

* ``nearest`` / ``bilinear``: ``suite.upsample`` alone (where C_in == C_out);
* ``nearest+conv3x3`` / ``bilinear+conv3x3``: ``suite.upsample`` then ``suite.conv2d`` (3x3,
  padding 1, C_in -> C_out), the unfused pair (``bench_fused`` has the fused kernel);
* ``nearest+add``: FPN's ``upsample(x) + skip`` (the add is NumPy's, in place, one thread).

quick: the counterparts the catalogue names; full: every kind whose output has the layer's
output shape (``common.layer_counterparts``). FLOPs and bytes are the composite operation's
useful work and minimum traffic (the upsampled map of "+conv3x3" is workspace).
"""

import numpy as np

import suite

from . import common


def counterpart_cost(entry, counterpart, dtype, algorithm="unfused"):
    """suite.cost's figures of a counterpart: "+conv3x3" is ``upsample_conv2d`` and "+add"
    ``upsample_add``, ``algorithm`` "unfused" (here) or "fused" (``bench_fused``)."""
    operation, arguments = entry.counterpart_operation(counterpart)
    return common.cost(operation, dtype, algorithm if operation != "upsample" else None,
                       **arguments)


def counterpart_entry(layer, counterpart):
    """The catalogue entry, or NotImplementedError if it is not measured as ``counterpart``."""
    entry = common.layer(layer)
    if counterpart not in common.layer_counterparts(entry):
        raise NotImplementedError(f"{layer} is not measured as {counterpart} "
                                  f"({', '.join(common.layer_counterparts(entry))})")
    return entry


class _CounterpartCase:
    params = [common.layer_names(), common.COUNTERPARTS, common.DTYPES, common.THREADS]
    param_names = ["layer", "counterpart", "dtype", "threads"]

    def build(self, layer, counterpart, dtype, threads=1):
        entry = counterpart_entry(layer, counterpart)
        mode = counterpart.split("+")[0]
        scale = entry.scale_factor

        def prepare():
            data = entry.make_counterpart_inputs(np.dtype(dtype))
            x = data["x"]
            if counterpart.endswith("+conv3x3"):
                w, b = data["conv_weight"], data["conv_bias"]
                return lambda: suite.conv2d(
                    suite.upsample(x, scale_factor=scale, mode=mode, num_threads=threads),
                    w, b, padding=1, num_threads=threads)
            if counterpart.endswith("+add"):
                skip = data["skip"]

                def upsample_add():
                    y = suite.upsample(x, scale_factor=scale, mode=mode, num_threads=threads)
                    return np.add(y, skip, out=y)

                return upsample_add
            return lambda: suite.upsample(x, scale_factor=scale, mode=mode,
                                          num_threads=threads)

        return common.Case(counterpart_cost(entry, counterpart, dtype), prepare)


class Counterpart(_CounterpartCase, common.Gflops, common.Gbps,
                  common.TimeBench):
    """Time, and achieved GFLOP/s (the "+conv3x3" kinds) and GB/s."""

    def time_counterpart(self, *params):
        self.case.run()


class CounterpartPeakMem(_CounterpartCase, common.MemBench):
    """Peak memory; net figure = peakmem_counterpart - peakmem_baseline."""

    def peakmem_counterpart(self, *params):
        self.case.run()


class CounterpartCost(_CounterpartCase, common.CostBench):
    """FLOPs, bytes, parameters (the 3x3 convolution's) and workspace (the upsampled map)."""

    params = _CounterpartCase.params[:-1]
    param_names = _CounterpartCase.param_names[:-1]
