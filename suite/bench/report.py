"""Benchmark report: ``python -m suite report [--results DIR] [--out DIR]``.

Loads every asv results file of every machine and commit under ``--results`` (default
``.asv/results``) into one tidy :mod:`pandas` frame (:func:`load_results`: one row per
benchmark x parameter combination x machine x commit), joins the cost model
(:mod:`suite.cost`) by layer and derives throughput, fractions of the machine's measured
ceilings, thread scaling and ratios (:func:`derive`), draws the figures (matplotlib, Agg)
and writes one self-contained HTML page (figures embedded as base64 PNG) with the frame as
CSV beside it (``--out``, default ``reports/latest``).

Conventions of the frame
------------------------
* ``status``: ``"ok"``; ``"failed"`` (asv stored ``null``: the benchmark raised or timed
  out); ``"skipped"`` (asv stored NaN: the combination was skipped with
  ``NotImplementedError``, e.g. a peer that is not installed). Only ``"ok"`` rows have a
  ``value``; nothing is ever filled with zero. Benchmarks a machine has no result for are
  listed as "not measured" on the page.
* ``value`` is asv's figure: the median of all samples for ``time_`` (seconds) and
  ``peakmem_`` (bytes), the returned number for ``track_``. ``q25``/``q75`` (their
  difference ``iqr``) and ``ci99_lo``/``ci99_hi`` are asv's spread statistics, NaN where
  asv records none (``track_`` and ``peakmem_`` benchmarks).
"""

import argparse
import ast
import base64
import datetime as _dt
import html
import io
import itertools
import json
import math
import os
import platform
import sys
import warnings

import numpy as np
import pandas as pd

import suite
from suite import cost as C

from . import costs
from .catalogue import DECONV_LAYERS, get_layer

__all__ = ["ReportInputError", "load_results", "derive", "build_report", "main",
           "PALETTE", "format_number"]

#: Okabe-Ito, the colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000"]

#: The methods of one layer, in the order the figures show them.
METHODS = ["deconv", "nearest", "bilinear", "nearest+conv3x3", "bilinear+conv3x3",
           "nearest+add"]
METHOD_COLOURS = dict(zip(METHODS, PALETTE))

#: Parameter columns the benchmarks use (others get their own column too).
PARAM_COLUMNS = ["layer", "counterpart", "mode", "algorithm", "peer", "conv", "geometry",
                 "scale", "stride", "dtype", "threads"]

RESULT_COLUMNS_DEFAULT = ["result", "params", "version", "started_at", "duration",
                          "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75",
                          "stats_number", "stats_repeat", "samples", "profile"]

NOT_MEASURED = "not measured"

GEMM = "bench_ceilings.Gemm.track_gemm_gflops"
COPY = "bench_ceilings.Copy.track_copy_gbps"
DECONV_TIME = "bench_deconv.Deconv2d.time_deconv2d"
COUNTERPART_TIME = "bench_counterparts.Counterpart.time_counterpart"


class ReportInputError(ValueError):
    """The results directory is missing, empty or holds no usable asv result."""


# ----------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------

