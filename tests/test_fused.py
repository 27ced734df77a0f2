"""upsample_conv2d and upsample_add against the reference, PyTorch and suite's own kernels.

``upsample_conv2d`` has two paths (nearest / nearest-exact by integer factors with a stride-1
convolution: the collapsed kernel; everything else: im2col of planes upsampled on the fly);
``conftest.upconv_configs`` covers both with every parameter (integer, fractional and
per-axis scales, kernels 1..5 non-square, padding, dilation, stride 1 and 2, groups, bias,
odd sizes, N = 0). ``upsample_add`` is checked for every mode, up- and downsampling, in
place (``out=skip``) and into ``out=``.
"""

import sys

import numpy as np
import pytest

from conftest import (DTYPE_IDS, DTYPES, UpConv, assert_close, load_reference, load_suite,
                      noncontiguous, randn, require_torch, seeded_rng, upadd_configs,
                      upconv_configs)

suite = load_suite()
R = load_reference()

UPCONV = upconv_configs()
UPCONV_IDS = [c.id for c in UPCONV]
UPCONV_TORCH = [c for c in UPCONV if c.torch_comparable()]
UPADD = upadd_configs()
UPADD_IDS = [c.id for c in UPADD]
UPADD_TORCH = [c for c in UPADD if c.torch_comparable()]

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)


def f64(*arrays):
    return [None if a is None else a.astype(np.float64) for a in arrays]


def reference_upconv(cfg, x, w, b):
    return R.upsample_conv2d(*f64(x, w, b), **cfg.kwargs)


def snapshot(*arrays):
    return [None if a is None else (a.copy(), a.tobytes()) for a in arrays]


def assert_unchanged(arrays, copies):
    for a, c in zip(arrays, copies):
        if a is not None:
            assert a.tobytes() == c[1], "an input was modified"


# ----------------------------------------------------------------------------------------
# upsample_conv2d
# ----------------------------------------------------------------------------------------

ALGORITHMS = ["auto", "winograd", "collapsed", "banded", "measure"]


def applies(cfg, algorithm):
    return {"winograd": cfg.winograd, "collapsed": cfg.collapsed}.get(algorithm, True)


def test_both_paths_are_covered():
    # the sweep must exercise each method with enough variety to mean something
    assert suite.UPSAMPLE_CONV_ALGORITHMS == tuple(ALGORITHMS)
    winograd = [c for c in UPCONV if c.winograd]
    assert len(winograd) >= 8 and len({c.groups for c in winograd}) >= 2
    assert any(c.N > 1 for c in winograd) and any(c.H % 2 or c.W % 2 for c in winograd)
    collapsed = [c for c in UPCONV if c.collapsed]
    on_the_fly = [c for c in UPCONV if not c.collapsed]
    assert len(collapsed) >= 15 and len(on_the_fly) >= 15
    for group in (collapsed, on_the_fly):
        assert len({c.groups for c in group}) >= 2 and any(c.bias for c in group)
        assert any(c.d != (1, 1) for c in group) and any(c.k[0] != c.k[1] for c in group)
    assert {c.mode for c in on_the_fly} == {"nearest", "nearest-exact", "bilinear"}
    assert any(c.s != (1, 1) for c in on_the_fly)
    assert any(not float(v).is_integer() for c in on_the_fly for v in np.ravel(c.sf))


@dtypes
@pytest.mark.parametrize("cfg", UPCONV, ids=UPCONV_IDS)
def test_upsample_conv2d_matches_reference(cfg, dtype):
    x, w, b = cfg.data(dtype)
    copies = snapshot(x, w, b)
    y = suite.upsample_conv2d(x, w, b, **cfg.kwargs)
    assert_close(y, reference_upconv(cfg, x, w, b), dtype)
    assert y.flags.c_contiguous and y.shape == cfg.y_shape
    assert_unchanged((x, w, b), copies)


@dtypes
@pytest.mark.parametrize("cfg", UPCONV_TORCH, ids=[c.id for c in UPCONV_TORCH])
def test_upsample_conv2d_vs_torch(cfg, dtype):
    torch = require_torch()
    F = torch.nn.functional
    x, w, b = cfg.data(dtype)
    # interpolate in the input's dtype (PyTorch's own index arithmetic), convolve in float64
    up = F.interpolate(torch.tensor(x), scale_factor=cfg.sf, mode=cfg.mode,
                       align_corners=cfg.ac).double()
    expected = F.conv2d(up, torch.tensor(w).double(),
                        None if b is None else torch.tensor(b).double(),
                        **cfg.conv_kwargs).numpy()
    assert_close(suite.upsample_conv2d(x, w, b, **cfg.kwargs), expected.astype(dtype), dtype)


