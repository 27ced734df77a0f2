"""suite's own GEMM kernels (pyx/_sgemm.h): col2im's float32 products C = W^T X of at most
64 columns (the narrow kernel) or of K at least 32 and any width (the wide kernel: 512
rows of C and 256 of K at a time), and the convolutions' C = W X of K at least 32 (the
wide kernel's blocks reading W as it lies), on CPUs with AVX-512; BLAS runs them elsewhere
and when they are off.

Reached through ``deconv2d(algorithm="col2im")``: the shapes below put the kernels' edges
under test (narrow: rows of C not a multiple of its 48-row block, columns not a multiple
of its 8-column panel, 1 to 64 columns, K over several of its 256-row blocks, maps narrower
than a panel batched; wide: rows not a multiple of its blocks' rows, columns not a multiple
of 64, whose last panel of 1 to 63 columns runs on the block of its width in vectors, 16 to
64, or of 1 to 32 joins the panel before it (80 or 96 columns); groups, images batched into one product, more rows than one pass and more K than one
block, and a K too shallow for the wide kernel, which BLAS runs), each against the NumPy
reference, against the same call on BLAS, exactly against integer arithmetic, and across
thread counts.
"""

import numpy as np
import pytest

from conftest import assert_close, load_reference, load_suite, seeded_rng

suite = load_suite()
R = load_reference()

from suite import _im2col, _plan  # noqa: E402  (after load_suite, which builds if needed)

# (x shape, weight shape, stride, padding, groups): C has cog*kH*kW rows, H*W columns and
# C_in/groups rows of K.
NARROW = [
    ((1, 5, 1, 1), (5, 3, 2, 2), 2, 0, 1),          # 1 column, 12 rows, K 5
    ((1, 300, 3, 5), (300, 7, 4, 4), 2, 1, 1),      # 15 columns, 112 rows, K 300: 2 blocks
    ((3, 64, 4, 4), (64, 50, 3, 3), 2, 1, 1),       # 16 columns, 450 rows, 3 images
    ((2, 520, 2, 3), (520, 16, 3, 3), 1, 1, 1),     # 6 columns, 144 rows, K 520: 3 blocks
    ((1, 33, 8, 8), (33, 5, 5, 5), 3, 2, 1),        # 64 columns (the widest), 125 rows
    ((2, 48, 7, 9), (48, 4, 4, 4), 2, 1, 1),        # 63 columns
    ((2, 96, 4, 4), (96, 13, 2, 2), 2, 0, 3),       # groups: K 32, 52 rows per group
    ((1, 256, 1, 1), (256, 97, 4, 4), 1, 0, 1),     # a 1x1 map: 1552 rows, 1 column
    ((16, 100, 1, 1), (100, 9, 4, 4), 1, 0, 1),    # 16 1x1 maps: 2 products of 8 images
    ((16, 20, 3, 3), (20, 6, 3, 3), 2, 1, 1),       # 16 3x3 maps: 7, 7 and 2 images a product
]
# wider than 64 columns
WIDE = [
    ((2, 64, 12, 16), (64, 3, 4, 4), 2, 1, 1),      # 48 rows, K 64 (DCGAN's output layer)
    ((1, 56, 20, 19), (56, 1, 9, 9), 3, 4, 1),      # 81 rows, K 56 (FSRCNN's)
    ((3, 250, 9, 10), (250, 5, 3, 3), 2, 0, 1),     # 45 rows, K 250, 3 images batched
    ((1, 64, 13, 11), (64, 24, 4, 4), 2, 1, 2),     # groups: 384 rows, K 32
    ((1, 40, 9, 11), (40, 7, 3, 3), 2, 1, 1),       # 99 columns: a last panel of 35 (8 x 48)
    ((1, 48, 5, 19), (48, 3, 5, 5), 2, 2, 1),       # 95: one panel of 6 vectors (4 x 96)
    ((1, 36, 10, 8), (36, 11, 3, 3), 1, 1, 1),      # 80: one of 5 (4 x 80), 99 rows
    ((1, 34, 5, 13), (34, 6, 3, 3), 1, 1, 1),       # 65: 4 x 80, one column in the last
    ((1, 64, 6, 16), (64, 5, 3, 3), 1, 1, 1),       # 96: 4 x 96 without a mask, 45 rows
    ((1, 40, 12, 12), (40, 9, 3, 3), 1, 1, 1),      # 144: 64 then 80 as one panel
    ((1, 33, 3, 59), (33, 2, 4, 4), 2, 1, 1),       # 177: of 49 (6 x 64, zero past 49)
    ((1, 32, 13, 11), (32, 32, 4, 4), 2, 1, 32),    # depthwise, K 1: too shallow, BLAS
    ((1, 32, 11, 13), (32, 57, 3, 3), 1, 1, 1),     # 513 rows: a second pass of one row
    ((1, 257, 9, 9), (257, 4, 3, 3), 1, 1, 1),      # K 257: a second block of k, of one row
    ((1, 600, 9, 9), (600, 40, 4, 4), 2, 1, 1),     # 640 rows, K 600 (3 blocks), 81 columns
    ((2, 1030, 5, 14), (1030, 36, 3, 3), 1, 1, 1),  # 324 rows, K 1030, 2 x 70: 64 + 76
]
CASES = NARROW + WIDE
IDS = [f"{x}->{w[1]}x{w[2]}x{w[3]} s{s} p{p} g{g}" for x, w, s, p, g in CASES]
# the cases the own kernels take (a map of at most 64 pixels, or K of at least 32): the rest
# run on BLAS with the kernels on or off, where comparing the two would compare BLAS with
# itself
OWN = [(case, i) for case, i in zip(CASES, IDS)
       if case[1][0] // case[4] >= _im2col.WIDE_GEMM_MIN_DEPTH
       or case[0][2] * case[0][3] <= _im2col.NARROW_GEMM_COLUMNS]


