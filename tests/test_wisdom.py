"""algorithm="measure" and the wisdom it keeps (suite.wisdom): the result is exactly one
method's, "auto" follows a recorded choice, choices survive the process in a JSON file keyed
by machine, and the file is written safely (atomic, merged, corrupt files ignored) from
several threads and processes.

Every test here starts with empty wisdom and SUITE_WISDOM=0 (conftest); those about the
file point SUITE_WISDOM_FILE into a temporary directory and turn it on.
"""

import importlib
import json
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

from conftest import DTYPE_IDS, DTYPES, Deconv, UpConv, load_suite

suite = load_suite()
W = importlib.import_module("suite.wisdom")
conv = importlib.import_module("suite.conv")
fused = importlib.import_module("suite.fused")

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)

#: Configurations where several methods apply, each a different set of candidates.
DECONV_CASES = [
    Deconv(2, 17, 20, 7, 5, 4, s=2, p=1, op=1),                  # col2im, phase, winograd, direct
    Deconv(1, 6, 9, 4, 5, 3, s=2, p=1, op=1, groups=3),          # phase's rule, no winograd
    Deconv(1, 40, 8, 5, 5, 4, s=2, p=1),                         # 40 channels: no direct
]
UPCONV_CASES = [
    UpConv(2, 4, 3, 5, 6, 3, 2, p=1),                            # winograd, collapsed, banded
    UpConv(1, 3, 2, 4, 5, 3, 3, p=1),                            # collapsed, banded
]


@pytest.fixture
def wisdom_file(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "wisdom.json"
    monkeypatch.setenv("SUITE_WISDOM_FILE", str(path))
    monkeypatch.setenv("SUITE_WISDOM", "1")
    return path


def only_entry():
    entries = W.entries()
    assert len(entries) == 1, entries
    return next(iter(entries.items()))


def run_python(code, env_updates, timeout=300):
    env = dict(os.environ, **env_updates)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


# ----------------------------------------------------------------------------------------
# measuring
# ----------------------------------------------------------------------------------------

@dtypes
@pytest.mark.parametrize("cfg", DECONV_CASES, ids=lambda c: c.id)
def test_deconv2d_measure_returns_one_methods_result(cfg, dtype):
    x, w, b = cfg.data(dtype)
    y = suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure", num_threads=1)
    key, entry = only_entry()
    geometry = conv.deconv_geometry(**cfg.kwargs)
    candidates = conv.DeconvPlan.candidates(x.shape, w.shape, geometry)
    assert key == conv.DeconvPlan.problem_key("deconv2d", x.shape, w.shape, x.dtype,
                                              geometry, 1)
    assert entry["algorithm"] in candidates and set(entry["seconds"]) == set(candidates)
    assert all(s > 0 for s in entry["seconds"].values())
    assert ("winograd" in candidates) == (cfg.k == (4, 4) and cfg.s == (2, 2))
    assert ("direct" in candidates) == (cfg.C_in // cfg.groups <= 16)
    np.testing.assert_array_equal(
        y, suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=entry["algorithm"], num_threads=1))
    # measured once: the next calls (measure or auto) run the choice without timing
    for algorithm in ("measure", "auto"):
        np.testing.assert_array_equal(
            y, suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=algorithm, num_threads=1))
    assert W.entries() == {key: entry}


@dtypes
@pytest.mark.parametrize("cfg", UPCONV_CASES, ids=lambda c: c.id)
def test_upsample_conv2d_measure_returns_one_methods_result(cfg, dtype):
    x, w, b = cfg.data(dtype)
    y = suite.upsample_conv2d(x, w, b, **cfg.kwargs, algorithm="measure")
    _, entry = only_entry()
    expected = {"winograd", "collapsed", "banded"} if cfg.winograd else {"collapsed", "banded"}
    assert set(entry["seconds"]) == expected and entry["algorithm"] in expected
    np.testing.assert_array_equal(
        y, suite.upsample_conv2d(x, w, b, **cfg.kwargs, algorithm=entry["algorithm"]))
    np.testing.assert_array_equal(y, suite.upsample_conv2d(x, w, b, **cfg.kwargs))


def test_measured_choice_is_kept_per_thread_count_and_dtype():
    cfg = DECONV_CASES[0]
    for dtype in DTYPES:
        x, w, b = cfg.data(dtype)
        for n in (1, 2):
            suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure", num_threads=n)
    keys = sorted(W.entries())
    assert len(keys) == 4
    assert {k.split()[1] for k in keys} == {"float32", "float64"}
    assert {k.split()[2] for k in keys} == {"threads=1", "threads=2"}


def test_the_fastest_wins_and_slow_warmups_are_dropped():
    calls = {"slow": 0, "fast": 0, "middle": 0}

    def sleeper(name, seconds):
        def run():
            calls[name] += 1
            time.sleep(seconds)
        return run

    best = W.measure("test sleepers", {"slow": sleeper("slow", 0.05),
                                       "fast": sleeper("fast", 0.001),
                                       "middle": sleeper("middle", 0.0015)})
    assert best == "fast"
    assert calls["slow"] == 1                    # its warm-up only: over 3x the fastest
    assert calls["fast"] >= 1 + W.MEASURE_MIN_CALLS
    assert calls["middle"] >= 1 + W.MEASURE_MIN_CALLS
    assert W.entries()["test sleepers"]["algorithm"] == "fast"


