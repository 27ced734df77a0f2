"""Every mistake a caller can make is a ValueError / TypeError naming the argument.

Each case starts from a valid call and changes one thing.
"""

import numpy as np
import pytest

import inspect
import re

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
    ("algorithm unknown", lambda: deconv(algorithm="fft"), ValueError, "algorithm"),
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
    # --- profile
    ("profile max_events 0", lambda: suite.profile(max_events=0), ValueError, "max_events"),
    ("profile max_calls -1", lambda: suite.profile(max_calls=-1), ValueError, "max_calls"),
    ("profile max_events float", lambda: suite.profile(max_events=1e6), TypeError,
     "max_events"),
    ("profile max_calls bool", lambda: suite.profile(max_calls=True), TypeError, "max_calls"),
]


SKIP = randn(RNG, (2, 4, 10, 12), np.float32)        # upsample_add(X, SKIP): x2
ORIGINALS["SKIP"] = SKIP.copy()


def upconv(**kw):
    args = dict(x=X, weight=W_CONV, bias=B6, scale_factor=2, padding=1)
    args.update(kw)
    return suite.upsample_conv2d(**args)


def upadd(**kw):
    args = dict(x=X, skip=SKIP)
    args.update(kw)
    return suite.upsample_add(**args)


def overlapping_out_upconv():
    # x2 + 1x1 conv with 4 -> 4 channels: output (2, 4, 10, 12); x sits inside out
    buf = randn(seeded_rng("ov-upconv"), (2 * 4 * 10 * 12,), f32)
    x = buf[:X.size].reshape(X.shape)
    w = randn(seeded_rng("ov-w"), (4, 4, 1, 1), f32)
    return lambda: suite.upsample_conv2d(x, w, out=buf.reshape(2, 4, 10, 12))


def overlapping_out_upadd():
    buf = randn(seeded_rng("ov-upadd"), (SKIP.size,), f32)
    x = buf[:X.size].reshape(X.shape)
    return lambda: suite.upsample_add(x, SKIP, out=buf.reshape(SKIP.shape))


def overlapping_x_in_place_upadd():
    # out=skip (in place) while x lives inside skip
    skip = SKIP.copy()
    x = skip.reshape(-1)[:X.size].reshape(X.shape)
    return lambda: suite.upsample_add(x, skip, out=skip)


def readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


