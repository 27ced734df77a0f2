"""upsample, upsample_backward and bilinear_kernel against the reference and PyTorch."""

import sys

import numpy as np
import pytest

from conftest import (require_torch, DTYPE_IDS, DTYPES, Up, assert_adjoint, assert_close, load_reference,
                      load_suite, noncontiguous, randn, seeded_rng, upsample_configs)

suite = load_suite()
_upsample = sys.modules["suite._upsample"]
R = load_reference()

UP = upsample_configs()
UP_IDS = [c.id for c in UP]
UP_TORCH = [c for c in UP if c.torch_comparable()]
UP_TORCH_IDS = [c.id for c in UP_TORCH]

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)


def data(cfg, dtype):
    rng = seeded_rng("up", cfg.id)
    return randn(rng, cfg.x_shape, dtype), randn(rng, cfg.y_shape, dtype)


@dtypes
@pytest.mark.parametrize("cfg", UP, ids=UP_IDS)
def test_upsample_matches_reference(cfg, dtype):
    x, _ = data(cfg, dtype)
    copy = x.copy()
    y = suite.upsample(x, **cfg.kwargs)
    assert_close(y, R.upsample(x.astype(np.float64), **cfg.kwargs), dtype)
    assert y.flags.c_contiguous
    if cfg.mode != "bilinear":  # a pure gather: exact
        np.testing.assert_array_equal(y, R.upsample(x, **cfg.kwargs))
    np.testing.assert_array_equal(x, copy)


@dtypes
@pytest.mark.parametrize("cfg", UP, ids=UP_IDS)
def test_upsample_backward_matches_reference(cfg, dtype):
    _, g = data(cfg, dtype)
    copy = g.copy()
    gx = suite.upsample_backward(g, cfg.x_shape, **cfg.kwargs)
    assert_close(gx, R.upsample_backward(g.astype(np.float64), cfg.x_shape, **cfg.kwargs),
                 dtype)
    assert gx.flags.c_contiguous
    np.testing.assert_array_equal(g, copy)


@dtypes
@pytest.mark.parametrize("cfg", UP_TORCH, ids=UP_TORCH_IDS)
def test_upsample_and_backward_vs_torch(cfg, dtype):
    torch = require_torch()
    x, g = data(cfg, dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, size=cfg.size, scale_factor=cfg.scale_factor,
                                         mode=cfg.mode, align_corners=cfg.align_corners)
    ty.backward(torch.tensor(g))
    assert_close(suite.upsample(x, **cfg.kwargs), ty.detach().numpy().astype(dtype), dtype)
    assert_close(suite.upsample_backward(g, cfg.x_shape, **cfg.kwargs),
                 tx.grad.numpy().astype(dtype), dtype)


@pytest.mark.parametrize("cfg", UP, ids=UP_IDS)
def test_upsample_adjoint(cfg):
    x, g = data(cfg, np.float64)
    lhs = np.vdot(suite.upsample(x, **cfg.kwargs), g)
    rhs = np.vdot(x, suite.upsample_backward(g, cfg.x_shape, **cfg.kwargs))
    assert_adjoint(lhs, rhs)


def test_nearest_3x3_to_6x6_literal():
    x = np.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]], dtype=np.float32)[None, None]
    expected = np.array([
        [1., 1., 2., 2., 3., 3.],
        [1., 1., 2., 2., 3., 3.],
        [4., 4., 5., 5., 6., 6.],
        [4., 4., 5., 5., 6., 6.],
        [7., 7., 8., 8., 9., 9.],
        [7., 7., 8., 8., 9., 9.],
    ], dtype=np.float32)
    for kw in (dict(scale_factor=2), dict(size=6), dict(size=(6, 6))):
        y = suite.upsample(x, mode="nearest", **kw)
        np.testing.assert_array_equal(y[0, 0], expected)
        assert y.dtype == np.float32
    np.testing.assert_array_equal(
        suite.upsample_backward(expected[None, None], (1, 1, 3, 3), scale_factor=2)[0, 0],
        4 * x[0, 0])


