"""The page's sections that draw the measurements: deconvolution vs upsampling per layer,
thread scaling, roofline, peers, history, checkerboard (and where the time goes), with the
helpers every section shares. Each section is a function ``(frame, context) -> html``
(registered in :mod:`.page`): ``frame`` is the derived tidy frame, ``context`` the
:class:`.page.Context` (environment, machines, figures, shared tables). A section whose data
the results do not hold raises :class:`~.constants.NotMeasured` with one line saying what is
missing; a section names every machine of the results, those it has no data for in a note
(:func:`absent_note`).
"""

import math
import os

import pandas as pd

from ..catalogue import LAYERS
from ..timing import geomean
from .constants import NotMeasured
from .load import ReportInputError
from .derive import latest_rows
from .figures import (fig_checkerboard, fig_costs, fig_history, fig_measured, fig_peers,
                      fig_roofline, fig_scaling, fig_stages, fig_sweep, fig_timeline,
                      history_frame)
from .markup import esc, html_table, note
from .names import benchmark_label, case_label, commit_label, method_label, peer_label
from .tables import checkerboard_table, method_table, sweep_table
from .units import (format_bytes, format_bytes_above, format_count, format_flops, format_gbps,
                    format_gflops, format_percent, format_ratio, format_seconds)

DESCRIPTIONS = {layer.name: layer.description for layer in LAYERS}
def layer_cell(name):
    """A layer's name with its description, as a ready table cell (html, sort key)."""
    description = DESCRIPTIONS.get(name, "")
    return (f'<span title="{esc(description)}">{esc(name)}</span>'
            + (f"<br><small>{esc(description)}</small>" if description else ""), None)


def method_rows(context, frame):
    """:func:`~.tables.method_table` of ``frame``, computed once per page."""
    return context.cached("methods", lambda: method_table(frame))


def figure_first(context, figure, alt, caption, why):
    """The section's opening figure, or :class:`NotMeasured` (``why``) when there is none."""
    if figure is None:
        raise NotMeasured(why)
    return [context.figure(figure, alt, caption)]


def absent_note(context, present, what):
    """A note naming the machines of the results that are not among ``present``."""
    absent = [m for m in context.machines if m not in set(present)]
    return note(f"{what} not measured on {', '.join(absent)}.") if absent else ""


# ---------------------------------------------------------------------------------------
# deconvolution vs upsampling
# ---------------------------------------------------------------------------------------

