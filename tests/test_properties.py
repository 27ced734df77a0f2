"""Property-based tests: every kernel against ``suite.reference`` over its whole parameter
space, as drawn by hypothesis.

Each property draws a configuration (batch 0..3, channels and groups, sizes 1..~15, kernels
1..5 per axis, stride, padding, dilation, output padding, scale factors that are integer,
per-axis or arbitrary floats, every mode), a dtype, an input layout (C order, transposed,
sliced, Fortran, negative strides, misaligned), ``out=`` or not and a thread count, then
checks the kernel against the pure-NumPy definition and that the inputs were not written.

Budgets (hypothesis profiles registered in ``conftest.py``): the default ``ci`` profile runs
a few dozen derandomized examples per property (the whole file stays well under a minute on
two cores); ``SUITE_HYPOTHESIS_PROFILE=long`` (``make test-long``) runs 10,000 fresh random
examples per property and keeps failures in ``.hypothesis/`` for replay.
"""

import math

import numpy as np
import pytest

from conftest import (DTYPES, HYPOTHESIS_PROFILE, require_module, LONG_EXAMPLES, assert_close,
                      load_reference, load_suite, noncontiguous, property_settings)

hypothesis = require_module("hypothesis")
from hypothesis import given, note, strategies as st  # noqa: E402

suite = load_suite()
R = load_reference()

LAYOUTS = ["c", "c", "c", "transposed", "sliced", "fortran", "negative", "misaligned"]
MODES = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True)]

dtypes = st.sampled_from(DTYPES)
layouts = st.sampled_from(LAYOUTS)
threads = st.sampled_from([None, 1, 2, 3])
seeds = st.integers(0, 2**32 - 1)
modes = st.sampled_from(MODES)


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------

def arrays(seed, dtype, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def laid_out(a, layout):
    return a if (a is None or layout == "c") else noncontiguous(a, layout)


def f64(*arrays_):
    return [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays_]


class Untouched:
    """Bytes of the inputs before a call, to compare after it."""

    def __init__(self, *arrays_):
        self.arrays = [a for a in arrays_ if a is not None]
        self.before = [a.tobytes() for a in self.arrays]

    def check(self):
        for a, b in zip(self.arrays, self.before):
            assert a.tobytes() == b, "an input was written"


def maybe_out(use_out, shape, dtype):
    # stale NaNs: a kernel that forgets to write an element fails loudly
    return np.full(shape, np.nan, dtype=dtype) if use_out else None


def check_out(result, out):
    if out is not None:
        assert result is out
    assert result.flags.c_contiguous


def pairs(draw, strategy):
    return tuple(draw(strategy) for _ in range(2))


@st.composite
def conv_axis(draw, max_kernel=5, max_extra=7):
    """(size, kernel, stride, padding, dilation) of one axis with at least one output."""
    k = draw(st.integers(1, max_kernel))
    s = draw(st.integers(1, 3))
    d = draw(st.sampled_from([1, 1, 2, 3]))
    span = d * (k - 1) + 1
    p = draw(st.integers(0, span))
    size = max(1, span - 2 * p) + draw(st.integers(0, max_extra))
    return size, k, s, p, d


@st.composite
def deconv_axis(draw):
    """(size, kernel, stride, padding, output_padding, dilation) with an output >= 1."""
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 4))
    d = draw(st.sampled_from([1, 1, 2, 3]))
    op = draw(st.integers(0, max(s, d) - 1))
    size = draw(st.integers(1, 7))
    limit = ((size - 1) * s + d * (k - 1) + op) // 2
    p = draw(st.integers(0, min(limit, d * (k - 1) + 2)))
    return size, k, s, p, op, d


@st.composite
def scale_factors(draw):
    """An int, a float (maybe whole), or a per-axis pair of them."""
    one = st.one_of(st.integers(1, 4), st.sampled_from([0.5, 1.5, 2.0, 2.5, 3.0]),
                    st.floats(0.3, 4.0, allow_nan=False, allow_infinity=False))
    kind = draw(st.sampled_from(["int", "int", "float", "pair"]))
    if kind == "int":
        return draw(st.integers(1, 4))
    if kind == "float":
        return draw(one)
    return (draw(one), draw(one))


def scale_pair(sf):
    return tuple(sf) if isinstance(sf, tuple) else (sf, sf)


# ----------------------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------------------

@st.composite
def unfold_cases(draw):
    axes = pairs(draw, conv_axis())
    (H, kH, sH, pH, dH), (W, kW, sW, pW, dW) = axes
    return dict(N=draw(st.sampled_from([0, 1, 1, 2, 3])), C=draw(st.integers(1, 4)),
                H=H, W=W, kernel_size=(kH, kW), stride=(sH, sW), padding=(pH, pW),
                dilation=(dH, dW))


