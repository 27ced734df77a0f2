"""The report's tables as frames: per machine, layer and method (cost model and measured),
the headline (which method of each layer costs least, and by how much), the checkerboard per
deconvolution, each machine's ceilings, and the machines side by side.
"""

import math

import numpy as np
import pandas as pd

from .. import costs
from ..catalogue import DECONV_LAYERS, get_layer
from .constants import (COPY, COUNTERPART_PEAKMEM, COUNTERPART_TIME, DECONV_PEAKMEM,
                        DECONV_TIME, FUSED_ADD_TIME, FUSED_CONV_TIME, GEMM, METHODS,
                        NOT_MEASURED, SWEEP_TIME)
from .derive import auto_algorithm, latest_rows, machines
from .names import sweep_kind

#: The criteria of the headline: column of :func:`method_table`, and what it is.
CRITERIA = [("time_s", "time"), ("executed_flops", "FLOPs"), ("parameters", "parameters"),
            ("memory_bytes", "memory")]


def _threads_of(rows):
    threads = pd.to_numeric(rows["threads"], errors="coerce").dropna()
    return int(threads.max()) if len(threads) else None


def _first(rows, column="value"):
    ok = rows[rows["status"] == "ok"]
    return float(ok[column].iloc[0]) if len(ok) else math.nan


def _machine_methods(latest, machine):
    """The method rows of one machine (its newest commit, most threads, float32 if any)."""
    mine = latest[latest["machine"] == machine]
    timed = mine[mine["benchmark"].isin([DECONV_TIME, COUNTERPART_TIME, FUSED_CONV_TIME,
                                         FUSED_ADD_TIME]) & (mine["status"] == "ok")]
    if timed.empty:
        return []
    threads = _threads_of(timed)
    dtype = "float32" if (timed["dtype"] == "float32").any() else timed["dtype"].iloc[0]
    sel = mine[(mine["dtype"] == dtype) & (mine["threads"] == threads)]
    rows = []
    for name in dict.fromkeys(timed["layer"].dropna()):
        try:
            layer = get_layer(name)
        except Exception:        # a layer of another catalogue: no cost model here
            continue
        priced = costs.layer_costs(layer, np.dtype(dtype))
        here = sel[sel["layer"] == name]
        for method in METHODS:
            if method not in priced:
                continue
            c = priced[method]
            variants = []
            if method == "deconv":
                auto = auto_algorithm(layer) or next(iter(c.workspace_bytes))
                variants.append((f"auto ({auto})", auto,
                                 here[(here["benchmark"] == DECONV_TIME)
                                      & (here["algorithm"] == "auto")],
                                 here[(here["benchmark"] == DECONV_PEAKMEM)
                                      & (here["algorithm"] == "auto")]))
            else:
                unfused = "unfused" if "unfused" in c.workspace_bytes else next(
                    iter(c.workspace_bytes))
                variants.append(("unfused" if "+" in method else "suite.upsample", unfused,
                                 here[(here["benchmark"] == COUNTERPART_TIME)
                                      & (here["counterpart"] == method)],
                                 here[(here["benchmark"] == COUNTERPART_PEAKMEM)
                                      & (here["counterpart"] == method)]))
                fused_bench = (FUSED_CONV_TIME if method.endswith("+conv3x3") else
                               FUSED_ADD_TIME if method.endswith("+add") else None)
                if fused_bench and "fused" in c.workspace_bytes:
                    mode = method.split("+")[0]
                    t = here[(here["benchmark"] == fused_bench) & (here["mode"] == mode)]
                    if (t["status"] == "ok").any():
                        variants.append(("fused", "fused", t, t.iloc[0:0]))
            for implementation, algorithm, t, pm in variants:
                t_ok = t[t["status"] == "ok"]
                time_s = _first(t)
                rows.append(dict(
                    machine=machine, layer=name, method=method,
                    implementation=implementation, dtype=dtype, threads=threads,
                    useful_flops=c.useful_flops,
                    executed_flops=c.executed_flops.get(algorithm, c.useful_flops),
                    parameters=c.parameters,
                    workspace_bytes=c.workspace_bytes.get(algorithm, math.nan),
                    min_bytes=c.min_bytes,
                    memory_bytes=c.min_bytes + c.workspace_bytes.get(algorithm, 0),
                    time_s=time_s,
                    time_iqr_s=float(t_ok["iqr"].iloc[0]) if len(t_ok) else math.nan,
                    status=(t["status"].iloc[0] if len(t) else NOT_MEASURED),
                    peakmem_net_bytes=_first(pm, "peakmem_net") if len(pm) else math.nan))
    return rows


