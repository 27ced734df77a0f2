"""The peers as the tools prepare them (suite.bench.peers): each computes the same layer as
suite's reference, so a comparison times like against like. Skipped without the peer (make
peers installs them); CI requires them."""

import numpy as np
import pytest
from conftest import assert_close, randn, require_module, seeded_rng

import suite.reference as R
from suite.bench import peers

f32 = np.float32
f64 = np.float64

ENGINES = peers.ENGINES

DECONVS = [
    ((2, 6, 7, 5), (6, 4, 4, 4), dict(stride=2, padding=1)),
    ((1, 6, 9, 4), (6, 3, 3, 5), dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0))),
    ((3, 8, 5, 6), (8, 2, 3, 3), dict(stride=2, padding=1, groups=4, dilation=2)),
    ((1, 3, 4, 4), (3, 1, 16, 16), dict(stride=8, padding=4, groups=3)),
    ((1, 5, 6, 6), (5, 2, 1, 1), dict()),
]


def _f64(*arrays):
    return [None if a is None else a.astype(f64) for a in arrays]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape, w_shape, geometry", DECONVS)
def test_engine_deconv2d_is_the_definition(engine, x_shape, w_shape, geometry, bias):
    require_module(engine)
    rng = seeded_rng("peers", engine, "deconv", x_shape, bias)
    x, w = randn(rng, x_shape, f32), randn(rng, w_shape, f32)
    b = randn(rng, (w_shape[1] * geometry.get("groups", 1),), f32) if bias else None
    got = peers.engine_deconv2d(engine, x, w, b, 2, **geometry)()
    assert_close(got, R.deconv2d(*_f64(x, w, b), **geometry), f32)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("scale, shape", [(2, (2, 3, 7, 5)), (3, (1, 3, 5, 7)),
                                          (1.5, (1, 2, 10, 6)), (2.5, (2, 2, 6, 8))])
def test_engine_resize_is_pytorchs_interpolate(engine, mode, scale, shape):
    # fractional scales where the scaled sizes are whole numbers (the sweep's maps)
    require_module(engine)
    x = randn(seeded_rng("peers", engine, "resize", mode, scale), shape, f32)
    got = peers.engine_counterpart(engine, mode, scale, 1, x)()
    kwargs = dict(align_corners=False) if mode == "bilinear" else {}
    expected = R.upsample(x.astype(f64), scale_factor=scale, mode=mode, **kwargs)
    if mode == "nearest":
        np.testing.assert_array_equal(got, expected.astype(f32))
    else:
        assert_close(got, expected, f32)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("scale, shape", [(2, (2, 5, 7, 3)), (3, (1, 3, 4, 9))])
def test_engine_fused_graphs_are_the_definition(engine, mode, scale, shape):
    """Resize then a 3x3 Conv (padding 1), and Resize then Add: the catalogue's "+conv3x3"
    and "+add" counterparts, against the reference's upsample, conv2d and sum."""
    require_module(engine)
    rng = seeded_rng("peers", engine, "fused", mode, scale, shape)
    n, c, h, w = shape
    x = randn(rng, shape, f32)
    cw, cb = randn(rng, (c + 2, c, 3, 3), f32), randn(rng, (c + 2,), f32)
    skip = randn(rng, (n, c, scale * h, scale * w), f32)
    kwargs = dict(align_corners=False) if mode == "bilinear" else {}
    up = R.upsample(x.astype(f64), scale_factor=scale, mode=mode, **kwargs)
    got = peers.engine_counterpart(engine, f"{mode}+conv3x3", scale, 2, x, cw, cb)()
    # a sum of 9 * C_in products: float32 rounding grows with the size of the terms
    terms = R.conv2d(np.abs(up), np.abs(cw.astype(f64)), np.abs(cb.astype(f64)), padding=1)
    assert_close(got, R.conv2d(up, *_f64(cw, cb), padding=1), f32, scale=float(terms.max()))
    got = peers.engine_counterpart(engine, f"{mode}+add", scale, 1, x, skip=skip)()
    assert_close(got, up + skip, f32)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scale, mode, kernel, bias", [(2, "nearest", 5, True),
                                                       (1.5, "bilinear", 3, False),
                                                       (3, "nearest", 1, True)])
