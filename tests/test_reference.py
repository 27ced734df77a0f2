"""The oracle itself: hand-computed literals, internal consistency, and PyTorch.

These tests need only NumPy (and PyTorch for the ``*_vs_torch`` ones, which are skipped
without it); they do not need the compiled package.
"""

import numpy as np
import pytest

from conftest import (require_torch, assert_adjoint, assert_close, conv_configs, deconv_configs,
                      load_reference, seeded_rng, upsample_configs)

R = load_reference()

DECONV = deconv_configs()
CONV = conv_configs()
UP = upsample_configs()

# The seed article's example, done right: x = [[1..9]], kernel [[a, b], [c, d]] = [[1, 2], [3, 4]].
X3 = np.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]])
K2 = np.array([[1., 2.], [3., 4.]])


def as4d(a):
    return np.asarray(a, dtype=np.float64)[None, None]


# ----------------------------------------------------------------------------------------
# hand-computed literals
# ----------------------------------------------------------------------------------------

def test_deconv_3x3_k2_stride1_literal():
    # y[p, q] = a*x[p, q] + b*x[p, q-1] + c*x[p-1, q] + d*x[p-1, q-1]; a 4x4, not a 5x5.
    expected = np.array([
        [1., 4., 7., 6.],
        [7., 23., 33., 24.],
        [19., 53., 63., 42.],
        [21., 52., 59., 36.],
    ])
    assert expected.sum() == X3.sum() * K2.sum()
    for f in (R.deconv2d, R.deconv2d_zero_insertion):
        y = f(as4d(X3), as4d(K2))
        assert y.shape == (1, 1, 4, 4)
        np.testing.assert_array_equal(y[0, 0], expected)


def test_deconv_3x3_k2_stride2_literal():
    # stride 2 with a 2x2 kernel: the blocks x[i, j] * kernel tile the 6x6 without overlap.
    expected = np.array([
        [1., 2., 2., 4., 3., 6.],
        [3., 4., 6., 8., 9., 12.],
        [4., 8., 5., 10., 6., 12.],
        [12., 16., 15., 20., 18., 24.],
        [7., 14., 8., 16., 9., 18.],
        [21., 28., 24., 32., 27., 36.],
    ])
    for f in (R.deconv2d, R.deconv2d_zero_insertion):
        y = f(as4d(X3), as4d(K2), stride=2)
        assert y.shape == (1, 1, 6, 6)
        np.testing.assert_array_equal(y[0, 0], expected)


def test_deconv_literal_padding_output_padding_bias():
    # stride 2, padding 1 crops one row/column from each side of the 6x6 above; output
    # padding 1 adds back the (cropped) bottom row / right column; bias adds everywhere.
    full = R.deconv2d(as4d(X3), as4d(K2), stride=2)[0, 0]
    y = R.deconv2d(as4d(X3), as4d(K2), bias=np.array([0.5]), stride=2, padding=1,
                   output_padding=1)
    expected = np.array([
        [4., 6., 8., 9., 12.],
        [8., 5., 10., 6., 12.],
        [16., 15., 20., 18., 24.],
        [14., 8., 16., 9., 18.],
        [28., 24., 32., 27., 36.],
    ]) + 0.5
    np.testing.assert_array_equal(y[0, 0], expected)
    np.testing.assert_array_equal(expected - 0.5, full[1:, 1:])


def test_deconv_literal_dilation():
    # 1-D in effect: x = [1, 2], kernel [1, 10] with dilation 3: taps at offsets 0 and 3.
    y = R.deconv2d(as4d([[1., 2.]]), as4d([[1., 10.]]), dilation=(1, 3))
    np.testing.assert_array_equal(y[0, 0], [[1., 2., 0., 10., 20.]])


def test_deconv_literal_groups_and_channels():
    # Two groups of one channel each: channel g of the output only sees channel g of x,
    # through w[g, 0]; with C_out//groups = 1 each output is x[g] * w[g] (a 1x1 kernel).
    x = np.array([[[[1., 2.]], [[3., 4.]]]])          # (1, 2, 1, 2)
    w = np.array([[[[10.]]], [[[100.]]]])              # (2, 1, 1, 1)
    y = R.deconv2d(x, w, groups=2)
    np.testing.assert_array_equal(y, [[[[10., 20.]], [[300., 400.]]]])
    # and without groups, both inputs sum into each output channel: w (2, 1, 1, 1) -> 1 out
    y = R.deconv2d(x, w, groups=1)
    np.testing.assert_array_equal(y, [[[[310., 420.]]]])


