"""Pure-NumPy reference implementations: the test oracle and the naive baseline.

Every function here is written straight from its mathematical definition (loops over
channels and kernel taps, with only the innermost spatial work vectorised), accumulates in
float64 and returns an array of the input's dtype.  It is deliberately independent of the
compiled kernels in :mod:`suite` -- it imports nothing from them -- so that the tests can
check the fast code against something that was not derived from it.

It is *not* fast: a transposed convolution costs ``C_in * C_out/groups * kH * kW`` NumPy
calls over ``N*H*W`` elements each, and ``deconv2d_zero_insertion`` executes ``sH*sW``
times the useful FLOPs on purpose (it is the textbook baseline that shows why the col2im and
phase algorithms exist).  Use it for small shapes only.

Contents
--------
im2col, col2im
    ``torch.nn.functional.unfold`` / ``fold``.
conv2d
    Cross-correlation (like ``torch.nn.functional.conv2d``), direct loops.
deconv2d, deconv2d_zero_insertion, deconv2d_backward
    Transposed convolution by its scatter definition, by zero insertion, and its gradients.
upsample, upsample_backward
    ``nearest`` / ``nearest-exact`` / ``bilinear`` with the coordinate rules of docs/design.md
    ("Semantics that are easy to get wrong"), and the exact adjoint.
upsample_conv2d, upsample_add
    The fused kernels by their definitions: :func:`conv2d` of :func:`upsample`, and
    :func:`upsample` to the skip's size plus the skip (the upsampled map is materialised).
bilinear_kernel
    Caffe's ``BilinearFiller``.

Argument checking is minimal (this module trusts the tests); the public API validates.
"""

import math
import numbers

import numpy as np

__all__ = [
    "conv2d_output_size",
    "deconv2d_output_size",
    "upsample_output_size",
    "im2col",
    "col2im",
    "conv2d",
    "deconv2d",
    "deconv2d_zero_insertion",
    "deconv2d_backward",
    "upsample",
    "upsample_backward",
    "upsample_source_indices",
    "upsample_conv2d",
    "upsample_add",
    "bilinear_kernel",
]

_ACC = np.float64  # accumulation dtype


def _pair(value, name):
    """``int`` or 2-sequence -> ``(int, int)``."""
    if isinstance(value, numbers.Integral):
        return (int(value), int(value))
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value!r}")
    return (int(value[0]), int(value[1]))


def _check_float(*arrays):
    dtype = arrays[0].dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"reference supports float32/float64, got {dtype}")
    return dtype


# ----------------------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------------------