@dtypes
@pytest.mark.parametrize("cfg", UPCONV, ids=UPCONV_IDS)
def test_upsample_conv2d_is_conv2d_of_upsample(cfg, dtype):
    # the identity with suite's own unfused kernels
    x, w, b = cfg.data(dtype, seed=1)
    fused = suite.upsample_conv2d(x, w, b, **cfg.kwargs)
    unfused = suite.conv2d(suite.upsample(x, **cfg.up_kwargs), w, b, **cfg.conv_kwargs)
    assert_close(fused, unfused, dtype)


@pytest.mark.parametrize("algorithm", ALGORITHMS[1:])
@dtypes
@pytest.mark.parametrize("cfg", UPCONV, ids=UPCONV_IDS)
def test_upsample_conv2d_every_algorithm(cfg, dtype, algorithm):
    # each method where it applies, against the reference; a clear error where it does not
    x, w, b = cfg.data(dtype, seed=2)
    if not applies(cfg, algorithm):
        with pytest.raises(ValueError, match="algorithm"):
            suite.upsample_conv2d(x, w, b, **cfg.kwargs, algorithm=algorithm)
        return
    copies = snapshot(x, w, b)
    y = suite.upsample_conv2d(x, w, b, **cfg.kwargs, algorithm=algorithm)
    assert_unchanged((x, w, b), copies)
    assert y.shape == cfg.y_shape
    assert_close(y, reference_upconv(cfg, x, w, b), dtype)


@dtypes
@pytest.mark.parametrize("mode,scale,groups,dilation,bias,threads", [
    ("nearest", 2, 1, 1, True, 1),
    ("nearest", 3, 2, 1, False, 2),
    ("nearest-exact", (2, 3), 1, 2, True, 3),
    ("nearest", (1, 4), 3, 1, True, 2),
    ("nearest", 2, 1, 1, True, 2),
])
def test_pointwise_collapse_is_the_convolution_repeated(mode, scale, groups, dilation, bias,
                                                         threads, dtype):
    """A 1x1 convolution without padding after nearest upsampling by integer factors: each
    phase's collapsed kernel is the 1x1 kernel, so "collapsed" convolves once at the input's
    resolution and repeats the result: exactly suite's conv2d then nearest upsampling, and
    the reference's fused definition, into an out= filled with NaN."""
    rng = seeded_rng("pointwise-collapse", mode, scale, groups, dilation, bias, threads)
    c_in = 6 * groups
    x = randn(rng, (2, c_in, 5, 7), dtype)
    w = randn(rng, (4 * groups, 6, 1, 1), dtype)
    b = randn(rng, (4 * groups,), dtype) if bias else None
    copies = snapshot(x, w, b)
    kwargs = dict(scale_factor=scale, mode=mode, dilation=dilation, groups=groups)
    shape = suite.upsample_conv2d(x, w, b, **kwargs, algorithm="collapsed").shape
    out = np.full(shape, np.nan, dtype)
    got = suite.upsample_conv2d(x, w, b, **kwargs, algorithm="collapsed", out=out,
                                num_threads=threads)
    assert got is out
    assert_unchanged((x, w, b), copies)
    small = suite.conv2d(x, w, b, dilation=dilation, groups=groups, num_threads=threads)
    np.testing.assert_array_equal(got, suite.upsample(small, scale_factor=scale, mode=mode))
    assert_close(got, R.upsample_conv2d(*f64(x, w, b), **kwargs), dtype)
    # the plan takes the path, and the cost model counts its FLOPs and its workspace
    plan = suite.fused.UpsampleConvPlan(x.shape, w.shape, dtype,
                                        suite.fused.upsample_conv_geometry(
                                            scale, mode, None, 1, 0, dilation, groups),
                                        "collapsed", threads)
    assert plan._kernel == plan._pointwise_kernel
    cost = suite.cost.upsample_conv2d_cost(x.shape, w.shape, scale, mode, None, 1, 0,
                                           dilation, groups, bias, np.dtype(dtype).itemsize,
                                           threads)
    assert suite.cost.upsample_conv2d_methods(x.shape, w.shape, scale, mode, None, 1, 0,
                                              dilation, groups)[0] == "collapsed"
    assert cost.executed_flops["fused"] == (2 * 2 * 4 * groups * 6 * 5 * 7
                                            + (2 * 4 * groups * 5 * 7 if bias else 0))


