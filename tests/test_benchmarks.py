"""The asv suite (benchmarks/) runs: every benchmark body, once, on every parameter
combination of the profile, with the catalogue's layers shrunk to a few channels and pixels.

asv would only report a broken benchmark as "failed" in a campaign; here it fails CI. The
harness does what asv-runner does for one combination: ``setup(*params)`` (NotImplementedError
means "skipped"), the body, ``teardown``. The quick grid runs in-process; the full one
(float64, every layer, stride variants) on 60 combinations per class spread over the grid,
after re-importing the suite with SUITE_BENCH_PROFILE=full. ``asv check`` validates both.
"""

import dataclasses
import importlib
import inspect
import itertools
import math
import os
import pkgutil
import sys

import numpy as np
import pytest

from conftest import peer_installed, require_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import benchmarks  # noqa: E402
from benchmarks import common  # noqa: E402

KINDS = ("time_", "peakmem_", "track_")


def shrink(layer):
    """The same layer (kernel, stride, padding, groups, filler, counterparts) on a few
    channels and pixels; C_in == C_out stays equal, and unequal stays unequal."""
    c_in = min(layer.in_channels, 4)
    c_out = min(layer.out_channels, 4 if layer.in_channels == layer.out_channels else 3)
    groups = layer.groups
    if groups > 1:
        c_in = c_out = groups = 3
    return dataclasses.replace(layer, batch=min(layer.batch, 2), in_channels=c_in,
                               out_channels=c_out, groups=groups,
                               height=min(layer.height, 5), width=min(layer.width, 6))


def benchmark_modules():
    return [importlib.import_module(f"benchmarks.{m.name}")
            for m in pkgutil.iter_modules(benchmarks.__path__) if m.name != "common"]


def benchmark_classes(modules):
    """(class, [benchmark method names]) as asv discovers them."""
    found = []
    for module in modules:
        for name, cls in vars(module).items():
            if (name.startswith("_") or not inspect.isclass(cls) or inspect.isabstract(cls)
                    or cls.__module__ != module.__name__):
                continue
            methods = sorted(m for m in dir(cls) if m.startswith(KINDS))
            if methods:
                found.append((cls, methods))
    return found


@pytest.fixture
def tiny(monkeypatch):
    """Shrunk layers, near-zero timing budgets, small ceilings."""
    get_layer = common.catalogue.get_layer
    monkeypatch.setattr(common, "layer", lambda name: shrink(get_layer(name)))
    monkeypatch.setattr(common, "SAMPLE_TIME", 1e-4)
    monkeypatch.setattr(common, "TRACK_TIME", 0.0)
    ceilings = importlib.import_module("benchmarks.bench_ceilings")
    monkeypatch.setattr(ceilings, "GEMM_SIZE", 48)
    monkeypatch.setattr(ceilings, "COPY_MIB", 1)
    yield
    common.clear_cache()


def run_every_benchmark(classes, limit=None):
    """Run every combination (or ``limit`` of them, evenly spread); return {class name:
    (combinations run, skipped)}."""
    counts = {}
    for cls, methods in classes:
        ran = skipped = 0
        combinations = list(itertools.product(*cls.params))
        if limit is not None:
            combinations = combinations[::math.ceil(len(combinations) / limit)]
        for params in combinations:
            bench = cls()
            try:
                bench.setup(*params)
            except NotImplementedError:
                skipped += 1
                continue
            try:
                for name in methods:
                    try:
                        value = getattr(bench, name)(*params)
                    except NotImplementedError:   # SkipNotImplemented from a body
                        assert name == "track_gflops", (cls.__name__, name, params)
                        continue
                    if name.startswith("track_"):
                        assert isinstance(value, (int, float, np.number)), (name, params)
                        assert math.isfinite(value) or name == "track_workspace_bytes"
                        assert value >= 0, (cls.__name__, name, params, value)
                        assert getattr(getattr(cls, name), "unit", None), name
            finally:
                if hasattr(bench, "teardown"):
                    bench.teardown(*params)
            ran += 1
        counts[cls.__name__] = (ran, skipped)
    return counts


def expected_to_run(name):
    """Classes that may legitimately skip everything in this environment."""
    import suite

    if name.startswith("UpsampleConv2d"):
        return hasattr(suite, "upsample_conv2d")
    if name.startswith("UpsampleAdd"):
        return hasattr(suite, "upsample_add")
    if name.startswith(("PeerDeconv2d", "TorchCounterpart")):
        # PeerDeconv2d's pure-NumPy reference runs only on small layers at one thread,
        # which a sample of the full grid may not hold
        return peer_installed("torch")
    if name.startswith("Cv2Resize"):
        return peer_installed("cv2")
    if name.startswith("EngineCounterpart"):
        return any(peer_installed(e) for e in common.peers.ENGINES)
    return True


def check_counts(counts):
    assert counts, "no benchmark classes found"
    for name, (ran, skipped) in counts.items():
        if expected_to_run(name):
            assert ran > 0, f"{name}: every combination skipped ({skipped})"


