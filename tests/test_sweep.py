"""The sweep of layers the suite was never tuned on (suite.bench.sweep): its draw is valid
(suite takes every configuration, and PyTorch too, with the same output shape and, on a
small copy, the same values), deterministic, within its bounds and covers what it promises;
``python -m suite compare --sweep`` runs end to end and summarizes per peer."""

import contextlib
import dataclasses
import io
import math

import numpy as np
import pytest
from conftest import assert_close, peer_installed, require_torch

from suite import cost
from suite.bench import compare, compare_tables, sweep

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def drawn():
    return [config for seed in SEEDS for config in sweep.draw(150, seed)]


def test_the_draw_is_deterministic_and_extends():
    first = sweep.draw(30, 7)
    assert first == sweep.draw(30, 7)
    assert sweep.draw(12, 7) == first[:12]
    assert [c.name for c in sweep.draw(30, 8)] != [c.name for c in first]
    assert len({c.name for c in first}) == len(first)
    assert sweep.draw(0, 7) == ()
    with pytest.raises(ValueError, match="n must be >= 0"):
        sweep.draw(-1, 7)


def test_every_configuration_is_within_bounds(drawn):
    for c in drawn:
        assert c.kind in sweep.KINDS
        assert 1 <= c.batch <= sweep.MAX_BATCH, c.name
        assert 1 <= c.in_channels <= sweep.MAX_CHANNELS, c.name
        assert 1 <= c.out_channels <= sweep.MAX_CHANNELS, c.name
        assert sweep.MIN_MAP <= min(c.height, c.width), c.name
        assert max(c.height, c.width) <= sweep.MAX_MAP, c.name
        assert c.macs <= sweep.MAX_MACS and c.nbytes <= sweep.MAX_BYTES, c.name
        if c.kind == "deconv":
            for k, s, p, op, d in zip(c.kernel, c.stride, c.padding, c.output_padding,
                                      c.dilation):
                assert 1 <= k <= sweep.MAX_KERNEL and 1 <= s <= 4, c.name
                assert 0 <= op < max(s, d) and 0 <= p <= d * (k - 1), c.name
            assert c.in_channels % c.groups == 0 and c.out_channels % c.groups == 0, c.name
        else:
            assert c.mode in ("nearest", "bilinear"), c.name
            assert c.height * c.scale == int(c.height * c.scale), c.name
            assert c.width * c.scale == int(c.width * c.scale), c.name
        # the bounds' counts are the cost model's
        operation, arguments = c.cost_operation
        priced = getattr(cost, f"{operation}_cost")(**arguments)
        assert priced.output_shape == c.output_shape, c.name
        if c.kind == "deconv":
            assert priced.macs == c.macs, c.name


def test_the_draw_covers_what_it_promises(drawn):
    deconvs = [c for c in drawn if c.kind == "deconv"]
    axes = [(k, s) for c in deconvs for k, s in zip(c.kernel, c.stride)]
    assert {c.kind for c in drawn} == set(sweep.KINDS)
    assert any(k < s for k, s in axes) and any(k >= s > 1 for k, s in axes)
    assert {s for _, s in axes} == {1, 2, 3, 4}
    assert {k for k, _ in axes} == set(range(1, sweep.MAX_KERNEL + 1))
    assert any(c.dilation != (1, 1) for c in deconvs)
    assert any(any(c.output_padding) for c in deconvs)
    assert any(c.kernel[0] != c.kernel[1] or c.stride[0] != c.stride[1] for c in deconvs)
    assert any(c.groups == c.in_channels > 1 for c in deconvs)              # depthwise
    assert any(1 < c.groups < c.in_channels for c in deconvs)               # grouped
    assert any(c.groups == 1 for c in deconvs)
    for kind in ("upsample", "upsample_conv"):
        scales = {c.scale for c in drawn if c.kind == kind}
        assert any(s == int(s) for s in scales) and any(s != int(s) for s in scales), kind
        assert {c.mode for c in drawn if c.kind == kind} == {"nearest", "bilinear"}, kind
    assert {c.kernel[0] for c in drawn if c.kind == "upsample_conv"} == {1, 3, 5}
    assert max(c.in_channels for c in drawn) > 512 and min(c.in_channels for c in drawn) < 4
    assert max(c.batch for c in drawn) > 8


