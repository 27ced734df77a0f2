"""The cost model (suite.cost): hand counts, brute-force counts, the kernels and PyTorch.

Every figure is checked against something that did not derive it: counts written out by
hand, loops over the zero-inserted map, the index tables of suite.reference, suite's own
kernels run on ones, and torch.utils.flop_counter.FlopCounterMode.
"""

import math
import pickle

import numpy as np
import pytest

from conftest import conv_configs, deconv_configs, require_torch, upsample_configs

import suite
from suite import collapse
from suite import cost as C
from suite import reference as R
from suite.bench import costs as bench_costs
from suite.bench.catalogue import LAYERS, get_layer


# ----------------------------------------------------------------------------------------
# hand counts
# ----------------------------------------------------------------------------------------

def test_deconv_hand_count_seed_example():
    # 1x1x3x3 input, 2x2 kernel, stride 1 (the seed article's example, corrected): 4x4 out.
    # 9 input pixels x 4 taps = 36 multiply-adds = 72 FLOPs; bias: 16 adds.
    c = C.deconv2d_cost((1, 1, 3, 3), (1, 1, 2, 2), bias=False)
    assert c.output_shape == (1, 1, 4, 4)
    assert (c.macs, c.adds, c.useful_flops) == (36, 0, 72)
    assert c.parameters == 4
    assert c.min_bytes == (9 + 4 + 16) * 4
    # no padding: every product lands in the output, col2im adds each of the 36 once
    assert c.executed_flops == {"col2im": 72 + 36, "phase": 72, "direct": 72,
                                "winograd": 2 * 9 * 4,           # 2x2 tiles x 9 products
                                "zero_insertion": 2 * 16 * 4}   # 4x4 outputs x 4 taps
    assert c.workspace_bytes["col2im"] == 4 * 9 * 4           # kH*kW x H*W floats
    # phase: the packed sub-kernels (the weight's 4 values), then one phase (stride 1) of 4x4
    # outputs: 1 channel x 2x2 taps x 16 columns and 16 products
    assert c.workspace_bytes["phase"] == (4 + 4 * 16 + 16) * 4
    # direct, one thread: one output row's phase (4 values + 8 of room) and the 2 kernel rows
    # reaching it, an input and a kernel row pointer each (8 bytes)
    assert c.workspace_bytes["direct"] == (4 + 8) * 4 + 2 * 2 * 8
    # zero-inserted (here: only padded) map 5x5 + one image's columns 4 x 16
    assert c.workspace_bytes["zero_insertion"] == (25 + 4 * 16) * 4
    assert c.arithmetic_intensity == pytest.approx(72 / 116)

    b = C.deconv2d_cost((1, 1, 3, 3), (1, 1, 2, 2), bias=True, itemsize=8)
    assert (b.useful_flops, b.parameters, b.min_bytes) == (72 + 16, 5, (9 + 5 + 16) * 8)
    assert b.executed_flops["phase"] == 88


def test_deconv_hand_count_stride2():
    # same at stride 2: 6x6 output, still 36 multiply-adds; zero insertion runs a 2x2 kernel
    # over all 36 outputs: 144 multiply-adds = 4x.
    c = C.deconv2d_cost((1, 1, 3, 3), (1, 1, 2, 2), stride=2, bias=False)
    assert c.output_shape == (1, 1, 6, 6)
    assert c.macs == 36
    assert c.executed_flops["zero_insertion"] == 2 * 144 == 4 * c.useful_flops


def test_deconv_hand_count_dcgan_block():
    # 2 x 3 -> 5 channels at 4x4, k4 s2 p1 -> 8x8: macs = 2*3*5*16*16 = 7680.
    c = C.deconv2d_cost((2, 3, 4, 4), (3, 5, 4, 4), stride=2, padding=1)
    assert c.output_shape == (2, 5, 8, 8)
    assert c.macs == 7680
    assert c.adds == 2 * 5 * 64
    # H_out = 2H: zero insertion executes exactly s^2 = 4 times the products
    assert c.executed_flops["zero_insertion"] - c.adds == 4 * 2 * c.macs
    # per axis 4 inputs x 4 taps = 16 positions, 2 land in the cropped padding (-1 and 8)
    assert C.deconv2d_macs_in_output((2, 3, 4, 4), (3, 5, 4, 4), 2, 1) == 2 * 5 * 3 * 14 * 14
    assert c.executed_flops["col2im"] == c.useful_flops + 2 * 5 * 14 * 14
    assert c.parameters == 3 * 5 * 16 + 5
    # Winograd: 4 phases of 4x4 outputs = 2x2 tiles each, 9 products per tile and channel
    # pair
    assert c.executed_flops["winograd"] == 2 * 9 * 2 * 3 * 5 * 16 + c.adds
    # its workspace: the transformed weights of all 4 phases (one pass), each 9 rows of 5
    # output channels of 3 inputs padded to 16 values (720 values: an odd multiple of 16);
    # then the one thread's block of 2 images x 2x2 tiles = 8 tiles (row pitch 16): 9 x 16
    # transformed inputs per input and per output channel, 3 rows of 5 inputs (on cache
    # lines of their own: 15 values rounded up to 16, then 16 spare), its copy of 16 output
    # channels' kernels (16 x 3 x 16), 16 x 16 transform values and 64 spare, and 16 values
    # between threads
    per_thread = 9 * (3 + 5) * 16 + (16 + 16) + 16 * 3 * 16 + 16 * 16 + 64 + 16
    assert c.workspace_bytes["winograd"] == (4 * 720 + per_thread) * 4


