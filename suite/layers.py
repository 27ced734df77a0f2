"""Layer objects: a transposed convolution or an upsample + convolution whose weights are
given once, as inference engines take a network's initializers.

``suite.Deconv2d(weight, ...)`` and ``suite.UpsampleConv2d(weight, ...)`` check and copy
their weights when they are made, and are called as ``layer(x, out=None)``. Each keeps, per
input shape (and thread count), the plan of :func:`suite.deconv2d` /
:func:`suite.upsample_conv2d` (the same plans: the results are those of the functions, bit
for bit) and the weights that plan's kernel reads, prepared once: the phase sub-kernels
packed (``"phase"``), the collapsed kernels summed (``"collapsed"``), every phase's
Winograd-transformed weights (``"winograd"``, where the functions' kernel transforms them
pass by pass on every call).

Weights: the layer copies ``weight`` and ``bias`` (C-contiguous, read-only, in their own
dtype, which the inputs must share). The caller's arrays are never modified, and changing
them afterwards does not change the layer; ``layer.weight`` and ``layer.bias`` are the
copies.

``algorithm="auto"`` follows a choice recorded in ``suite.wisdom`` for the layer and input
shape, else the functions' rule; ``"measure"`` times the methods on the first call for an
input shape, with the prepared weights (what the layer runs), and records the fastest
under the layer's name. A layer decides once per input shape: later changes to the wisdom
do not move it.
"""

import numpy as np

from . import profiling
from ._plan import DECONV_ALGORITHMS, UPSAMPLE_CONV_ALGORITHMS
from ._threads import effective_n_threads
from ._validation import (
    check_bias,
    check_choice,
    check_groups,
    check_input,
    check_int,
    check_same_dtype,
    check_weight,
    make_output,
)
from .conv import DeconvPlan, check_deconv_weight, deconv_geometry, plan_call
from .fused import UpsampleConvPlan, check_upsample_conv_weight, upsample_conv_geometry

__all__ = ["Deconv2d", "UpsampleConv2d"]

#: A layer keeps the plans of at most this many input shapes (and thread counts), the
#: oldest forgotten first.
MAX_PLANS = 16


def _read_only_copy(array):
    if array is None:
        return None
    copy = np.array(array, order="C", copy=True)
    copy.flags.writeable = False
    return copy


class _PlannedLayer:
    """What both layers share: the plans per input shape and the prepared weights."""

    _plan_type = None

    def __init__(self, weight, bias, geometry, algorithm, num_threads):
        self._weight = _read_only_copy(weight)
        self._bias = _read_only_copy(bias)
        self._geometry = geometry
        self.algorithm = algorithm
        self.num_threads = (None if num_threads is None
                            else check_int(num_threads, "num_threads", minimum=1))
        self._plans = {}        # (input shape, threads) -> plan
        self._prepared = {}     # plan.prepared_key -> the weights its kernel reads

    @property
    def weight(self):
        """The layer's copy of the weight (read-only)."""
        return self._weight

    @property
    def bias(self):
        """The layer's copy of the bias (read-only), or None."""
        return self._bias

    def _check_channels(self, c_in):
        raise NotImplementedError

    def __call__(self, x, out=None):
        """The layer's output for x (N, C_in, H, W) of the weight's dtype, into ``out``
        (exact shape and dtype, C-contiguous, not overlapping x) when given. Inside a
        ``suite.profile()`` block the call is recorded under the layer's class name."""
        x = check_input(x)
        check_same_dtype(self._weight, "the layer's weight", x, "x")
        self._check_channels(x.shape[1])
        if profiling.active:
            return profiling.profiled_layer_call(type(self).__name__, self.algorithm,
                                                 lambda: self._arguments(x), x.dtype,
                                                 lambda: self._call(x, out))
        return self._call(x, out)

    def _arguments(self, x):
        """The call as the function it equals binds its arguments (for suite.profile)."""
        return dict(x=x, weight=self._weight, bias=self._bias, **self._function_geometry(),
                    algorithm=self.algorithm, num_threads=self.num_threads)

    def _function_geometry(self):
        return self._geometry._asdict()

    def _call(self, x, out):
        n_threads = effective_n_threads(self.num_threads)
        plan = self._plans.get((x.shape, n_threads))
        if plan is None:
            return self._first_call(x, out, n_threads)
        out = make_output(out, plan.shape, x.dtype, (("x", x),))
        return plan.run(x, self._prepared[plan.prepared_key], self._bias, out)

    def _first_call(self, x, out, n_threads):
        plan, measure = plan_call(self._plan_type, type(self).__name__, x.shape,
                                  self._weight.shape, self._weight.dtype, self._geometry,
                                  self.algorithm, n_threads, prepared=True)
        out = make_output(out, plan.shape, x.dtype, (("x", x),))
        if measure is not None:
            plan = measure(lambda p: lambda: p.run(x, self._prepare(p), self._bias, out))
        while len(self._plans) >= MAX_PLANS:
            self._plans.pop(next(iter(self._plans)))
        self._plans[(x.shape, n_threads)] = plan
        prepared = self._prepare(plan)
        kept = {p.prepared_key for p in self._plans.values()}
        self._prepared = {k: v for k, v in self._prepared.items() if k in kept}
        return plan.run(x, prepared, self._bias, out)

    def _prepare(self, plan):
        prepared = self._prepared.get(plan.prepared_key)
        if prepared is None:
            prepared = plan.prepare(self._weight, kept=True)
            if prepared is not self._weight:
                prepared.flags.writeable = False
            self._prepared[plan.prepared_key] = prepared
        return prepared

    def __repr__(self):
        fields = ", ".join(f"{name}={value!r}" for name, value in self._geometry._asdict().items())
        return (f"{type(self).__name__}(weight {self._weight.shape} {self._weight.dtype}, "
                f"bias {'yes' if self._bias is not None else 'no'}, {fields}, "
                f"algorithm={self.algorithm!r}, num_threads={self.num_threads!r})")