def conv2d_output_size(in_size, kernel_size, stride=1, padding=0, dilation=1):
    """``floor((in + 2p - d*(k-1) - 1) / s) + 1`` per axis, as a pair."""
    h, w = _pair(in_size, "in_size")
    k, s, p, d = (_pair(v, n) for v, n in ((kernel_size, "kernel_size"), (stride, "stride"),
                                            (padding, "padding"), (dilation, "dilation")))
    return tuple((n + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a, n in enumerate((h, w)))


def deconv2d_output_size(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """``(in-1)*s - 2p + d*(k-1) + op + 1`` per axis, as a pair."""
    h, w = _pair(in_size, "in_size")
    k, s, p, op, d = (_pair(v, n) for v, n in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"),
        (output_padding, "output_padding"), (dilation, "dilation")))
    return tuple((n - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1
                 for a, n in enumerate((h, w)))


def _tap_slice(offset, stride, count):
    """Slice picking ``offset + stride*t`` for ``t in range(count)``."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


# ----------------------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------------------

def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Unfold sliding patches: ``(N, C, H, W) -> (N, C*kH*kW, H_out*W_out)``.

    ``cols[n, c*kH*kW + i*kW + j, oh*W_out + ow] = x[n, c, oh*sH - pH + i*dH, ow*sW - pW + j*dW]``
    (zero outside the image); identical to ``torch.nn.functional.unfold``.
    """
    x = np.asarray(x)
    dtype = _check_float(x)
    kH, kW = _pair(kernel_size, "kernel_size")
    sH, sW = _pair(stride, "stride")
    pH, pW = _pair(padding, "padding")
    dH, dW = _pair(dilation, "dilation")
    N, C, H, W = x.shape
    Ho, Wo = conv2d_output_size((H, W), (kH, kW), (sH, sW), (pH, pW), (dH, dW))
    xp = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=_ACC)
    xp[:, :, pH:pH + H, pW:pW + W] = x
    cols = np.zeros((N, C * kH * kW, max(Ho, 0) * max(Wo, 0)), dtype=_ACC)
    if Ho <= 0 or Wo <= 0:
        return cols.astype(dtype)
    for c in range(C):
        for i in range(kH):
            for j in range(kW):
                patch = xp[:, c, _tap_slice(i * dH, sH, Ho), _tap_slice(j * dW, sW, Wo)]
                cols[:, c * kH * kW + i * kW + j, :] = patch.reshape(N, Ho * Wo)
    return cols.astype(dtype)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """Fold columns back, summing overlaps: ``(N, C*kH*kW, L) -> (N, C, H, W)``.

    The adjoint of :func:`im2col`; identical to ``torch.nn.functional.fold``.
    """
    cols = np.asarray(cols)
    dtype = _check_float(cols)
    H, W = _pair(output_size, "output_size")
    kH, kW = _pair(kernel_size, "kernel_size")
    sH, sW = _pair(stride, "stride")
    pH, pW = _pair(padding, "padding")
    dH, dW = _pair(dilation, "dilation")
    N, CK, L = cols.shape
    C = CK // (kH * kW)
    if C * kH * kW != CK:
        raise ValueError("cols.shape[1] is not a multiple of kH*kW")
    Ho, Wo = conv2d_output_size((H, W), (kH, kW), (sH, sW), (pH, pW), (dH, dW))
    if Ho * Wo != L:
        raise ValueError(f"cols.shape[2]={L} but the geometry gives {Ho}*{Wo}")
    xp = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=_ACC)
    c64 = cols.astype(_ACC)
    for c in range(C):
        for i in range(kH):
            for j in range(kW):
                xp[:, c, _tap_slice(i * dH, sH, Ho), _tap_slice(j * dW, sW, Wo)] += (
                    c64[:, c * kH * kW + i * kW + j, :].reshape(N, Ho, Wo))
    return xp[:, :, pH:pH + H, pW:pW + W].astype(dtype)


