"""The page's sections in words and tables: the headline, each machine's environment, the
machines side by side, what failed or was not measured, and the methodology (the sections
that draw the measurements are in :mod:`.sections`, whose conventions these follow).
"""

import math

import pandas as pd

from ..timing import geomean
from .constants import NOT_MEASURED, NotMeasured
from .derive import latest_rows, machines
from .figures import fig_machines
from .load import UNKNOWN
from .markup import esc, html_table, note, warning
from .names import benchmark_label, case_label, commit_label, method_label, peer_label
from .sections import DESCRIPTIONS, absent_note, layer_cell, method_rows
from .tables import CRITERIA, ceilings_table, headline_table, side_by_side
from .units import (format_bytes, format_count, format_flops, format_gbps, format_gflops,
                    format_ratio, format_seconds, format_threads, missing)

_FORMATS = {"time_s": format_seconds, "executed_flops": format_flops,
            "parameters": format_count, "memory_bytes": format_bytes}


# ---------------------------------------------------------------------------------------
# headline
# ---------------------------------------------------------------------------------------

def _winner_cell(row, column):
    best = row.get(f"{column}_best")
    if missing(best):
        return (f'<span class="nm">{NOT_MEASURED}</span>', None)
    fmt = _FORMATS[column]
    names = [best] + list(row.get(f"{column}_ties") or [])
    label = " = ".join(method_label(m) for m in names)
    if column == "time_s" and row.get(f"{column}_implementation") == "fused":
        label += " (fused)"
    value = row[f"{column}_value"]
    text = f"<b>{esc(label)}</b> {esc(fmt(value))}"
    other = row.get(f"{column}_other")
    if isinstance(other, str):
        other_value = row[f"{column}_other_value"]
        against = f"{esc(method_label(other))} {esc(fmt(other_value))}"
        if value > 0 and other_value / value < 1.005:
            text += f"<br><small>about the same as {against}</small>"
        elif value > 0:
            ratio = other_value / value
            word = "faster" if column == "time_s" else "less"
            text += f"<br><small>{esc(format_ratio(ratio))} {word} than {against}</small>"
        else:
            text += f"<br><small>none; {against}</small>"
    return (text, value)


