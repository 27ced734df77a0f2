"""col2im on large maps, in bands of input rows (``suite._plan.col2im_blocking``'s third
value): each band's GEMM and col2im stay in cache, the output rows two bands share are
summed band after band, and rows no band reaches still get the bias.

The maps below are just large enough to be cut into bands (the plan is checked, so a change
of the budgets cannot quietly leave this file testing the unbanded path); each is compared
with the NumPy reference, across thread counts (every count runs the plan made for the
planning width, ``suite._plan.planning_width``: the bits must not change), with and without
bias, and its traced workspace with the cost model's figure.
"""

import importlib
import tracemalloc

import numpy as np
import pytest

from conftest import DTYPE_IDS, DTYPES, assert_close, load_reference, load_suite, seeded_rng

suite = load_suite()
R = load_reference()

from suite import _plan, cost  # noqa: E402  (after load_suite, which builds if needed)

# (x shape, weight shape, stride, padding, output_padding, dilation, groups)
BANDED = [
    ((1, 6, 40, 50), (6, 5, 5, 3), (3, 2), (2, 1), (1, 0), (1, 2), 1),   # rows between bands
    ((1, 4, 150, 300), (4, 3, 1, 1), 2, 0, 1, 1, 1),                     # k1 s2: odd rows bare
    ((2, 8, 36, 70), (8, 4, 7, 7), 2, 3, 1, 1, 2),                       # overlapping, groups
    ((1, 5, 50, 40), (5, 1, 9, 9), 3, 4, 2, 1, 1),                       # one output channel
    ((1, 4, 64, 33), (4, 12, 3, 3), 1, 2, 0, 1, 1),                      # stride 1, cropped
    ((3, 6, 30, 90), (6, 6, 4, 4), 4, 0, 0, 1, 3),                       # k = s, 3 images
]
IDS = [f"{x[1:]}->{w[1] * g}x{w[2]}x{w[3]} s{s} p{p} op{op} d{d} g{g}"
       for x, w, s, p, op, d, g in BANDED]


def geometry(case):
    _, _, s, p, op, d, g = case
    return dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g)


def data(case, dtype):
    xs, ws, *_, g = case
    rng = seeded_rng("col2im-bands", case, np.dtype(dtype).name)
    return (rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype),
            rng.standard_normal(ws[1] * g).astype(dtype))


def plan(case, dtype, n_threads=1):
    (n, c_in, h, w), (_, cog, kh, kw), *_, g = case
    return _plan.col2im_blocking(n, c_in, h, w, cog, kh * kw, g, np.dtype(dtype).itemsize,
                                 n_threads)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", BANDED, ids=IDS)
def test_banded_col2im_matches_reference(case, dtype):
    assert plan(case, dtype)[2] < case[0][2], "the plan no longer cuts this map into bands"
    x, w, b = data(case, dtype)
    for bias in (None, b):
        y = suite.deconv2d(x, w, bias, **geometry(case), algorithm="col2im", num_threads=1)
        expected = R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                              None if bias is None else bias.astype(np.float64),
                              **geometry(case))
        assert_close(y, expected, dtype)


def same_at_every_thread_count(case, x, w, b):
    """col2im's output at one thread, after checking that 2 and 3 give the same bits."""
    one = suite.deconv2d(x, w, b, **geometry(case), algorithm="col2im", num_threads=1)
    for n_threads in (2, 3):
        y = suite.deconv2d(x, w, b, **geometry(case), algorithm="col2im",
                           num_threads=n_threads)
        np.testing.assert_array_equal(y, one)
    return one


@pytest.mark.parametrize("case", BANDED, ids=IDS)
def test_banded_col2im_does_not_depend_on_threads(case):
    same_at_every_thread_count(case, *data(case, np.float32))


def test_the_unblocked_path_is_banded_too():
    """One image, one group, one output channel: no blocks when planned for two threads, so
    the GEMM is split in blocks; the bands stay those planned for one."""
    case = BANDED[3]
    assert plan(case, np.float32, 2)[1] == 0 and plan(case, np.float32, 1)[1] > 0
    assert plan(case, np.float32, 2)[2] == plan(case, np.float32, 1)[2] < case[0][2]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("case", BANDED, ids=IDS)