def method_table(frame):
    """Per machine x layer x method x implementation: the cost model's figures and the
    measured time and peak memory, at each machine's newest commit, the most threads it
    measured and float32 where measured. Columns: ``machine``, ``layer``, ``method``,
    ``implementation`` ("auto (phase)", "unfused", "fused", ...), ``dtype``, ``threads``,
    ``useful_flops``, ``executed_flops`` (of that implementation's algorithm),
    ``parameters``, ``workspace_bytes``, ``min_bytes``, ``memory_bytes`` (min bytes +
    workspace: what the layer holds at least), ``time_s``, ``time_iqr_s``, ``status``,
    ``peakmem_net_bytes`` and ``vs_deconv`` (time / the deconvolution's on that machine)."""
    latest = latest_rows(frame)
    rows = []
    for machine in machines(latest):
        rows.extend(_machine_methods(latest, machine))
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    deconv = table[table["method"] == "deconv"].set_index(["machine", "layer"])["time_s"]
    keys = list(zip(table["machine"], table["layer"]))
    table["vs_deconv"] = [t / deconv.get(k, math.nan) if k in deconv.index else math.nan
                          for t, k in zip(table["time_s"], keys)]
    return table


def headline_table(table):
    """Per machine and layer, for each of :data:`CRITERIA` (``c``): the method that costs
    least (``c_best``; ``c_ties``: other methods with the same figure; ``c_implementation``:
    the implementation that achieved it), its figure (``c_value``) and what it is compared
    with (``c_other``, ``c_other_value``): the deconvolution or, where the deconvolution
    wins, the cheapest other method. Each method counts with its cheapest implementation."""
    rows = []
    if table.empty:
        return pd.DataFrame(rows)
    for (machine, layer), g in table.groupby(["machine", "layer"], sort=False):
        row = dict(machine=machine, layer=layer, threads=g["threads"].iloc[0],
                   dtype=g["dtype"].iloc[0])
        for column, _ in CRITERIA:
            valid = g[g[column].notna()]
            if valid.empty:
                continue
            per_method = valid.loc[valid.groupby("method", sort=False)[column].idxmin()]
            low = per_method[column].min()
            tied = per_method[np.isclose(per_method[column], low, rtol=1e-9, atol=0)]
            best = tied.iloc[0]
            others = per_method[~per_method["method"].isin(tied["method"])]
            if best["method"] != "deconv" and (others["method"] == "deconv").any():
                other = others[others["method"] == "deconv"].iloc[0]
            elif len(others):
                other = others.loc[others[column].idxmin()]
            else:
                other = None
            row[f"{column}_best"] = best["method"]
            row[f"{column}_ties"] = list(tied["method"].iloc[1:])
            row[f"{column}_implementation"] = best["implementation"]
            row[f"{column}_value"] = best[column]
            row[f"{column}_other"] = None if other is None else other["method"]
            row[f"{column}_other_value"] = math.nan if other is None else other[column]
        rows.append(row)
    return pd.DataFrame(rows)


