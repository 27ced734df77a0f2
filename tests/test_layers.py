"""The layer objects suite.Deconv2d and suite.UpsampleConv2d against the functions (bit for
bit: the same plans) and the reference, on the sweeps of conftest (odd sizes, groups,
dilation, output padding, every method, both dtypes, 1 and 2 threads), and their handling
of the weights they are given (copied once, never modified)."""

import threading

import numpy as np
import pytest

from conftest import (DTYPE_IDS, DTYPES, Deconv, UpConv, assert_close, deconv_configs,
                      load_reference, load_suite, randn, seeded_rng, upconv_configs)

suite = load_suite()
R = load_reference()

DECONV = deconv_configs(n_random=12)
DECONV_IDS = [c.id for c in DECONV]
UPCONV = [c for c in upconv_configs(n_random=12) if c.N > 0] + [UpConv(0, 3, 4, 5, 6, 3, 2, p=1)]
UPCONV_IDS = [c.id for c in UPCONV]

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
threads = pytest.mark.parametrize("num_threads", [1, 2])


def f64(*arrays):
    return [None if a is None else a.astype(np.float64) for a in arrays]


def upconv_applies(cfg, algorithm):
    return {"winograd": cfg.winograd, "collapsed": cfg.collapsed}.get(algorithm, True)


def measured_method(layer_name, x_shape):
    """The method the wisdom recorded for a layer measured on an input of x_shape; "auto"
    when nothing was measured (no image, or one method applies), which then ran."""
    found = [e["algorithm"] for key, e in suite.wisdom.entries().items()
             if key.startswith(layer_name + " ") and f"x={'x'.join(map(str, x_shape))} " in key]
    assert len(found) <= 1, suite.wisdom.entries()
    return found[0] if found else "auto"


# ----------------------------------------------------------------------------------------
# Deconv2d
# ----------------------------------------------------------------------------------------

@threads
@pytest.mark.parametrize("algorithm", suite.DECONV_ALGORITHMS)
@dtypes
@pytest.mark.parametrize("cfg", DECONV, ids=DECONV_IDS)
def test_deconv2d_layer_is_the_function(cfg, dtype, algorithm, num_threads):
    x, w, b = cfg.data(dtype)
    layer = suite.Deconv2d(w, b, **cfg.kwargs, algorithm=algorithm, num_threads=num_threads)
    assert_layer_is_the_function(
        layer, x, cfg.y_shape, R.deconv2d(*f64(x, w, b), **cfg.kwargs), algorithm,
        lambda method: suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=method,
                                      num_threads=num_threads))