def costs(frame, context):
    table = method_rows(context, frame)
    if table.empty:
        raise NotMeasured("no timing of a catalogue layer (bench_deconv, bench_counterparts)")
    out = [context.figure(fig_costs(table), "cost model per layer and method",
                          f"Cost model (suite.cost), the same on every machine "
                          f"({', '.join(context.machines)}): FLOPs "
                          "executed, parameters and memory per layer and method (log "
                          "scale).")]
    measured = fig_measured(table)
    if measured:
        out.append(context.figure(measured, "measured time and memory per layer",
                                  "Measured on each machine (one row of panels per "
                                  "machine): median time and peak memory above the "
                                  "benchmark's empty baseline; each method's best "
                                  "implementation."))
    out.append(absent_note(context, table.loc[table["time_s"].notna(), "machine"],
                       "The layers' timings were"))
    view = table.copy()
    view["method_name"] = view["method"].map(method_label)
    columns = {"machine": "machine", "layer": "layer", "method_name": "method",
               "implementation": "implementation", "threads": "threads",
               "executed_flops": "FLOPs executed", "parameters": "parameters",
               "workspace_bytes": "workspace", "memory_bytes": "memory (model)",
               "time_s": "median time", "time_iqr_s": "IQR",
               "peakmem_net_bytes": "peak memory (measured)",
               "vs_deconv": "time / deconvolution's", "status": "status"}
    out.append(html_table(view, columns, formats={
        "executed_flops": format_flops, "parameters": format_count,
        "workspace_bytes": format_bytes, "memory_bytes": format_bytes,
        "time_s": format_seconds, "time_iqr_s": format_seconds,
        "peakmem_net_bytes": format_bytes_above, "vs_deconv": format_ratio,
        "threads": lambda v: f"{v:.0f}"}, table_id="methods", fold=True,
        summary=f"every layer, method and implementation ({len(view):,} rows)"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# thread scaling
# ---------------------------------------------------------------------------------------

def scaling(frame, context):
    out = figure_first(context, fig_scaling(frame), "thread scaling",
                        "Speed-up over one thread of suite's kernels on each machine (newest "
                        "commit); dashed: ideal.",
                        "no machine measured two or more thread counts")
    latest = latest_rows(frame)
    sc = latest[latest["family"].notna() & latest["speedup"].notna()
                & (latest["threads"] != 1)].copy()
    sc["what"] = [benchmark_label(b) for b in sc["benchmark"]]
    sc["case"] = [case_label(r, skip=("threads",)) for _, r in sc.iterrows()]
    summary = (sc.groupby(["machine", "family", "threads"])
               .agg(cases=("speedup", "size"), median=("speedup", "median"),
                    low=("speedup", "min"), high=("speedup", "max"))
               .reset_index())
    summary["efficiency"] = 100 * summary["median"] / summary["threads"].astype(float)
    out.append(absent_note(context, sc["machine"], "Two or more thread counts were"))
    out.append(html_table(summary, {"machine": "machine", "family": "kernel family",
                                    "threads": "threads", "cases": "cases",
                                    "median": "median speed-up", "low": "least",
                                    "high": "most", "efficiency": "median efficiency"},
                          formats={"median": format_ratio, "low": format_ratio,
                                   "high": format_ratio, "efficiency": format_percent,
                                   "cases": lambda v: f"{v:.0f}",
                                   "threads": lambda v: f"{v:.0f}"},
                          table_id="scaling-summary", fold=False))
    out.append(html_table(sc, {"machine": "machine", "what": "kernel", "case": "case",
                               "threads": "threads", "value": "median time",
                               "speedup": "speed-up", "efficiency": "efficiency"},
                          formats={"value": format_seconds, "speedup": format_ratio,
                                   "efficiency": lambda v: format_percent(100 * v),
                                   "threads": lambda v: f"{v:.0f}"},
                          table_id="scaling",
                          summary=f"every kernel and thread count ({len(sc):,} rows)"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# roofline
# ---------------------------------------------------------------------------------------

def roofline(frame, context):
    out = figure_first(context, fig_roofline(frame), "roofline",
                        "Each machine's kernels under its own measured roofs (GEMM GFLOP/s "
                        "per dtype, copy GB/s), at the most threads it measured. Kernels "
                        "that execute no FLOPs (nearest upsampling) are not on a roofline: "
                        "see their GB/s in the table. Above 100%: the data fit in a cache, "
                        "while the copy roof is measured out of cache.",
                        "the GEMM and copy ceilings (bench_ceilings) or the kernels were not "
                        "measured at the same thread count")
    latest = latest_rows(frame)
    rl = latest[latest["family"].notna() & (latest["kind"] == "time")
                & (latest["status"] == "ok")
                & (latest["pct_peak_flops"].notna() | latest["pct_peak_bw"].notna())].copy()
    out.append(absent_note(context, rl["machine"], "The ceilings and kernels at one thread count "
                                               "were"))
    rl["what"] = [benchmark_label(b) for b in rl["benchmark"]]
    rl["case"] = [case_label(r) for _, r in rl.iterrows()]
    out.append(html_table(rl, {"machine": "machine", "what": "kernel", "case": "case",
                               "value": "median time", "executed_gflops": "GFLOP/s executed",
                               "pct_peak_flops": "% of GEMM ceiling",
                               "gbps": "GB/s (least bytes)",
                               "pct_peak_bw": "% of copy ceiling"},
                          formats={"value": format_seconds, "executed_gflops": format_gflops,
                                   "pct_peak_flops": format_percent, "gbps": format_gbps,
                                   "pct_peak_bw": format_percent},
                          table_id="roofline",
                          summary=f"every kernel against its machine's ceilings "
                                  f"({len(rl):,} rows)"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------------------

def peers(frame, context):
    out = figure_first(context, fig_peers(frame), "suite vs peers",
                        "Peer time / suite's time on the same layer, data and thread count, "
                        "per machine (newest commit).",
                        "no peer timings (PyTorch, OpenCV, ... not installed, or bench_peers "
                        "not run)")
    latest = latest_rows(frame)
    pt = latest[latest["vs_ours"].notna() & latest["peer_name"].notna()].copy()
    out.append(absent_note(context, pt["machine"], "Peers were"))
    pt["peer"] = pt["peer_name"].map(peer_label)
    pt["op"] = pt["operation"].map(method_label)
    summary = (pt.groupby(["machine", "peer", "op"])
               .agg(cases=("vs_ours", "size"), gmean=("vs_ours", geomean),
                    low=("vs_ours", "min"), high=("vs_ours", "max"),
                    faster=("vs_ours", lambda v: int((v > 1).sum())))
               .reset_index())
    out.append(html_table(summary, {"machine": "machine", "peer": "peer", "op": "operation",
                                    "cases": "cases", "faster": "suite faster in",
                                    "gmean": "peer / suite (geometric mean)",
                                    "low": "least", "high": "most"},
                          formats={"gmean": format_ratio, "low": format_ratio,
                                   "high": format_ratio, "cases": lambda v: f"{v:.0f}",
                                   "faster": lambda v: f"{v:.0f}"},
                          table_id="peers-summary", fold=False))
    pt["case"] = [case_label(r, skip=("peer", "counterpart", "mode")) for _, r in
                  pt.iterrows()]
    out.append(html_table(pt, {"machine": "machine", "peer": "peer", "op": "operation",
                               "case": "case", "value": "peer median time",
                               "vs_ours": "peer / suite"},
                          formats={"value": format_seconds, "vs_ours": format_ratio},
                          table_id="peers", summary=f"every case ({len(pt):,} rows)"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------------------

def history(frame, context):
    figure = fig_history(frame)
    if figure is None:
        counts = frame.groupby("machine")["commit"].nunique()
        raise NotMeasured("one commit per machine (" + ", ".join(
            f"{m}: {commit_label(c)}" for m, c in frame.groupby("machine")["commit"].first()
            .items()) + "); a history needs a campaign over several commits: asv run "
            "A..B" if counts.max() < 2 else "no case was timed at two commits")
    out = [context.figure(figure, "history",
                          "Time of each case relative to its time at the oldest commit "
                          "measured, per machine (the asv environment with the most "
                          "commits).")]
    hist = history_frame(frame)
    out.append(absent_note(context, hist["machine"], "Two or more commits were"))
    order = hist.groupby(["machine", "commit"])["date"].min().reset_index()
    rows = []
    for (machine, fam), g in hist.groupby(["machine", "family"]):
        first_last = order[order["machine"] == machine].sort_values("date")
        last = first_last["commit"].iloc[-1]
        at_last = g[g["commit"] == last]
        rows.append(dict(machine=machine, family=fam, env=g["env"].iloc[0],
                         cases=g["case"].nunique(), commits=g["commit"].nunique(),
                         change=geomean(at_last["relative"]) if len(at_last) else math.nan,
                         best=at_last["relative"].min() if len(at_last) else math.nan,
                         worst=at_last["relative"].max() if len(at_last) else math.nan))
    out.append(html_table(pd.DataFrame(rows), {
        "machine": "machine", "family": "kernel family", "env": "asv environment",
        "cases": "cases", "commits": "commits", "change": "newest / oldest (geometric mean)",
        "best": "least", "worst": "most"},
        formats={"change": format_ratio, "best": format_ratio, "worst": format_ratio,
                 "cases": lambda v: f"{v:.0f}", "commits": lambda v: f"{v:.0f}"},
        table_id="history-summary", fold=False))
    hist = hist.copy()
    hist["what"] = [benchmark_label(b) for b in hist["benchmark"]]
    hist["commit_name"] = [commit_label(c, d) for c, d in zip(hist["commit"], hist["date"])]
    hist["case_name"] = [case_label(r) for _, r in hist.iterrows()]
    out.append(html_table(hist, {"machine": "machine", "what": "kernel",
                                 "case_name": "case", "commit_name": "commit",
                                 "value": "median time", "relative": "vs oldest"},
                          formats={"value": format_seconds, "relative": format_ratio},
                          table_id="history",
                          summary=f"every case at every commit ({len(hist):,} rows)"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# checkerboard
# ---------------------------------------------------------------------------------------

def checkerboard(frame, context):
    table = checkerboard_table(frame)
    out = [context.figure(fig_checkerboard(table), "checkerboard overlap",
                          f"Cost model (suite.cost), the same on every machine "
                          f"({', '.join(context.machines)}): how unevenly "
                          "each catalogue deconvolution's kernel covers its output (a ratio "
                          "above 1 is prone to checkerboard artefacts), and the spread of "
                          "the per-phase sums of the layer's weights.")]
    out.append(html_table(table, {"layer": "layer", "kernel": "kernel", "stride": "stride",
                                  "overlap_ratio": "overlap ratio",
                                  "phase_sum_spread": "phase-sum spread",
                                  "measured": "timed in these results"},
                          table_id="checkerboard",
                          summary=f"every catalogue deconvolution ({len(table)})"))
    return "".join(out)


def sweep(frame, context):
    table = sweep_table(frame)
    out = figure_first(context, fig_sweep(table), "layers never tuned on",
                       "Configurations drawn at random on a fixed seed (python -m suite "
                       "compare --sweep; benchmarks/bench_sweep.py), the same on every "
                       "machine: each contestant's time / suite's, per machine (newest "
                       "commit).",
                       "no sweep of layers never tuned on (benchmarks/bench_sweep.py)")
    out.append(absent_note(context, table["machine"], "The sweep was"))
    table = table.assign(peer=table["contestant"].map(peer_label))
    summary = (table.groupby(["machine", "peer", "kind", "threads"])
               .agg(cases=("ratio", "size"), gmean=("ratio", geomean),
                    low=("ratio", "min"), high=("ratio", "max"),
                    faster=("ratio", lambda v: int((v > 1).sum())))
               .reset_index())
    count = {"cases": lambda v: f"{v:.0f}", "faster": lambda v: f"{v:.0f}",
             "threads": lambda v: f"{v:.0f}"}
    out.append(html_table(summary, {"machine": "machine", "peer": "contestant",
                                    "kind": "kind", "threads": "threads",
                                    "cases": "configurations", "faster": "suite faster in",
                                    "gmean": "contestant / suite (geometric mean)",
                                    "low": "least", "high": "most"},
                          formats={"gmean": format_ratio, "low": format_ratio,
                                   "high": format_ratio, **count},
                          table_id="sweep-summary", fold=False))
    out.append(html_table(table, {"machine": "machine", "configuration": "configuration",
                                  "threads": "threads", "peer": "contestant",
                                  "suite_value": "suite", "value": "contestant",
                                  "ratio": "contestant / suite"},
                          formats={"suite_value": format_seconds, "value": format_seconds,
                                   "ratio": format_ratio, "threads": count["threads"]},
                          table_id="sweep",
                          summary=f"every configuration ({len(table):,} rows)"))
    return "".join(out)


def profiles_dir(results_dir):
    """Where the campaign's profile pass writes (``make profiles``: ``.asv/profiles`` beside
    ``.asv/results``)."""
    return os.path.join(os.path.dirname(os.path.abspath(results_dir)), "profiles")


def where_the_time_goes(frame, context):
    from .profiles import load_profiles

    if context.results_dir is None:
        raise NotMeasured("no stage profile in these results (make profiles)")
    try:
        records = load_profiles(profiles_dir(context.results_dir))
    except ReportInputError as exc:
        raise NotMeasured(str(exc)) from None
    stages = records.stages
    out = figure_first(context, fig_stages(stages), "stages of each kernel",
                       "The profile pass (python -m suite profile --catalogue, after the "
                       "timing runs; not inside the timed samples): each layer's median "
                       "call, the share of its thread time (wall time x threads) in each "
                       "stage of the algorithm, and idle; each machine's newest run.",
                       "no stage profile in these results (make profiles)")
    timeline = fig_timeline(records.timeline, stages)
    if timeline is not None:
        out.append(context.figure(timeline, "one call's threads",
                                  "The longest call at the most threads: each OpenMP "
                                  "thread's stages against time (dashed: the call's end)."))
    out.append(absent_note(context, stages["machine"], "The stage profile was"))
    table = stages[stages["stage"] != "(idle)"].copy()

    def fraction(value):
        return format_percent(100 * value)
    columns = {"machine": "machine", "layer": "layer", "op": "operation",
               "algorithm": "algorithm", "threads": "threads", "stage": "stage",
               "seconds": "time", "share": "share of the call", "gflop_s": "GFLOP/s",
               "gb_s": "GB/s", "of_gemm": "of the GEMM ceiling",
               "of_copy": "of the copy ceiling"}
    out.append(html_table(table, {k: v for k, v in columns.items() if k in table},
                          formats={"seconds": format_seconds, "share": fraction,
                                   "gflop_s": format_gflops, "gb_s": format_gbps,
                                   "of_gemm": fraction, "of_copy": fraction,
                                   "threads": lambda v: f"{v:.0f}"},
                          table_id="stages",
                          summary=f"every stage of every profiled call ({len(table):,} rows)"))
    return "".join(out)