def test_quick_profile_every_benchmark_runs(tiny):
    assert common.PROFILE == "quick"
    check_counts(run_every_benchmark(benchmark_classes(benchmark_modules())))


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_engine_benchmarks_run(tiny, engine):
    """Each engine's own combinations of the peer benchmarks run (and the others skip):
    its deconvolution in PeerDeconv2d and every counterpart in EngineCounterpart."""
    require_module(engine)
    module = importlib.import_module("benchmarks.bench_peers")
    classes = []
    for cls, methods in benchmark_classes([module]):
        if "peer" not in cls.param_names:
            continue
        index = cls.param_names.index("peer")
        if engine not in cls.params[index]:
            continue
        params = [[engine] if i == index else list(p) for i, p in enumerate(cls.params)]
        classes.append((type(cls.__name__, (cls,), {"params": params}), methods))
    names = {cls.__name__ for cls, _ in classes}
    assert {"PeerDeconv2d", "PeerDeconv2dPeakMem", "EngineCounterpart",
            "EngineCounterpartPeakMem"} <= names
    counts = run_every_benchmark(classes)
    for name, (ran, skipped) in counts.items():
        assert ran > 0, f"{name} with {engine}: every combination skipped ({skipped})"
    if "float64" in common.DTYPES:
        assert all(skipped > 0 for _, skipped in counts.values())   # float32 only


def _reload_suite():
    importlib.reload(common)
    return [importlib.reload(m) for m in benchmark_modules()]


@pytest.fixture
def full_profile(monkeypatch):
    monkeypatch.setenv("SUITE_BENCH_PROFILE", "full")
    modules = _reload_suite()
    yield modules
    monkeypatch.delenv("SUITE_BENCH_PROFILE")
    _reload_suite()


def test_full_profile_every_benchmark_runs(full_profile, tiny):
    assert common.PROFILE == "full"
    assert common.DTYPES == ["float32", "float64"]
    classes = benchmark_classes(full_profile)
    assert "Deconv2dStride" in {cls.__name__ for cls, _ in classes}
    check_counts(run_every_benchmark(classes, limit=60))


def test_profile_default_and_validation(monkeypatch):
    monkeypatch.delenv("SUITE_BENCH_PROFILE", raising=False)
    importlib.reload(common)
    assert common.PROFILE == "quick"
    monkeypatch.setenv("SUITE_BENCH_PROFILE", "bogus")
    with pytest.raises(ValueError, match="SUITE_BENCH_PROFILE"):
        importlib.reload(common)
    monkeypatch.delenv("SUITE_BENCH_PROFILE")
    _reload_suite()


def test_threads_reach_the_machine():
    cpus = os.cpu_count() or 1
    assert common.THREADS[0] == 1 and common.THREADS[-1] == cpus


def test_algorithms_follow_the_build():
    import suite

    assert set(suite.DECONV_ALGORITHMS) <= set(common.ALGORITHMS)


def test_history_env_reads_the_working_tree(monkeypatch):
    """In an asv-built environment the grid comes from the working tree (ASV_CONF_DIR)."""
    monkeypatch.setenv("ASV_ENV_TYPE", "virtualenv")
    monkeypatch.setenv("ASV_CONF_DIR", ROOT)
    assert common._history_env() == ROOT
    import suite

    assert common._tree_algorithms(ROOT) == list(suite.DECONV_ALGORITHMS)
    catalogue = common._tool("catalogue")
    assert catalogue.__name__ == "_suite_tree_catalogue"
    assert [l.name for l in catalogue.LAYERS] == [l.name for l in common.catalogue.LAYERS]
    for name in ("timing", "peers"):
        assert common._tool(name).__file__ == os.path.join(ROOT, "suite", "bench", f"{name}.py")
    monkeypatch.setenv("SUITE_BENCH_ALGORITHMS", "col2im, phase")
    assert common._algorithms() == ["col2im", "phase"]


def test_cost_helper_uses_the_model_and_its_fallback_agrees(monkeypatch):
    """common.cost reads suite.cost; the fallback for older builds gives the same figures."""
    from benchmarks.bench_counterparts import counterpart_cost

    def figures():
        rows = []
        for layer in common.catalogue.LAYERS:
            for dtype in ("float32", "float64"):
                if layer.has_deconv:
                    for op in ("deconv2d", "deconv2d_backward"):
                        rows.append(common.cost(op, dtype, "col2im",
                                                **layer.deconv_arguments))
                for kind in layer.counterparts:
                    rows.append(counterpart_cost(layer, kind, dtype))
        return rows

    model = figures()
    deconv = [common.cost("deconv2d", "float32", "col2im", **l.deconv_arguments)
              for l in common.catalogue.DECONV_LAYERS]
    for layer, c in zip(common.catalogue.DECONV_LAYERS, deconv):
        bias_adds = math.prod(layer.output_shape) if layer.bias_shape else 0
        assert c.flops == layer.deconv_flops + bias_adds
        assert c.parameters == layer.parameters
    monkeypatch.setattr(common, "_suite_cost", None)
    fallback = figures()
    assert [(c.flops, c.bytes, c.parameters) for c in fallback] == \
        [(c.flops, c.bytes, c.parameters) for c in model]


def test_asv_config_is_valid_json():
    import json
    import re

    with open(os.path.join(ROOT, "asv.conf.json")) as f:
        text = re.sub(r"^\s*//.*$", "", f.read(), flags=re.M)   # asv allows // comments
    conf = json.loads(text)
    assert conf["benchmark_dir"] == "benchmarks"
    assert conf["results_dir"] == ".asv/results"


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_asv_check(profile):
    """asv's own validation of the suite (discovery, signatures, parameters)."""
    require_module("asv")
    import subprocess

    env = dict(os.environ, SUITE_BENCH_PROFILE=profile)
    result = subprocess.run([sys.executable, "-m", "asv", "check", "--python=same"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "No problems found" in result.stdout, \
        result.stdout + result.stderr