@pytest.mark.parametrize("in_size,out_size,mode,dst,src", [
    (4, 94, "nearest", 47, 2),          # docs/design.md's tie examples: exact integer rules
    (4, 97, "nearest-exact", 48, 2),
    (3, 7, "nearest", 6, 2),
    (5, 2, "nearest-exact", 1, 3),
])
def test_nearest_exact_integer_rule(in_size, out_size, mode, dst, src):
    x = np.arange(in_size, dtype=np.float64)[None, None, None, :] + 0.25
    y = suite.upsample(x, size=(1, out_size), mode=mode)
    assert y[0, 0, 0, dst] == src + 0.25


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear"])
@pytest.mark.parametrize("sf", [(1.19, 2.1), (2.19, 1.1), (2.2, 0.5)], ids=str)
def test_non_integer_scale_factor_rules(mode, sf):
    # floor(dst / sf) with the scale factor (not the size ratio), plus PyTorch's fast paths
    cfg = Up(1, 2, 5, 6, mode, scale_factor=sf)
    x, g = data(cfg, np.float64)
    y = suite.upsample(x, scale_factor=sf, mode=mode)
    assert_close(y, R.upsample(x, scale_factor=sf, mode=mode))
    assert_close(suite.upsample_backward(g, x.shape, scale_factor=sf, mode=mode),
                 R.upsample_backward(g, x.shape, scale_factor=sf, mode=mode))


@dtypes
@pytest.mark.parametrize("mode,ac", [("nearest", None), ("nearest-exact", None),
                                     ("bilinear", False), ("bilinear", True)])
def test_upsample_empty_batch(mode, ac, dtype):
    x = randn(seeded_rng("e", mode), (2, 3, 4, 5), dtype)[:0]
    y = suite.upsample(x, scale_factor=2, mode=mode, align_corners=ac)
    assert y.shape == (0, 3, 8, 10) and y.dtype == dtype
    gx = suite.upsample_backward(np.empty((0, 3, 8, 10), dtype), (0, 3, 4, 5), scale_factor=2,
                                 mode=mode, align_corners=ac)
    assert gx.shape == (0, 3, 4, 5) and gx.dtype == dtype


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran"])
@pytest.mark.parametrize("cfg", [c for c in UP if c.N * c.C > 1 and min(c.x_shape[2:]) > 1][::9],
                         ids=lambda c: c.id)
def test_upsample_noncontiguous(cfg, kind):
    x, g = data(cfg, np.float64)
    xv, gv = noncontiguous(x, kind), noncontiguous(g, kind)
    xc, gc = xv.copy(), gv.copy()
    assert_close(suite.upsample(xv, **cfg.kwargs), R.upsample(x, **cfg.kwargs))
    assert_close(suite.upsample_backward(gv, cfg.x_shape, **cfg.kwargs),
                 R.upsample_backward(g, cfg.x_shape, **cfg.kwargs))
    np.testing.assert_array_equal(xv, xc)
    np.testing.assert_array_equal(gv, gc)


@pytest.mark.parametrize("kind", ["transposed", "sliced"])
def test_upsample_channel_slice_view(kind):
    # a channel-sliced view of a bigger batch (a common real-world layout)
    big = randn(seeded_rng("big", kind), (2, 6, 5, 7), np.float32)
    v = big[:, 1:5:2] if kind == "sliced" else big.transpose(0, 1, 3, 2)
    assert_close(suite.upsample(v, scale_factor=3, mode="bilinear"),
                 R.upsample(v.astype(np.float64), scale_factor=3, mode="bilinear"), np.float32)


@dtypes
@pytest.mark.parametrize("mode,ac", [("nearest", None), ("nearest-exact", None),
                                     ("bilinear", False), ("bilinear", True)])
def test_upsample_out(mode, ac, dtype):
    x = randn(seeded_rng("out", mode, ac), (2, 3, 4, 5), dtype)
    out = np.full((2, 3, 9, 7), np.nan, dtype=dtype)
    for _ in range(2):
        y = suite.upsample(x, size=(9, 7), mode=mode, align_corners=ac, out=out)
        assert y is out
        assert_close(out, R.upsample(x.astype(np.float64), size=(9, 7), mode=mode,
                                     align_corners=ac), dtype)


# ----------------------------------------------------------------------------------------
# bilinear_kernel
# ----------------------------------------------------------------------------------------

