"""Argument checking shared by every public function.

Every mistake a caller can make becomes a ``TypeError`` (wrong kind of value) or a
``ValueError`` (right kind, wrong value) whose message names the argument, shows the value and
says what was expected, raised before any work. The compiled kernels trust what passes here.
"""

import math
import numbers

import numpy as np

from . import _outputs

#: The dtypes the kernels are compiled for.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Refuse outputs and workspaces beyond this many elements (2**40 floats is 4 TiB) before
#: allocating anything: such a size is a mistake in the arguments, not a layer.
MAX_ELEMENTS = 2**40

#: BLAS takes C ints: every matrix dimension handed to GEMM must stay below this.
MAX_BLAS_DIM = 2**31 - 1


def _describe(value):
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_int(value, name, minimum=None):
    """A Python or NumPy integer (not a bool), at least ``minimum``."""
    if type(value) is int and (minimum is None or value >= minimum):
        return value        # the common case, without the abstract-base-class checks below
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_pair(value, name, minimum):
    """An int or a pair of ints, each at least ``minimum``; returns a 2-tuple of ints."""
    # The common cases first, without the abstract-base-class checks below (they cost
    # about a microsecond per argument of every call).
    if type(value) is int and value >= minimum:
        return (value, value)
    if (type(value) is tuple and len(value) == 2 and type(value[0]) is int
            and type(value[1]) is int and value[0] >= minimum and value[1] >= minimum):
        return value
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or a pair (height, width), got {len(value)} values: "
                f"{value!r}"
            )
        items = value
    else:
        items = (value, value)
    result = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{name} must be an int or a pair of ints, got {_describe(value)}"
            )
        item = int(item)
        if item < minimum:
            raise ValueError(f"{name} must be >= {minimum} in each dimension, got {value!r}")
        result.append(item)
    return tuple(result)


def check_array(value, name, ndim):
    """A float32 or float64 NumPy array with ``ndim`` dimensions (any strides)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions, got {value.ndim} (shape {value.shape})"
        )
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {value.dtype}")
    return value


def check_same_dtype(reference, reference_name, other, other_name):
    if other.dtype != reference.dtype:
        raise TypeError(
            f"{other_name} has dtype {other.dtype} but {reference_name} has dtype "
            f"{reference.dtype}; both must be the same (float32 or float64)"
        )


def check_bias(bias, channels, dtype):
    """None, or a 1-D array of ``channels`` values of ``dtype``; returned C-contiguous."""
    if bias is None:
        return None
    if not isinstance(bias, np.ndarray):
        raise TypeError(f"bias must be a numpy.ndarray or None, got {type(bias).__name__}")
    if bias.dtype != dtype:
        raise TypeError(f"bias must have dtype {dtype} like the input, got {bias.dtype}")
    if bias.shape != (channels,):
        raise ValueError(f"bias must have shape ({channels},), got {bias.shape}")
    return np.ascontiguousarray(bias)


def check_size(shape, name):
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise ValueError(
            f"{name} would have shape {tuple(shape)} ({count} elements), more than the "
            f"{MAX_ELEMENTS} this library allocates; check the arguments"
        )


def check_blas_dims(**dims):
    """Refuse, before any work, a GEMM whose sizes or leading dimensions (``ldc`` = one
    output plane) do not fit BLAS's 32-bit integers."""
    for name, value in dims.items():
        if value > MAX_BLAS_DIM:
            raise ValueError(
                f"this layer needs a GEMM with {name} = {value}, beyond BLAS's 32-bit "
                f"dimensions (at most {MAX_BLAS_DIM}); split the input"
            )


def make_output(out, shape, dtype, inputs):
    """A fresh C-contiguous output, or ``out`` after checking it can be written as one.

    ``inputs`` are (name, array) pairs that ``out`` must not overlap.
    """
    shape = tuple(map(int, shape))
    check_size(shape, "the output")
    if out is None:
        return _outputs.empty(shape, dtype)
    return check_out(out, shape, dtype, inputs)


def check_out(out, shape, dtype, inputs):
    """``out`` after checking it can be written as the C-contiguous output of ``shape`` (a
    tuple of ints) and ``dtype``, overlapping none of ``inputs`` ((name, array) pairs)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray or None, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"out must have dtype {dtype}, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    for name, array in inputs:
        if array is not None and np.may_share_memory(out, array):
            raise ValueError(f"out must not overlap the input {name}")
    return out


def contiguous(array):
    """The array itself when C-contiguous and aligned, else a C-contiguous copy."""
    if array.flags.c_contiguous and array.flags.aligned:
        return array
    return np.array(array, order="C", copy=True)


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_scale(value, name):
    """A finite, positive float or a pair of them; returns a 2-tuple of floats."""
    if type(value) in (int, float) and 0 < value < math.inf:
        return (float(value), float(value))    # the common case
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if isinstance(value, (tuple, list)) and len(value) != 2:
        raise ValueError(
            f"{name} must be a number or a pair (height, width), got {len(value)} values: "
            f"{value!r}"
        )
    result = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise TypeError(f"{name} must be a number or a pair of numbers, got {_describe(value)}")
        item = float(item)
        if not math.isfinite(item) or item <= 0:
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        result.append(item)
    return tuple(result)


def check_input(x, name="x"):
    x = check_array(x, name, 4)
    if min(x.shape[1:]) < 1:
        raise ValueError(
            f"{name} must have at least one channel, row and column, got shape {x.shape}"
        )
    return x


def check_weight(weight, x=None):
    """A 4-D weight (of x's dtype, when x is given) with positive sizes (the layouts differ
    per operation)."""
    weight = check_array(weight, "weight", 4)
    if x is not None:
        check_same_dtype(x, "x", weight, "weight")
    if min(weight.shape) < 1:
        raise ValueError(
            f"weight must have positive channel counts and kernel size, got shape {weight.shape}"
        )
    return weight


def check_groups(groups, in_channels, out_channels):
    groups = check_int(groups, "groups", minimum=1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both the input channels ({in_channels}) and the "
            f"output channels ({out_channels})"
        )
    return groups


def check_conv_arguments(x, weight, bias, groups):
    """x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) or None."""
    x = check_input(x)
    weight = check_weight(weight, x)
    c_out, c_in_per_group = weight.shape[:2]
    groups = check_groups(groups, x.shape[1], c_out)
    if c_in_per_group * groups != x.shape[1]:
        raise ValueError(
            f"weight has {c_in_per_group} input channels per group x {groups} groups = "
            f"{c_in_per_group * groups}, but x has {x.shape[1]} channels"
        )
    return x, weight, check_bias(bias, c_out, x.dtype), groups


#: ``mode=`` values of suite.upsample and the fused upsampling kernels.
UPSAMPLE_MODES = ("nearest", "nearest-exact", "bilinear")


def check_mode(mode, align_corners):
    mode = check_choice(mode, "mode", UPSAMPLE_MODES)
    if mode == "bilinear":
        if align_corners is None:
            return mode, False
        if not isinstance(align_corners, (bool, np.bool_)):
            raise TypeError(
                f"align_corners must be True, False or None, got {align_corners!r} "
                f"({type(align_corners).__name__})"
            )
        return mode, bool(align_corners)
    if align_corners is not None:
        raise ValueError(
            f"align_corners only applies to mode='bilinear'; leave it None for mode={mode!r} "
            f"(got align_corners={align_corners!r})"
        )
    return mode, False
