"""What every cost of :mod:`suite.cost` shares: the result (:class:`Cost`, whose fields the
module docstring of :mod:`suite.cost` explains) and the checks of the shapes and geometry a
cost is asked for (suite._validation's checks; a cost needs no batch of data)."""

from dataclasses import dataclass, field

from ._validation import check_int, check_mode, check_pair
from .geometry import check_geometry, conv2d_output_shape, deconv2d_output_shape

# ----------------------------------------------------------------------------------------
# the result
# ----------------------------------------------------------------------------------------

class _FrozenDict(dict):
    """A read-only, hashable, picklable dict (for the per-algorithm fields of :class:`Cost`)."""

    def _readonly(self, *args, **kwargs):
        raise TypeError("Cost fields are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self):
        return hash(tuple(self.items()))

    def __reduce__(self):
        return (_FrozenDict, (dict(self),))

    def __repr__(self):
        return repr(dict(self))


@dataclass(frozen=True)
class Cost:
    """The cost of one operation in one configuration.

    Fields
    ------
    operation: str
        ``"deconv2d"``, ``"conv2d"``, ``"im2col"``, ``"col2im"``, ``"upsample"``,
        ``"upsample_conv2d"``, ``"upsample_add"``, ``"deconv2d_backward"``,
        ``"upsample_backward"``.
    output_shape: tuple
        The output's shape (for backward operations: grad_input's, i.e. the input's).
    macs: int
        Multiply-adds of the definition (2 FLOPs each).
    adds: int
        Additions that are not part of a multiply-add (1 FLOP each): bias, skip, scatter.
    executed_flops: dict
        FLOPs each algorithm performs, by algorithm name.
    min_bytes: int
        Every input, weight, bias and output moved once.
    workspace_bytes: dict
        Temporary memory of each algorithm (same keys as ``executed_flops``).
    parameters: int
        Learnable values (weights + bias).
    itemsize: int
        Bytes per value.
    useful_flops: int (derived)
        ``2*macs + adds``.
    arithmetic_intensity: float (derived)
        ``useful_flops / min_bytes`` (0 when nothing moves).
    """

    operation: str
    output_shape: tuple
    macs: int
    adds: int
    executed_flops: dict
    min_bytes: int
    workspace_bytes: dict
    parameters: int
    itemsize: int
    useful_flops: int = field(init=False)
    arithmetic_intensity: float = field(init=False)

    def __post_init__(self):
        executed = _FrozenDict((str(k), int(v)) for k, v in dict(self.executed_flops).items())
        workspace = _FrozenDict((str(k), int(v)) for k, v in dict(self.workspace_bytes).items())
        if set(executed) != set(workspace):
            raise ValueError(f"executed_flops {sorted(executed)} and workspace_bytes "
                             f"{sorted(workspace)} must name the same algorithms")
        set_ = object.__setattr__
        set_(self, "output_shape", tuple(int(v) for v in self.output_shape))
        set_(self, "executed_flops", executed)
        set_(self, "workspace_bytes", workspace)
        for name in ("macs", "adds", "min_bytes", "parameters", "itemsize"):
            set_(self, name, int(getattr(self, name)))
        useful = 2 * self.macs + self.adds
        set_(self, "useful_flops", useful)
        set_(self, "arithmetic_intensity", useful / self.min_bytes if self.min_bytes else 0.0)

    @property
    def algorithms(self):
        """The algorithm names, in the model's order."""
        return tuple(self.executed_flops)

    def executed_intensity(self, algorithm):
        """``executed_flops[algorithm] / min_bytes``: the x coordinate on a roofline."""
        return self.executed_flops[algorithm] / self.min_bytes if self.min_bytes else 0.0

    def as_dict(self):
        """Plain-Python dict of every field (dicts for the per-algorithm fields)."""
        return dict(operation=self.operation, output_shape=self.output_shape, macs=self.macs,
                    adds=self.adds, useful_flops=self.useful_flops,
                    executed_flops=dict(self.executed_flops), min_bytes=self.min_bytes,
                    workspace_bytes=dict(self.workspace_bytes), parameters=self.parameters,
                    itemsize=self.itemsize, arithmetic_intensity=self.arithmetic_intensity)


# ----------------------------------------------------------------------------------------
# argument checking (suite._validation's checks; shapes need no batch of data)
# ----------------------------------------------------------------------------------------

def _shape(shape, name, ndim=4):
    if not isinstance(shape, (tuple, list)) or len(shape) != ndim:
        raise ValueError(f"{name} must be a {ndim}-tuple, got {shape!r}")
    out = tuple(check_int(v, name, 0) for v in shape)
    if min(out[1:]) < 1:
        raise ValueError(f"{name} must have positive sizes after the batch, got {shape!r}")
    return out


def _mode(mode, align_corners):
    if mode == "bilinear" and align_corners is not None:
        align_corners = bool(align_corners)
    return check_mode(mode, align_corners)


def _itemsize(itemsize):
    return check_int(itemsize, "itemsize", 1)


def _threads(num_threads):
    return check_int(num_threads, "num_threads", 1)


def _conv_geometry(input_shape, weight_shape, stride, padding, dilation, groups):
    n, c_in, h, w = _shape(input_shape, "input_shape")
    c_out, cig, kh, kw = _shape(weight_shape, "weight_shape")
    groups = check_int(groups, "groups", 1)
    if min(weight_shape) < 1:
        raise ValueError(f"weight_shape must be positive, got {weight_shape!r}")
    if c_in % groups or c_out % groups or cig * groups != c_in:
        raise ValueError(f"weight {weight_shape} with groups={groups} does not fit "
                         f"{c_in} input channels (C_out and C_in must divide by groups)")
    s, p, d = check_pair(stride, "stride", 1), check_pair(padding, "padding", 0), \
        check_pair(dilation, "dilation", 1)
    out = conv2d_output_shape((n, c_in, h, w), (c_out, cig, kh, kw), s, p, d)
    return (n, c_in, h, w), (c_out, cig, kh, kw), s, p, d, groups, out


def _deconv_geometry(input_shape, weight_shape, stride, padding, output_padding, dilation,
                     groups):
    n, c_in, h, w = _shape(input_shape, "input_shape")
    wc_in, cog, kh, kw = _shape(weight_shape, "weight_shape")
    groups = check_int(groups, "groups", 1)
    if min(weight_shape) < 1:
        raise ValueError(f"weight_shape must be positive, got {weight_shape!r}")
    if wc_in != c_in or c_in % groups:
        raise ValueError(f"weight {weight_shape} must be (C_in, C_out/groups, kH, kW) with "
                         f"C_in = {c_in} divisible by groups={groups}")
    out = deconv2d_output_shape((n, c_in, h, w), (c_in, cog, kh, kw), stride, padding,
                                output_padding, dilation, groups)
    s, p, d = check_geometry(stride, padding, dilation)
    op = check_pair(output_padding, "output_padding", 0)
    return (n, c_in, h, w), (c_in, cog, kh, kw), s, p, op, d, groups, out


def _bias_flag(bias):
    return bool(bias) if bias is not None else False