def test_deconv_winograd_workspace_follows_the_pass_budget(monkeypatch):
    plan = __import__("suite._plan", fromlist=["WINOGRAD_PASS_BYTES"])
    # 16 phases (k8 s4) of 9 rows of 256 output channels of 512 inputs, each padded to 528
    # values (an odd multiple of 16), the row padded to 1216528: 4.6 MiB per phase in
    # float32, so 5 fit the 24 MiB budget
    per_phase = 1216528 * 4
    assert plan.WINOGRAD_PASS_BYTES // per_phase == 5
    five = C.deconv2d_cost((1, 512, 4, 4), (512, 256, 8, 8), stride=4, padding=2)
    monkeypatch.setattr(plan, "WINOGRAD_PASS_BYTES", per_phase)
    one = C.deconv2d_cost((1, 512, 4, 4), (512, 256, 8, 8), stride=4, padding=2)
    assert five.workspace_bytes["winograd"] - one.workspace_bytes["winograd"] == 4 * per_phase


def test_conv_hand_count():
    # 1 x 2 -> 3 channels at 4x4, 3x3 pad 1: 16 outputs x 9 taps x 2 x 3 = 864 macs
    c = C.conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), padding=1)
    assert c.output_shape == (1, 3, 4, 4)
    assert (c.macs, c.adds) == (864, 48)
    assert c.executed_flops == {"im2col": 2 * 864 + 48}
    assert c.workspace_bytes == {"im2col": 2 * 9 * 16 * 4}
    assert c.parameters == 54 + 3
    assert c.min_bytes == (32 + 57 + 48) * 4
    # grouped: each output channel sees C_in/groups channels
    g = C.conv2d_cost((1, 4, 5, 5), (6, 2, 3, 3), groups=2, bias=False)
    assert g.macs == 6 * 2 * 9 * 3 * 3
    # pointwise needs no columns
    assert C.conv2d_cost((1, 4, 5, 5), (6, 4, 1, 1)).workspace_bytes == {"im2col": 0}


def test_im2col_col2im_hand_counts():
    c = C.im2col_cost((2, 3, 5, 5), 3, padding=1)
    assert c.output_shape == (2, 27, 25)
    assert c.useful_flops == 0 and c.executed_flops == {"im2col": 0}
    assert c.min_bytes == (2 * 75 + 2 * 27 * 25) * 4
    # fold of 3x3 windows, pad 1, 3x3 image: per axis 3 positions x 3 taps = 9, of which 2
    # fall in the padding (position 0 tap 0, position 2 tap 2): 7 per axis, 49 per channel
    f = C.col2im_cost((1, 2 * 9, 9), 3, 3, padding=1)
    assert f.output_shape == (1, 2, 3, 3)
    assert f.adds == 2 * 49 and f.executed_flops == {"col2im": 98}


def test_upsample_hand_counts():
    n = C.upsample_cost((1, 2, 3, 3), scale_factor=2)
    assert n.output_shape == (1, 2, 6, 6)
    assert (n.useful_flops, n.parameters) == (0, 0)
    assert n.executed_flops == {"gather": 0}
    assert n.min_bytes == 2 * (9 + 36) * 4
    b = C.upsample_cost((1, 2, 3, 3), scale_factor=2, mode="bilinear")
    assert b.macs == 4 * 72 and b.useful_flops == 8 * 72
    assert b.executed_flops == {"direct": 8 * 72, "nested": 12 * 72,
                                "separable": 4 * 2 * (6 * 3 + 36)}
    assert b.workspace_bytes["separable"] == 6 * 3 * 4
    s = C.upsample_cost((1, 1, 4, 6), size=(5, 7), mode="bilinear", align_corners=True)
    assert s.output_shape == (1, 1, 5, 7)
    # backward: nearest accumulates each gradient once, bilinear runs the 4 taps
    assert C.upsample_backward_cost((1, 2, 3, 3), scale_factor=2).useful_flops == 72
    gb = C.upsample_backward_cost((1, 2, 3, 3), scale_factor=2, mode="bilinear")
    assert gb.useful_flops == 8 * 72 and gb.output_shape == (1, 2, 3, 3)


def test_upsample_add_hand_count():
    c = C.upsample_add_cost((2, 3, 4, 4), (2, 3, 8, 8))
    assert c.output_shape == (2, 3, 8, 8)
    assert (c.macs, c.adds) == (0, 384)
    assert c.executed_flops == {"fused": 384, "unfused": 384}
    assert c.workspace_bytes == {"fused": 0, "unfused": 384 * 4}
    assert c.min_bytes == (96 + 2 * 384) * 4
    b = C.upsample_add_cost((2, 3, 4, 4), (2, 3, 8, 8), mode="bilinear")
    assert b.useful_flops == 8 * 384 + 384
    with pytest.raises(ValueError):
        C.upsample_add_cost((2, 3, 4, 4), (2, 4, 8, 8))


def test_deconv_backward_hand_count():
    c = C.deconv2d_backward_cost((2, 3, 4, 4), (3, 5, 4, 4), stride=2, padding=1)
    assert c.output_shape == (2, 3, 4, 4)
    assert c.macs == 2 * 7680 and c.adds == 2 * 5 * 64
    assert c.executed_flops == {"col2im": c.useful_flops}
    # both images share one GEMM: their columns (5 x 4x4 taps x 2 x 16 inputs), their
    # input and its gradient packed side by side (3 channels x 2 x 16 each)
    assert c.workspace_bytes == {"col2im": (5 * 16 * 2 * 16 + 2 * 3 * 2 * 16) * 4}
    weights = 3 * 5 * 16
    assert c.min_bytes == (2 * 5 * 64 + 2 * 2 * 3 * 16 + 2 * weights + 5) * 4


