"""Every mistake a caller can make is a ValueError / TypeError naming the argument.

Each case starts from a valid call and changes one thing.
"""

import numpy as np
import pytest

from conftest import load_suite, randn, seeded_rng

suite = load_suite()

RNG = seeded_rng("validation")
X = randn(RNG, (2, 4, 5, 6), np.float32)            # N, C, H, W
W_DECONV = randn(RNG, (4, 3, 3, 3), np.float32)     # C_in, C_out/groups, kH, kW
W_CONV = randn(RNG, (6, 4, 3, 3), np.float32)       # C_out, C_in/groups, kH, kW
B3 = randn(RNG, (3,), np.float32)
B6 = randn(RNG, (6,), np.float32)
G_DECONV = randn(RNG, (2, 3, 7, 8), np.float32)     # deconv2d(X, W_DECONV) output shape
COLS = randn(RNG, (2, 4 * 9, 12), np.float32)       # im2col(X, 3): 3x4 positions
G_UP = randn(RNG, (2, 4, 10, 12), np.float32)       # upsample(X, scale_factor=2) shape
ORIGINALS = {name: a.copy() for name, a in
             dict(X=X, W_DECONV=W_DECONV, W_CONV=W_CONV, B3=B3, B6=B6, G_DECONV=G_DECONV,
                  COLS=COLS, G_UP=G_UP).items()}


def deconv(**kw):
    args = dict(x=X, weight=W_DECONV, bias=B3)
    args.update(kw)
    return suite.deconv2d(**args)


def deconv_backward(**kw):
    args = dict(grad_out=G_DECONV, x=X, weight=W_DECONV)
    args.update(kw)
    return suite.deconv2d_backward(**args)


def conv(**kw):
    args = dict(x=X, weight=W_CONV, bias=B6)
    args.update(kw)
    return suite.conv2d(**args)


def im2col(**kw):
    args = dict(x=X, kernel_size=3)
    args.update(kw)
    return suite.im2col(**args)


def col2im(**kw):
    args = dict(cols=COLS, output_size=(5, 6), kernel_size=3)
    args.update(kw)
    return suite.col2im(**args)


def upsample(**kw):
    args = dict(x=X, scale_factor=2)
    args.update(kw)
    return suite.upsample(**args)


def upsample_backward(**kw):
    args = dict(grad_out=G_UP, input_shape=X.shape, scale_factor=2)
    args.update(kw)
    return suite.upsample_backward(**args)


def test_valid_baseline_calls_work():
    # the starting points of every case below are valid
    assert deconv().shape == G_DECONV.shape
    assert [a.shape for a in deconv_backward()] == [X.shape, W_DECONV.shape, (3,)]
    assert conv().shape == (2, 6, 3, 4)
    assert im2col().shape == COLS.shape
    assert col2im().shape == X.shape
    assert upsample().shape == G_UP.shape
    assert upsample_backward().shape == X.shape
    assert suite.bilinear_kernel(2, 3).shape == (3, 1, 4, 4)


f32 = np.float32
f64 = np.float64


def overlapping_out_conv():
    # conv with a 1x1 kernel keeps x's shape: write into x itself
    x = X.copy()
    w = randn(seeded_rng("ov"), (4, 4, 1, 1), f32)
    return lambda: suite.conv2d(x, w, out=x)


def overlapping_out_deconv():
    x = X.copy()
    w = randn(seeded_rng("ov"), (4, 4, 1, 1), f32)
    return lambda: suite.deconv2d(x, w, out=x)


def overlapping_out_upsample():
    buf = randn(seeded_rng("ov"), (2 * 4 * 10 * 12,), f32)
    out = buf.reshape(2, 4, 10, 12)
    x = buf[:2 * 4 * 5 * 6].reshape(2, 4, 5, 6)
    return lambda: suite.upsample(x, scale_factor=2, out=out)


