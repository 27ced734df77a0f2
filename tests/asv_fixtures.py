"""Synthetic asv results of several machines, for the report's tests.

:func:`write_machine` writes what ``make campaign`` would leave in ``.asv/results/<machine>/``
(asv's results-file format, version 2, and ``machine.json``), with figures that are made up
but shaped like real ones: a time grows with the cost model's FLOPs and bytes and shrinks with
the machine's speed and its threads, and every combination a layer does not have is stored
as skipped (NaN), as the benchmarks do. Each machine may measure a different set of
benchmarks, layers and thread counts, at different commits. :func:`write_benchmarks` writes
the ``benchmarks.json`` beside them. Nothing here reads the report's code.
"""

import itertools
import json
import math
import os

import numpy as np

from suite.bench import costs
from suite.bench.catalogue import get_layer

#: benchmark id -> (parameter names, unit). Parameter values come from the call.
BENCHMARKS = {
    "bench_ceilings.Gemm.track_gemm_gflops": (["dtype", "threads"], "GFLOP/s"),
    "bench_ceilings.Copy.track_copy_gbps": (["threads"], "GB/s"),
    "bench_deconv.Deconv2d.time_deconv2d": (["layer", "dtype", "algorithm", "threads"],
                                            "seconds"),
    "bench_deconv.Deconv2dPeakMem.peakmem_deconv2d": (["layer", "dtype", "algorithm",
                                                       "threads"], "bytes"),
    "bench_deconv.Deconv2dPeakMem.peakmem_baseline": (["layer", "dtype", "algorithm",
                                                       "threads"], "bytes"),
    "bench_counterparts.Counterpart.time_counterpart": (["layer", "counterpart", "dtype",
                                                         "threads"], "seconds"),
    "bench_counterparts.CounterpartPeakMem.peakmem_counterpart": (
        ["layer", "counterpart", "dtype", "threads"], "bytes"),
    "bench_counterparts.CounterpartPeakMem.peakmem_baseline": (
        ["layer", "counterpart", "dtype", "threads"], "bytes"),
    "bench_fused.UpsampleConv2d.time_upsample_conv2d": (["layer", "mode", "dtype", "threads"],
                                                        "seconds"),
    "bench_upsample.Upsample.time_upsample": (["layer", "mode", "scale", "dtype", "threads"],
                                              "seconds"),
    "bench_peers.PeerDeconv2d.time_deconv2d": (["layer", "dtype", "peer", "threads"],
                                               "seconds"),
    "bench_peers.TorchCounterpart.time_counterpart": (["layer", "counterpart", "dtype",
                                                       "threads"], "seconds"),
    "bench_peers.Cv2Resize.time_resize": (["layer", "mode", "dtype", "threads"], "seconds"),
    "bench_sweep.Sweep.time_layer": (["configuration", "contestant", "threads"], "seconds"),
    # a peer class the report has never heard of: compared by its parameters alone
    "bench_peers.NewEngineCounterpart.time_counterpart": (["layer", "counterpart", "engine",
                                                           "dtype", "threads"], "seconds"),
}
#: What a campaign records of its environment (benchmarks/bench_ceilings.py, Environment):
#: the benchmark, and its one parameter's fields (suite._environment.describe()).
ENVIRONMENT = "bench_ceilings.Environment.track_blas_vector_bits"
ALGORITHMS = ["auto", "col2im", "phase"]
COUNTERPARTS = ["nearest", "bilinear", "nearest+conv3x3", "bilinear+conv3x3", "nearest+add"]
PEERS = ["torch", "torch-im2col"]
ENGINES = ["onnxruntime", "openvino"]
#: Names of layers never tuned on, as suite.bench.sweep draws them.
SWEEP = ["deconv k3s2p1op1 c128->128 34x34 n1", "deconv k6s2p2 c512->256 4x4 n1",
         "nearest x2 + conv3x3 c96->4 65x65 n1", "bilinear x1.5 c64 32x32 n1"]
RESULT_COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
                  "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"]

SKIP = math.nan


def _cost_time(cost, algorithm, threads, speed):
    """Seconds for ``cost`` on a machine doing ``speed`` GFLOP/s and speed / 4 GB/s per core."""
    flops = cost.executed_flops.get(algorithm, cost.useful_flops) if algorithm else (
        cost.useful_flops)
    return (flops / (speed * 1e9) + cost.min_bytes / (speed / 4 * 1e9)) / threads ** 0.85