def data(case, integers=False):
    xs, ws, s, p, g = case
    rng = seeded_rng("narrow-gemm", case, integers)
    if integers:    # small integers: every product and sum exact in float32
        return (rng.integers(-3, 4, xs).astype(np.float32),
                rng.integers(-3, 4, ws).astype(np.float32))
    return (rng.standard_normal(xs).astype(np.float32),
            rng.standard_normal(ws).astype(np.float32))


def deconv(case, x, w, n_threads=1):
    _, _, s, p, g = case
    return suite.deconv2d(x, w, stride=s, padding=p, groups=g, algorithm="col2im",
                          num_threads=n_threads)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_narrow_products_match_reference(gemm_kernel, case):
    x, w = data(case)
    _, _, s, p, g = case
    expected = R.deconv2d(x.astype(np.float64), w.astype(np.float64), stride=s, padding=p,
                          groups=g)
    assert_close(deconv(case, x, w), expected, np.float32)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_narrow_products_exact_on_integers(gemm_kernel, case):
    """Integers of at most 3: every partial sum is an integer below 2**24, so any order of
    summation gives the exact result, which the float64 reference also computes exactly."""
    x, w = data(case, integers=True)
    _, _, s, p, g = case
    expected = R.deconv2d(x.astype(np.float64), w.astype(np.float64), stride=s, padding=p,
                          groups=g)
    assert np.array_equal(expected, np.round(expected))
    np.testing.assert_array_equal(deconv(case, x, w), expected.astype(np.float32))


@pytest.mark.parametrize("case", [case for case, _ in OWN], ids=[i for _, i in OWN])
def test_own_kernel_agrees_with_blas(case):
    if _im2col.gemm_kernel() != "avx512":
        pytest.skip("this CPU has no AVX-512")
    x, w = data(case)
    own = deconv(case, x, w)
    try:
        _im2col.gemm_kernel(allow_own=False)
        blas = deconv(case, x, w)
    finally:
        _im2col.gemm_kernel(allow_own=True)
    scale = float(np.max(np.abs(own))) or 1.0
    assert_close(own, blas, np.float32, scale=scale)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_narrow_products_do_not_depend_on_threads(gemm_kernel, case):
    x, w = data(case)
    one = deconv(case, x, w, 1)
    for n_threads in (2, 3):
        np.testing.assert_array_equal(deconv(case, x, w, n_threads), one)


