"""Results do not depend on the thread count.

upsample, upsample_backward, upsample_add, im2col and col2im partition their outputs between
threads and never reorder a sum, so they are bit-for-bit identical for any ``num_threads``
(1, 2, 3, 4) and under ``threadpoolctl.threadpool_limits(1)`` / ``(2)``. The convolutions
(conv2d, deconv2d with each method, deconv2d_backward, upsample_conv2d) split their work into
BLAS products as planned for the planning width (``suite._plan.planning_width``), never for
the call's threads, since BLAS rounds an element as the shape of its product says: they too
are bit for bit identical, here and in processes planning for widths 1 and 3
(``SUITE_PLANNING_WIDTH``, read once at import, like ``OMP_NUM_THREADS``'s part in the default).
``deconv2d(algorithm="auto")`` may choose another method for another thread count, so it is
compared within the dtype's tolerance. At a fixed thread count every kernel is
deterministic: repeated runs are bit for bit identical.
"""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from conftest import (DTYPE_IDS, DTYPES, Conv, Deconv, Up, UpAdd, UpConv, assert_close,
                      load_reference, load_suite, randn, seeded_rng)

suite = load_suite()
R = load_reference()

THREADS = [1, 2, 3, 4]
#: num_threads=None under a threadpoolctl limit (which sets OpenMP's limit)
LIMITS = [1, 2]
REPEATS = 5
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
    Deconv(1, 3, 3, 6, 5, 16, s=8, p=4, groups=3),       # FCN-style: long kernel rows
    Deconv(4, 20, 18, 9, 7, 4, s=2, p=1),                # Winograd: many tiles, blocks
    Deconv(1, 8, 40, 2, 3, 4, s=2, p=1),                 # Winograd: channel parts
    Deconv(1, 8, 64, 2, 2, 4, s=2, p=1, groups=2),       # ... per group
]
CONV_CASES = [
    Conv(3, 8, 6, 11, 9, 3, p=1),
    Conv(2, 6, 9, 12, 10, (3, 2), s=(2, 1), p=(1, 0), d=(1, 2), groups=3),
]


def under_limit(fn, limit):
    with threadpool_limits(limits=limit):
        return fn(None)


def same_for_all_threads(fn, exact, dtype):
    """fn(num_threads) for every count in THREADS and under each threadpoolctl limit; all
    equal (bitwise when ``exact``) to the one-thread result, which is returned."""
    results = [(f"num_threads={n}", fn(n)) for n in THREADS]
    results += [(f"threadpool_limits({n})", under_limit(fn, n)) for n in LIMITS]
    first = results[0][1]
    for name, r in results[1:]:
        if exact:
            assert np.array_equal(first, r), f"{name} differs from num_threads=1"
        else:
            assert_close(r, first, dtype, err_msg=name)
    return first


def same_every_run(fn, n_threads):
    """REPEATS calls at a fixed thread count give bit-for-bit the same result."""
    first = fn(n_threads)
    for i in range(REPEATS - 1):
        again = fn(n_threads)
        for a, b in zip(first if isinstance(first, tuple) else (first,),
                        again if isinstance(again, tuple) else (again,)):
            assert np.array_equal(a, b), f"run {i + 2} differs at num_threads={n_threads}"


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
                             True, dtype)
    assert_close(y, R.conv2d(x.astype(np.float64), w.astype(np.float64),
                             b.astype(np.float64), **cfg.kwargs), dtype)


@pytest.mark.parametrize("algorithm", ["auto", "col2im", "phase", "winograd", "direct"])
@dtypes
@pytest.mark.parametrize("cfg", DECONV_CASES, ids=[c.id for c in DECONV_CASES])
def test_deconv2d_thread_invariant(cfg, dtype, algorithm):
    x, w, b = cfg.data(dtype)

    def run(n):
        return suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=algorithm, num_threads=n)

    y = same_for_all_threads(run, algorithm != "auto", dtype)
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
            np.testing.assert_array_equal(a, first, err_msg=f"{name} num_threads={n} vs 1")
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


# ----------------------------------------------------------------------------------------
# fused kernels, thread limits, determinism
# ----------------------------------------------------------------------------------------

UPCONV_CASES = [
    UpConv(3, 6, 4, 9, 7, 3, 2, p=1),                                   # Winograd
    UpConv(1, 8, 40, 2, 3, 3, 2, p=1),                                  # Winograd, parts
    UpConv(2, 6, 6, 7, 5, (3, 2), (3, 2), "nearest-exact", p=(1, 0), groups=3),
    UpConv(3, 4, 5, 7, 6, 3, 2, "bilinear", False, p=1),                # on the fly
    UpConv(2, 4, 4, 6, 7, 3, 1.5, s=2, p=1, groups=2),
]
UPADD_CASES = [
    UpAdd(3, 5, 7, 6, 14, 12, "nearest"),
    UpAdd(2, 3, 7, 6, 17, 13, "nearest-exact"),
    UpAdd(3, 5, 7, 6, 14, 12, "bilinear", False),
    UpAdd(1, 1, 9, 7, 31, 30, "bilinear", True),                        # one plane: rows split
]