def test_conv2d_literal():
    # correlation (no flip): y[p, q] = 1*x[p, q] + 2*x[p, q+1] + 3*x[p+1, q] + 4*x[p+1, q+1]
    y = R.conv2d(as4d(X3), as4d(K2))
    np.testing.assert_array_equal(y[0, 0], [[37., 47.], [67., 77.]])
    y = R.conv2d(as4d(X3), as4d(K2), bias=np.array([-1.]), stride=2, padding=1)
    # padded 5x5, windows at rows/cols 0 and 2 of the padded map
    np.testing.assert_array_equal(y[0, 0], [[4. - 1, 3 * 2 + 4 * 3 - 1],
                                            [2 * 4 + 4 * 7 - 1, 77. - 1]])


def test_im2col_col2im_literal():
    cols = R.im2col(as4d(X3), 2)
    expected = np.array([
        [1., 2., 4., 5.],    # tap (0, 0)
        [2., 3., 5., 6.],    # tap (0, 1)
        [4., 5., 7., 8.],    # tap (1, 0)
        [5., 6., 8., 9.],    # tap (1, 1)
    ])
    np.testing.assert_array_equal(cols[0], expected)
    # col2im of all-ones counts how many windows cover each pixel
    counts = R.col2im(np.ones((1, 4, 4)), (3, 3), 2)
    np.testing.assert_array_equal(counts[0, 0], [[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]])


def test_nearest_3x3_to_6x6_literal():
    expected = np.array([
        [1., 1., 2., 2., 3., 3.],
        [1., 1., 2., 2., 3., 3.],
        [4., 4., 5., 5., 6., 6.],
        [4., 4., 5., 5., 6., 6.],
        [7., 7., 8., 8., 9., 9.],
        [7., 7., 8., 8., 9., 9.],
    ])
    for kw in (dict(scale_factor=2), dict(size=6), dict(size=(6, 6))):
        for mode in ("nearest", "nearest-exact"):
            y = R.upsample(as4d(X3), mode=mode, **kw)
            np.testing.assert_array_equal(y[0, 0], expected)
    # backward of x2 nearest sums each 2x2 block
    g = R.upsample_backward(as4d(expected), (1, 1, 3, 3), scale_factor=2)
    np.testing.assert_array_equal(g[0, 0], 4 * X3)


def test_bilinear_literal_1d():
    x = as4d([[0., 1.]])
    # align_corners=False: src = max((dst + 0.5)/2 - 0.5, 0) = 0, .25, .75, 1.25 (-> clamp)
    np.testing.assert_allclose(R.upsample(x, scale_factor=(1, 2), mode="bilinear",
                                          align_corners=False)[0, 0],
                               [[0., 0.25, 0.75, 1.]], rtol=0, atol=1e-15)
    # align_corners=True: src = dst/3
    np.testing.assert_allclose(R.upsample(x, size=(1, 4), mode="bilinear",
                                          align_corners=True)[0, 0],
                               [[0., 1 / 3, 2 / 3, 1.]], rtol=0, atol=1e-15)
    # out == 1 with align_corners=True reads index 0
    np.testing.assert_array_equal(R.upsample(as4d([[5., 7.]]), size=1, mode="bilinear",
                                             align_corners=True)[0, 0], [[5.]])
    # downsampling 4 -> 2, align_corners=False: src = 0.5, 2.5 -> averages of pairs
    np.testing.assert_array_equal(R.upsample(as4d([[1., 3., 5., 9.]]), size=(1, 2),
                                             mode="bilinear", align_corners=False)[0, 0],
                                  [[2., 7.]])