@pytest.mark.parametrize("scale,k,p", [(2, 3, 1), (2, 5, 2), (3, 3, 1), (4, 3, 1), (3, 4, 0)])
def test_collapsed_kernel_is_a_transposed_convolution(scale, k, p):
    # docs/design.md: nearest x s + k x k convolution == a transposed convolution (stride s) of the
    # original map with the taps that land on the same input pixel summed. Per axis, output
    # o reads input (o - p + i)//s; a transposed convolution with padding P = k-1-p puts
    # x[q] at o = s*q - P + t, so tap t collects the w[i] with i in [k-1-t, k-1-t+s):
    # T = k + s - 1 taps, and the output sizes agree (s*H + 2p - k + 1).
    rng = seeded_rng("collapse", scale, k, p)
    x = randn(rng, (2, 3, 5, 4), np.float64)
    w = randn(rng, (4, 3, k, k), np.float64)
    T, P = k + scale - 1, k - 1 - p
    M = np.zeros((T, k))
    for t in range(T):
        for i in range(max(0, k - 1 - t), min(k, k - 1 - t + scale)):
            M[t, i] = 1.0
    wd = np.ascontiguousarray(np.einsum("ai,bj,ocij->coab", M, M, w))   # (C_in, C_out, T, T)
    y = suite.deconv2d(x, wd, stride=scale, padding=P)
    assert_close(suite.upsample_conv2d(x, w, scale_factor=scale, padding=p), y)
    if (scale, k, p) == (2, 3, 1):             # docs/design.md: a 4x4, stride 2, pad 1 kernel
        assert (T, P) == (4, 1)


@dtypes
@pytest.mark.parametrize("cfg", [c for c in UPCONV if c.N > 0][:26:2],
                         ids=lambda c: c.id)
def test_upsample_conv2d_empty_batch(cfg, dtype):
    x, w, b = cfg.data(dtype)
    y = suite.upsample_conv2d(x[:0], w, b, **cfg.kwargs)
    assert y.shape == (0,) + cfg.y_shape[1:] and y.dtype == dtype


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran", "negative"])
@pytest.mark.parametrize("cfg", [UPCONV[i] for i in (0, 5, 7, 15, 18, 20)],
                         ids=lambda c: c.id)
def test_upsample_conv2d_noncontiguous(cfg, kind):
    x, w, b = cfg.data(np.float64)
    expected = suite.upsample_conv2d(x, w, b, **cfg.kwargs)
    views = [None if a is None else noncontiguous(a, kind) for a in (x, w, b)]
    copies = snapshot(*views)
    y = suite.upsample_conv2d(*views, **cfg.kwargs)
    assert_close(y, expected)
    assert_close(y, reference_upconv(cfg, x, w, b))
    assert y.flags.c_contiguous
    assert_unchanged(views, copies)


@dtypes
@pytest.mark.parametrize("cfg", [UPCONV[i] for i in (0, 7, 15, 20, 25)], ids=lambda c: c.id)
def test_upsample_conv2d_out(cfg, dtype):
    x, w, b = cfg.data(dtype)
    out = np.full(cfg.y_shape, np.nan, dtype=dtype)
    for _ in range(2):   # stale values in out never leak in
        y = suite.upsample_conv2d(x, w, b, **cfg.kwargs, out=out)
        assert y is out
        assert_close(out, reference_upconv(cfg, x, w, b), dtype)


def test_upsample_conv2d_scale_factor_forms_agree():
    cfg = UpConv(1, 2, 3, 4, 5, 3, 2, p=1)
    x, w, b = cfg.data(np.float32)
    y = suite.upsample_conv2d(x, w, b, scale_factor=2, padding=1)
    for sf in (2.0, (2, 2), (2.0, 2), [2, 2], np.float64(2.0), np.int64(2)):
        np.testing.assert_array_equal(suite.upsample_conv2d(x, w, b, scale_factor=sf,
                                                            padding=1), y)