@dtypes
@pytest.mark.parametrize("cfg", UPCONV_CASES, ids=[c.id for c in UPCONV_CASES])
def test_upsample_conv2d_thread_invariant(cfg, dtype):
    x, w, b = cfg.data(dtype)
    y = same_for_all_threads(
        lambda n: suite.upsample_conv2d(x, w, b, **cfg.kwargs, num_threads=n), True, dtype)
    assert_close(y, R.upsample_conv2d(x.astype(np.float64), w.astype(np.float64),
                                      b.astype(np.float64), **cfg.kwargs), dtype)


@dtypes
@pytest.mark.parametrize("cfg", UPADD_CASES, ids=[c.id for c in UPADD_CASES])
def test_upsample_add_thread_invariant(cfg, dtype):
    x, skip = cfg.data(dtype)
    y = same_for_all_threads(
        lambda n: suite.upsample_add(x, skip, **cfg.kwargs, num_threads=n), True, dtype)
    assert_close(y, R.upsample_add(x.astype(np.float64), skip.astype(np.float64),
                                   **cfg.kwargs), dtype)

    def in_place(n):
        s = skip.copy()
        suite.upsample_add(x, s, **cfg.kwargs, out=s, num_threads=n)
        return s

    np.testing.assert_array_equal(same_for_all_threads(in_place, True, dtype), y)


@dtypes
def test_deconv2d_backward_thread_limits(dtype):
    cfg = DECONV_CASES[0]
    x, w, _ = cfg.data(dtype)
    g = randn(seeded_rng("thr-limit-g", cfg.id), cfg.y_shape, dtype)
    first = suite.deconv2d_backward(g, x, w, **cfg.kwargs, num_threads=1)
    for limit in LIMITS:
        with threadpool_limits(limits=limit):
            got = suite.deconv2d_backward(g, x, w, **cfg.kwargs)
        for a, e in zip(got, first):
            assert_close(a, e, dtype, err_msg=f"threadpool_limits({limit})")


def _all_kernels(dtype):
    """(name, fn(num_threads)) for every kernel on a mid-sized case."""
    c, d, u, uc, ua = CONV_CASES[0], DECONV_CASES[0], UP_CASES[3], UPCONV_CASES[0], UPADD_CASES[2]
    xc, wc, bc = c.data(dtype)
    xd, wd, bd = d.data(dtype)
    rng = seeded_rng("repeat", np.dtype(dtype).name)
    xu, gu = randn(rng, u.x_shape, dtype), randn(rng, u.y_shape, dtype)
    gd = randn(rng, d.y_shape, dtype)
    cols = randn(rng, c.cols_shape, dtype)
    xuc, wuc, buc = uc.data(dtype)
    xua, skip = ua.data(dtype)
    kernels = [
        ("im2col", lambda n: suite.im2col(xc, c.k, **c.unfold_kwargs, num_threads=n)),
        ("col2im", lambda n: suite.col2im(cols, (c.H, c.W), c.k, **c.unfold_kwargs,
                                          num_threads=n)),
        ("conv2d", lambda n: suite.conv2d(xc, wc, bc, **c.kwargs, num_threads=n)),
        ("deconv2d_backward", lambda n: suite.deconv2d_backward(gd, xd, wd, **d.kwargs,
                                                                num_threads=n)),
        ("upsample", lambda n: suite.upsample(xu, **u.kwargs, num_threads=n)),
        ("upsample_backward", lambda n: suite.upsample_backward(gu, u.x_shape, **u.kwargs,
                                                                num_threads=n)),
        ("upsample_conv2d", lambda n: suite.upsample_conv2d(xuc, wuc, buc, **uc.kwargs,
                                                            num_threads=n)),
        ("upsample_add", lambda n: suite.upsample_add(xua, skip, **ua.kwargs, num_threads=n)),
    ]
    for algorithm in suite.DECONV_ALGORITHMS:
        kernels.append((f"deconv2d[{algorithm}]",
                        lambda n, a=algorithm: suite.deconv2d(xd, wd, bd, **d.kwargs,
                                                              algorithm=a, num_threads=n)))
    return kernels


@dtypes
@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_repeated_runs_are_identical(n_threads, dtype):
    for name, fn in _all_kernels(dtype):
        try:
            same_every_run(fn, n_threads)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_small_layers_use_fewer_threads(monkeypatch):
    # the floor the test suite lifts (conftest): at least MIN_FLOPS_PER_THREAD per thread
    plan = importlib.import_module("suite._plan")
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 10_000_000)
    assert plan.threads_for_work(2, 14_400_000) == 1       # FCN-8s upscore2
    assert plan.threads_for_work(2, 100_000_000) == 2
    assert plan.threads_for_work(8, 35_000_000) == 3
    assert plan.threads_for_work(4, 0) == 1
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 0)
    assert plan.threads_for_work(4, 0) == 4