def test_upsample_conv2d_hand_count():
    # nearest x2 + 3x3 pad 1, 1 x 2 -> 3 channels at 4x4: output 3 x 8x8. Priced for a
    # layer object (weights prepared once): a function call, which prepares them each time,
    # runs banded on a layer this small (checked at the end).
    c = C.upsample_conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), scale_factor=2, padding=1,
                               prepared=True)
    assert c.output_shape == (1, 3, 8, 8)
    assert c.macs == 3 * 2 * 9 * 64                        # unfused: 36 per low-res pixel
    assert c.executed_flops["unfused"] == c.useful_flops == 2 * c.macs + 3 * 64
    # every collapsed kernel is 2x2: Winograd, 4x4 tiles of 2x2 outputs, 9 products each
    assert c.executed_flops["fused"] == 2 * 9 * 3 * 2 * 16 + 3 * 64
    assert c.workspace_bytes["unfused"] == (2 * 64 + 2 * 9 * 64) * 4
    # one phase's transformed weights (9 rows of 3 output channels of 2 inputs padded to
    # 16: 432 values), then the thread's block of 4 tiles (pitch 16): 9 x 16 values per
    # input and output channel, 3 rows of 5 inputs (15 values rounded up to a cache line,
    # and one spare line), 16 x 9 transform values and 64 spare, and 16 values between
    # threads
    assert c.workspace_bytes["fused"] == (432 + 9 * 5 * 16 + (16 + 16) + 16 * 9 + 64
                                          + 16) * 4
    assert c.parameters == 54 + 3
    assert c.min_bytes == (32 + 57 + 192) * 4
    # x3: the phases' collapsed kernels are 2, 1 and 2 taps wide, so the collapsed kernel
    # runs: per axis 4 periods x (2 + 1 + 2) = 20 taps over the 12 outputs
    z = C.upsample_conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), scale_factor=3, padding=1,
                               prepared=True)
    assert z.output_shape == (1, 3, 12, 12)
    assert z.executed_flops["fused"] == 2 * 3 * 2 * 20 * 20 + 3 * 144
    # the collapsed 5x5 tap sets (3 x 2 channels), then the largest phase's columns (2
    # channels x 2x2 taps x 4x4 outputs) and products (3 channels x 16)
    assert z.workspace_bytes["fused"] == (3 * 2 * 5 * 5 + 2 * 4 * 16 + 3 * 16) * 4
    # bilinear adds the interpolation to the definition; it collapses on paper (3 taps per
    # phase and axis: 36 per pixel, the conv's own count) but runs banded: the unfused
    # arithmetic, interpolation included, without the map
    b = C.upsample_conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), mode="bilinear", padding=1)
    assert b.macs == c.macs + 4 * 2 * 64
    assert b.executed_flops["fused"] == b.executed_flops["unfused"] == b.useful_flops
    assert C.collapsed_macs_per_pixel(2, 3, mode="bilinear") == (36, 36)
    # align_corners=True and fractional scales do not collapse
    a = C.upsample_conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), mode="bilinear",
                               align_corners=True, padding=1)
    assert a.executed_flops["fused"] == a.executed_flops["unfused"]
    f = C.upsample_conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), scale_factor=1.5, padding=1)
    assert f.output_shape == (1, 3, 6, 6)
    assert f.executed_flops["fused"] == f.useful_flops
    # a function call on the x2 layer: Winograd would save 5,184 FLOPs and transform 600
    # weight values (216 additions of the collapse, 4 phases x 16 per channel pair), 50
    # FLOPs' worth each: banded, the unfused arithmetic
    call = C.upsample_conv2d_cost((1, 2, 4, 4), (3, 2, 3, 3), scale_factor=2, padding=1)
    assert call.executed_flops["fused"] == call.useful_flops
    assert C.upsample_conv2d_methods((1, 2, 4, 4), (3, 2, 3, 3), 2, padding=1) == \
        ("banded", "winograd", "collapsed")
    assert C.upsample_conv2d_order({"winograd": 1920, "collapsed": 3264, "banded": 7104},
                                   7104, 216, 384) == ("banded", "winograd", "collapsed")
    assert C.upsample_conv2d_order({"winograd": 1920, "collapsed": 3264, "banded": 7104},
                                   7104, 216, 384, prepared=True) == \
        ("winograd", "collapsed", "banded")
    # few tiles a phase and a phase's transformed weights past the cache: collapsed
    # before Winograd (16 x 128 x 256 x 4 bytes = 2 MiB, 36 tiles), unless prepared; in
    # the cache (16 x 8 x 200 x 4 = 100 KiB) or with 64 tiles or more, Winograd first
    flops = {"winograd": 10**6, "collapsed": 2 * 10**6, "banded": 4 * 10**6}
    assert C.upsample_conv2d_order(flops, 4 * 10**6, 10, 20, False, (36, 2**21)) == \
        ("collapsed", "winograd", "banded")
    assert C.upsample_conv2d_order(flops, 4 * 10**6, 10, 20, True, (36, 2**21)) == \
        ("winograd", "collapsed", "banded")
    assert C.upsample_conv2d_order(flops, 4 * 10**6, 10, 20, False, (36, 102400)) == \
        ("winograd", "collapsed", "banded")
    assert C.upsample_conv2d_order(flops, 4 * 10**6, 10, 20, False, (64, 2**21)) == \
        ("winograd", "collapsed", "banded")
    assert C.upsample_conv2d_methods((1, 256, 11, 11), (128, 256, 3, 3), 2, padding=1)[0] \
        == "collapsed"
    assert C.upsample_conv2d_methods((1, 96, 47, 47), (18, 96, 3, 3), 2, padding=1)[0] \
        == "winograd"
    assert C.upsample_conv2d_methods((1, 256, 11, 11), (128, 256, 3, 3), 2, padding=1,
                                     prepared=True)[0] == "winograd"