def test_upsample_conv2d_default_is_nearest_x2():
    x, w, b = UpConv(1, 2, 3, 4, 5, 3).data(np.float64)
    assert_close(suite.upsample_conv2d(x, w, b),
                 R.conv2d(R.upsample(x, scale_factor=2), w, b))


# ----------------------------------------------------------------------------------------
# upsample_add
# ----------------------------------------------------------------------------------------

@dtypes
@pytest.mark.parametrize("cfg", UPADD, ids=UPADD_IDS)
def test_upsample_add_matches_reference(cfg, dtype):
    x, skip = cfg.data(dtype)
    copies = snapshot(x, skip)
    y = suite.upsample_add(x, skip, **cfg.kwargs)
    assert_close(y, R.upsample_add(*f64(x, skip), **cfg.kwargs), dtype)
    assert y.flags.c_contiguous and y.shape == skip.shape
    assert_unchanged((x, skip), copies)


@dtypes
@pytest.mark.parametrize("cfg", UPADD, ids=UPADD_IDS)
def test_upsample_add_is_upsample_plus_skip(cfg, dtype):
    x, skip = cfg.data(dtype, seed=1)
    fused = suite.upsample_add(x, skip, **cfg.kwargs)
    unfused = suite.upsample(x, size=skip.shape[-2:], **cfg.kwargs) + skip
    if cfg.mode == "bilinear":
        assert_close(fused, unfused, dtype)
    else:   # a gather and one addition: exactly the same rounding
        np.testing.assert_array_equal(fused, unfused)


@dtypes
@pytest.mark.parametrize("cfg", UPADD_TORCH, ids=[c.id for c in UPADD_TORCH])
def test_upsample_add_vs_torch(cfg, dtype):
    torch = require_torch()
    x, skip = cfg.data(dtype)
    expected = (torch.nn.functional.interpolate(torch.tensor(x), size=(cfg.Hs, cfg.Ws),
                                                mode=cfg.mode, align_corners=cfg.ac)
                + torch.tensor(skip)).numpy()
    assert_close(suite.upsample_add(x, skip, **cfg.kwargs), expected, dtype)


@dtypes
@pytest.mark.parametrize("cfg", UPADD[::3], ids=UPADD_IDS[::3])
def test_upsample_add_in_place(cfg, dtype):
    x, skip = cfg.data(dtype)
    expected = suite.upsample_add(x, skip, **cfg.kwargs)
    x_bytes = x.tobytes()
    y = suite.upsample_add(x, skip, **cfg.kwargs, out=skip)
    assert y is skip
    np.testing.assert_array_equal(skip, expected)
    assert x.tobytes() == x_bytes


@dtypes
@pytest.mark.parametrize("cfg", UPADD[::5], ids=UPADD_IDS[::5])
def test_upsample_add_out(cfg, dtype):
    x, skip = cfg.data(dtype)
    out = np.full(skip.shape, np.nan, dtype=dtype)
    for _ in range(2):
        y = suite.upsample_add(x, skip, **cfg.kwargs, out=out)
        assert y is out
        assert_close(out, R.upsample_add(*f64(x, skip), **cfg.kwargs), dtype)


@pytest.mark.parametrize("mode,ac", [("nearest", None), ("bilinear", True)])
def test_upsample_add_overlap_refused(mode, ac):
    rng = seeded_rng("overlap", mode)
    buf = randn(rng, (2 * 3 * 8 * 10,), np.float32)
    skip = buf.reshape(2, 3, 8, 10)
    x = randn(rng, (2, 3, 4, 5), np.float32)
    before = buf.copy()
    # a different view of skip's memory is not "out=skip": refused
    with pytest.raises(ValueError, match="out"):
        suite.upsample_add(x, skip, mode=mode, align_corners=ac, out=skip[...])
    with pytest.raises(ValueError, match="out"):
        suite.upsample_add(x, skip, mode=mode, align_corners=ac, out=buf.reshape(2, 3, 8, 10))
    # x inside skip, with out=skip (in place) or a fresh out
    x_in_skip = buf[:2 * 3 * 4 * 5].reshape(2, 3, 4, 5)
    with pytest.raises(ValueError, match="out|x"):
        suite.upsample_add(x_in_skip, skip, mode=mode, align_corners=ac, out=skip)
    out_over_x = np.empty(2 * 3 * 8 * 10, np.float32)
    x_in_out = out_over_x[:2 * 3 * 4 * 5].reshape(2, 3, 4, 5)
    with pytest.raises(ValueError, match="out"):
        suite.upsample_add(x_in_out, skip, mode=mode, align_corners=ac,
                           out=out_over_x.reshape(2, 3, 8, 10))
    np.testing.assert_array_equal(buf, before)


