"""Checkerboard figures of a transposed convolution: how evenly its kernel covers the
output (geometry) and passes a flat input through its phases (weights). Part of the cost
model's per-layer figures (``suite.cost`` re-exports them)."""

import math

import numpy as np

from ._validation import check_pair

__all__ = ["overlap_ratio", "phase_sum_spread", "phase_sums"]


def _tap_counts(k, s, d):
    """Per residue r in [0, s): the taps i with i*d = r (mod s) (one axis of a deconv)."""
    counts = [0] * s
    for i in range(k):
        counts[(i * d) % s] += 1
    return counts



def overlap_ratio(kernel_size, stride, dilation=1):
    """max/min of ``deconv2d(ones, ones)`` in the interior (1.0: every output is covered by
    the same number of taps; ``inf``: some outputs get no tap at all, e.g. k1 s2).

    Per axis, an interior output at position ``u`` (before cropping) receives the taps
    ``i`` with ``i*d = u (mod s)``: ``c[r] = #{i < k: i*d mod s = r}``; the 2-D ratio is
    ``(max c_H / min c_H) * (max c_W / min c_W)``. k4 s2 -> 1.0, k3 s2 -> 4.0 (2.0 per
    axis), k2 s2 -> 1.0, k1 s1 -> 1.0.
    """
    ks, ss, ds = (check_pair(kernel_size, "kernel_size", 1), check_pair(stride, "stride", 1),
                  check_pair(dilation, "dilation", 1))
    ratio = 1.0
    for k, s, d in zip(ks, ss, ds):
        counts = _tap_counts(k, s, d)
        if min(counts) == 0:
            return math.inf
        ratio *= max(counts) / min(counts)
    return ratio


def phase_sums(weight, stride, dilation=1):
    """Per-phase kernel sums of a deconvolution weight ``(C_in, C_out/g, kH, kW)``.

    Returns ``S`` of shape ``(C_in, C_out/g, sH, sW)``:
    ``S[ci, co, rh, rw] = sum of w[ci, co, i, j] over i*dH = rh (mod sH), j*dW = rw (mod sW)``,
    the interior response of output channel ``co`` in phase (rh, rw) to a constant 1 in
    input channel ``ci``.
    """
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 4:
        raise ValueError(f"weight must be 4-D (C_in, C_out/groups, kH, kW), got {weight.shape}")
    (sh, sw), (dh, dw) = check_pair(stride, "stride", 1), check_pair(dilation, "dilation", 1)
    kh, kw = weight.shape[2:]
    ph = np.zeros((sh, kh))
    ph[(np.arange(kh) * dh) % sh, np.arange(kh)] = 1.0
    pw = np.zeros((sw, kw))
    pw[(np.arange(kw) * dw) % sw, np.arange(kw)] = 1.0
    return np.einsum("abij,ri,tj->abrt", weight, ph, pw)


def phase_sum_spread(weight, stride, dilation=1):
    """How unevenly a deconvolution kernel passes a constant input through its phases.

    With ``S = phase_sums(weight, stride, dilation)`` (per (c_in, c_out) pair and phase):
    ``spread = sum_pairs (max_phase S - min_phase S) / sum_pairs mean_phase |S|``:
    the summed per-pair range of the phase sums over their summed mean magnitude.
    0 means every pair responds to a flat input without a checkerboard (Caffe's bilinear
    kernels, k4 s2 all-ones, any stride-1 kernel); a phase with no taps shows up as a
    large spread; 0.0 for an all-zero weight. Scale-invariant. Example: the 3x3 all-ones
    kernel at stride 2 has phase sums [[4, 2], [2, 1]]: range 3, mean 9/4, spread 4/3.
    """
    sums = phase_sums(weight, stride, dilation)
    flat = sums.reshape(sums.shape[0], sums.shape[1], -1)
    ranges = float(np.sum(flat.max(axis=2) - flat.min(axis=2)))
    scale = float(np.sum(np.abs(flat).mean(axis=2)))
    return ranges / scale if scale > 0 else 0.0