class Deconv2d(_PlannedLayer):
    """A transposed convolution with fixed weights: ``Deconv2d(weight, ...)(x)`` equals
    ``suite.deconv2d(x, weight, ...)`` bit for bit (see :mod:`suite.layers`).

    weight (C_in, C_out/groups, kH, kW), bias (C_out,) or None, float32 or float64; the
    geometry and ``algorithm`` as :func:`suite.deconv2d`, ``num_threads`` the thread count
    of every call (None: OpenMP's current limit at the call). Geometry that depends on the
    input (a padding too large for its size) is checked at the call.

    Cost per call: the function's, without re-packing the weights for ``"phase"`` or
    transforming them for ``"winograd"``.
    """

    _plan_type = DeconvPlan

    def __init__(self, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1,
                 groups=1, *, algorithm="auto", num_threads=None):
        algorithm = check_choice(algorithm, "algorithm", DECONV_ALGORITHMS)
        weight = check_weight(weight)
        geometry = deconv_geometry(stride, padding, output_padding, dilation, groups)
        check_deconv_weight(weight.shape, weight.shape[0], geometry.groups)
        bias = check_bias(bias, weight.shape[1] * geometry.groups, weight.dtype)
        super().__init__(weight, bias, geometry, algorithm, num_threads)

    def _check_channels(self, c_in):
        check_deconv_weight(self._weight.shape, c_in, self._geometry.groups)


class UpsampleConv2d(_PlannedLayer):
    """An upsampling followed by a convolution with fixed weights:
    ``UpsampleConv2d(weight, ...)(x)`` equals ``suite.upsample_conv2d(x, weight, ...)`` bit
    for bit (see :mod:`suite.layers`).

    weight (C_out, C_in/groups, kH, kW), bias (C_out,) or None, float32 or float64; the
    upsampling (``scale_factor``, ``mode``, ``align_corners``), the convolution's geometry
    and ``algorithm`` as :func:`suite.upsample_conv2d`, ``num_threads`` the thread count of
    every call (None: OpenMP's current limit at the call). What depends on the input (a
    method that does not apply to its output size, a kernel that does not fit) is checked
    at the call.

    Cost per call: the function's, without collapsing the kernels again for
    ``"collapsed"`` or transforming them for ``"winograd"``.
    """

    _plan_type = UpsampleConvPlan

    def __init__(self, weight, bias=None, scale_factor=2, mode="nearest", align_corners=None,
                 stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto",
                 num_threads=None):
        algorithm = check_choice(algorithm, "algorithm", UPSAMPLE_CONV_ALGORITHMS)
        weight = check_weight(weight)
        geometry = upsample_conv_geometry(scale_factor, mode, align_corners, stride, padding,
                                          dilation, groups)
        check_groups(geometry.groups, weight.shape[1] * geometry.groups, weight.shape[0])
        bias = check_bias(bias, weight.shape[0], weight.dtype)
        super().__init__(weight, bias, geometry, algorithm, num_threads)

    def _check_channels(self, c_in):
        check_upsample_conv_weight(self._weight.shape, c_in, self._geometry.groups)

    def _function_geometry(self):
        geometry = self._geometry._asdict()
        geometry["scale_factor"] = geometry.pop("scales")
        return geometry