def test_upsample_add_in_place_needs_a_writeable_contiguous_skip():
    rng = seeded_rng("inplace-bad")
    x = randn(rng, (1, 2, 3, 4), np.float64)
    skip_t = noncontiguous(randn(rng, (1, 2, 6, 8), np.float64), "transposed")
    with pytest.raises(ValueError, match="skip|out"):
        suite.upsample_add(x, skip_t, out=skip_t)
    skip_ro = noncontiguous(randn(rng, (1, 2, 6, 8), np.float64), "readonly")
    with pytest.raises(ValueError, match="skip|out"):
        suite.upsample_add(x, skip_ro, out=skip_ro)


@dtypes
@pytest.mark.parametrize("mode,ac", [("nearest", None), ("nearest-exact", None),
                                     ("bilinear", False), ("bilinear", True)])
def test_upsample_add_empty_batch(mode, ac, dtype):
    rng = seeded_rng("upadd-empty", mode)
    x = randn(rng, (2, 3, 4, 5), dtype)[:0]
    skip = randn(rng, (2, 3, 8, 9), dtype)[:0]
    y = suite.upsample_add(x, skip, mode=mode, align_corners=ac)
    assert y.shape == (0, 3, 8, 9) and y.dtype == dtype
    assert suite.upsample_add(x, skip, mode=mode, align_corners=ac, out=skip) is skip


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran", "negative"])
@pytest.mark.parametrize("cfg", [UPADD[i] for i in (0, 3, 20, 30)], ids=lambda c: c.id)
def test_upsample_add_noncontiguous(cfg, kind):
    x, skip = cfg.data(np.float64)
    xv, sv = noncontiguous(x, kind), noncontiguous(skip, kind)
    copies = snapshot(xv, sv)
    y = suite.upsample_add(xv, sv, **cfg.kwargs)
    np.testing.assert_array_equal(y, suite.upsample_add(x, skip, **cfg.kwargs))
    assert_close(y, R.upsample_add(x, skip, **cfg.kwargs))
    assert_unchanged((xv, sv), copies)


@pytest.mark.parametrize("rows", [1, 2, 3])
@dtypes
@pytest.mark.parametrize("cfg", [c for c in UPCONV if not c.collapsed and c.N > 0][:12],
                         ids=[c.id for c in UPCONV if not c.collapsed and c.N > 0][:12])
def test_banded_bands_of_few_rows(monkeypatch, cfg, dtype, rows):
    # bands of 1-3 output rows: consecutive bands on one thread share the kernel's halo of
    # upsampled rows, which the kernel keeps instead of interpolating again
    monkeypatch.setattr(sys.modules["suite.fused"], "band_rows", lambda *args: rows)
    x, w, b = cfg.data(dtype, seed=3)
    expected = reference_upconv(cfg, x, w, b)
    for threads in (1, 2, 3):
        y = suite.upsample_conv2d(x, w, b, **cfg.kwargs, algorithm="banded",
                                  num_threads=threads)
        assert_close(y, expected, dtype)