CASES += [
    # --- upsample_conv2d: arrays
    ("upconv x list", lambda: upconv(x=X.tolist()), TypeError, "x"),
    ("upconv x ndim", lambda: upconv(x=X[0]), ValueError, "x"),
    ("upconv x int", lambda: upconv(x=X.astype(np.int32), bias=None), TypeError, "x"),
    ("upconv x float16", lambda: upconv(x=X.astype(np.float16), bias=None), TypeError, "x"),
    ("upconv x no channels", lambda: upconv(x=X[:, :0]), ValueError, "x"),
    ("upconv weight ndim", lambda: upconv(weight=W_CONV[0]), ValueError, "weight"),
    ("upconv weight dtype", lambda: upconv(weight=W_CONV.astype(f64), bias=None), TypeError,
     "weight"),
    ("upconv weight channels", lambda: upconv(weight=W_CONV[:, :3]), ValueError,
     "weight|channels"),
    ("upconv weight empty kernel", lambda: upconv(weight=W_CONV[:, :, :0]), ValueError,
     "weight"),
    ("upconv groups divide", lambda: upconv(groups=3, bias=None), ValueError, "groups"),
    ("upconv groups 0", lambda: upconv(groups=0), ValueError, "groups"),
    ("upconv groups float", lambda: upconv(groups=2.0), TypeError, "groups"),
    ("upconv bias shape", lambda: upconv(bias=B3), ValueError, "bias"),
    ("upconv bias dtype", lambda: upconv(bias=B6.astype(f64)), TypeError, "bias"),
    ("upconv bias list", lambda: upconv(bias=B6.tolist()), TypeError, "bias"),
    ("upconv algorithm unknown", lambda: upconv(algorithm="fft"), ValueError, "algorithm"),
    ("upconv algorithm None", lambda: upconv(algorithm=None), (ValueError, TypeError),
     "algorithm"),
    ("upconv winograd for bilinear", lambda: upconv(mode="bilinear", algorithm="winograd"),
     ValueError, "algorithm"),
    ("upconv collapsed for stride 2", lambda: upconv(stride=2, algorithm="collapsed"),
     ValueError, "algorithm"),
    # --- upsample_conv2d: upsampling
    ("upconv scale_factor None", lambda: upconv(scale_factor=None), ValueError,
     "scale_factor"),
    ("upconv scale_factor 0", lambda: upconv(scale_factor=0), ValueError, "scale_factor"),
    ("upconv scale_factor nan", lambda: upconv(scale_factor=float("nan")), ValueError,
     "scale_factor"),
    ("upconv scale_factor inf", lambda: upconv(scale_factor=(2, float("inf"))), ValueError,
     "scale_factor"),
    ("upconv scale_factor negative", lambda: upconv(scale_factor=-2), ValueError,
     "scale_factor"),
    ("upconv scale_factor 3 values", lambda: upconv(scale_factor=(2, 2, 2)), ValueError,
     "scale_factor"),
    ("upconv scale_factor string", lambda: upconv(scale_factor="2"), TypeError,
     "scale_factor"),
    ("upconv scale_factor bool", lambda: upconv(scale_factor=True), TypeError,
     "scale_factor"),
    ("upconv scale_factor empty output", lambda: upconv(scale_factor=0.1), ValueError,
     "scale_factor"),
    ("upconv mode unknown", lambda: upconv(mode="bicubic"), ValueError, "mode"),
    ("upconv mode None", lambda: upconv(mode=None), (ValueError, TypeError), "mode"),
    ("upconv align_corners with nearest", lambda: upconv(align_corners=True), ValueError,
     "align_corners"),
    ("upconv align_corners not bool", lambda: upconv(mode="bilinear", align_corners=1),
     TypeError, "align_corners"),
    # --- upsample_conv2d: convolution geometry
    ("upconv stride 0", lambda: upconv(stride=0), ValueError, "stride"),
    ("upconv stride float", lambda: upconv(stride=1.0), TypeError, "stride"),
    ("upconv stride 3 values", lambda: upconv(stride=(1, 1, 1)), ValueError, "stride"),
    ("upconv padding -1", lambda: upconv(padding=(0, -1)), ValueError, "padding"),
    ("upconv padding bool", lambda: upconv(padding=True), TypeError, "padding"),
    ("upconv dilation 0", lambda: upconv(dilation=0), ValueError, "dilation"),
    ("upconv kernel does not fit", lambda: upconv(padding=0, dilation=6), ValueError,
     "kernel_size|padding|dilation"),
    # --- upsample_conv2d: out=, num_threads
    ("upconv out shape", lambda: upconv(out=np.empty((2, 6, 10, 11), f32)), ValueError, "out"),
    ("upconv out dtype", lambda: upconv(out=np.empty((2, 6, 10, 12), f64)), TypeError, "out"),
    ("upconv out non-contiguous",
     lambda: upconv(out=np.empty((2, 6, 12, 10), f32).transpose(0, 1, 3, 2)), ValueError,
     "out"),
    ("upconv out read-only", lambda: upconv(out=readonly(np.empty((2, 6, 10, 12), f32))),
     ValueError, "out"),
    ("upconv out list", lambda: upconv(out=[0.0]), TypeError, "out"),
    ("upconv out overlaps x", overlapping_out_upconv(), ValueError, "out"),
    *[(f"upconv num_threads {bad!r}", (lambda bad=bad: upconv(num_threads=bad)), exc,
       "num_threads") for bad, exc in [(0, ValueError), (-2, ValueError), (2.0, TypeError)]],
    # --- upsample_add
    ("upadd x list", lambda: upadd(x=X.tolist()), TypeError, "x"),
    ("upadd skip list", lambda: upadd(skip=SKIP.tolist()), TypeError, "skip"),
    ("upadd x ndim", lambda: upadd(x=X[0]), ValueError, "x"),
    ("upadd skip ndim", lambda: upadd(skip=SKIP[0]), ValueError, "skip"),
    ("upadd x int", lambda: upadd(x=X.astype(np.int64)), TypeError, "x"),
    ("upadd skip dtype", lambda: upadd(skip=SKIP.astype(f64)), TypeError, "skip"),
    ("upadd batch mismatch", lambda: upadd(skip=SKIP[:1]), ValueError, "skip"),
    ("upadd channel mismatch", lambda: upadd(skip=SKIP[:, :3]), ValueError, "skip"),
    ("upadd skip empty rows", lambda: upadd(skip=SKIP[:, :, :0]), ValueError, "skip"),
    ("upadd x no channels", lambda: upadd(x=X[:, :0], skip=SKIP[:, :0]), ValueError, "x"),
    ("upadd mode unknown", lambda: upadd(mode="area"), ValueError, "mode"),
    ("upadd align_corners with nearest", lambda: upadd(align_corners=False), ValueError,
     "align_corners"),
    ("upadd align_corners not bool", lambda: upadd(mode="bilinear", align_corners="yes"),
     TypeError, "align_corners"),
    ("upadd out shape", lambda: upadd(out=np.empty((2, 4, 10, 13), f32)), ValueError, "out"),
    ("upadd out dtype", lambda: upadd(out=np.empty(SKIP.shape, f64)), TypeError, "out"),
    ("upadd out fortran", lambda: upadd(out=np.empty(SKIP.shape, f32, order="F")),
     ValueError, "out"),
    ("upadd out read-only", lambda: upadd(out=readonly(SKIP)), ValueError, "out"),
    ("upadd out overlaps x", overlapping_out_upadd(), ValueError, "out"),
    ("upadd out is a view of skip", lambda: upadd(out=SKIP[...]), ValueError, "out"),
    ("upadd in place with x inside skip", overlapping_x_in_place_upadd(), ValueError, "out|x"),
    ("upadd in place on a non-contiguous skip",
     lambda: (lambda s: upadd(skip=s, out=s))(np.asfortranarray(SKIP)), ValueError,
     "skip|out"),
    *[(f"upadd num_threads {bad!r}", (lambda bad=bad: upadd(num_threads=bad)), exc,
       "num_threads") for bad, exc in [(0, ValueError), (-2, ValueError), (1.5, TypeError)]],
    # --- deconv2d_backward
    ("backward x ndim", lambda: deconv_backward(x=X[0]), ValueError, "x"),
    ("backward weight ndim", lambda: deconv_backward(weight=W_DECONV[0]), ValueError,
     "weight"),
    ("backward grad_out ndim", lambda: deconv_backward(grad_out=G_DECONV[0]), ValueError,
     "grad_out"),
    ("backward grad_out list", lambda: deconv_backward(grad_out=G_DECONV.tolist()),
     TypeError, "grad_out"),
    ("backward grad_out int", lambda: deconv_backward(grad_out=G_DECONV.astype(np.int32)),
     TypeError, "grad_out"),
    ("backward groups 0", lambda: deconv_backward(groups=0), ValueError, "groups"),
    ("backward groups divide", lambda: deconv_backward(groups=3), ValueError, "groups"),
    ("backward stride 0", lambda: deconv_backward(stride=0), ValueError, "stride"),
    ("backward dilation float", lambda: deconv_backward(dilation=1.0), TypeError,
     "dilation"),
    ("backward output_padding too big",
     lambda: deconv_backward(stride=2, output_padding=2), ValueError, "output_padding"),
    ("backward weight channels", lambda: deconv_backward(weight=W_DECONV[:3]), ValueError,
     "weight"),
    # --- upsample_backward
    ("upsample_backward input_shape 3 values",
     lambda: upsample_backward(input_shape=(2, 4, 5)), ValueError, "input_shape"),
    ("upsample_backward input_shape float",
     lambda: upsample_backward(input_shape=(2, 4, 5.0, 6)), TypeError, "input_shape"),
    ("upsample_backward input_shape 0 rows",
     lambda: upsample_backward(input_shape=(2, 4, 0, 6)), ValueError, "input_shape"),
    ("upsample_backward grad_out list", lambda: upsample_backward(grad_out=G_UP.tolist()),
     TypeError, "grad_out"),
    ("upsample_backward scale_factor 0", lambda: upsample_backward(scale_factor=0),
     ValueError, "scale_factor"),
    # --- im2col / col2im
    ("im2col x list", lambda: im2col(x=X.tolist()), TypeError, "x"),
    ("im2col x no rows", lambda: im2col(x=X[:, :, :0]), ValueError, "x"),
    ("im2col kernel_size None", lambda: im2col(kernel_size=None), TypeError, "kernel_size"),
    ("im2col stride float", lambda: im2col(stride=1.5), TypeError, "stride"),
    ("col2im cols list", lambda: col2im(cols=COLS.tolist()), TypeError, "cols"),
    ("col2im cols float16", lambda: col2im(cols=COLS.astype(np.float16)), TypeError, "cols"),
    ("col2im output_size 3 values", lambda: col2im(output_size=(5, 6, 1)), ValueError,
     "output_size"),
    ("col2im output_size negative", lambda: col2im(output_size=-5), ValueError,
     "output_size"),
    ("col2im padding -1", lambda: col2im(padding=-1), ValueError, "padding"),
    ("col2im dilation 0", lambda: col2im(dilation=0), ValueError, "dilation"),
    ("col2im kernel too big", lambda: col2im(kernel_size=6), ValueError,
     "kernel_size|padding|dilation"),
    ("col2im zero rows", lambda: col2im(cols=COLS[:, :0]), ValueError, "cols"),
    # --- bilinear_kernel
    ("bilinear_kernel factor -1", lambda: suite.bilinear_kernel(-1, 3), ValueError, "factor"),
    ("bilinear_kernel factor bool", lambda: suite.bilinear_kernel(True, 3), TypeError,
     "factor"),
    ("bilinear_kernel channels float", lambda: suite.bilinear_kernel(2, 3.0), TypeError,
     "channels"),
    ("bilinear_kernel channels None", lambda: suite.bilinear_kernel(2, None), TypeError,
     "channels"),
    ("bilinear_kernel dtype float16", lambda: suite.bilinear_kernel(2, 3, dtype=np.float16),
     TypeError, "dtype"),
    # --- shape helpers (public: the benchmarks and users size buffers with them)
    ("conv2d_output_shape input_shape 3 values",
     lambda: suite.conv2d_output_shape((2, 4, 5), W_CONV.shape), ValueError, "input_shape"),
    ("conv2d_output_shape weight_shape 3 values",
     lambda: suite.conv2d_output_shape(X.shape, (6, 4, 3)), ValueError, "weight_shape"),
    ("conv2d_output_shape input_shape float",
     lambda: suite.conv2d_output_shape((2, 4, 5.5, 6), W_CONV.shape), TypeError,
     "input_shape"),
    ("conv2d_output_shape kernel 0",
     lambda: suite.conv2d_output_shape(X.shape, (6, 4, 0, 3)), ValueError, "weight_shape"),
    ("conv2d_output_shape stride 0",
     lambda: suite.conv2d_output_shape(X.shape, W_CONV.shape, stride=0), ValueError, "stride"),
    ("conv2d_output_shape empty output",
     lambda: suite.conv2d_output_shape(X.shape, W_CONV.shape, dilation=5), ValueError,
     "kernel_size|padding|dilation"),
    ("deconv2d_output_shape input_shape 3 values",
     lambda: suite.deconv2d_output_shape((2, 4, 5), W_DECONV.shape), ValueError,
     "input_shape"),
    ("deconv2d_output_shape input_shape float",
     lambda: suite.deconv2d_output_shape((2, 4, 5.5, 6), W_DECONV.shape), TypeError,
     "input_shape"),
    ("deconv2d_output_shape groups 0",
     lambda: suite.deconv2d_output_shape(X.shape, W_DECONV.shape, groups=0), ValueError,
     "groups"),
    ("deconv2d_output_shape output_padding",
     lambda: suite.deconv2d_output_shape(X.shape, W_DECONV.shape, output_padding=1),
     ValueError, "output_padding"),
    ("deconv2d_output_shape padding too big",
     lambda: suite.deconv2d_output_shape(X.shape, W_DECONV.shape, padding=9), ValueError,
     "padding"),
    ("choose_algorithm groups 0",
     lambda: suite.choose_algorithm(X.shape, W_DECONV.shape, groups=0), ValueError, "groups"),
    ("choose_algorithm weight_shape 1 value",
     lambda: suite.choose_algorithm(X.shape, (4,)), ValueError, "weight_shape"),
    ("choose_algorithm stride 0",
     lambda: suite.choose_algorithm(X.shape, W_DECONV.shape, stride=0), ValueError, "stride"),
    ("choose_algorithm padding -1",
     lambda: suite.choose_algorithm(X.shape, W_DECONV.shape, padding=-1), ValueError,
     "padding"),
    ("choose_algorithm itemsize 0",
     lambda: suite.choose_algorithm(X.shape, W_DECONV.shape, itemsize=0), ValueError,
     "itemsize"),
    ("choose_algorithm itemsize 4.0",
     lambda: suite.choose_algorithm(X.shape, W_DECONV.shape, itemsize=4.0), TypeError,
     "itemsize"),
    ("upsample_output_size input_size 1 value",
     lambda: suite.upsample_output_size((5,), scale_factor=2), ValueError, "input_size"),
    ("upsample_output_size neither",
     lambda: suite.upsample_output_size((5, 6)), ValueError, "size|scale_factor"),
    ("upsample_output_size scale_factor 0",
     lambda: suite.upsample_output_size((5, 6), scale_factor=0), ValueError, "scale_factor"),
    ("upsample_output_size size float",
     lambda: suite.upsample_output_size((5, 6), size=4.5), TypeError, "size"),
]


