"""The HTML page: its CSS, tables, summary, sections and methodology; :func:`build_report`
writes it with the frame as CSV beside it.
"""

import datetime as _dt
import html
import os
import platform

import numpy as np

from .constants import COPY, COUNTERPART_TIME, DECONV_TIME, GEMM, NOT_MEASURED
from .derive import latest_rows, max_threads, peer_name
from .figures import (fig_checkerboard, fig_history, fig_methods, fig_peers, fig_roofline,
                      fig_scaling)
from .tables import checkerboard_table, format_number, format_seconds, method_table


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
    peers = ("torch", "cv2", "onnxruntime", "openvino")
    for name in ("asv", "asv_runner", "numpy", "scipy", "pandas", "matplotlib", "threadpoolctl",
                 *peers, "suite"):
        try:
            module = __import__(name)
            out[name] = getattr(module, "__version__", "?")
        except Exception:
            out[name] = NOT_MEASURED if name in peers else "not installed"
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
    latest = latest_rows(frame)
    peers = latest[latest["vs_ours"].notna()].copy()
    if len(peers):
        peers["peer_name"] = peers.apply(peer_name, axis=1)
        for p, g in peers.groupby("peer_name"):
            gm = float(np.exp(np.log(g["vs_ours"]).mean()))
            items.append(f"<li>vs <b>{html.escape(str(p))}</b>: geometric-mean time ratio "
                         f"{gm:.2f}× (peer / suite; > 1 means suite is faster) over "
                         f"{len(g)} cases, suite faster in {(g['vs_ours'] > 1).sum()}.</li>")
    eff = latest[latest["efficiency"].notna() & (latest["threads"] == max_threads(latest))
                 & (latest["benchmark"] == DECONV_TIME)]
    if len(eff) and max_threads(latest) and max_threads(latest) > 1:
        items.append(f"<li>Deconvolution parallel efficiency at {max_threads(latest)} "
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
        sc = latest_rows(frame)
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
        latest = latest_rows(frame)
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
    parts.append("<h2>Ours vs peers</h2><p class='q'>Is suite faster than PyTorch, OpenCV, "
                 "ONNX Runtime, OpenVINO and NumPy on the same layers and data?</p>")
    peers = fig_peers(frame)
    if peers:
        parts.append(_img(peers, "ours vs peers"))
        pt = latest_rows(frame)
        pt = pt[pt["vs_ours"].notna()].copy()
        pt["peer"] = pt.apply(peer_name, axis=1)
        parts.append(html_table(pt, {"peer": "peer", "params": "parameters",
                                     "value": "peer median time (s)",
                                     "vs_ours": "peer / suite time"}, table_id="peers"))
    else:
        parts.append(f"<p class='nm'>{NOT_MEASURED}: no peer timings (no peer installed, "
                     "or the peer benchmarks were not run).</p>")
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