def assert_layer_is_the_function(layer, x, shape, reference, algorithm, function):
    """layer(x) is close to the reference, and equal to the function (``function(method)``)
    with the method the layer ran, bit for bit, also into out= from the kept plan."""
    y = layer(x)
    assert y.shape == shape and y.dtype == x.dtype and y.flags.c_contiguous
    assert_close(y, reference, x.dtype)
    name = type(layer).__name__
    if algorithm == "measure":
        method = measured_method(name, x.shape)
    elif algorithm == "auto":
        # the layer's rule knows its weights are prepared (a collapsed kernel's pack is not
        # paid per call), so it may choose otherwise than the function's: the method it ran
        (method,) = {plan.algorithm for plan in layer._plans.values()}
    else:
        method = algorithm
    expected = function(method)
    np.testing.assert_array_equal(y, expected)
    out = np.full(shape, np.nan, x.dtype)
    assert layer(x, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_measure_with_nothing_to_choose_records_nothing():
    # one image of a layer where only col2im, phase and direct apply: measured; no image:
    # nothing to time, the rule runs and the wisdom stays empty
    cfg = DECONV[4]
    x, w, b = cfg.data(np.float32)
    layer = suite.Deconv2d(w, b, **cfg.kwargs, algorithm="measure")
    assert layer(x[:0]).shape == (0,) + cfg.y_shape[1:]
    assert suite.wisdom.entries() == {}
    layer(x)
    assert list(suite.wisdom.entries()) and all(
        k.startswith("Deconv2d ") for k in suite.wisdom.entries())


@pytest.mark.parametrize("x_shape, weight_shape, threads, function, layer", [
    # DCGAN-G2: 64 tiles a phase, too few for the function's per-call weight transform; a
    # layer keeps it
    ((16, 512, 4, 4), (512, 256, 4, 4), 1, "col2im", "winograd"),
    ((16, 512, 4, 4), (512, 256, 4, 4), 2, "col2im", "winograd"),
    # output channels enough, and not far fewer than the input channels
    ((1, 64, 14, 14), (64, 128, 4, 4), 2, "col2im", "winograd"),
    ((1, 96, 9, 7), (96, 64, 4, 4), 1, "col2im", "winograd"),
    # one thread, few tiles (35): shallow groups take Winograd, deep ones leave the
    # function's per-call weight transform to the layer
    ((4, 24, 8, 9), (24, 144, 4, 4), 1, "winograd", "winograd"),
    ((1, 192, 13, 9), (192, 384, 4, 4), 1, "col2im", "winograd"),
    # where the function takes Winograd (enough tiles, output channels at least half the
    # input channels), so does the layer
    ((16, 128, 16, 16), (128, 64, 4, 4), 2, "winograd", "winograd"),
    ((16, 64, 16, 16), (64, 32, 4, 4), 1, "winograd", "winograd"),
    # else few output channels, or far fewer than input channels: col2im (128 -> 16 on
    # 1,024 tiles: col2im 1.3-1.5x faster at one and two threads, function and layer)
    ((16, 128, 16, 16), (128, 16, 4, 4), 1, "col2im", "col2im"),
    ((1, 128, 14, 14), (128, 16, 4, 4), 1, "col2im", "col2im"),
    ((4, 512, 8, 8), (512, 96, 4, 4), 1, "col2im", "col2im"),
])
def test_deconv2d_layer_auto_knows_its_weights_are_prepared(x_shape, weight_shape, threads,
                                                            function, layer):
    # the function's rule (the tile count, the channels) and the layer's
    # (suite.choose_algorithm with prepared=True), through the plans each runs
    rng = seeded_rng("prepared-rule", x_shape, threads)
    x, w = randn(rng, x_shape, np.float32), randn(rng, weight_shape, np.float32)
    assert suite.choose_algorithm(x_shape, weight_shape, 2, num_threads=threads) == function
    assert suite.choose_algorithm(x_shape, weight_shape, 2, prepared=True,
                                  num_threads=threads) == layer
    deconv = suite.Deconv2d(w, stride=2, padding=1, num_threads=threads)
    y = deconv(x)
    (plan,) = deconv._plans.values()
    assert plan.algorithm == layer
    np.testing.assert_array_equal(y, suite.deconv2d(x, w, stride=2, padding=1,
                                                     algorithm=layer, num_threads=threads))


@pytest.mark.parametrize("algorithm", ["col2im", "phase", "winograd", "direct"])
def test_deconv2d_layer_plans_per_input_shape(algorithm):
    # several input shapes, odd sizes, both in turn: each its own plan, the prepared weights
    # shared where they depend only on the weight and the geometry
    rng = seeded_rng("shapes", algorithm)
    w, b = randn(rng, (6, 4, 4, 4), np.float64), randn(rng, (8,), np.float64)
    layer = suite.Deconv2d(w, b, stride=2, padding=1, groups=2, algorithm=algorithm)
    inputs = [randn(rng, shape, np.float64) for shape in
              [(1, 6, 5, 7), (3, 6, 2, 9), (2, 6, 11, 1)]]
    for _ in range(2):
        for x in inputs:
            expected = suite.deconv2d(x, w, b, stride=2, padding=1, groups=2,
                                      algorithm=algorithm)
            np.testing.assert_array_equal(layer(x), expected)
            assert_close(layer(x), R.deconv2d(x, w, b, stride=2, padding=1, groups=2))
    assert len(layer._plans) == 3 and len(layer._prepared) == 1


def test_deconv2d_layer_forgets_the_oldest_plans(monkeypatch):
    monkeypatch.setattr(importlib_layers(), "MAX_PLANS", 2)
    rng = seeded_rng("forget")
    w = randn(rng, (3, 2, 3, 3), np.float32)
    layer = suite.Deconv2d(w, stride=2)
    for h in (3, 4, 5, 3):
        x = randn(rng, (1, 3, h, 4), np.float32)
        np.testing.assert_array_equal(layer(x), suite.deconv2d(x, w, stride=2))
    assert [shape for shape, _ in layer._plans] == [(1, 3, 5, 4), (1, 3, 3, 4)]


def importlib_layers():
    import importlib
    return importlib.import_module("suite.layers")


# ----------------------------------------------------------------------------------------
# UpsampleConv2d
# ----------------------------------------------------------------------------------------

@threads
@pytest.mark.parametrize("algorithm", suite.UPSAMPLE_CONV_ALGORITHMS)
@dtypes
@pytest.mark.parametrize("cfg", UPCONV, ids=UPCONV_IDS)
def test_upsample_conv2d_layer_is_the_function(cfg, dtype, algorithm, num_threads):
    x, w, b = cfg.data(dtype)
    layer = suite.UpsampleConv2d(w, b, **cfg.kwargs, algorithm=algorithm,
                                 num_threads=num_threads)
    if not upconv_applies(cfg, algorithm):
        with pytest.raises(ValueError, match="algorithm"):
            layer(x)
        return
    assert_layer_is_the_function(
        layer, x, cfg.y_shape, R.upsample_conv2d(*f64(x, w, b), **cfg.kwargs), algorithm,
        lambda method: suite.upsample_conv2d(x, w, b, **cfg.kwargs, algorithm=method,
                                             num_threads=num_threads))


# ----------------------------------------------------------------------------------------
# the weights: copied once, never modified; the arguments checked when the layer is made
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make,call", [
    (lambda w, b: suite.Deconv2d(w, b, stride=2, padding=1, algorithm="phase"),
     lambda w, b, x: suite.deconv2d(x, w, b, stride=2, padding=1, algorithm="phase")),
    (lambda w, b: suite.UpsampleConv2d(w, b, padding=1, algorithm="collapsed"),
     lambda w, b, x: suite.upsample_conv2d(x, w, b, padding=1, algorithm="collapsed")),
], ids=["Deconv2d", "UpsampleConv2d"])
def test_layer_copies_its_weights(make, call):
    rng = seeded_rng("copies")
    w = randn(rng, (4, 4, 4, 4), np.float32)
    b = randn(rng, (4,), np.float32)
    x = randn(rng, (2, 4, 5, 3), np.float32)
    w_view = np.asfortranarray(w)[:, ::-1][:, ::-1]          # not C-contiguous
    before = (w_view.tobytes(), b.tobytes())
    layer = make(w_view, b)
    expected = call(w, b, x)
    np.testing.assert_array_equal(layer(x), expected)
    assert (w_view.tobytes(), b.tobytes()) == before        # the caller's arrays untouched
    w_view[...] = 0.0                                        # later changes do not reach it
    b[...] = 0.0
    np.testing.assert_array_equal(layer(x), expected)
    np.testing.assert_array_equal(layer.weight, w)
    assert layer.weight.flags.c_contiguous and not layer.weight.flags.writeable
    assert not layer.bias.flags.writeable and layer.bias.dtype == np.float32
    with pytest.raises(ValueError):
        layer.weight[0, 0, 0, 0] = 1.0


