"""The report's figures (matplotlib, Agg), each returned as a base64 PNG, or None when the
results hold nothing to draw. Every figure that shows a measurement has one panel per machine
(titled with the machine) or names the machine; the cost-model figures are the same
everywhere and say so.
"""

import math

import numpy as np
import pandas as pd

from .constants import COPY, GEMM, METHOD_COLOURS, METHODS, PEERS, SWEEP_TIME
from .derive import latest_rows, machines
from .names import FAMILIES, commit_label, method_label, peer_label
from .plotting import (MARKERS, colour, encode, figure, human_log_axis, layout, legend_above,
                       machine_panels, marker, note, place_labels)
from .units import (format_axis_ratio, format_bytes, format_count, format_flops,
                    format_seconds, plural)

#: The history's name for the peers' timings: code outside suite, so a change over suite's
#: commits is the machine's drift.
PEER_CONTROL = "peers (control)"
FAMILY_COLOURS = {**{f: colour(i) for i, f in enumerate(FAMILIES)}, "backward": "#777777",
                  PEER_CONTROL: "#000000", "other": "#AA7744"}
_MISSING = "not measured on this machine"


def _method_dots(ax, table, column, layers, methods):
    """A dot per layer (row) and method (colour and marker) at ``column``'s value, the
    cheapest of the method's implementations, on a log axis; zero or missing: no dot."""
    spread = 0.5 / max(len(methods), 1)
    for i, method in enumerate(methods):
        sub = table[table["method"] == method].groupby("layer")[column].min()
        values = np.array([sub.get(layer, np.nan) for layer in layers], dtype=float)
        values[~(values > 0)] = np.nan
        y = np.arange(len(layers)) + (i - (len(methods) - 1) / 2) * spread
        ax.scatter(values, y, s=30, color=METHOD_COLOURS.get(method, colour(i)),
                   marker=MARKERS[i % len(MARKERS)], label=method_label(method), zorder=3,
                   edgecolors="white", linewidths=0.4)
    ax.set_yticks(range(len(layers)), layers, fontsize=8)
    ax.set_ylim(len(layers) - 0.5, -0.5)
    ax.set_xscale("log")
    for k in range(1, len(layers)):
        ax.axhline(k - 0.5, color="#ddd", lw=0.6, zorder=1)
    ax.grid(axis="y", visible=False)


def _present_methods(table):
    return [m for m in METHODS if m in set(table["method"])]


def _panel_height(layers):
    return 0.3 * len(layers) + 1.1


def fig_costs(table):
    """The cost model per layer and method: FLOPs executed, parameters, memory (the same on
    every machine). ``table``: :func:`~.tables.method_table`."""
    if table.empty:
        return None
    layers = list(dict.fromkeys(table["layer"]))
    methods = _present_methods(table)
    fig, axes = figure(12, _panel_height(layers), ncols=3, sharey=True)
    panels = [("executed_flops", "FLOPs executed", format_flops),
              ("parameters", "parameters (weights, bias)", format_count),
              ("memory_bytes", "memory: in, weights, out, workspace", format_bytes)]
    for ax, (column, title, fmt) in zip(axes.flat, panels):
        _method_dots(ax, table, column, layers, methods)
        ax.set_title(title, fontsize=10)
        if (table[column] > 0).any():
            human_log_axis(ax, "x", fmt)
    top = legend_above(fig, *axes[0, 0].get_legend_handles_labels(), ncol=len(methods),
                       title="method (its cheapest implementation; no dot: zero)")
    return encode(fig, top=top)