def _small(config):
    """The same geometry on a few channels: suite and PyTorch compute it in a moment."""
    if config.kind != "deconv":
        return dataclasses.replace(config, batch=1, in_channels=min(config.in_channels, 3),
                                   out_channels=min(config.out_channels, 2))
    groups = min(config.groups, 3)
    return dataclasses.replace(config, batch=1, groups=groups, in_channels=groups * 2,
                               out_channels=groups * (1 if config.out_channels == 1 else 2))


def _definition(functions, config, x, weight, bias):
    """``config`` computed by ``functions``: (transposed convolution, interpolation,
    convolution) with PyTorch's signatures, as suite.reference and torch.nn.functional
    both have them."""
    deconv2d, interpolate, conv2d = functions
    if config.kind == "deconv":
        return deconv2d(x, weight, bias, **config.deconv_kwargs)
    extra = dict(align_corners=False) if config.mode == "bilinear" else {}
    upsampled = interpolate(x, scale_factor=config.scale, mode=config.mode, **extra)
    if config.kind == "upsample":
        return upsampled
    return conv2d(upsampled, weight, bias, padding=config.padding)


@pytest.mark.parametrize("seed", SEEDS)
def test_suite_takes_every_configuration(seed):
    # the geometry of every configuration, on a few channels, against the reference
    import suite.reference as R

    for config in sweep.draw(60, seed):
        small = _small(config)
        x, weight, bias = small.make_inputs(np.float64)
        got = small.suite_call(x, weight, bias, 2)()
        assert got.shape == small.output_shape, config.name
        expected = _definition((R.deconv2d, R.upsample, R.conv2d), small, x, weight, bias)
        assert_close(got, expected, np.float64, err_msg=config.name)


@pytest.mark.parametrize("seed", SEEDS)
def test_pytorch_takes_every_configuration_with_our_output_shape(seed):
    torch = require_torch()
    F = torch.nn.functional
    functions = (F.conv_transpose2d, F.interpolate, F.conv2d)
    for config in sweep.draw(60, seed):
        # the whole configuration, shapes only (meta tensors compute no values)
        meta = dict(device="meta", dtype=torch.float32)
        x = torch.empty(config.input_shape, **meta)
        w = None if config.weight_shape is None else torch.empty(config.weight_shape, **meta)
        b = None if w is None else torch.empty(config.out_channels, **meta)
        y = _definition(functions, config, x, w, b)
        assert tuple(y.shape) == config.output_shape, config.name
        # and the values on a few channels
        small = _small(config)
        data = small.make_inputs(np.float64)
        tensors = [None if a is None else torch.from_numpy(a) for a in data]
        assert_close(small.suite_call(*data, 1)(),
                     _definition(functions, small, *tensors).numpy(), np.float64,
                     err_msg=config.name)


def _contestant(name, median, check="ok"):
    c = compare.Contestant(name, fn=lambda: None)
    c.samples, c.check = [median], check
    return c


