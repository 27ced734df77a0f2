"""The layer catalogue (suite/catalogue.py) and the peer comparison script (suite/compare.py)."""

import csv
import dataclasses
import math
import os

import numpy as np
import pytest

from conftest import load_suite, peer_installed

suite = load_suite()
catalogue = pytest.importorskip("suite.bench.catalogue")

LAYER_IDS = [layer.name for layer in catalogue.LAYERS]


def test_table_order_and_names():
    names = [layer.name for layer in catalogue.LAYERS]
    assert names[:13] == [
        "dcgan-g2", "dcgan-g4", "dcgan-out", "fcn32s-up", "fcn8s-up2", "fcn8s-up8",
        "unet-up1", "unet-up3", "erfnet-up", "fsrcnn-x3", "stylegan-up", "fpn-p4",
        "yolov3-up"]
    assert len(set(names)) == len(names)
    assert catalogue.DECONV_LAYERS == tuple(l for l in catalogue.LAYERS if l.has_deconv)
    assert {l.name for l in catalogue.LAYERS if not l.has_deconv} == {
        "fpn-p4", "yolov3-up", "yolov3-up2"}


def test_layer_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.get_layer("dcgan-g2").batch = 1


@pytest.mark.parametrize("layer", catalogue.LAYERS, ids=LAYER_IDS)
def test_counterparts_match_the_deconvolution(layer):
    assert layer.counterparts
    for kind in layer.counterparts:
        assert layer.counterpart_output_shape(kind) == layer.output_shape, kind
    n, c_out, h_out, w_out = layer.output_shape
    assert (n, h_out, w_out) == (layer.batch, layer.height * layer.scale_factor,
                                 layer.width * layer.scale_factor)
    assert c_out == layer.out_channels
    assert layer.conv_after_upsample_weight_shape == (layer.out_channels,
                                                      layer.in_channels, 3, 3)


@pytest.mark.parametrize("layer", catalogue.DECONV_LAYERS,
                         ids=[l.name for l in catalogue.DECONV_LAYERS])
def test_deconv_shapes_agree_with_the_package(layer):
    assert suite.deconv2d_output_shape(layer.input_shape, layer.weight_shape,
                                       **layer.deconv_kwargs) == layer.output_shape
    assert layer.weight_shape == (layer.in_channels, layer.out_channels // layer.groups,
                                  layer.kernel, layer.kernel)


@pytest.mark.parametrize("name, in_hw, out_hw", [
    ("fcn32s-up", (16, 16), (512, 512)),
    ("fcn8s-up8", (64, 64), (512, 512)),
    ("fsrcnn-x3", (96, 96), (288, 288)),
    ("erfnet-up", (64, 128), (128, 256)),
    ("dcgan-g2", (4, 4), (8, 8)),
    ("unet-up3", (128, 128), (256, 256)),
    ("fpn-p4", (32, 32), (64, 64)),
    ("yolov3-up", (13, 13), (26, 26)),
])
def test_known_geometry(name, in_hw, out_hw):
    layer = catalogue.get_layer(name)
    assert layer.input_shape[2:] == in_hw
    assert layer.output_shape[2:] == out_hw


def test_no_deconv_layers():
    for name in ("fpn-p4", "yolov3-up", "yolov3-up2"):
        layer = catalogue.get_layer(name)
        assert not layer.has_deconv
        assert layer.weight_shape is None and layer.deconv_kwargs is None
        assert layer.deconv_flops == 0 and layer.parameters == 0
        x, w, b = layer.make_inputs(np.float32)
        assert x.shape == layer.input_shape and w is None and b is None
    assert catalogue.get_layer("fpn-p4").counterparts == ("nearest+add",)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layer", catalogue.DECONV_LAYERS,
                         ids=[l.name for l in catalogue.DECONV_LAYERS])