def deconv_layer(**kw):
    args = dict(weight=W_DECONV, bias=B3)
    args.update(kw)
    return suite.Deconv2d(**args)


def upconv_layer(**kw):
    args = dict(weight=W_CONV, bias=B6, padding=1)
    args.update(kw)
    return suite.UpsampleConv2d(**args)


CASES += [
    # --- the layer objects: arguments when made, inputs when called
    ("Deconv2d weight list", lambda: deconv_layer(weight=W_DECONV.tolist()), TypeError,
     "weight"),
    ("Deconv2d weight ndim", lambda: deconv_layer(weight=W_DECONV[0]), ValueError, "weight"),
    ("Deconv2d weight int", lambda: deconv_layer(weight=W_DECONV.astype(np.int32), bias=None),
     TypeError, "weight"),
    ("Deconv2d weight empty kernel", lambda: deconv_layer(weight=W_DECONV[:, :, :0]),
     ValueError, "weight"),
    ("Deconv2d groups divide", lambda: deconv_layer(groups=3, bias=None), ValueError,
     "groups"),
    ("Deconv2d groups 0", lambda: deconv_layer(groups=0), ValueError, "groups"),
    ("Deconv2d bias shape", lambda: deconv_layer(bias=B6), ValueError, "bias"),
    ("Deconv2d bias dtype", lambda: deconv_layer(bias=B3.astype(f64)), TypeError, "bias"),
    ("Deconv2d stride 0", lambda: deconv_layer(stride=0), ValueError, "stride"),
    ("Deconv2d output_padding", lambda: deconv_layer(stride=2, output_padding=2), ValueError,
     "output_padding"),
    ("Deconv2d algorithm unknown", lambda: deconv_layer(algorithm="fft"), ValueError,
     "algorithm"),
    ("Deconv2d num_threads 0", lambda: deconv_layer(num_threads=0), ValueError,
     "num_threads"),
    ("Deconv2d call x dtype", lambda: deconv_layer()(X.astype(f64)), TypeError, "weight"),
    ("Deconv2d call x channels", lambda: deconv_layer()(X[:, :3]), ValueError, "weight"),
    ("Deconv2d call padding too large", lambda: deconv_layer(padding=5)(X), ValueError,
     "padding"),
    ("UpsampleConv2d weight ndim", lambda: upconv_layer(weight=W_CONV[0]), ValueError,
     "weight"),
    ("UpsampleConv2d weight float16",
     lambda: upconv_layer(weight=W_CONV.astype(np.float16), bias=None), TypeError, "weight"),
    ("UpsampleConv2d groups divide", lambda: upconv_layer(groups=4, bias=None), ValueError,
     "groups"),
    ("UpsampleConv2d bias shape", lambda: upconv_layer(bias=B3), ValueError, "bias"),
    ("UpsampleConv2d scale_factor None", lambda: upconv_layer(scale_factor=None), ValueError,
     "scale_factor"),
    ("UpsampleConv2d scale_factor 0", lambda: upconv_layer(scale_factor=0), ValueError,
     "scale_factor"),
    ("UpsampleConv2d mode unknown", lambda: upconv_layer(mode="bicubic"), ValueError, "mode"),
    ("UpsampleConv2d align_corners with nearest", lambda: upconv_layer(align_corners=True),
     ValueError, "align_corners"),
    ("UpsampleConv2d dilation 0", lambda: upconv_layer(dilation=0), ValueError, "dilation"),
    ("UpsampleConv2d algorithm unknown", lambda: upconv_layer(algorithm="fft"), ValueError,
     "algorithm"),
    ("UpsampleConv2d num_threads float", lambda: upconv_layer(num_threads=2.0), TypeError,
     "num_threads"),
    ("UpsampleConv2d call x dtype", lambda: upconv_layer()(X.astype(f64)), TypeError,
     "weight"),
    ("UpsampleConv2d call x channels", lambda: upconv_layer()(X[:, :3]), ValueError,
     "weight|channels"),
    ("UpsampleConv2d call winograd for stride 2",
     lambda: upconv_layer(stride=2, algorithm="winograd")(X), ValueError, "algorithm"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_raises_naming_it(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_cases_did_not_modify_inputs():
    # runs after the cases above in file order; also checks the error paths left the shared
    # inputs alone
    for name, a in dict(X=X, W_DECONV=W_DECONV, W_CONV=W_CONV, B3=B3, B6=B6,
                        G_DECONV=G_DECONV, COLS=COLS, G_UP=G_UP, SKIP=SKIP).items():
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


def test_cached_geometry_still_rejects_bad_arguments_every_time():
    """deconv2d caches the checked geometry of plain arguments: a bad one raises on every
    call, before and after good calls, and bools or floats never reach the cache."""
    for _ in range(2):
        assert suite.deconv2d(X, W_DECONV, stride=2).shape == (2, 3, 11, 13)
        for bad, exc in [(0, ValueError), ((2, 0), ValueError), (True, TypeError),
                         (2.0, TypeError), ((True, 2), TypeError)]:
            with pytest.raises(exc, match="stride"):
                suite.deconv2d(X, W_DECONV, stride=bad)
        with pytest.raises(ValueError, match="output_padding"):
            suite.deconv2d(X, W_DECONV, stride=2, output_padding=2)
        with pytest.raises(TypeError, match="groups"):
            suite.deconv2d(X, W_DECONV, stride=2, groups=1.0)
    assert suite.deconv2d(X, W_DECONV, stride=(np.int64(2), 2)).shape == (2, 3, 11, 13)


# ----------------------------------------------------------------------------------------
# every public function has bad-input cases above
# ----------------------------------------------------------------------------------------

PUBLIC_FUNCTIONS = sorted(name for name in suite.__all__ if callable(getattr(suite, name)))
SIGNATURES = {name: inspect.signature(getattr(suite, name)) for name in PUBLIC_FUNCTIONS}
#: public callables without arguments: nothing a caller can get wrong
NO_ARGUMENTS = {"openmp_enabled", "release_memory"}
#: the kernels: each needs several cases (arrays, geometry, out=, threads)
KERNELS = {"col2im", "conv2d", "deconv2d", "deconv2d_backward", "im2col", "upsample",
           "upsample_add", "upsample_backward", "upsample_conv2d"}


def _entry_points(monkeypatch):
    """Run every case with each public function wrapped; return the function each case
    entered first (the one it tests)."""
    entered = []
    for name in PUBLIC_FUNCTIONS:
        def spy(*args, _name=name, _function=getattr(suite, name), **kwargs):
            entered.append(_name)
            return _function(*args, **kwargs)
        monkeypatch.setattr(suite, name, spy)
    tested = {}
    for case_name, call, _, match in CASES:
        entered.clear()
        try:
            call()
        except Exception:
            pass
        assert entered, f"case {case_name!r} calls no public function"
        tested.setdefault(entered[0], []).append((case_name, match))
    return tested


def test_every_public_function_has_bad_input_cases(monkeypatch):
    tested = _entry_points(monkeypatch)
    assert set(PUBLIC_FUNCTIONS) >= KERNELS | NO_ARGUMENTS
    for name in PUBLIC_FUNCTIONS:
        if name in NO_ARGUMENTS:
            assert not SIGNATURES[name].parameters
            continue
        cases = tested.get(name, [])
        minimum = 8 if name in KERNELS else 3
        assert len(cases) >= minimum, f"{name}: only {len(cases)} bad-input cases"
        # each case's expected message names one of the function's own arguments
        params = set(SIGNATURES[name].parameters)
        for case_name, match in cases:
            named = [alt for alt in match.split("|") if re.fullmatch(r"\w+", alt)]
            assert params & set(named) or "kernel_size" in named, (
                f"{case_name!r}: the message pattern {match!r} names no argument of "
                f"{name}{tuple(sorted(params))}")