def headline(frame, context):
    table = method_rows(context, frame)
    if table.empty:
        raise NotMeasured("no timing of a catalogue layer's deconvolution or upsample "
                          "counterparts (bench_deconv, bench_counterparts)")
    heads = headline_table(table)
    out = []
    bullets = []
    for machine in dict.fromkeys(heads["machine"]):
        mine = heads[heads["machine"] == machine]
        timed = mine[mine["time_s_best"].notna()]
        if timed.empty:
            continue
        both = timed[timed["time_s_other"].notna()]
        with_deconv = both[(both["time_s_best"] == "deconv")
                           | (both["time_s_other"] == "deconv")]
        ups = with_deconv[with_deconv["time_s_best"] != "deconv"]
        deconv_wins = with_deconv[with_deconv["time_s_best"] == "deconv"]
        where = (f"On <b>{esc(context.machine_label(machine))}</b> "
                 f"({esc(format_threads(timed['threads'].iloc[0]))}, "
                 f"{esc(timed['dtype'].iloc[0])})")
        if len(with_deconv):
            ratio = geomean(ups["time_s_other_value"] / ups["time_s_value"]) if len(ups) \
                else math.nan
            text = (f"{where}: an upsample-based method is fastest on {len(ups)} of "
                    f"{len(with_deconv)} layers with a deconvolution")
            if len(ups):
                text += f" (geometric mean {esc(format_ratio(ratio))} faster than it)"
            if len(deconv_wins):
                text += ("; the deconvolution wins on "
                         + ", ".join(esc(n) for n in deconv_wins["layer"]))
            bullets.append(text + ".")
        else:
            bullets.append(f"{where}: no layer with a deconvolution was timed.")
    peers = latest_rows(frame)
    peers = peers[peers["vs_ours"].notna() & peers["peer_name"].notna()]
    for machine, mine in peers.groupby("machine"):
        parts = []
        for peer, g in sorted(mine.groupby("peer_name"), key=lambda kv: -len(kv[1])):
            parts.append(f"<b>{esc(peer_label(peer))}</b> "
                         f"{esc(format_ratio(geomean(g['vs_ours'])))} (suite faster in "
                         f"{(g['vs_ours'] > 1).sum()} of {len(g)})")
        bullets.append(f"On {esc(machine)}, peer time / suite time, geometric mean over the "
                       f"cases: {'; '.join(parts)}.")
    pinned = context.environment[~context.environment["blas_pin"].isin(
        [UNKNOWN, "none", ""])] if len(context.environment) else context.environment
    for _, env in pinned.iterrows():
        bullets.append(f'<span class="fail">{esc(env["machine"])} ran with its BLAS pinned '
                       f"({esc(env['blas_pin'])})</span>: its GEMM-bound figures are lower "
                       "than the machine can do (see the environment).")
    if bullets:
        out.append("<ul>" + "".join(f"<li>{b}</li>" for b in bullets) + "</ul>")
    out.append(absent_note(context, heads.loc[heads["time_s_best"].notna(), "machine"]
                       if "time_s_best" in heads else [], "The layers' timings were"))
    # one row per layer; cost-model columns once, time per machine
    cost = heads.drop_duplicates("layer").set_index("layer")
    names = list(dict.fromkeys(heads["machine"]))
    rows = []
    for layer in dict.fromkeys(heads["layer"]):
        row = {"layer": layer_cell(layer)}
        for column, _ in CRITERIA[1:]:
            row[column] = _winner_cell(cost.loc[layer], column)
        for machine in names:
            h = heads[(heads["machine"] == machine) & (heads["layer"] == layer)]
            row[f"time:{machine}"] = (_winner_cell(h.iloc[0], "time_s") if len(h) else
                                      (f'<span class="nm">{NOT_MEASURED}</span>', None))
        rows.append(row)
    columns = {"layer": "layer"}
    columns.update({c: f"fewest {label}" if label != "memory" else "least memory"
                    for c, label in CRITERIA[1:]})
    columns.update({f"time:{m}": f"fastest on {m}" for m in names})
    out.append(html_table(pd.DataFrame(rows), columns, raw=set(columns), table_id="headline",
                          fold=False))
    out.append("<p class='meta'>Methods: the deconvolution (<code>suite.deconv2d</code>, "
               "<code>algorithm='auto'</code>), nearest and bilinear upsampling (only where "
               "the layer keeps its channels), upsample followed by a 3×3 convolution "
               "(unfused, or fused in <code>suite.upsample_conv2d</code>, whichever is "
               "faster), and FPN's upsample + add; all with the layer's input and output "
               "shapes. FLOPs are those the implementation executes, memory what it holds at "
               "least (inputs, weights, output and workspace), both from the cost model "
               "(<code>suite.cost</code>); time is asv's median on each machine's newest "
               "commit at the most threads it measured.</p>")
    return "".join(out)


# ---------------------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------------------

#: The environment's fields as the page names them (one row each, one column per machine).
_ENVIRONMENT_FIELDS = {"cpu": "CPU", "cores": "cores", "isa": "vector extensions",
                       "blas_text": "BLAS", "blas_kernel": "BLAS kernels",
                       "blas_pin": "BLAS pin", "openmp": "OpenMP runtime", "ram_bytes": "RAM",
                       "os": "OS", "arch": "architecture", "python": "Python",
                       "versions": "package versions", "commits": "commits measured",
                       "environments": "asv environments"}


def environment(frame, context):
    env = context.environment
    if env.empty:
        raise NotMeasured("no machine.json in the results")
    view = env.copy()
    view["blas_text"] = [" ".join(v for v in (b, ver) if v != UNKNOWN) or UNKNOWN
                         for b, ver in zip(view["blas"], view["blas_version"])]
    view["cores"] = [UNKNOWN if missing(v) else f"{v:.0f}" for v in view["cores"]]
    view["ram_bytes"] = [UNKNOWN if missing(v) else format_bytes(v) for v in view["ram_bytes"]]
    view["commits"] = [f"{v:.0f}" for v in view["commits"]]
    names = list(view["machine"])
    wide = pd.DataFrame([{"field": label, **dict(zip(names, view[column].astype(str)))}
                         for column, label in _ENVIRONMENT_FIELDS.items()])
    out = [html_table(wide, {"field": "", **{m: m for m in names}}, table_id="environment",
                      fold=False)]
    for _, row in env.iterrows():
        if row["blas_pin"] not in (UNKNOWN, "none", ""):
            out.append(warning(
                f"<b>{esc(row['machine'])}: the BLAS is pinned</b> "
                f"(<code>{esc(row['blas_pin'])}</code>, {esc(row['blas_kernel'])} kernels). "
                "Every GEMM (the deconvolutions' and convolutions' products and the GEMM "
                "ceiling) runs the pinned kernel family, which on a newer CPU can be half "
                "the rate the library picks by itself. To measure as a user's machine "
                "runs, unset the variables for the campaign only: <code>env -u "
                "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE make campaign</code>."))
    unknown = [_ENVIRONMENT_FIELDS.get(c, "BLAS") for c in ("isa", "blas", "blas_kernel",
                                                            "blas_pin", "openmp")
               if (env[c] == UNKNOWN).all()]
    if unknown:
        out.append(note("unknown: not recorded in these results (" + ", ".join(unknown)
                        + "); asv's machine.json names the CPU, cores, OS and RAM only."))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# machines side by side
