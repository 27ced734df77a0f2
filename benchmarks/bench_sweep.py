"""Layers the suite was never tuned on (``suite.bench.sweep``), drawn on a fixed seed.

``Sweep`` times each configuration of ``sweep.draw(n, SWEEP_SEED)`` (quick: the first
QUICK_CONFIGURATIONS, full: FULL_CONFIGURATIONS; the same draw on every machine and at every
commit) with suite's function for it (``deconv2d``, ``upsample`` or ``upsample_conv2d``,
allocating its output, like PyTorch) and with PyTorch's (``conv_transpose2d``,
``interpolate``, ``interpolate`` + ``conv2d``) at the same thread count, float32: the ratio
of the two ``contestant`` values of one configuration and thread count is what
``python -m suite compare --sweep`` reports. ``track_gflops``: useful FLOPs (the cost model)
over the median time. A build without ``upsample_conv2d`` skips those configurations;
without PyTorch the torch column is skipped.
"""

import numpy as np

from . import common

sweep = common._tool("sweep")

SWEEP_SEED = 1
QUICK_CONFIGURATIONS = 12
FULL_CONFIGURATIONS = 40

CONFIGURATIONS = {config.name: config for config in sweep.draw(
    FULL_CONFIGURATIONS if common.FULL else QUICK_CONFIGURATIONS, SWEEP_SEED)}

#: The suite function each kind of configuration runs.
SUITE_FUNCTIONS = {"deconv": "deconv2d", "upsample": "upsample",
                   "upsample_conv": "upsample_conv2d"}


def _torch_call(config, torch, x, weight, bias):
    if config.kind == "deconv":
        return common.peers.torch_deconv2d(torch, x, weight, bias, **config.deconv_kwargs)
    if config.kind == "upsample":
        return common.peers.torch_counterpart(torch, config.mode, config.scale, x)
    return common.peers.torch_upsample_conv2d(torch, x, weight, bias, config.scale,
                                              config.mode, config.padding)


class Sweep(common.TimeBench, common.Gflops):
    params = [list(CONFIGURATIONS), ["suite", "torch"], common.THREADS]
    param_names = ["configuration", "contestant", "threads"]

    def build(self, configuration, contestant, threads):
        config = CONFIGURATIONS[configuration]
        common.require(SUITE_FUNCTIONS[config.kind])
        if contestant == "torch":
            torch = common.import_peer("torch")
            torch.set_num_threads(threads)
        operation, arguments = config.cost_operation
        cost = common.cost(operation, "float32", **arguments)

        def prepare():
            x, weight, bias = config.make_inputs(np.float32)
            if contestant == "suite":
                return config.suite_call(x, weight, bias, threads)
            return _torch_call(config, torch, x, weight, bias)

        return common.Case(cost, prepare)

    def time_layer(self, *params):
        self.case.run()