def test_bilinear_kernel_literal():
    v = np.array([0.25, 0.75, 0.75, 0.25])
    w = suite.bilinear_kernel(2, 3)
    assert w.shape == (3, 1, 4, 4) and w.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(w[c, 0], np.outer(v, v), rtol=0, atol=1e-7)


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 5, 8, 32])
@dtypes
def test_bilinear_kernel_matches_reference(factor, dtype):
    w = suite.bilinear_kernel(factor, 2, dtype=dtype)
    assert w.dtype == dtype
    assert_close(w, R.bilinear_kernel(factor, 2), dtype)
    assert w.flags.c_contiguous and w.flags.writeable


# Nearest x2 in both directions runs vector row kernels (pyx/_nearest_rows.h): AVX2 where the CPU
# has it, else SSE2, with the last vector of a row overlapping the one before; streaming
# stores into a caller's out= larger than the last-level cache. Every path is forced here
# on small maps (the cache size patched to 0 for streaming, AVX2 turned off for SSE2), on
# widths below, at and across each vector length, outputs aligned on 16 bytes, on 8 (one
# pair written first) and on 4 (no streaming possible: plain stores), both dtypes, 1-3
# threads; the elements around the output are checked untouched.
@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("offset", [0, 1, 2, 3])
@dtypes
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 2, 4, 8), (1, 1, 1, 1), (3, 2, 6, 3),
                                   (1, 2, 3, 2), (2, 1, 2, 4), (1, 3, 3, 9), (1, 2, 2, 13),
                                   (2, 2, 3, 16), (1, 1, 4, 17), (1, 2, 2, 33), (1, 2, 3, 6),
                                   (2, 1, 2, 10), (1, 1, 3, 18)])
def test_nearest_x2_row_kernels(monkeypatch, row_isa, shape, dtype, offset, streaming):
    if streaming:
        monkeypatch.setattr(sys.modules["suite._plan"], "last_level_cache_bytes", lambda: 0)
    x = randn(seeded_rng("stream", shape, offset), shape, dtype)
    x_before = x.copy()
    n, c, h, w = shape
    size = n * c * 4 * h * w
    expected = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)
    buffer = np.full(size + offset + 1, np.nan, dtype=dtype)
    out = buffer[offset:offset + size].reshape(n, c, 2 * h, 2 * w)
    for threads in (1, 2, 3):
        out[...] = np.nan
        y = suite.upsample(x, scale_factor=2, out=out, num_threads=threads)
        assert y is out
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(suite.upsample(x, scale_factor=2, num_threads=threads),
                                      expected)
    assert np.isnan(buffer[:offset]).all() and np.isnan(buffer[offset + size:]).all()
    np.testing.assert_array_equal(x, x_before)


def test_nearest_x2_streaming_full_size():
    # a map and output larger than the last-level cache: the path a large out= takes
    x = randn(seeded_rng("stream-full"), (1, 64, 256, 256), np.float32)
    out = np.empty((1, 64, 512, 512), dtype=np.float32)
    plan = sys.modules["suite._plan"]
    assert plan.streams_past_cache(x.nbytes + out.nbytes, 1) == (
        x.nbytes + out.nbytes > plan.cache_share_bytes(1))
    suite.upsample(x, scale_factor=2, out=out)
    np.testing.assert_array_equal(out, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3))


def test_last_level_cache_size_is_plausible():
    size = sys.modules["suite._plan"].last_level_cache_bytes()
    assert isinstance(size, int) and 2**16 <= size <= 2**34


def test_cache_share_of_a_call_grows_with_its_threads(monkeypatch):
    # the cache divided among the CPUs that share it, times the threads, all of it at
    # most, half of it at least
    plan = sys.modules["suite._plan"]
    assert plan.last_level_cache_sharing() >= 1
    monkeypatch.setattr(plan, "last_level_cache_bytes", lambda: 32 << 20)
    monkeypatch.setattr(plan, "last_level_cache_sharing", lambda: 2)
    assert [plan.cache_share_bytes(t) for t in (1, 2, 3)] == [16 << 20, 32 << 20, 32 << 20]
    monkeypatch.setattr(plan, "last_level_cache_sharing", lambda: 8)
    assert [plan.cache_share_bytes(t) for t in (1, 4, 6, 8, 16)] == \
        [16 << 20, 16 << 20, 24 << 20, 32 << 20, 32 << 20]
    assert plan.streams_past_cache((24 << 20) + 1, 6) and not plan.streams_past_cache(24 << 20, 6)