# ----------------------------------------------------------------------------------------
# zero insertion, counted by brute force over the zero-inserted map
# ----------------------------------------------------------------------------------------

def _zero_inserted_mask(n, k, s, p, op, d):
    """1-D mask of the reference's zero-inserted map, padded (or cropped) by q = d*(k-1) - p
    before and q + op after (suite.reference.deconv2d_zero_insertion): 1 = a real input."""
    z = np.zeros((n - 1) * s + 1, dtype=np.int64)
    z[::s] = 1
    before = after = d * (k - 1) - p
    after += op
    if before < 0:
        z, before = z[-before:], 0
    if after < 0:
        z, after = z[:len(z) + after], 0
    return np.concatenate([np.zeros(before, np.int64), z, np.zeros(after, np.int64)])


def _brute_force_axis(n, k, s, p, op, d, n_out):
    z = _zero_inserted_mask(n, k, s, p, op, d)
    assert len(z) == n_out + d * (k - 1)          # a stride-1 correlation gives n_out
    total = nonzero = 0
    for o in range(n_out):
        for i in range(k):
            total += 1
            nonzero += int(z[o + i * d])
    return total, nonzero


ZI_CONFIGS = deconv_configs(n_random=10, seed=99)


@pytest.mark.parametrize("cfg", ZI_CONFIGS, ids=lambda c: c.id)
def test_zero_insertion_brute_force(cfg):
    cost = C.deconv2d_cost(cfg.x_shape, cfg.w_shape, bias=cfg.bias, **cfg.kwargs)
    assert cost.output_shape == cfg.y_shape
    totals, nonzeros = [], []
    for a, n in enumerate((cfg.H, cfg.W)):
        t, nz = _brute_force_axis(n, cfg.k[a], cfg.s[a], cfg.p[a], cfg.op[a], cfg.d[a],
                                  cfg.out_hw[a])
        totals.append(t)
        nonzeros.append(nz)
    pairs = cfg.N * cfg.C_out * (cfg.C_in // cfg.groups)
    dense = pairs * totals[0] * totals[1]          # all multiply-adds of the dense conv
    assert cost.executed_flops["zero_insertion"] == 2 * dense + cost.adds
    in_output = pairs * nonzeros[0] * nonzeros[1]  # those with a real (non-inserted) input
    assert C.deconv2d_macs_in_output(cfg.x_shape, cfg.w_shape, **cfg.kwargs) == in_output
    assert in_output <= cost.macs
    if cfg.p == (0, 0):
        assert in_output == cost.macs
    # col2im scatters exactly the products that land in the output
    assert cost.executed_flops["col2im"] - cost.useful_flops == in_output // (
        cfg.C_in // cfg.groups)


@pytest.mark.parametrize("cfg", ZI_CONFIGS[:8], ids=lambda c: c.id)
def test_products_in_output_match_kernel_on_ones(cfg):
    # deconv2d(ones, ones) sums one 1*1 product per (input, tap, channel pair) in the output
    x = np.ones(cfg.x_shape)
    w = np.ones(cfg.w_shape)
    y = suite.deconv2d(x, w, **cfg.kwargs)
    assert y.shape == C.deconv2d_cost(cfg.x_shape, cfg.w_shape, **cfg.kwargs).output_shape
    assert y.sum() == C.deconv2d_macs_in_output(cfg.x_shape, cfg.w_shape, **cfg.kwargs)


def test_zero_insertion_ratio_is_stride_area_when_output_is_s_times_input():
    for k, s, p in ((4, 2, 1), (2, 2, 0), (16, 8, 4), (64, 32, 16), (3, 3, 0)):
        c = C.deconv2d_cost((1, 3, 5, 5), (3, 2, k, k), stride=s, padding=p, bias=False)
        assert c.output_shape[2] == 5 * s
        assert c.executed_flops["zero_insertion"] == s * s * c.useful_flops


# ----------------------------------------------------------------------------------------
# collapsed kernels (nearest / bilinear + convolution)
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale,k,expected", [(2, 3, (16, 36)), (2, 5, (36, 100)),
                                              (3, 3, (25, 81)), (4, 3, (36, 144))])
