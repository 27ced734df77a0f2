"""Fresh outputs of 64 KiB or more come from blocks kept between calls (suite/_outputs.py),
handed out again only when nothing references them: the memory of a live result, or of any
view of it, is never given to another; values are never stale; the pool stays within its
bytes, gives them back on ``suite.release_memory()`` and is off with SUITE_OUTPUT_POOL=0.

The pool's bytes are lowered here so that a few arrays fill it; every result is compared
with the NumPy reference.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import load_reference, load_suite, seeded_rng

suite = load_suite()
R = load_reference()

from suite import _outputs  # noqa: E402  (after load_suite, which builds if needed)

SHAPE = (2, 8, 40, 40)          # nearest x2: 2 x 8 x 80 x 80 floats, 400 KiB out


@pytest.fixture(autouse=True)
def small_pool(monkeypatch):
    monkeypatch.setattr(_outputs, "POOL_MIN_BYTES", 64 << 10)
    monkeypatch.setattr(_outputs, "POOL_MAX_BYTES", 4 << 20)
    monkeypatch.setattr(_outputs, "ENABLED", True)
    suite.release_memory()
    yield
    suite.release_memory()


def data(tag):
    return seeded_rng("outputs", tag).standard_normal(SHAPE).astype(np.float32)


def expected(x):
    return np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)


def test_a_dropped_result_is_reused_with_fresh_values():
    x1, x2 = data(1), data(2)
    y = suite.upsample(x1, scale_factor=2)
    assert y.base is not None and _outputs.kept_bytes() == y.nbytes
    address = y.ctypes.data
    del y
    y2 = suite.upsample(x2, scale_factor=2)
    assert y2.ctypes.data == address
    np.testing.assert_array_equal(y2, expected(x2))


@pytest.mark.parametrize("hold", ["result", "view", "transpose", "memoryview"])
def test_a_referenced_result_is_never_handed_out(hold):
    x1, x2 = data(1), data(2)
    y = suite.upsample(x1, scale_factor=2)
    held = {"result": lambda a: a, "view": lambda a: a[1:, ::2],
            "transpose": lambda a: a.T, "memoryview": memoryview}[hold](y)
    del y
    y2 = suite.upsample(x2, scale_factor=2)
    kept = np.asarray(held)
    assert not np.shares_memory(kept, y2)
    want = {"result": expected(x1), "view": expected(x1)[1:, ::2],
            "transpose": expected(x1).T, "memoryview": expected(x1)}[hold]
    np.testing.assert_array_equal(kept, want)
    np.testing.assert_array_equal(y2, expected(x2))


def test_every_kind_of_output_takes_the_pool():
    rng = seeded_rng("outputs", "kinds")
    x = rng.standard_normal((1, 16, 40, 40)).astype(np.float32)
    w = rng.standard_normal((16, 8, 4, 4)).astype(np.float32)
    wc = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    for _ in range(2):  # the second round reuses the first's blocks
        y = suite.deconv2d(x, w, stride=2, padding=1)
        np.testing.assert_allclose(y, R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                                                 stride=2, padding=1), rtol=1e-4, atol=1e-4)
        z = suite.upsample_conv2d(x, wc, scale_factor=2, padding=1)
        np.testing.assert_allclose(
            z, R.conv2d(expected(x).astype(np.float64), wc.astype(np.float64), padding=1),
            rtol=1e-4, atol=1e-4)
        assert y.base is not None and z.base is not None
        assert not np.shares_memory(y, z)
        del y, z


def test_concurrent_calls_get_distinct_memory():
    inputs = [data(i) for i in range(6)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda x: suite.upsample(x, scale_factor=2, num_threads=1),
                                inputs))
    for i, (x, y) in enumerate(zip(inputs, results)):
        np.testing.assert_array_equal(y, expected(x))
        for other in results[i + 1:]:
            assert not np.shares_memory(y, other)


def test_the_pool_stays_within_its_bytes_and_gives_them_back():
    held = [suite.upsample(data(i), scale_factor=2) for i in range(20)]   # 20 x 400 KiB
    assert _outputs.kept_bytes() <= _outputs.POOL_MAX_BYTES
    for x_tag, y in enumerate(held):
        np.testing.assert_array_equal(y, expected(data(x_tag)))
    del held
    suite.release_memory()
    assert _outputs.kept_bytes() == 0


def test_blocks_nobody_uses_make_room_for_another_size():
    """Past the pool's bytes, free blocks are dropped to make room (found by identity: the
    arrays themselves are never compared, which for blocks of other sizes would raise),
    blocks in use stay, and every result keeps its own memory and values."""
    rng = seeded_rng("outputs", "room")
    a_in = data(1)                                                  # 400 KiB out, held
    b_in = rng.standard_normal((2, 8, 40, 80)).astype(np.float32)   # 800 KiB out, dropped
    c_in = rng.standard_normal((2, 8, 110, 110)).astype(np.float32)  # 3.0 MiB out
    held = suite.upsample(a_in, scale_factor=2)
    dropped = suite.upsample(b_in, scale_factor=2)
    assert _outputs.kept_bytes() == held.nbytes + dropped.nbytes
    del dropped
    big = suite.upsample(c_in, scale_factor=2)     # room made by dropping the free block
    assert _outputs.kept_bytes() == held.nbytes + big.nbytes <= _outputs.POOL_MAX_BYTES
    assert not np.shares_memory(held, big)
    np.testing.assert_array_equal(held, expected(a_in))
    np.testing.assert_array_equal(big, expected(c_in))


def test_small_outputs_and_the_switch_bypass_the_pool(monkeypatch):
    small = suite.upsample(data(1)[:, :1, :8, :8], scale_factor=2)
    assert small.base is None and _outputs.kept_bytes() == 0
    monkeypatch.setattr(_outputs, "ENABLED", False)
    y = suite.upsample(data(1), scale_factor=2)
    assert y.base is None and _outputs.kept_bytes() == 0
    np.testing.assert_array_equal(y, expected(data(1)))


SWITCH_SCRIPT = """
import numpy as np, suite
y = suite.upsample(np.ones((2, 8, 40, 40), np.float32), scale_factor=2)
print(y.base is None, suite._outputs.kept_bytes())
"""


@pytest.mark.parametrize("value, pooled", [("0", False), ("1", True)])
def test_the_environment_switch(value, pooled):
    # read when suite is imported: a fresh process with SUITE_OUTPUT_POOL set
    env = dict(os.environ, SUITE_OUTPUT_POOL=value)
    out = subprocess.run([sys.executable, "-c", SWITCH_SCRIPT], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert out == ([str(not pooled), str(400 * 1024) if pooled else "0"])


@pytest.mark.parametrize("kind", ["deconv2d", "upsample_conv2d"])
def test_packed_weights_from_the_pool_stay_with_their_layer(kind):
    """A layer's prepared weights (phase, collapsed: 256 KiB here) come from the pool and
    stay the layer's while it lives: function calls packing other weights of the same size
    get other blocks, and the layer's results stay right."""
    rng = seeded_rng("outputs", "prepared", kind)
    x = rng.standard_normal((1, 64, 6, 6)).astype(np.float32)
    before = _outputs.kept_bytes()
    if kind == "deconv2d":
        weights = [rng.standard_normal((64, 64, 4, 4)).astype(np.float32) for _ in range(3)]
        layer = suite.Deconv2d(weights[0], stride=2, padding=1, algorithm="phase")
        call = lambda w: suite.deconv2d(x, w, stride=2, padding=1, algorithm="phase")
        want = lambda w: R.deconv2d(x.astype(np.float64), w.astype(np.float64), stride=2,
                                    padding=1)
    else:
        weights = [rng.standard_normal((64, 64, 3, 3)).astype(np.float32) for _ in range(3)]
        layer = suite.UpsampleConv2d(weights[0], scale_factor=2, padding=1,
                                     algorithm="collapsed")
        call = lambda w: suite.upsample_conv2d(x, w, scale_factor=2, padding=1,
                                               algorithm="collapsed")
        want = lambda w: R.conv2d(expected(x).astype(np.float64), w.astype(np.float64),
                                  padding=1)
    first = layer(x)
    assert _outputs.kept_bytes() > before       # the packed weights and the output
    for w in weights[1:]:
        np.testing.assert_allclose(call(w), want(w), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer(x), want(weights[0]), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(layer(x), first)