# Bilinear x2 (align_corners=False) computes the interior columns from vectors and blends rows
# from vectors (pyx/_bilinear_rows.h): the same products and sums as the table loop, so the same bits.
# Checked against the kernel's table path (x2_columns=False) with AVX2 and SSE2, widths below,
# at and across each vector length, infinities and NaNs at the edges and inside, 1-3 threads;
# and against the reference.
@dtypes
@pytest.mark.parametrize("shape", [(1, 1, 1, 2), (1, 2, 3, 3), (2, 1, 2, 4), (1, 3, 5, 5),
                                   (1, 1, 4, 8), (1, 2, 3, 9), (1, 1, 2, 13), (2, 2, 3, 17),
                                   (1, 1, 17, 18), (1, 2, 2, 33)])
@pytest.mark.parametrize("size_given", [False, True], ids=["scale", "size"])
def test_bilinear_x2_vector_rows_are_the_table_loop(row_isa, shape, dtype, size_given):
    rng = seeded_rng("bilinear-x2", shape, row_isa)
    x = randn(rng, shape, dtype)
    flat = x.reshape(-1)
    special = rng.choice(flat.size, size=min(3, flat.size), replace=False)
    flat[special[:1]] = np.inf
    flat[special[1:2]] = -np.inf
    flat[special[2:]] = np.nan
    x_before = x.copy()
    n, c, h, w = shape
    kwargs = {"size": (2 * h, 2 * w)} if size_given else {"scale_factor": 2}
    plan = sys.modules["suite.upsample"].upsample_plan(
        (h, w), (2 * h, 2 * w), (None, None) if size_given else (2.0, 2.0), "bilinear", False,
        np.dtype(dtype).str)
    assert plan.x2_columns
    tables = plan.h[:2] + plan.h[2:] + plan.w[:2] + plan.w[2:]
    expected = np.empty((n * c, 2 * h, 2 * w), dtype=dtype)
    _upsample.bilinear_forward(x.reshape(n * c, h, w), expected, *tables, 1, False)
    expected = expected.reshape(n, c, 2 * h, 2 * w)
    for threads in (1, 2, 3):
        y = suite.upsample(x, mode="bilinear", num_threads=threads, **kwargs)
        np.testing.assert_array_equal(y, expected)
    finite = np.isfinite(x).all(axis=(2, 3), keepdims=True) | np.zeros_like(x, dtype=bool)
    ref = R.upsample(np.where(finite, x, 0), scale_factor=2, mode="bilinear")
    clean = np.isfinite(expected).all(axis=(2, 3)) & finite[:, :, 0, 0]
    assert_close(expected[clean], ref[clean], dtype)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("in_w,out_w,scale,align_corners,x2", [
    (13, 26, 2.0, False, True), (13, 26, None, False, True), (2, 4, 2.0, False, True),
    (13, 26, 2.0, True, False), (1, 2, 2.0, False, False), (8, 16, 2.1, False, False),
    (8, 17, None, False, False), (8, 24, 3.0, False, False)])
def test_bilinear_x2_columns_rule(in_w, out_w, scale, align_corners, x2):
    plan = sys.modules["suite.upsample"].upsample_plan(
        (3, in_w), (6, out_w), (2.0, scale), "bilinear", align_corners, "<f4")
    assert plan.x2_columns is x2