def test_collapsed_counts_of_design(scale, k, expected):
    assert C.collapsed_macs_per_pixel(scale, k) == expected
    # on a map of whole periods the fused executed count is exactly that per pixel (for a
    # layer object, which prepares its weights once: on a layer this small a function call
    # runs banded, test_upsample_conv2d_hand_count)
    c = C.upsample_conv2d_cost((2, 3, 6, 5), (4, 3, k, k), scale_factor=scale,
                               padding=(k - 1) // 2, bias=False, prepared=True)
    pixels_pairs = 2 * 6 * 5 * 4 * 3
    if (scale, k) == (2, 3):
        # 2x2 collapsed kernels: Winograd, 12x10 outputs = 6x6 tiles (phases of 5 columns
        # round up), 9 products per tile
        assert c.executed_flops["fused"] == 2 * 9 * 6 * 6 * 2 * 4 * 3
    else:
        assert c.executed_flops["fused"] == 2 * expected[0] * pixels_pairs
    assert c.executed_flops["unfused"] == 2 * expected[1] * pixels_pairs


def test_fused_method_matches_upsample_conv2d():
    # The cost counts Winograd exactly where upsample_conv2d(algorithm="auto") takes it (on
    # a layer object's call: a function call on layers this small runs banded).
    geometry = __import__("suite.geometry", fromlist=["collapsed_winograd_taps"])
    rng = np.random.default_rng(11)
    for _ in range(300):
        scale = int(rng.integers(1, 5))
        k, h, p, d = (int(v) for v in (rng.integers(1, 6), rng.integers(1, 7),
                                       rng.integers(0, 4), rng.integers(1, 3)))
        out = h * scale + 2 * p - d * (k - 1)
        if out < 1:
            continue
        runs = geometry.collapsed_winograd_taps(out, out, scale, scale, k, k, (p, p),
                                             (d, d)) is not None
        c = C.upsample_conv2d_cost((1, 2, h, h), (3, 2, k, k), scale_factor=scale,
                                   padding=p, dilation=d, bias=False, prepared=True)
        tiles = collapse.winograd_axis_tiles(out, scale, k, p, d)
        assert (tiles is not None) == runs, (scale, k, h, p, d)
        if runs:
            assert c.executed_flops["fused"] == 2 * 9 * 3 * 2 * tiles ** 2


def test_collapsed_kernel_taps_examples():
    assert C.collapsed_kernel_taps(2, 3) == ((2, 2), (2, 2))       # k4 s2 p1 collapsed
    assert C.collapsed_kernel_taps(3, 3) == ((2, 1, 2), (2, 1, 2))
    assert C.collapsed_kernel_taps(2, 2, padding=0) == ((1, 2), (1, 2))
    assert C.collapsed_kernel_taps((2, 3), (3, 1), padding=(1, 0)) == ((2, 2), (1, 1, 1))
    assert C.collapsed_macs_per_pixel(1, 3) == (9, 9)                # no upsampling
    with pytest.raises(ValueError):
        C.collapsed_kernel_taps(1.5, 3)


def _offsets_from_tables(in_size, scale, k, p, d, mode, o):
    """Input offsets with non-zero weight that output o's taps read (reference tables)."""
    i0, i1, l0, l1 = R.upsample_source_indices(in_size, in_size * scale, float(scale), mode,
                                               False)
    found = set()
    for i in range(k):
        j = o - p + i * d
        assert 0 <= j < in_size * scale               # interior only
        if l0[j] != 0:
            found.add(int(i0[j]))
        if l1[j] != 0:
            found.add(int(i1[j]))
    return found


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear"])
@pytest.mark.parametrize("scale,k,p,d", [(2, 3, 1, 1), (2, 5, 2, 1), (3, 3, 1, 1), (4, 3, 1, 1),
                                         (2, 2, 0, 1), (3, 4, 2, 2), (2, 3, 0, 1)])
def test_collapsed_taps_match_reference_index_tables(mode, scale, k, p, d):
    # Every interior output's taps, mapped through suite.reference's coordinate tables,
    # touch as many distinct input pixels (with non-zero weight) as the model says.
    taps = C.collapsed_kernel_taps(scale, k, padding=p, dilation=d, mode=mode)[0]
    in_size = 12
    span = d * (k - 1)
    first = p + 2 * scale                               # away from both borders
    for o in range(first, first + 2 * scale):
        assert o - p + span < in_size * scale - 2 * scale
        got = _offsets_from_tables(in_size, scale, k, p, d, mode, o)
        assert len(got) == taps[o % scale], (o, got)


def test_collapsed_nearest_is_a_transposed_convolution():
    # nearest x2 + 3x3 pad 1 == deconv with the collapsed 4x4 kernel, stride 2, pad 1
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 5, 4))
    w = rng.standard_normal((3, 2, 3, 3))
    ref = R.conv2d(R.upsample(x, scale_factor=2), w, padding=1)
    collapsed = np.zeros((2, 3, 4, 4))
    # output phase r, tap i reads input offset floor((r - 1 + i)/2) relative to o//2;
    # as a deconv tap index that is t = r + 1 - 2*offset + ... : build it by brute force
    for r in range(2):
        for i in range(3):
            off = (r - 1 + i) // 2
            t = r + 1 - 2 * off                    # ih*2 - 1 + t = o  with ih = o//2 + off
            for rr in range(2):
                for jj in range(3):
                    off2 = (rr - 1 + jj) // 2
                    t2 = rr + 1 - 2 * off2
                    collapsed[:, :, t, t2] += w[:, :, i, jj].T
    y = R.deconv2d(x, collapsed, stride=2, padding=1)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    fused = C.upsample_conv2d_cost(x.shape, w.shape, padding=1, bias=False, prepared=True)
    as_deconv = C.deconv2d_cost(x.shape, collapsed.shape, stride=2, padding=1, bias=False)
    # both run by Winograd on the same 2x2 phases and tiles
    assert fused.executed_flops["fused"] == as_deconv.executed_flops["winograd"]