def fig_measured(table):
    """Measured per layer and method, one row of panels per machine: median time and peak
    memory above the baseline (of each method, its best implementation)."""
    if table.empty or not table["time_s"].notna().any():
        return None
    names = list(dict.fromkeys(table["machine"]))
    methods = _present_methods(table)
    heights = [_panel_height(list(dict.fromkeys(table[table["machine"] == m]["layer"])))
               for m in names]
    fig, axes = figure(12, sum(heights), ncols=2, nrows=len(names),
                       gridspec_kw={"height_ratios": heights})
    for r, machine in enumerate(names):
        mine = table[table["machine"] == machine]
        layers = list(dict.fromkeys(mine["layer"]))
        threads, dtype = mine["threads"].iloc[0], mine["dtype"].iloc[0]
        for ax, column, title, fmt in (
                (axes[r, 0], "time_s", "median time", format_seconds),
                (axes[r, 1], "peakmem_net_bytes", "peak memory above baseline",
                 format_bytes)):
            if not mine[column].notna().any():
                note(ax, f"{machine}: {title} {_MISSING}")
                continue
            _method_dots(ax, mine, column, layers, methods)
            human_log_axis(ax, "x", fmt)
            ax.set_title(f"{machine}: {title} ({dtype}, {plural(threads, 'thread')})",
                         fontsize=10)
        axes[r, 1].tick_params(labelleft=False)
    handles, labels = [], []
    for ax in axes.flat:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    top = legend_above(fig, handles, labels, ncol=len(labels), title="method (its fastest "
                       "implementation; no dot: not measured, or no memory above the "
                       "setup's own peak)")
    return encode(fig, top=top)


def fig_scaling(frame):
    """Speed-up over one thread of suite's kernels, one panel per machine: per kernel family
    the median over its cases (line) and their range (band)."""
    latest = latest_rows(frame)
    sel = latest[(latest["kind"] == "time") & latest["speedup"].notna()
                 & latest["family"].notna()]
    names = [m for m in machines(sel) if sel[sel["machine"] == m]["threads"].nunique() >= 2]
    if not names:
        return None
    fig, panels = machine_panels(names, 6, 4.0)
    seen = {}
    for machine, ax in panels.items():
        mine = sel[sel["machine"] == machine].assign(
            threads=lambda d: d["threads"].astype(float))
        for fam in FAMILIES:
            g = mine[mine["family"] == fam]
            if g.empty:
                continue
            stats = g.groupby("threads")["speedup"].agg(["median", "min", "max"])
            c = FAMILY_COLOURS[fam]
            ax.fill_between(stats.index, stats["min"], stats["max"], color=c, alpha=0.12,
                            lw=0)
            seen[fam] = ax.plot(stats.index, stats["median"], color=c, lw=2, marker="o",
                                ms=4, label=fam)[0]
        t = sorted(int(v) for v in mine["threads"].unique())
        seen["ideal"] = ax.plot(t, t, "k--", lw=1, label="ideal")[0]
        ax.set_xticks(t)
        ax.set(xlabel="threads", ylabel="speed-up over 1 thread (×)",
               title=f"{machine}: thread scaling ({mine['benchmark'].nunique()} kernels, "
                     f"{len(mine[mine['threads'] > 1])} cases)")
    labels = [f for f in FAMILIES + ["ideal"] if f in seen]
    top = legend_above(fig, [seen[f] for f in labels], labels, ncol=min(len(labels), 8),
                       title="kernel family: median over its cases, band from least to most")
    return encode(fig, top=top)


def _roofline_series(pts):
    """Each point's series: its kernel family, and for a deconvolution its algorithm."""
    fam = pts["family"].fillna("other")
    deconv = fam == "deconvolution"
    return fam.where(~deconv, "deconvolution, " + pts["algorithm"].fillna("").astype(str))


def _series_style(series, algorithms):
    """Colour of the series' family (as in every figure); a deconvolution's algorithm by its
    marker."""
    fam, _, algorithm = series.partition(", ")
    if algorithm:
        return FAMILY_COLOURS["deconvolution"], MARKERS[algorithms.index(algorithm)
                                                          % len(MARKERS)]
    return FAMILY_COLOURS.get(fam, "#000"), "o"