def test_nearest_index_rules_literal():
    idx = lambda i, o, mode, sf=None: R.upsample_source_indices(i, o, sf, mode, False)[0]  # noqa
    # docs/design.md's tie examples: exact integer arithmetic for a given size
    assert idx(4, 94, "nearest")[47] == 2
    assert idx(4, 97, "nearest-exact")[48] == 2
    np.testing.assert_array_equal(idx(3, 7, "nearest"), [0, 0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(idx(3, 7, "nearest-exact"), [0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(idx(5, 2, "nearest"), [0, 2])
    np.testing.assert_array_equal(idx(5, 2, "nearest-exact"), [1, 3])
    # with a scale factor: floor(dst / sf) (double division), not the size ratio
    np.testing.assert_array_equal(idx(5, 11, "nearest", 2.2),
                                  [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(idx(5, 10, "nearest-exact", 2.1),
                                  [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(idx(5, 10, "nearest-exact", 2.19),
                                  [0, 0, 1, 1, 2, 2, 2, 3, 3, 4])
    # PyTorch's fast paths, whatever the scale factor: out == 2*in is dst // 2 (nearest),
    # out == in is the identity (nearest, bilinear) -- but not for nearest-exact.
    np.testing.assert_array_equal(idx(5, 10, "nearest", 2.1), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(idx(5, 5, "nearest", 1.19), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(idx(5, 5, "bilinear", 1.19), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(idx(5, 5, "nearest-exact", 1.19), [0, 1, 2, 2, 3])
    # output size is floor(in * scale_factor)
    assert R.upsample(np.ones((1, 1, 5, 7)), scale_factor=(2.1, 0.5)).shape == (1, 1, 10, 3)
    assert R.upsample(np.ones((1, 1, 3, 3)), scale_factor=1.1).shape == (1, 1, 3, 3)


def test_bilinear_kernel_literal():
    v = np.array([0.25, 0.75, 0.75, 0.25])
    w = R.bilinear_kernel(2, 3)
    assert w.shape == (3, 1, 4, 4)
    for c in range(3):
        np.testing.assert_allclose(w[c, 0], np.outer(v, v), rtol=0, atol=1e-15)
    v3 = np.array([1 / 3, 2 / 3, 1., 2 / 3, 1 / 3])
    np.testing.assert_allclose(R.bilinear_kernel(3, 1)[0, 0], np.outer(v3, v3), atol=1e-15)
    np.testing.assert_array_equal(R.bilinear_kernel(1, 2), np.ones((2, 1, 1, 1)))
    assert R.bilinear_kernel(4, 1).shape == (1, 1, 8, 8)


def test_output_size_helpers():
    assert R.deconv2d_output_size((3, 3), 2) == (4, 4)
    assert R.deconv2d_output_size((3, 3), 2, stride=2) == (6, 6)
    assert R.deconv2d_output_size((5, 4), (9, 3), 3, 4, (2, 0), (1, 2)) == (15, 6)
    assert R.conv2d_output_size((7, 8), (3, 2), (2, 1), (1, 0), (1, 3)) == (4, 5)


# ----------------------------------------------------------------------------------------
# internal consistency
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg", DECONV, ids=[c.id for c in DECONV])
def test_zero_insertion_equals_scatter(cfg):
    x, w, b = cfg.data(np.float64)
    y = R.deconv2d(x, w, b, **cfg.kwargs)
    assert y.shape == cfg.y_shape
    assert_close(R.deconv2d_zero_insertion(x, w, b, **cfg.kwargs), y)


@pytest.mark.parametrize("cfg", DECONV[::3], ids=[c.id for c in DECONV[::3]])
def test_deconv_is_adjoint_of_conv(cfg):
    # The transposed convolution is the adjoint of the convolution with the same weight
    # (weight (C_in, C_out//g, ...) read as a conv weight from C_out to C_in channels).
    x, w, _ = cfg.data(np.float64)
    y = R.deconv2d(x, w, None, **cfg.kwargs)
    g = seeded_rng("adj", cfg.id).standard_normal(y.shape)
    conv_g = R.conv2d(g, w, None, cfg.s, cfg.p, cfg.d, cfg.groups)
    # conv of the output-shaped map may be larger than x only by the output padding
    conv_g = conv_g[:, :, :cfg.H, :cfg.W]
    assert conv_g.shape == x.shape
    assert_adjoint(np.vdot(y, g), np.vdot(x, conv_g))
    gx, gw, gb = R.deconv2d_backward(g, x, w, **cfg.kwargs)
    assert_close(gx, conv_g)
    assert_adjoint(np.vdot(y, g), np.vdot(x, gx))
    # grad_weight is linear in w's dual: <deconv(x, w), g> == <w, gw>
    assert_adjoint(np.vdot(y, g), np.vdot(w, gw))
    assert_close(gb, g.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("cfg", CONV[::2], ids=[c.id for c in CONV[::2]])
def test_im2col_col2im_adjoint(cfg):
    x, _, _ = cfg.data(np.float64)
    cols = R.im2col(x, cfg.k, **cfg.unfold_kwargs)
    assert cols.shape == cfg.cols_shape
    y = seeded_rng("adj", cfg.id).standard_normal(cols.shape)
    back = R.col2im(y, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs)
    assert back.shape == x.shape
    assert_adjoint(np.vdot(cols, y), np.vdot(x, back))


@pytest.mark.parametrize("cfg", CONV[::2], ids=[c.id for c in CONV[::2]])
def test_conv2d_equals_im2col_gemm(cfg):
    x, w, b = cfg.data(np.float64)
    y = R.conv2d(x, w, b, **cfg.kwargs)
    cols = R.im2col(x, cfg.k, **cfg.unfold_kwargs)
    G, Cog, Cig = cfg.groups, cfg.C_out // cfg.groups, cfg.C_in // cfg.groups
    kk = cfg.k[0] * cfg.k[1]
    out = np.empty((cfg.N, cfg.C_out, cols.shape[2]))
    for g in range(G):
        wg = w[g * Cog:(g + 1) * Cog].reshape(Cog, Cig * kk)
        out[:, g * Cog:(g + 1) * Cog] = wg @ cols[:, g * Cig * kk:(g + 1) * Cig * kk]
    if b is not None:
        out += b[None, :, None]
    assert_close(y, out.reshape(cfg.y_shape))


@pytest.mark.parametrize("cfg", UP, ids=[c.id for c in UP])
def test_upsample_adjoint(cfg):
    rng = seeded_rng("up-adj", cfg.id)
    x = rng.standard_normal(cfg.x_shape)
    y = R.upsample(x, **cfg.kwargs)
    assert y.shape == cfg.y_shape
    g = rng.standard_normal(y.shape)
    gx = R.upsample_backward(g, x.shape, **cfg.kwargs)
    assert gx.shape == x.shape
    assert_adjoint(np.vdot(y, g), np.vdot(x, gx))


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_kernel_deconv_matches_bilinear_upsample_inside(factor):
    # docs/design.md: equal to bilinear align_corners=False except within `factor` pixels of the
    # border.
    C, H, W = 3, 7, 6
    x = seeded_rng("bk", factor).standard_normal((2, C, H, W))
    w = R.bilinear_kernel(factor, C)
    pad = -(-(factor - 1) // 2)
    y = R.deconv2d(x, w, stride=factor, padding=pad, groups=C)
    u = R.upsample(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert y.shape == u.shape == (2, C, H * factor, W * factor)
    f = factor
    assert_close(y[:, :, f:-f, f:-f], u[:, :, f:-f, f:-f])
    assert not np.allclose(y, u)  # the border really differs


def test_nearest_x2_conv3x3_is_collapsed_deconv():
    # docs/design.md: nearest x2 then 3x3 pad-1 conv == 4x4 stride-2 pad-1 transposed conv with
    # the collapsed kernel A w A^T, A = [[0,0,1],[0,1,1],[1,1,0],[1,0,0]].
    rng = seeded_rng("collapse")
    x = rng.standard_normal((2, 3, 5, 4))
    w = rng.standard_normal((4, 3, 3, 3))            # conv weight C_out=4, C_in=3
    b = rng.standard_normal(4)
    y = R.conv2d(R.upsample(x, scale_factor=2), w, b, padding=1)
    A = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=np.float64)
    wc = np.einsum("ai,ocij,bj->coab", A, w, A)     # deconv weight (C_in, C_out, 4, 4)
    assert_close(R.deconv2d(x, wc, b, stride=2, padding=1), y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_preserves_dtype_and_inputs(dtype):
    cfg = DECONV[4]
    x, w, b = cfg.data(dtype)
    copies = [a.copy() for a in (x, w, b)]
    y = R.deconv2d(x, w, b, **cfg.kwargs)
    gx, gw, gb = R.deconv2d_backward(np.ones_like(y), x, w, **cfg.kwargs)
    for a in (y, gx, gw, gb, R.upsample(x, scale_factor=2, mode="bilinear",
                                        align_corners=False),
              R.im2col(x, 2), R.conv2d(x, np.swapaxes(w, 0, 1)[:, :2], None, groups=3)):
        assert a.dtype == dtype
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


# ----------------------------------------------------------------------------------------
# against PyTorch
# ----------------------------------------------------------------------------------------

def _torch():
    return require_torch()


@pytest.mark.parametrize("cfg", DECONV, ids=[c.id for c in DECONV])
def test_deconv2d_and_backward_vs_torch(cfg):
    torch = _torch()
    x, w, b = cfg.data(np.float64)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if b is not None else None
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, **cfg.kwargs)
    y = R.deconv2d(x, w, b, **cfg.kwargs)
    assert_close(y, ty.detach().numpy())
    g = seeded_rng("grad", cfg.id).standard_normal(y.shape)
    ty.backward(torch.tensor(g))
    gx, gw, gb = R.deconv2d_backward(g, x, w, **cfg.kwargs)
    assert_close(gx, tx.grad.numpy())
    assert_close(gw, tw.grad.numpy())
    if tb is not None:
        assert_close(gb, tb.grad.numpy())


@pytest.mark.parametrize("cfg", CONV, ids=[c.id for c in CONV])
def test_conv2d_im2col_col2im_vs_torch(cfg):
    torch = _torch()
    F = torch.nn.functional
    x, w, b = cfg.data(np.float64)
    tb = torch.tensor(b) if b is not None else None
    assert_close(R.conv2d(x, w, b, **cfg.kwargs),
                 F.conv2d(torch.tensor(x), torch.tensor(w), tb, **cfg.kwargs).numpy())
    assert_close(R.im2col(x, cfg.k, **cfg.unfold_kwargs),
                 F.unfold(torch.tensor(x), cfg.k, **cfg.unfold_kwargs).numpy())
    cols = seeded_rng("cols", cfg.id).standard_normal(cfg.cols_shape)
    assert_close(R.col2im(cols, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs),
                 F.fold(torch.tensor(cols), (cfg.H, cfg.W), cfg.k,
                        **cfg.unfold_kwargs).numpy())


UP_TORCH = [c for c in UP if c.torch_comparable()]


@pytest.mark.parametrize("cfg", UP_TORCH, ids=[c.id for c in UP_TORCH])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_upsample_and_backward_vs_torch(cfg, dtype):
    torch = _torch()
    rng = seeded_rng("up-torch", cfg.id)
    x = rng.standard_normal(cfg.x_shape)
    tx = torch.tensor(x.astype(dtype), requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, size=cfg.size, scale_factor=cfg.scale_factor,
                                         mode=cfg.mode, align_corners=cfg.align_corners)
    y = R.upsample(x, **cfg.kwargs)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert_close(ty.detach().numpy().astype(np.float64), y, tol=tol)
    g = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(g.astype(dtype)))
    gx = R.upsample_backward(g, x.shape, **cfg.kwargs)
    assert_close(tx.grad.numpy().astype(np.float64), gx, tol=tol)



@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear"])
@pytest.mark.parametrize("sf", [(1.19, 2.1), (2.19, 1.1), (1.5, 2.5)], ids=str)
def test_upsample_fast_paths_vs_torch(mode, sf):
    # PyTorch copies an unchanged axis (nearest, bilinear) and reads dst >> 1 for an exactly
    # doubled one (nearest) whatever the scale factor; nearest-exact has no such path.
    torch = _torch()
    x = seeded_rng("fast", mode, sf).standard_normal((1, 2, 5, 6))
    expected = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=sf,
                                               mode=mode).numpy()
    assert_close(R.upsample(x, scale_factor=sf, mode=mode), expected)
