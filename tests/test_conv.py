"""deconv2d, deconv2d_backward, conv2d, im2col and col2im against the reference and PyTorch.

Every kernel is checked on a seeded sweep of configurations (``conftest.deconv_configs`` /
``conv_configs``: sizes 1 and 7, odd channels, non-square kernels, asymmetric stride,
padding and dilation, output padding, groups, with and without bias) in both dtypes, plus
empty batches, non-contiguous inputs, ``out=`` and adjoint identities.
"""

import importlib

import numpy as np
import pytest

from conftest import (require_torch, DTYPE_IDS, DTYPES, Conv, Deconv, assert_adjoint, assert_close,
                      assert_close_nonfinite,
                      conv_configs, deconv_configs, load_reference, load_suite, noncontiguous,
                      peer_installed, randn, seeded_rng)

suite = load_suite()
R = load_reference()

DECONV = deconv_configs()
CONV = conv_configs()
DECONV_IDS = [c.id for c in DECONV]
CONV_IDS = [c.id for c in CONV]
ALGORITHMS = ["auto", "col2im", "phase", "winograd", "direct", "measure"]

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)


def deconv(x, w, b, cfg, algorithm="auto", **kwargs):
    return suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=algorithm, **kwargs)


def snapshot(*arrays):
    return [None if a is None else a.copy() for a in arrays]


def assert_unchanged(arrays, copies):
    for a, c in zip(arrays, copies):
        if a is not None:
            np.testing.assert_array_equal(a, c, err_msg="an input was modified")


def torch_or_skip():
    return require_torch()


def t(torch, a, requires_grad=False):
    return None if a is None else torch.tensor(np.asarray(a, dtype=np.float64),
                                               requires_grad=requires_grad)


# ----------------------------------------------------------------------------------------
# deconv2d
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
@dtypes
@pytest.mark.parametrize("cfg", DECONV, ids=DECONV_IDS)
def test_deconv2d_matches_reference(cfg, dtype, algorithm):
    x, w, b = cfg.data(dtype)
    copies = snapshot(x, w, b)
    y = deconv(x, w, b, cfg, algorithm)
    expected = R.deconv2d(*(None if a is None else a.astype(np.float64) for a in (x, w, b)),
                          **cfg.kwargs)
    assert_close(y, expected, dtype)
    assert y.flags.c_contiguous
    assert_unchanged((x, w, b), copies)


@dtypes
@pytest.mark.parametrize("cfg", DECONV, ids=DECONV_IDS)
def test_deconv2d_vs_torch(cfg, dtype):
    torch = torch_or_skip()
    x, w, b = cfg.data(dtype)
    expected = torch.nn.functional.conv_transpose2d(t(torch, x), t(torch, w), t(torch, b),
                                                    **cfg.kwargs).numpy()
    assert_close(suite.deconv2d(x, w, b, **cfg.kwargs), expected, dtype)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@dtypes
@pytest.mark.parametrize("cfg", DECONV[:8], ids=DECONV_IDS[:8])
def test_deconv2d_empty_batch(cfg, dtype, algorithm):
    x, w, b = cfg.data(dtype)
    x0 = x[:0]
    y = deconv(x0, w, b, cfg, algorithm)
    assert y.shape == (0,) + cfg.y_shape[1:]
    assert y.dtype == dtype


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("cfg", [DECONV[2], DECONV[4], DECONV[8]],
                         ids=[DECONV_IDS[2], DECONV_IDS[4], DECONV_IDS[8]])
def test_deconv2d_noncontiguous_inputs(cfg, algorithm, kind):
    x, w, b = cfg.data(np.float64)
    expected = deconv(x, w, b, cfg, algorithm)
    xv, wv, bv = (noncontiguous(a, kind) for a in (x, w, b))
    copies = snapshot(xv, wv, bv)
    y = deconv(xv, wv, bv, cfg, algorithm)
    assert_close(y, expected)
    assert_close(y, R.deconv2d(x, w, b, **cfg.kwargs))
    assert y.flags.c_contiguous
    assert_unchanged((xv, wv, bv), copies)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@dtypes
def test_deconv2d_out(dtype, algorithm):
    cfg = DECONV[4]
    x, w, b = cfg.data(dtype)
    out = np.full(cfg.y_shape, np.nan, dtype=dtype)
    y = deconv(x, w, b, cfg, algorithm, out=out)
    assert y is out
    assert_close(out, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                                 b.astype(np.float64), **cfg.kwargs), dtype)
    # a second call into the same (now dirty) buffer overwrites, not accumulates
    y2 = deconv(x, w, None, cfg, algorithm, out=out)
    assert y2 is out
    assert_close(out, R.deconv2d(x.astype(np.float64), w.astype(np.float64), None,
                                 **cfg.kwargs), dtype)


def test_deconv2d_bilinear_kernel_layer():
    # FCN-style fixed upsampling layer: depthwise deconvolution with Caffe's bilinear filler.
    rng = seeded_rng("fcn")
    for factor in (2, 3, 4):
        C = 3
        x = randn(rng, (1, C, 5, 6), np.float32)
        w = suite.bilinear_kernel(factor, C, dtype=np.float32)
        pad = -(-(factor - 1) // 2)
        y = suite.deconv2d(x, w, stride=factor, padding=pad, groups=C)
        expected = R.deconv2d(x.astype(np.float64), R.bilinear_kernel(factor, C),
                              stride=factor, padding=pad, groups=C)
        assert_close(y, expected, np.float32)


# ----------------------------------------------------------------------------------------
# deconv2d_backward
# ----------------------------------------------------------------------------------------

def backward_data(cfg, dtype):
    x, w, _ = cfg.data(dtype)
    g = randn(seeded_rng("grad", cfg.id), cfg.y_shape, dtype)
    return g, x, w


@dtypes
@pytest.mark.parametrize("cfg", DECONV, ids=DECONV_IDS)
def test_deconv2d_backward_matches_reference(cfg, dtype):
    g, x, w = backward_data(cfg, dtype)
    copies = snapshot(g, x, w)
    gx, gw, gb = suite.deconv2d_backward(g, x, w, **cfg.kwargs)
    egx, egw, egb = R.deconv2d_backward(g.astype(np.float64), x.astype(np.float64),
                                        w.astype(np.float64), **cfg.kwargs)
    assert_close(gx, egx, dtype, err_msg="grad_input")
    assert_close(gw, egw, dtype, err_msg="grad_weight")
    assert_close(gb, egb, dtype, err_msg="grad_bias")
    assert_unchanged((g, x, w), copies)


@dtypes
@pytest.mark.parametrize("cfg", DECONV, ids=DECONV_IDS)
def test_deconv2d_backward_vs_torch_autograd(cfg, dtype):
    torch = torch_or_skip()
    g, x, w = backward_data(cfg, dtype)
    tx, tw = t(torch, x, True), t(torch, w, True)
    tb = torch.zeros(cfg.C_out, dtype=torch.float64, requires_grad=True)
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, **cfg.kwargs)
    ty.backward(t(torch, g))
    gx, gw, gb = suite.deconv2d_backward(g, x, w, **cfg.kwargs)
    assert_close(gx, tx.grad.numpy(), dtype, err_msg="grad_input")
    assert_close(gw, tw.grad.numpy(), dtype, err_msg="grad_weight")
    assert_close(gb, tb.grad.numpy(), dtype, err_msg="grad_bias")


@pytest.mark.parametrize("cfg", DECONV, ids=DECONV_IDS)
def test_deconv2d_backward_adjoint(cfg):
    # <deconv2d(x, w), g> == <x, grad_input> == <w, grad_weight>, and <1*b, g> == <b, gb>
    g, x, w = backward_data(cfg, np.float64)
    y = suite.deconv2d(x, w, None, **cfg.kwargs)
    gx, gw, gb = suite.deconv2d_backward(g, x, w, **cfg.kwargs)
    lhs = np.vdot(y, g)
    assert_adjoint(lhs, np.vdot(x, gx))
    assert_adjoint(lhs, np.vdot(w, gw))
    b = randn(seeded_rng("bias", cfg.id), (cfg.C_out,), np.float64)
    yb = suite.deconv2d(x, w, b, **cfg.kwargs)
    assert_adjoint(np.vdot(yb - y, g), np.vdot(b, gb))