# Nearest at an integer width scale k other than x2 in both directions writes every output row
# from registers (pyx/_nearest_rows.h): permuted blocks of 8 inputs for k < 8 (float32), broadcast
# stores otherwise, the row's last values one by one; float32 rows of fewer than 8 inputs
# (and 8 outputs or more) by the fractional scales' kernel, one masked load a row. Against
# np.repeat with AVX2 and SSE2, widths below and across 8, every k from 2 to 9 and a height
# scale of its own, both dtypes, 1-3 threads, the elements around the output untouched.
@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
@dtypes
@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7, 8, 9, 16])
@pytest.mark.parametrize("width", [1, 3, 7, 8, 9, 13, 16, 21])
def test_nearest_integer_width_scales(monkeypatch, row_isa, k, width, dtype, streaming):
    # streaming: forced through the cache size (only x2 in both directions, kh = k = 2, takes
    # it; other scales store plainly whatever the caller asks); the output aligned on 32
    # bytes or not
    if streaming:
        monkeypatch.setattr(sys.modules["suite._plan"], "last_level_cache_bytes", lambda: 0)
    for kh, offset in ((1, 1), (3, 0), (2, 8)):
        shape = (2, 3, 4, width)
        x = randn(seeded_rng("nearest-k", k, width, kh), shape, dtype)
        expected = np.repeat(np.repeat(x, kh, axis=2), k, axis=3)
        size = expected.size
        raw = np.full(size + 32, np.nan, dtype=dtype)
        start = (-raw.ctypes.data % 32) // raw.itemsize       # 32-byte aligned
        buffer = raw[start:start + size + 9]
        out = buffer[offset:offset + size].reshape(expected.shape)
        plan = sys.modules["suite.upsample"].upsample_plan(
            (4, width), expected.shape[2:], (float(kh), float(k)), "nearest", None,
            np.dtype(dtype).str)
        if not plan.x2:     # (x2 both ways: its own kernel, whatever the plan holds)
            assert bool(plan.gather) == (dtype == np.float32 and width < 8 and width * k >= 8)
        for threads in (1, 2, 3):
            out[...] = np.nan
            suite.upsample(x, scale_factor=(kh, k), out=out, num_threads=threads)
            np.testing.assert_array_equal(out, expected)
        assert np.isnan(buffer[:offset]).all() and np.isnan(buffer[offset + size:]).all()


# Nearest at a fractional width scale, float32 rows of 8 outputs or more: blocks of 8
# outputs, each one load of 8 consecutive inputs and a permute, stored into every output row
# that reads the input row (pyx/_nearest_rows.h, suite_nearest_gather_f32; tables from
# suite.upsample._gather_blocks); rows of 1-7 inputs loaded once, masked to the row, every
# block permuted from it; blocks that read further apart gather value by value, and
# downscaling past 8/7 keeps the scalar loop. Against the reference (a copy of values: the
# same bits), with AVX2 and without, 1-3 threads, into out= inside a NaN-filled buffer
# whose elements around the output stay untouched (the last plane's last row of fewer than
# 8 inputs ends the input array: a load past it would read outside x).
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("scale", [1.1, 1.25, 1.5, 1.75, 2.5, 3.3, 7.9, 0.95, 0.6])
@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 9, 13, 16, 21, 33, 64])
def test_nearest_fractional_width_scales(row_isa, width, scale, mode):
    upsample_module = sys.modules["suite.upsample"]
    shape = (2, 3, 5, width)
    x = randn(seeded_rng("nearest-fraction", width, scale, mode), shape, np.float32)
    if int(width * scale) < 1:
        with pytest.raises(ValueError, match="empty output"):
            suite.upsample(x, scale_factor=(1.5, scale), mode=mode)
        return
    expected = R.upsample(x, scale_factor=(1.5, scale), mode=mode)
    out_w = expected.shape[3]
    index = upsample_module._nearest_index(width, out_w, scale, mode == "nearest-exact")
    base, perm = upsample_module._gather_blocks(index, width, short_rows=True) or (None, None)
    if out_w < 8:
        assert base is None                 # no block of 8 outputs
    elif width < 8:
        assert base is not None             # rows under 8 inputs: the masked load
    if width < 8 and out_w >= 8:
        # one load of the whole row, masked: every block from its start, lanes inside it
        assert (base == 0).all() and ((perm >= 0) & (perm < width)).all()
        np.testing.assert_array_equal(
            perm.reshape(-1, 8), index[np.minimum(np.arange(0, out_w, 8), out_w - 8)[:, None]
                                       + np.arange(8)])
        assert upsample_module._gather_blocks(index, width) == ()     # not bilinear's
        base = None
    if width >= 8 and out_w >= 8 and scale > 1:
        assert base is not None and (base >= 0).all() and ((perm >= 0) & (perm < 8)).all()
    if base is not None:
        # every load of 8 values stays inside the input row (the last blocks are moved back)
        assert (base[base >= 0] + 8 <= width).all()
    if base is not None:
        # kept only where at least half the blocks load their 8 values at once
        assert (base >= 0).sum() * 2 >= len(base)
    if scale <= 0.6:
        # downscaling well past 8/7: no block of 8 outputs reads 8 consecutive inputs, so
        # the scalar loop runs
        assert base is None
    size = expected.size
    buffer = np.full(size + 16, np.nan, np.float32)
    out = buffer[8:8 + size].reshape(expected.shape)
    for threads in (1, 2, 3):
        out[...] = np.nan
        suite.upsample(x, scale_factor=(1.5, scale), mode=mode, out=out, num_threads=threads)
        np.testing.assert_array_equal(out, expected)
    assert np.isnan(buffer[:8]).all() and np.isnan(buffer[8 + size:]).all()