# ----------------------------------------------------------------------------------------
# convolution
# ----------------------------------------------------------------------------------------

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct cross-correlation, like ``torch.nn.functional.conv2d``.

    ``y[n, g*Cog+co, oh, ow] = b[g*Cog+co] + sum_{ci,i,j} x[n, g*Cig+ci, oh*sH-pH+i*dH,
    ow*sW-pW+j*dW] * w[g*Cog+co, ci, i, j]`` with ``weight`` of shape
    ``(C_out, C_in//groups, kH, kW)``.  Cost: ``2*N*C_out*C_in/groups*kH*kW*H_out*W_out``.
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    dtype = _check_float(x, weight)
    sH, sW = _pair(stride, "stride")
    pH, pW = _pair(padding, "padding")
    dH, dW = _pair(dilation, "dilation")
    N, C_in, H, W = x.shape
    C_out, Cig, kH, kW = weight.shape
    if C_in != Cig * groups or C_out % groups:
        raise ValueError("channel / groups mismatch")
    Cog = C_out // groups
    Ho, Wo = conv2d_output_size((H, W), (kH, kW), (sH, sW), (pH, pW), (dH, dW))
    xp = np.zeros((N, C_in, H + 2 * pH, W + 2 * pW), dtype=_ACC)
    xp[:, :, pH:pH + H, pW:pW + W] = x
    w = weight.astype(_ACC)
    y = np.zeros((N, C_out, Ho, Wo), dtype=_ACC)
    for g in range(groups):
        for co in range(Cog):
            oc = g * Cog + co
            for ci in range(Cig):
                ic = g * Cig + ci
                for i in range(kH):
                    for j in range(kW):
                        y[:, oc] += w[oc, ci, i, j] * xp[:, ic, _tap_slice(i * dH, sH, Ho),
                                                         _tap_slice(j * dW, sW, Wo)]
            if bias is not None:
                y[:, oc] += np.float64(np.asarray(bias)[oc])
    return y.astype(dtype)


# ----------------------------------------------------------------------------------------
# transposed convolution
# ----------------------------------------------------------------------------------------

def _deconv_geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    N, C_in, H, W = x_shape
    Cw, Cog, kH, kW = w_shape
    if Cw != C_in or C_in % groups:
        raise ValueError("channel / groups mismatch")
    s, p, op, d = (_pair(v, n) for v, n in ((stride, "stride"), (padding, "padding"),
                                            (output_padding, "output_padding"),
                                            (dilation, "dilation")))
    Ho, Wo = deconv2d_output_size((H, W), (kH, kW), s, p, op, d)
    # Full (uncropped) buffer: padded coordinate oh + pH ranges over ih*sH + i*dH, and the
    # cropped window [pH, pH + Ho) may run past it by the output padding.
    Hf = max((H - 1) * s[0] + d[0] * (kH - 1) + 1, p[0] + Ho)
    Wf = max((W - 1) * s[1] + d[1] * (kW - 1) + 1, p[1] + Wo)
    return N, C_in, H, W, Cog, kH, kW, s, p, d, Ho, Wo, Hf, Wf


def deconv2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Transposed convolution by its scatter definition (``torch.nn.functional.conv_transpose2d``).

    ``y[n, g*Cog+co, ih*sH - pH + i*dH, iw*sW - pW + j*dW] += x[n, g*Cig+ci, ih, iw] *
    w[g*Cig+ci, co, i, j]`` (contributions landing outside the output are dropped), plus
    ``bias[co]``; ``weight`` is ``(C_in, C_out//groups, kH, kW)`` and
    ``H_out = (H-1)*sH - 2*pH + dH*(kH-1) + opH + 1``.
    Cost: ``2*N*C_in*C_out/groups*kH*kW*H*W`` FLOPs.
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    dtype = _check_float(x, weight)
    (N, C_in, H, W, Cog, kH, kW, (sH, sW), (pH, pW), (dH, dW), Ho, Wo, Hf, Wf) = \
        _deconv_geometry(x.shape, weight.shape, stride, padding, output_padding, dilation, groups)
    Cig = C_in // groups
    x64 = x.astype(_ACC)
    w = weight.astype(_ACC)
    yf = np.zeros((N, Cog * groups, Hf, Wf), dtype=_ACC)
    for g in range(groups):
        for ci in range(Cig):
            ic = g * Cig + ci
            for co in range(Cog):
                oc = g * Cog + co
                for i in range(kH):
                    for j in range(kW):
                        yf[:, oc, _tap_slice(i * dH, sH, H), _tap_slice(j * dW, sW, W)] += (
                            x64[:, ic] * w[ic, co, i, j])
    y = yf[:, :, pH:pH + Ho, pW:pW + Wo].copy()
    if bias is not None:
        y += np.asarray(bias).astype(_ACC)[None, :, None, None]
    return y.astype(dtype)


def _pad_or_crop(a, axis, before, after):
    """Zero-pad (positive) or crop (negative) ``a`` along ``axis`` on each side."""
    if before < 0:
        a = np.take(a, np.arange(-before, a.shape[axis]), axis=axis)
        before = 0
    if after < 0:
        a = np.take(a, np.arange(0, a.shape[axis] + after), axis=axis)
        after = 0
    widths = [(0, 0)] * a.ndim
    widths[axis] = (before, after)
    return np.pad(a, widths)


def deconv2d_zero_insertion(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                            dilation=1, groups=1):
    """Transposed convolution the textbook way (same result as :func:`deconv2d`).

    Insert ``s-1`` zeros between input pixels, pad each side by ``q = d*(k-1) - p`` (crop if
    negative) plus ``output_padding`` at the bottom/right, then run a stride-1 correlation
    with dilation ``d`` and the spatially flipped kernel with in/out channels swapped per
    group.  Executes ``sH*sW`` times the useful FLOPs: the baseline, not an algorithm to use.
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    dtype = _check_float(x, weight)
    sH, sW = _pair(stride, "stride")
    pH, pW = _pair(padding, "padding")
    opH, opW = _pair(output_padding, "output_padding")
    dH, dW = _pair(dilation, "dilation")
    N, C_in, H, W = x.shape
    _, Cog, kH, kW = weight.shape
    Cig = C_in // groups
    z = np.zeros((N, C_in, (H - 1) * sH + 1, (W - 1) * sW + 1), dtype=_ACC)
    z[:, :, ::sH, ::sW] = x
    qH, qW = dH * (kH - 1) - pH, dW * (kW - 1) - pW
    z = _pad_or_crop(z, 2, qH, qH + opH)
    z = _pad_or_crop(z, 3, qW, qW + opW)
    w = weight.astype(_ACC)
    wc = np.empty((groups * Cog, Cig, kH, kW), dtype=_ACC)
    for g in range(groups):
        for ci in range(Cig):
            for co in range(Cog):
                wc[g * Cog + co, ci] = w[g * Cig + ci, co, ::-1, ::-1]
    y = conv2d(z, wc, None, 1, 0, (dH, dW), groups)
    if bias is not None:
        y = y + np.asarray(bias).astype(_ACC)[None, :, None, None]
    return y.astype(dtype)


def deconv2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0, dilation=1,
                      groups=1):
    """Gradients of :func:`deconv2d`'s scatter sum: ``(grad_input, grad_weight, grad_bias)``.

    ``gx[n, ic, ih, iw] = sum_{co,i,j} g[n, oc, ih*sH-pH+i*dH, iw*sW-pW+j*dW] * w[ic, co, i, j]``
    ``gw[ic, co, i, j] = sum_{n,ih,iw} x[n, ic, ih, iw] * g[n, oc, ih*sH-pH+i*dH, ...]``
    ``gb[oc] = sum_{n,h,w} g[n, oc, h, w]`` (terms outside the output are zero).
    """
    grad_out = np.asarray(grad_out)
    x = np.asarray(x)
    weight = np.asarray(weight)
    dtype = _check_float(x, weight, grad_out)
    (N, C_in, H, W, Cog, kH, kW, (sH, sW), (pH, pW), (dH, dW), Ho, Wo, Hf, Wf) = \
        _deconv_geometry(x.shape, weight.shape, stride, padding, output_padding, dilation, groups)
    if grad_out.shape != (N, Cog * groups, Ho, Wo):
        raise ValueError(f"grad_out shape {grad_out.shape} != {(N, Cog * groups, Ho, Wo)}")
    Cig = C_in // groups
    gf = np.zeros((N, Cog * groups, Hf, Wf), dtype=_ACC)
    gf[:, :, pH:pH + Ho, pW:pW + Wo] = grad_out
    x64 = x.astype(_ACC)
    w = weight.astype(_ACC)
    gx = np.zeros((N, C_in, H, W), dtype=_ACC)
    gw = np.zeros(weight.shape, dtype=_ACC)
    for g in range(groups):
        for ci in range(Cig):
            ic = g * Cig + ci
            for co in range(Cog):
                oc = g * Cog + co
                for i in range(kH):
                    for j in range(kW):
                        gtap = gf[:, oc, _tap_slice(i * dH, sH, H), _tap_slice(j * dW, sW, W)]
                        gx[:, ic] += gtap * w[ic, co, i, j]
                        gw[ic, co, i, j] = np.sum(x64[:, ic] * gtap)
    gb = grad_out.astype(_ACC).sum(axis=(0, 2, 3))
    return gx.astype(dtype), gw.astype(dtype), gb.astype(dtype)


# ----------------------------------------------------------------------------------------
# upsampling
# ----------------------------------------------------------------------------------------

_MODES = ("nearest", "nearest-exact", "bilinear")


def _scale_pair(scale_factor):
    if isinstance(scale_factor, numbers.Real):
        return (float(scale_factor), float(scale_factor))
    scale_factor = tuple(scale_factor)
    if len(scale_factor) != 2:
        raise ValueError(f"scale_factor must be a number or a pair, got {scale_factor!r}")
    return (float(scale_factor[0]), float(scale_factor[1]))


def upsample_output_size(in_size, size=None, scale_factor=None):
    """Output ``(H_out, W_out)``: ``size``, or ``floor(in * scale_factor)`` per axis."""
    H, W = _pair(in_size, "in_size")
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if size is not None:
        return _pair(size, "size")
    sH, sW = _scale_pair(scale_factor)
    return (int(math.floor(H * sH)), int(math.floor(W * sW)))


def upsample_source_indices(in_size, out_size, scale, mode, align_corners):
    """One axis of the coordinate map (PyTorch's ``UpSample.h`` rules, see docs/design.md).

    * ``nearest``: ``(dst*in)//out`` for a given size (exact integers), else
      ``min(floor(dst / scale_factor), in-1)`` (double division);
    * ``nearest-exact``: ``((2*dst+1)*in)//(2*out)``, else
      ``min(floor((dst + 0.5) / scale_factor), in-1)``;
    * ``bilinear``: ``src = dst*(in-1)/(out-1)`` (0 if out == 1) with ``align_corners``,
      else ``max(scale*(dst+0.5) - 0.5, 0)`` with ``scale = 1/scale_factor`` or ``in/out``;
      ``i0 = min(floor(src), in-1)``, ``i1 = i0 + (i0 < in-1)``, ``l1 = src - i0``;
    * PyTorch's fast paths, whatever the scale factor: ``out == in`` is the identity for
      nearest and bilinear (not nearest-exact), and ``out == 2*in`` is ``dst // 2`` for
      nearest.

    ``scale`` is the user's scale factor for this axis, or ``None`` when a size was given.
    Returns ``(i0, i1, l0, l1)`` int64/float64 arrays of length ``out_size``; for the nearest
    modes ``i1 == i0``, ``l0 == 1`` and ``l1 == 0``.
    """
    dst = np.arange(out_size)
    identity = (np.arange(out_size), np.arange(out_size), np.ones(out_size), np.zeros(out_size))
    # PyTorch's fast paths (UpSample.h), taken whatever the scale factor: nearest and
    # bilinear copy an axis whose size is unchanged, nearest reads dst // 2 for an output
    # exactly twice the input.  nearest-exact has no fast path.
    if out_size == in_size and mode in ("nearest", "bilinear"):
        return identity
    if out_size == 2 * in_size and mode == "nearest":
        i0 = dst // 2
        return i0, i0.copy(), np.ones(out_size), np.zeros(out_size)
    if mode in ("nearest", "nearest-exact"):
        if scale is None:  # exact integer arithmetic
            if mode == "nearest":
                i0 = (dst * in_size) // out_size
            else:
                i0 = ((2 * dst + 1) * in_size) // (2 * out_size)
        else:  # double division by the scale factor
            i0 = np.array([math.floor((d if mode == "nearest" else d + 0.5) / scale)
                           for d in range(out_size)], dtype=np.int64)
        i0 = np.minimum(i0, in_size - 1).astype(np.int64)
        return i0, i0.copy(), np.ones(out_size), np.zeros(out_size)
    if mode != "bilinear":
        raise ValueError(f"unknown mode {mode!r}")
    if align_corners:
        ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        src = np.array([ratio * d for d in range(out_size)], dtype=np.float64)
    else:
        ratio = 1.0 / scale if (scale is not None and scale > 0) else in_size / out_size
        src = np.array([max(ratio * (d + 0.5) - 0.5, 0.0) for d in range(out_size)],
                       dtype=np.float64)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = i0 + (i0 < in_size - 1)
    l1 = src - i0
    l0 = 1.0 - l1
    return i0, i1, l0, l1


def _axis_maps(in_hw, size, scale_factor, mode, align_corners):
    if mode not in _MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if mode != "bilinear" and align_corners is not None:
        raise ValueError("align_corners only applies to mode='bilinear'")
    out_hw = upsample_output_size(in_hw, size, scale_factor)
    scales = (None, None) if scale_factor is None else _scale_pair(scale_factor)
    return out_hw, [upsample_source_indices(in_hw[a], out_hw[a], scales[a], mode,
                                            bool(align_corners)) for a in range(2)]


def upsample(x, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Upsample (or resample) ``(N, C, H, W)`` like ``torch.nn.functional.interpolate``.

    Separable: first along H, then along W; ``y = l0*x[i0] + l1*x[i1]`` per axis with the
    index maps of :func:`upsample_source_indices`.
    """
    x = np.asarray(x)
    dtype = _check_float(x)
    _, ((hi0, hi1, hl0, hl1), (wi0, wi1, wl0, wl1)) = _axis_maps(
        x.shape[2:], size, scale_factor, mode, align_corners)
    x64 = x.astype(_ACC)
    if mode != "bilinear":
        # one source pixel, no weights: a plain gather keeps Inf (0 * Inf would be NaN)
        return x64[:, :, hi0, :][:, :, :, wi0].astype(dtype)
    t = hl0[:, None] * x64[:, :, hi0, :] + hl1[:, None] * x64[:, :, hi1, :]
    y = wl0 * t[:, :, :, wi0] + wl1 * t[:, :, :, wi1]
    return y.astype(dtype)


def upsample_backward(grad_out, input_shape, size=None, scale_factor=None, mode="nearest",
                      align_corners=None):
    """Adjoint of :func:`upsample`: scatter-add ``grad_out`` back onto an ``input_shape`` map.

    ``input_shape`` is ``(N, C, H, W)`` (or just ``(H, W)``, taking N and C from grad_out).
    """
    grad_out = np.asarray(grad_out)
    dtype = _check_float(grad_out)
    input_shape = tuple(int(v) for v in input_shape)
    if len(input_shape) == 2:
        input_shape = grad_out.shape[:2] + input_shape
    N, C, H, W = input_shape
    out_hw, ((hi0, hi1, hl0, hl1), (wi0, wi1, wl0, wl1)) = _axis_maps(
        (H, W), size, scale_factor, mode, align_corners)
    if grad_out.shape != (N, C) + tuple(out_hw):
        raise ValueError(f"grad_out shape {grad_out.shape} != {(N, C) + tuple(out_hw)}")
    g = grad_out.astype(_ACC)
    nearest = mode != "bilinear"
    # adjoint of the W pass (nearest: one unweighted tap, so an Inf stays an Inf)
    t = np.zeros((N, C, out_hw[0], W), dtype=_ACC)
    for ow in range(out_hw[1]):
        if nearest:
            t[:, :, :, wi0[ow]] += g[:, :, :, ow]
            continue
        t[:, :, :, wi0[ow]] += wl0[ow] * g[:, :, :, ow]
        t[:, :, :, wi1[ow]] += wl1[ow] * g[:, :, :, ow]
    # adjoint of the H pass
    gx = np.zeros((N, C, H, W), dtype=_ACC)
    for oh in range(out_hw[0]):
        if nearest:
            gx[:, :, hi0[oh], :] += t[:, :, oh, :]
            continue
        gx[:, :, hi0[oh], :] += hl0[oh] * t[:, :, oh, :]
        gx[:, :, hi1[oh], :] += hl1[oh] * t[:, :, oh, :]
    return gx.astype(dtype)


# ----------------------------------------------------------------------------------------
# fused kernels, by composition of the definitions above
# ----------------------------------------------------------------------------------------

def upsample_conv2d(x, weight, bias=None, scale_factor=2, mode="nearest", align_corners=None,
                    stride=1, padding=0, dilation=1, groups=1):
    """``conv2d(upsample(x, scale_factor=scale_factor, mode=mode), weight, bias, ...)``.

    The upsampled map is materialised in float64 (no rounding between the two steps);
    ``weight`` is ``(C_out, C_in//groups, kH, kW)`` as for :func:`conv2d`.
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    dtype = _check_float(x, weight)
    up = upsample(x.astype(_ACC), scale_factor=scale_factor, mode=mode,
                  align_corners=align_corners)
    b = None if bias is None else np.asarray(bias).astype(_ACC)
    y = conv2d(up, weight.astype(_ACC), b, stride, padding, dilation, groups)
    return y.astype(dtype)


def upsample_add(x, skip, mode="nearest", align_corners=None):
    """``upsample(x, size=skip.shape[-2:], mode=mode) + skip`` (FPN's top-down merge)."""
    x = np.asarray(x)
    skip = np.asarray(skip)
    dtype = _check_float(x, skip)
    up = upsample(x.astype(_ACC), size=tuple(skip.shape[-2:]), mode=mode,
                  align_corners=align_corners)
    return (up + skip.astype(_ACC)).astype(dtype)


# ----------------------------------------------------------------------------------------
# bilinear filler
# ----------------------------------------------------------------------------------------

def bilinear_kernel(factor, channels, dtype=np.float64):
    """Caffe ``BilinearFiller`` weights for a x``factor`` depthwise deconvolution.

    ``K = 2*factor - factor % 2``, ``f = ceil(K/2)``, ``c = (2f - 1 - f%2) / (2f)``,
    ``w[y, x] = (1 - |x/f - c|) * (1 - |y/f - c|)``; returns ``(channels, 1, K, K)``.
    """
    K = 2 * factor - factor % 2
    f = math.ceil(K / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    w = np.empty((K, K), dtype=np.float64)
    for yy in range(K):
        for xx in range(K):
            w[yy, xx] = (1 - abs(xx / f - c)) * (1 - abs(yy / f - c))
    return np.broadcast_to(w, (channels, 1, K, K)).astype(dtype)
