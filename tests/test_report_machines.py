"""The report over several machines' results merged side by side (a CI matrix's campaigns
copied into one results directory), and the page's parts: sections, units, environment.

The results are synthetic (tests/asv_fixtures.py: asv's file format, figures shaped like
real ones) so that two and three machines with different benchmark sets, thread counts and
commits are cheap to build. Every expected figure is computed here from the figures
written, never taken from the report's own code.
"""

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import asv_fixtures
import browser
from conftest import require_module

pd = require_module("pandas")
require_module("matplotlib")

from suite.bench import report  # noqa: E402
from suite.bench.report import units  # noqa: E402
from suite.bench.report.names import method_label  # noqa: E402

DECONV = "bench_deconv.Deconv2d.time_deconv2d"
COUNTERPART = "bench_counterparts.Counterpart.time_counterpart"
FUSED = "bench_fused.UpsampleConv2d.time_upsample_conv2d"
GEMM = "bench_ceilings.Gemm.track_gemm_gflops"


@pytest.fixture(scope="module", params=[2, 3], ids=["two-machines", "three-machines"])
def fleet(request, tmp_path_factory):
    """A results directory of two or three machines, and the page built from it."""
    tmp = tmp_path_factory.mktemp(f"fleet{request.param}")
    results = tmp / "results"
    written = asv_fixtures.fleet(str(results), n_machines=request.param)
    out = tmp / "out"
    proc = subprocess.run([sys.executable, "-m", "suite", "report", "--results", str(results),
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    return dict(results=results, written=written, out=out, page=page,
                machines=sorted(written))


def _sections(page):
    return dict(re.findall(r"<section id='([^']+)'>(.*?)</section>", page, flags=re.S))


def _records(table):
    header = table[0]
    return [dict(zip(header, row)) for row in table[1:]]


def _newest(written, machine):
    """``{(benchmark, params): value}`` of a machine's newest commit (written last)."""
    commits = list(dict.fromkeys(c for (_, _, c) in written[machine]))
    return {(b, p): v for (b, p, c), v in written[machine].items() if c == commits[-1]}


# ---------------------------------------------------------------------------------------
# every section names every machine; nothing fails
# ---------------------------------------------------------------------------------------

def test_every_section_names_every_machine(fleet):
    sections = _sections(fleet["page"])
    assert list(sections) == [s.key for s in report.SECTIONS]
    for key, body in sections.items():
        assert "could not be drawn" not in body, key
        for machine in fleet["machines"]:
            assert re.search(rf"\b{machine}\b", body), (key, machine)


def test_page_has_the_figures_and_no_network(fleet):
    page = fleet["page"]
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(srcs) >= 6
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in page and "https://" not in page
    assert len(page.encode()) < 2_000_000
    for key in ("machines", "costs", "scaling", "roofline", "peers", "history",
                "checkerboard"):
        assert "<figure>" in _sections(page)[key], key


def test_csv_is_the_frame(fleet):
    frame, _ = report.load_results(str(fleet["results"]))
    csv = pd.read_csv(fleet["out"] / "results.csv.gz")
    assert len(csv) == len(frame)
    assert sorted(csv["machine"].unique()) == fleet["machines"]
    ok = csv[csv["status"] == "ok"]
    # every figure written is in the CSV (7 significant digits)
    for (machine, bench, commit), group in ok.groupby(["machine", "benchmark", "commit"]):
        values = sorted(v for (b, p, c), v in fleet["written"][machine].items()
                        if b == bench and c == commit and not math.isnan(v))
        assert np.allclose(sorted(group["value"]), values, rtol=1e-6), (machine, bench)


# ---------------------------------------------------------------------------------------
# the figures of the tables, recomputed from the figures written
# ---------------------------------------------------------------------------------------

def test_machines_side_by_side_relative_times(fleet):
    tables = browser.page_tables(fleet["page"])
    rows = {r["machine"]: r for r in _records(tables["machines"])}
    assert sorted(rows) == fleet["machines"]
    newest = {m: _newest(fleet["written"], m) for m in fleet["machines"]}
    # the reference: the machine with the most timings (alpha)
    timings = {m: {k: v for k, v in newest[m].items()
                   if k[0].split(".")[-1].startswith("time") and not math.isnan(v)}
               for m in newest}
    reference = max(timings, key=lambda m: len(timings[m]))
    for machine in fleet["machines"]:
        if machine == reference:
            continue
        shared = [k for k in timings[machine] if k in timings[reference]]
        ratios = [timings[machine][k] / timings[reference][k] for k in shared]
        header = f"time / time on {reference} (geometric mean)"
        assert rows[machine][header] == units.format_ratio(np.exp(np.mean(np.log(ratios))))
        assert rows[machine][f"timings shared with {reference}"] == str(len(shared))
        gemm = [v for (b, p), v in newest[machine].items() if b == GEMM and p == ("float32", 1)]
        assert rows[machine]["GEMM float32, 1 thread"] == units.format_gflops(gemm[0])


def test_headline_names_the_fastest_method_per_layer_and_machine(fleet):
    tables = browser.page_tables(fleet["page"])
    headline = _records(tables["headline"])
    for machine in fleet["machines"]:
        newest = _newest(fleet["written"], machine)
        threads = max(p[-1] for (b, p) in newest if b == DECONV)
        for row in headline:
            layer = row["layer"].split("\n")[0]
            times = {}
            for (bench, p), v in newest.items():
                if math.isnan(v) or p[0] != layer or p[-1] != threads:
                    continue
                if bench == DECONV and p[2] == "auto":
                    times["deconv"] = v
                elif bench == COUNTERPART:
                    times[p[1]] = min(v, times.get(p[1], math.inf))
                elif bench == FUSED:
                    key = f"{p[1]}+conv3x3"
                    times[key] = min(v, times.get(key, math.inf))
            cell = row[f"fastest on {machine}"]
            if not times:
                assert cell == report.NOT_MEASURED
                continue
            best = min(times, key=times.get)
            assert cell.startswith(method_label(best)), (machine, layer, cell)
            assert units.format_seconds(times[best]) in cell
            if best != "deconv" and "deconv" in times:
                assert (f"{units.format_ratio(times['deconv'] / times[best])} faster than "
                        f"deconvolution") in cell


def test_history_is_each_case_over_the_commits(fleet):
    tables = browser.page_tables(fleet["page"])
    alpha = fleet["written"]["alpha"]
    commits = list(dict.fromkeys(c for (_, _, c) in alpha))
    shown = _records(tables["history"])
    assert {r["machine"] for r in shown} == {"alpha"}          # the only one with 3 commits
    expected = {}
    for (bench, params, commit), v in alpha.items():
        if bench.split(".")[-1].startswith("time") and not math.isnan(v):
            first = alpha[(bench, params, commits[0])]
            expected.setdefault(units.format_ratio(v / first), 0)
            expected[units.format_ratio(v / first)] += 1
    got = {}
    for r in shown:
        got[r["vs oldest"]] = got.get(r["vs oldest"], 0) + 1
    assert got == expected
    summary = {r["kernel family"]: r for r in _records(tables["history-summary"])}
    assert summary["deconvolution"]["commits"] == "3"


def test_machines_with_the_same_peers_and_commit(tmp_path):
    # Two machines that measured the same benchmarks, peers included, at the same commit
    # (the peers figure once crashed on such results).
    results = str(tmp_path / "results")
    commit = [("e" * 40, 1_790_000_000_000, 1.0)]
    for i, machine in enumerate(("one", "two")):
        asv_fixtures.write_machine(results, machine, commit, speed=40.0 + 20 * i, seed=i)
    asv_fixtures.write_benchmarks(results)
    frame, problems = report.load_results(results)
    path, failures = report.build(report.derive(frame), problems, str(tmp_path / "out"))
    assert failures == []
    peers = _sections(open(path, encoding="utf-8").read())["peers"]
    assert "<figure>" in peers and "one" in peers and "two" in peers


def test_history_campaign_beside_make_campaign(tmp_path):
    # make campaign at the newest commit (every benchmark) and a history campaign over three
    # commits (asv run A..B: its own environment, the deconvolution only) on one machine:
    # the history is the history environment's, the other sections the newest commit's
    # environment with the most results.
    results = str(tmp_path / "results")
    day = 86_400_000
    commits = [("a" * 40, 1_790_000_000_000, 1.2), ("b" * 40, 1_790_000_000_000 + day, 1.1),
               ("c" * 40, 1_790_000_000_000 + 2 * day, 1.0)]
    history = asv_fixtures.write_machine(results, "box", commits, benchmarks=[DECONV],
                                         env="virtualenv-py3.12", seed=4)
    asv_fixtures.write_machine(results, "box", commits[-1:], seed=5)
    asv_fixtures.write_benchmarks(results)
    frame, problems = report.load_results(results)
    frame = report.derive(frame)
    path = report.build_report(frame, problems, str(tmp_path / "out"),
                               environment=report.environment_frame(results))
    tables = browser.page_tables(open(path, encoding="utf-8").read())
    summary = _records(tables["history-summary"])
    assert [(r["kernel family"], r["commits"], r["asv environment"]) for r in summary] == [
        ("deconvolution", "3", "virtualenv-py3.12")]
    expected = sorted(history[(b, p, "c" * 40)] / history[(b, p, "a" * 40)]
                      for (b, p, c) in history if c == "a" * 40
                      and not math.isnan(history[(b, p, c)]))
    assert summary[0]["newest / oldest (geometric mean)"] == units.format_ratio(
        np.exp(np.mean(np.log(expected))))
    # the headline's time is the make campaign environment's (it has the fused kernel)
    assert any("(fused)" in r["fastest on box"] for r in _records(tables["headline"]))


def test_environment_names_the_pin_and_warns(fleet):
    sections = _sections(fleet["page"])
    env = {r[""]: r for r in _records(browser.page_tables(fleet["page"])["environment"])}
    # beta's record (asv_fixtures.BETA_ENVIRONMENT) wins over asv's machine.json
    assert env["BLAS pin"]["beta"] == "OPENBLAS_CORETYPE=Haswell"
    assert env["BLAS kernels"]["beta"] == "Haswell (AVX2, 256-bit)"
    assert env["BLAS"]["beta"] == "openblas 0.3.30"
    assert env["vector extensions"]["beta"] == "AVX2, FMA, AVX-512F"
    assert env["OpenMP runtime"]["beta"] == "libgomp.so.1"
    assert env["CPU"]["beta"] == "Beta CPU 100 (recorded)"
    assert env["package versions"]["beta"] == "numpy 2.3.0, scipy 1.16.0"
    # alpha recorded nothing: asv's description, unknown elsewhere
    assert env["BLAS kernels"]["alpha"] == "unknown"
    assert env["CPU"]["alpha"] == "Alpha CPU 9000"
    assert "beta: the BLAS is pinned" in sections["environment"]
    assert "alpha: the BLAS is pinned" not in sections["environment"]
    assert "beta ran with its BLAS pinned" in sections["headline"]


def test_environment_frame_columns(fleet):
    env = report.environment_frame(str(fleet["results"]))
    assert list(env.columns[:10]) == ["machine", "cpu", "cores", "isa", "blas", "blas_version",
                                      "blas_kernel", "blas_pin", "openmp", "versions"]
    env = env.set_index("machine")
    assert sorted(env.index) == fleet["machines"]
    assert env.loc["alpha", "cores"] == 2 and env.loc["beta", "cores"] == 4
    assert env.loc["alpha", "isa"] == "unknown"
    assert env.loc["beta", "isa"] == "AVX2, FMA, AVX-512F"
    assert env.loc["beta", "blas_pin"] == "OPENBLAS_CORETYPE=Haswell"
    assert env.loc["alpha", "commits"] == 3
    assert env.loc["beta", "versions"] == "numpy 2.3.0, scipy 1.16.0"
    assert env.loc["alpha", "versions"] == "numpy 2.3.0"          # asv's requirements


def test_a_new_peer_class_is_compared_by_its_parameters(fleet):
    # NewEngineCounterpart (tests/asv_fixtures.py) is unknown to the report: its engine
    # parameter names the peer, its counterpart the operation suite's timing is found by
    summary = _records(browser.page_tables(fleet["page"])["peers-summary"])
    newest = _newest(fleet["written"], "alpha")
    for engine, label in (("onnxruntime", "ONNX Runtime"), ("openvino", "OpenVINO")):
        ratios = [v / newest[(COUNTERPART, (p[0], p[1], p[3], p[4]))]
                  for (b, p), v in newest.items()
                  if b.endswith("NewEngineCounterpart.time_counterpart") and p[2] == engine
                  and p[1] == "nearest+conv3x3" and not math.isnan(v)]
        row = [r for r in summary if r["peer"] == label and r["machine"] == "alpha"
               and r["operation"] == method_label("nearest+conv3x3")]
        assert len(row) == 1 and row[0]["cases"] == str(len(ratios))
        assert row[0]["peer / suite (geometric mean)"] == units.format_ratio(
            np.exp(np.mean(np.log(ratios))))


def test_sweep_is_each_configuration_against_suite(fleet):
    summary = _records(browser.page_tables(fleet["page"])["sweep-summary"])
    for machine in fleet["machines"]:
        newest = _newest(fleet["written"], machine)
        sweep = {p: v for (b, p), v in newest.items() if b == "bench_sweep.Sweep.time_layer"}
        for threads in sorted({p[2] for p in sweep}):
            ratios = [sweep[(c, "torch", threads)] / sweep[(c, "suite", threads)]
                      for c in asv_fixtures.SWEEP if c.startswith("deconv")]
            row = [r for r in summary if r["machine"] == machine and r["threads"] == str(
                threads) and r["kind"] == "deconvolution"]
            assert len(row) == 1, (machine, threads)
            assert row[0]["configurations"] == str(len(ratios))
            assert row[0]["contestant / suite (geometric mean)"] == units.format_ratio(
                np.exp(np.mean(np.log(ratios))))


def test_absent_benchmarks_are_named_per_machine(fleet):
    tables = browser.page_tables(fleet["page"])
    absent = {r["benchmark"]: r["no result on"] for r in _records(tables["absent"])}
    others = ", ".join(m for m in fleet["machines"] if m != "alpha")
    assert absent["peer deconvolution: time"] == others
    peers = _sections(fleet["page"])["peers"]
    assert f"Peers were not measured on {others}." in peers


# ---------------------------------------------------------------------------------------
# the page's parts
# ---------------------------------------------------------------------------------------

def test_sections_register_and_fail_alone(fleet, tmp_path):
    frame, problems = report.load_results(str(fleet["results"]))
    frame = report.derive(frame)
    saved = list(report.SECTIONS)

    def missing(frame, context):
        raise report.NotMeasured("no trace of the kernels")

    def broken(frame, context):
        raise RuntimeError("a bug")

    def working(frame, context):
        return f"<p>{len(context.machines)} machines</p>"

    try:
        report.register(report.Section("trace", "Traces", missing), after="costs")
        report.register(report.Section("broken", "Broken", broken))
        report.register(report.Section("extra", "Extra", working), after="trace")
        keys = [s.key for s in report.SECTIONS]
        assert keys.index("trace") == keys.index("costs") + 1
        assert keys.index("extra") == keys.index("trace") + 1
        # a section with a key already there replaces it, in its place
        report.register(report.Section("profile", "Where the time goes", working))
        assert [s.key for s in report.SECTIONS] == keys
        assert report.SECTIONS[keys.index("profile")].render is working
        path, failures = report.build(frame, problems, str(tmp_path))
    finally:
        report.SECTIONS[:] = saved
    page = open(path, encoding="utf-8").read()
    body = _sections(page)
    assert "Not measured in these results" in body["trace"]
    assert "no trace of the kernels" in body["trace"]
    assert "could not be drawn" in body["broken"] and "a bug" in body["broken"]
    assert failures == ["section 'Broken': RuntimeError: a bug"]
    assert f"{len(fleet['machines'])} machines" in body["extra"]
    assert "could not be drawn" not in body["headline"]        # the rest of the page


def test_units_read_as_a_person_writes_them():
    assert units.format_seconds(2.224e-05) == "22.2 µs"
    assert units.format_seconds(0.00137) == "1.37 ms"
    assert units.format_seconds(3.5) == "3.5 s"
    assert units.format_bytes(25276518400) == "25.3 GB"
    assert units.format_bytes(512) == "512 B"
    assert units.format_bytes(13_107_200) == "13.1 MB"
    assert units.format_flops(1.367e7) == "13.7 MFLOP"
    assert units.format_flops(0) == "0 FLOP"
    assert units.format_gflops(189.42) == "189 GFLOP/s"
    assert units.format_ratio(3.214) == "3.21×"
    assert units.format_count(131136) == "131 k" and units.format_count(7056) == "7,056"
    assert units.format_percent(75.4) == "75%"
    for fmt in (units.format_seconds, units.format_bytes, units.format_flops,
                units.format_ratio, units.format_count):
        assert fmt(math.nan) == report.NOT_MEASURED and fmt(None) == report.NOT_MEASURED


def test_no_asv_identifier_in_the_page_text(fleet):
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)>.*?</\1>", "", fleet["page"],
                                          flags=re.S))
    assert not re.search(r"bench_\w+\.\w+\.(time|peakmem|track)_", text)
    assert not re.search(r"\d\.\d+e[+-]\d\d", text)        # no raw scientific notation


def test_browser_renders_the_fleet_page(fleet, tmp_path):
    browser.require_browser()
    seen = browser.inspect_page(fleet["out"] / "index.html", tmp_path)
    assert seen["errors"] == []
    assert seen["images"] >= 6 and seen["images_ok"] == seen["images"], seen
    assert seen["sorted"] == "yes"
    shot = browser.screenshot(fleet["out"] / "index.html",
                              tmp_path / f"report-{len(fleet['machines'])}-machines.png",
                              tmp_path, height=9000)
    assert shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")