def overlapping_out_weight():
    # a 1x1 conv whose output has as many values as the weight: out is the weight's memory
    w = randn(seeded_rng("ov"), (6, 4, 1, 1), f32)
    x = randn(seeded_rng("ovx"), (1, 4, 2, 3), f32)
    out = w.reshape(1, 6, 2, 2)
    return lambda: suite.conv2d(x, w, out=out, stride=(1, 2))


CASES = [
    # --- shapes: wrong ndim, channel mismatch, groups
    ("x ndim", lambda: deconv(x=X[0]), ValueError, "x"),
    ("weight ndim", lambda: deconv(weight=W_DECONV[0]), ValueError, "weight"),
    ("conv x ndim", lambda: conv(x=X[None]), ValueError, "x"),
    ("conv weight ndim", lambda: conv(weight=W_CONV[0]), ValueError, "weight"),
    ("im2col x ndim", lambda: im2col(x=X[0]), ValueError, "x"),
    ("col2im cols ndim", lambda: col2im(cols=COLS[0]), ValueError, "cols"),
    ("upsample x ndim", lambda: upsample(x=X[0]), ValueError, "x"),
    ("upsample_backward grad_out ndim", lambda: upsample_backward(grad_out=G_UP[0]),
     ValueError, "grad_out"),
    ("deconv channels", lambda: deconv(weight=W_DECONV[:3]), ValueError, "weight"),
    ("conv channels", lambda: conv(weight=W_CONV[:, :3]), ValueError, "weight|channels"),
    ("deconv groups divide", lambda: deconv(groups=3, bias=None), ValueError, "groups"),
    ("conv groups divide C_in", lambda: conv(groups=3, bias=None), ValueError, "groups"),
    ("conv groups divide C_out",
     lambda: conv(weight=randn(seeded_rng(1), (5, 2, 3, 3), f32), groups=2, bias=None),
     ValueError, "groups"),
    ("deconv groups 0", lambda: deconv(groups=0), ValueError, "groups"),
    ("deconv groups -1", lambda: deconv(groups=-1), ValueError, "groups"),
    ("conv groups 0", lambda: conv(groups=0), ValueError, "groups"),
    # --- geometry
    ("deconv stride 0", lambda: deconv(stride=0), ValueError, "stride"),
    ("deconv stride -1", lambda: deconv(stride=(1, -1)), ValueError, "stride"),
    ("deconv dilation 0", lambda: deconv(dilation=0), ValueError, "dilation"),
    ("deconv padding -1", lambda: deconv(padding=-1), ValueError, "padding"),
    ("deconv output_padding -1", lambda: deconv(output_padding=-1), ValueError,
     "output_padding"),
    ("deconv output_padding >= stride and dilation",
     lambda: deconv(stride=2, output_padding=2), ValueError, "output_padding"),
    ("deconv output_padding one axis",
     lambda: deconv(stride=(2, 1), dilation=(1, 1), output_padding=(1, 1)), ValueError,
     "output_padding"),
    ("deconv empty output (huge padding)", lambda: deconv(padding=10), ValueError, "padding"),
    ("backward empty output", lambda: deconv_backward(padding=(0, 10)), ValueError, "padding"),
    ("conv stride 0", lambda: conv(stride=0), ValueError, "stride"),
    ("conv dilation 0", lambda: conv(dilation=(0, 1)), ValueError, "dilation"),
    ("conv padding -1", lambda: conv(padding=(0, -1)), ValueError, "padding"),
    ("conv empty output", lambda: conv(dilation=4), ValueError,
     "kernel_size|padding|dilation"),
    ("im2col kernel_size 0", lambda: im2col(kernel_size=0), ValueError, "kernel_size"),
    ("im2col kernel_size -2", lambda: im2col(kernel_size=(3, -2)), ValueError, "kernel_size"),
    ("im2col stride 0", lambda: im2col(stride=0), ValueError, "stride"),
    ("im2col padding -1", lambda: im2col(padding=-1), ValueError, "padding"),
    ("im2col dilation 0", lambda: im2col(dilation=0), ValueError, "dilation"),
    ("im2col kernel too big", lambda: im2col(kernel_size=7), ValueError, "kernel_size"),
    ("col2im kernel_size 0", lambda: col2im(kernel_size=0), ValueError, "kernel_size"),
    ("col2im output_size 0", lambda: col2im(output_size=(0, 6)), ValueError, "output_size"),
    ("col2im L mismatch", lambda: col2im(output_size=(6, 6)), ValueError, "cols"),
    ("col2im rows not multiple", lambda: col2im(cols=COLS[:, :35]), ValueError, "cols"),
    ("col2im stride 0", lambda: col2im(stride=0), ValueError, "stride"),
    # --- dtypes
    ("deconv int x", lambda: deconv(x=X.astype(np.int32), weight=W_DECONV, bias=None),
     TypeError, "x"),
    ("deconv float16 x", lambda: deconv(x=X.astype(np.float16), bias=None), TypeError, "x"),
    ("deconv mixed dtypes", lambda: deconv(x=X, weight=W_DECONV.astype(f64), bias=None),
     TypeError, "weight"),
    ("deconv float64 x float32 weight", lambda: deconv(x=X.astype(f64), bias=None),
     TypeError, "weight"),
    ("conv int x", lambda: conv(x=X.astype(np.int64)), TypeError, "x"),
    ("conv mixed dtypes", lambda: conv(weight=W_CONV.astype(f64), bias=None), TypeError,
     "weight"),
    ("im2col float16", lambda: im2col(x=X.astype(np.float16)), TypeError, "x"),
    ("col2im int", lambda: col2im(cols=COLS.astype(np.int32)), TypeError, "cols"),
    ("upsample int", lambda: upsample(x=X.astype(np.int16)), TypeError, "x"),
    ("upsample float16", lambda: upsample(x=X.astype(np.float16)), TypeError, "x"),
    ("upsample_backward float16", lambda: upsample_backward(grad_out=G_UP.astype(np.float16)),
     TypeError, "grad_out"),
    ("backward grad_out dtype", lambda: deconv_backward(grad_out=G_DECONV.astype(f64)),
     TypeError, "grad_out"),
    ("backward grad_out shape", lambda: deconv_backward(grad_out=G_DECONV[:, :, :6]),
     ValueError, "grad_out"),
    ("backward weight dtype", lambda: deconv_backward(weight=W_DECONV.astype(f64)),
     TypeError, "weight"),
    # --- bias
    ("deconv bias shape", lambda: deconv(bias=B6), ValueError, "bias"),
    ("deconv bias 2-D", lambda: deconv(bias=B3[None]), ValueError, "bias"),
    ("deconv bias dtype", lambda: deconv(bias=B3.astype(f64)), TypeError, "bias"),
    ("conv bias shape", lambda: conv(bias=B3), ValueError, "bias"),
    ("conv bias dtype", lambda: conv(bias=B6.astype(f64)), TypeError, "bias"),
    # --- out=
    ("deconv out shape", lambda: deconv(out=np.empty((2, 3, 7, 7), f32)), ValueError, "out"),
    ("deconv out dtype", lambda: deconv(out=np.empty(G_DECONV.shape, f64)), TypeError, "out"),
    ("deconv out non-contiguous",
     lambda: deconv(out=np.empty((2, 3, 8, 7), f32).transpose(0, 1, 3, 2)), ValueError,
     "out"),
    ("deconv out fortran", lambda: deconv(out=np.empty(G_DECONV.shape, f32, order="F")),
     ValueError, "out"),
    ("deconv out overlaps x", overlapping_out_deconv(), ValueError, "out"),
    ("conv out shape", lambda: conv(out=np.empty((2, 6, 3, 5), f32)), ValueError, "out"),
    ("conv out dtype", lambda: conv(out=np.empty((2, 6, 3, 4), f64)), TypeError, "out"),
    ("conv out sliced",
     lambda: conv(out=np.empty((2, 6, 3, 8), f32)[..., ::2]), ValueError, "out"),
    ("conv out overlaps x", overlapping_out_conv(), ValueError, "out"),
    ("conv out overlaps weight", overlapping_out_weight(), ValueError, "out"),
    ("upsample out shape", lambda: upsample(out=np.empty((2, 4, 10, 11), f32)), ValueError,
     "out"),
    ("upsample out dtype", lambda: upsample(out=np.empty(G_UP.shape, f64)), TypeError, "out"),
    ("upsample out non-contiguous",
     lambda: upsample(out=np.empty((2, 4, 12, 10), f32).transpose(0, 1, 3, 2)), ValueError,
     "out"),
    ("upsample out overlaps x", overlapping_out_upsample(), ValueError, "out"),
    # --- upsample arguments
    ("upsample both size and scale_factor", lambda: upsample(size=(10, 12)), ValueError,
     "size|scale_factor"),
    ("upsample neither", lambda: upsample(scale_factor=None), ValueError, "size|scale_factor"),
    ("upsample_backward neither", lambda: upsample_backward(scale_factor=None), ValueError,
     "size|scale_factor"),
    ("scale_factor nan", lambda: upsample(scale_factor=float("nan")), ValueError,
     "scale_factor"),
    ("scale_factor inf", lambda: upsample(scale_factor=float("inf")), ValueError,
     "scale_factor"),
    ("scale_factor 0", lambda: upsample(scale_factor=0), ValueError, "scale_factor"),
    ("scale_factor negative", lambda: upsample(scale_factor=(2, -2)), ValueError,
     "scale_factor"),
    ("scale_factor 3 values", lambda: upsample(scale_factor=(2, 2, 2)), ValueError,
     "scale_factor"),
    ("scale_factor empty output", lambda: upsample(scale_factor=0.1), ValueError,
     "scale_factor"),
    ("backward scale_factor nan", lambda: upsample_backward(scale_factor=float("nan")),
     ValueError, "scale_factor"),
    ("size 0", lambda: upsample(scale_factor=None, size=(0, 3)), ValueError, "size"),
    ("size negative", lambda: upsample(scale_factor=None, size=-4), ValueError, "size"),
    ("size 3 values", lambda: upsample(scale_factor=None, size=(2, 3, 4)), ValueError, "size"),
    ("size float", lambda: upsample(scale_factor=None, size=4.0), TypeError, "size"),
    ("mode unknown", lambda: upsample(mode="bicubic"), ValueError, "mode"),
    ("mode linear", lambda: upsample(mode="linear"), ValueError, "mode"),
    ("backward mode unknown", lambda: upsample_backward(mode="area"), ValueError, "mode"),
    ("align_corners True with nearest", lambda: upsample(mode="nearest", align_corners=True),
     ValueError, "align_corners"),
    ("align_corners False with nearest",
     lambda: upsample(mode="nearest", align_corners=False), ValueError, "align_corners"),
    ("align_corners with nearest-exact",
     lambda: upsample(mode="nearest-exact", align_corners=False), ValueError,
     "align_corners"),
    ("backward align_corners with nearest",
     lambda: upsample_backward(mode="nearest", align_corners=True), ValueError,
     "align_corners"),
    ("backward grad_out shape", lambda: upsample_backward(grad_out=G_UP[:, :, :9]),
     ValueError, "grad_out"),
    ("backward input_shape mismatch", lambda: upsample_backward(input_shape=(2, 4, 5, 7)),
     ValueError, "grad_out|input_shape"),
    # --- num_threads
    *[(f"{name} num_threads {bad!r}", (lambda f=f, bad=bad: f(num_threads=bad)), exc,
       "num_threads")
      for name, f in [("deconv", deconv), ("backward", deconv_backward), ("conv", conv),
                      ("im2col", im2col), ("col2im", col2im), ("upsample", upsample),
                      ("upsample_backward", upsample_backward)]
      for bad, exc in [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                       (True, TypeError)]],
    # --- int-or-pair arguments
    ("stride 3 values", lambda: deconv(stride=(1, 2, 3)), ValueError, "stride"),
    ("padding 1 value", lambda: deconv(padding=(1,)), ValueError, "padding"),
    ("dilation 3 values", lambda: conv(dilation=(1, 1, 1)), ValueError, "dilation"),
    ("kernel_size 3 values", lambda: im2col(kernel_size=(3, 3, 3)), ValueError,
     "kernel_size"),
    ("output_padding 3 values", lambda: deconv(output_padding=(0, 0, 0)), ValueError,
     "output_padding"),
    ("stride float", lambda: deconv(stride=2.0), TypeError, "stride"),
    ("stride float in pair", lambda: conv(stride=(1, 2.0)), TypeError, "stride"),
    ("padding float", lambda: conv(padding=1.0), TypeError, "padding"),
    ("dilation float", lambda: deconv(dilation=1.0), TypeError, "dilation"),
    ("output_padding float", lambda: deconv(output_padding=0.0), TypeError, "output_padding"),
    ("kernel_size float", lambda: im2col(kernel_size=3.0), TypeError, "kernel_size"),
    ("col2im kernel_size float", lambda: col2im(kernel_size=3.0), TypeError, "kernel_size"),
    ("col2im output_size float", lambda: col2im(output_size=(5.0, 6)), TypeError,
     "output_size"),
    ("groups float", lambda: deconv(groups=1.0), TypeError, "groups"),
    ("conv groups float", lambda: conv(groups=2.0), TypeError, "groups"),
    ("stride bool", lambda: deconv(stride=True), TypeError, "stride"),
    ("padding bool", lambda: conv(padding=False), TypeError, "padding"),
    ("groups bool", lambda: deconv(groups=True), TypeError, "groups"),
    ("kernel_size bool", lambda: im2col(kernel_size=(True, 3)), TypeError, "kernel_size"),
    ("stride string", lambda: conv(stride="2"), TypeError, "stride"),
    # --- algorithm
    ("algorithm unknown", lambda: deconv(algorithm="winograd"), ValueError, "algorithm"),
    ("algorithm zero_pad", lambda: deconv(algorithm=""), ValueError, "algorithm"),
    ("algorithm None", lambda: deconv(algorithm=None), (ValueError, TypeError), "algorithm"),
    # --- bilinear_kernel
    ("bilinear_kernel factor 0", lambda: suite.bilinear_kernel(0, 3), ValueError, "factor"),
    ("bilinear_kernel channels 0", lambda: suite.bilinear_kernel(2, 0), ValueError,
     "channels"),
    ("bilinear_kernel factor float", lambda: suite.bilinear_kernel(2.0, 3), TypeError,
     "factor"),
    ("bilinear_kernel dtype int", lambda: suite.bilinear_kernel(2, 3, dtype=np.int32),
     TypeError, "dtype"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_raises_naming_it(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_cases_did_not_modify_inputs():
    # runs after the cases above in file order; also checks the error paths left the shared
    # inputs alone
    for name, a in dict(X=X, W_DECONV=W_DECONV, W_CONV=W_CONV, B3=B3, B6=B6,
                        G_DECONV=G_DECONV, COLS=COLS, G_UP=G_UP).items():
        np.testing.assert_array_equal(a, ORIGINALS[name], err_msg=name)


def test_error_leaves_out_untouched():
    out = np.full(G_DECONV.shape, 7.0, f32)
    with pytest.raises(ValueError):
        suite.deconv2d(X, W_DECONV, B3, stride=2, output_padding=3, out=out)
    np.testing.assert_array_equal(out, 7.0)


def test_numpy_integer_arguments_are_accepted():
    y = suite.deconv2d(X, W_DECONV, B3, stride=np.int64(2), padding=(np.int32(1), 1),
                       num_threads=np.int64(1))
    assert y.shape == (2, 3, 9, 11)
    assert suite.upsample(X, size=(np.int64(7), 9)).shape == (2, 4, 7, 9)