def test_make_inputs(layer, dtype):
    x, w, b = layer.make_inputs(dtype, seed=3)
    assert x.shape == layer.input_shape and w.shape == layer.weight_shape
    for a in (x, w) + ((b,) if b is not None else ()):
        assert a.dtype == dtype and a.flags.c_contiguous and np.all(np.isfinite(a))
    if layer.bilinear_filler:
        assert b is None and layer.bias_shape is None
    else:
        assert b.shape == (layer.out_channels,) == layer.bias_shape
        # 1/sqrt(fan_in) scaling
        fan_in = max(1.0, layer.in_channels / layer.groups * layer.kernel ** 2
                     / layer.stride ** 2)
        assert abs(float(np.std(w.astype(np.float64))) * math.sqrt(fan_in) - 1) < 0.2
    # deterministic, seed-dependent, and float32 == float64 rounded
    x2, w2, b2 = layer.make_inputs(dtype, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(w, w2)
    assert not np.array_equal(x, layer.make_inputs(dtype, seed=4)[0])
    x64 = layer.make_inputs(np.float64, seed=3)[0]
    assert np.array_equal(x, x64.astype(dtype))


def test_layers_get_different_data():
    a = catalogue.get_layer("dcgan-g4").make_inputs(np.float32)[0]
    b = catalogue.get_layer("stylegan-up").make_inputs(np.float32)[0]
    assert not np.array_equal(a.ravel()[:100], b.ravel()[:100])


def test_bilinear_filler_is_bilinear_upsampling_in_the_interior():
    for name in ("fcn8s-up2", "fcn8s-up8", "fcn32s-up"):
        layer = catalogue.get_layer(name)
        x, w, b = layer.make_inputs(np.float64)
        y = suite.deconv2d(x, w, b, **layer.deconv_kwargs)
        up = suite.upsample(x, scale_factor=layer.scale_factor, mode="bilinear")
        s = layer.scale_factor
        assert y.shape == up.shape
        np.testing.assert_allclose(y[..., s:-s, s:-s], up[..., s:-s, s:-s], atol=1e-12)
    w = catalogue.get_layer("fcn8s-up2").make_inputs(np.float32)[1]
    off_diagonal = w.copy()
    off_diagonal[np.arange(21), np.arange(21)] = 0
    assert not off_diagonal.any()


def test_make_counterpart_inputs():
    layer = catalogue.get_layer("unet-up1")
    d = layer.make_counterpart_inputs(np.float32, seed=1)
    assert d["conv_weight"].shape == layer.conv_after_upsample_weight_shape
    assert d["conv_bias"].shape == (layer.out_channels,)
    assert d["skip"].shape == layer.upsample_output_shape
    assert np.array_equal(d["x"], layer.make_inputs(np.float32, seed=1)[0])
    assert all(v.dtype == np.float32 for v in d.values())
    with pytest.raises(TypeError, match="float32 or float64"):
        layer.make_inputs(np.int32)


def test_get_layer_errors():
    assert catalogue.get_layer("fsrcnn-x3").kernel == 9
    for bad in ("dcgan", "DCGAN-G2", "", None, 3):
        with pytest.raises(ValueError, match="valid names: dcgan-g2, dcgan-g4"):
            catalogue.get_layer(bad)


def test_select_layers():
    assert [l.name for l in catalogue.select_layers("^fcn")] == [
        "fcn32s-up", "fcn8s-up2", "fcn8s-up8"]
    assert catalogue.select_layers(None) == catalogue.LAYERS


def test_layer_validation():
    with pytest.raises(ValueError, match="unknown counterpart"):
        catalogue.Layer("x", "", 1, 2, 2, 4, 4, 4, 2, 1, counterparts=("bicubic",))
    with pytest.raises(ValueError, match="go together"):
        catalogue.Layer("x", "", 1, 2, 2, 4, 4, 4, None, 1, counterparts=("nearest",))
    with pytest.raises(ValueError, match="groups"):
        catalogue.Layer("x", "", 1, 3, 2, 4, 4, 4, 2, 1, groups=2, counterparts=("nearest",))


# ----------------------------------------------------------------------------------------
# suite.bench.compare
# ----------------------------------------------------------------------------------------

def test_compare_smoke(tmp_path, capsys):
    compare = pytest.importorskip("suite.bench.compare")
    path = tmp_path / "out.csv"
    rc = compare.main(["--layers", "^(fcn8s-up2|yolov3-up)$", "--repeats", "1",
                       "--min-time", "0.0005", "--threads", "1", "--copy-mib", "4",
                       "--csv", str(path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "deconvolution, float32" in out and "nearest x2" in out and "bilinear x2" in out
    assert "geomean" in out and "MISMATCH" not in out
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    sections = {r["section"] for r in rows}
    assert sections == {"copy", "deconv", "nearest", "bilinear"}
    cases = {(r["section"], r["case"]) for r in rows if r["section"] != "copy"}
    assert cases == {("deconv", "fcn8s-up2"), ("nearest", "yolov3-up"),
                     ("bilinear", "yolov3-up")}
    ours = [r for r in rows if r["contestant"] in ("suite", "suite-auto")]
    assert len(ours) == 3 and all(float(r["median_s"]) > 0 for r in ours)
    assert all(r["ratio"] == "1" for r in ours)
    peers = {"torch": peer_installed("torch"), "torch-im2col": peer_installed("torch"),
             "cv2-nhwc": peer_installed("cv2"),
             **{e: peer_installed(e) for e in ("onnxruntime", "openvino")}}
    for r in rows:
        if r["contestant"] in peers:
            if peers[r["contestant"]]:
                assert r["status"] == "ok" and r["check"] == "ok", r
                assert float(r["ratio"]) > 0
            else:
                assert r["status"].startswith("not installed"), r


def test_compare_fused_section_with_the_engines(tmp_path):
    """The fused section times the engines' two-node graphs, checked against suite's."""
    compare = pytest.importorskip("suite.bench.compare")
    path = tmp_path / "fused.csv"
    assert compare.main(["--layers", "^dcgan-out$", "--sections", "fused", "--repeats", "1",
                         "--min-time", "0", "--threads", "1", "--copy-mib", "1",
                         "--csv", str(path)]) == 0
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["section"] == "fused"]
    assert {r["case"] for r in rows} == {"dcgan-out:nearest", "dcgan-out:bilinear"}
    for engine in ("onnxruntime", "openvino"):
        mine = [r for r in rows if r["contestant"] == engine]
        assert len(mine) == 2
        for r in mine:
            if peer_installed(engine):
                assert (r["status"], r["check"]) == ("ok", "ok"), r
            else:
                assert r["status"].startswith("not installed"), r


def test_compare_missing_peer(monkeypatch, capsys):
    compare = pytest.importorskip("suite.bench.compare")
    real = compare._import_peer
    monkeypatch.setattr(compare, "_import_peer",
                        lambda name: (None, "not installed (test)") if name == "torch"
                        else real(name))
    assert compare.main(["--layers", "^yolov3-up$", "--sections", "nearest",
                         "--repeats", "1", "--min-time", "0", "--threads", "1",
                         "--copy-mib", "1", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "not installed" in out and "nearest x2, float64" in out
    for engine in ("onnxruntime", "openvino"):
        if peer_installed(engine):   # the engines are measured in float32 only
            assert f"{engine}: unsupported: measured in float32 only" in out


def test_compare_bad_arguments():
    compare = pytest.importorskip("suite.bench.compare")
    with pytest.raises(SystemExit):
        compare.main(["--threads", "0"])
    with pytest.raises(SystemExit):
        compare.main(["--sections", "bicubic"])


def test_compare_memory_section(capsys):
    # Fresh processes per contestant; the unfused pair must show at least its upsampled
    # map (2 MiB for DCGAN-G2's counterpart), which proves the measurement sees the call.
    compare = pytest.importorskip("suite.bench.compare")
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("the memory section reads Linux's /proc/self/status")
    assert compare.main(["--layers", "^dcgan-g2$", "--sections", "memory",
                         "--threads", "1", "--copy-mib", "1", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "peak memory of one call" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("dcgan-g2:")]
    assert [r[0] for r in rows] == ["dcgan-g2:nearest", "dcgan-g2:bilinear"]
    for row in rows:
        output, intermediate, fused, unfused = (float(v) for v in row[1:5])
        assert (output, intermediate) == (1.0, 2.0)
        # the unfused pair holds the map and its output; the banded bilinear kernel less
        # than the pair (no map). Nearest x2 + 3x3 runs Winograd, whose transformed weights
        # (9/4 of a 4.5 MiB weight, in passes) can outweigh the 2 MiB map itself.
        assert unfused >= intermediate + output
        if row[0].endswith("bilinear"):
            assert fused < unfused
        if peer_installed("torch"):
            assert row[5] != "n/a"


def test_compare_lets_a_spinning_engine_settle_before_the_next_sample(monkeypatch):
    """After each sample of a contestant with ``settle`` (ONNX Runtime, whose idle threads
    spin on after its call), the round-robin waits that long before the next contestant."""
    from suite.bench import compare, peers

    events = []
    monkeypatch.setattr(compare.time, "sleep", lambda s: events.append(("sleep", s)))
    quiet = compare.Contestant("quiet", lambda: events.append("quiet") or np.zeros(3))
    spinning = compare.Contestant("spinning", lambda: events.append("spinning") or np.zeros(3),
                                  settle=0.25)
    compare.run_case([quiet, spinning], repeats=2, min_time=0.0, tol=0.0)
    timed = events[events.index(("sleep", 0.25)) - 1:]
    assert timed[0] == "spinning" and timed[1] == ("sleep", 0.25)
    assert events.count(("sleep", 0.25)) == 2          # once after each of its samples
    assert all(e != ("sleep", 0.0) for e in events)
    found = {engine: (object(), None) for engine in peers.ENGINES}
    built = compare.engine_contestants(found, peers.ENGINE_DTYPE, lambda engine: lambda: 0)
    assert {c.name: c.settle for c in built} == peers.ENGINE_SETTLE_SECONDS
    assert peers.ENGINE_SETTLE_SECONDS["onnxruntime"] > 0