def test_images_batched_only_when_the_weight_leaves_the_cache(monkeypatch):
    """col2im_blocking: one image per product for a map the own kernel takes, as many as its
    width allows when the weight does not fit in half the last-level cache, and enough to
    fill its 8-column panels for maps narrower than them."""
    monkeypatch.setattr(_plan, "narrow_gemm_columns", lambda itemsize: 64)
    monkeypatch.setattr(_plan, "last_level_cache_bytes", lambda: 32 * 2**20)
    # DCGAN-G2: 16 images of 4x4, 512 -> 256, k4: an 8 MB weight
    assert _plan.col2im_blocking(16, 512, 4, 4, 256, 16, 1, 4, 1)[0] == 1
    # 1024 -> 512, k4, on 2x2 maps: a 32 MB weight
    assert _plan.col2im_blocking(16, 1024, 2, 2, 512, 16, 1, 4, 1)[0] == 16
    assert _plan.col2im_blocking(3, 1024, 2, 2, 512, 16, 1, 4, 1)[0] == 3
    # maps narrower than the kernel's panel: the fewest images that fill its panels best
    assert _plan.col2im_blocking(16, 100, 1, 1, 512, 16, 1, 4, 1)[0] == 8
    assert _plan.col2im_blocking(16, 64, 2, 2, 64, 16, 1, 4, 1)[0] == 2
    assert _plan.col2im_blocking(3, 64, 1, 1, 64, 16, 1, 4, 1)[0] == 3
    assert [_plan.narrow_batch(16, p, 64) for p in (1, 4, 9, 16, 25, 49)] == [8, 2, 7, 1, 2, 1]
    # wider maps than the kernel takes: batched for BLAS as before
    monkeypatch.setattr(_plan, "narrow_gemm_columns", lambda itemsize: 0)
    assert _plan.col2im_blocking(16, 512, 4, 4, 256, 16, 1, 4, 1)[0] == 16



def test_pointwise_images_weigh_the_padding_against_the_batch_copies(monkeypatch):
    """pointwise_images: a 1x1 convolution's images are multiplied one at a time unless the
    padding of one image's product on the own kernels costs more than the batched product's
    plus the batch's copies; BLAS's products (no own kernel, float64, shallow depths) are
    batched as images_per_gemm says."""
    # float32 on a CPU with AVX-512 (the own kernels), whatever this machine has
    monkeypatch.setattr(_plan, "narrow_gemm_columns", lambda itemsize: 64 if itemsize == 4 else 0)
    monkeypatch.setattr(_plan, "last_level_cache_bytes", lambda: 32 * 2**20)
    # hand counts of the padding: 71 rows in blocks of 48, 49 columns in panels of 8; the
    # wide kernel's 6-row blocks, 64-column panels and last vectors of 16
    assert _plan.own_kernel_work(71, 49, True) == (96 * 56) / (71 * 49)
    assert _plan.own_kernel_work(48, 64, True) == 1.0
    assert _plan.own_kernel_work(71, 588, True) == (72 * 592) / (71 * 588)
    assert _plan.own_kernel_work(48, 49, False) == 64 / 49
    # 71 rows on 7x7 maps: one image's product pads a third of its work: batched
    assert _plan.pointwise_images(12, 49, 71, 71, 142, 4, True) == 12
    # 48 rows on 8x8 maps: no padding, one image at a time
    assert _plan.pointwise_images(8, 64, 48, 48, 48, 4, True) == 1
    # deep and wide: the copies cost little, a small padding is worth batching away
    assert _plan.pointwise_images(4, 49, 300, 300, 300, 4, True) == 4
    for args in [(12, 49, 71, 71, 142), (8, 64, 48, 48, 48), (16, 9, 40, 200, 200)]:
        batched = _plan.images_per_gemm(args[0], args[1], args[2] + args[4], 4)
        # shallower than the own kernels take, float64, or no own kernel: as images_per_gemm
        assert _plan.pointwise_images(*args[:2], 16, *args[3:], 4, True) == \
            _plan.images_per_gemm(args[0], args[1], 16 + args[4], 4)
        assert _plan.pointwise_images(*args, 8, True) == \
            _plan.images_per_gemm(args[0], args[1], args[2] + args[4], 8)
        assert _plan.pointwise_images(*args, 4, False) in (1, batched)
    # an input past an eighth of the last-level cache: batched (8 x 2048 x 64 values, 4 MiB)
    assert _plan.pointwise_images(8, 64, 2048, 48, 48, 4, True) == 1
    assert _plan.pointwise_images(8, 64, 2049, 48, 48, 4, True) == \
        _plan.images_per_gemm(8, 64, 2049 + 48, 4)
    monkeypatch.setattr(_plan, "narrow_gemm_columns", lambda itemsize: 0)
    assert _plan.pointwise_images(8, 64, 48, 48, 48, 4, True) == 8

