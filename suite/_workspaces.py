"""Workspaces: the values each kernel allocates beyond its output, for suite.cost.

Each function restates the allocations of one kernel (named in its docstring) from the same
plan (:mod:`suite._plan`); tests/test_reliability.py measures every algorithm's allocations
under tracemalloc (the kernels report theirs to it) and holds them to these figures. The
split into products follows the planning width; per-thread scratch counts the call's
threads.
"""

import math

import numpy as np

from ._plan import (
    BAND_MIN_COLUMNS,
    band_channels,
    band_rows,
    col2im_blocking,
    images_per_gemm,
    phase_gemm_images,
    planning_width,
    pointwise_images,
    skewed,
    winograd_phase_values,
)
from .geometry import PHASE_COUNT, PHASE_TAPS

#: The largest per-task copy of a transposed convolution's kernels that the Winograd weight
#: transform keeps (pyx/_winograd.pyx: within L2).
WINOGRAD_COPY_BYTES = 512 * 2**10


def conv2d_workspace(n, c_in, c_out, groups, kh, kw, out_h, out_w, pointwise, itemsize,
                     n_threads, transposed=False):
    """suite.conv2d: the banded kernel's per-thread band of columns (maps of at least
    BAND_MIN_COLUMNS outputs, but for a 1x1, stride-1, unpadded convolution), else the
    im2col kernel's columns of a batch of images (none for a 1x1, stride-1, unpadded
    convolution of one image at a time) and, when images are batched, the batch's packed
    products."""
    cig = c_in // groups
    per_image = out_h * out_w
    if per_image >= BAND_MIN_COLUMNS and not pointwise:
        rows = band_rows(n * groups, out_h, out_w, cig * kh * kw, itemsize, planning_width())
        channels = band_channels(cig, kh * kw, rows * out_w, itemsize)
        return n_threads * channels * kh * kw * rows * out_w
    if pointwise:
        nb = pointwise_images(n, per_image, cig, c_out // groups, c_out, itemsize, transposed)
        channels = cig
    else:
        nb = images_per_gemm(n, per_image, cig * kh * kw + c_out, itemsize)
        channels = band_channels(cig, kh * kw, nb * per_image, itemsize)
    columns = 0 if nb == 1 and pointwise else channels * kh * kw * nb * per_image
    return columns + (c_out * nb * per_image if nb > 1 else 0)


def col2im_deconv_workspace(n, c_in, height, width, cog, taps, groups, itemsize, n_threads,
                            one_pixel=False):
    """deconv2d's col2im kernel: the packed input of every batch of images (when images are
    batched) and the columns of a band of rows (all of them unless the map is large), one
    block per thread (blocked) or one group's (unblocked); ``one_pixel``
    (:func:`one_pixel_deconv`): the images' channels transposed, nothing else."""
    if one_pixel:
        return n * c_in
    nb, channels_per_block, rows = col2im_blocking(n, c_in, height, width, cog, taps, groups,
                                                   itemsize, planning_width())
    packed = math.ceil(n / nb) * c_in * nb * height * width if nb > 1 else 0
    if channels_per_block:
        return packed + n_threads * channels_per_block * taps * nb * rows * width
    return packed + cog * taps * nb * rows * width


def direct_workspace(out_w, cig, kh, sw, itemsize, n_threads):
    """deconv2d_direct (pyx/_direct.pyx), at most: per thread one output row's column phases
    (sw phases of ceil(out_w/sw) + 8 values) and the cig*kh input and kernel rows that reach
    it (two pointers each), in values of ``itemsize``; nothing when its rows run tap-major or
    in the Kronecker form."""
    span = -(-out_w // sw) + 8
    return n_threads * (sw * span + -(-2 * cig * kh * 8 // itemsize))


def deconv_backward_workspace(n, c_in, per_image, cog, taps, itemsize):
    """deconv2d_backward: the columns of a batch of images and, when images are batched, the
    batch's packed input and packed input gradient."""
    nb = images_per_gemm(n, per_image, cog * taps + c_in, itemsize)
    return cog * taps * nb * per_image + (2 * c_in * nb * per_image if nb > 1 else 0)


def phase_workspace(n, cig, cog, groups, phases_h, phases_w, itemsize, n_threads):
    """phase_correlation (pyx/_phase.pyx): each phase's im2col columns and GEMM product for
    a batch of images, sized by the largest phase, one pair per thread when the phases run
    as independent tasks. (The packed sub-kernels, as many values as the weight, are the
    caller's.)"""
    nb = phase_gemm_images(n, phases_h, phases_w, cig, cog, itemsize)
    outputs = np.outer(phases_h[:, PHASE_COUNT], phases_w[:, PHASE_COUNT])
    taps = np.outer(phases_h[:, PHASE_TAPS], phases_w[:, PHASE_TAPS])
    most_columns = int((cig * taps * outputs).max())
    most_products = cog * int(outputs.max())
    tasks = math.ceil(n / nb) * groups * len(phases_h) * len(phases_w)
    planned = planning_width()
    copies = n_threads if planned > 1 and tasks >= 2 * planned else 1
    return copies * (most_columns + most_products) * nb


def winograd_workspace(cig, cog, groups, kernel_taps, phases_h, phases_w, blocking,
                       transposed_weight, itemsize, n_threads):
    """winograd_phases (pyx/_winograd.pyx): one pass's transformed weights, then per thread
    a block's transformed tiles and products, its rows of input and its copy of the kernels
    (a transposed convolution's) with their transform rows."""
    block, _, phases_per_pass = blocking
    most_th = int((phases_h[:, PHASE_COUNT].max() + 1) // 2)
    most_tw = int((phases_w[:, PHASE_COUNT].max() + 1) // 2)
    if most_th * most_tw == 0:
        return 0
    phases_per_pass = max(1, min(phases_per_pass, len(phases_h) * len(phases_w)))
    copy = 0
    if transposed_weight:
        co_block = 16
        while co_block > 1 and co_block * cig * kernel_taps * itemsize > WINOGRAD_COPY_BYTES:
            co_block //= 2
        copy = co_block * cig * kernel_taps
    tiles = skewed(max(1, block // most_tw) * most_tw)
    rows = -(-3 * (2 * most_tw + 1) // 16) * 16 + 16     # on cache lines of their own
    per_thread = 9 * (cig + cog) * tiles + rows + copy + 16 * kernel_taps + 64 + 16
    return phases_per_pass * winograd_phase_values(cig, cog, groups) + n_threads * per_thread


def banded_upsample_workspace(cig, kh, kw, rows, out_w, span, up_w, n_threads, itemsize):
    """banded_nearest_conv2d / banded_bilinear_conv2d (pyx/_banded.pyx): per thread the
    columns of a band's slice of input channels (:func:`suite._plan.band_channels`) and the
    upsampled rows the band reads, for every input channel of a group."""
    channels = band_channels(cig, kh * kw, rows * out_w, itemsize)
    return n_threads * (channels * kh * kw * rows * out_w + cig * span * up_w)
