"""The tables of ``python -m suite compare`` (``suite.bench.compare``): each catalogue
section's medians and ratios, the sweep's table and its per-peer summary, the thread
scaling of suite's kernels, and the tidy CSV of every sample's median. They read the cases
compare timed (``Case``: ``section``, ``name``, ``shape``, ``threads``, ``flops``,
``bytes_moved``, ``kind``, ``contestants`` with the reference first, ``ratio(c)``) and time
nothing."""

import csv
import math

import numpy as np

from .timing import geomean

__all__ = ["align_columns", "format_scaling", "format_section", "format_sweep", "ms_text",
           "write_csv"]


def ms_text(seconds):
    if not math.isfinite(seconds):
        return "-"
    return f"{seconds * 1e3:.3f}" if seconds < 0.1 else f"{seconds * 1e3:.1f}"


def _cell(case, c):
    if not c.ok:
        return "not installed" if c.status.startswith("not installed") else "error"
    text = ms_text(c.median)
    if c is not case.reference:
        text += f" ({case.ratio(c):.2f})"
    if c.check.startswith("MISMATCH"):
        text += " !"
    return text


def align_columns(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [v.rjust(widths[i]) for i, v in enumerate(r)
                                              if i > 0]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _shape_text(shape):
    return "x".join(map(str, shape))


def format_section(section, cases, dtype, copy_gbps):
    if not cases:
        return ""
    names = [c.name for c in cases[0].contestants]
    ref = names[0]
    title = {"deconv": "deconvolution", "nearest": "nearest x2",
             "bilinear": "bilinear x2 (align_corners=False)",
             "fused": "upsample + 3x3 conv (GFLOP/s of the unfused definition)"}[section]
    header = ["case", "shape", "thr", ref]
    if section in ("deconv", "fused"):
        header.append("GFLOP/s")
    if section == "nearest":
        header += ["GB/s", "%copy"]
    header += [f"{n} (ratio)" for n in names[1:]]
    rows = [header]
    for case in cases:
        r = case.reference
        row = [case.name, _shape_text(case.shape), str(case.threads), _cell(case, r)]
        if section in ("deconv", "fused"):
            row.append(f"{case.flops / r.median / 1e9:.1f}" if r.samples else "-")
        if section == "nearest":
            gbps = case.bytes_moved / r.median / 1e9 if r.samples else math.nan
            row += [f"{gbps:.1f}", f"{100 * gbps / copy_gbps:.0f}%" if copy_gbps else "-"]
        row += [_cell(case, c) for c in case.contestants[1:]]
        rows.append(row)
    for t in sorted({c.threads for c in cases}):
        sub = [c for c in cases if c.threads == t]
        row = ["geomean", "", str(t), ""]
        row += [""] * (1 if section in ("deconv", "fused") else 2 if section == "nearest" else 0)
        for i in range(1, len(names)):
            g = geomean([case.ratio(case.contestants[i]) for case in sub])
            row.append(f"{g:.2f}" if math.isfinite(g) else "-")
        rows.append(row)
    text = (f"{title}, {np.dtype(dtype).name}: median ms (ratio = peer time / {ref} time; "
            f"> 1: suite faster)\n" + align_columns(rows))
    notes = _notes(cases)
    return text + ("\n" + notes if notes else "")


def _notes(cases):
    """One line per distinct reason a contestant could not run, and per mismatch."""
    return "\n".join(sorted({f"  {c.name}: {c.status}" for case in cases
                             for c in case.contestants if not c.ok}
                            | {f"  {c.name} on {case.name} t={case.threads}: {c.check}"
                               for case in cases for c in case.contestants
                               if c.check.startswith("MISMATCH")}))


#: How many of each peer's worst configurations the sweep's summary names.
SWEEP_WORST = 3

#: The sweep's kinds of layer as its summary names them.
SWEEP_KINDS = {"deconv": "deconv", "upsample": "upsample", "upsample_conv": "upsample+conv"}


def _sweep_ratios(cases, name):
    """``([(ratio, case)], not compared)``: peer ``name``'s ratios on ``cases`` with checked
    outputs, and how many cases it has no checked figure on (not installed, an error, a
    mismatch, or suite's own failure)."""
    ratios, missing = [], 0
    for case in cases:
        c = next((c for c in case.contestants[1:] if c.name == name), None)
        if c is None:
            continue
        ratio = case.ratio(c)
        if c.check.startswith("MISMATCH") or not math.isfinite(ratio):
            missing += 1
        else:
            ratios.append((ratio, case))
    return ratios, missing


def format_sweep(cases, dtype, n, seed):
    """The sweep's table (each configuration: suite's median and GFLOP/s, each peer's median
    and ratio) and its summary: per peer and thread count, the geometric mean of peer time
    / suite time over the configurations it ran with checked outputs, the same by kind of
    layer, the worst ratio, how many configurations suite loses (ratio < 1) and how many
    have no checked figure, then the peer's :data:`SWEEP_WORST` worst configurations."""
    names = []
    for case in cases:
        names += [c.name for c in case.contestants[1:] if c.name not in names]
    rows = [["configuration", "thr", "suite", "GFLOP/s"] + [f"{n} (ratio)" for n in names]]
    for case in cases:
        ref, by_name = case.reference, {c.name: c for c in case.contestants[1:]}
        rows.append([case.name, str(case.threads), _cell(case, ref),
                     f"{case.flops / ref.median / 1e9:.1f}" if ref.samples and case.flops
                     else "-"] + [_cell(case, by_name[n]) if n in by_name else ""
                                  for n in names])
    kinds = [k for k in SWEEP_KINDS if any(c.kind == k for c in cases)]
    summary = [["peer", "thr", "cases", "geomean"] + [SWEEP_KINDS[k] for k in kinds]
               + ["worst", "suite slower", "not compared"]]
    worst_lines = []
    for name in names:
        for t in sorted({c.threads for c in cases}):
            ratios, missing = _sweep_ratios([c for c in cases if c.threads == t], name)
            if not ratios and not missing:
                continue
            by_kind = [geomean([r for r, case in ratios if case.kind == k]) for k in kinds]
            ranked = sorted(ratios, key=lambda pair: pair[0])
            summary.append([name, str(t), str(len(ratios)),
                            _ratio_text(geomean([r for r, _ in ratios]))]
                           + [_ratio_text(g) for g in by_kind]
                           + [_ratio_text(ranked[0][0]) if ranked else "-",
                              str(sum(r < 1 for r, _ in ratios)), str(missing)])
            if ranked:
                worst_lines.append(f"  {name} t={t}: " + "; ".join(
                    f"{r:.2f} {case.name}" for r, case in ranked[:SWEEP_WORST]))
    notes = _notes(cases)
    return "\n".join(
        [f"unseen layers: {n} configurations drawn with seed {seed} (suite.bench.sweep), "
         f"{np.dtype(dtype).name}: median ms (ratio = peer time / suite time; > 1: suite "
         f"faster)", align_columns(rows)] + ([notes] if notes else [])
        + ["", "per peer: geometric mean and worst of peer time / suite time over the "
               "configurations with checked outputs (> 1: suite faster)", align_columns(summary),
           "worst configurations for suite (lowest ratio first):"] + worst_lines)


def _ratio_text(value):
    return f"{value:.2f}" if math.isfinite(value) else "-"


#: Thread scaling is judged on layers at least this large (FLOPs).
SCALING_MIN_FLOPS = 10e6


def format_scaling(cases):
    """Speed-up of our kernel at each thread count over one thread, per FLOP-heavy case."""
    rows = [["case", "section", "GFLOP", "threads", "speed-up", "efficiency"]]
    by_key = {}
    for case in cases:
        if case.flops >= SCALING_MIN_FLOPS and case.reference.samples:
            by_key.setdefault((case.section, case.name), {})[case.threads] = case
    speedups = {}
    for (section, name), runs in by_key.items():
        if 1 not in runs:
            continue
        one = runs[1].reference.median
        for t, case in sorted(runs.items()):
            if t == 1:
                continue
            speedup = one / case.reference.median
            speedups.setdefault(t, []).append(speedup)
            rows.append([name, section, f"{case.flops / 1e9:.2f}", str(t), f"{speedup:.2f}",
                         f"{100 * speedup / t:.0f}%"])
    if len(rows) == 1:
        return ""
    for t, values in sorted(speedups.items()):
        rows.append(["geomean", "", "", str(t), f"{geomean(values):.2f}",
                     f"{100 * geomean(values) / t:.0f}%"])
    return (f"thread scaling of suite's kernel (cases of >= {SCALING_MIN_FLOPS / 1e6:g} MFLOP; "
            f"speed-up over 1 thread)\n" + align_columns(rows))


def write_csv(path, cases, dtype, bandwidth):
    fields = ["section", "case", "shape", "dtype", "threads", "contestant", "reference",
              "median_s", "min_s", "repeats", "number", "ratio", "gflops", "gbps",
              "pct_copy", "check", "status"]
    copy = bandwidth.get("np.copyto")
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for name, gbps in bandwidth.items():
            writer.writerow(dict(section="copy", case=name, dtype="float32", contestant=name,
                                 gbps=f"{gbps:.4g}", status="ok"))
        for case in cases:
            for c in case.contestants:
                med = c.median
                row = dict(section=case.section, case=case.name,
                           shape=_shape_text(case.shape), dtype=np.dtype(dtype).name,
                           threads=case.threads, contestant=c.name,
                           reference=case.reference.name, repeats=len(c.samples),
                           number=c.number, check=c.check, status=c.status or "ok")
                if c.samples:
                    row.update(median_s=f"{med:.6g}", min_s=f"{c.best:.6g}",
                               ratio=f"{case.ratio(c):.4g}")
                    if case.flops:
                        row["gflops"] = f"{case.flops / med / 1e9:.4g}"
                    if case.bytes_moved:
                        gbps = case.bytes_moved / med / 1e9
                        row["gbps"] = f"{gbps:.4g}"
                        if copy:
                            row["pct_copy"] = f"{100 * gbps / copy:.1f}"
                writer.writerow(row)