# ----------------------------------------------------------------------------------------
# checkerboard figures
# ----------------------------------------------------------------------------------------

def _interior_ratio(k, s, d=1, c_in=1):
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (s, s) if isinstance(s, int) else s
    h = w = 3 * max(kh, kw) * max(d, 1) + 3
    x = np.ones((1, c_in, h, w))
    wt = np.ones((c_in, 1, kh, kw))
    y = suite.deconv2d(x, wt, stride=(sh, sw), dilation=d)[0, 0]
    inner = y[d * (kh - 1):(h - 1) * sh + 1, d * (kw - 1):(w - 1) * sw + 1]
    assert inner.size >= 4 * sh * sw
    return math.inf if inner.min() == 0 else float(inner.max() / inner.min())


@pytest.mark.parametrize("k,s,d,expected", [
    (4, 2, 1, 1.0), (3, 2, 1, 4.0), (2, 2, 1, 1.0), (1, 1, 1, 1.0),
    (5, 2, 1, 2.25), (9, 3, 1, 1.0), (16, 8, 1, 1.0), ((3, 4), 2, 1, 2.0),
    (5, 3, 1, 4.0), (1, 2, 1, math.inf), (2, 3, 1, math.inf), (3, 2, 2, math.inf),
    (3, 3, 2, 1.0), ((4, 3), (2, 3), 1, 1.0),
])
def test_overlap_ratio_matches_kernel_on_ones(k, s, d, expected):
    assert C.overlap_ratio(k, s, d) == expected
    assert _interior_ratio(k, s, d, c_in=2) == expected


def test_overlap_ratio_of_catalogue():
    for layer in LAYERS:
        if layer.has_deconv:
            ratio = C.overlap_ratio(layer.kernel, layer.stride)
            expected = 4.0 if layer.name == "erfnet-up" else 1.0
            assert ratio == expected, layer.name


def test_phase_sums_and_spread():
    ones3 = np.ones((1, 1, 3, 3))
    np.testing.assert_array_equal(C.phase_sums(ones3, 2)[0, 0], [[4, 2], [2, 1]])
    assert C.phase_sum_spread(ones3, 2) == pytest.approx(4 / 3)
    assert C.phase_sum_spread(np.ones((2, 3, 4, 4)), 2) == 0.0
    assert C.phase_sum_spread(np.ones((1, 1, 3, 3)), 1) == 0.0        # one phase
    assert C.phase_sum_spread(np.zeros((1, 1, 3, 3)), 2) == 0.0
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 2, 4, 4))
    assert C.phase_sum_spread(w, 2) > 0
    assert C.phase_sum_spread(7.5 * w, 2) == pytest.approx(C.phase_sum_spread(w, 2))
    # for all-ones weights the phase sums are the overlap counts
    sums = C.phase_sums(np.ones((1, 1, 5, 4)), (2, 3))[0, 0]
    assert sums.max() / sums.min() == C.overlap_ratio((5, 4), (2, 3))


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 8, 32])
def test_bilinear_kernels_have_even_phase_sums(factor):
    w = suite.bilinear_kernel(factor, 3, dtype=np.float64)
    sums = C.phase_sums(w, factor)
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert C.phase_sum_spread(w, factor) == pytest.approx(0.0, abs=1e-12)


# ----------------------------------------------------------------------------------------
# shapes agree with the package
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg", deconv_configs(), ids=lambda c: c.id)
def test_deconv_shapes_agree_with_suite(cfg):
    shape = suite.deconv2d_output_shape(cfg.x_shape, cfg.w_shape, **cfg.kwargs)
    assert C.deconv2d_cost(cfg.x_shape, cfg.w_shape, **cfg.kwargs).output_shape == shape
    assert C.deconv2d_backward_cost(cfg.x_shape, cfg.w_shape, **cfg.kwargs).output_shape \
        == cfg.x_shape


@pytest.mark.parametrize("cfg", conv_configs(), ids=lambda c: c.id)
def test_conv_shapes_agree_with_suite(cfg):
    shape = suite.conv2d_output_shape(cfg.x_shape, cfg.w_shape, cfg.s, cfg.p, cfg.d)
    assert C.conv2d_cost(cfg.x_shape, cfg.w_shape, **cfg.kwargs).output_shape == shape
    assert C.im2col_cost(cfg.x_shape, cfg.k, **cfg.unfold_kwargs).output_shape \
        == cfg.cols_shape


def test_im2col_col2im_shapes_agree_with_kernels():
    for cfg in conv_configs(n_random=6)[:12]:
        x = np.ones(cfg.x_shape)
        cols = suite.im2col(x, cfg.k, **cfg.unfold_kwargs)
        assert C.im2col_cost(cfg.x_shape, cfg.k, **cfg.unfold_kwargs).output_shape \
            == cols.shape
        img = suite.col2im(np.ones_like(cols), (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs)
        fold = C.col2im_cost(cols.shape, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs)
        assert fold.output_shape == img.shape
        assert fold.adds == img.sum()               # one addition per entry that lands


@pytest.mark.parametrize("cfg", upsample_configs(), ids=lambda c: c.id)
def test_upsample_shapes_agree_with_suite(cfg):
    hw, _ = suite.upsample_output_size((cfg.H, cfg.W), cfg.size, cfg.scale_factor)
    c = C.upsample_cost(cfg.x_shape, **cfg.kwargs)
    assert c.output_shape == cfg.x_shape[:2] + tuple(hw)
    assert C.upsample_backward_cost(cfg.x_shape, **cfg.kwargs).output_shape == cfg.x_shape


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_conv2d_and_add_shapes_agree_with_definition(mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 3, 4))
    w = rng.standard_normal((3, 2, 3, 2))
    for sf, kw in ((2, dict(padding=1)), (3, dict(stride=2, padding=(1, 0))),
                   ((2, 3), dict(dilation=2, padding=2))):
        y = R.conv2d(R.upsample(x, scale_factor=sf, mode=mode), w, **kw)
        c = C.upsample_conv2d_cost(x.shape, w.shape, scale_factor=sf, mode=mode, **kw)
        assert c.output_shape == y.shape
    skip = (1, 2, 7, 9)
    assert C.upsample_add_cost(x.shape, skip, mode=mode).output_shape == skip