def unfold_kwargs(case):
    return {k: case[k] for k in ("stride", "padding", "dilation")}


@property_settings(200)
@given(case=unfold_cases(), dtype=dtypes, layout=layouts, num_threads=threads, seed=seeds)
def test_im2col_property(case, dtype, layout, num_threads, seed):
    (x,) = arrays(seed, dtype, (case["N"], case["C"], case["H"], case["W"]))
    xv = laid_out(x, layout)
    guard = Untouched(xv)
    cols = suite.im2col(xv, case["kernel_size"], **unfold_kwargs(case), num_threads=num_threads)
    # a pure copy: bit for bit
    np.testing.assert_array_equal(cols, R.im2col(x, case["kernel_size"], **unfold_kwargs(case)))
    assert cols.dtype == dtype and cols.flags.c_contiguous
    guard.check()


@property_settings(200)
@given(case=unfold_cases(), dtype=dtypes, layout=layouts, num_threads=threads, seed=seeds)
def test_col2im_property(case, dtype, layout, num_threads, seed):
    (kH, kW), size = case["kernel_size"], (case["H"], case["W"])
    oh, ow = R.conv2d_output_size(size, case["kernel_size"], case["stride"], case["padding"],
                                  case["dilation"])
    (cols,) = arrays(seed, dtype, (case["N"], case["C"] * kH * kW, oh * ow))
    cv = laid_out(cols, layout)
    guard = Untouched(cv)
    img = suite.col2im(cv, size, case["kernel_size"], **unfold_kwargs(case),
                       num_threads=num_threads)
    expected = R.col2im(cols.astype(np.float64), size, case["kernel_size"],
                        **unfold_kwargs(case))
    assert_close(img, expected, dtype)
    assert img.flags.c_contiguous
    guard.check()


# ----------------------------------------------------------------------------------------
# conv2d
# ----------------------------------------------------------------------------------------

@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    (H, kH, sH, pH, dH), (W, kW, sW, pW, dW) = pairs(draw, conv_axis())
    return dict(N=draw(st.sampled_from([0, 1, 1, 2, 3])),
                C_in=groups * draw(st.integers(1, 3)), C_out=groups * draw(st.integers(1, 3)),
                H=H, W=W, k=(kH, kW), stride=(sH, sW), padding=(pH, pW), dilation=(dH, dW),
                groups=groups, bias=draw(st.booleans()))


@property_settings(150)
@given(case=conv_cases(), dtype=dtypes, layout=layouts, use_out=st.booleans(),
       num_threads=threads, seed=seeds)