@pytest.mark.parametrize("scale,tiny,larger,method,small", [
    # nearest x2 + 3x3: every collapsed kernel 2x2, Winograd applies; transforming the
    # weights on every call costs more than Winograd saves on a 5x4 map, 512 channels
    (2, ((1, 512, 5, 4), (512, 512, 3, 3)), ((1, 256, 16, 16), (256, 256, 3, 3)), "winograd",
     ((1, 96, 3, 2), (160, 96, 3, 3))),
    # nearest x4 + 3x3: the collapsed kernel, its pack against what it saves
    (4, ((1, 384, 4, 4), (192, 384, 3, 3)), ((2, 64, 32, 32), (64, 64, 3, 3)), "collapsed",
     ((1, 96, 4, 4), (48, 96, 3, 3))),
])
def test_auto_weighs_the_weight_preparation_against_the_flops_it_saves(scale, tiny, larger,
                                                                       method, small):
    """On a tiny map with wide channels a function call (which prepares the collapsed or
    transformed weights each time) runs banded; a layer object (which prepared them once)
    and a larger map keep the method; auto's result is the reference's and every
    method's."""
    from suite.fused import UpsampleConvPlan, upsample_conv_geometry

    geometry = upsample_conv_geometry(scale, "nearest", None, 1, 1, 1, 1)
    assert UpsampleConvPlan.candidates(*tiny, geometry)[0] == "banded"
    assert UpsampleConvPlan.candidates(*tiny, geometry, prepared=True)[0] == method
    assert UpsampleConvPlan.candidates(*larger, geometry)[0] == method
    rng = np.random.default_rng()
    x = rng.standard_normal(small[0]).astype(np.float32)
    w = rng.standard_normal(small[1]).astype(np.float32)
    assert UpsampleConvPlan.candidates(x.shape, w.shape, geometry)[0] == "banded"
    auto = suite.upsample_conv2d(x, w, scale_factor=scale, padding=1)
    assert_close(auto, R.upsample_conv2d(x.astype(np.float64), w.astype(np.float64),
                                         scale_factor=scale, padding=1), np.float32)
    for algorithm in UpsampleConvPlan.candidates(x.shape, w.shape, geometry):
        np.testing.assert_allclose(auto, suite.upsample_conv2d(
            x, w, scale_factor=scale, padding=1, algorithm=algorithm), rtol=1e-4, atol=1e-4)


# The banded kernel makes bilinear x2 rows (align_corners=False) from vectors (pyx/_bilinear_rows.h:
# both input rows' horizontal values and their blend in registers): the same bits as the
# table formula, with AVX2 and the portable path, bands of 1-4 rows, slices of one input
# channel or all of them, 1-3 threads; and
# suite.upsample_conv2d takes that path against the reference.
@dtypes
@pytest.mark.parametrize("shape,kernel,padding", [
    ((1, 2, 3, 2), 3, 1), ((2, 3, 4, 7), 3, 1), ((1, 2, 5, 9), 1, 0), ((1, 4, 3, 16), 3, 0),
    ((2, 2, 4, 21), 5, 2)])
def test_banded_bilinear_x2_rows_are_the_table_formula(shape, kernel, padding, dtype):
    banded = sys.modules["suite._banded"]
    upsample_module = sys.modules["suite.upsample"]
    rng = np.random.default_rng([shape[3], kernel, padding, np.dtype(dtype).itemsize])
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((3, shape[1], kernel, kernel)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    n, c, h, wd = shape
    plan = upsample_module.upsample_plan((h, wd), (2 * h, 2 * wd), (2.0, 2.0), "bilinear",
                                         False, np.dtype(dtype).str)
    assert plan.x2_columns
    out_hw = (2 * h + 2 * padding - kernel + 1, 2 * wd + 2 * padding - kernel + 1)
    # per band height and slice of input channels (0: all): the GEMMs' shapes differ
    results = {(rows, channels): [] for rows in (1, 4) for channels in (0, 1)}
    isas = ["avx2", "sse2"] if banded.vector_isa() == "avx2" else ["sse2"]
    try:
        for isa in isas:
            banded.vector_isa(allow_avx2=isa == "avx2")
            for x2 in (True, False):
                for rows, channels in results:
                    for threads in (1, 3):
                        out = np.empty((n, 3) + out_hw, dtype=dtype)
                        banded.banded_bilinear_conv2d(x, w, b, out, *plan.h, *plan.w, 1, 1,
                                                      padding, padding, 1, 1, 1, rows,
                                                      channels, threads, x2)
                        results[rows, channels].append(out)
    finally:
        banded.vector_isa(allow_avx2=True)
    expected = R.upsample_conv2d(x, w, b, scale_factor=2, mode="bilinear", padding=padding)
    for same_rows in results.values():
        for r in same_rows[1:]:
            np.testing.assert_array_equal(r, same_rows[0])
        assert_close(same_rows[0], expected, dtype)
    assert_close(suite.upsample_conv2d(x, w, b, scale_factor=2, mode="bilinear",
                                       padding=padding, algorithm="banded"), expected, dtype)