def ceilings_table(frame):
    """Per machine (newest commit): GEMM GFLOP/s of each dtype and copy GB/s, at one thread
    and at the most threads measured (columns ``gemm_float32_1``, ``gemm_float32_max``,
    ``gemm_float64_*``, ``copy_1``, ``copy_max``, ``max_threads``)."""
    latest = latest_rows(frame)
    ok = latest[(latest["status"] == "ok") & latest["benchmark"].isin([GEMM, COPY])]
    rows = []
    for machine in machines(latest):
        mine = ok[ok["machine"] == machine]
        row = dict(machine=machine, max_threads=_threads_of(mine) if len(mine) else None)
        for name, bench, dtype in (("gemm_float32", GEMM, "float32"),
                                   ("gemm_float64", GEMM, "float64"), ("copy", COPY, None)):
            sel = mine[mine["benchmark"] == bench]
            if dtype:
                sel = sel[sel["dtype"] == dtype]
            one = sel[sel["threads"] == 1]
            top = sel[sel["threads"] == row["max_threads"]]
            row[f"{name}_1"] = float(one["value"].iloc[0]) if len(one) else math.nan
            row[f"{name}_max"] = float(top["value"].iloc[0]) if len(top) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def side_by_side(frame, reference=None):
    """The timings several machines share (same benchmark and parameters, each machine's
    newest commit): one row per case and machine with ``relative`` = its time / the
    ``reference`` machine's (default: the machine with the most timings); cases only some
    machines measured are left out. Returns ``(rows, reference)``."""
    latest = latest_rows(frame)
    timed = latest[(latest["kind"] == "time") & (latest["status"] == "ok")]
    names = machines(timed)
    if len(names) < 2:
        return pd.DataFrame(), None
    if reference is None:
        counts = timed.groupby("machine").size()
        reference = str(counts.sort_values(ascending=False, kind="stable").index[0])
    timed = timed.assign(case=timed["benchmark"] + "(" + timed["params"].astype(str) + ")")
    shared = timed.groupby("case")["machine"].nunique()
    ref = timed[timed["machine"] == reference].drop_duplicates("case").set_index("case")[
        "value"]
    rows = timed[timed["case"].isin(shared[shared >= 2].index) & timed["case"].isin(ref.index)]
    rows = rows.drop_duplicates(["machine", "case"]).copy()
    rows["relative"] = rows["value"].to_numpy() / rows["case"].map(ref).to_numpy()
    return rows, reference


def sweep_table(frame):
    """The layers never tuned on (``bench_sweep``), each machine's newest commit: one row
    per machine, configuration, thread count and contestant other than suite, with
    ``kind`` (:func:`sweep_kind`), the contestant's ``value`` (median time), suite's
    ``suite_value`` and ``ratio`` = contestant time / suite time (> 1: suite faster)."""
    latest = latest_rows(frame)
    ok = latest[(latest["benchmark"] == SWEEP_TIME) & (latest["status"] == "ok")]
    if ok.empty or "contestant" not in ok:
        return pd.DataFrame()
    key = ["machine", "configuration", "threads"]
    suite_times = (ok[ok["contestant"] == "suite"].drop_duplicates(key)
                   .set_index(key)["value"].rename("suite_value"))
    others = ok[ok["contestant"] != "suite"].join(suite_times, on=key, how="inner")
    others = others.assign(kind=others["configuration"].map(sweep_kind),
                           ratio=others["value"] / others["suite_value"])
    return others[["machine", "configuration", "kind", "threads", "contestant", "value",
                   "suite_value", "ratio"]].reset_index(drop=True)


def checkerboard_table(frame):
    """Per catalogue deconvolution: its kernel and stride, the overlap ratio and the spread
    of the per-phase sums of its weights (suite.cost; the same on every machine), and
    whether these results timed it."""
    measured = set(frame["layer"].dropna())
    rows = []
    for layer in DECONV_LAYERS:
        board = costs.layer_checkerboard(layer)
        rows.append(dict(layer=layer.name, kernel=layer.kernel, stride=layer.stride,
                         overlap_ratio=board["overlap_ratio"],
                         phase_sum_spread=board["phase_sum_spread"],
                         measured="yes" if layer.name in measured else "no"))
    return pd.DataFrame(rows)