def test_threads_measuring_the_same_configuration_measure_once(monkeypatch):
    warmups = []
    timed = W.timed
    monkeypatch.setattr(W, "timed", lambda fn, number: warmups.append(1) or timed(fn, number))
    cfg = DECONV_CASES[0]
    x, w, b = cfg.data(np.float32)
    start = threading.Barrier(4)
    results = [None] * 4

    def work(i):
        start.wait()
        results[i] = suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure", num_threads=1)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    _, entry = only_entry()
    assert len(warmups) == len(entry["seconds"])  # one warm-up per method, not per thread
    for y in results[1:]:
        np.testing.assert_array_equal(y, results[0])


# ----------------------------------------------------------------------------------------
# "auto" and recorded choices
# ----------------------------------------------------------------------------------------

def _record(path, key, algorithm, machine=None):
    data = {"format": W.FORMAT,
            "machines": {machine or W.machine_key(): {key: {"algorithm": algorithm,
                                                            "seconds": {}}}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _deconv_key(cfg, x, w, n_threads=1):
    return conv.DeconvPlan.problem_key("deconv2d", x.shape, w.shape, x.dtype,
                                       conv.deconv_geometry(**cfg.kwargs), n_threads)


def test_auto_follows_a_recorded_choice(wisdom_file):
    cfg = DECONV_CASES[0]
    x, w, b = cfg.data(np.float32)
    rule = suite.choose_algorithm(x.shape, w.shape, cfg.s, cfg.d, cfg.groups)
    other = "phase" if rule != "phase" else "col2im"
    by_rule = suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=1)
    by_other = suite.deconv2d(x, w, b, **cfg.kwargs, algorithm=other, num_threads=1)
    assert not np.array_equal(by_rule, by_other)       # else the test could not fail
    _record(wisdom_file, _deconv_key(cfg, x, w), other)
    assert W.load() == 1
    np.testing.assert_array_equal(suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=1),
                                  by_other)
    # another thread count is another configuration: the rule
    np.testing.assert_array_equal(suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=2),
                                  suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=2,
                                                 algorithm=rule))
    W.clear()
    np.testing.assert_array_equal(suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=1),
                                  by_rule)


def test_a_recorded_choice_that_does_not_apply_is_ignored(wisdom_file):
    cfg = DECONV_CASES[1]                               # k3 s2: no Winograd
    x, w, b = cfg.data(np.float64)
    _record(wisdom_file, _deconv_key(cfg, x, w), "winograd")
    W.load()
    np.testing.assert_array_equal(suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=1),
                                  suite.deconv2d(x, w, b, **cfg.kwargs, num_threads=1,
                                                 algorithm=suite.choose_algorithm(
                                                     x.shape, w.shape, cfg.s, cfg.d,
                                                     cfg.groups)))


def test_another_machines_choices_are_not_used(wisdom_file):
    cfg = DECONV_CASES[0]
    x, w, _ = cfg.data(np.float32)
    _record(wisdom_file, _deconv_key(cfg, x, w), "phase", machine="cpu=elsewhere")
    assert W.load() == 0 and W.entries() == {}


# ----------------------------------------------------------------------------------------
# the file
# ----------------------------------------------------------------------------------------

MEASURE_SCRIPT = """
import numpy as np, suite, sys
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
c = 3 + (int(sys.argv[1]) if len(sys.argv) > 1 else 0)
x = rng.standard_normal((1, c, 5, 4)).astype(np.float32)
w = rng.standard_normal((c, 4, 4, 4)).astype(np.float32)
y = suite.deconv2d(x, w, stride=2, padding=1, algorithm={algorithm!r}, num_threads=1)
(key, entry), = [kv for kv in suite.wisdom.entries().items() if "x=1x%dx5x4 " % c in kv[0]]
same = np.array_equal(y, suite.deconv2d(x, w, stride=2, padding=1,
                                        algorithm=entry["algorithm"], num_threads=1))
print(entry["algorithm"], same)
"""


def test_choices_outlive_the_process(wisdom_file):
    first = run_python(MEASURE_SCRIPT.format(algorithm="measure"), {})
    assert wisdom_file.exists()
    data = json.loads(wisdom_file.read_text())
    assert data["format"] == W.FORMAT and list(data["machines"]) == [W.machine_key()]
    # a later process: "auto" runs the recorded choice, read from the file
    later = run_python(MEASURE_SCRIPT.format(algorithm="auto"), {})
    assert later == first and first.split()[1] == "True"
    # and with SUITE_WISDOM=0 the file is neither read nor written
    wisdom_file.unlink()
    run_python(MEASURE_SCRIPT.format(algorithm="measure"), {"SUITE_WISDOM": "0"})
    assert not wisdom_file.exists()


