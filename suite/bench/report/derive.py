"""The cost model joined to the loaded frame and the derived columns (throughput, fractions
of the measured ceilings, thread scaling, ratios to suite's own timings, peak memory net
of the baseline), and the row selections the tables, figures and page share.
"""

import math

import numpy as np
import pandas as pd

import suite
from suite import cost as C

from .. import costs
from ..catalogue import get_layer
from .constants import (COPY, COUNTERPART_TIME, DECONV_TIME, FUSED_CONV, GEMM, PARAM_COLUMNS,
                        PEAKMEM_BASELINE)


def _itemsize(dtype):
    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return 4


def _numpy_peer_mode(row):
    """The upsample mode a NumPy peer row computes (its ``peer`` names it)."""
    return "bilinear" if "bilinear" in str(row["peer"]) else "nearest"


def _upsample_arguments(layer, mode, **override):
    """The arguments of ``suite.cost.upsample_cost`` for ``layer``'s bare ``mode`` upsample
    (the catalogue's definition of that counterpart), with ``override`` replacing some."""
    _, arguments = layer.counterpart_operation(mode)
    return dict(arguments, **override)


def auto_algorithm(layer):
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
    cls = row["benchmark"].split(".")[1]
    algorithm, method, c = None, None, None
    if cls in ("Deconv2d", "PeerDeconv2d", "Deconv2dPeakMem", "PeerDeconv2dPeakMem"):
        c = costs.layer_costs(layer, np.dtype(f"f{itemsize}"))["deconv"]
        algorithm = row.get("algorithm")
        if algorithm == "auto":
            algorithm = auto_algorithm(layer)
        method = "deconv"
    elif cls == "Deconv2dBackward":
        c = costs.layer_costs(layer, np.dtype(f"f{itemsize}"), backward=True)["deconv_backward"]
        method = "deconv_backward"
    elif cls in ("Counterpart", "TorchCounterpart", "EngineCounterpart", "CounterpartPeakMem",
                 "TorchCounterpartPeakMem", "EngineCounterpartPeakMem"):
        method = row["counterpart"]
        algorithm = "unfused"
    elif cls in ("Cv2Resize", "Cv2ResizePeakMem"):
        method = row["mode"]
    elif cls in ("NumpyUpsample", "NumpyUpsamplePeakMem"):
        method = _numpy_peer_mode(row)
    elif cls in ("UpsampleConv2d", "UpsampleConv2dPeakMem"):
        method = f"{row['mode']}+conv3x3"
        algorithm = "fused"
    elif cls in ("UpsampleAdd", "UpsampleAddPeakMem"):
        method = f"{row['mode']}+add"
        algorithm = "fused"
    elif cls in ("Upsample", "UpsamplePeakMem"):
        mode = row["mode"]
        c = C.upsample_cost(**_upsample_arguments(layer, mode, scale_factor=row["scale"]),
                            itemsize=itemsize)
        method = mode if row["scale"] == layer.scale_factor else None
    elif cls in ("UpsampleBackward",):
        c = C.upsample_backward_cost(**_upsample_arguments(layer, row["mode"]),
                                     itemsize=itemsize)
    else:
        return None
    if c is None:  # one of the layer's counterparts, priced as the catalogue defines it
        c = costs.counterpart_cost(layer, method, np.dtype(f"f{itemsize}"))
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
            ref = our_case(row)
            if ref is not None and ref in ours:
                frame.loc[index, "vs_ours"] = row["value"] / ours[ref]
            if row["benchmark"] == COUNTERPART_TIME or row["benchmark"].startswith(
                    FUSED_CONV + "."):
                deconv = ours.get(("deconv", row["machine"], row["commit"], row["layer"],
                                   row["dtype"], row["threads"]))
                if deconv:
                    frame.loc[index, "vs_deconv"] = row["value"] / deconv
    # peak memory net of the baseline
    frame["peakmem_net"] = math.nan
    pm = frame[(frame["kind"] == "peakmem") & (frame["status"] == "ok")]
    base = pm[pm["benchmark"].str.endswith(PEAKMEM_BASELINE)]
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
                & ~frame["benchmark"].str.endswith(PEAKMEM_BASELINE)).to_numpy()
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


def our_case(row):
    """The key of suite's own timing of the case a peer row measures (None otherwise)."""
    cls = row["benchmark"].split(".")[1]
    common = (row["machine"], row["commit"], row["layer"], row["dtype"])
    if cls == "PeerDeconv2d":
        return ("deconv", *common, row["threads"])
    if cls in ("TorchCounterpart", "EngineCounterpart"):
        return (row["counterpart"], *common, row["threads"])
    if cls == "Cv2Resize":
        return (row["mode"], *common, row["threads"])
    if cls == "NumpyUpsample":
        return (_numpy_peer_mode(row), *common, 1)
    return None


def peer_name(row):
    """The peer a row of bench_peers measures: torch, torch-im2col, cv2, onnxruntime,
    openvino, numpy-repeat, reference... (None for other rows)."""
    cls = row["benchmark"].split(".")[1]
    return {"PeerDeconv2d": row.get("peer"), "TorchCounterpart": "torch",
            "EngineCounterpart": row.get("peer"), "Cv2Resize": "cv2",
            "NumpyUpsample": row.get("peer")}.get(cls)


def max_threads(frame):
    threads = pd.to_numeric(frame["threads"], errors="coerce").dropna()
    return int(threads.max()) if len(threads) else None


def latest_rows(frame):
    """Rows of each machine's newest commit (by date)."""
    if frame.empty:
        return frame
    newest = frame.sort_values("date").groupby("machine")["commit"].last()
    return frame[frame["commit"] == frame["machine"].map(newest)]