def test_layer_from_python_threads():
    # one layer, many threads, several input shapes at once: the serial results (a thread
    # count given: None would be each thread's own OpenMP limit, which earlier tests may
    # have changed in this one only)
    rng = seeded_rng("layer threads")
    w, b = randn(rng, (8, 6, 4, 4), np.float32), randn(rng, (6,), np.float32)
    layer = suite.Deconv2d(w, b, stride=2, padding=1, algorithm="measure", num_threads=2)
    inputs = [randn(rng, (n, 8, h, h), np.float32) for n, h in [(1, 5), (2, 8), (3, 3)]]
    results = {}
    errors = []

    def work(i):
        try:
            for _ in range(5):
                for x in inputs[i % 3:] + inputs[:i % 3]:
                    results.setdefault((i, x.shape), []).append(layer(x))
        except Exception as exc:        # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not errors
    for x in inputs:
        serial = layer(x)
        for (i, shape), got in results.items():
            if shape == x.shape:
                for y in got:
                    np.testing.assert_array_equal(y, serial)
    assert len(suite.wisdom.entries()) == 3            # each shape measured once


def test_deconv2d_layer_refuses_bad_input():
    rng = seeded_rng("bad layer input")
    layer = suite.Deconv2d(randn(rng, (4, 3, 3, 3), np.float32), stride=2)
    with pytest.raises(TypeError, match="x"):
        layer(randn(rng, (1, 4, 5, 5), np.float64))
    with pytest.raises(ValueError, match="weight"):
        layer(randn(rng, (1, 5, 5, 5), np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        layer(randn(rng, (4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="out"):
        layer(randn(rng, (1, 4, 5, 5), np.float32), out=np.empty((1, 3, 5, 5), np.float32))
    layer = suite.Deconv2d(randn(rng, (4, 3, 3, 3), np.float32), padding=3)
    with pytest.raises(ValueError, match="padding"):       # too large for this input only
        layer(randn(rng, (1, 4, 2, 2), np.float32))
    assert layer(randn(rng, (1, 4, 9, 9), np.float32)).shape == (1, 3, 5, 5)


def test_upsample_conv2d_layer_refuses_bad_input():
    rng = seeded_rng("bad upconv layer input")
    layer = suite.UpsampleConv2d(randn(rng, (6, 2, 3, 3), np.float64), groups=2, padding=1)
    with pytest.raises(TypeError, match="x"):
        layer(randn(rng, (1, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="channels"):
        layer(randn(rng, (1, 3, 5, 5), np.float64))
    assert layer(randn(rng, (2, 4, 5, 3), np.float64)).shape == (2, 6, 10, 6)


def test_deconv2d_layer_on_a_catalogue_sized_layer():
    # DCGAN's second block at batch 2, every method: the blocked and threaded paths
    cfg = Deconv(2, 64, 32, 8, 8, 4, s=2, p=1)
    x, w, b = cfg.data(np.float32)
    expected = R.deconv2d(*f64(x, w, b), **cfg.kwargs)
    for algorithm in ("col2im", "phase", "winograd"):
        layer = suite.Deconv2d(w, b, **cfg.kwargs, algorithm=algorithm, num_threads=2)
        y = layer(x)
        np.testing.assert_array_equal(
            y, suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=algorithm, num_threads=2))
        assert_close(y, expected, np.float32)