# Bilinear at scales other than x2 (align_corners either way, or a size): the horizontal pass
# of a float32 row of 8 values or more by blocks of 8 outputs, each tap one load of 8
# consecutive inputs and a permute (pyx/_bilinear_rows.h, suite_bilinear_row_gather_f32).
# The same products and sums as the scalar loop: equal, bit for bit, to the portable path
# (SSE2: the scalar horizontal pass), at 1-3 threads, and close to the reference.
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("scale", [1.25, 1.75, 2.5, 3, 4, 8, 0.9, 0.6])
@pytest.mark.parametrize("width", [7, 8, 9, 13, 16, 33])
def test_bilinear_horizontal_pass_by_blocks_is_the_scalar_loop(width, scale, align_corners):
    upsample_module = sys.modules["suite.upsample"]
    kernels = sys.modules["suite._upsample"]
    x = randn(seeded_rng("bilinear-blocks", width, scale, align_corners), (2, 3, 5, width),
              np.float32)
    kwargs = dict(scale_factor=(1.5, scale), mode="bilinear", align_corners=align_corners)
    expected = R.upsample(x.astype(np.float64), **kwargs)
    plan = upsample_module.upsample_plan((5, width), expected.shape[2:],
                                         (1.5, float(scale)), "bilinear", align_corners,
                                         np.dtype(np.float32).str)
    if width >= 8 and expected.shape[3] >= 8 and scale > 1 and not plan.x2_columns:
        assert plan.gather, "the blocks of 8 apply"
        for base in plan.gather[::2]:
            assert (base[base >= 0] + 8 <= width).all()
    results = {}
    for isa in (["avx2", "sse2"] if kernels.vector_isa() == "avx2" else ["sse2"]):
        kernels.vector_isa(allow_avx2=isa == "avx2")
        try:
            for threads in (1, 2, 3):
                y = suite.upsample(x, **kwargs, num_threads=threads)
                results.setdefault(isa, y)
                np.testing.assert_array_equal(y, results[isa])
        finally:
            kernels.vector_isa(allow_avx2=True)
    assert_close(results["sse2"], expected, np.float32)
    for y in results.values():
        np.testing.assert_array_equal(y, results["sse2"])


# Bilinear float32 planes of narrow rows (input and output rows of at most 32 values) on
# their AVX-512 kernel (pyx/_bilinear_rows.h, suite_bilinear_narrow_f32: the rows'
# horizontal passes in registers): equal, bit for bit, to the row kernels (AVX2) and to the
# portable path, at 1-3 threads, with infinities and NaNs, at widths across one and two
# vectors of 16 and past 32 (the row kernels again), x2 and other scales both ways, sizes
# given; and close to the reference.
@pytest.mark.parametrize("scale,size", [((2.0, 2.0), None), ((1.25, 1.25), None),
                                        ((1.5, 3.0), None), ((0.75, 0.6), None),
                                        ((3.0, 1.0), None), (None, (23, 31)),
                                        (None, (7, 17)), (None, (5, 33))])