def test_small_maps_upsample_on_fewer_threads(monkeypatch):
    # the other floor the test suite lifts: at least MIN_BYTES_PER_THREAD of output per thread
    plan = importlib.import_module("suite._plan")
    monkeypatch.setattr(plan, "MIN_BYTES_PER_THREAD", 256 * 2**10)
    assert plan.threads_for_bytes(2, 4 * 16 * 4) == 1               # a 2x2 map upsampled x2
    assert plan.threads_for_bytes(2, 256 * 26 * 26 * 4) == 2        # YOLOv3's 13x13 x2
    assert plan.threads_for_bytes(8, 3 * 256 * 2**10) == 3
    monkeypatch.setattr(plan, "MIN_BYTES_PER_THREAD", 0)
    assert plan.threads_for_bytes(4, 16) == 4


# ---- the planning width: read once, at import, from the environment ----

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(env, code="", args=None):
    """A fresh interpreter in the project root under ``env`` (SUITE_PLANNING_WIDTH and
    OMP_NUM_THREADS as given, unset otherwise)."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("SUITE_PLANNING_WIDTH", "OMP_NUM_THREADS")}
    full.update(env)
    return subprocess.run([sys.executable, *(args or ["-c", code])], cwd=ROOT,
                          env=full, capture_output=True, text=True, timeout=600)


# the width in Python and in _im2col's own copy of it: a 1x1 conv2d of one 4x4 image to 64
# channels is one product, which parallel_gemm cuts into min(width, 64 // 16) blocks of rows,
# each a GEMM stage of the profile, at any thread count
WIDTHS = ("import os, numpy as np, suite, suite._buildinfo as b, suite._plan as p; "
          "os.environ['SUITE_PLANNING_WIDTH'] = '5'; "
          "x, w = np.ones((1, 32, 4, 4), np.float32), np.ones((64, 32, 1, 1), np.float32)\n"
          "with suite.profile() as prof: suite.conv2d(x, w, num_threads=1)\n"
          "f = prof.frame(); blocks = len(f[f.stage == 'gemm'])\n"
          "print(b.planning_width(), p.planning_width(), min(b.planning_width(), 4) == blocks)")


@pytest.mark.parametrize("env, width", [
    ({"SUITE_PLANNING_WIDTH": "3"}, 3),
    ({"SUITE_PLANNING_WIDTH": "1", "OMP_NUM_THREADS": "2"}, 1),
    ({"SUITE_PLANNING_WIDTH": "16", "OMP_NUM_THREADS": "1"}, 16),
    ({"OMP_NUM_THREADS": "1"}, 1),
], ids=["set", "set-below-omp", "set-above-omp", "omp-only"])
def test_the_planning_width_comes_from_the_environment_once(env, width):
    # a change after the import reaches nothing: every module read it as suite was imported
    child = _child(env, WIDTHS)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == [str(width), str(width), "True"]


def test_the_planning_width_defaults_to_the_cpus():
    child = _child({}, WIDTHS)
    assert child.returncode == 0, child.stderr
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    expected = min(max(1, cpus), 16) if suite.openmp_enabled() else 1
    assert child.stdout.split() == [str(expected)] * 2 + ["True"]


@pytest.mark.parametrize("value", ["0", "17", "two", " 3", "-1", "2.0"])
def test_a_planning_width_out_of_range_stops_the_import(value):
    child = _child({"SUITE_PLANNING_WIDTH": value}, "import suite")
    assert child.returncode != 0
    assert f"SUITE_PLANNING_WIDTH={value!r}" in child.stderr
    assert "expected a whole number of threads from 1 to 16" in child.stderr


@pytest.mark.skipif(not suite.openmp_enabled(), reason="a serial build runs one thread")
@pytest.mark.parametrize("width", ["1", "3"])
def test_other_planning_widths_keep_the_bits(width):
    # the convolutions' checks above, in a process planning for another width
    child = _child({"SUITE_PLANNING_WIDTH": width}, args=[
        "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/test_threads.py", "-k",
        "(conv2d_thread_invariant or deconv2d_thread_invariant or backward_thread_invariant)"
        " and not planning"])
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-2000:]
    assert " passed" in child.stdout and "skipped" not in child.stdout.splitlines()[-1]


def test_info_names_the_planning_width_and_where_it_came_from():
    child = _child({"SUITE_PLANNING_WIDTH": "3"}, args=["-m", "suite", "info"])
    assert child.returncode == 0, child.stderr
    assert "as for 3 threads at any thread count (the planning width: SUITE_PLANNING_WIDTH" \
        in child.stdout
    child = _child({"OMP_NUM_THREADS": "1"}, args=["-m", "suite", "info"])
    assert child.returncode == 0, child.stderr
    assert "as for 1 thread at" in child.stdout and "OMP_NUM_THREADS" in child.stdout
