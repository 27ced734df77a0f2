"""The report's figures (matplotlib, Agg), each returned as a base64 PNG."""

import base64
import io
import math

import numpy as np

from .constants import (COPY, COUNTERPART_TIME, DECONV_TIME, FUSED_CONV_TIME, GEMM,
                        METHOD_COLOURS, METHODS, NOT_MEASURED, PALETTE, PEERS)
from .derive import latest_rows, max_threads, our_case, peer_name


def _figure(width=9.0, height=4.5, ncols=1, nrows=1):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.prop_cycle":
                         matplotlib.cycler(color=PALETTE), "axes.grid": True,
                         "grid.alpha": 0.3})
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    return fig, axes


def _png(fig, rect=None):
    """``fig`` laid out (within ``rect`` of the figure, default all of it) as a base64 PNG;
    closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout(rect=rect)
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


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
    latest = latest_rows(frame)
    sel = latest[(latest["kind"] == "time") & latest["speedup"].notna()
                 & latest["benchmark"].isin([DECONV_TIME, COUNTERPART_TIME, FUSED_CONV_TIME])]
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
    return _png(fig, rect=(0, 0.04 * (sel["series"].nunique() // 4 + 2), 1, 1))


def fig_roofline(frame):
    latest = latest_rows(frame)
    threads = max_threads(latest)
    ceil = latest[(latest["benchmark"] == GEMM) & (latest["status"] == "ok")
                  & (latest["threads"] == threads)]
    copy = latest[(latest["benchmark"] == COPY) & (latest["status"] == "ok")
                  & (latest["threads"] == threads)]
    pts = latest[(latest["kind"] == "time") & (latest["threads"] == threads)
                 & latest["executed_gflops"].notna() & latest["intensity"].notna()
                 & ~latest["benchmark"].str.startswith(PEERS)]
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
    latest = latest_rows(frame)
    sel = latest[latest["vs_ours"].notna()].copy()
    if sel.empty:
        return None
    sel["peer_name"] = sel.apply(peer_name, axis=1)
    # one bar per machine when several measured the same case (each machine's newest commit)
    where = (lambda r: f"{r['machine']}: ") if sel["machine"].nunique() > 1 else (lambda r: "")
    sel["case"] = sel.apply(lambda r: f"{where(r)}{r['layer']} {our_case(r)[0]} "
                            f"t={our_case(r)[-1]}", axis=1)
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
    if keyed["machine"].nunique() > 1:
        # one line per machine: several machines may have measured the same commit
        keyed["case"] = keyed["machine"] + ": " + keyed["case"]
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
    from suite.profiling import format_duration

    sel = _newest(stages)
    threads = int(sel["threads"].max()) if threads is None else threads
    sel = sel[sel["threads"] == threads]
    if sel.empty:
        return None
    colours = stage_colours()
    keys = ["machine", "layer", "op", "algorithm"]
    cases = list(dict.fromkeys(map(tuple, sel[keys].values)))
    order = [s for s in colours if s in set(sel["stage"])]
    fig, axes = _figure(12, 1.5 + 0.28 * len(cases))
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
        ax.annotate(format_duration(walls[c]), (100, yi), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set(xlabel=f"share of the call's thread time ({threads} thread(s) x wall time), %",
           title=f"Where the time goes: stages of the median call at {threads} thread(s)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def fig_timeline(timeline, stages, case=None):
    """One call's stages on each OpenMP thread against time. ``case``: ``(layer, op,
    algorithm, threads)``; default the call of the longest wall time at the most threads
    (each machine's newest run; the first machine's)."""
    from suite.profiling import format_duration

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
    fig, axes = _figure(12, 1.6 + 0.45 * threads)
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
                 f"{format_duration(wall)}")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)
