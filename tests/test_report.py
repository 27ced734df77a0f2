"""The report (``python -m suite report``): loader, derived columns, faults, HTML, browser.

The results are made by a REAL small asv run inside the test (module fixture
``asv_results``): ``asv run --python=same --set-commit-hash=HEAD --quick`` of the ceilings
(``bench_ceilings``: GEMM GFLOP/s, copy GB/s) and ``bench_upsample.Upsample.time_upsample``
(about 15 s on two cores), with a temporary asv.conf.json, results directory and HOME (so
asv's machine file is the test's own: machine "testbox"). Faults (corrupt, truncated,
foreign files, failed benchmarks, a second machine, a second commit) are derived from that
run's files.
"""

import copy
import glob
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import warnings

import numpy as np
import pytest

import browser
from conftest import ROOT, require_module

pd = require_module("pandas")
require_module("matplotlib")

from suite.bench import report  # noqa: E402
from suite.bench.report.names import benchmark_label  # noqa: E402
from suite.bench.report.units import format_seconds  # noqa: E402

BENCH = r"^bench_ceilings|^bench_upsample\.Upsample\.time_upsample"
UPSAMPLE = "bench_upsample.Upsample.time_upsample"


def _asv_conf(tmp):
    with open(os.path.join(ROOT, "asv.conf.json"), encoding="utf-8") as f:
        text = re.sub(r"^\s*//.*$", "", f.read(), flags=re.M)
    conf = json.loads(text)
    conf.update(repo=ROOT, benchmark_dir=os.path.join(ROOT, "benchmarks"),
                results_dir=os.path.join(tmp, "results"), html_dir=os.path.join(tmp, "html"),
                env_dir=os.path.join(tmp, "env"))
    path = os.path.join(tmp, "asv.conf.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(conf, f)
    return path


@pytest.fixture(scope="module")
def asv_results(tmp_path_factory):
    """A results directory written by a real asv run (machine "testbox", commit HEAD)."""
    require_module("asv", reason="asv is not installed: pip install asv")
    tmp = str(tmp_path_factory.mktemp("asv"))
    conf = _asv_conf(tmp)
    env = dict(os.environ, HOME=os.path.join(tmp, "home"), SUITE_BENCH_PROFILE="quick")
    os.makedirs(env["HOME"])
    asv = [sys.executable, "-m", "asv"]
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    subprocess.run(asv + ["machine", "--yes", "--machine", "testbox", "--config", conf],
                   env=env, cwd=tmp, check=True, capture_output=True, timeout=120)
    run = subprocess.run(asv + ["run", "--config", conf, "--python=same",
                                f"--set-commit-hash={head}", "-b", BENCH, "--quick",
                                "--machine", "testbox"],
                         env=env, cwd=tmp, capture_output=True, text=True, timeout=600)
    results = os.path.join(tmp, "results")
    files = glob.glob(os.path.join(results, "testbox", "*.json"))
    assert run.returncode == 0 and len(files) == 2, run.stdout[-3000:] + run.stderr[-3000:]
    return results, head


def _result_file(results):
    return next(f for f in glob.glob(os.path.join(results, "testbox", "*.json"))
                if not f.endswith("machine.json"))


def _copy(results, tmp_path, name="results"):
    dest = tmp_path / name
    shutil.copytree(results, dest)
    return dest


@pytest.fixture(scope="module")
def loaded(asv_results):
    results, _ = asv_results
    frame, problems = report.load_results(results)
    return frame, problems


# ----------------------------------------------------------------------------------------
# loader on the real run
# ----------------------------------------------------------------------------------------

def test_loader_one_row_per_combination(asv_results, loaded):
    results, head = asv_results
    frame, problems = loaded
    assert problems == []
    with open(_result_file(results), encoding="utf-8") as f:
        data = json.load(f)
    for name, entry in data["results"].items():
        rows = frame[frame["benchmark"] == name]
        n = int(np.prod([len(p) for p in entry[1]]))
        assert len(rows) == n, name
        for value, (_, row) in zip(entry[0], rows.iterrows()):
            if value is None:
                assert row["status"] == "failed"
            elif isinstance(value, float) and math.isnan(value):
                assert row["status"] == "skipped" and math.isnan(row["value"])
            else:
                assert row["status"] == "ok" and row["value"] == value
    assert set(frame["machine"]) == {"testbox"}
    assert set(frame["commit"]) == {head}
    ups = frame[frame["benchmark"] == UPSAMPLE]
    # parameter names from benchmarks.json, values un-repr'd
    assert {"layer", "mode", "scale", "dtype", "threads"} <= set(ups.columns)
    assert set(ups["mode"]) == {"nearest", "bilinear"}
    assert ups["threads"].dropna().isin([1, os.cpu_count()]).all()
    gemm = frame[frame["benchmark"] == report.GEMM]
    # itertools.product order: dtype varies slowest
    assert list(gemm["dtype"]) == sorted(gemm["dtype"])
    assert (gemm["unit"] == "GFLOP/s").all()
    for column in ("q25", "q75", "iqr", "ci99_lo", "ci99_hi", "unit", "cpu", "num_cpu"):
        assert column in frame
    assert (ups["unit"] == "seconds").all()


def test_derived_columns_match_cost_model_and_ceilings(loaded):
    from suite import cost as C
    from suite.bench.catalogue import get_layer

    frame = report.derive(loaded[0])
    ups = frame[(frame["benchmark"] == UPSAMPLE) & (frame["status"] == "ok")]
    assert len(ups)
    for _, row in ups.iterrows():
        layer = get_layer(row["layer"])
        ac = False if row["mode"] == "bilinear" else None
        c = C.upsample_cost(layer.input_shape, scale_factor=row["scale"], mode=row["mode"],
                            align_corners=ac, itemsize=4)
        assert row["min_bytes"] == c.min_bytes
        assert row["gbps"] == pytest.approx(c.min_bytes / row["value"] / 1e9)
        copy_ = frame[(frame["benchmark"] == report.COPY) & (frame["threads"] == row["threads"])]
        assert row["pct_peak_bw"] == pytest.approx(100 * row["gbps"] /
                                                   copy_["value"].iloc[0])
        one = ups[(ups["layer"] == row["layer"]) & (ups["mode"] == row["mode"])
                  & (ups["threads"] == 1)]
        if len(one):
            assert row["speedup"] == pytest.approx(one["value"].iloc[0] / row["value"])
            assert row["efficiency"] == pytest.approx(row["speedup"] / row["threads"])
    # nothing not measured becomes a number
    skipped = frame[frame["status"] != "ok"]
    assert skipped["value"].isna().all() and skipped["gbps"].isna().all()


def test_engine_rows_are_peers_of_suites_own_timings(loaded):
    """bench_peers' engine rows (PeerDeconv2d with peer onnxruntime / openvino,
    EngineCounterpart) are compared with suite's timing of the same case, named by their
    engine, and drawn in the peers figure."""
    frame = loaded[0]
    template = frame[(frame["benchmark"] == UPSAMPLE) & (frame["status"] == "ok")].iloc[0]
    cases = [("bench_deconv.Deconv2d.time_deconv2d", dict(algorithm="auto"), 2e-3),
             ("bench_peers.PeerDeconv2d.time_deconv2d", dict(peer="onnxruntime"), 3e-3),
             ("bench_counterparts.Counterpart.time_counterpart",
              dict(counterpart="nearest+conv3x3"), 4e-3),
             ("bench_peers.EngineCounterpart.time_counterpart",
              dict(counterpart="nearest+conv3x3", peer="openvino"), 2e-3)]
    rows = []
    for benchmark, params, value in cases:
        row = template.copy()
        for column in ("mode", "scale", "algorithm", "counterpart", "peer"):
            row[column] = None
        row.update(dict(benchmark=benchmark, layer="dcgan-g4", dtype="float32", threads=1,
                        value=value, params=", ".join(params.values()), **params))
        rows.append(row)
    derived = report.derive(pd.DataFrame(rows).reset_index(drop=True))
    peers = derived[derived["vs_ours"].notna()]
    assert [report.peer_name(r) for _, r in peers.iterrows()] == ["onnxruntime", "openvino"]
    assert list(peers["vs_ours"]) == pytest.approx([3e-3 / 2e-3, 2e-3 / 4e-3])
    assert report.fig_peers(derived)


# ----------------------------------------------------------------------------------------
# faults
# ----------------------------------------------------------------------------------------

def test_corrupt_truncated_foreign_files_warn_and_report_from_rest(asv_results, tmp_path,
                                                                    capsys):
    results, _ = asv_results
    dest = _copy(results, tmp_path)
    good = _result_file(str(dest))
    text = open(good, encoding="utf-8").read()
    (dest / "testbox" / "truncated-env.json").write_text(text[: len(text) // 2])
    (dest / "testbox" / "corrupt-env.json").write_bytes(b"\x00\xff garbage {{{")
    (dest / "testbox" / "foreign-env.json").write_text(json.dumps({"name": "package.json"}))
    (dest / "testbox" / "list-env.json").write_text("[1, 2, 3]")
    with pytest.warns(UserWarning) as caught:
        frame, problems = report.load_results(dest)
    messages = " ".join(str(w.message) for w in caught)
    for name in ("truncated-env.json", "corrupt-env.json", "foreign-env.json",
                 "list-env.json"):
        assert name in messages
        assert any(name in p for p in problems)
    assert set(frame["file"]) == {os.path.basename(good)}
    out = tmp_path / "out"
    assert report.main(["--results", str(dest), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "truncated-env.json" in captured.err and "foreign-env.json" in captured.err
    assert captured.out.strip().endswith(str(out / "index.html"))
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "corrupt-env.json" in page and "Input problems" in page


def test_malformed_entry_is_skipped_with_warning(asv_results, tmp_path):
    results, _ = asv_results
    dest = _copy(results, tmp_path)
    path = _result_file(str(dest))
    data = json.load(open(path, encoding="utf-8"))
    data["results"][UPSAMPLE][0] = data["results"][UPSAMPLE][0][:3]   # too few results
    json.dump(data, open(path, "w", encoding="utf-8"))
    with pytest.warns(UserWarning, match="time_upsample"):
        frame, problems = report.load_results(dest)
    assert UPSAMPLE not in set(frame["benchmark"])
    assert report.COPY in set(frame["benchmark"])


@pytest.mark.parametrize("kind", ["missing", "empty", "only-machine-json", "only-corrupt"])
def test_missing_or_empty_results_is_a_clear_error(tmp_path, kind, capsys):
    target = tmp_path / "results"
    if kind != "missing":
        target.mkdir()
    if kind in ("only-machine-json", "only-corrupt"):
        (target / "m").mkdir()
        (target / "m" / "machine.json").write_text('{"machine": "m"}')
    if kind == "only-corrupt":
        (target / "m" / "abc-env.json").write_text("{not json")
    with pytest.warns(UserWarning) if kind == "only-corrupt" else _nothing():
        with pytest.raises(report.ReportInputError) as info:
            report.load_results(target)
    assert isinstance(info.value, ValueError)
    assert str(target) in str(info.value)
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--results", str(target), "--out", str(tmp_path / "out")])
    assert "python -m suite report:" in str(exit_info.value.code)
    assert not (tmp_path / "out" / "index.html").exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _faulty_copy(results, tmp_path):
    """The real results plus: failed (null) and skipped (NaN) combinations, a second machine
    without the upsample benchmark, and a second (older) commit."""
    dest = _copy(results, tmp_path)
    path = _result_file(str(dest))
    data = json.load(open(path, encoding="utf-8"))
    values = data["results"][UPSAMPLE][0]
    values[0] = None             # failed
    values[1] = float("nan")     # skipped
    json.dump(data, open(path, "w", encoding="utf-8"))
    other = dest / "otherbox"
    other.mkdir()
    machine = json.load(open(dest / "testbox" / "machine.json"))
    machine["machine"] = "otherbox"
    json.dump(machine, open(other / "machine.json", "w"))
    data2 = copy.deepcopy(data)
    data2["params"]["machine"] = "otherbox"
    del data2["results"][UPSAMPLE]
    json.dump(data2, open(other / os.path.basename(path), "w"))
    data3 = copy.deepcopy(data)
    data3["commit_hash"] = "0" * 40
    data3["date"] = data["date"] - 86_400_000
    json.dump(data3, open(dest / "testbox" / ("00000000-" + os.path.basename(path)
                                               .split("-", 1)[1]), "w"))
    return dest


def test_machines_that_measured_the_same_commits(asv_results, tmp_path):
    # Campaigns of two machines merged side by side, both at the same two commits: the
    # history has a line per machine and case (it failed on duplicate commits before).
    results, _ = asv_results
    dest = _copy(results, tmp_path)
    path = _result_file(str(dest))
    data = json.load(open(path, encoding="utf-8"))
    older = copy.deepcopy(data)
    older["commit_hash"] = "0" * 40
    older["date"] = data["date"] - 86_400_000
    name = os.path.basename(path).split("-", 1)[1]
    json.dump(older, open(dest / "testbox" / f"00000000-{name}", "w"))
    other = dest / "otherbox"
    other.mkdir()
    machine = json.load(open(dest / "testbox" / "machine.json"))
    machine["machine"] = "otherbox"
    json.dump(machine, open(other / "machine.json", "w"))
    for result, file_name in ((data, os.path.basename(path)), (older, f"00000000-{name}")):
        result = copy.deepcopy(result)
        result["params"]["machine"] = "otherbox"
        json.dump(result, open(other / file_name, "w"))
    frame, problems = report.load_results(str(dest))
    frame = report.derive(frame)
    assert not problems and set(frame["machine"]) == {"testbox", "otherbox"}
    history = report.fig_history(frame)
    assert history is not None
    page = open(report.build_report(frame, problems, str(tmp_path / "out")),
                encoding="utf-8").read()
    assert "one commit per machine" not in page and 'alt="history"' in page
    history = page[page.index("<section id='history'>"):]
    history = history[:history.index("</section>")]
    assert "testbox" in history and "otherbox" in history


def test_each_machine_names_its_environment(asv_results, tmp_path):
    # The campaign records what it ran on (bench_ceilings.Environment); a machine whose
    # results predate that record gets asv's CPU name and says it has no record.
    from suite import _environment

    results, head = asv_results
    dest = _copy(results, tmp_path)
    older = dest / "olderbox"
    older.mkdir()
    machine = json.load(open(dest / "testbox" / "machine.json"))
    json.dump(dict(machine, machine="olderbox"), open(older / "machine.json", "w"))
    path = _result_file(str(dest))
    data = json.load(open(path, encoding="utf-8"))
    data["results"] = {k: v for k, v in data["results"].items()
                       if k != report.load.ENVIRONMENT}
    data["params"]["machine"] = "olderbox"
    json.dump(data, open(older / os.path.basename(path), "w"))
    frame, problems = report.load_results(str(dest))
    assert not problems
    environments = report.machine_environments(frame)
    assert set(environments) == {"testbox", "olderbox"}
    here, description = environments["testbox"], _environment.describe()
    assert here["recorded"] and here["commit"] == head
    assert here["cpu_model"] == description["cpu_model"]
    assert here["vector_extensions"] == description["vector_extensions"]
    for key in ("library", "version", "kernels", "kernel_width"):
        assert here[f"blas_{key}"] == description["blas"][key], key
    assert here["blas_pins"] == description["pins"]
    assert here["packages"]["numpy"] == description["packages"]["numpy"]
    row = frame[frame["benchmark"] == report.load.ENVIRONMENT]
    assert row["value"].iloc[0] == description["blas"]["kernel_width"]
    old = environments["olderbox"]
    assert not old["recorded"] and old["cpu_model"] == (machine.get("cpu") or None)
    assert old["blas_kernels"] is None


def test_failed_listed_not_measured_never_zero(asv_results, tmp_path):
    results, head = asv_results
    dest = _faulty_copy(results, tmp_path)
    frame, problems = report.load_results(dest)
    frame = report.derive(frame)
    ups = frame[(frame["benchmark"] == UPSAMPLE) & (frame["machine"] == "testbox")
                & (frame["commit"] == head)]
    assert ups["status"].iloc[0] == "failed" and ups["status"].iloc[1] == "skipped"
    assert ups["value"].iloc[:2].isna().all()
    assert (frame.loc[frame["status"] != "ok", ["value", "gbps", "speedup"]]
            .isna().all().all())
    assert not (frame[frame["kind"] == "time"]["value"] == 0).any()
    out = tmp_path / "out"
    path = report.build_report(frame, problems, str(out))
    page = open(path, encoding="utf-8").read()
    tables = browser.page_tables(page)
    failed = tables["failed"]
    label = benchmark_label(UPSAMPLE)
    assert sum(label in " ".join(r) and "failed" in r for r in failed[1:]) == (
        (frame["status"] == "failed").sum())
    assert report.NOT_MEASURED in page
    # the second machine lacks the upsample benchmark: named as absent there
    absent = {r[0]: r[1] for r in tables["absent"][1:]}
    assert absent == {label: "otherbox"}
    assert 'alt="history"' in page                       # two commits: a history figure
    csv = pd.read_csv(out / "results.csv.gz")
    assert len(csv) == len(frame)
    assert (csv["status"] == "failed").sum() == (frame["status"] == "failed").sum()


# ----------------------------------------------------------------------------------------
# the page: tables equal the frame; the CLI
# ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(asv_results, tmp_path_factory):
    results, _ = asv_results
    out = tmp_path_factory.mktemp("report")
    assert report.main(["--results", results, "--out", str(out)]) == 0
    return out, pd.read_csv(out / "results.csv.gz")


def test_html_tables_equal_the_frame(asv_results, built):
    out, csv = built
    page = (out / "index.html").read_text(encoding="utf-8")
    tables = browser.page_tables(page)
    # results per machine and status: the newest commit's counts
    status = tables["status"]
    header = status[0]
    counts = csv.groupby("status").size()
    row = status[1]
    assert row[0] == "testbox"
    for name, column in (("ok", "measured"), ("failed", "failed"),
                         ("skipped", "not measured")):
        assert row[header.index(column)] == f"{counts.get(name, 0):,}"
    # the environment: asv's machine.json, field by field
    env = {r[0]: r[1] for r in tables["environment"][1:]}
    with open(os.path.join(asv_results[0], "testbox", "machine.json"), encoding="utf-8") as f:
        machine = json.load(f)
    for field, name in (("num_cpu", "cores"), ("os", "OS"), ("arch", "architecture")):
        assert env[name] == (str(machine[field]) if machine.get(field) else "unknown")
    # the campaign's own record of its environment (bench_ceilings.Environment), which the
    # asv run above made on this machine
    from suite import _environment

    here = _environment.describe()
    assert env["CPU"] == (here["cpu_model"] or machine.get("cpu") or "unknown")
    assert env["vector extensions"] == (", ".join(here["vector_extensions"]) or "unknown")
    assert env["BLAS kernels"].startswith(here["blas"]["kernels"])
    assert env["BLAS"] == f"{here['blas']['library']} {here['blas']['version']}"
    assert env["BLAS pin"] == (", ".join(f"{k}={v}" for k, v in sorted(here["pins"].items()))
                               or "none")
    # the upsample timings in the roofline table: each row's time is the frame's
    roof = tables.get("roofline")
    if roof is not None:
        header = roof[0]
        # the CSV keeps 7 significant digits: a time whose 3-digit form sits on a rounding
        # boundary may round the other way from the CSV's copy, so both neighbours count
        values = csv.loc[(csv["benchmark"] == UPSAMPLE) & (csv["status"] == "ok"), "value"]
        times = {format_seconds(v * (1 + e)) for v in values for e in (-1e-7, 0.0, 1e-7)}
        shown = {r[header.index("median time")] for r in roof[1:]}
        assert shown and shown <= times
    cb = tables["checkerboard"]
    from suite.bench import costs

    for r in cb[1:]:
        board = costs.layer_checkerboard(r[0])
        assert r[cb[0].index("overlap ratio")] == report.format_number(board["overlap_ratio"])
    # the header: machine and commit
    assert "testbox" in page and csv["commit"].iloc[0][:8] in page
    versions = {r[0] for r in tables["report-environment"][1:]}
    assert {"numpy", "matplotlib", "pandas", "asv"} <= versions


def test_page_is_self_contained(built):
    out, _ = built
    page = (out / "index.html").read_text(encoding="utf-8")
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script src" not in page
    keys = [s.key for s in report.SECTIONS]
    positions = [page.index(f"<section id='{k}'>") for k in keys]
    assert positions == sorted(positions)
    assert keys.index("headline") < keys.index("methodology")
    assert os.path.getsize(out / "index.html") < 3_000_000


def test_cli_dispatch(asv_results, tmp_path):
    results, _ = asv_results
    from suite.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["report", "--help"])
    assert info.value.code == 0
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "suite", "report", "--results", results,
                           "--out", str(out)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(out / "index.html")
    assert (out / "results.csv.gz").exists()


def test_interrupted_campaign_keeps_results_the_report_builds_from(asv_results, tmp_path):
    # An earlier complete campaign, then a run of the same commit stopped part-way (as by
    # Ctrl-C on make campaign): every results file still parses, none lost its rows, and
    # the report builds.
    results, head = asv_results
    dest = _copy(results, tmp_path)
    measured = report.load_results(str(dest))[0]
    measured = set(map(tuple, measured.loc[measured["status"] == "ok",
                                           ["benchmark", "params"]].astype(str).values))
    conf = _asv_conf(str(tmp_path))
    env = dict(os.environ, HOME=str(tmp_path / "home"), SUITE_BENCH_PROFILE="quick")
    os.makedirs(env["HOME"])
    asv = [sys.executable, "-m", "asv"]
    subprocess.run(asv + ["machine", "--yes", "--machine", "testbox", "--config", conf],
                   env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    run = subprocess.Popen(asv + ["run", "--config", conf, "--python=same",
                                  f"--set-commit-hash={head}", "-b", "^bench_upsample",
                                  "--machine", "testbox"],
                           env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        started = 0
        for line in run.stdout:        # interrupt once two benchmarks have started
            started += "bench_upsample." in line
            if started >= 2:
                break
        assert started >= 2, "asv finished before it could be interrupted"
        os.killpg(run.pid, signal.SIGINT)
        run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode != 0
    for path in glob.glob(str(dest / "**" / "*.json"), recursive=True):
        with open(path, encoding="utf-8") as f:
            json.load(f)            # nothing half-written
    frame, problems = report.load_results(str(dest))
    assert not problems
    after = set(map(tuple, frame.loc[frame["status"] == "ok",
                                     ["benchmark", "params"]].astype(str).values))
    assert measured and measured <= after     # nothing measured before was lost
    page = report.build_report(report.derive(frame), problems, str(tmp_path / "out"))
    assert os.path.getsize(page) > 10_000


def test_format_number():
    assert report.format_number(math.nan) == report.NOT_MEASURED
    assert report.format_number(None) == report.NOT_MEASURED
    assert report.format_number(0.0) == "0"
    assert report.format_number(1234) == "1,234"
    assert report.format_number(12.3456) == "12.35"


# ----------------------------------------------------------------------------------------
# browser
# ----------------------------------------------------------------------------------------

def test_browser_renders_every_figure(built, tmp_path):
    # The page of a real asv run in headless Chromium: no script or console error, every
    # figure decodes, a sortable table sorts; a screenshot is kept beside the test's files.
    browser.require_browser()
    out, _ = built
    seen = browser.inspect_page(out / "index.html", tmp_path)
    assert seen["errors"] == []
    assert seen["images"] >= 2 and seen["images_ok"] == seen["images"], seen
    assert seen["sorted"] == "yes"
    shot = browser.screenshot(out / "index.html", tmp_path / "report.png", tmp_path)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


# ----------------------------------------------------------------------------------------
# fuzz: random truncations, byte corruption and structural mutations of a real results file
# ----------------------------------------------------------------------------------------

def _mutations(text, data, rng):
    """A stream of damaged versions of one results file (text and parsed JSON)."""
    for _ in range(40):                                   # truncated anywhere
        yield text[: int(rng.integers(0, len(text)))]
    raw = text.encode()
    for _ in range(40):                                   # a few bytes overwritten
        b = bytearray(raw)
        for pos in rng.integers(0, len(b), size=int(rng.integers(1, 6))):
            b[pos] = int(rng.integers(0, 256))
        yield bytes(b).decode("utf-8", errors="replace")
    junk = [None, 0, -1, 1e308, "x", [], {}, [None], {"a": 1}, float("nan")]
    for _ in range(60):                                   # valid JSON, wrong content
        mutated = json.loads(json.dumps(data))
        target = mutated
        path = []
        while isinstance(target, (dict, list)) and target and rng.random() < 0.7:
            key = (list(target)[int(rng.integers(0, len(target)))] if isinstance(target, dict)
                   else int(rng.integers(0, len(target))))
            path.append((target, key))
            target = target[key]
        if path:
            parent, key = path[-1]
            parent[key] = junk[int(rng.integers(0, len(junk)))]
        yield json.dumps(mutated, allow_nan=True)


def test_loader_fuzz_never_crashes_and_keeps_the_good_file(asv_results, tmp_path):
    results, _ = asv_results
    good = _result_file(results)
    text = open(good, encoding="utf-8").read()
    data = json.loads(text)
    reference, _ = report.load_results(results)
    expected = len(reference[reference["file"] == os.path.basename(good)])
    rng = np.random.default_rng(20261128)
    for i, damaged in enumerate(_mutations(text, data, rng)):
        dest = tmp_path / f"case{i}"
        shutil.copytree(results, dest)
        name = f"damaged{i}-env.json"
        (dest / "testbox" / name).write_text(damaged, encoding="utf-8")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame, problems = report.load_results(dest)
        # the intact file's rows are all there, whatever happened to the damaged one
        kept = frame[frame["file"] == os.path.basename(good)]
        assert len(kept) == expected, (i, damaged[:200])
        # the damaged file either loaded (some mutations stay valid) or is named in a warning
        if name not in set(frame["file"]):
            assert any(name in str(w.message) for w in caught), (i, damaged[:200])
        shutil.rmtree(dest)