def _value(bench, p, speed, rng):
    """One made-up figure for benchmark ``bench`` with parameters ``p`` (a dict), or SKIP."""
    threads = p.get("threads", 1)
    if bench.endswith("track_gemm_gflops"):
        return speed * threads * (1 if p["dtype"] == "float32" else 0.5)
    if bench.endswith("track_copy_gbps"):
        return speed / 4 * min(threads, 2)
    if bench.startswith("bench_sweep."):
        seconds = (1 + SWEEP.index(p["configuration"])) * 1e-3 / speed / threads ** 0.8
        return seconds * (1.0 if p["contestant"] == "suite" else 1.7) * float(
            rng.lognormal(0, 0.03))
    layer = get_layer(p["layer"])
    dtype = np.dtype(p["dtype"])
    priced = costs.layer_costs(layer, dtype)
    cls = bench.split(".")[1]
    if cls.startswith("Deconv2d") or cls == "PeerDeconv2d":
        if "deconv" not in priced:
            return SKIP
        cost = priced["deconv"]
        algorithm = p.get("algorithm", "col2im")
        algorithm = "phase" if algorithm == "auto" else algorithm
        if algorithm not in cost.executed_flops:
            return SKIP
        seconds = _cost_time(cost, algorithm, threads, speed)
        if cls == "PeerDeconv2d":
            seconds *= {"torch": 1.6, "torch-im2col": 2.1}.get(p["peer"], 30.0)
    elif cls in ("Counterpart", "CounterpartPeakMem", "TorchCounterpart",
                 "NewEngineCounterpart"):
        if p["counterpart"] not in priced:
            return SKIP
        seconds = _cost_time(priced[p["counterpart"]], "unfused", threads, speed)
        if cls == "TorchCounterpart":
            seconds *= 3.0
        elif cls == "NewEngineCounterpart":
            seconds *= {"onnxruntime": 1.3, "openvino": 0.8}[p["engine"]]
    elif cls == "UpsampleConv2d":
        kind = f"{p['mode']}+conv3x3"
        if kind not in priced:
            return SKIP
        seconds = _cost_time(priced[kind], "fused", threads, speed)
    elif cls in ("Upsample", "Cv2Resize"):
        if p["mode"] not in priced:
            return SKIP
        seconds = _cost_time(priced[p["mode"]], None, threads, speed)
        if cls == "Cv2Resize":
            seconds *= 2.5
    else:
        raise ValueError(bench)
    if "PeakMem" in cls:
        base = 80e6
        return base if bench.endswith("baseline") else base + seconds * 2e9
    return seconds * float(rng.lognormal(0, 0.03))


def write_machine(results, machine, commits, *, cpu="Test CPU", cores=2, speed=50.0,
                  benchmarks=None, layers=("dcgan-g4", "fcn8s-up2", "yolov3-up"),
                  threads=(1, 2), dtypes=("float32",), seed=0, extra_machine=None,
                  env="existing-py_usr_bin_python", environment=None):
    """Write ``results/<machine>/``: ``machine.json`` and one results file per commit.

    ``commits``: ``[(hash, date in ms, factor)]``; every time at that commit is multiplied by
    ``factor`` (a history). ``speed``: GFLOP/s of one core (times scale with 1 / speed).
    ``benchmarks``: ids of :data:`BENCHMARKS` (default all). ``extra_machine``: more fields
    for ``machine.json``. ``env``: asv's environment name (``make campaign``'s by default; a
    history campaign's is ``virtualenv-py...``). ``environment``: a record of the machine's
    environment (``suite._environment.describe()``'s fields), stored as the campaign stores
    it. Returns ``{(benchmark, params tuple, commit): value}``, the figures
    written."""
    rng = np.random.default_rng(seed)
    mdir = os.path.join(results, machine)
    os.makedirs(mdir, exist_ok=True)
    info = dict(arch="x86_64", cpu=cpu, machine=machine, num_cpu=str(cores),
                os="Linux 6.1", ram="16000000000", version=1, **(extra_machine or {}))
    with open(os.path.join(mdir, "machine.json"), "w", encoding="utf-8") as f:
        json.dump(info, f)
    values = {"layer": list(layers), "dtype": list(dtypes), "threads": list(threads),
              "algorithm": ALGORITHMS, "counterpart": COUNTERPARTS, "mode": ["nearest",
                                                                            "bilinear"],
              "scale": [2], "peer": PEERS, "engine": ENGINES, "configuration": SWEEP,
              "contestant": ["suite", "torch"]}
    written = {}
    for commit, date, factor in commits:
        results_entries = {}
        for bench in benchmarks or BENCHMARKS:
            names, _ = BENCHMARKS[bench]
            grid = [values[n] for n in names]
            figures = []
            for combo in itertools.product(*grid):
                p = dict(zip(names, combo))
                v = _value(bench, p, speed, rng)
                if bench.split(".")[-1].startswith("time") and not math.isnan(v):
                    v *= factor
                figures.append(v)
                written[(bench, combo, commit)] = v
            spread = [None if math.isnan(v) else v * 0.02 for v in figures]
            results_entries[bench] = [
                figures, [[repr(v) for v in g] for g in grid], "0" * 64, date, 1.0,
                [None if s is None else v - s for v, s in zip(figures, spread)],
                [None if s is None else v + s for v, s in zip(figures, spread)],
                [None if s is None else v - s / 2 for v, s in zip(figures, spread)],
                [None if s is None else v + s / 2 for v, s in zip(figures, spread)],
                [10] * len(figures), [20] * len(figures)]
        if environment is not None:
            text = json.dumps(environment, sort_keys=True, separators=(",", ":"))
            width = (environment.get("blas") or {}).get("kernel_width")
            results_entries[ENVIRONMENT] = [[width], [[repr(text)]], "0" * 64, date, 1.0]
        data = {"commit_hash": commit, "env_name": env, "date": date,
                "params": {k: v for k, v in info.items() if k != "version"},
                "python": "3.12", "requirements": {"numpy": "2.3.0"}, "env_vars": {},
                "result_columns": RESULT_COLUMNS, "results": results_entries,
                "durations": {}, "version": 2}
        with open(os.path.join(mdir, f"{commit[:8]}-{env}.json"), "w",
                  encoding="utf-8") as f:
            json.dump(data, f, allow_nan=True)
    return written