@dtypes
@pytest.mark.parametrize("cfg", DECONV[:6], ids=DECONV_IDS[:6])
def test_deconv2d_backward_empty_batch(cfg, dtype):
    g, x, w = backward_data(cfg, dtype)
    gx, gw, gb = suite.deconv2d_backward(g[:0], x[:0], w, **cfg.kwargs)
    assert gx.shape == (0,) + x.shape[1:] and gx.dtype == dtype
    assert gw.shape == w.shape and gw.dtype == dtype
    assert gb.shape == (cfg.C_out,) and gb.dtype == dtype
    np.testing.assert_array_equal(gw, 0)
    np.testing.assert_array_equal(gb, 0)


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran"])
@pytest.mark.parametrize("cfg", [DECONV[2], DECONV[8]], ids=[DECONV_IDS[2], DECONV_IDS[8]])
def test_deconv2d_backward_noncontiguous(cfg, kind):
    g, x, w = backward_data(cfg, np.float64)
    views = [noncontiguous(a, kind) for a in (g, x, w)]
    copies = snapshot(*views)
    got = suite.deconv2d_backward(*views, **cfg.kwargs)
    for a, e in zip(got, R.deconv2d_backward(g, x, w, **cfg.kwargs)):
        assert_close(a, e)
        assert a.flags.c_contiguous
    assert_unchanged(views, copies)


# ----------------------------------------------------------------------------------------
# conv2d
# ----------------------------------------------------------------------------------------

@dtypes
@pytest.mark.parametrize("cfg", CONV, ids=CONV_IDS)
def test_conv2d_matches_reference(cfg, dtype):
    x, w, b = cfg.data(dtype)
    copies = snapshot(x, w, b)
    y = suite.conv2d(x, w, b, **cfg.kwargs)
    expected = R.conv2d(*(None if a is None else a.astype(np.float64) for a in (x, w, b)),
                        **cfg.kwargs)
    assert_close(y, expected, dtype)
    assert y.flags.c_contiguous
    assert_unchanged((x, w, b), copies)


@dtypes
@pytest.mark.parametrize("cfg", CONV, ids=CONV_IDS)
def test_conv2d_vs_torch(cfg, dtype):
    torch = torch_or_skip()
    x, w, b = cfg.data(dtype)
    expected = torch.nn.functional.conv2d(t(torch, x), t(torch, w), t(torch, b),
                                          **cfg.kwargs).numpy()
    assert_close(suite.conv2d(x, w, b, **cfg.kwargs), expected, dtype)


@dtypes
@pytest.mark.parametrize("cfg", CONV[:6], ids=CONV_IDS[:6])
def test_conv2d_empty_batch(cfg, dtype):
    x, w, b = cfg.data(dtype)
    y = suite.conv2d(x[:0], w, b, **cfg.kwargs)
    assert y.shape == (0,) + cfg.y_shape[1:] and y.dtype == dtype


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran"])
@pytest.mark.parametrize("cfg", [CONV[2], CONV[3], CONV[6]],
                         ids=[CONV_IDS[2], CONV_IDS[3], CONV_IDS[6]])
def test_conv2d_noncontiguous_inputs(cfg, kind):
    x, w, b = cfg.data(np.float64)
    if b is None:
        b = randn(seeded_rng("b", cfg.id), (cfg.C_out,), np.float64)
    views = [noncontiguous(a, kind) for a in (x, w, b)]
    copies = snapshot(*views)
    y = suite.conv2d(*views, **cfg.kwargs)
    assert_close(y, R.conv2d(x, w, b, **cfg.kwargs))
    assert y.flags.c_contiguous
    assert_unchanged(views, copies)


@dtypes
def test_conv2d_out(dtype):
    cfg = CONV[3]
    x, w, _ = cfg.data(dtype)
    out = np.full(cfg.y_shape, np.nan, dtype=dtype)
    for _ in range(2):  # the second call writes into a dirty buffer
        y = suite.conv2d(x, w, None, **cfg.kwargs, out=out)
        assert y is out
        assert_close(out, R.conv2d(x.astype(np.float64), w.astype(np.float64), None,
                                   **cfg.kwargs), dtype)


@dtypes
@pytest.mark.parametrize("cfg", DECONV[::4], ids=DECONV_IDS[::4])
def test_deconv2d_grad_input_is_conv2d(cfg, dtype):
    # docs/design.md: grad_input = conv2d(grad_out, W) (weight read as (C_in, C_out//g, kH, kW))
    g, x, w = backward_data(cfg, dtype)
    gx, _, _ = suite.deconv2d_backward(g, x, w, **cfg.kwargs)
    c = suite.conv2d(g, w, None, cfg.s, cfg.p, cfg.d, cfg.groups)
    assert_close(gx, c[:, :, :cfg.H, :cfg.W], dtype)


# ----------------------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------------------

def cols_data(cfg, dtype):
    return randn(seeded_rng("cols", cfg.id), cfg.cols_shape, dtype)


@dtypes
@pytest.mark.parametrize("cfg", CONV, ids=CONV_IDS)
def test_im2col_matches_reference(cfg, dtype):
    x, _, _ = cfg.data(dtype)
    copy = x.copy()
    cols = suite.im2col(x, cfg.k, **cfg.unfold_kwargs)
    # im2col only copies: exact in both dtypes
    np.testing.assert_array_equal(cols, R.im2col(x, cfg.k, **cfg.unfold_kwargs))
    assert cols.dtype == dtype and cols.flags.c_contiguous
    np.testing.assert_array_equal(x, copy)


@dtypes
@pytest.mark.parametrize("cfg", CONV, ids=CONV_IDS)
def test_col2im_matches_reference(cfg, dtype):
    cols = cols_data(cfg, dtype)
    copy = cols.copy()
    img = suite.col2im(cols, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs)
    assert_close(img, R.col2im(cols.astype(np.float64), (cfg.H, cfg.W), cfg.k,
                               **cfg.unfold_kwargs), dtype)
    assert img.flags.c_contiguous
    np.testing.assert_array_equal(cols, copy)


@pytest.mark.parametrize("cfg", CONV, ids=CONV_IDS)
def test_im2col_col2im_vs_torch(cfg):
    torch = torch_or_skip()
    F = torch.nn.functional
    x, _, _ = cfg.data(np.float64)
    cols = cols_data(cfg, np.float64)
    assert_close(suite.im2col(x, cfg.k, **cfg.unfold_kwargs),
                 F.unfold(t(torch, x), cfg.k, **cfg.unfold_kwargs).numpy())
    assert_close(suite.col2im(cols, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs),
                 F.fold(t(torch, cols), (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs).numpy())


@pytest.mark.parametrize("cfg", CONV, ids=CONV_IDS)
def test_im2col_col2im_adjoint(cfg):
    x, _, _ = cfg.data(np.float64)
    y = cols_data(cfg, np.float64)
    lhs = np.vdot(suite.im2col(x, cfg.k, **cfg.unfold_kwargs), y)
    rhs = np.vdot(x, suite.col2im(y, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs))
    assert_adjoint(lhs, rhs)


@dtypes
@pytest.mark.parametrize("cfg", CONV[:5], ids=CONV_IDS[:5])
def test_im2col_col2im_empty_batch(cfg, dtype):
    x, _, _ = cfg.data(dtype)
    cols = suite.im2col(x[:0], cfg.k, **cfg.unfold_kwargs)
    assert cols.shape == (0,) + cfg.cols_shape[1:] and cols.dtype == dtype
    img = suite.col2im(cols_data(cfg, dtype)[:0], (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs)
    assert img.shape == (0,) + cfg.x_shape[1:] and img.dtype == dtype


@pytest.mark.parametrize("kind", ["transposed", "sliced", "fortran"])
@pytest.mark.parametrize("cfg", [CONV[2], CONV[6]], ids=[CONV_IDS[2], CONV_IDS[6]])
def test_im2col_col2im_noncontiguous(cfg, kind):
    x, _, _ = cfg.data(np.float64)
    cols = cols_data(cfg, np.float64)
    xv, cv = noncontiguous(x, kind), noncontiguous(cols, kind)
    copies = snapshot(xv, cv)
    np.testing.assert_array_equal(suite.im2col(xv, cfg.k, **cfg.unfold_kwargs),
                                  R.im2col(x, cfg.k, **cfg.unfold_kwargs))
    assert_close(suite.col2im(cv, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs),
                 R.col2im(cols, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs))
    assert_unchanged((xv, cv), copies)


# ----------------------------------------------------------------------------------------
# a larger layer from the catalogue (exercises blocking / threading paths)
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHMS)
@dtypes
def test_deconv2d_dcgan_like_layer(dtype, algorithm):
    cfg = Deconv(2, 32, 16, 8, 8, 4, s=2, p=1)
    x, w, b = cfg.data(dtype)
    y = deconv(x, w, b, cfg, algorithm)
    assert_close(y, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), **cfg.kwargs), dtype)