def test_concurrent_processes_lose_no_entry(wisdom_file):
    script = MEASURE_SCRIPT.format(algorithm="measure")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    entries = json.loads(wisdom_file.read_text())["machines"][W.machine_key()]
    assert sorted(int(k.split("x=1x")[1].split("x")[0]) for k in entries) == [3, 4, 5, 6]
    assert not [f for f in os.listdir(wisdom_file.parent) if f.startswith(".wisdom-")]


def test_save_merges_with_the_file(wisdom_file):
    other_machine = {"deconv2d float32 threads=1 x=1": {"algorithm": "phase", "seconds": {}}}
    ours_elsewhere = {"deconv2d float32 threads=9 x=2": {"algorithm": "col2im",
                                                          "seconds": {"col2im": 1.0}}}
    wisdom_file.parent.mkdir(parents=True)
    wisdom_file.write_text(json.dumps({"format": W.FORMAT, "machines": {
        "cpu=elsewhere": other_machine, W.machine_key(): ours_elsewhere}}))
    cfg = DECONV_CASES[0]
    x, w, b = cfg.data(np.float32)
    suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure", num_threads=1)  # saves
    machines = json.loads(wisdom_file.read_text())["machines"]
    assert machines["cpu=elsewhere"] == other_machine
    assert set(machines[W.machine_key()]) == {_deconv_key(cfg, x, w)} | set(ours_elsewhere)
    assert set(W.entries()) == set(machines[W.machine_key()])      # merged both ways


@pytest.mark.parametrize("content", ["{not json", '{"format": "other", "machines": {}}',
                                     "[1, 2]", ""])
def test_a_corrupt_file_is_ignored_with_a_warning(wisdom_file, content):
    wisdom_file.parent.mkdir(parents=True)
    wisdom_file.write_text(content)
    with pytest.warns(RuntimeWarning, match="ignoring the wisdom file"):
        assert W.load() == 0
    cfg = DECONV_CASES[1]
    x, w, b = cfg.data(np.float32)
    with pytest.warns(RuntimeWarning, match="ignoring the wisdom file"):
        suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure")    # saves over it
    data = json.loads(wisdom_file.read_text())
    assert list(data["machines"][W.machine_key()]) == list(W.entries())


def test_an_unwritable_file_leaves_choices_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("SUITE_WISDOM", "1")
    monkeypatch.setenv("SUITE_WISDOM_FILE", str(blocker / "wisdom.json"))
    monkeypatch.setattr(W, "_warned_write", False)
    cfg = DECONV_CASES[1]
    x, w, b = cfg.data(np.float32)
    with pytest.warns(RuntimeWarning, match="could not write the wisdom file"):
        y = suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure")
    _, entry = only_entry()
    np.testing.assert_array_equal(y, suite.deconv2d(x, w, b, **cfg.kwargs,
                                                    algorithm=entry["algorithm"]))


def test_save_load_and_clear(tmp_path, wisdom_file):
    cfg = DECONV_CASES[1]
    x, w, b = cfg.data(np.float32)
    suite.deconv2d(x, w, b, **cfg.kwargs, algorithm="measure")
    kept = W.entries()
    elsewhere = tmp_path / "elsewhere.json"
    assert W.save(elsewhere) == str(elsewhere)       # explicit paths, whatever SUITE_WISDOM
    W.clear()
    assert W.entries() == {}
    assert W.load(elsewhere) == 1 and W.entries() == kept
    copy = W.entries()
    copy.clear()                                     # entries() is a copy
    assert W.entries() == kept
    _record(wisdom_file, "another machine's", "phase", machine="cpu=elsewhere")
    W.save()
    W.clear(file=True)                               # this machine's section only
    assert W.entries() == {}
    assert list(json.loads(wisdom_file.read_text())["machines"]) == ["cpu=elsewhere"]


def test_where_the_file_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("SUITE_WISDOM_FILE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert W.wisdom_file() == str(tmp_path / "xdg" / "suite" / "wisdom.json")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert W.wisdom_file() == str(tmp_path / "home" / ".cache" / "suite" / "wisdom.json")
    monkeypatch.setenv("SUITE_WISDOM_FILE", "~/w.json")
    assert W.wisdom_file() == str(tmp_path / "home" / "w.json")


def test_the_machine_key_names_cpu_isa_blas_and_version():
    key = W.machine_key()
    fields = dict(part.split("=", 1) for part in key.split("; "))
    assert set(fields) == {"cpu", "isa", "blas", "narrow-gemm", "planning-width", "suite"}
    assert fields["narrow-gemm"] in ("avx512", "blas")
    # another width cuts layers into other products: its measurements are another machine's
    assert fields["planning-width"] == str(suite._plan.planning_width())
    assert fields["suite"].startswith(suite.__version__ + " ")
    assert "kernels" in fields["blas"]
    if os.path.exists("/proc/cpuinfo") and " avx2" in open("/proc/cpuinfo").read():
        assert "AVX2" in fields["isa"].split(",")
    assert W.machine_key() == key
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W.machine_key()