# ---------------------------------------------------------------------------------------

def machines_side_by_side(frame, context):
    names = machines(frame)
    if len(names) < 2:
        raise NotMeasured("a single machine; merge several machines' results directories "
                          "(reports/README.md) to compare them")
    rows, reference = side_by_side(frame)
    ceilings = ceilings_table(frame)
    env = context.environment.set_index("machine") if len(context.environment) else None
    if env is not None:
        ceilings["cpu"] = ceilings["machine"].map(env["cpu"])
        ceilings["cores"] = ceilings["machine"].map(env["cores"])
        ceilings["blas_kernel"] = ceilings["machine"].map(env["blas_kernel"])
    if len(rows):
        rel = rows.groupby("machine")["relative"].agg(
            shared="size", gmean=lambda v: geomean(v), best="min", worst="max")
        for column in rel:
            ceilings[column] = ceilings["machine"].map(rel[column])
    out = []
    columns = {"machine": "machine", "cpu": "CPU", "cores": "cores",
               "blas_kernel": "BLAS kernels", "max_threads": "threads (most)",
               "gemm_float32_1": "GEMM float32, 1 thread",
               "gemm_float32_max": "GEMM float32, most threads",
               "gemm_float64_max": "GEMM float64, most threads",
               "copy_1": "copy, 1 thread", "copy_max": "copy, most threads"}
    formats = {c: format_gflops for c in columns if c.startswith("gemm")}
    formats.update({"copy_1": format_gbps, "copy_max": format_gbps,
                    "cores": lambda v: f"{v:.0f}", "max_threads": lambda v: f"{v:.0f}"})
    if len(rows):
        columns.update({"shared": f"timings shared with {reference}",
                        "gmean": f"time / time on {reference} (geometric mean)",
                        "best": "least", "worst": "most"})
        formats.update({"shared": lambda v: f"{v:.0f}", "gmean": format_ratio,
                        "best": format_ratio, "worst": format_ratio})
    out.append("<h3>Ceilings and relative speed</h3>")
    columns = {c: h for c, h in columns.items() if c in ceilings and (
        ceilings[c].dtype.kind not in "f" or ceilings[c].notna().any())}
    out.append(html_table(ceilings, columns,
                          formats=formats, table_id="machines", fold=False))
    if rows.empty:
        out.append(note("no timing was measured on two machines with the same parameters "
                        "and thread count"))
        return "".join(out)
    out.append(context.figure(
        fig_machines(rows, reference), "machines side by side",
        f"Each timing several machines share (same benchmark, parameters and thread "
        f"count, each machine's newest commit) relative to {reference}, by kernel family."))
    wide = rows.pivot_table(index="case", columns="machine", values="value",
                            aggfunc="first")
    first = rows.drop_duplicates("case").set_index("case")
    wide.insert(0, "what", [f"{benchmark_label(first.loc[c, 'benchmark'])} — "
                            f"{case_label(first.loc[c])}" for c in wide.index])
    cols = {"what": "timing"}
    cols.update({m: f"time on {m}" for m in names if m in wide})
    out.append(html_table(wide.reset_index(), cols,
                          formats={m: format_seconds for m in names},
                          table_id="side-by-side",
                          summary=f"every shared timing ({len(wide):,}), per machine"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# failed and not measured
# ---------------------------------------------------------------------------------------

def not_measured(frame, context):
    out = []
    latest = latest_rows(frame)
    counts = (latest.groupby(["machine", "benchmark", "status"]).size().unstack(fill_value=0)
              .reindex(columns=["ok", "failed", "skipped"], fill_value=0).reset_index())
    counts["what"] = counts["benchmark"].map(benchmark_label)
    bad = counts[(counts["failed"] > 0) | (counts["skipped"] > 0)]
    per_machine = counts.groupby("machine")[["ok", "failed", "skipped"]].sum().reset_index()
    out.append(html_table(per_machine, {"machine": "machine (newest commit)",
                                        "ok": "measured", "failed": "failed",
                                        "skipped": "not measured"},
                          formats={c: lambda v: f"{v:,.0f}" for c in ("ok", "failed",
                                                                       "skipped")},
                          table_id="status", fold=False))
    out.append("<p class='meta'>Failed: asv stored <code>null</code> (an exception or a "
               "timeout). Not measured: asv stored NaN, the benchmark skipped the "
               "combination (not in this profile, a layer without that method, a peer not "
               "installed).</p>")
    if len(bad):
        out.append(html_table(bad, {"machine": "machine", "what": "benchmark",
                                    "ok": "measured", "failed": "failed",
                                    "skipped": "not measured"},
                              formats={c: lambda v: f"{v:,.0f}" for c in ("ok", "failed",
                                                                           "skipped")},
                              table_id="skipped", fold=True,
                              summary=f"per benchmark ({len(bad):,} with a gap)"))
    failed = frame[frame["status"] == "failed"].copy()
    if len(failed):
        failed["what"] = failed["benchmark"].map(benchmark_label)
        failed["case"] = [case_label(r) for _, r in failed.iterrows()]
        failed["commit_name"] = failed["commit"].map(commit_label)
        out.append(html_table(failed, {"machine": "machine", "commit_name": "commit",
                                       "what": "benchmark", "case": "case",
                                       "status": "status"},
                              table_id="failed", fold=len(failed) > 12,
                              summary=f"failed combinations ({len(failed):,})"))
    names = machines(frame)
    if len(names) > 1:
        have = frame[frame["status"] == "ok"].groupby("benchmark")["machine"].apply(set)
        rows = [dict(what=benchmark_label(b), absent=", ".join(m for m in names if m not in s))
                for b, s in have.items() if len(s) < len(names)]
        if rows:
            out.append(html_table(pd.DataFrame(rows), {"what": "benchmark",
                                                       "absent": "no result on"},
                                  table_id="absent",
                                  summary=f"benchmarks without results on some machines "
                                          f"({len(rows)})"))
    return "".join(out)


# ---------------------------------------------------------------------------------------
# methodology
# ---------------------------------------------------------------------------------------

def methodology(frame, context):
    layers = sorted(set(frame["layer"].dropna().astype(str)))
    glossary = pd.DataFrame([dict(layer=n, description=DESCRIPTIONS.get(n, ""))
                             for n in layers])
    out = [f"<p>Machines: {esc('; '.join(context.machine_label(m) for m in context.machines))}"
           ". Each machine's figures come from its own results directory; nothing is "
           "averaged across machines.</p>",
           "<p>Measured with asv (<code>make campaign</code>: <code>asv run "
           "--python=same</code>). Each time is the median of all samples of all rounds; one "
           "sample holds a few milliseconds of calls, each call timed on its own after a "
           "warm-up (benchmarks/common.py). The spread is asv's: IQR = q75 − q25 of the "
           "samples and a 99% confidence interval of the median (columns <code>q25</code>, "
           "<code>q75</code>, <code>iqr</code>, <code>ci99_lo</code>, <code>ci99_hi</code> of "
           "the CSV). GFLOP/s and GB/s divide the cost model's FLOPs (useful FLOPs; the "
           "roofline uses the FLOPs the algorithm executes) and least bytes moved by the "
           "median time. Peak memory is the process's maximum RSS minus the same setup's "
           "empty-body baseline. The ceilings are the same campaign's GEMM (SciPy's BLAS, "
           "1024³) and 128 MiB copy at each thread count. Units: 1 KB = 1000 bytes; "
           "\"3×\" is a ratio of two figures of the same machine.</p>"]
    if len(glossary):
        out.append(html_table(glossary, {"layer": "layer", "description": "what it is"},
                              table_id="layers", summary=f"the layers ({len(glossary)})"))
    versions = context.report_versions()
    rows = pd.DataFrame([dict(what=k, version=v) for k, v in versions.items()])
    out.append(html_table(rows, {"what": "package", "version": "version"},
                          table_id="report-environment", fold=True,
                          summary="the environment that built this page"))
    return "".join(out)
