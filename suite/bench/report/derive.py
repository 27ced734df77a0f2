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
from .constants import (COPY, COUNTERPART_TIME, DECONV_TIME, FUSED_CONV, GEMM,
                        PEAKMEM_BASELINE, PEERS)
from .load import parameter_columns
from .names import class_name, family


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
                                      layer.groups, padding=layer.padding)
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


def _key(frame, parameters, exclude):
    """The columns that tell one measured case from another (``parameters``: the
    benchmarks' parameter columns), less ``exclude``."""
    return [c for c in list(parameters) + ["machine", "commit", "env", "benchmark"]
            if c not in exclude and c in frame]


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
    time; < 1: the counterpart is faster). ``family`` (timed rows of suite's kernels: see
    :data:`~.names.FAMILIES`), ``peer_name`` and ``operation`` (``bench_peers`` rows: the
    peer and what it computes, as suite's timing of it names it). ``peakmem_net`` (peakmem
    rows: peak RSS minus the class's empty-body baseline).
    """
    parameters = parameter_columns(frame)
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
    key = _key(frame, parameters, {"threads"})
    one = (time_ok[time_ok["threads"] == 1][key + ["value"]].rename(columns={"value": "_t1"})
           .drop_duplicates(key))
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
    # names the page groups by: the kernel family of suite's timings, the peer and the
    # operation it is compared on of a peer's
    named = [c for c in ("benchmark", "kind", "counterpart", "configuration", "contestant")
             if c in frame]
    frame["family"] = [family(row) if row["kind"] == "time" else None
                       for _, row in frame[named].iterrows()]
    peers = frame["benchmark"].str.startswith(PEERS + ".")
    frame["peer_name"] = None
    frame["operation"] = None
    if peers.any():
        frame.loc[peers, "peer_name"] = frame[peers].apply(peer_name, axis=1)
        frame.loc[peers, "operation"] = frame[peers].apply(_peer_operation, axis=1)
    # peak memory net of the baseline
    frame["peakmem_net"] = math.nan
    pm = frame[(frame["kind"] == "peakmem") & (frame["status"] == "ok")]
    base = pm[pm["benchmark"].str.endswith(PEAKMEM_BASELINE)]
    if len(base):
        bkey = _key(frame, parameters, set())
        bkey.remove("benchmark")
        bkey = bkey + ["_class"]
        frame["_class"] = frame["benchmark"].str.rsplit(".", n=1).str[0]
        b = (frame.loc[base.index, bkey + ["value"]].rename(columns={"value": "_base"})
             .drop_duplicates(bkey))
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


def _peer_operation(row):
    """The operation a bench_peers row times, named as suite's own timing of it is."""
    cls = class_name(row["benchmark"])
    if cls.startswith("NumpyUpsample"):
        return _numpy_peer_mode(row)
    counterpart = row.get("counterpart")
    if isinstance(counterpart, str):
        return counterpart
    if "Deconv" in cls:
        return "deconv"
    mode = row.get("mode")
    if isinstance(mode, str):
        return mode
    return None


def our_case(row):
    """The key of suite's own timing of the case a peer row measures (None otherwise): any
    ``bench_peers`` timing of a deconvolution (class name with "Deconv"), of a counterpart
    (a ``counterpart`` parameter) or of an upsample (a ``mode`` parameter)."""
    if not str(row["benchmark"]).startswith(PEERS + ".") or row.get("kind") != "time":
        return None
    operation = _peer_operation(row)
    if operation is None:
        return None
    threads = row.get("threads")
    if threads is None or (isinstance(threads, float) and math.isnan(threads)) \
            or threads is pd.NA:
        threads = 1                 # peers that run on one thread by nature
    return (operation, row["machine"], row["commit"], row["layer"], row["dtype"], threads)


#: Peer benchmark classes without a ``peer`` parameter: the peer they time.
_CLASS_PEERS = {"TorchCounterpart": "torch", "Cv2Resize": "cv2"}


#: Parameters that name the peer a ``bench_peers`` class times, in the order looked for.
PEER_PARAMETERS = ("peer", "engine", "backend", "library")


def peer_name(row):
    """The peer a ``bench_peers`` row times: its :data:`PEER_PARAMETERS` parameter, else the
    one its class names (:data:`_CLASS_PEERS`, else the class name)."""
    for name in PEER_PARAMETERS:
        peer = row.get(name)
        if isinstance(peer, str) and peer:
            return peer
    cls = class_name(row["benchmark"])
    cls = cls[:-len("PeakMem")] if cls.endswith("PeakMem") else cls
    return _CLASS_PEERS.get(cls, cls)


def max_threads(frame):
    threads = pd.to_numeric(frame["threads"], errors="coerce").dropna()
    return int(threads.max()) if len(threads) else None


def latest_rows(frame):
    """Rows of each machine's newest commit (by date), in the environment that has the most
    results there (a history campaign and ``make campaign`` may both have measured it)."""
    if frame.empty:
        return frame
    newest = frame.sort_values("date", kind="stable").groupby("machine")["commit"].last()
    rows = frame[frame["commit"] == frame["machine"].map(newest)]
    counts = rows.groupby(["machine", "env"]).size().reset_index(name="n")
    best = counts.sort_values(["machine", "n"], kind="stable").groupby("machine")["env"].last()
    return rows[rows["env"] == rows["machine"].map(best)]


def machines(frame):
    """The machines of ``frame`` in a stable order (by name)."""
    return sorted(frame["machine"].dropna().astype(str).unique())