def test_engine_upsample_conv2d_is_the_definition(engine, scale, mode, kernel, bias):
    """Resize then Conv of any kernel, "same" padding, with or without a bias (the
    sweep's upsample + convolution)."""
    require_module(engine)
    rng = seeded_rng("peers", engine, "upconv", scale, mode, kernel)
    x = randn(rng, (2, 3, 6, 4), f32)
    w = randn(rng, (5, 3, kernel, kernel), f32)
    b = randn(rng, (5,), f32) if bias else None
    got = peers.engine_upsample_conv2d(engine, x, w, b, scale, mode, kernel // 2, 1)()
    kwargs = dict(align_corners=False) if mode == "bilinear" else {}
    up = R.upsample(x.astype(f64), scale_factor=scale, mode=mode, **kwargs)
    terms = R.conv2d(np.abs(up), np.abs(w.astype(f64)), padding=kernel // 2)
    assert_close(got, R.conv2d(up, *_f64(w, b), padding=kernel // 2), f32,
                 scale=max(1.0, float(terms.max())))


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_call_outlives_its_inputs(engine):
    """The prepared call keeps its inputs alive: the caller may drop its arrays (the asv
    benchmarks' setup does), and memory allocated afterwards does not change the result."""
    require_module(engine)
    rng = seeded_rng("peers", engine, "lifetime")
    x = randn(rng, (2, 8, 33, 17), f32)
    skip = randn(rng, (2, 8, 66, 34), f32)
    run = peers.engine_counterpart(engine, "nearest+add", 2, 1, x.copy(), skip=skip.copy())
    filler = [np.full(a.shape, np.nan, f32) for a in (x, skip) for _ in range(4)]
    assert_close(run(), R.upsample(x.astype(f64), scale_factor=2) + skip, f32)
    assert all(np.isnan(a).all() for a in filler)


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_refuse_float64(engine):
    """Measured in float32 only: ONNX Runtime has no float64 kernel for these nodes and
    OpenVINO's CPU plugin would compute float64 in float32 without saying so."""
    require_module(engine)
    x = randn(seeded_rng("peers", engine, "f64"), (1, 2, 3, 3), f64)
    with pytest.raises(TypeError, match="float32 only"):
        peers.engine_counterpart(engine, "nearest", 2, 1, x)
    with pytest.raises(TypeError, match="float32 only"):
        peers.engine_deconv2d(engine, x.astype(f32), x[:, :, :2, :2].copy(), None, 1)


def test_openvino_config_takes_effect():
    """The properties peers.openvino_config sets are the compiled model's (names the
    installed OpenVINO knows, values it keeps). One thread: OpenVINO caps the count at the
    machine's cores, and its default is all of them."""
    ov = require_module("openvino")
    onnx = require_module("onnx")
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(f32))
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                              [helper.make_tensor_value_info("x", elem, [1, 2, 3, 3])],
                              [helper.make_tensor_value_info("y", elem, [1, 2, 3, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", peers.ONNX_OPSET)])
    core = ov.Core()
    config = peers.openvino_config(1)
    compiled = core.compile_model(core.read_model(model.SerializeToString()), "CPU", config)
    assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
    assert compiled.get_property("NUM_STREAMS") == 1
    assert compiled.get_property("ENABLE_CPU_PINNING") is False
    assert str(compiled.get_property("PERFORMANCE_HINT")).endswith("LATENCY")
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32


def test_bad_engine_arguments():
    x = np.ones((1, 1, 2, 2), dtype=f32)
    with pytest.raises(ValueError, match="kind must be"):
        peers.engine_counterpart("onnxruntime", "bicubic", 2, 1, x)
    with pytest.raises(ValueError, match="unknown engine 'tensorrt'"):
        peers.engine_counterpart("tensorrt", "nearest", 2, 1, x)


def test_unknown_or_missing_peer():
    with pytest.raises(ValueError, match="unknown peer"):
        peers.import_peer("tensorflow")
    assert issubclass(peers.PeerUnavailable, NotImplementedError)   # asv's skip
    error = peers.PeerUnavailable("cv2", "not installed (test)")
    assert error.reason == "not installed (test)" and "cv2 is not installed" in str(error)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("scale, shape", [(2, (2, 5, 7, 6)), (1.5, (1, 3, 8, 6)),
                                          (2.5, (1, 4, 6, 4)), (1.25, (2, 2, 8, 12))])
def test_cv2_resize_is_pytorchs_interpolate(mode, scale, shape):
    # fractional scales where the scaled sizes are whole numbers (the sweep's maps)
    cv2 = require_module("cv2")
    x = randn(seeded_rng("peers", "cv2-resize", mode, scale), shape, f32)
    resize, to_nchw = peers.cv2_resize(cv2, x, scale, mode)
    got = to_nchw(resize())
    kwargs = dict(align_corners=False) if mode == "bilinear" else {}
    expected = R.upsample(x.astype(np.float64), scale_factor=scale, mode=mode, **kwargs)
    assert_close(got, expected, f32, tol=1e-4 if mode == "bilinear" else 0.0)


@pytest.mark.parametrize("scale, mode, kernel", [(2, "nearest", 3), (1.5, "bilinear", 5),
                                                 (3, "nearest", 1)])
def test_torch_upsample_conv2d_is_the_definition(scale, mode, kernel):
    torch = require_module("torch")
    rng = seeded_rng("peers", "torch-upconv", scale, mode, kernel)
    x = randn(rng, (2, 3, 6, 4), np.float64)
    w, b = randn(rng, (5, 3, kernel, kernel), np.float64), randn(rng, (5,), np.float64)
    got = peers.torch_upsample_conv2d(torch, x, w, b, scale, mode, kernel // 2)().numpy()
    kwargs = dict(align_corners=False) if mode == "bilinear" else {}
    expected = R.conv2d(R.upsample(x, scale_factor=scale, mode=mode, **kwargs), w, b,
                        padding=kernel // 2)
    assert_close(got, expected, np.float64)


def test_a_peer_output_is_checked_against_suites():
    """``peers.check_output``: within CHECK_TOLERANCE of suite's largest magnitude passes;
    a larger error, a NaN or another shape raises, naming the case."""
    from suite.bench import peers

    rng = np.random.default_rng()
    expected = rng.standard_normal((2, 3, 5, 7)).astype(np.float32) * 10
    peers.check_output(expected + np.float32(1e-4), expected, "close")
    for wrong in (expected * 1.01, np.where(expected > 0, np.nan, expected),
                  expected[..., :6]):
        with pytest.raises(ValueError, match="case x"):
            peers.check_output(wrong, expected, "case x")
    assert peers.relative_error(expected, expected) == 0.0


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_deconv_stack_is_the_layers_in_a_row(engine):
    require_module(engine)
    rng = seeded_rng("peers", engine, "stack")
    x = randn(rng, (2, 5, 3, 3), f32)
    w0, b0 = randn(rng, (5, 4, 4, 4), f32), randn(rng, (4,), f32)
    w1 = randn(rng, (4, 2, 3, 3), f32)
    layers = [(w0, b0, 2, 1, "relu"), (w1, None, 1, 0, "tanh")]
    got = peers.engine_deconv_stack(engine, x, layers, 1)()
    h = np.maximum(R.deconv2d(*_f64(x, w0, b0), stride=2, padding=1), 0)
    assert_close(got, np.tanh(R.deconv2d(h, w1.astype(f64))), f32)
    with pytest.raises(ValueError, match="activation"):
        peers.engine_deconv_stack(engine, x, [(w0, b0, 2, 1, "gelu")], 1)