# The convolutions' products C = W X (the weight as it lies, C_out/groups x K, times the
# columns), reached through conv2d: (x shape, weight shape, stride, padding, groups, bias).
# A bias is added from C (the kernel's sums starting from the output the bias filled) on
# single images, after the product on batched ones.
CONV = [
    ((1, 32, 5, 7), (1, 32, 1, 1), 1, 0, 1, True),      # one row of C, K 32, 35 columns
    ((2, 8, 9, 11), (5, 8, 2, 2), 1, 0, 1, True),       # K 32, 5 rows, 2 images batched
    ((1, 40, 13, 17), (13, 40, 3, 3), 1, 1, 1, True),   # K 360 (2 blocks), 221 columns
    ((1, 64, 10, 10), (48, 64, 3, 3), 1, 1, 1, False),  # 48 rows, 100 columns: a panel of 36
    ((1, 33, 20, 19), (25, 33, 3, 3), 2, 1, 1, True),   # stride 2: 100 columns, 25 rows
    ((1, 64, 9, 9), (520, 64, 1, 1), 1, 0, 1, True),    # 520 rows: a second pass of 8
    ((1, 96, 8, 16), (12, 24, 3, 3), 1, 1, 4, True),    # groups, K 216, 128 columns
    ((3, 300, 4, 4), (7, 300, 1, 1), 1, 0, 1, False),   # K 300, 3 images of 16 batched
    ((1, 7, 11, 13), (9, 7, 2, 2), 1, 0, 1, True),      # K 28: too shallow, BLAS
]
CONV_IDS = [f"{x}*{w} s{s} p{p} g{g}{' bias' if b else ''}" for x, w, s, p, g, b in CONV]


def conv_data(case, integers=False):
    xs, ws, s, p, g, with_bias = case
    rng = seeded_rng("conv-gemm", case, integers)
    if integers:
        arrays = [rng.integers(-3, 4, shape).astype(np.float32) for shape in (xs, ws, ws[:1])]
    else:
        arrays = [rng.standard_normal(shape).astype(np.float32) for shape in (xs, ws, ws[:1])]
    return arrays[0], arrays[1], arrays[2] if with_bias else None


def conv(case, x, w, b, n_threads=1):
    _, _, s, p, g, _ = case
    return suite.conv2d(x, w, b, stride=s, padding=p, groups=g, num_threads=n_threads)


def conv_reference(case, x, w, b):
    _, _, s, p, g, _ = case
    return R.conv2d(x.astype(np.float64), w.astype(np.float64),
                    None if b is None else b.astype(np.float64), stride=s, padding=p, groups=g)


@pytest.mark.parametrize("case", CONV, ids=CONV_IDS)
def test_convolution_products_match_reference(gemm_kernel, case):
    x, w, b = conv_data(case)
    assert_close(conv(case, x, w, b), conv_reference(case, x, w, b), np.float32)


@pytest.mark.parametrize("case", CONV, ids=CONV_IDS)
def test_convolution_products_exact_on_integers(gemm_kernel, case):
    x, w, b = conv_data(case, integers=True)
    expected = conv_reference(case, x, w, b)
    assert np.array_equal(expected, np.round(expected))
    np.testing.assert_array_equal(conv(case, x, w, b), expected.astype(np.float32))


@pytest.mark.parametrize("case", CONV, ids=CONV_IDS)
def test_convolution_products_do_not_depend_on_threads(case):
    """On the own kernels (each value summed in the order of K whatever block of C holds
    it). OpenBLAS's products are not: split into column blocks of 32, 32 and 36 its sums of
    a 48 x 100 product differ in the last bit from one block of 100."""
    if suite.conv.own_gemm() != "avx512" and case[1][1] * case[1][2] * case[1][3] >= 32:
        pytest.skip("this CPU has no AVX-512")
    x, w, b = conv_data(case)
    one = conv(case, x, w, b)
    assert_close(one, conv_reference(case, x, w, b), np.float32)   # not equal zeros
    for n_threads in (2, 3):
        np.testing.assert_array_equal(conv(case, x, w, b, n_threads), one)


@pytest.mark.parametrize("case", [c for c in CONV if c[1][1] * c[1][2] * c[1][3] >= 32],
                         ids=[i for c, i in zip(CONV, CONV_IDS)
                              if c[1][1] * c[1][2] * c[1][3] >= 32])
def test_own_convolution_kernel_agrees_with_blas(case):
    if suite.conv.own_gemm() != "avx512":
        pytest.skip("this CPU has no AVX-512")
    x, w, b = conv_data(case)
    own = conv(case, x, w, b)
    try:
        assert suite.conv.own_gemm(False) == "blas"
        blas = conv(case, x, w, b)
    finally:
        suite.conv.own_gemm(True)
    assert_close(own, blas, np.float32, scale=float(np.max(np.abs(own))) or 1.0)


