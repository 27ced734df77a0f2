"""The report's tables as frames (per layer x method, checkerboard per deconvolution) and
its number formats.
"""

import math

import numpy as np
import pandas as pd

from .. import costs
from ..catalogue import DECONV_LAYERS, get_layer
from .constants import (COUNTERPART_PEAKMEM, COUNTERPART_TIME, DECONV_PEAKMEM, DECONV_TIME,
                        METHODS, NOT_MEASURED)
from .derive import auto_algorithm, latest_rows, max_threads


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


def method_table(frame):
    """Per layer x method: cost model figures and measured time / peak memory (newest commit
    of each machine, the most threads measured, float32 where measured)."""
    latest = latest_rows(frame)
    threads = max_threads(latest)
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
                auto = auto_algorithm(layer) or next(iter(c.workspace_bytes))
                t = sel[(sel["benchmark"] == DECONV_TIME) & (sel["algorithm"] == "auto")]
                pm = sel[(sel["benchmark"] == DECONV_PEAKMEM)
                         & (sel["algorithm"] == "auto")]
                workspace = c.workspace_bytes[auto]
                flops = c.executed_flops[auto]
            else:
                t = sel[(sel["benchmark"] == COUNTERPART_TIME) & (sel["counterpart"] == method)]
                pm = sel[(sel["benchmark"] == COUNTERPART_PEAKMEM)
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
