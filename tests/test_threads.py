"""Results do not depend on the thread count.

upsample, upsample_backward, im2col and col2im partition their outputs between threads and
never reorder a sum, so they are bit-for-bit identical for any ``num_threads``; the
convolutions call BLAS, whose blocking may depend on the thread count, so they are compared
within the dtype's tolerance.
"""

import numpy as np
import pytest

from conftest import (DTYPE_IDS, DTYPES, Conv, Deconv, Up, assert_close, load_reference,
                      load_suite, randn, seeded_rng)

suite = load_suite()
R = load_reference()

THREADS = [1, 2, 3]
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)

# Big enough that every thread gets work (several images x channels x rows), small enough
# to stay fast.
UP_CASES = [
    Up(3, 5, 13, 11, "nearest", scale_factor=2),
    Up(3, 5, 13, 11, "nearest", size=(29, 17)),
    Up(2, 3, 13, 11, "nearest-exact", scale_factor=(3, 2)),
    Up(3, 5, 13, 11, "bilinear", scale_factor=2, align_corners=False),
    Up(2, 3, 13, 11, "bilinear", size=(31, 7), align_corners=True),
    Up(1, 1, 37, 5, "bilinear", size=(90, 12), align_corners=False),   # one plane: rows split
]
DECONV_CASES = [
    Deconv(3, 8, 6, 9, 7, 4, s=2, p=1),
    Deconv(2, 6, 9, 7, 8, (3, 2), s=(2, 3), p=(1, 0), op=(1, 2), groups=3),
    Deconv(1, 5, 5, 13, 11, 4, s=2, p=1, groups=5),
]
CONV_CASES = [
    Conv(3, 8, 6, 11, 9, 3, p=1),
    Conv(2, 6, 9, 12, 10, (3, 2), s=(2, 1), p=(1, 0), d=(1, 2), groups=3),
]


def same_for_all_threads(fn, exact, dtype):
    results = [fn(n) for n in THREADS]
    for n, r in zip(THREADS[1:], results[1:]):
        if exact:
            assert np.array_equal(results[0], r), f"num_threads={n} differs from 1"
        else:
            assert_close(r, results[0], dtype, err_msg=f"num_threads={n}")
    return results[0]


@dtypes
@pytest.mark.parametrize("cfg", UP_CASES, ids=[c.id for c in UP_CASES])
def test_upsample_thread_invariant(cfg, dtype):
    rng = seeded_rng("thr", cfg.id)
    x, g = randn(rng, cfg.x_shape, dtype), randn(rng, cfg.y_shape, dtype)
    y = same_for_all_threads(lambda n: suite.upsample(x, **cfg.kwargs, num_threads=n), True,
                             dtype)
    assert_close(y, R.upsample(x.astype(np.float64), **cfg.kwargs), dtype)
    gx = same_for_all_threads(
        lambda n: suite.upsample_backward(g, cfg.x_shape, **cfg.kwargs, num_threads=n), True,
        dtype)
    assert_close(gx, R.upsample_backward(g.astype(np.float64), cfg.x_shape, **cfg.kwargs),
                 dtype)


@dtypes
@pytest.mark.parametrize("cfg", CONV_CASES, ids=[c.id for c in CONV_CASES])
def test_im2col_col2im_thread_invariant(cfg, dtype):
    x, _, _ = cfg.data(dtype)
    cols = same_for_all_threads(
        lambda n: suite.im2col(x, cfg.k, **cfg.unfold_kwargs, num_threads=n), True, dtype)
    np.testing.assert_array_equal(cols, R.im2col(x, cfg.k, **cfg.unfold_kwargs))
    c = randn(seeded_rng("thr-cols", cfg.id), cfg.cols_shape, dtype)
    img = same_for_all_threads(
        lambda n: suite.col2im(c, (cfg.H, cfg.W), cfg.k, **cfg.unfold_kwargs, num_threads=n),
        True, dtype)
    assert_close(img, R.col2im(c.astype(np.float64), (cfg.H, cfg.W), cfg.k,
                               **cfg.unfold_kwargs), dtype)


@dtypes
@pytest.mark.parametrize("cfg", CONV_CASES, ids=[c.id for c in CONV_CASES])
def test_conv2d_thread_invariant(cfg, dtype):
    x, w, b = cfg.data(dtype)
    y = same_for_all_threads(lambda n: suite.conv2d(x, w, b, **cfg.kwargs, num_threads=n),
                             False, dtype)
    assert_close(y, R.conv2d(x.astype(np.float64), w.astype(np.float64),
                             b.astype(np.float64), **cfg.kwargs), dtype)


@pytest.mark.parametrize("algorithm", ["auto", "col2im", "phase"])
@dtypes
@pytest.mark.parametrize("cfg", DECONV_CASES, ids=[c.id for c in DECONV_CASES])
def test_deconv2d_thread_invariant(cfg, dtype, algorithm):
    x, w, b = cfg.data(dtype)

    def run(n):
        try:
            return suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=algorithm, num_threads=n)
        except ValueError as exc:
            if algorithm == "phase" and "algorithm" in str(exc):
                pytest.skip(f"algorithm={algorithm!r} not available yet")
            raise

    y = same_for_all_threads(run, False, dtype)
    assert_close(y, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                               b.astype(np.float64), **cfg.kwargs), dtype)


@dtypes
@pytest.mark.parametrize("cfg", DECONV_CASES, ids=[c.id for c in DECONV_CASES])
def test_deconv2d_backward_thread_invariant(cfg, dtype):
    x, w, _ = cfg.data(dtype)
    g = randn(seeded_rng("thr-g", cfg.id), cfg.y_shape, dtype)
    results = [suite.deconv2d_backward(g, x, w, **cfg.kwargs, num_threads=n) for n in THREADS]
    expected = R.deconv2d_backward(g.astype(np.float64), x.astype(np.float64),
                                   w.astype(np.float64), **cfg.kwargs)
    for n, got in zip(THREADS, results):
        for name, a, e, first in zip(("grad_input", "grad_weight", "grad_bias"), got, expected,
                                     results[0]):
            assert_close(a, first, dtype, err_msg=f"{name} num_threads={n} vs 1")
            assert_close(a, e, dtype, err_msg=f"{name} num_threads={n} vs reference")


def test_num_threads_none_uses_default():
    cfg = UP_CASES[3]
    x = randn(seeded_rng("none"), cfg.x_shape, np.float32)
    assert np.array_equal(suite.upsample(x, **cfg.kwargs),
                          suite.upsample(x, **cfg.kwargs, num_threads=1))


def test_more_threads_than_work():
    # one image, one channel, one row: most threads idle
    x = randn(seeded_rng("tiny"), (1, 1, 1, 3), np.float64)
    for n in (1, 4, 16):
        np.testing.assert_array_equal(
            suite.upsample(x, scale_factor=2, mode="bilinear", num_threads=n),
            suite.upsample(x, scale_factor=2, mode="bilinear", num_threads=1))
        assert_close(suite.deconv2d(x, randn(seeded_rng("w"), (1, 2, 3, 3), np.float64),
                                    stride=2, num_threads=n),
                     R.deconv2d(x, randn(seeded_rng("w"), (1, 2, 3, 3), np.float64), stride=2))