@pytest.mark.parametrize("width", [1, 5, 8, 15, 16, 17, 31, 32, 33])
@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_narrow_planes_are_the_row_kernels(width, scale, size, align_corners):
    kernels = sys.modules["suite._upsample"]
    rng = seeded_rng("bilinear-narrow", width, scale, size, align_corners)
    x = randn(rng, (2, 5, 19, width), np.float32)
    clean = x.copy()
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, size=3, replace=False)] = [np.inf, -np.inf, np.nan]
    x_before = x.copy()
    kwargs = dict(mode="bilinear", align_corners=align_corners)
    kwargs.update({"size": size} if size else {"scale_factor": scale})
    if not size and int(width * scale[1]) < 1:
        with pytest.raises(ValueError, match="empty output"):
            suite.upsample(x, **kwargs)
        return
    isas = ["sse2"]
    if kernels.vector_isa() == "avx2":
        isas.append("avx2")
    if kernels.narrow_rows_isa() == "avx512":
        isas.append("avx512")
    results = {}
    try:
        for isa in isas:
            kernels.vector_isa(allow_avx2=isa != "sse2")
            kernels.narrow_rows_isa(allow_avx512=isa == "avx512")
            assert kernels.narrow_rows_isa() == isa
            for threads in (1, 2, 3):
                y = suite.upsample(x, **kwargs, num_threads=threads)
                results.setdefault(isa, y)
                np.testing.assert_array_equal(y, results[isa], err_msg=f"{isa} {threads}")
            results[isa + " clean"] = suite.upsample(clean, **kwargs, num_threads=1)
    finally:
        kernels.vector_isa(allow_avx2=True)
        kernels.narrow_rows_isa(allow_avx512=True)
    for isa in isas:
        np.testing.assert_array_equal(results[isa], results["sse2"], err_msg=isa)
        np.testing.assert_array_equal(results[isa + " clean"], results["sse2 clean"])
    assert_close(results["sse2 clean"], R.upsample(clean.astype(np.float64), **kwargs),
                 np.float32)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.skipif(sys.modules["suite._upsample"].narrow_rows_isa() != "avx512",
                    reason="this CPU has no AVX-512F: the narrow-plane kernel never runs")
def test_bilinear_narrow_kernel_switch():
    kernels = sys.modules["suite._upsample"]
    try:
        assert kernels.narrow_rows_isa(allow_avx512=False) == kernels.vector_isa()
        assert kernels.narrow_rows_isa(allow_avx512=True) == "avx512"
        kernels.vector_isa(allow_avx2=False)
        assert kernels.narrow_rows_isa() == "sse2", "the portable path means no AVX-512"
    finally:
        kernels.vector_isa(allow_avx2=True)
        kernels.narrow_rows_isa(allow_avx512=True)


def test_bilinear_tables_are_checked_once_and_each_call_against_them():
    # The plan keeps its bilinear tables' data (suite._upsample.BilinearTables): tables
    # that do not fit are refused when made, and planes or a dtype that do not fit the
    # tables when called, never read out of bounds.
    plan = sys.modules["suite.upsample"].upsample_plan((3, 5), (6, 9), (2.0, 1.8), "bilinear",
                                                       False, np.dtype(np.float32).str)
    h, w = list(plan.h), list(plan.w)
    Tables = _upsample.BilinearTables
    ok = Tables(*h, *w, 3, 5)
    assert (ok.in_h, ok.in_w, ok.out_h, ok.out_w) == (3, 5, 6, 9)
    with pytest.raises(ValueError, match=r"h1 must have 6 entries in \[0, 3\)"):
        Tables(h[0], h[1] + 1, *h[2:], *w, 3, 5)
    with pytest.raises(ValueError, match=r"w0 must have 9 entries in \[0, 4\)"):
        Tables(*h, *w, 3, 4)
    with pytest.raises(ValueError, match="lw1 must have 9 entries, got 8"):
        Tables(*h, *w[:3], w[3][:8], 3, 5)
    with pytest.raises(ValueError, match="x2_columns needs out_w == 2 \\* in_w"):
        Tables(*h, *w, 3, 5, True)
    with pytest.raises(TypeError, match="float32 or float64"):
        Tables(*h[:2], h[2].astype(np.float16), h[3], *w, 3, 5)
    planned = _upsample.bilinear_planned
    x = np.zeros((2, 3, 5), np.float32)
    with pytest.raises(ValueError, match="do not fit tables of 3x5 -> 6x9"):
        planned(np.zeros((2, 3, 6), np.float32), np.zeros((2, 6, 9), np.float32), ok, 1)
    with pytest.raises(ValueError, match="do not fit tables"):
        planned(x, np.zeros((2, 6, 8), np.float32), ok, 1)
    with pytest.raises(ValueError, match="do not fit tables"):
        planned(x, np.zeros((3, 6, 9), np.float32), ok, 1)
    with pytest.raises(TypeError, match="x is not of the tables' dtype float32"):
        planned(x.astype(np.float64), np.zeros((2, 6, 9), np.float64), ok, 1)
    x = randn(seeded_rng("bilinear-tables"), (2, 3, 5), np.float32)
    out = np.full((2, 6, 9), np.nan, np.float32)
    planned(x, out, ok, 1)
    assert_close(out, R.upsample(x[None].astype(np.float64), scale_factor=(2.0, 1.8),
                                 mode="bilinear")[0], np.float32)