ONE_PIXEL = [
    Deconv(16, 100, 64, 1, 1, 4),                       # a generator's first layer
    Deconv(3, 7, 9, 1, 1, (3, 5), s=(2, 3), bias=False),
    Deconv(5, 12, 9, 1, 1, (2, 7), groups=3),
    Deconv(1, 1, 1, 1, 1, 1),
    Deconv(2, 40, 24, 1, 1, 3, s=4, groups=8, bias=False),
    # not one GEMM into the output: padding, output padding, dilation, a 1x2 map
    Deconv(4, 10, 6, 1, 1, 4, p=1),
    Deconv(4, 10, 6, 1, 1, 3, s=2, op=1),
    Deconv(4, 10, 6, 1, 1, 3, d=2),
    Deconv(4, 10, 6, 1, 2, 3),
]


@pytest.mark.parametrize("num_threads", [1, 2, 3])
@dtypes
@pytest.mark.parametrize("cfg", ONE_PIXEL, ids=lambda c: c.id)
def test_deconv2d_of_one_pixel_maps_is_one_gemm_into_the_output(cfg, dtype, num_threads):
    # 1x1 maps without padding, output padding or dilation: col2im's columns would be the
    # output, so each group's GEMM writes it (the bias added after); the others take the
    # usual path. Against the reference, into out= filled with NaN, at 1-3 threads
    one_pixel = (cfg.H, cfg.W) == (1, 1) and cfg.p == cfg.op == (0, 0) and cfg.d == (1, 1)
    x, w, b, y = col2im_path_checked(cfg, dtype, num_threads, "_one_pixel", one_pixel)
    np.testing.assert_array_equal(y, deconv(x, w, b, cfg, "col2im", num_threads=1))


def col2im_path_checked(cfg, dtype, num_threads, kernel, taken):
    """The col2im plan of ``cfg`` runs its method ``kernel`` exactly when ``taken``; its
    output, into out= filled with NaN, matches the reference and leaves the inputs alone.
    Returns (x, w, b, output)."""
    x, w, b = cfg.data(dtype)
    conv = importlib.import_module("suite.conv")
    plan = conv.DeconvPlan(x.shape, w.shape, dtype, conv.deconv_geometry(**cfg.kwargs),
                           "col2im", num_threads)
    assert (plan._kernel == getattr(plan, kernel)) == taken
    out = np.full(cfg.y_shape, np.nan, dtype)
    copies = snapshot(x, w, b)
    y = deconv(x, w, b, cfg, "col2im", out=out, num_threads=num_threads)
    assert y is out
    assert_unchanged((x, w, b), copies)
    assert_close(y, R.deconv2d(*[None if a is None else a.astype(np.float64)
                                 for a in (x, w, b)], **cfg.kwargs), dtype)
    return x, w, b, y


POINTWISE = [
    Deconv(12, 142, 142, 7, 7, 1, groups=2),            # images of 49 outputs, K 71
    Deconv(3, 40, 24, 5, 9, 1),
    Deconv(2, 36, 60, 17, 16, 1, groups=3, bias=False),  # 272 outputs
    Deconv(1, 33, 7, 3, 11, 1, d=2),                     # dilation: one tap all the same
    Deconv(5, 8, 8, 4, 4, 1, groups=8),                  # depthwise: K 1, planes scaled
    Deconv(6, 1, 1, 13, 17, 1),                          # one channel in and out
    Deconv(3, 4, 12, 5, 7, 1, groups=4, bias=False),     # one channel in, three out a group
    Deconv(6, 300, 40, 4, 4, 1),                         # K past one block of 256, 16 outputs
    Deconv(3, 320, 192, 7, 7, 1),                        # 49 outputs: images batched
    Deconv(4, 96, 50, 7, 7, 1, groups=2),                # 49 outputs, one image a product
    Deconv(3, 64, 100, 10, 10, 1),                       # 100 outputs: one image a product
    Deconv(2, 48, 30, 9, 13, 1, bias=False),
    # at most THIN_MAX_ROWS output channels a group (float32, AVX-512): rows streamed
    Deconv(4, 29, 2, 9, 13, 1),                          # K 29: 4 rows a pass, then 1
    Deconv(2, 18, 2, 17, 19, 1, groups=2, bias=False),   # 323 outputs: chunks of 256 + 67
    Deconv(3, 7, 1, 16, 16, 1),                          # 256 outputs: one whole chunk
    Deconv(1, 40, 4, 5, 3, 1, groups=2),                 # 15 outputs: the masked tail only
    # not the 1x1 convolution: strides (with and without output padding)
    Deconv(2, 10, 6, 5, 5, 1, s=2),
    Deconv(2, 10, 6, 5, 5, 1, s=(1, 2), op=(0, 1)),
]