def write_benchmarks(results):
    """``results/benchmarks.json``: the parameter names and units of :data:`BENCHMARKS` (and
    of the environment record)."""
    data = {}
    for bench, (names, unit) in {**BENCHMARKS, ENVIRONMENT: (["environment"], "bits")}.items():
        data[bench] = {"name": bench, "param_names": names, "unit": unit,
                       "type": bench.split(".")[-1].split("_")[0], "version": "0" * 64}
    data["version"] = 2
    with open(os.path.join(results, "benchmarks.json"), "w", encoding="utf-8") as f:
        json.dump(data, f)


#: beta's record: an AVX-512 CPU whose OpenBLAS is pinned to its AVX2 kernels.
BETA_ENVIRONMENT = {
    "cpu_model": "Beta CPU 100 (recorded)", "cpu_count": 4, "machine": "x86_64",
    "vector_extensions": ["AVX2", "FMA", "AVX-512F"], "vector_width": 512,
    "blas": {"library": "openblas", "version": "0.3.30", "kernels": "Haswell",
             "kernel_isa": "AVX2", "kernel_width": 256},
    "pins": {"OPENBLAS_CORETYPE": "Haswell"}, "thread_variables": {},
    "openmp": [{"library": "libgomp.so.1", "version": None, "threads": 4}],
    "packages": {"numpy": "2.3.0", "scipy": "1.16.0"}}


def fleet(results, n_machines=3):
    """A fleet of two or three machines measuring different things at different commits:

    * ``alpha``: every benchmark, threads 1 and 2, three commits (a history, the newest 10%
      faster than the oldest);
    * ``beta``: no peers, no fused kernel, threads 1, 2 and 4, two layers, the newest of
      alpha's commits only, with a record of its environment (:data:`BETA_ENVIRONMENT`: a
      pinned BLAS);
    * ``gamma``: kernels and ceilings only, one thread, another commit (a branch).

    Returns ``{machine: written figures}``."""
    day = 86_400_000
    t0 = 1_790_000_000_000
    alpha_commits = [("a" * 40, t0, 1.1), ("b" * 40, t0 + day, 1.05), ("c" * 40, t0 + 2 * day,
                                                                         1.0)]
    ids = list(BENCHMARKS)
    written = {"alpha": write_machine(results, "alpha", alpha_commits, cpu="Alpha CPU 9000",
                                      cores=2, speed=50.0, seed=1)}
    written["beta"] = write_machine(
        results, "beta", alpha_commits[-1:], cpu="Beta CPU 100", cores=4, speed=20.0,
        benchmarks=[b for b in ids if "peers" not in b and "fused" not in b],
        layers=("dcgan-g4", "fcn8s-up2"), threads=(1, 2, 4), seed=2,
        environment=BETA_ENVIRONMENT)
    if n_machines >= 3:
        written["gamma"] = write_machine(
            results, "gamma", [("d" * 40, t0 + 3 * day, 1.0)], cpu="Gamma CPU", cores=1,
            speed=80.0, benchmarks=[b for b in ids if "peers" not in b], threads=(1,),
            layers=("dcgan-g4", "fcn8s-up8", "yolov3-up"), seed=3)
    write_benchmarks(results)
    return written