def test_conv2d_property(case, dtype, layout, use_out, num_threads, seed):
    g = case["groups"]
    x, w, b = arrays(seed, dtype, (case["N"], case["C_in"], case["H"], case["W"]),
                     (case["C_out"], case["C_in"] // g) + case["k"], (case["C_out"],))
    b = b if case["bias"] else None
    kwargs = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
                  groups=g)
    expected = R.conv2d(*f64(x, w, b), **kwargs)
    views = [laid_out(a, layout) for a in (x, w, b)]
    guard = Untouched(*views)
    out = maybe_out(use_out, expected.shape, dtype)
    y = suite.conv2d(*views, **kwargs, out=out, num_threads=num_threads)
    assert_close(y, expected, dtype)
    check_out(y, out)
    guard.check()


# ----------------------------------------------------------------------------------------
# deconv2d (each algorithm) and deconv2d_backward
# ----------------------------------------------------------------------------------------

@st.composite
def deconv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    (H, kH, sH, pH, opH, dH), (W, kW, sW, pW, opW, dW) = pairs(draw, deconv_axis())
    return dict(N=draw(st.sampled_from([0, 1, 1, 2, 3])),
                C_in=groups * draw(st.integers(1, 3)), C_out=groups * draw(st.integers(1, 3)),
                H=H, W=W, k=(kH, kW), stride=(sH, sW), padding=(pH, pW),
                output_padding=(opH, opW), dilation=(dH, dW), groups=groups,
                bias=draw(st.booleans()))


def deconv_data(case, dtype, seed):
    g = case["groups"]
    x, w, b = arrays(seed, dtype, (case["N"], case["C_in"], case["H"], case["W"]),
                     (case["C_in"], case["C_out"] // g) + case["k"], (case["C_out"],))
    kwargs = dict(stride=case["stride"], padding=case["padding"],
                  output_padding=case["output_padding"], dilation=case["dilation"], groups=g)
    return x, w, (b if case["bias"] else None), kwargs


@pytest.mark.parametrize("algorithm", suite.DECONV_ALGORITHMS)
@property_settings(100)
@given(case=deconv_cases(), dtype=dtypes, layout=layouts, use_out=st.booleans(),
       num_threads=threads, seed=seeds)
def test_deconv2d_property(algorithm, case, dtype, layout, use_out, num_threads, seed):
    x, w, b, kwargs = deconv_data(case, dtype, seed)
    expected = R.deconv2d(*f64(x, w, b), **kwargs)
    views = [laid_out(a, layout) for a in (x, w, b)]
    guard = Untouched(*views)
    out = maybe_out(use_out, expected.shape, dtype)
    y = suite.deconv2d(*views, **kwargs, algorithm=algorithm, out=out, num_threads=num_threads)
    assert_close(y, expected, dtype)
    check_out(y, out)
    guard.check()


@property_settings(100)
@given(case=deconv_cases(), dtype=dtypes, layout=layouts, num_threads=threads, seed=seeds)
def test_deconv2d_backward_property(case, dtype, layout, num_threads, seed):
    x, w, _, kwargs = deconv_data(case, dtype, seed)
    y_shape = suite.deconv2d_output_shape(x.shape, w.shape, **kwargs)
    (g,) = arrays(seed + 1, dtype, y_shape)
    expected = R.deconv2d_backward(*f64(g, x, w), **kwargs)
    views = [laid_out(a, layout) for a in (g, x, w)]
    guard = Untouched(*views)
    got = suite.deconv2d_backward(*views, **kwargs, num_threads=num_threads)
    for name, a, e in zip(("grad_input", "grad_weight", "grad_bias"), got, expected):
        assert_close(a, e, dtype, err_msg=name)
    guard.check()


# ----------------------------------------------------------------------------------------
# upsample / upsample_backward
# ----------------------------------------------------------------------------------------

@st.composite
def upsample_cases(draw):
    mode, ac = draw(modes)
    N, C = draw(st.sampled_from([0, 1, 1, 2, 3])), draw(st.integers(1, 3))
    if draw(st.booleans()):
        H, W = pairs(draw, st.integers(1, 9))
        size = pairs(draw, st.integers(1, 24))
        how = dict(size=size if draw(st.booleans()) or size[0] != size[1] else size[0])
    else:
        sf = draw(scale_factors())
        # the smallest input giving a non-empty output on each axis
        H, W = (math.ceil(1 / f) + draw(st.integers(0, 7)) for f in scale_pair(sf))
        hypothesis.assume(all(math.floor(n * f) >= 1 for n, f in zip((H, W), scale_pair(sf))))
        how = dict(scale_factor=sf)
    return dict(shape=(N, C, H, W), mode=mode, align_corners=ac, **how)


def up_kwargs(case):
    return {k: v for k, v in case.items() if k != "shape"}


@property_settings(250)
@given(case=upsample_cases(), dtype=dtypes, layout=layouts, use_out=st.booleans(),
       num_threads=threads, seed=seeds)
def test_upsample_property(case, dtype, layout, use_out, num_threads, seed):
    (x,) = arrays(seed, dtype, case["shape"])
    expected = R.upsample(x.astype(np.float64), **up_kwargs(case))
    xv = laid_out(x, layout)
    guard = Untouched(xv)
    out = maybe_out(use_out, expected.shape, dtype)
    y = suite.upsample(xv, **up_kwargs(case), out=out, num_threads=num_threads)
    if case["mode"] == "bilinear":
        assert_close(y, expected, dtype)
    else:   # a gather: bit for bit
        np.testing.assert_array_equal(y, expected.astype(dtype))
        assert y.dtype == dtype
    check_out(y, out)
    guard.check()


@property_settings(250)
@given(case=upsample_cases(), dtype=dtypes, layout=layouts, num_threads=threads, seed=seeds)
def test_upsample_backward_property(case, dtype, layout, num_threads, seed):
    (N, C, H, W), kwargs = case["shape"], up_kwargs(case)
    out_hw = R.upsample_output_size((H, W), kwargs.get("size"), kwargs.get("scale_factor"))
    (g,) = arrays(seed, dtype, (N, C) + tuple(out_hw))
    expected = R.upsample_backward(g.astype(np.float64), case["shape"], **kwargs)
    gv = laid_out(g, layout)
    guard = Untouched(gv)
    gx = suite.upsample_backward(gv, case["shape"], **kwargs, num_threads=num_threads)
    # every input gathers the gradient of all the outputs that read it (460 of them for
    # a 1x1 input upsampled to 20x23): the rounding scales with the sum of their
    # magnitudes, which cancellation can leave far above the result (0.027 from terms
    # whose magnitudes sum to 346)
    terms = R.upsample_backward(np.abs(g).astype(np.float64), case["shape"], **kwargs)
    assert_close(gx, expected, dtype, scale=max(1.0, float(np.max(terms, initial=0.0))))
    assert gx.flags.c_contiguous
    guard.check()


# ----------------------------------------------------------------------------------------
# upsample_conv2d / upsample_add
# ----------------------------------------------------------------------------------------

@st.composite
def upconv_cases(draw):
    mode, ac = draw(modes)
    sf = draw(scale_factors())
    # bias the draw toward the collapsed path (nearest, integer factors, stride 1)
    if draw(st.booleans()):
        mode, ac = draw(st.sampled_from(MODES[:2]))
        sf = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    axes = []
    for f in scale_pair(sf):
        k = draw(st.integers(1, 5))
        s = draw(st.sampled_from([1, 1, 1, 2, 3]))
        d = draw(st.sampled_from([1, 1, 2]))
        span = d * (k - 1) + 1
        p = draw(st.integers(0, span))
        need = max(1, span - 2 * p)           # upsampled size the kernel needs
        n = max(1, math.ceil(need / f))
        while math.floor(n * f) < need:
            n += 1
        axes.append((n + draw(st.integers(0, 4)), k, s, p, d))
    (H, kH, sH, pH, dH), (W, kW, sW, pW, dW) = axes
    return dict(N=draw(st.sampled_from([0, 1, 1, 2])), C_in=groups * draw(st.integers(1, 2)),
                C_out=groups * draw(st.integers(1, 3)), H=H, W=W, k=(kH, kW),
                bias=draw(st.booleans()),
                kwargs=dict(scale_factor=sf, mode=mode, align_corners=ac, stride=(sH, sW),
                            padding=(pH, pW), dilation=(dH, dW), groups=groups))


@property_settings(150)
@given(case=upconv_cases(), dtype=dtypes, layout=layouts, use_out=st.booleans(),
       num_threads=threads, seed=seeds)
def test_upsample_conv2d_property(case, dtype, layout, use_out, num_threads, seed):
    kwargs = case["kwargs"]
    x, w, b = arrays(seed, dtype, (case["N"], case["C_in"], case["H"], case["W"]),
                     (case["C_out"], case["C_in"] // kwargs["groups"]) + case["k"],
                     (case["C_out"],))
    b = b if case["bias"] else None
    collapsed = (kwargs["mode"] != "bilinear" and kwargs["stride"] == (1, 1)
                 and all(float(f).is_integer() for f in scale_pair(kwargs["scale_factor"])))
    note(f"path: {'collapsed kernel' if collapsed else 'on-the-fly im2col'}")
    expected = R.upsample_conv2d(*f64(x, w, b), **kwargs)
    views = [laid_out(a, layout) for a in (x, w, b)]
    guard = Untouched(*views)
    out = maybe_out(use_out, expected.shape, dtype)
    y = suite.upsample_conv2d(*views, **kwargs, out=out, num_threads=num_threads)
    assert_close(y, expected, dtype)
    check_out(y, out)
    guard.check()


@st.composite
def upadd_cases(draw):
    mode, ac = draw(modes)
    N, C = draw(st.sampled_from([0, 1, 1, 2, 3])), draw(st.integers(1, 3))
    H, W = pairs(draw, st.integers(1, 9))
    if draw(st.booleans()):        # an integer factor per axis (FPN, YOLO)
        Hs, Ws = H * draw(st.integers(1, 4)), W * draw(st.integers(1, 4))
    else:
        Hs, Ws = pairs(draw, st.integers(1, 24))
    return dict(x_shape=(N, C, H, W), skip_shape=(N, C, Hs, Ws), mode=mode, align_corners=ac)


@property_settings(250)
@given(case=upadd_cases(), dtype=dtypes, layout=layouts,
       out_kind=st.sampled_from(["new", "out", "in place"]), num_threads=threads, seed=seeds)
def test_upsample_add_property(case, dtype, layout, out_kind, num_threads, seed):
    x, skip = arrays(seed, dtype, case["x_shape"], case["skip_shape"])
    kwargs = dict(mode=case["mode"], align_corners=case["align_corners"])
    expected = R.upsample_add(*f64(x, skip), **kwargs)
    xv = laid_out(x, layout)
    if out_kind == "in place":
        guard = Untouched(xv)
        y = suite.upsample_add(xv, skip, **kwargs, out=skip, num_threads=num_threads)
        assert y is skip
    else:
        sv = laid_out(skip, layout)
        guard = Untouched(xv, sv)
        out = maybe_out(out_kind == "out", expected.shape, dtype)
        y = suite.upsample_add(xv, sv, **kwargs, out=out, num_threads=num_threads)
        check_out(y, out)
    assert_close(y, expected, dtype)
    guard.check()


def test_profile_budget():
    # the long profile really runs 10,000 examples per property
    settings = hypothesis.settings.default
    if HYPOTHESIS_PROFILE == "long":
        assert settings.max_examples >= LONG_EXAMPLES and not settings.derandomize
    else:
        assert settings.derandomize and settings.deadline is None