def _literal(text):
    """asv stores parameter values as their repr: "'dcgan-g4'" -> 'dcgan-g4', '2' -> 2."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        return text


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _warn(problems, message):
    problems.append(message)
    warnings.warn(message, stacklevel=3)


def _stat(columns, entry, name, index):
    """Column ``name`` of one result entry at parameter combination ``index`` (or NaN)."""
    if name not in columns or columns.index(name) >= len(entry):
        return math.nan
    values = entry[columns.index(name)]
    if not isinstance(values, list) or index >= len(values):
        return math.nan
    value = values[index]
    if value is None or isinstance(value, (list, dict, str)):
        return math.nan
    return float(value)


def _is_result_file(data):
    return (isinstance(data, dict) and isinstance(data.get("results"), dict)
            and isinstance(data.get("commit_hash"), str))


def load_results(results_dir):
    """Every asv results file under ``results_dir`` as one tidy frame.

    Returns ``(frame, problems)``: ``problems`` lists (and :func:`warnings.warn` reports)
    each file or entry that was skipped and why (corrupt, truncated or foreign JSON, a
    malformed entry). Raises :class:`ReportInputError` when the directory is missing, empty,
    or has no usable results file.
    """
    results_dir = os.fspath(results_dir)
    if not os.path.isdir(results_dir):
        raise ReportInputError(f"results directory {results_dir!r} does not exist "
                               "(run a campaign first: make campaign)")
    problems = []
    benchmarks = {}
    bench_path = os.path.join(results_dir, "benchmarks.json")
    if os.path.isfile(bench_path):
        try:
            data = _read_json(bench_path)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            benchmarks = {k: v for k, v in data.items() if isinstance(v, dict)}
        except (OSError, ValueError) as exc:
            _warn(problems, f"{bench_path}: unreadable benchmarks.json ({exc}); "
                            "parameter names fall back to param0, param1, ...")
    rows = []
    n_files = 0
    for machine in sorted(os.listdir(results_dir)):
        mdir = os.path.join(results_dir, machine)
        if not os.path.isdir(mdir):
            continue
        machine_info = {}
        mpath = os.path.join(mdir, "machine.json")
        if os.path.isfile(mpath):
            try:
                machine_info = _read_json(mpath)
                if not isinstance(machine_info, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as exc:
                _warn(problems, f"{mpath}: unreadable machine.json ({exc})")
                machine_info = {}
        for name in sorted(os.listdir(mdir)):
            if not name.endswith(".json") or name == "machine.json":
                continue
            path = os.path.join(mdir, name)
            n_files += 1
            try:
                data = _read_json(path)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                _warn(problems, f"{path}: skipped, not valid JSON (corrupt or truncated: "
                                f"{exc})")
                continue
            if not _is_result_file(data):
                _warn(problems, f"{path}: skipped, not an asv results file (no 'results' "
                                "and 'commit_hash')")
                continue
            try:
                rows.extend(_file_rows(path, data, machine, machine_info, benchmarks,
                                       problems))
            except Exception as exc:  # any other damage: name the file, keep the rest
                _warn(problems, f"{path}: skipped, malformed asv results file "
                                f"({type(exc).__name__}: {exc})")
    if n_files == 0:
        raise ReportInputError(f"results directory {results_dir!r} holds no results files "
                               "(expected <machine>/<commit>-<env>.json; run make campaign)")
    if not rows:
        raise ReportInputError(f"no usable asv results under {results_dir!r}: "
                               + "; ".join(problems))
    frame = pd.DataFrame(rows)
    for column in PARAM_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["iqr"] = frame["q75"] - frame["q25"]
    for column in ("threads", "stride"):
        numeric = pd.to_numeric(frame[column], errors="coerce")
        if frame[column].notna().sum() == numeric.notna().sum():
            frame[column] = numeric.round().astype("Int64")
    return frame, problems


def _file_rows(path, data, machine, machine_info, benchmarks, problems):
    columns = data.get("result_columns") or RESULT_COLUMNS_DEFAULT
    params_info = data.get("params") if isinstance(data.get("params"), dict) else {}
    info = {**params_info, **{k: v for k, v in machine_info.items() if k != "version"}}
    date = data.get("date")
    try:
        date = pd.Timestamp(date, unit="ms") if isinstance(date, (int, float)) else pd.NaT
    except (ValueError, OverflowError):
        date = pd.NaT
    if not isinstance(data["results"], dict):
        raise ValueError("'results' is not an object")
    base = dict(machine=info.get("machine", machine), commit=str(data["commit_hash"]),
                env=data.get("env_name", ""), file=os.path.basename(path), date=date,
                cpu=info.get("cpu", ""), num_cpu=info.get("num_cpu", ""),
                arch=info.get("arch", ""), os=info.get("os", ""), ram=info.get("ram", ""),
                python=str(data.get("python", info.get("python", ""))))
    rows = []
    for bench, entry in data["results"].items():
        try:
            rows.extend(_entry_rows(bench, entry, columns, benchmarks.get(bench, {}), base))
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            _warn(problems, f"{path}: benchmark {bench!r} skipped, malformed entry ({exc})")
    return rows


def _entry_rows(bench, entry, columns, meta, base):
    if not isinstance(entry, list) or not entry:
        raise ValueError("not a list")
    results = entry[columns.index("result")]
    params = entry[columns.index("params")] if "params" in columns else []
    if not isinstance(results, list):
        results = [results]
    params = params or []
    combos = list(itertools.product(*params)) if params else [()]
    if len(combos) != len(results):
        raise ValueError(f"{len(results)} results for {len(combos)} parameter combinations")
    names = list(meta.get("param_names") or [])
    if len(names) != len(params):
        names = [f"param{i}" for i in range(len(params))]
    module, _, method = bench.rpartition(".")
    kind = method.split("_")[0]
    unit = meta.get("unit") or {"time": "seconds", "peakmem": "bytes"}.get(kind, "")
    rows = []
    for index, (combo, value) in enumerate(zip(combos, results)):
        if value is None:
            status, value = "failed", math.nan
        elif isinstance(value, (int, float)) and not math.isnan(value):
            status, value = "ok", float(value)
        else:
            status, value = "skipped", math.nan
        row = dict(base, benchmark=bench, group=module, method=method, kind=kind, unit=unit,
                   params=", ".join(str(_literal(v)) for v in combo), value=value,
                   status=status,
                   q25=_stat(columns, entry, "stats_q_25", index),
                   q75=_stat(columns, entry, "stats_q_75", index),
                   ci99_lo=_stat(columns, entry, "stats_ci_99_a", index),
                   ci99_hi=_stat(columns, entry, "stats_ci_99_b", index),
                   number=_stat(columns, entry, "stats_number", index),
                   repeat=_stat(columns, entry, "stats_repeat", index))
        for name, raw in zip(names, combo):
            row[name] = _literal(raw)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------
# cost model join and derived columns
# ----------------------------------------------------------------------------------------

def _itemsize(dtype):
    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return 4


def _counterpart_cost(layer, kind, itemsize):
    return costs.counterpart_cost(layer, kind, np.dtype(f"f{itemsize}"))


def _auto(layer):
    try:
        return suite.choose_algorithm(layer.input_shape, layer.weight_shape, layer.stride, 1,
                                layer.groups)
    except Exception:
        return None


def _row_cost(row):
    """(useful FLOPs, executed FLOPs, min bytes, workspace bytes, parameters, method) of one
    timed row from the cost model, or None when the benchmark has no per-layer cost."""
    layer = get_layer(row["layer"])
    itemsize = _itemsize(row.get("dtype") or "float32")
    group, cls = row["benchmark"].split(".")[:2]
    algorithm, method = None, None
    if cls in ("Deconv2d", "PeerDeconv2d", "Deconv2dPeakMem", "PeerDeconv2dPeakMem"):
        c = costs.layer_costs(layer, np.dtype(f"f{itemsize}"))["deconv"]
        algorithm = row.get("algorithm")
        if algorithm == "auto":
            algorithm = _auto(layer)
        method = "deconv"
    elif cls == "Deconv2dBackward":
        c = costs.layer_costs(layer, np.dtype(f"f{itemsize}"), backward=True)["deconv_backward"]
        method = "deconv_backward"
    elif cls in ("Counterpart", "TorchCounterpart", "CounterpartPeakMem",
                 "TorchCounterpartPeakMem"):
        method = row["counterpart"]
        c = _counterpart_cost(layer, method, itemsize)
        algorithm = "unfused"
    elif cls in ("Cv2Resize", "Cv2ResizePeakMem"):
        method = row["mode"]
        c = _counterpart_cost(layer, method, itemsize)
    elif cls in ("NumpyUpsample", "NumpyUpsamplePeakMem"):
        method = "bilinear" if "bilinear" in str(row["peer"]) else "nearest"
        c = _counterpart_cost(layer, method, itemsize)
    elif cls in ("UpsampleConv2d", "UpsampleConv2dPeakMem"):
        method = f"{row['mode']}+conv3x3"
        c = _counterpart_cost(layer, method, itemsize)
        algorithm = "fused"
    elif cls in ("UpsampleAdd", "UpsampleAddPeakMem"):
        method = f"{row['mode']}+add"
        c = _counterpart_cost(layer, method, itemsize)
        algorithm = "fused"
    elif cls in ("Upsample", "UpsamplePeakMem"):
        mode = row["mode"]
        ac = False if mode == "bilinear" else None
        c = C.upsample_cost(layer.input_shape, scale_factor=row["scale"], mode=mode,
                            align_corners=ac, itemsize=itemsize)
        method = mode if row["scale"] == layer.scale_factor else None
    elif cls in ("UpsampleBackward",):
        mode = row["mode"]
        ac = False if mode == "bilinear" else None
        c = C.upsample_backward_cost(layer.input_shape, scale_factor=layer.scale_factor,
                                     mode=mode, align_corners=ac, itemsize=itemsize)
    else:
        return None
    if algorithm not in c.executed_flops:
        algorithm = (next(iter(c.executed_flops)) if len(c.executed_flops) == 1
                     else {"upsample": "nested"}.get(c.operation))
    executed = c.executed_flops.get(algorithm, math.nan) if algorithm else math.nan
    workspace = c.workspace_bytes.get(algorithm, math.nan) if algorithm else math.nan
    return (c.useful_flops, executed, c.min_bytes, workspace, c.parameters, method)


def _ceilings(frame):
    """Per machine and commit: the GEMM GFLOP/s by (dtype, threads) and copy GB/s by
    threads (the medians asv stored)."""
    ok = frame[frame["status"] == "ok"]
    gemm = ok[ok["benchmark"] == GEMM][["machine", "commit", "dtype", "threads", "value"]]
    copy = ok[ok["benchmark"] == COPY][["machine", "commit", "threads", "value"]]
    return (gemm.rename(columns={"value": "ceiling_gflops"}),
            copy.rename(columns={"value": "ceiling_gbps"}))


def _key(frame, exclude):
    names = [c for c in PARAM_COLUMNS + ["machine", "commit", "env", "benchmark"]
             if c not in exclude and c in frame]
    return names


def derive(frame):
    """Add the cost model and the derived columns to the loaded frame (a new frame).

    Cost columns (timed and peak-memory rows of a catalogue layer): ``method`` (deconv,
    nearest, bilinear, ...), ``useful_flops``, ``executed_flops``, ``min_bytes``,
    ``workspace_bytes``, ``parameters``, ``intensity`` (executed FLOPs / min bytes).
    Derived (``time_`` rows): ``gflops`` (useful FLOPs / median time), ``gbps`` (min bytes /
    median time), ``pct_peak_flops`` and ``pct_peak_bw`` (of the same machine's, commit's and
    thread count's measured GEMM and copy ceilings), ``speedup`` (time at one thread / this
    time, same other parameters) and ``efficiency`` (speedup / threads), ``vs_ours`` (peer
    rows: peer time / suite's time of the same case; > 1: suite is faster) and
    ``vs_deconv`` (counterpart rows: counterpart time / the layer's ``auto`` deconvolution
    time; < 1: the counterpart is faster). ``peakmem_net`` (peakmem rows: peak RSS minus
    the class's empty-body baseline).
    """
    frame = frame.copy()
    cols = ["useful_flops", "executed_flops", "min_bytes", "workspace_bytes", "cost_params"]
    for c in cols:
        frame[c] = math.nan
    frame["method"] = None
    cache = {}
    has_layer = frame["layer"].notna()
    for index, row in frame[has_layer].iterrows():
        key = (row["benchmark"].rsplit(".", 1)[0], row["layer"], row.get("dtype"),
               row.get("algorithm"), row.get("counterpart"), row.get("mode"), row.get("peer"),
               row.get("scale"))
        if key not in cache:
            try:
                cache[key] = _row_cost(row)
            except Exception:  # an unknown layer (another catalogue): no cost, not zero
                cache[key] = None
        found = cache[key]
        if found is None:
            continue
        *numbers, method = found
        frame.loc[index, cols] = numbers
        frame.loc[index, "method"] = method
    frame["intensity"] = frame["executed_flops"] / frame["min_bytes"]
    timed = (frame["kind"] == "time") & (frame["status"] == "ok")
    seconds = frame["value"].where(timed)
    frame["gflops"] = frame["useful_flops"].where(frame["useful_flops"] > 0) / seconds / 1e9
    frame["gbps"] = frame["min_bytes"] / seconds / 1e9
    frame["executed_gflops"] = (frame["executed_flops"].where(frame["executed_flops"] > 0)
                                / seconds / 1e9)
    gemm, copy = _ceilings(frame)
    frame = frame.merge(gemm.drop_duplicates(["machine", "commit", "dtype", "threads"]),
                        on=["machine", "commit", "dtype", "threads"], how="left")
    frame = frame.merge(copy.drop_duplicates(["machine", "commit", "threads"]),
                        on=["machine", "commit", "threads"], how="left")
    frame["pct_peak_flops"] = 100 * frame["executed_gflops"] / frame["ceiling_gflops"]
    frame["pct_peak_bw"] = 100 * frame["gbps"] / frame["ceiling_gbps"]
    # thread scaling
    frame["speedup"] = math.nan
    frame["efficiency"] = math.nan
    time_ok = frame[(frame["kind"] == "time") & (frame["status"] == "ok")
                    & frame["threads"].notna()]
    key = _key(frame, {"threads"})
    one = time_ok[time_ok["threads"] == 1][key + ["value"]].rename(columns={"value": "_t1"})
    if len(one):
        merged = frame[key].astype(str).merge(one.astype({c: str for c in key}),
                                               on=key, how="left")
        t1 = merged["_t1"].astype(float).to_numpy()
        mask = ((frame["kind"] == "time") & (frame["status"] == "ok")).to_numpy()
        frame.loc[mask, "speedup"] = t1[mask] / frame.loc[mask, "value"].to_numpy()
        frame["efficiency"] = frame["speedup"] / pd.to_numeric(frame["threads"],
                                                              errors="coerce")
    # ours vs peers, counterparts vs deconvolution
    frame["vs_ours"] = math.nan
    frame["vs_deconv"] = math.nan
    ours = _ours_times(frame)
    if ours:
        for index, row in frame[timed].iterrows():
            ref = _our_case(row)
            if ref is not None and ref in ours:
                frame.loc[index, "vs_ours"] = row["value"] / ours[ref]
            if row["benchmark"] == COUNTERPART_TIME or row["benchmark"].startswith(
                    "bench_fused.UpsampleConv2d."):
                deconv = ours.get(("deconv", row["machine"], row["commit"], row["layer"],
                                   row["dtype"], row["threads"]))
                if deconv:
                    frame.loc[index, "vs_deconv"] = row["value"] / deconv
    # peak memory net of the baseline
    frame["peakmem_net"] = math.nan
    pm = frame[(frame["kind"] == "peakmem") & (frame["status"] == "ok")]
    base = pm[pm["benchmark"].str.endswith("peakmem_baseline")]
    if len(base):
        bkey = _key(frame, set()) + []
        bkey.remove("benchmark")
        bkey = bkey + ["_class"]
        frame["_class"] = frame["benchmark"].str.rsplit(".", n=1).str[0]
        b = frame.loc[base.index, bkey + ["value"]].rename(columns={"value": "_base"})
        merged = frame[bkey].astype(str).merge(b.astype({c: str for c in bkey}), on=bkey,
                                               how="left")
        net = frame["value"].to_numpy() - merged["_base"].astype(float).to_numpy()
        mask = ((frame["kind"] == "peakmem") & (frame["status"] == "ok")
                & ~frame["benchmark"].str.endswith("peakmem_baseline")).to_numpy()
        frame.loc[mask, "peakmem_net"] = net[mask]
        frame = frame.drop(columns="_class")
    return frame


def _ours_times(frame):
    ok = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    ours = {}
    for _, row in ok[ok["benchmark"] == DECONV_TIME].iterrows():
        if row["algorithm"] == "auto":
            ours[("deconv", row["machine"], row["commit"], row["layer"], row["dtype"],
                  row["threads"])] = row["value"]
    for _, row in ok[ok["benchmark"] == COUNTERPART_TIME].iterrows():
        ours[(row["counterpart"], row["machine"], row["commit"], row["layer"], row["dtype"],
              row["threads"])] = row["value"]
    return ours


def _our_case(row):
    """The key of suite's own timing of the case a peer row measures (None otherwise)."""
    cls = row["benchmark"].split(".")[1]
    common = (row["machine"], row["commit"], row["layer"], row["dtype"])
    if cls == "PeerDeconv2d":
        return ("deconv", *common, row["threads"])
    if cls == "TorchCounterpart":
        return (row["counterpart"], *common, row["threads"])
    if cls == "Cv2Resize":
        return (row["mode"], *common, row["threads"])
    if cls == "NumpyUpsample":
        return ("bilinear" if "bilinear" in str(row["peer"]) else "nearest", *common, 1)
    return None


def peer_name(row):
    cls = row["benchmark"].split(".")[1]
    return {"PeerDeconv2d": row.get("peer"), "TorchCounterpart": "torch",
            "Cv2Resize": "cv2", "NumpyUpsample": row.get("peer")}.get(cls)


# ----------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------

def format_number(value, digits=4):
    """The page's number format (the tests compare the tables with the frame through it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_MEASURED
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    value = float(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def format_seconds(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_MEASURED
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value:.3g} s"


def _figure(width=9.0, height=4.5, ncols=1, nrows=1):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.prop_cycle":
                         matplotlib.cycler(color=PALETTE), "axes.grid": True,
                         "grid.alpha": 0.3})
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    return fig, axes


def _png(fig):
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _spans_decades(values, decades=1.5):
    values = np.asarray([v for v in values if v and v > 0 and np.isfinite(v)])
    return len(values) > 1 and np.log10(values.max() / values.min()) >= decades


def _max_threads(frame):
    threads = pd.to_numeric(frame["threads"], errors="coerce").dropna()
    return int(threads.max()) if len(threads) else None


def _latest(frame):
    """Rows of each machine's newest commit (by date)."""
    if frame.empty:
        return frame
    newest = frame.sort_values("date").groupby("machine")["commit"].last()
    return frame[frame["commit"] == frame["machine"].map(newest)]


def method_table(frame):
    """Per layer x method: cost model figures and measured time / peak memory (newest commit
    of each machine, the most threads measured, float32 where measured)."""
    latest = _latest(frame)
    threads = _max_threads(latest)
    dtype = "float32" if (latest["dtype"] == "float32").any() else latest["dtype"].dropna().iloc[0]
    layers = [l for l in dict.fromkeys(latest["layer"].dropna())]
    rows = []
    for name in layers:
        try:
            layer = get_layer(name)
        except Exception:
            continue
        priced = costs.layer_costs(layer, np.dtype(dtype))
        for method in METHODS:
            if method not in priced:
                continue
            c = priced[method]
            sel = latest[(latest["layer"] == name) & (latest["dtype"] == dtype)]
            if method == "deconv":
                auto = _auto(layer) or next(iter(c.workspace_bytes))
                t = sel[(sel["benchmark"] == DECONV_TIME) & (sel["algorithm"] == "auto")]
                pm = sel[(sel["benchmark"] == "bench_deconv.Deconv2dPeakMem.peakmem_deconv2d")
                         & (sel["algorithm"] == "auto")]
                workspace = c.workspace_bytes[auto]
                flops = c.executed_flops[auto]
            else:
                t = sel[(sel["benchmark"] == COUNTERPART_TIME) & (sel["counterpart"] == method)]
                pm = sel[(sel["benchmark"] ==
                          "bench_counterparts.CounterpartPeakMem.peakmem_counterpart")
                         & (sel["counterpart"] == method)]
                algo = "unfused" if "unfused" in c.workspace_bytes else next(iter(
                    c.workspace_bytes))
                workspace = c.workspace_bytes[algo]
                flops = c.useful_flops
            t = t[t["threads"] == threads]
            pm = pm[pm["threads"] == threads]
            t_ok = t[t["status"] == "ok"]
            rows.append(dict(
                layer=name, method=method, useful_flops=c.useful_flops,
                executed_flops=flops, parameters=c.parameters, workspace_bytes=workspace,
                min_bytes=c.min_bytes,
                time_s=float(t_ok["value"].iloc[0]) if len(t_ok) else math.nan,
                time_iqr_s=float(t_ok["iqr"].iloc[0]) if len(t_ok) else math.nan,
                status=(t["status"].iloc[0] if len(t) else NOT_MEASURED),
                peakmem_net_bytes=(float(pm["peakmem_net"].iloc[0])
                                   if len(pm) and pm["status"].iloc[0] == "ok"
                                   else math.nan),
                vs_deconv=(float(t_ok["vs_deconv"].iloc[0]) if len(t_ok) and method != "deconv"
                           else (1.0 if len(t_ok) else math.nan))))
    return pd.DataFrame(rows), threads, dtype


def fig_methods(table, threads):
    panels = [("executed_flops", "FLOPs executed", "FLOP"), ("parameters", "parameters",
                                                              "count"),
              ("workspace_bytes", "workspace (cost model)", "bytes"),
              ("peakmem_net_bytes", "peak memory above baseline (measured)", "bytes"),
              ("time_s", f"time at {threads} thread(s) (median)", "seconds")]
    fig, axes = _figure(12, 9.5, ncols=2, nrows=3)
    layers = list(dict.fromkeys(table["layer"]))
    x = np.arange(len(layers))
    width = 0.8 / len(METHODS)
    for ax, (col, title, unit) in zip(axes.flat, panels):
        for i, method in enumerate(METHODS):
            sub = table[table["method"] == method].set_index("layer")
            vals = [sub[col].get(l, math.nan) if l in sub.index else math.nan for l in layers]
            shown = [v if (v is not None and np.isfinite(v) and v > 0) else np.nan for v in vals]
            ax.bar(x + (i - len(METHODS) / 2 + 0.5) * width, shown, width,
                   color=METHOD_COLOURS[method], label=method)
            if col == "time_s":
                err = [sub["time_iqr_s"].get(l, math.nan) if l in sub.index else math.nan
                       for l in layers]
                ax.errorbar(x + (i - len(METHODS) / 2 + 0.5) * width, shown,
                            yerr=np.asarray(err, dtype=float) / 2, fmt="none", ecolor="k",
                            lw=0.8)
        ax.set_title(title)
        if not table[col].gt(0).any():
            ax.text(0.5, 0.5, NOT_MEASURED, transform=ax.transAxes, ha="center",
                    va="center", fontsize=14, color="#666")
            ax.set_yticks([])
            ax.set_ylabel(unit)
        else:
            ax.set_yscale("log")
            ax.set_ylabel(unit + " (log)")
        ax.set_xticks(x, layers, rotation=20, fontsize=8)
    axes.flat[-1].axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    axes.flat[-1].legend(handles, labels, loc="center", title="method (missing bar: "
                         "zero or not measured)", fontsize=10)
    return _png(fig)


def fig_scaling(frame):
    latest = _latest(frame)
    sel = latest[(latest["kind"] == "time") & latest["speedup"].notna()
                 & latest["benchmark"].isin([DECONV_TIME, COUNTERPART_TIME,
                                             "bench_fused.UpsampleConv2d.time_upsample_conv2d"])]
    if sel["threads"].nunique() < 2:
        return None
    fig, axes = _figure(12, 4.5, ncols=2)
    sel = sel.copy()
    sel["series"] = sel.apply(lambda r: f"{r['layer']} " + (
        f"deconv/{r['algorithm']}" if r["benchmark"] == DECONV_TIME else
        f"{r['counterpart']}" if r["benchmark"] == COUNTERPART_TIME else f"{r['mode']} fused"),
        axis=1)
    markers = "osD^v<>p*h"
    for i, (series, g) in enumerate(sel.groupby("series")):
        g = g.sort_values("threads")
        colour = PALETTE[i % len(PALETTE)]
        m = markers[(i // len(PALETTE)) % len(markers)]
        axes[0, 0].plot(g["threads"], g["speedup"], marker=m, color=colour, label=series)
        axes[0, 1].plot(g["threads"], 100 * g["efficiency"], marker=m, color=colour)
    t = sorted(sel["threads"].unique())
    axes[0, 0].plot(t, t, "k--", lw=1, label="ideal")
    axes[0, 0].set(xlabel="threads", ylabel="speed-up over 1 thread (×)",
                   title="Thread scaling: speed-up")
    axes[0, 1].axhline(100, color="k", ls="--", lw=1)
    axes[0, 1].set(xlabel="threads", ylabel="parallel efficiency (%)",
                   title="Thread scaling: efficiency")
    for ax in axes.flat:
        ax.set_xticks(t)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=4,
               fontsize=7)
    fig.set_size_inches(12, 4.5 + 0.18 * (sel["series"].nunique() // 4 + 1))
    fig.tight_layout(rect=(0, 0.04 * (sel["series"].nunique() // 4 + 2), 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def fig_roofline(frame):
    latest = _latest(frame)
    threads = _max_threads(latest)
    ceil = latest[(latest["benchmark"] == GEMM) & (latest["status"] == "ok")
                  & (latest["threads"] == threads)]
    copy = latest[(latest["benchmark"] == COPY) & (latest["status"] == "ok")
                  & (latest["threads"] == threads)]
    pts = latest[(latest["kind"] == "time") & (latest["threads"] == threads)
                 & latest["executed_gflops"].notna() & latest["intensity"].notna()
                 & ~latest["benchmark"].str.startswith("bench_peers")]
    if pts.empty or ceil.empty or copy.empty:
        return None, "the GEMM / copy ceilings or the kernels were not measured"
    fig, axes = _figure(12, 6.5)
    ax = axes[0, 0]
    bw = float(copy["value"].iloc[0])
    xs = np.logspace(np.log10(max(pts["intensity"].min() / 3, 1e-2)),
                     np.log10(pts["intensity"].max() * 3), 100)
    for j, (_, c) in enumerate(ceil.iterrows()):
        peak = float(c["value"])
        ax.plot(xs, np.minimum(peak, xs * bw), color="k", ls=["-", "--"][j % 2], lw=1.2,
                label=f"roof: GEMM {c['dtype']} {peak:.1f} GFLOP/s, copy {bw:.1f} GB/s")
    kinds = pts.copy()
    kinds["series"] = kinds.apply(lambda r: (f"deconv {r['algorithm']}"
                                             if r["benchmark"] == DECONV_TIME else
                                             r["method"] + (" fused" if "fused" in
                                                            r["benchmark"] else "")
                                             if r["method"] else r["method"]), axis=1)
    cls = kinds["benchmark"].str.split(".").str[1]
    upsample = cls.isin(["Upsample", "UpsampleBackward"])
    kinds.loc[upsample, "series"] = ("upsample " + kinds.loc[upsample, "mode"].astype(str)
                                     + np.where(cls[upsample] == "UpsampleBackward",
                                                " backward", " (×scale)"))
    kinds["series"] = kinds["series"].fillna(cls)
    for i, (series, g) in enumerate(kinds.groupby("series")):
        ax.scatter(g["intensity"], g["executed_gflops"], color=PALETTE[i % len(PALETTE)],
                   marker="osD^v<>p*h"[i // len(PALETTE) % 10], label=series, zorder=3)
        for _, r in g.iterrows():
            ax.annotate(r["layer"], (r["intensity"], r["executed_gflops"]), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="arithmetic intensity (executed FLOPs / minimum bytes, FLOP/byte)",
           ylabel="achieved GFLOP/s (executed FLOPs / median time)",
           title=f"Roofline at {threads} thread(s), measured ceilings")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig), None


def fig_peers(frame):
    latest = _latest(frame)
    sel = latest[latest["vs_ours"].notna()].copy()
    if sel.empty:
        return None
    sel["peer_name"] = sel.apply(peer_name, axis=1)
    sel["case"] = sel.apply(lambda r: f"{r['layer']} {_our_case(r)[0]} "
                            f"t={_our_case(r)[-1]}", axis=1)
    fig, axes = _figure(12, max(4, 0.25 * sel["case"].nunique() + 1.5))
    ax = axes[0, 0]
    cases = list(dict.fromkeys(sel.sort_values(["layer", "threads"])["case"]))
    peers = list(dict.fromkeys(sel["peer_name"]))
    h = 0.8 / len(peers)
    y = np.arange(len(cases))
    for i, p in enumerate(peers):
        sub = sel[sel["peer_name"] == p].set_index("case")["vs_ours"]
        ax.barh(y + (i - len(peers) / 2 + 0.5) * h, [sub.get(c, np.nan) for c in cases], h,
                color=PALETTE[i % len(PALETTE)], label=p)
    ax.axvline(1, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(y, cases, fontsize=7)
    ax.set(xlabel="peer time / suite time (log; > 1: suite is faster)",
           title="Ours vs peers, same layer, data and thread count")
    ax.legend(fontsize=8)
    return _png(fig)


def fig_history(frame):
    ok = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    if ok["commit"].nunique() < 2:
        return None
    order = ok.groupby("commit")["date"].min().sort_values()
    fig, axes = _figure(12, 5)
    ax = axes[0, 0]
    keyed = ok.assign(case=ok["benchmark"].str.split(".").str[1] + " " + ok["params"])
    counts = keyed.groupby("case")["commit"].nunique()
    counts = counts[counts >= 2]
    first = {DECONV_TIME.split(".")[1]: 0, COUNTERPART_TIME.split(".")[1]: 1}
    cases = sorted(counts.index, key=lambda c: (-counts[c], first.get(c.split()[0], 2), c))[:12]
    for i, case in enumerate(cases):
        g = keyed[keyed["case"] == case].set_index("commit").reindex(order.index)
        ax.plot(range(len(order)), g["value"], marker="o", color=PALETTE[i % len(PALETTE)],
                label=case[:60])
    ax.set_xticks(range(len(order)), [c[:8] for c in order.index], rotation=30)
    ax.set_yscale("log")
    ax.set(xlabel="commit (oldest first)", ylabel="median time (s, log)",
           title="History over commits (cases measured at two or more commits)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def checkerboard_table(frame):
    measured = set(frame["layer"].dropna())
    rows = []
    for layer in DECONV_LAYERS:
        board = costs.layer_checkerboard(layer)
        rows.append(dict(layer=layer.name, kernel=layer.kernel, stride=layer.stride,
                         overlap_ratio=board["overlap_ratio"],
                         phase_sum_spread=board["phase_sum_spread"],
                         measured="yes" if layer.name in measured else "no"))
    return pd.DataFrame(rows)


def fig_checkerboard(table):
    fig, axes = _figure(11, 4.5, ncols=2)
    labels = [f"{r.layer}\nk{r.kernel} s{r.stride}" for r in table.itertuples()]
    x = np.arange(len(table))
    axes[0, 0].bar(x, table["overlap_ratio"], color=PALETTE[3])
    axes[0, 0].axhline(1, color="k", lw=1, ls="--")
    axes[0, 0].set(ylabel="overlap ratio (max/min, 1 = even)",
                   title="Checkerboard: uneven kernel overlap")
    axes[0, 1].bar(x, table["phase_sum_spread"], color=PALETTE[0])
    axes[0, 1].set(ylabel="spread of per-phase kernel sums",
                   title="Checkerboard: per-phase weight sums (layer's weights)")
    for ax, col in zip(axes.flat, ("overlap_ratio", "phase_sum_spread")):
        ax.set_xticks(x, labels, fontsize=7, rotation=30)
        ax.margins(y=0.15)
        for xi, v in zip(x, table[col]):
            ax.annotate(f"{v:.3g}", (xi, v), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
    return _png(fig)


# ----------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1250px;
margin:1.5em auto;padding:0 1em;color:#111;line-height:1.45}
h1{font-size:1.7em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.8em 0}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}
th{background:#eef4fa}td.t{text-align:left}.nm{color:#888;font-style:italic}
.fail{color:#D55E00;font-weight:bold}img{max-width:100%;height:auto;border:1px solid #ddd}
.warn{background:#fff4e0;border-left:4px solid #E69F00;padding:.5em 1em}
.q{font-style:italic;color:#333}code{background:#f4f4f4;padding:0 .2em}
"""


def _cell(value, fmt=None):
    if isinstance(value, str):
        cls = ' class="t nm"' if value == NOT_MEASURED else (
            ' class="t fail"' if value == "failed" else ' class="t"')
        return f"<td{cls}>{html.escape(value)}</td>"
    text = (fmt or format_number)(value)
    cls = ' class="nm"' if text == NOT_MEASURED else ""
    return f"<td{cls}>{html.escape(text)}</td>"


def html_table(table, columns, formats=None, table_id=None):
    """``table``'s ``columns`` ({column: header}) as an HTML table, numbers through
    :func:`format_number` (or ``formats[column]``); NaN shows as "not measured"."""
    formats = formats or {}
    attr = f' id="{table_id}"' if table_id else ""
    out = [f"<table{attr}><thead><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in columns.values()]
    out.append("</tr></thead><tbody>")
    for _, row in table.iterrows():
        out.append("<tr>" + "".join(_cell(row[c], formats.get(c)) for c in columns) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _img(b64, alt):
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _versions():
    out = {}
    for name in ("asv", "asv_runner", "numpy", "scipy", "pandas", "matplotlib", "threadpoolctl",
                 "torch", "cv2", "suite"):
        try:
            module = __import__(name)
            out[name] = getattr(module, "__version__", "?")
        except Exception:
            out[name] = NOT_MEASURED if name in ("torch", "cv2") else "not installed"
    out["python"] = platform.python_version()
    return out


def _thread_libraries():
    try:
        from threadpoolctl import threadpool_info

        return [f"{i['user_api']} {i['internal_api']} {i.get('version') or '?'} "
                f"({i.get('threading_layer') or i.get('architecture') or ''})"
                for i in threadpool_info()]
    except Exception as exc:
        return [f"unavailable ({exc})"]


def summary(frame, table):
    """Headline ratios and the per-layer winner, in numbers (list of HTML paragraphs/items)."""
    items = []
    if not table.empty:
        timed = table[table["time_s"].notna()]
        for layer, g in timed.groupby("layer", sort=False):
            best = g.loc[g["time_s"].idxmin()]
            dec = g[g["method"] == "deconv"]
            reason = (f"{format_number(best['executed_flops'])} FLOPs, "
                      f"{format_number(best['parameters'])} parameters, workspace "
                      f"{format_number(best['workspace_bytes'])} B")
            if len(dec) and best["method"] != "deconv":
                d = dec.iloc[0]
                items.append(
                    f"<li><b>{html.escape(layer)}</b>: <b>{html.escape(best['method'])}</b> "
                    f"wins ({format_seconds(best['time_s'])}, "
                    f"{d['time_s'] / best['time_s']:.2f}× faster than the deconvolution's "
                    f"{format_seconds(d['time_s'])}); it does {reason} vs "
                    f"{format_number(d['executed_flops'])} FLOPs and "
                    f"{format_number(d['parameters'])} parameters.</li>")
            else:
                others = g[g["method"] != best["method"]]
                nxt = others.loc[others["time_s"].idxmin()] if len(others) else None
                tail = (f", {nxt['time_s'] / best['time_s']:.2f}× ahead of "
                        f"{html.escape(nxt['method'])} ({format_seconds(nxt['time_s'])})"
                        if nxt is not None else "")
                items.append(f"<li><b>{html.escape(layer)}</b>: <b>"
                             f"{html.escape(best['method'])}</b> wins "
                             f"({format_seconds(best['time_s'])}{tail}); {reason}.</li>")
    latest = _latest(frame)
    peers = latest[latest["vs_ours"].notna()].copy()
    if len(peers):
        peers["peer_name"] = peers.apply(peer_name, axis=1)
        for p, g in peers.groupby("peer_name"):
            gm = float(np.exp(np.log(g["vs_ours"]).mean()))
            items.append(f"<li>vs <b>{html.escape(str(p))}</b>: geometric-mean time ratio "
                         f"{gm:.2f}× (peer / suite; > 1 means suite is faster) over "
                         f"{len(g)} cases, suite faster in {(g['vs_ours'] > 1).sum()}.</li>")
    eff = latest[latest["efficiency"].notna() & (latest["threads"] == _max_threads(latest))
                 & (latest["benchmark"] == DECONV_TIME)]
    if len(eff) and _max_threads(latest) and _max_threads(latest) > 1:
        items.append(f"<li>Deconvolution parallel efficiency at {_max_threads(latest)} "
                     f"threads: median {100 * eff['efficiency'].median():.0f}% "
                     f"(range {100 * eff['efficiency'].min():.0f}–"
                     f"{100 * eff['efficiency'].max():.0f}%).</li>")
    peak = latest[latest["pct_peak_flops"].notna() & (latest["benchmark"] == DECONV_TIME)]
    if len(peak):
        best = peak.loc[peak["pct_peak_flops"].idxmax()]
        items.append(f"<li>Best deconvolution reaches {best['pct_peak_flops']:.0f}% of the "
                     f"measured GEMM ceiling ({best['layer']}, {best['algorithm']}, "
                     f"{best['threads']} thread(s)).</li>")
    return items


def build_report(frame, problems, out_dir):
    """Write ``report.html`` and ``results.csv`` into ``out_dir``; return the HTML path."""
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, "results.csv")
    frame.to_csv(csv_path, index=False)
    parts = []
    machines = sorted(frame["machine"].unique())
    commits = frame.sort_values("date")["commit"].unique()
    parts.append(f"<h1>Deconvolution vs upsampling: benchmark report</h1><p>"
                 f"{len(frame):,} result rows from {frame['file'].nunique()} results file(s): "
                 f"machine(s) {', '.join(map(html.escape, machines))}; commit(s) "
                 f"{', '.join(c[:8] for c in commits)}. Generated "
                 f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by "
                 f"<code>python -m suite report</code>; data in <code>results.csv</code>.</p>")
    if problems:
        parts.append('<div class="warn"><b>Input problems</b> (skipped; the report is built '
                     "from the rest):<ul>" + "".join(f"<li>{html.escape(p)}</li>"
                                                     for p in problems) + "</ul></div>")
    table, threads, dtype = method_table(frame)
    # summary
    parts.append("<h2>Summary</h2>")
    items = summary(frame, table)
    parts.append("<ul>" + "".join(items) + "</ul>" if items else
                 f"<p class='nm'>No timings: {NOT_MEASURED}.</p>")
    # methods
    parts.append(f"<h2>Per layer: deconvolution vs nearest vs bilinear vs upsample+conv</h2>"
                 f"<p class='q'>Which way of upsampling each layer costs least in FLOPs, "
                 f"parameters, memory and time? ({dtype}, {threads} thread(s), the newest "
                 f"commit of each machine; time is asv's median, error bars the IQR; the "
                 f"deconvolution is <code>algorithm='auto'</code>.)</p>")
    if not table.empty:
        parts.append(_img(fig_methods(table, threads), "per-layer method comparison"))
        parts.append(html_table(table, {
            "layer": "layer", "method": "method", "executed_flops": "FLOPs executed",
            "parameters": "parameters", "workspace_bytes": "workspace (B)",
            "peakmem_net_bytes": "peak mem above baseline (B)", "time_s": "median time (s)",
            "time_iqr_s": "IQR (s)", "vs_deconv": "time / deconv time", "status": "status"},
            table_id="methods"))
    # scaling
    parts.append("<h2>Thread scaling</h2><p class='q'>How much faster does each kernel get "
                 "with more threads? (speed-up = time at 1 thread / time; efficiency = "
                 "speed-up / threads.)</p>")
    scaling = fig_scaling(frame)
    if scaling:
        parts.append(_img(scaling, "thread scaling"))
        sc = _latest(frame)
        sc = sc[sc["benchmark"].isin([DECONV_TIME, COUNTERPART_TIME])
                & sc["speedup"].notna() & (sc["threads"] != 1)]
        parts.append(html_table(sc, {"benchmark": "benchmark", "params": "parameters",
                                     "threads": "threads", "value": "median time (s)",
                                     "speedup": "speed-up", "efficiency": "efficiency"},
                                table_id="scaling"))
    else:
        parts.append(f"<p class='nm'>{NOT_MEASURED}: fewer than two thread counts.</p>")
    # roofline
    parts.append("<h2>Roofline</h2><p class='q'>How close does each kernel get to this "
                 "machine's measured limits (GEMM GFLOP/s, copy GB/s)?</p>")
    roof, why = fig_roofline(frame)
    if roof:
        parts.append(_img(roof, "roofline"))
        latest = _latest(frame)
        ceil = latest[latest["benchmark"].isin([GEMM, COPY])]
        parts.append(html_table(ceil, {"machine": "machine", "benchmark": "ceiling",
                                       "params": "parameters", "value": "value",
                                       "unit": "unit", "status": "status"},
                                table_id="ceilings"))
        rl = latest[(latest["benchmark"] == DECONV_TIME) & latest["pct_peak_flops"].notna()]
        parts.append(html_table(rl, {"params": "deconvolution (layer, dtype, algorithm, "
                                               "threads)",
                                     "executed_gflops": "executed GFLOP/s",
                                     "gflops": "useful GFLOP/s",
                                     "pct_peak_flops": "% of GEMM ceiling",
                                     "gbps": "GB/s (min bytes)",
                                     "pct_peak_bw": "% of copy ceiling"},
                                table_id="roofline"))
    else:
        parts.append(f"<p class='nm'>{NOT_MEASURED}: {why}.</p>")
    # peers
    parts.append("<h2>Ours vs peers</h2><p class='q'>Is suite faster than PyTorch, OpenCV "
                 "and NumPy on the same layers and data?</p>")
    peers = fig_peers(frame)
    if peers:
        parts.append(_img(peers, "ours vs peers"))
        pt = _latest(frame)
        pt = pt[pt["vs_ours"].notna()].copy()
        pt["peer"] = pt.apply(peer_name, axis=1)
        parts.append(html_table(pt, {"peer": "peer", "params": "parameters",
                                     "value": "peer median time (s)",
                                     "vs_ours": "peer / suite time"}, table_id="peers"))
    else:
        parts.append(f"<p class='nm'>{NOT_MEASURED}: no peer timings (PyTorch/OpenCV not "
                     "installed, or the peer benchmarks were not run).</p>")
    # history
    parts.append("<h2>History over commits</h2><p class='q'>Did a commit make a kernel "
                 "faster or slower?</p>")
    hist = fig_history(frame)
    parts.append(_img(hist, "history") if hist else
                 f"<p class='nm'>Only one commit measured ({NOT_MEASURED} over history).</p>")
    # checkerboard
    parts.append("<h2>Checkerboard overlap per deconvolution configuration</h2><p class='q'>"
                 "Which deconvolution geometries overlap unevenly (checkerboard artefacts)? "
                 "(suite.cost: overlap ratio of the kernel geometry; spread of the per-phase "
                 "sums of the layer's weights.)</p>")
    cb = checkerboard_table(frame)
    parts.append(_img(fig_checkerboard(cb), "checkerboard overlap"))
    parts.append(html_table(cb, {"layer": "layer", "kernel": "kernel", "stride": "stride",
                                 "overlap_ratio": "overlap ratio",
                                 "phase_sum_spread": "phase-sum spread",
                                 "measured": "timed in this campaign"},
                            table_id="checkerboard"))
    # failures and not measured
    parts.append("<h2>Failed and not measured</h2>")
    failed = frame[frame["status"] == "failed"]
    parts.append("<p>Failed benchmarks (asv stored <code>null</code>: an exception or a "
                 "timeout):</p>" + (html_table(failed, {"machine": "machine",
                                                         "commit": "commit",
                                                         "benchmark": "benchmark",
                                                         "params": "parameters",
                                                         "status": "status"},
                                               table_id="failed")
                                    if len(failed) else "<p>none</p>"))
    parts.append(_not_measured(frame))
    parts.append(_methodology(frame))
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>suite benchmark report</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
    path = os.path.join(out_dir, "report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _not_measured(frame):
    """Benchmarks some machine has results for and another machine has none; skipped
    combinations counted per benchmark."""
    out = []
    machines = sorted(frame["machine"].unique())
    if len(machines) > 1:
        have = frame[frame["status"] == "ok"].groupby("benchmark")["machine"].apply(set)
        rows = [(b, ", ".join(m for m in machines if m not in s)) for b, s in have.items()
                if len(s) < len(machines)]
        if rows:
            out.append("<p>Benchmarks without results on some machines (not measured there):"
                       "</p><ul>" + "".join(f"<li><code>{html.escape(b)}</code>: "
                                            f"{html.escape(m)}</li>" for b, m in rows)
                       + "</ul>")
    counts = frame.groupby(["benchmark", "status"]).size().unstack(fill_value=0)
    if "skipped" in counts and counts["skipped"].any():
        counts = counts[counts["skipped"] > 0].reset_index()
        counts["total"] = counts[[c for c in ("ok", "failed", "skipped") if c in counts]].sum(
            axis=1)
        out.append("<p>Parameter combinations not measured (asv stored NaN: skipped by the "
                   "benchmark, e.g. not in this profile or build, or the peer is not "
                   "installed), summed over the results files:</p>"
                   + html_table(counts, {"benchmark": "benchmark",
                                         "skipped": "not measured", "total": "combinations"},
                                table_id="skipped"))
    return "".join(out) or "<p>Every parameter combination was measured.</p>"


def _methodology(frame):
    first = frame.sort_values("date").iloc[-1]
    versions = _versions()
    rows = "".join(
        f"<tr><td class='t'>{html.escape(k)}</td><td class='t'>{html.escape(str(v))}</td></tr>"
        for k, v in [("machine(s)", ", ".join(sorted(frame["machine"].unique()))),
                     ("CPU", first["cpu"]), ("CPUs", first["num_cpu"]),
                     ("architecture", first["arch"]), ("OS", first["os"]),
                     ("RAM (bytes)", first["ram"]),
                     ("commit(s)", ", ".join(frame["commit"].unique())),
                     ("asv environment(s)", ", ".join(frame["env"].unique())),
                     ("benchmark python", first["python"]),
                     *[(f"{k} (report environment)", v) for k, v in versions.items()],
                     ("thread libraries (report environment)",
                      "; ".join(_thread_libraries()))])
    return ("<h2>Methodology</h2><table>" + rows + "</table><p>Measured with asv "
            "(<code>make campaign</code>: <code>asv run --python=same</code>, forkserver). "
            "Each <code>time_</code> figure is the median of all samples of all rounds; "
            "one sample holds about SAMPLE_TIME seconds of calls, each call timed on its own "
            "after a warm-up (benchmarks/common.py). The spread is asv's: IQR = q75 − q25 of "
            "the samples and a 99% confidence interval of the median (columns "
            "<code>q25</code>, <code>q75</code>, <code>iqr</code>, <code>ci99_lo</code>, "
            "<code>ci99_hi</code> of results.csv). <code>track_</code> throughput figures "
            "are the median of TRACK_TIME seconds of calls; GFLOP/s and GB/s derived here "
            "divide the cost model's FLOPs (suite.cost: useful FLOPs; executed FLOPs of the "
            "algorithm for the roofline) and minimum bytes by the median time. Peak memory is "
            "the process's maximum RSS minus the same setup's empty-body baseline. The "
            "ceilings are the same campaign's GEMM (scipy BLAS, 1024³) and 128 MiB copy "
            "at each thread count. Thread-library versions and package versions above are "
            "those of the environment that produced this report.</p>")


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m suite report",
                                     description="Build the HTML benchmark report from asv "
                                                 "results.")
    parser.add_argument("--results", default=".asv/results",
                        help="asv results directory (default: .asv/results)")
    parser.add_argument("--out", default=os.path.join("reports", "latest"),
                        help="output directory (default: reports/latest)")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # problems are printed below, once
        try:
            frame, problems = load_results(args.results)
        except ReportInputError as exc:
            raise SystemExit(f"python -m suite report: {exc}") from None
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    frame = derive(frame)
    path = build_report(frame, problems, args.out)
    print(os.path.abspath(os.path.join(args.out, "results.csv")))
    print(os.path.abspath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