@pytest.mark.parametrize("num_threads", [1, 2, 3])
@dtypes
@pytest.mark.parametrize("cfg", POINTWISE, ids=lambda c: c.id)
def test_deconv2d_of_1x1_kernels_at_stride_1_is_the_transposed_1x1_convolution(
        cfg, dtype, num_threads):
    # 1x1 kernels at stride 1 without padding: col2im's columns would be the output, so the
    # plan runs the 1x1 convolution, each group's weight read as its transpose where it
    # lies, the bias the start of the sums. Against the reference, into out= filled with
    # NaN, at 1-3 threads; on integer data (every sum exact, whatever its order) equal to
    # suite's conv2d of the transposed weight; a layer's output equal to the function's
    pointwise = cfg.k == cfg.s == (1, 1)
    # one input channel per group: each output plane an input plane scaled, no product;
    # few output channels a group: x's rows streamed into them, no product
    thin = importlib.import_module("suite._plan").thin_pointwise(
        cfg.C_in, cfg.groups, cfg.C_out // cfg.groups, np.dtype(dtype).itemsize)
    kernel = "_scaled" if cfg.C_in == cfg.groups else "_thin" if thin else "_pointwise"
    x, w, b, y = col2im_path_checked(cfg, dtype, num_threads, kernel, pointwise)
    if pointwise:
        g = cfg.groups
        layer = suite.Deconv2d(w, b, groups=g, dilation=cfg.d, algorithm="col2im",
                               num_threads=num_threads)
        np.testing.assert_array_equal(layer(x), y)
        rng = seeded_rng("pointwise-integers", cfg.id, dtype, num_threads)
        x, w = (rng.integers(-4, 5, a.shape).astype(dtype) for a in (x, w))
        b = None if b is None else rng.integers(-4, 5, b.shape).astype(dtype)
        transposed = np.ascontiguousarray(w.reshape(g, cfg.C_in // g, cfg.C_out // g)
                                          .transpose(0, 2, 1)).reshape(cfg.C_out, -1, 1, 1)
        expected = suite.conv2d(x, transposed, b, groups=g, num_threads=num_threads)
        assert_close(expected, R.deconv2d(*[None if a is None else a.astype(np.float64)
                                            for a in (x, w, b)], **cfg.kwargs), dtype, tol=0)
        np.testing.assert_array_equal(
            suite.deconv2d(x, w, b, groups=g, dilation=cfg.d, algorithm="col2im",
                           num_threads=num_threads), expected)


THIN = [
    Deconv(2, 29, 2, 9, 13, 1),                          # K 29: 4 rows a pass, then 1
    Deconv(3, 12, 9, 17, 19, 1, groups=3),               # 3 out a group, 323 outputs
    Deconv(1, 8, 5, 16, 16, 1),                          # 256 outputs: one whole chunk
    Deconv(2, 40, 8, 5, 3, 1, groups=2, bias=False),     # 15 outputs: the masked tail only
    Deconv(1, 4, 1, 1, 531, 1),                          # one row, three chunks
]


@pytest.mark.parametrize("cfg", THIN, ids=lambda c: c.id)
def test_streamed_rows_are_the_1x1_transposed_convolution_on_every_path(cfg):
    # _im2col.thin_planes, the few-output-channel form of the 1x1 transposed convolution,
    # whatever the plan's rule: against the reference, into NaN, on its AVX-512 loop
    # (where the CPU has one) and on its portable loop, the same bits on both and at 1-3
    # threads (each sum in k's order); the inputs left alone
    im2col = importlib.import_module("suite._im2col")
    x, w, b = cfg.data(np.float32)
    copies = snapshot(x, w, b)
    expected = R.deconv2d(*[None if a is None else a.astype(np.float64) for a in (x, w, b)],
                          **cfg.kwargs)
    paths = ["avx512", "portable"] if im2col.thin_rows_isa() == "avx512" else ["portable"]
    first = None
    try:
        for path in paths:
            im2col.thin_rows_isa(allow_avx512=path == "avx512")
            for threads in (1, 2, 3):
                out = np.full(cfg.y_shape, np.nan, np.float32)
                im2col.thin_planes(x, w, b, out, cfg.groups, threads)
                assert_close(out, expected, np.float32)
                if first is None:
                    first = out
                np.testing.assert_array_equal(out, first)
    finally:
        im2col.thin_rows_isa(allow_avx512=True)
    assert_unchanged((x, w, b), copies)


def test_streamed_rows_only_for_float32_layers_of_few_output_channels():
    plan = importlib.import_module("suite._plan")
    im2col = importlib.import_module("suite._im2col")
    if im2col.thin_rows_isa() != "avx512":
        assert not plan.thin_pointwise(8, 1, 1, 4)           # the portable loop: the product
        return
    most = plan.THIN_MAX_ROWS
    assert plan.thin_pointwise(8, 1, most, 4) and plan.thin_pointwise(8, 2, 1, 4)
    assert not plan.thin_pointwise(8, 1, most + 1, 4)       # more rows: the product
    assert not plan.thin_pointwise(8, 1, 1, 8)               # float64: the product
    assert not plan.thin_pointwise(4, 4, 1, 4)               # one input a group: scaled
    try:
        im2col.thin_rows_isa(allow_avx512=False)
        assert not plan.thin_pointwise(8, 1, 1, 4)
    finally:
        im2col.thin_rows_isa(allow_avx512=True)


STREAMED = [
    Deconv(1, 6, 10, 13, 11, 1, s=4, op=3),             # rows of 1 grid row in 4
    Deconv(2, 5, 7, 9, 21, 2, s=2),                      # U-Net's up-convolution
    Deconv(1, 4, 6, 7, 5, 3, s=3, op=2, groups=2),       # output padding: rows past the grid
    Deconv(3, 3, 5, 6, 37, (1, 3), s=(2, 3), p=(0, 1), bias=False),
    Deconv(1, 8, 4, 40, 45, 2, s=2),                     # rows of 90: lines streamed whole
]


@pytest.mark.parametrize("num_threads", [1, 2, 3])
@dtypes
@pytest.mark.parametrize("cfg", STREAMED, ids=lambda c: c.id)
def test_col2im_planes_streamed_past_the_cache_hold_the_same_values(cfg, dtype, num_threads,
                                                                    monkeypatch):
    # kernels no longer than the stride (each output gets at most one column value): an
    # output past the last-level cache (here a cache of 1 byte) is written with
    # non-temporal stores, whole lines only. Against the reference and exactly the output
    # written plainly, into out= filled with NaN (rows of widths that start off a line)
    plan_module = importlib.import_module("suite._plan")
    conv = importlib.import_module("suite.conv")
    x, w, b = cfg.data(dtype)
    plain = np.full(cfg.y_shape, np.nan, dtype)
    conv.DeconvPlan(x.shape, w.shape, dtype, conv.deconv_geometry(**cfg.kwargs), "col2im",
                    num_threads).run(x, w, b, plain)
    monkeypatch.setattr(plan_module, "last_level_cache_bytes", lambda: 1)
    plan = conv.DeconvPlan(x.shape, w.shape, dtype, conv.deconv_geometry(**cfg.kwargs),
                           "col2im", num_threads)
    assert plan._stream
    streamed = np.full(cfg.y_shape, np.nan, dtype)
    copies = snapshot(x, w, b)
    assert plan.run(x, plan.prepare(w), b, streamed) is streamed
    assert_unchanged((x, w, b), copies)
    assert_close(streamed, R.deconv2d(*[None if a is None else a.astype(np.float64)
                                        for a in (x, w, b)], **cfg.kwargs), dtype)
    np.testing.assert_array_equal(streamed, plain)


@pytest.mark.parametrize("cfg", [
    Deconv(2, 17, 20, 7, 5, 4, s=2, p=1, op=1),           # 4 phases
    Deconv(1, 5, 18, 4, 3, (4, 6), s=(2, 3), p=(1, 2)),   # 6 phases
    Deconv(1, 160, 18, 3, 2, 8, s=4, p=2, bias=False),    # 16 phases; copy in halves
], ids=lambda c: c.id)
@pytest.mark.parametrize("per_pass", [1, 2, 3, 5, 16])
@dtypes
def test_deconv2d_winograd_phase_passes(monkeypatch, cfg, per_pass, dtype):
    # The weights of several phases are transformed in one sweep when they fit the budget;
    # every split of the phases into passes gives the same bits.
    plan = importlib.import_module("suite._plan")
    x, w, b = cfg.data(dtype)
    cig, cog = cfg.C_in // cfg.groups, cfg.C_out // cfg.groups
    per_phase = cfg.groups * (9 * cog * (cig + 32) + 32) * np.dtype(dtype).itemsize
    monkeypatch.setattr(plan, "WINOGRAD_PASS_BYTES", per_pass * per_phase)
    y = deconv(x, w, b, cfg, "winograd")
    monkeypatch.setattr(plan, "WINOGRAD_PASS_BYTES", 1)
    assert np.array_equal(y, deconv(x, w, b, cfg, "winograd"))
    assert_close(y, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                               None if b is None else b.astype(np.float64), **cfg.kwargs),
                 dtype)


@dtypes
def test_conv2d_larger_layer(dtype):
    cfg = Conv(2, 16, 24, 15, 13, 3, p=1)
    x, w, b = cfg.data(dtype)
    assert_close(suite.conv2d(x, w, b, **cfg.kwargs),
                 R.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                          **cfg.kwargs), dtype)


def test_phase_row_struct_matches_phase_columns():
    # The kernels read phase tables through a struct: its fields must be the table's
    # columns, in order.
    kernels = importlib.import_module("suite._phase")
    geometry = importlib.import_module("suite.geometry")
    assert kernels.phase_row_fields() == geometry.PHASE_COLUMNS