def fig_roofline(frame):
    """Achieved GFLOP/s against arithmetic intensity, one panel per machine under that
    machine's measured roofs (GEMM float32 / float64 GFLOP/s, copy GB/s) at the most threads
    it measured; only the points furthest from and closest to the roof are labelled."""
    latest = latest_rows(frame)
    ok = latest[latest["status"] == "ok"]
    names = []
    for machine in machines(ok):
        mine = ok[ok["machine"] == machine]
        threads = pd.to_numeric(mine["threads"], errors="coerce").max()
        if (mine[(mine["benchmark"] == GEMM) & (mine["threads"] == threads)].empty
                or mine[(mine["benchmark"] == COPY) & (mine["threads"] == threads)].empty):
            continue
        if mine[(mine["kind"] == "time") & mine["executed_gflops"].notna()
                & mine["intensity"].notna()].empty:
            continue
        names.append(machine)
    if not names:
        return None
    fig, panels = machine_panels(names, 6, 4.6)
    series_colour = {}
    handles = {}
    labelled = {}
    algorithms = sorted(set(ok.loc[ok["family"] == "deconvolution", "algorithm"].dropna()
                            .astype(str)))
    for machine, ax in panels.items():
        mine = ok[ok["machine"] == machine]
        threads = pd.to_numeric(mine["threads"], errors="coerce").max()
        gemm = mine[(mine["benchmark"] == GEMM) & (mine["threads"] == threads)]
        bw = float(mine[(mine["benchmark"] == COPY) & (mine["threads"] == threads)][
            "value"].iloc[0])
        pts = mine[(mine["kind"] == "time") & (mine["threads"] == threads)
                   & mine["executed_gflops"].notna() & mine["intensity"].notna()
                   & ~mine["benchmark"].str.startswith(PEERS)].copy()
        xs = np.logspace(np.log10(max(pts["intensity"].min() / 3, 1e-2)),
                         np.log10(pts["intensity"].max() * 3), 100)
        roofs = []
        for j, (_, c) in enumerate(gemm.sort_values("dtype").iterrows()):
            peak = float(c["value"])
            ax.plot(xs, np.minimum(peak, xs * bw), color="k", ls=["-", ":"][j % 2], lw=1.2)
            roofs.append(f"{c['dtype']} {peak:.3g}" + (" (dotted)" if j % 2 else ""))
        roofs = f"GEMM {', '.join(roofs)} GFLOP/s; copy {bw:.3g} GB/s"
        pts["series"] = _roofline_series(pts)
        pts["roof"] = np.minimum(float(gemm["value"].max()), pts["intensity"] * bw)
        pts["fraction"] = pts["executed_gflops"] / pts["roof"]
        for series, g in pts.groupby("series"):
            series_colour.setdefault(series, len(series_colour))
            shade, shape = _series_style(series, algorithms)
            handles[series] = ax.scatter(g["intensity"], g["executed_gflops"], s=24,
                                         color=shade, marker=shape, zorder=3, label=series,
                                         edgecolors="white", linewidths=0.4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        human_log_axis(ax, "x", lambda v: f"{v:g}")
        human_log_axis(ax, "y", lambda v: f"{v:g}")
        ax.set(xlabel="FLOPs executed per byte moved (at least)",
               ylabel="achieved GFLOP/s (FLOPs executed / time)")
        ax.set_title(f"{machine}: roofline at {plural(threads, 'thread')}\n{roofs}",
                     fontsize=9)
        labelled[machine] = pd.concat([pts.nlargest(3, "fraction"),
                                       pts.nsmallest(2, "fraction")])
    order = FAMILIES + ["other"]
    labels = sorted(handles, key=lambda s: (order.index(s.partition(", ")[0])
                                            if s.partition(", ")[0] in order else len(order),
                                            s))
    top = legend_above(fig, [handles[s] for s in labels], labels, ncol=min(len(labels), 4),
                       title="kernel (labels: the points closest to and furthest from the "
                             "roof, % of it)")
    layout(fig, top)
    for machine, ax in panels.items():
        extremes = labelled[machine]
        extremes = extremes[~extremes.index.duplicated()]
        place_labels(ax, extremes["intensity"].to_numpy(),
                     extremes["executed_gflops"].to_numpy(),
                     [f"{r.layer} {r.fraction * 100:.0f}%" for r in extremes.itertuples()])
    return encode(fig, laid_out=True)


def _ratio_panels(data, rows, row_label, who, title, legend_title):
    """Ratios ``data["ratio"]`` (another's time / suite's) as dots, one panel per machine:
    a row per ``data["row"]`` value in ``rows`` (labelled by ``row_label``), a colour per
    ``data["who"]`` (labelled by ``who``), on a log axis (right of 1: suite faster);
    ``title(machine, its rows)`` names each panel."""
    contestants = sorted(set(data["who"]))
    names = machines(data)
    fig, panels = machine_panels(names, 6, 0.45 * len(rows) + 1.6)
    handles = {}
    lo, hi = data["ratio"].min(), data["ratio"].max()
    for machine, ax in panels.items():
        mine = data[data["machine"] == machine]
        for i, contestant in enumerate(contestants):
            g = mine[mine["who"] == contestant]
            if g.empty:
                continue
            y = np.array([rows.index(r) for r in g["row"]], dtype=float)
            y += (i - (len(contestants) - 1) / 2) * 0.8 / len(contestants)
            handles[contestant] = ax.scatter(g["ratio"], y, color=colour(i),
                                             marker=marker(i), s=20, alpha=0.85,
                                             label=who(contestant), zorder=3)
        ax.axvline(1, color="k", lw=1)
        ax.set_xscale("log")
        ax.set_xlim(min(lo, 0.5) / 1.3, max(hi, 2) * 1.3)
        human_log_axis(ax, "x", format_axis_ratio)
        ax.set_yticks(range(len(rows)), [row_label(r) for r in rows], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set(xlabel="their time / suite's time   (← they are faster | suite is faster →)",
               title=title(machine, mine))
    labels = [c for c in contestants if c in handles]
    top = legend_above(fig, [handles[c] for c in labels], [who(c) for c in labels],
                       title=legend_title)
    return encode(fig, top=top)


def fig_peers(frame):
    """Peer time / suite's time per operation, one panel per machine (log scale; right of 1:
    suite is faster); one dot per layer and thread count, coloured by peer."""
    latest = latest_rows(frame)
    sel = latest[latest["vs_ours"].notna() & latest["peer_name"].notna()]
    if sel.empty:
        return None
    operations = [m for m in METHODS if m in set(sel["operation"])] + sorted(
        set(sel["operation"]) - set(METHODS))
    data = pd.DataFrame({"machine": sel["machine"], "row": sel["operation"],
                         "who": sel["peer_name"], "ratio": sel["vs_ours"]})
    return _ratio_panels(data, operations, method_label, peer_label,
                         lambda machine, _: f"{machine}: suite vs peers",
                         "peer (one dot per layer and thread count)")


def fig_sweep(table):
    """Layers never tuned on: each contestant's time / suite's per configuration, one panel
    per machine, a row per kind, colour per contestant (log scale; right of 1: suite
    faster). ``table``: :func:`~.tables.sweep_table`."""
    if table.empty:
        return None
    kinds = [k for k in FAMILIES if k in set(table["kind"])]
    data = pd.DataFrame({"machine": table["machine"], "row": table["kind"],
                         "who": table["contestant"], "ratio": table["ratio"]})
    counts = table.groupby("machine")["configuration"].nunique()
    return _ratio_panels(data, kinds, str, peer_label,
                         lambda machine, _: f"{machine}: {counts[machine]} layers never "
                                            "tuned on",
                         "contestant (one dot per configuration and thread count)")


def history_frame(frame):
    """The timings measured at two or more commits, per machine in the environment with the
    most commits: their rows of ``frame`` with ``case`` (benchmark and parameters),
    ``family`` (the peers': :data:`PEER_CONTROL`) and ``relative`` (to the same case's time
    at the machine's oldest commit that measured it)."""
    ok = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    parts = []
    for machine in machines(ok):
        mine = ok[ok["machine"] == machine]
        env = mine.groupby("env")["commit"].nunique().sort_values(kind="stable").index[-1]
        mine = mine[mine["env"] == env]
        if mine["commit"].nunique() < 2:
            continue
        mine = mine.assign(case=mine["benchmark"] + "(" + mine["params"].astype(str) + ")")
        mine = mine.sort_values("date", kind="stable").drop_duplicates(["case", "commit"])
        counts = mine.groupby("case")["commit"].nunique()
        mine = mine[mine["case"].isin(counts[counts >= 2].index)]
        if mine.empty:
            continue
        first = mine.groupby("case")["value"].first()
        peer = mine["benchmark"].str.startswith(PEERS + ".") | (
            (mine["benchmark"] == SWEEP_TIME) & (mine.get("contestant") != "suite"))
        mine = mine.assign(relative=mine["value"] / mine["case"].map(first),
                           family=mine["family"].where(~peer, PEER_CONTROL).fillna("other"))
        parts.append(mine)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def fig_history(frame):
    """Time over commits relative to the oldest commit measured, one panel per machine: a
    thin line per benchmark case and the geometric mean of each kernel family thick."""
    hist = history_frame(frame)
    if hist.empty:
        return None
    names = list(dict.fromkeys(hist["machine"]))
    fig, panels = machine_panels(names, 6, 4.0)
    handles = {}
    for machine, ax in panels.items():
        mine = hist[hist["machine"] == machine]
        order = mine.groupby("commit")["date"].min().sort_values(kind="stable")
        x = {c: i for i, c in enumerate(order.index)}
        for _, g in mine.groupby("case"):
            ax.plot([x[c] for c in g["commit"]], g["relative"], color="#bbb", lw=0.6,
                    zorder=1)
        fams = mine.assign(logr=np.log(mine["relative"]))
        for fam, g in fams.groupby("family"):
            gm = np.exp(g.groupby("commit")["logr"].mean()).reindex(order.index)
            handles[fam] = ax.plot(range(len(order)), gm.to_numpy(), marker="o", lw=2.2,
                                   color=FAMILY_COLOURS.get(fam, "#000"), label=fam,
                                   zorder=3)[0]
        ax.axhline(1, color="k", lw=0.8, ls="--")
        ax.set_yscale("log")
        human_log_axis(ax, "y", format_axis_ratio)
        ax.set_xticks(range(len(order)), [commit_label(c, d) for c, d in order.items()],
                      rotation=25, ha="right", fontsize=8)
        ax.set(ylabel="time / time at the first commit",
               title=f"{machine}: {mine['case'].nunique()} cases over "
                     f"{len(order)} commits")
    labels = [f for f in FAMILIES + [PEER_CONTROL, "other"] if f in handles]
    top = legend_above(fig, [handles[f] for f in labels], labels, ncol=min(len(labels), 4),
                       title="geometric mean per kernel family (grey: each case; below 1: "
                             "faster)")
    return encode(fig, top=top)


def fig_machines(rows, reference):
    """The machines side by side: each shared timing's time relative to the reference
    machine's, per kernel family (one row of dots per machine)."""
    if rows.empty:
        return None
    rows = rows[rows["machine"] != reference].copy()
    rows["group"] = rows["family"].fillna(rows["peer_name"].map(
        lambda p: f"peer: {peer_label(p)}" if isinstance(p, str) else "other"))
    groups = [f for f in FAMILIES if f in set(rows["group"])] + sorted(
        set(rows["group"]) - set(FAMILIES))
    names = list(dict.fromkeys(sorted(rows["machine"])))
    fig, axes = figure(12, 0.42 * len(groups) + 1.8)
    ax = axes[0, 0]
    handles = []
    for i, machine in enumerate(names):
        g = rows[rows["machine"] == machine]
        offset = (i - (len(names) - 1) / 2) * 0.7 / len(names)
        y = np.array([groups.index(v) for v in g["group"]], dtype=float) + offset
        handles.append(ax.scatter(g["relative"], y, s=16, alpha=0.7, color=colour(i + 1),
                                  marker=marker(i), label=machine, zorder=3))
        for j, grp in enumerate(groups):
            values = g[g["group"] == grp]["relative"]
            if len(values):
                mean = float(np.exp(np.log(values).mean()))
                ax.plot([mean, mean], [j + offset - 0.15, j + offset + 0.15],
                        color=colour(i + 1), lw=3)
    ax.axvline(1, color="k", lw=1)
    ax.set_xscale("log")
    lo, hi = rows["relative"].min(), rows["relative"].max()
    ax.set_xlim(min(lo, 0.8) / 1.15, max(hi, 1.25) * 1.15)
    human_log_axis(ax, "x", format_axis_ratio)
    ax.set_yticks(range(len(groups)), groups, fontsize=9)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.set(xlabel=f"time / time on {reference} (same benchmark, parameters and threads; "
                  f"left of 1: faster than {reference}; bar: geometric mean)")
    top = legend_above(fig, handles, names, ncol=len(names), title=f"machine (compared "
                       f"with {reference})")
    return encode(fig, top=top)


def fig_checkerboard(table):
    """Overlap ratio and per-phase weight-sum spread of each catalogue deconvolution (the
    cost model: the same on every machine), one bar per layer."""
    fig, axes = figure(12, 0.28 * len(table) + 1.4, ncols=2, sharey=True)
    labels = [f"{r.layer} (k{r.kernel} s{r.stride})" for r in table.itertuples()]
    y = np.arange(len(table))
    colours = [colour(3) if v > 1 else colour(2) for v in table["overlap_ratio"]]
    axes[0, 0].barh(y, table["overlap_ratio"], color=colours)
    axes[0, 0].axvline(1, color="k", lw=1, ls="--")
    axes[0, 0].set(xlabel="max / min overlap (1: even)",
                   title="uneven kernel overlap (red: checkerboard-prone)")
    axes[0, 1].barh(y, table["phase_sum_spread"], color=colour(0))
    axes[0, 1].set(xlabel="spread of per-phase kernel sums",
                   title="per-phase sums of the layer's weights")
    axes[0, 0].set_yticks(y, labels, fontsize=8)
    axes[0, 0].set_ylim(len(table) - 0.5, -0.5)
    for ax, col in zip(axes.flat, ("overlap_ratio", "phase_sum_spread")):
        ax.margins(x=0.12)
        for yi, v in zip(y, table[col]):
            if not math.isnan(v):
                ax.annotate(f"{v:.3g}", (v, yi), ha="left", va="center", fontsize=7,
                            xytext=(2, 0), textcoords="offset points")
    return encode(fig)


# -- where the time goes: the profile pass (suite.bench.report.profiles) ---------------------

def stage_colours():
    """A fixed colour per stage (suite.profiling.STAGES order), light grey for idle (the
    only grey)."""
    import matplotlib

    from suite.profiling import STAGES

    tab20 = matplotlib.colormaps["tab20"]
    palette = [tab20(i) for i in range(20) if i not in (14, 15)]      # its greys: idle's
    palette += [matplotlib.colormaps["tab20b"](i) for i in range(0, 20, 2)]
    colours = {stage: palette[i % len(palette)] for i, stage in enumerate(STAGES)}
    colours["(idle)"] = "#d9d9d9"
    return colours


def _newest(frame):
    """The rows of each machine's newest profile run."""
    newest = frame.groupby("machine")["date"].transform("max")
    return frame[frame["date"] == newest]


def fig_stages(stages, threads=None):
    """Stacked bars, one per layer, operation and algorithm profiled at ``threads``
    (default the most): the share of the call's thread time (wall time x threads) in each
    stage and idle, labelled with the call's wall time. ``stages``:
    ``load_profiles(...).stages``; each machine's newest run."""
    sel = _newest(stages)
    threads = int(sel["threads"].max()) if threads is None else threads
    sel = sel[sel["threads"] == threads]
    if sel.empty:
        return None
    colours = stage_colours()
    keys = ["machine", "layer", "op", "algorithm"]
    cases = list(dict.fromkeys(map(tuple, sel[keys].values)))
    order = [s for s in colours if s in set(sel["stage"])]
    fig, axes = figure(12, 1.5 + 0.28 * len(cases))
    ax = axes[0, 0]
    y = np.arange(len(cases))
    left = np.zeros(len(cases))
    share = sel.pivot_table(index=keys, columns="stage", values="share", aggfunc="sum")
    for stage in order:
        values = np.array([100 * share[stage].get(c, 0.0) for c in cases], dtype=float)
        values = np.nan_to_num(values)
        ax.barh(y, values, left=left, color=colours[stage], label=stage, height=0.8)
        left += values
    walls = sel.groupby(keys)["wall_s"].first()
    several = sel["machine"].nunique() > 1
    labels = [(f"{c[0]}: " if several else "") + f"{c[1]} {c[2]} ({c[3]})" for c in cases]
    for yi, c in zip(y, cases):
        ax.annotate(format_seconds(walls[c]), (100, yi), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set(xlabel=f"share of the call's thread time ({threads} thread(s) x wall time), %",
           title=f"Where the time goes: stages of the median call at {threads} thread(s)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return encode(fig, laid_out=False)


def fig_timeline(timeline, stages, case=None):
    """One call's stages on each OpenMP thread against time. ``case``: ``(layer, op,
    algorithm, threads)``; default the call of the longest wall time at the most threads
    (each machine's newest run; the first machine's)."""
    sel = _newest(stages)
    if sel.empty:
        return None
    if case is None:
        top = sel[sel["threads"] == sel["threads"].max()].sort_values("wall_s").iloc[-1]
        case = (top["layer"], top["op"], top["algorithm"], int(top["threads"]))
    layer, op, algorithm, threads = case
    machine = sel[(sel["layer"] == layer) & (sel["op"] == op)]["machine"].iloc[0]
    run = sel[(sel["machine"] == machine)]
    rows = timeline[(timeline["machine"] == machine) & (timeline["date"] == run["date"].iloc[0])
                    & (timeline["layer"] == layer) & (timeline["op"] == op)
                    & (timeline["algorithm"] == algorithm) & (timeline["threads"] == threads)]
    if rows.empty:
        return None
    wall = float(run[(run["layer"] == layer) & (run["op"] == op)
                     & (run["algorithm"] == algorithm)
                     & (run["threads"] == threads)]["wall_s"].iloc[0])
    colours = stage_colours()
    fig, axes = figure(12, 1.6 + 0.45 * threads)
    ax = axes[0, 0]
    for stage, g in rows.groupby("stage"):
        for t, gt in g.groupby("thread"):
            ax.broken_barh(list(zip(1e3 * gt["start_s"], 1e3 * gt["duration_s"])),
                           (t - 0.4, 0.8), color=colours.get(stage, "k"),
                           label=stage if t == g["thread"].min() else None)
    ax.axvline(0, color="k", lw=0.8)
    ax.axvline(1e3 * wall, color="k", lw=0.8, ls="--")
    ax.set_yticks(range(threads), [f"thread {t}" for t in range(threads)])
    ax.invert_yaxis()
    ax.set(xlabel="ms from the call's start (dashed: its end)",
           title=f"{layer} {op} ({algorithm}), {threads} thread(s): one call, "
                 f"{format_seconds(wall)}")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return encode(fig, laid_out=False)