# Every method whose products are a weight times columns, once on each kernel: the
# transposed convolution's phases and Winograd, the fused upsample + conv's bands (nearest
# and bilinear), collapsed phases and Winograd, and the backward pass's input gradient.
def _deconv_case(algorithm):
    def run(rng):
        x = rng.standard_normal((2, 40, 7, 9)).astype(np.float32)
        w = rng.standard_normal((40, 36, 4, 4)).astype(np.float32)
        b = rng.standard_normal(36).astype(np.float32)
        got = suite.deconv2d(x, w, b, stride=2, padding=1, algorithm=algorithm,
                             num_threads=2)
        return got, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), stride=2, padding=1)
    return run


def _fused_case(mode, scale, algorithm):
    def run(rng):
        x = rng.standard_normal((2, 36, 6, 7)).astype(np.float32)
        w = rng.standard_normal((50, 36, 3, 3)).astype(np.float32)
        b = rng.standard_normal(50).astype(np.float32)
        got = suite.upsample_conv2d(x, w, b, scale_factor=scale, mode=mode, padding=1,
                                    algorithm=algorithm, num_threads=2)
        return got, R.upsample_conv2d(x.astype(np.float64), w.astype(np.float64),
                                      b.astype(np.float64), scale_factor=scale, mode=mode,
                                      padding=1)
    return run


def _backward_case(rng):
    x = rng.standard_normal((2, 20, 6, 5)).astype(np.float32)
    w = rng.standard_normal((20, 13, 3, 3)).astype(np.float32)
    g = rng.standard_normal((2, 13, 13, 11)).astype(np.float32)
    got = suite.deconv2d_backward(g, x, w, stride=2, num_threads=2)[0]
    expected = R.deconv2d_backward(g.astype(np.float64), x.astype(np.float64),
                                   w.astype(np.float64), stride=2)[0]
    return got, expected


METHODS = {
    "deconv phase": _deconv_case("phase"),
    "deconv winograd": _deconv_case("winograd"),
    "nearest x2 banded": _fused_case("nearest", 2, "banded"),
    "nearest x2 collapsed": _fused_case("nearest", 2, "collapsed"),
    "nearest x2 winograd": _fused_case("nearest", 2, "winograd"),
    "bilinear x2 banded": _fused_case("bilinear", 2, "banded"),
    "bilinear x1.5 banded": _fused_case("bilinear", 1.5, "banded"),
    "backward input": _backward_case,
}


@pytest.mark.parametrize("method", list(METHODS))
def test_products_of_every_method_match_reference(gemm_kernel, method):
    got, expected = METHODS[method](seeded_rng("method-gemm", method))
    assert_close(got, expected, np.float32)


def test_environment_switch_sends_the_products_to_blas():
    """SUITE_OWN_GEMM=0: the kernel is off from import on, `python -m suite info` says so,
    and the wisdom keeps its measurements apart from those made with the kernel on."""
    import os
    import subprocess
    import sys

    code = ("import suite, suite.wisdom as w; from suite import _banded, _im2col, _phase, "
            "_winograd; print({m.gemm_kernel() for m in (_banded, _im2col, _phase, "
            "_winograd)}); print(w.machine_key())")
    env = dict(os.environ, SUITE_OWN_GEMM="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] == "{'blas'}"
    assert "narrow-gemm=blas" in out[1]
    info = subprocess.run([sys.executable, "-m", "suite", "info"], env=env,
                          capture_output=True, text=True, check=True).stdout
    assert ("float32 GEMMs of col2im (<= 64 columns or >= 32 rows of K) and of the "
            "convolutions (>= 32 rows of K): BLAS") in info


def test_own_gemm_takes_the_products_its_kernels_run(monkeypatch):
    """The plan skips the BLAS thread hold only where every product runs on the own kernels:
    float32, at most 64 columns or K of at least 32, and the kernels available."""
    monkeypatch.setattr(_plan, "narrow_gemm_columns",
                        lambda itemsize: 64 if itemsize == 4 else 0)
    takes = _plan.own_gemm_takes
    assert takes(9216, 16, 512, 4) and takes(9216, 64, 4096, 4)
    assert takes(48, 16384, 64, 4) and takes(512, 10**6, 256, 4) and takes(6, 65, 32, 4)
    assert takes(513, 65, 64, 4) and takes(48, 65, 257, 4) and takes(4096, 4096, 4096, 4)
    assert not takes(48, 65, 31, 4) and takes(48, 64, 1, 4)
    assert not takes(48, 16, 64, 8)
    monkeypatch.setattr(_plan, "narrow_gemm_columns", lambda itemsize: 0)
    assert not takes(48, 16, 64, 4)