def test_the_summary_is_the_geometric_mean_and_the_worst():
    cases = []
    for i, (kind, peer_time) in enumerate([("deconv", 2.0), ("deconv", 0.5),
                                           ("upsample", 4.0), ("upsample", 0.25)]):
        check = "MISMATCH 1e-1" if i == 3 else "ok"
        cases.append(compare.Case("sweep", f"case{i}", (1, 1, 4, 4), 1,
                                  [_contestant("suite-auto", 1.0, "ref"),
                                   _contestant("torch", peer_time, check)], flops=1e6,
                                  kind=kind))
    cases.append(compare.Case("sweep", "case4", (1, 1, 4, 4), 1,
                              [_contestant("suite-auto", 1.0, "ref"),
                               compare.Contestant("onnxruntime", status="error: X: no")],
                              kind="deconv"))
    text = compare_tables.format_sweep(cases, np.float32, 5, 3)
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line.startswith(("torch ", "onnxruntime "))}
    # torch: ratios 2, 0.5, 4 checked (the mismatch is not compared)
    geomean = math.exp((math.log(2) + math.log(0.5) + math.log(4)) / 3)
    assert rows["torch"][1:] == ["1", "3", f"{geomean:.2f}", "1.00", "4.00", "0.50", "1", "1"]
    assert rows["onnxruntime"][1:] == ["1", "0", "-", "-", "-", "-", "0", "1"]
    assert "torch t=1: 0.50 case1; 2.00 case0; 4.00 case2" in text
    assert "5 configurations drawn with seed 3" in text
    assert "MISMATCH" in text and "onnxruntime: error: X: no" in text


def test_compare_sweep_runs_end_to_end():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = compare.main(["--sweep", "3", "--seed", "1", "--quick", "--min-time", "0.0005",
                               "--repeats", "2", "--threads", "1"])
    text = out.getvalue()
    assert status == 0
    assert "CPU: " in text and "BLAS of the kernels' GEMMs: " in text
    assert "unseen layers: 3 configurations drawn with seed 1" in text
    for config in sweep.draw(3, 1):
        assert f"[sweep] {config.name} t=1 " in text
        assert "MISMATCH" not in text
    assert "per peer: geometric mean and worst" in text
    assert "deconvolution, " not in text            # the catalogue's sections are not run
    for peer in ("torch", "onnxruntime", "openvino"):
        if peer_installed(peer):
            row = next(line for line in text.splitlines() if line.startswith(f"{peer} "))
            assert row.split()[1:3] == ["1", "3"], row


def test_the_asv_sweep_is_a_fixed_draw():
    # benchmarks/bench_sweep.py: the first configurations of the seed's draw, both
    # contestants, every thread count of the profile
    import os
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import bench_sweep, common

    n = bench_sweep.FULL_CONFIGURATIONS if common.FULL else bench_sweep.QUICK_CONFIGURATIONS
    expected = sweep.draw(n, bench_sweep.SWEEP_SEED)
    assert list(bench_sweep.CONFIGURATIONS.values()) == list(expected)
    assert bench_sweep.Sweep.params == [[c.name for c in expected], ["suite", "torch"],
                                        common.THREADS]


def test_algorithms_tool_times_every_candidate_beside_the_rule(monkeypatch):
    from suite import _plan
    from suite.bench import algorithms
    from suite.conv import DeconvPlan

    few = algorithms.layers(3, 2, max_channels=4)
    assert len(few) == 3 and all(c.kind == "deconv" for c in few)
    assert all(c.in_channels // c.groups <= 4 and c.out_channels // c.groups <= 4 for c in few)
    assert [c.name for c in algorithms.layers(2, 2)] == [
        c.name for c in sweep.draw(64, 2) if c.kind == "deconv"][:2]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = algorithms.main(["--sweep", "2", "--seed", "2", "--budget", "0.01"])
    text = out.getvalue()
    assert status == 0
    for config in algorithms.layers(2, 2):
        x, weight, _ = config.make_inputs(np.float32)
        kw = config.deconv_kwargs
        rule = _plan.choose_algorithm(x.shape, weight.shape, kw["stride"], kw["dilation"],
                                      kw["groups"], padding=kw["padding"])
        line = next(line for line in text.splitlines() if config.name in line)
        geometry = (kw["stride"], kw["padding"], kw["output_padding"], kw["dilation"],
                    kw["groups"])
        for algorithm in DeconvPlan.candidates(x.shape, weight.shape, geometry):
            assert f" {algorithm} " in line, (algorithm, line)
        assert f"auto={rule} " in line
    assert "auto over the fastest: geometric mean" in text
    with pytest.raises(SystemExit):
        algorithms.main(["--sweep", "0"])