def test_fused_count_by_brute_force():
    # x3 nearest + stride-1 conv (collapsed kernel): the distinct input offsets each output
    # reads, summed over the actual outputs
    c = C.upsample_conv2d_cost((1, 1, 5, 4), (1, 1, 3, 4), scale_factor=3,
                               padding=(1, 2), bias=False, prepared=True)
    _, _, ho, wo = c.output_shape
    per_axis = []
    for n_out, k, p in ((ho, 3, 1), (wo, 4, 2)):
        per_axis.append(sum(len({(o - p + i) // 3 for i in range(k)})
                            for o in range(n_out)))
    assert c.executed_flops["fused"] == 2 * per_axis[0] * per_axis[1]
    # the counting over strided outputs, which the model keeps for reference
    assert collapse.fused_axis_taps(7, 3, 4, 2, 2, 1, "nearest") == sum(
        len({(o * 2 - 2 + i) // 3 for i in range(4)}) for o in range(7))
    # a strided convolution after the upsample is not collapsed by upsample_conv2d: it runs
    # banded, the unfused arithmetic
    s = C.upsample_conv2d_cost((1, 1, 5, 4), (1, 1, 3, 4), scale_factor=3, stride=2,
                               padding=(1, 2), bias=False, prepared=True)
    assert s.executed_flops["fused"] == s.useful_flops


# ----------------------------------------------------------------------------------------
# PyTorch's FlopCounterMode
# ----------------------------------------------------------------------------------------

def _torch_flops(torch, fn):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        out = fn()
    return counter.get_total_flops(), tuple(out.shape)


@pytest.mark.parametrize("cfg", deconv_configs(n_random=14, seed=11), ids=lambda c: c.id)
def test_deconv_flops_match_torch_flop_counter(cfg):
    torch = require_torch()
    F = torch.nn.functional
    x = torch.empty(cfg.x_shape, device="meta")
    w = torch.empty(cfg.w_shape, device="meta")
    b = torch.empty(cfg.C_out, device="meta") if cfg.bias else None
    flops, shape = _torch_flops(torch, lambda: F.conv_transpose2d(
        x, w, b, cfg.s, cfg.p, cfg.op, cfg.groups, cfg.d))
    c = C.deconv2d_cost(cfg.x_shape, cfg.w_shape, bias=cfg.bias, **cfg.kwargs)
    assert c.output_shape == shape
    assert flops == 2 * c.macs == c.useful_flops - c.adds   # the counter ignores the bias


@pytest.mark.parametrize("cfg", conv_configs(n_random=18, seed=13), ids=lambda c: c.id)
def test_conv_flops_match_torch_flop_counter(cfg):
    torch = require_torch()
    F = torch.nn.functional
    x = torch.empty(cfg.x_shape, device="meta")
    w = torch.empty(cfg.w_shape, device="meta")
    b = torch.empty(cfg.C_out, device="meta") if cfg.bias else None
    flops, shape = _torch_flops(torch, lambda: F.conv2d(x, w, b, cfg.s, cfg.p, cfg.d,
                                                        cfg.groups))
    c = C.conv2d_cost(cfg.x_shape, cfg.w_shape, bias=cfg.bias, **cfg.kwargs)
    assert c.output_shape == shape
    assert flops == 2 * c.macs == c.useful_flops - c.adds


def test_upsample_conv2d_unfused_matches_torch_flop_counter():
    torch = require_torch()
    F = torch.nn.functional
    for layer in LAYERS:
        if "nearest+conv3x3" not in layer.counterparts:
            continue
        x = torch.empty(layer.input_shape, device="meta")
        w = torch.empty(layer.conv_after_upsample_weight_shape, device="meta")
        flops, shape = _torch_flops(torch, lambda: F.conv2d(
            F.interpolate(x, scale_factor=layer.scale_factor, mode="nearest"), w, padding=1))
        c = bench_costs.layer_costs(layer)["nearest+conv3x3"]
        assert c.output_shape == shape == layer.output_shape
        assert flops == 2 * c.macs                           # nearest adds no FLOPs


# ----------------------------------------------------------------------------------------
# the catalogue
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_layer_costs(layer):
    costs = bench_costs.layer_costs(layer, np.float64)
    expected = (("deconv",) if layer.has_deconv else ()) + tuple(layer.counterparts)
    assert tuple(costs) == expected
    for kind in layer.counterparts:
        assert costs[kind].output_shape == layer.counterpart_output_shape(kind)
        assert costs[kind].itemsize == 8
    if layer.has_deconv:
        d = costs["deconv"]
        assert d.output_shape == layer.output_shape
        assert 2 * d.macs == layer.deconv_flops
        assert d.parameters == layer.parameters
        assert (d.adds > 0) == (layer.bias_shape is not None)
        board = bench_costs.layer_checkerboard(layer)
        assert board["overlap_ratio"] == C.overlap_ratio(layer.kernel, layer.stride)
        if layer.bilinear_filler:
            assert board["phase_sum_spread"] == pytest.approx(0.0, abs=1e-12)
        else:
            assert board["phase_sum_spread"] > 0
    else:
        assert bench_costs.layer_checkerboard(layer) is None
    back = bench_costs.layer_costs(layer.name, "float32", backward=True)
    assert set(costs) <= set(back)


def test_stylegan_fused_counterpart_costs_the_same_as_its_deconv():
    # stylegan-up *is* nearest x2 + 3x3 conv collapsed into k4 s2 p1
    costs = bench_costs.layer_costs(get_layer("stylegan-up"))
    fused = costs["nearest+conv3x3"]
    # both by Winograd on the same 2x2 phases: 9 products per tile instead of 16 per pixel
    assert fused.executed_flops["fused"] == costs["deconv"].executed_flops["winograd"]
    assert 16 * fused.executed_flops["fused"] < 9.1 * costs["deconv"].executed_flops["phase"]
    assert 16 * fused.macs == 36 * costs["deconv"].macs        # unfused: 36 vs 16 per pixel


def test_costs_frame_rows():
    rows = bench_costs.costs_frame(dtypes=("float32",))
    expected = sum(len(cost.algorithms) for layer in LAYERS
                   for cost in bench_costs.layer_costs(layer).values())
    assert len(rows) == expected
    keys = {"layer", "dtype", "operation", "algorithm", "output_shape", "macs", "adds",
            "useful_flops", "executed_flops", "min_bytes", "workspace_bytes", "parameters",
            "itemsize", "arithmetic_intensity", "executed_intensity", "overlap_ratio",
            "phase_sum_spread"}
    assert all(set(row) == keys for row in rows)
    triples = [(r["layer"], r["operation"], r["algorithm"]) for r in rows]
    assert len(set(triples)) == len(triples)
    deconv = [r for r in rows if r["layer"] == "dcgan-g2" and r["operation"] == "deconv"]
    assert [r["algorithm"] for r in deconv] == list(C.PRICED_DECONV_ALGORITHMS)
    assert all(r["overlap_ratio"] == 1.0 for r in deconv)
    assert all(math.isnan(r["overlap_ratio"]) for r in rows if r["operation"] != "deconv")
    both = bench_costs.costs_frame(["fpn-p4", get_layer("yolov3-up")], backward=True,
                         checkerboard=False)
    assert {r["dtype"] for r in both} == {"float32", "float64"}
    assert {r["operation"] for r in both} == {"nearest+add", "nearest", "nearest_backward"}
    assert "overlap_ratio" not in both[0]


# ----------------------------------------------------------------------------------------
# the Cost object and argument checking
# ----------------------------------------------------------------------------------------

def test_cost_is_frozen_hashable_and_picklable():
    c = C.deconv2d_cost((2, 3, 4, 4), (3, 5, 4, 4), stride=2, padding=1)
    with pytest.raises(Exception):
        c.macs = 1
    with pytest.raises(TypeError):
        c.executed_flops["phase"] = 0
    assert pickle.loads(pickle.dumps(c)) == c
    assert hash(c) == hash(C.deconv2d_cost((2, 3, 4, 4), (3, 5, 4, 4), 2, 1))
    d = c.as_dict()
    assert type(d["executed_flops"]) is dict and d["useful_flops"] == c.useful_flops
    assert c.algorithms == C.PRICED_DECONV_ALGORITHMS
    assert c.executed_intensity("phase") == pytest.approx(c.arithmetic_intensity)


@pytest.mark.parametrize("call", [
    lambda: C.deconv2d_cost((1, 2, 3, 3), (2, 1, 3, 3), stride=2, output_padding=2),
    lambda: C.deconv2d_cost((1, 2, 3, 3), (3, 1, 3, 3)),                  # C_in mismatch
    lambda: C.deconv2d_cost((1, 3, 3, 3), (3, 1, 3, 3), groups=2),
    lambda: C.deconv2d_cost((1, 2, 1, 1), (2, 1, 1, 1), padding=1),       # empty output
    lambda: C.conv2d_cost((1, 2, 2, 2), (1, 2, 5, 5)),                    # kernel too big
    lambda: C.conv2d_cost((1, 4, 5, 5), (6, 3, 3, 3), groups=2),
    lambda: C.upsample_cost((1, 1, 2, 2)),                                # no size
    lambda: C.upsample_cost((1, 1, 2, 2), size=3, scale_factor=2),
    lambda: C.upsample_cost((1, 1, 2, 2), scale_factor=2, align_corners=True),
    lambda: C.upsample_cost((1, 1, 2, 2), scale_factor=0.1),
    lambda: C.upsample_cost((1, 1, 2, 2), scale_factor=2, mode="bicubic"),
    lambda: C.col2im_cost((1, 9, 5), 3, 3, padding=1),                    # wrong L
])
def test_invalid_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_invalid_types_raise_type_error():
    with pytest.raises(TypeError):
        C.deconv2d_cost((1, 2, 3, 3), (2, 1, 3, 3), stride=1.5)
    with pytest.raises(TypeError):
        C.upsample_cost((1, 1, 2, 2), scale_factor="2")
