"""Collapsed kernels: nearest (or bilinear) upsampling by an integer factor followed by a
convolution is, per output phase, one convolution of the low-resolution input with a smaller
kernel (the taps that read the same input offset summed). These are the tap counts of that
collapse, per residue, per axis and per pixel, and the 2x2 tiles of its Winograd method, for
``suite.cost`` (the FLOPs and workspace of ``upsample_conv2d``) and the docs. Pure Python.
"""

import math
from fractions import Fraction
from functools import lru_cache

from ._validation import check_mode, check_pair, check_scale
from .geometry import PHASE_TAPS, collapsed_phase_table, winograd_tiles

__all__ = ["collapsed_kernel_taps", "collapsed_macs_per_pixel"]


@lru_cache(maxsize=1024)
def collapsed_residue_taps(scale, k, d, mode):
    """For base = o*stride - p modulo ``scale``: distinct input offsets the k taps reach.

    Taps read upsampled positions ``j = base + i*d``; nearest maps j to ``j // scale``,
    bilinear (align_corners=False) to ``floor(src)`` and, when its weight is non-zero,
    ``floor(src) + 1`` with ``src = (2j + 1)/(2*scale) - 1/2`` (exact rationals).
    """
    counts = []
    for base in range(scale):
        offsets = set()
        for i in range(k):
            j = base + i * d
            if mode == "bilinear":
                src = Fraction(2 * j + 1, 2 * scale) - Fraction(1, 2)
                i0 = math.floor(src)
                offsets.add(i0)
                if src != i0:
                    offsets.add(i0 + 1)
            else:
                offsets.add(j // scale)
        counts.append(len(offsets))
    return tuple(counts)


def collapsible_scales(scales, mode, align_corners):
    """Integer scale factors (per axis) if the upsample + conv collapses, else None."""
    if mode == "bilinear" and align_corners:
        return None
    if not all(float(v).is_integer() for v in scales):
        return None
    return tuple(int(v) for v in scales)


def winograd_axis_tiles(n_out, scale, k, padding, dilation):
    """2x2 tiles along one axis of ``suite.upsample_conv2d``'s Winograd method (nearest by an
    integer ``scale``, stride-1 convolution), or None unless every phase's collapsed kernel
    spans two input offsets (the kernel's own phase table)."""
    table, _ = collapsed_phase_table(n_out, scale, k, padding, dilation)
    if not (table[:, PHASE_TAPS] == 2).all():
        return None
    return winograd_tiles(table)


def fused_axis_taps(n_out, scale, k, stride, padding, dilation, mode):
    """The collapsed kernel's taps summed over ``n_out`` outputs along one axis (output o in
    the residue ``(o*stride - padding) mod scale``)."""
    per_residue = collapsed_residue_taps(scale, k, dilation, mode)
    return sum(per_residue[(o * stride - padding) % scale] for o in range(n_out))


def collapsed_kernel_taps(scale_factor, kernel_size, padding=None, dilation=1, mode="nearest"):
    """Per axis, the collapsed kernel's tap count of each output phase (stride-1 convolution).

    Output position ``o`` of ``conv2d(upsample(x, scale_factor=s), k x k, padding p)`` is in
    phase ``o mod s``; its taps read the input offsets ``floor((o - p + i*d)/s)`` (nearest; see
    the module docstring for bilinear), of which the phase's collapsed kernel has one tap per
    distinct offset. ``padding=None`` means "same": ``d*(k - 1)//2``. Returns
    ``((taps of phase 0..sH-1), (taps of phase 0..sW-1))``; e.g. x2 + 3x3 -> ((2, 2), (2, 2)).
    Integer scale factors only; bilinear means ``align_corners=False``.
    """
    kh, kw = check_pair(kernel_size, "kernel_size", 1)
    dh, dw = check_pair(dilation, "dilation", 1)
    if padding is None:
        padding = (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
    ph, pw = check_pair(padding, "padding", 0)
    mode, _ = check_mode(mode, None)
    scales = collapsible_scales(check_scale(scale_factor, "scale_factor"), mode, False)
    if scales is None:
        raise ValueError(f"the kernel collapses for integer scale factors only, got "
                         f"{scale_factor!r}")
    axes = []
    for s, k, p, d in ((scales[0], kh, ph, dh), (scales[1], kw, pw, dw)):
        per_residue = collapsed_residue_taps(s, k, d, mode)
        axes.append(tuple(per_residue[(r - p) % s] for r in range(s)))
    return tuple(axes)


def collapsed_macs_per_pixel(scale_factor, kernel_size, padding=None, dilation=1,
                             mode="nearest"):
    """``(fused, unfused)`` multiply-adds per low-resolution pixel per channel pair.

    fused = ``(sum of phase taps along H) * (sum along W)`` (:func:`collapsed_kernel_taps`);
    unfused = ``sH*sW*kH*kW`` (every one of the ``sH*sW`` outputs a pixel produces runs the
    whole kernel). x2 + 3x3: (16, 36); x2 + 5x5: (36, 100); x3 + 3x3: (25, 81);
    x4 + 3x3: (36, 144).
    """
    taps_h, taps_w = collapsed_kernel_taps(scale_factor, kernel_size, padding, dilation, mode)
    kh, kw = check_pair(kernel_size, "kernel_size", 1)
    return sum(taps_h) * sum(taps_w), len(taps_h) * len(taps_w) * kh * kw