def test_banded_workspace_is_what_the_cost_model_says(case, n_threads):
    """The column workspace is a band's, not the whole map's (traced by tracemalloc)."""
    x, w, b = data(case, np.float32)
    out = suite.deconv2d(x, w, b, **geometry(case), algorithm="col2im", num_threads=n_threads)

    def call():
        suite.deconv2d(x, w, b, **geometry(case), algorithm="col2im", num_threads=n_threads,
                       out=out)

    call()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected = cost.deconv2d_cost(x.shape, w.shape, **geometry(case), bias=True,
                                  num_threads=n_threads).workspace_bytes["col2im"]
    (n, c_in, h, wd), (_, cog, kh, kw) = x.shape, w.shape
    whole = 4 * n * cog * case[6] * kh * kw * h * wd
    assert abs(peak - expected) <= 0.1 * expected + 4096, (peak, expected)
    assert expected < whole / 2


# Blocks of output channels spread over the threads (suite._plan.spread_blocks): a call
# takes ceil(tasks / threads) tasks of its largest block, so 3 blocks on 2 threads leave one
# idle a third of the call where 4 do not. Hand values, then layers whose blocking it
# changes when planned for two threads: the same bits at 1-3 threads and the reference's
# values.
def test_spread_blocks_hand_values():
    assert _plan.spread_blocks(1, 3, 56, 1) == 3        # one thread: as the cache says
    assert _plan.spread_blocks(1, 3, 56, 2) == 4        # 19 + 19 + 18 -> 4 x 14
    assert _plan.spread_blocks(3, 1, 96, 2) == 2        # 3 images: 6 tasks of 48
    assert _plan.spread_blocks(2, 3, 60, 2) == 3        # 6 tasks already even
    assert _plan.spread_blocks(1, 1, 1, 2) == 1         # no channel to split
    assert _plan.spread_blocks(1, 3, 5, 2) == 5         # blocks of 2, 2, 1 -> 1 each
    assert _plan.spread_blocks(5, 2, 64, 4) == 4        # 10 -> 20 tasks on 4 threads
    for units in range(1, 6):
        for blocks in range(1, 6):
            for n_threads in range(1, 5):
                b = _plan.spread_blocks(units, blocks, 40, n_threads)
                assert blocks <= b <= 2 * blocks


SPREAD = [((1, 40, 41, 19), (40, 56, 2, 5), 2, (0, 2), 0, 1, 1),
          ((3, 48, 6, 6), (48, 96, 3, 3), 2, 1, 0, 1, 1),
          ((1, 24, 16, 16), (24, 256, 3, 3), 4, 0, 0, 1, 1)]


@pytest.fixture
def planned_for_two(monkeypatch):
    """deconv2d's plans made for two threads, whatever this machine's planning width (the
    kernels split the work as the plan says; GEMMs they split themselves keep theirs)."""
    conv = importlib.import_module("suite.conv")
    monkeypatch.setattr(conv, "planning_width", lambda: 2)
    conv._deconv_plan_cached.cache_clear()
    yield
    conv._deconv_plan_cached.cache_clear()


@pytest.mark.parametrize("case", SPREAD, ids=[str(c[:2]) for c in SPREAD])
def test_spread_blocks_keep_the_bits(case, planned_for_two):
    (n, c_in, h, w), (_, cog, kh, kw), *_, g = case
    plans = {t: _plan.col2im_blocking(n, c_in, h, w, cog, kh * kw, g, 4, t) for t in (1, 2)}
    assert plans[1][1] and plans[2][1] and plans[1][1] != plans[2][1], plans
    x, wt, b = data(case, np.float32)
    one = same_at_every_thread_count(case, x, wt, b)
    expected = R.deconv2d(x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64),
                          **geometry(case))
    assert_close(one, expected, np.float32)