# The direct kernel adds kernel rows as long as the stride (k2 s2, k3 s3, ...; no padding,
# dilation 1 along the row) from vectors (pyx/_direct_rows.h: each 8 inputs permuted into k vectors
# times the tiled kernel row): against the reference, and the same bits on the portable path
# (SSE2) as with AVX2 and at 1-3 threads. Widths below and across 8, k from 1 to 8,
# rectangular kernels, groups and input channels per group, output padding, bias, both dtypes.
@dtypes
@pytest.mark.parametrize("kw", [1, 2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("width,cig,groups,kh,op,bias", [
    (1, 1, 3, 2, 0, True), (7, 1, 4, 1, 1, False), (8, 2, 2, 3, 0, True),
    (13, 1, 5, 2, 1, True), (17, 3, 1, 2, 0, False), (24, 1, 2, 4, 0, True)])
def test_direct_kernel_rows_as_long_as_the_stride(kw, width, cig, groups, kh, op, bias, dtype):
    direct = importlib.import_module("suite._direct")
    rng = seeded_rng("kron", kw, width, cig, groups, kh, op)
    c_in = cig * groups
    x = randn(rng, (2, c_in, 3, width), dtype)
    w = randn(rng, (c_in, 2, kh, kw), dtype)
    b = randn(rng, (2 * groups,), dtype) if bias else None
    geometry = dict(stride=(kh, kw), output_padding=(0, min(op, kw - 1)), groups=groups)
    expected = R.deconv2d(x, w, b, **geometry)
    results = direct_on_every_path(direct, x, w, b, geometry)
    assert_close(results[0], expected, dtype)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def on_every_isa(module, run):
    """run() (a list of results) with module's row kernels on AVX2 (where the CPU has it),
    then on their portable path: the results, concatenated in that order."""
    isas = ["avx2", "sse2"] if module.vector_isa() == "avx2" else ["sse2"]
    results = []
    try:
        for isa in isas:
            module.vector_isa(allow_avx2=isa == "avx2")
            assert module.vector_isa() == isa
            results += run()
    finally:
        module.vector_isa(allow_avx2=True)
    return results


def direct_on_every_path(direct, x, w, b, geometry):
    """deconv2d(algorithm="direct") with AVX2 (where the CPU has it) and on the portable path,
    at 1-3 threads."""
    return on_every_isa(direct, lambda: [
        suite.deconv2d(x, w, b, **geometry, algorithm="direct", num_threads=t)
        for t in (1, 2, 3)])


# The direct kernel by column phase (pyx/_direct_rows.h): each phase's output columns in
# vectors of 8, up to 4 of them held across the terms, a term reaching part of a vector
# masked. Widths below, at and across 8 and 32 (one chunk, partial vectors, several chunks),
# column geometries with every phase reached, phases no kernel column reaches (k < s),
# dilation, padding beyond the kernel, output padding, and long kernel rows on either side
# of the tap-major cost rule; several planes per group, several output channels per group:
# against the reference, the same bits on every path and thread count.
@dtypes
@pytest.mark.parametrize("width", [1, 5, 8, 13, 32, 33, 70])
@pytest.mark.parametrize("kw,sw,pw,dw,op", [
    (3, 1, 1, 1, 0), (3, 2, 1, 1, 1), (4, 2, 1, 1, 0), (1, 3, 0, 1, 2), (2, 3, 0, 1, 1),
    (5, 3, 2, 2, 1), (9, 3, 5, 3, 0), (7, 1, 6, 1, 0), (10, 4, 1, 1, 3), (16, 8, 4, 1, 0),
    (13, 3, 0, 1, 2)])
def test_direct_kernel_by_column_phase(width, kw, sw, pw, dw, op, dtype):
    direct = importlib.import_module("suite._direct")
    case = (width, kw, sw, pw, dw, op)
    rng = seeded_rng("phased", *case)
    # rows: kernel, stride, padding, dilation; channels: per group in and out, groups
    kh, sh, ph, dh = [(3, 2, 1, 1), (2, 2, 0, 1), (4, 3, 2, 2), (1, 1, 0, 1)][(7 * width + kw) % 4]
    cig, cog, groups = [(1, 1, 3), (2, 1, 2), (1, 2, 2), (3, 2, 1)][(width + kw) % 4]
    x = randn(rng, (2, cig * groups, 4, width), dtype)
    w = randn(rng, (cig * groups, cog, kh, kw), dtype)
    b = randn(rng, (cog * groups,), dtype) if width % 2 else None
    pw = min(pw, ((width - 1) * sw + dw * (kw - 1) + op) // 2)     # an output column or more
    geometry = dict(stride=(sh, sw), padding=(ph, pw), output_padding=(min(op, sh - 1), op),
                    dilation=(dh, dw), groups=groups)
    expected = R.deconv2d(x, w, b, **geometry)
    results = direct_on_every_path(direct, x, w, b, geometry)
    assert_close(results[0], expected, dtype)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# col2im where the kernel row is as long as the stride (k = s of 2-4 along the row, dilation
# 1, no padding): each kernel row's column rows added interleaved (pyx/_col2im_rows.h:
# unpacking for k = 2, blended permutes for 3 and 4), every output value once. Widths below,
# at and across 8 (whole blocks of 8 column values, then one by one), rows reached by one
# or two kernel rows (kH against sH, dilation and padding along the height), groups, bias:
# against the reference, and the same bits on the portable path and at 1-3 threads.
@dtypes
@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("width", [1, 5, 8, 13, 16, 17, 33])
@pytest.mark.parametrize("kh,sh,ph,dh,op", [(2, 2, 0, 1, 0), (3, 2, 1, 1, 1), (3, 1, 2, 2, 0)])
def test_col2im_rows_as_long_as_the_stride(k, width, kh, sh, ph, dh, op, dtype):
    kernels = importlib.import_module("suite._im2col")
    rng = seeded_rng("interleave", k, width, kh, sh, ph, dh)
    groups = 1 + width % 3
    x = randn(rng, (2, 3 * groups, 5, width), dtype)
    w = randn(rng, (3 * groups, 2, kh, k), dtype)
    b = randn(rng, (2 * groups,), dtype) if width % 2 else None
    geometry = dict(stride=(sh, k), padding=(ph, 0), output_padding=(op, k - 1),
                    dilation=(dh, 1), groups=groups)
    expected = R.deconv2d(x, w, b, **geometry)
    results = on_every_isa(kernels, lambda: [
        suite.deconv2d(x, w, b, **geometry, algorithm="col2im", num_threads=t)
        for t in (1, 2, 3)])
    assert_close(results[0], expected, dtype)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# col2im of disjoint geometries (kW <= sW, kH <= sH, undilated): each kernel row's grid rows
# spread, a run at a time, into value + column value at every output column (the value alone
# in the gaps of kW < sW), then copied row by row (pyx/_columns.pxd, disjoint_plane; vectors
# for strides 2-4 along the row). Kernels as long as the stride and shorter along both axes
# (rows and columns at the bias alone), padding along both axes (pieces cut off the spread
# rows), output padding (columns and rows beyond them), grids that fit one run, several
# runs, and rows too long to spread (SPREAD_VALUES), planes enough for the plane path and
# one plane (the row path): against the reference, the same bits on the portable path and
# at 1-3 threads, through deconv2d and the public col2im.
@dtypes
@pytest.mark.parametrize("kw,sw", [(2, 2), (3, 3), (4, 4), (1, 2), (2, 3), (1, 3), (3, 4),
                                   (1, 4), (2, 5)])
@pytest.mark.parametrize("kh,sh,ph,pw,op", [(2, 2, 0, 0, (0, 0)), (1, 2, 0, 1, (1, 1)),
                                            (3, 3, 1, 1, (2, 0)), (2, 4, 1, 0, (3, 2))])
@pytest.mark.parametrize("width", [1, 5, 8, 23, "long"])
def test_col2im_of_disjoint_rows_spread(kw, sw, kh, sh, ph, pw, op, width, dtype):
    kernels = importlib.import_module("suite._im2col")
    pw = min(pw, kw - 1)
    op = (min(op[0], sh - 1), min(op[1], sw - 1))
    if width == "long":
        width = kernels.SPREAD_VALUES // (kh * sw) + 1
    if (width - 1) * sw - 2 * pw + kw + op[1] < 1:
        pw = 0          # no output column left
    rng = seeded_rng("spread", kw, sw, kh, sh, ph, pw, width)
    height = 3 if width > 100 else 7
    for n, groups in [(2, 1 + width % 3), (1, 1)]:
        c_out = 4 * groups if n > 1 else 1
        x = randn(rng, (n, 3 * groups, height, width), dtype)
        w = randn(rng, (3 * groups, c_out // groups, kh, kw), dtype)
        b = randn(rng, (c_out,), dtype) if (width + n) % 2 else None
        geometry = dict(stride=(sh, sw), padding=(ph, pw), output_padding=op, groups=groups)
        expected = R.deconv2d(x, w, b, **geometry)
        size = expected.shape[2:]
        cols = randn(rng, (n, c_out * kh * kw, height * width), dtype)
        col_geometry = dict(stride=(sh, sw), padding=(ph, pw))
        cols_expected = R.col2im(cols, size, (kh, kw), **col_geometry)
        both = on_every_isa(kernels, lambda: [
            (suite.deconv2d(x, w, b, **geometry, algorithm="col2im", num_threads=t),
             suite.col2im(cols, size, (kh, kw), **col_geometry, num_threads=t))
            for t in (1, 2, 3)])
        assert_close(both[0][0], expected, dtype)
        assert_close(both[0][1], cols_expected, dtype)
        for y, z in both[1:]:
            np.testing.assert_array_equal(y, both[0][0])
            np.testing.assert_array_equal(z, both[0][1])


# The rows a kernel shorter than the stride leaves at the bias (k1 s3: two rows and two
# columns in three), filled by _fill.h: 32-byte stores for runs of 16 values or more on AVX2
# (a last, overlapping vector where the run is not a multiple of 8), the plain loop below 16
# and on the portable path. Output rows of 15-36 values and whole planes, into NaN: every
# value no kernel tap reaches is exactly its channel's bias (or zero without one), every
# other one matches the reference, on both paths and at 1-2 threads.
@dtypes
@pytest.mark.parametrize("width", [5, 6, 7, 8, 9, 11, 12])
@pytest.mark.parametrize("bias", [True, False])
def test_bias_rows_filled_exactly(width, bias, dtype):
    kernels = importlib.import_module("suite._im2col")
    rng = seeded_rng("fill", width, bias)
    x = randn(rng, (2, 3, 4, width), dtype)
    w = randn(rng, (3, 5, 1, 1), dtype)
    b = randn(rng, (5,), dtype) if bias else None
    geometry = dict(stride=3, output_padding=2)
    expected = R.deconv2d(x, w, b, **geometry)
    start = np.zeros((5,), dtype) if b is None else b
    gap = np.ones(expected.shape[2:], bool)
    gap[::3, ::3] = False

    def run(t):
        out = np.full(expected.shape, np.nan, dtype)
        suite.deconv2d(x, w, b, **geometry, algorithm="col2im", num_threads=t, out=out)
        return out

    results = on_every_isa(kernels, lambda: [run(t) for t in (1, 2)])
    for out in results:
        assert out.shape[3] == 3 * width
        np.testing.assert_array_equal(out[:, :, gap], np.broadcast_to(
            start[None, :, None], (2, 5, int(gap.sum()))))
        assert_close(out, expected, dtype)
        np.testing.assert_array_equal(out, results[0])


def _gathered_rows():
    # (sw, kw, pw, dw, width, op) for col2im's rows summed by output vectors: column strides
    # 1 and 2, 3 and 4 by interleaved layers (5: the strided passes beside them), kernel
    # columns reaching every offset mod the stride, unpaired ones (k1, even dilation), phases
    # no kernel column reaches, several columns a phase (layers), padding beyond the kernel
    # (kernel columns that reach no column), rows of one to five vectors and partial ones.
    cases = []
    for sw in (1, 2, 3, 4, 5):
        for kw, pw, dw in [(1, 0, 1), (2, 1, 1), (3, 1, 1), (3, 0, 2), (4, 1, 1), (5, 2, 1),
                           (5, 4, 2), (7, 3, 1), (9, 2, 3), (3, 5, 1), (4, 3, 2)]:
            for width in (1, 3, 8, 11, 19, 40):
                op = (width + kw) % sw
                if (width - 1) * sw - 2 * pw + dw * (kw - 1) + op + 1 >= 1:
                    cases.append((sw, kw, pw, dw, width, op))
    return cases


# col2im's rows summed by output vectors (_col2im_rows.h; column strides 1 to 4, float32 on
# AVX2): against the reference, the same bits on the portable path, at 1-3 threads and
# through the public col2im; kernels taller than one batch of gathered kernel rows (18 > 16).
@dtypes
@pytest.mark.parametrize("sw,kw,pw,dw,width,op", _gathered_rows())
def test_col2im_rows_by_output_vectors(sw, kw, pw, dw, width, op, dtype):
    kernels = importlib.import_module("suite._im2col")
    rng = seeded_rng("gather", sw, kw, pw, dw, width)
    kh, sh, ph, dh = [(3, 1, 1, 1), (18, 1, 0, 1), (4, 2, 1, 1), (3, 2, 2, 2)][(kw + width) % 4]
    groups = 1 + width % 2
    height = 19 if kh == 18 else 4     # 18 kernel rows reach the middle rows
    x = randn(rng, (2, 2 * groups, height, width), dtype)
    w = randn(rng, (2 * groups, 3, kh, kw), dtype)
    b = randn(rng, (3 * groups,), dtype) if width % 3 else None
    geometry = dict(stride=(sh, sw), padding=(ph, pw), output_padding=(0, op),
                    dilation=(dh, dw), groups=groups)
    expected = R.deconv2d(x, w, b, **geometry)
    size = expected.shape[2:]
    cols = randn(rng, (2, 3 * kh * kw, height * width), dtype)
    col_geometry = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    cols_expected = R.col2im(cols, size, (kh, kw), **col_geometry)
    both = on_every_isa(kernels, lambda: [
        (suite.deconv2d(x, w, b, **geometry, algorithm="col2im", num_threads=t),
         suite.col2im(cols, size, (kh, kw), **col_geometry, num_threads=t))
        for t in (1, 2, 3)])
    results = [y for y, _ in both]
    folded = [z for _, z in both]
    assert_close(results[0], expected, dtype)
    assert_close(folded[0], cols_expected, dtype)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    for r in folded[1:]:
        np.testing.assert_array_equal(r, folded[0])


@pytest.mark.parametrize("sw,kw,pw", [(1, 3, 1), (2, 3, 0), (2, 4, 1), (3, 5, 2), (3, 7, 1),
                                      (4, 5, 2), (4, 9, 3)])
def test_col2im_rows_by_output_vectors_keep_infinities_to_their_reach(sw, kw, pw):
    # An edge vector's masked lanes must not take another column's infinity (inf - inf = NaN
    # where the reference is finite).
    rng = seeded_rng("gather-inf", sw, kw, pw)
    x = randn(rng, (1, 2, 3, 9), np.float32)
    w = randn(rng, (2, 1, 2, kw), np.float32)
    w[0, 0, 0, 0] = np.inf
    w[1, 0, 1, kw - 1] = -np.inf
    geometry = dict(stride=(1, sw), padding=(0, pw))
    with np.errstate(invalid="ignore"):
        expected = R.deconv2d(x.astype(np.float64), w.astype(np.float64), None, **geometry)
    result = suite.deconv2d(x, w, None, **geometry, algorithm="col2im", num_threads=1)
    assert np.isfinite(expected).any() and np.isinf(expected).any()
    assert_close_nonfinite(result, expected.astype(np.float32), np.float32)


@pytest.mark.parametrize("width,kw,sw,dw,pw,op", [(1, 3, 1, 2, 0, 0), (21, 2, 4, 1, 0, 3),
                                                   (19, 2, 3, 1, 0, 2), (30, 3, 4, 2, 2, 3)])
def test_col2im_rows_by_output_vectors_leave_unreached_values_alone(width, kw, sw, dw, pw, op):
    # output columns that no kernel column reaches (a one-column input through a dilated
    # kernel: every other one; at strides 3 and 4, phases without a kernel column, and the
    # row's end past the output padding): the vector path leaves them exactly as the
    # portable path does (the bias, -0.0 included: a masked lane or a missing phase must not
    # add +0 to them)
    kernels = importlib.import_module("suite._im2col")
    if kernels.vector_isa() != "avx2":
        pytest.skip("needs AVX2 to compare the vector path with the portable one")
    rng = seeded_rng("gather-unreached", width, kw, sw)
    x = np.abs(randn(rng, (1, 2, 3, width), np.float32)) + 1
    w = randn(rng, (2, 1, 2, kw), np.float32)
    bias = np.array([-0.0], np.float32)
    geometry = dict(stride=(1, sw), padding=(0, pw), output_padding=(0, op),
                    dilation=(1, dw))
    results = on_every_isa(kernels, lambda: [
        suite.deconv2d(x, w, bias, **geometry, algorithm="col2im", num_threads=1)])
    expected = R.deconv2d(x, w, bias, **geometry)
    assert_close(results[0], expected, np.float32)
    unreached = expected == 0
    assert unreached.any()
    assert (results[1][unreached] == 0).all() and np.signbit(results[1][unreached]).all()
    np.testing.assert_array_equal(np.signbit(results[0]), np.signbit(results[1]))


@dtypes
@pytest.mark.parametrize("kw,sw,pw,dw", [(3, 1, 1, 1), (3, 2, 0, 1), (5, 3, 2, 2), (9, 3, 5, 3)])
def test_direct_kernel_by_column_phase_keeps_infinite_weights_to_their_reach(kw, sw, pw, dw,
                                                                               dtype):
    # A masked term must not add w * 0 to the lanes it does not reach: with w = inf that is
    # NaN where the reference has a finite value.
    direct = importlib.import_module("suite._direct")
    rng = seeded_rng("phased-inf", kw, sw, pw, dw)
    x = randn(rng, (1, 2, 5, 11), dtype)
    w = randn(rng, (2, 1, 3, kw), dtype)
    w[0, 0, 1, kw - 1] = np.inf
    w[1, 0, 0, 0] = -np.inf
    geometry = dict(stride=(2, sw), padding=(1, pw), dilation=(1, dw), groups=2)
    with np.errstate(invalid="ignore"):
        expected = R.deconv2d(x.astype(np.float64), w.astype(np.float64), None, **geometry)
        results = direct_on_every_path(direct, x, w, None, geometry)
    assert np.isfinite(expected).any() and np.isinf(expected).any()
    for r in results:
        assert_close_nonfinite(r, expected.astype(dtype), dtype)


@pytest.mark.parametrize("weight_shape, stride, dilation, expected", [
    ((92, 1, 4, 1), 2, 1, "direct"),           # kernel columns over rows that overlap
    ((92, 1, 4, 1), (1, 3), 1, "direct"),
    ((92, 1, 2, 1), 2, 1, "col2im"),           # rows no longer than the stride: disjoint
    ((92, 1, 1, 1), 2, 1, "col2im"),
    ((92, 1, 4, 1), 2, (2, 1), "col2im"),      # dilated: not measured, col2im as before
    ((92, 1, 5, 2), 3, 1, "col2im"),           # rows of 2 taps shorter than the stride
    ((92, 1, 3, 3), 2, 1, "direct"),           # rows at least the stride
    ((92, 1, 1, 1), 1, 1, "col2im"),           # 1x1 at stride 1: planes scaled
    ((92, 1, 1, 1), 1, 2, "col2im"),
])
def test_depthwise_rule_takes_the_direct_kernel_for_overlapping_kernel_columns(
        weight_shape, stride, dilation, expected):
    # depthwise layers (one channel in and out per group): col2im where the kernel rows are
    # shorter than the stride, but the direct kernel for kernel columns (kW 1) of more rows
    # than the stride, undilated (docs/performance.md, item 85)
    x_shape = (2, 92, 12, 12)
    assert suite.choose_algorithm(x_shape, weight_shape, stride, dilation,
                                  groups=92) == expected
    rng = seeded_rng("depthwise-rule", weight_shape, stride, dilation)
    x, w = randn(rng, x_shape, np.float32), randn(rng, weight_shape, np.float32)
    y = suite.deconv2d(x, w, stride=stride, dilation=dilation, groups=92)
    assert_close(y, R.deconv2d(x.astype(np.float64), w.astype(np.float64), stride=stride,
                               dilation=dilation, groups=92), np.float32)


@pytest.fixture
def fresh_plans():
    """deconv2d's cached plans and choices dropped before and after a test that changes what
    they are made from (the cache size): none made under it outlives it."""
    conv = importlib.import_module("suite.conv")
    caches = (conv._deconv_plan_cached, conv._plan, conv._choice)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.mark.parametrize("x_shape, weight_shape, stride, padding, dilation, threads, "
                         "itemsize, expected", [
    # kernel rows shorter than the stride: col2im while input and output (~1 + s*s times
    # the input) stay in the call's share of a 1 MiB cache shared by 2 CPUs, else direct
    ((1, 92, 12, 12), (92, 1, 1, 1), 2, 0, 1, 1, 4, "col2im"),      # 0.25 MiB moved
    ((1, 92, 17, 17), (92, 1, 1, 1), 2, 0, 1, 1, 4, "direct"),      # 0.507 MiB > 0.5
    ((1, 92, 17, 17), (92, 1, 1, 1), 2, 0, 1, 2, 4, "col2im"),      # two threads: 1 MiB
    ((1, 92, 12, 12), (92, 1, 1, 1), 2, 0, 1, 1, 8, "direct"),      # float64: 0.505 MiB
    ((1, 92, 12, 12), (92, 1, 2, 2), 3, 0, 1, 1, 4, "direct"),      # 0.505 MiB
    ((1, 92, 6, 6), (92, 1, 2, 2), 3, 0, 1, 1, 4, "col2im"),
    # kernels as long as the stride: direct's whole-row path at padding 0, else col2im
    ((1, 92, 6, 6), (92, 1, 3, 3), 3, 0, 1, 1, 4, "direct"),
    ((1, 92, 6, 6), (92, 1, 3, 3), 3, 1, 1, 1, 4, "col2im"),
    ((1, 92, 6, 6), (92, 1, 3, 3), 3, (1, 0), 1, 1, 4, "direct"),   # columns unpadded
    ((1, 92, 6, 6), (92, 1, 3, 3), (2, 3), 1, 1, 1, 4, "direct"),   # kernel rows overlap
    ((1, 92, 6, 6), (92, 1, 3, 3), 3, 1, 2, 1, 4, "direct"),        # dilated
])
def test_depthwise_rule_past_the_cache_and_padded_rows_as_long_as_the_stride(
        monkeypatch, fresh_plans, x_shape, weight_shape, stride, padding, dilation, threads,
        itemsize, expected):
    # depthwise layers: past the call's share of the last-level cache, the direct kernel's
    # one write of each output row beat col2im's columns spread and copied; padded kernels
    # as long as the stride leave the direct kernel without its whole-row path, and col2im's
    # disjoint planes ran faster (docs/performance.md, item 104). The cache is set here (1
    # MiB shared by 2 CPUs: a share of 0.5 MiB for one thread, 1 MiB for two)
    plan = importlib.import_module("suite._plan")
    monkeypatch.setattr(plan, "last_level_cache_bytes", lambda: 2**20)
    monkeypatch.setattr(plan, "last_level_cache_sharing", lambda: 2)
    assert suite.choose_algorithm(x_shape, weight_shape, stride, dilation, groups=92,
                                  padding=padding, itemsize=itemsize,
                                  num_threads=threads) == expected
    rng = seeded_rng("depthwise-cache-rule", x_shape, weight_shape, stride, padding, dilation)
    dtype = np.float32 if itemsize == 4 else np.float64
    x, w = randn(rng, x_shape, dtype), randn(rng, weight_shape, dtype)
    b = randn(rng, (92,), dtype)
    geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=92)
    y = suite.deconv2d(x, w, b, **geometry, num_threads=threads)
    assert_close(y, R.deconv2d(x, w, b, **geometry), dtype)


@pytest.mark.parametrize("x_shape, weight_shape, stride, groups, threads, expected", [
    ((1, 10, 38, 21), (10, 39, 6, 6), 1, 2, 1, "phase"),     # 5 in, 39 out a group
    ((1, 10, 38, 21), (10, 39, 6, 6), 1, 2, 2, "col2im"),    # one thread only
    ((1, 16, 20, 20), (16, 48, 3, 3), 1, 1, 1, "phase"),     # 16 in, 3 x 16 out: the edges
    ((1, 17, 20, 20), (17, 60, 3, 3), 1, 1, 1, "col2im"),    # 17 in: deeper than 16
    ((1, 16, 20, 20), (16, 47, 3, 3), 1, 1, 1, "col2im"),    # fewer than 3 x 16 out
    ((1, 8, 9, 10), (8, 51, 6, 6), 2, 1, 1, "phase"),        # 9 taps a phase
    ((1, 8, 9, 10), (8, 51, 3, 3), 2, 1, 1, "col2im"),       # 2.25 taps a phase
    ((1, 12, 9, 9), (12, 54, 10, 10), 3, 1, 1, "phase"),     # 11.1 taps a phase
    ((1, 5, 12, 12), (5, 80, 1, 1), 1, 1, 1, "col2im"),      # one tap
    ((2, 3, 21, 21), (3, 192, 2, 2), 1, 1, 1, "phase"),      # 3 in: the few-channel branch
    ((2, 3, 21, 21), (3, 192, 2, 2), 1, 1, 2, "col2im"),
    ((1, 4, 12, 12), (4, 11, 3, 3), 1, 1, 1, "col2im"),      # 4 in, fewer than 12 out
])
def test_shallow_widening_groups_take_the_phase_method(x_shape, weight_shape, stride,
                                                       groups, threads, expected):
    # 5-16 input channels per group and at least 3 times as many output channels, phases of
    # 4 taps or more, one thread: phase's deep GEMM instead of col2im's thin one and its
    # scatter (docs/performance.md, item 93); the answer is the reference's either way
    assert suite.choose_algorithm(x_shape, weight_shape, stride, groups=groups,
                                  num_threads=threads) == expected
    rng = seeded_rng("phase-rule", x_shape, weight_shape, stride, groups)
    x, w = randn(rng, x_shape, np.float32), randn(rng, weight_shape, np.float32)
    b = randn(rng, (weight_shape[1] * groups,), np.float32)
    y = suite.deconv2d(x, w, b, stride=stride, groups=groups, num_threads=threads)
    assert_close(y, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), stride=stride, groups=groups),
                 np.float32)


# ----------------------------------------------------------------------------------------
# im2col's block copies and the columns packed a slice of input channels at a time
# ----------------------------------------------------------------------------------------

# At unit strides with "same" padding in width, im2col copies each kernel column's rows
# inside the plane as one shifted block (pyx/_columns.pxd): kernels wider than the plane,
# dilations, rows of the kernel that fall wholly in the padding.
@dtypes
@pytest.mark.parametrize("kernel,dilation", [((1, 3), 1), ((3, 3), 1), ((2, 5), 2),
                                             ((5, 3), 3), ((4, 7), (1, 2))])
@pytest.mark.parametrize("hw", [(1, 1), (2, 2), (3, 5), (6, 2), (7, 9)])
def test_im2col_same_width_blocks_match_reference(kernel, dilation, hw, dtype, rng):
    kh, kw = kernel
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    padding = (dh * (kh - 1) // 2 + 1, dw * (kw - 1) // 2)    # rows: any padding
    x = randn(rng, (2, 3) + hw, dtype)
    cols = suite.im2col(x, kernel, padding=padding, dilation=(dh, dw))
    np.testing.assert_array_equal(cols, R.im2col(x, kernel, padding=padding,
                                                 dilation=(dh, dw)))


def _sliced(cig, taps, columns, itemsize):
    plan = importlib.import_module("suite._plan")
    return plan.band_channels(cig, taps, columns, itemsize) < cig


def _at_one_and_two_threads(run):
    """run(num_threads) at 1 and 2 threads: the same bits (the slices follow the planning
    width, not the threads); the one result."""
    one, two = run(1), run(2)
    np.testing.assert_array_equal(one, two)
    return one


# Deep layers pack and multiply their columns a slice of input channels at a time
# (suite._plan.band_channels), each slice's product adding into the sums: the one-GEMM
# path (one image, batched images, groups) and the banded path (bands of rows of a larger
# map), against the NumPy reference and, where installed, PyTorch, at 1 and 2 threads.
@dtypes
@pytest.mark.parametrize("shape,c_out,groups,path", [
    ((1, 96, 12, 15), 40, 1, "im2col"),
    ((1, 160, 14, 14), 22, 2, "im2col"),
    ((3, 64, 13, 13), 17, 1, "im2col"),
    ((1, 64, 24, 24), 24, 1, "banded"),
    ((2, 70, 23, 25), 9, 1, "banded")])
def test_conv2d_channel_slices(shape, c_out, groups, path, dtype, rng):
    plan = importlib.import_module("suite._plan")
    n, c_in, h, w = shape
    cig, itemsize = c_in // groups, np.dtype(dtype).itemsize
    if path == "banded":
        assert h * w >= plan.BAND_MIN_COLUMNS
        rows = plan.band_rows(n * groups, h, w, cig * 9, itemsize, plan.planning_width())
        assert _sliced(cig, 9, rows * w, itemsize)
    else:
        assert h * w < plan.BAND_MIN_COLUMNS
        nb = plan.images_per_gemm(n, h * w, cig * 9 + c_out, itemsize)
        assert _sliced(cig, 9, nb * h * w, itemsize)
    x = randn(rng, shape, dtype)
    weight = randn(rng, (c_out, cig, 3, 3), dtype)
    bias = randn(rng, (c_out,), dtype)
    expected = R.conv2d(x, weight, bias, padding=1, groups=groups)
    result = _at_one_and_two_threads(lambda t: suite.conv2d(x, weight, bias, padding=1,
                                                            groups=groups, num_threads=t))
    terms = np.abs(weight).sum() / c_out * 4     # the size of an output's terms
    assert_close(result, expected, dtype, scale=terms)
    if peer_installed("torch"):
        torch = require_torch()
        theirs = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight),
                                            torch.from_numpy(bias), padding=1, groups=groups)
        assert_close(result, theirs.numpy(), dtype, scale=terms)


@dtypes
@pytest.mark.parametrize("mode,scale", [("nearest", 2.5), ("bilinear", 2), ("nearest", 3)])
def test_banded_upsample_conv2d_channel_slices(mode, scale, dtype, rng):
    x = randn(rng, (1, 160, 8, 6), dtype)
    weight = randn(rng, (8, 160, 3, 3), dtype)
    bias = randn(rng, (8,), dtype)
    plan = importlib.import_module("suite._plan")
    up_h, up_w, itemsize = int(8 * scale), int(6 * scale), np.dtype(dtype).itemsize
    rows = plan.band_rows(1, up_h, up_w, 160 * 9, itemsize, plan.planning_width())
    assert _sliced(160, 9, rows * up_w, itemsize)
    expected = R.upsample_conv2d(x, weight, bias, scale_factor=scale, mode=mode, padding=1)
    result = _at_one_and_two_threads(lambda t: suite.upsample_conv2d(
        x, weight, bias, scale_factor=scale, mode=mode, padding=1, algorithm="banded",
        num_threads=t))
    assert_close(result, expected, dtype, scale=np.abs(weight).sum() / 8 * 4)
