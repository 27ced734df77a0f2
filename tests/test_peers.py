"""The peers as the tools prepare them (suite.bench.peers): each computes the same layer as
suite's reference, so a comparison times like against like. Skipped without the peer (make
peers installs them); CI requires them."""

import numpy as np
import pytest
from conftest import assert_close, randn, require_module, seeded_rng

import suite.reference as R
from suite.bench import peers

f32 = np.float32

DECONVS = [
    ((2, 6, 7, 5), (6, 4, 4, 4), dict(stride=2, padding=1)),
    ((1, 6, 9, 4), (6, 3, 3, 5), dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0))),
    ((3, 8, 5, 6), (8, 2, 3, 3), dict(stride=2, padding=1, groups=4, dilation=2)),
    ((1, 3, 4, 4), (3, 1, 16, 16), dict(stride=8, padding=4, groups=3)),
    ((1, 5, 6, 6), (5, 2, 1, 1), dict()),
]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape, w_shape, geometry", DECONVS)
def test_onnxruntime_deconv2d_is_the_definition(x_shape, w_shape, geometry, bias):
    require_module("onnxruntime")
    rng = seeded_rng("peers", "ort-deconv", x_shape, bias)
    x, w = randn(rng, x_shape, f32), randn(rng, w_shape, f32)
    b = randn(rng, (w_shape[1] * geometry.get("groups", 1),), f32) if bias else None
    got = peers.onnxruntime_deconv2d(x, w, b, 2, **geometry)()
    expected = R.deconv2d(x.astype(np.float64), w.astype(np.float64),
                          None if b is None else b.astype(np.float64), **geometry)
    assert_close(got, expected, f32)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("scale", [2, 3])
def test_onnxruntime_resize_is_pytorchs_interpolate(mode, scale):
    require_module("onnxruntime")
    x = randn(seeded_rng("peers", "ort-resize", mode, scale), (2, 3, 7, 5), f32)
    got = peers.onnxruntime_upsample(x, scale, mode, 1)()
    kwargs = dict(align_corners=False) if mode == "bilinear" else {}
    expected = R.upsample(x.astype(np.float64), scale_factor=scale, mode=mode, **kwargs)
    if mode == "nearest":
        np.testing.assert_array_equal(got, expected.astype(f32))
    else:
        assert_close(got, expected, f32)


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
