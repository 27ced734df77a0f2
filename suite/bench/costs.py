"""The cost model joined to the layer catalogue: every catalogue layer's operations priced
by :mod:`suite.cost`, as dicts and as rows for a DataFrame.

What a counterpart is (``"nearest"``, ``"bilinear+conv3x3"``, ...) is defined once, by
:meth:`Layer.counterpart_operation`; :func:`counterpart_cost` prices it for the report and
``compare``, the asv benchmarks price it through the same method.
"""

import math
from functools import lru_cache

import numpy as np

from suite import cost as C

from .catalogue import LAYERS, Layer, get_layer

__all__ = ["costs_frame", "counterpart_cost", "layer_checkerboard", "layer_costs"]


def _as_layer(layer):
    return get_layer(layer) if isinstance(layer, str) else layer


def _dtype_name(dtype):
    return np.dtype(dtype).name


def counterpart_cost(layer, kind, dtype=np.float32):
    """suite.cost's :class:`~suite.cost.Cost` of counterpart ``kind`` of ``layer`` (a Layer or
    its name), as :meth:`Layer.counterpart_operation` defines it."""
    operation, arguments = _as_layer(layer).counterpart_operation(kind)
    return getattr(C, f"{operation}_cost")(**arguments, itemsize=np.dtype(dtype).itemsize)


def layer_costs(layer, dtype=np.float32, backward=False):
    """Costs of a catalogue layer (a :class:`suite.catalogue.Layer` or its name).

    Returns ``{operation: Cost}`` in order: ``"deconv"`` (layers with a deconvolution), then
    each of the layer's counterparts (``"nearest"``, ``"bilinear"``: ``upsample`` by the
    layer's scale factor; ``"nearest+conv3x3"``, ``"bilinear+conv3x3"``: ``upsample_conv2d``
    with the layer's 3x3 padding-1 convolution and its bias; ``"nearest+add"``:
    ``upsample_add`` with a skip of the upsampled shape). With ``backward=True`` also
    ``"deconv_backward"`` and ``"<mode>_backward"`` for bare-upsample counterparts.
    Bilinear is ``align_corners=False`` throughout.
    """
    layer = _as_layer(layer)
    itemsize = np.dtype(dtype).itemsize
    costs = {}
    if layer.has_deconv:
        arguments = layer.deconv_arguments
        costs["deconv"] = C.deconv2d_cost(**arguments, itemsize=itemsize)
        if backward:
            costs["deconv_backward"] = C.deconv2d_backward_cost(**arguments, itemsize=itemsize)
    for kind in layer.counterparts:
        costs[kind] = counterpart_cost(layer, kind, dtype)
        if backward and kind in ("nearest", "bilinear"):
            _, arguments = layer.counterpart_operation(kind)
            costs[f"{kind}_backward"] = C.upsample_backward_cost(**arguments,
                                                                 itemsize=itemsize)
    return costs


@lru_cache(maxsize=64)
def _layer_checkerboard(layer, seed):
    weight = layer.make_inputs(np.float64, seed)[1]
    return dict(overlap_ratio=C.overlap_ratio(layer.kernel, layer.stride),
                phase_sum_spread=C.phase_sum_spread(weight, layer.stride))


def layer_checkerboard(layer, seed=0):
    """``{"overlap_ratio", "phase_sum_spread"}`` of a layer's deconvolution, with the weights
    :meth:`Layer.make_inputs` gives for ``seed`` (float64); None without a deconvolution.
    Cached per (layer, seed)."""
    layer = _as_layer(layer)
    if not layer.has_deconv:
        return None
    return dict(_layer_checkerboard(layer, int(seed)))


def costs_frame(layers=None, dtypes=(np.float32, np.float64), backward=False,
                checkerboard=True, seed=0):
    """One row (a plain dict) per layer x dtype x operation x algorithm, for a DataFrame.

    Columns: ``layer``, ``dtype``, ``operation`` (the keys of :func:`layer_costs`),
    ``algorithm``, ``output_shape``, ``macs``, ``adds``, ``useful_flops``,
    ``executed_flops`` (of this algorithm), ``min_bytes``, ``workspace_bytes`` (of this
    algorithm), ``parameters``, ``itemsize``, ``arithmetic_intensity`` (useful / min_bytes),
    ``executed_intensity`` (executed / min_bytes), and with ``checkerboard=True``
    ``overlap_ratio`` and ``phase_sum_spread`` (deconvolution rows; NaN elsewhere).
    ``layers``: Layer objects or names (default: the whole catalogue).
    """
    layers = LAYERS if layers is None else tuple(_as_layer(layer) for layer in layers)
    rows = []
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"expected a catalogue Layer or its name, got {layer!r}")
        board = layer_checkerboard(layer, seed) if checkerboard else None
        for dtype in dtypes:
            for operation, cost in layer_costs(layer, dtype, backward).items():
                for algorithm in cost.algorithms:
                    row = dict(layer=layer.name, dtype=_dtype_name(dtype), operation=operation,
                               algorithm=algorithm, output_shape=cost.output_shape,
                               macs=cost.macs, adds=cost.adds, useful_flops=cost.useful_flops,
                               executed_flops=cost.executed_flops[algorithm],
                               min_bytes=cost.min_bytes,
                               workspace_bytes=cost.workspace_bytes[algorithm],
                               parameters=cost.parameters, itemsize=cost.itemsize,
                               arithmetic_intensity=cost.arithmetic_intensity,
                               executed_intensity=cost.executed_intensity(algorithm))
                    if checkerboard:
                        deconv = operation.startswith("deconv") and board is not None
                        row["overlap_ratio"] = board["overlap_ratio"] if deconv else math.nan
                        row["phase_sum_spread"] = (board["phase_sum_spread"] if deconv
                                                   else math.nan)
                    rows.append(row)
    return rows