def test_nearest_tables_are_checked_once_and_each_call_against_them():
    # As the bilinear tables: suite._upsample.NearestTables refuses tables that do not fit
    # when made, nearest_planned planes that do not fit them when called.
    up = sys.modules["suite.upsample"]
    plan = up.upsample_plan((4, 10), (7, 15), (1.75, 1.5), "nearest", None,
                            np.dtype(np.float32).str)
    Tables = _upsample.NearestTables
    starts, stops, index = plan.row_start, plan.row_stop, plan.w_index
    assert len(plan.gather) == 2      # float32 rows of 8 or more: blocks of 8
    ok = Tables(starts, stops, index, 0, 10, 7, plan.gather)
    assert (ok.in_h, ok.in_w, ok.out_h, ok.out_w) == (4, 10, 7, 15)
    with pytest.raises(ValueError, match=r"must be 4 ranges in \[0, 6\]"):
        Tables(starts, stops, index, 0, 10, 6)
    with pytest.raises(ValueError, match=r"must be 4 ranges"):
        Tables(starts, stops[:3], index, 0, 10, 7)
    with pytest.raises(ValueError, match=r"w_index must have entries in \[0, 9\)"):
        Tables(starts, stops, index, 0, 9, 7)
    with pytest.raises(ValueError, match="w_repeat 2 does not describe w_index"):
        Tables(starts, stops, index, 2, 10, 7)
    with pytest.raises(ValueError, match="gather must hold 0 or 2 tables"):
        Tables(starts, stops, index, 0, 10, 7, plan.gather[:1])
    planned = _upsample.nearest_planned
    x = np.arange(2 * 4 * 10, dtype=np.float32).reshape(2, 4, 10)
    with pytest.raises(ValueError, match="do not fit tables of 4x10 -> 7x15"):
        planned(x, np.zeros((2, 7, 14), np.float32), ok, 1)
    with pytest.raises(ValueError, match="do not fit tables"):
        planned(x[:, :3].copy(), np.zeros((2, 7, 15), np.float32), ok, 1)
    out = np.full((2, 7, 15), np.nan, np.float32)
    planned(x, out, ok, 1)
    rows = np.repeat(np.arange(4), stops - starts)
    np.testing.assert_array_equal(out, x[:, rows][:, :, index])
    # the plan's tables themselves against the definition (not only the kernel against them)
    np.testing.assert_array_equal(out, R.upsample(x[None].astype(np.float64),
                                                  scale_factor=(1.75, 1.5),
                                                  mode="nearest")[0].astype(np.float32))
    direct = np.full((2, 7, 15), np.nan, np.float32)    # the tables as arrays: the same
    _upsample.nearest_forward(x, direct, starts, stops, index, 0, 1, *plan.gather)
    np.testing.assert_array_equal(direct, out)
    # tables of rows of fewer than 8 inputs: every block loads the row from its start, and
    # permutes lanes inside it
    short = up.upsample_plan((4, 5), (7, 12), (1.75, 2.4), "nearest", None,
                             np.dtype(np.float32).str)
    base, perm = short.gather
    assert (base == 0).all() and (perm < 5).all()
    Tables(short.row_start, short.row_stop, short.w_index, 0, 5, 7, short.gather)
    with pytest.raises(ValueError, match="must load from the row's start"):
        Tables(short.row_start, short.row_stop, short.w_index, 0, 5, 7,
               (base + np.arange(len(base), dtype=np.int32), perm))
    bad = perm.copy()
    bad[3] = 5
    with pytest.raises(ValueError, match="lane 3 of block 0 takes value 5"):
        Tables(short.row_start, short.row_stop, short.w_index, 0, 5, 7, (base, bad))
    out64 = np.full((2, 7, 15), np.nan)      # float64: the blocks-of-8 tables are not read
    planned(x.astype(np.float64), out64, ok, 1)
    np.testing.assert_array_equal(out64, out)
