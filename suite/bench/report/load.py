"""Reading asv results files into the report's tidy frame (one row per benchmark x parameter
combination x machine x commit), robust to damaged input: a corrupt, truncated, foreign or
malformed file or entry is skipped with a warning, never fatal unless nothing is left; and
each machine's environment (:func:`environment_frame`).
"""

import ast
import itertools
import json
import math
import os
import warnings

import pandas as pd

from .constants import PARAM_COLUMNS


RESULT_COLUMNS_DEFAULT = ["result", "params", "version", "started_at", "duration",
                          "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75",
                          "stats_number", "stats_repeat", "samples", "profile"]


#: The columns of :func:`load_results`'s frame that are not a benchmark parameter (every
#: other column is one: a benchmark's ``param_names``).
RESULT_FIELDS = ("machine", "commit", "env", "file", "date", "cpu", "num_cpu", "arch", "os",
                 "ram", "python", "benchmark", "group", "method", "kind", "unit", "params",
                 "value", "status", "q25", "q75", "iqr", "ci99_lo", "ci99_hi", "number",
                 "repeat")


def parameter_columns(frame):
    """The benchmark parameters among ``frame``'s columns (as loaded: before
    :func:`~.derive.derive` adds its own)."""
    return [c for c in frame.columns if c not in RESULT_FIELDS]


class ReportInputError(ValueError):
    """The results directory is missing, empty or holds no usable asv result."""


def _literal(text):
    """asv stores parameter values as their repr: "'dcgan-g4'" -> 'dcgan-g4', '2' -> 2."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        return text


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _warn(problems, message):
    problems.append(message)
    warnings.warn(message, stacklevel=3)


def _stat(columns, entry, name, index):
    """Column ``name`` of one result entry at parameter combination ``index`` (or NaN)."""
    if name not in columns or columns.index(name) >= len(entry):
        return math.nan
    values = entry[columns.index(name)]
    if not isinstance(values, list) or index >= len(values):
        return math.nan
    value = values[index]
    if value is None or isinstance(value, (list, dict, str)):
        return math.nan
    return float(value)


def _is_result_file(data):
    return (isinstance(data, dict) and isinstance(data.get("results"), dict)
            and isinstance(data.get("commit_hash"), str))


def load_results(results_dir):
    """Every asv results file under ``results_dir`` as one tidy frame.

    Returns ``(frame, problems)``: ``problems`` lists (and :func:`warnings.warn` reports)
    each file or entry that was skipped and why (corrupt, truncated or foreign JSON, a
    malformed entry). Raises :class:`ReportInputError` when the directory is missing, empty,
    or has no usable results file.
    """
    results_dir = os.fspath(results_dir)
    if not os.path.isdir(results_dir):
        raise ReportInputError(f"results directory {results_dir!r} does not exist "
                               "(run a campaign first: make campaign)")
    problems = []
    benchmarks = {}
    bench_path = os.path.join(results_dir, "benchmarks.json")
    if os.path.isfile(bench_path):
        try:
            data = _read_json(bench_path)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            benchmarks = {k: v for k, v in data.items() if isinstance(v, dict)}
        except (OSError, ValueError) as exc:
            _warn(problems, f"{bench_path}: unreadable benchmarks.json ({exc}); "
                            "parameter names fall back to param0, param1, ...")
    rows = []
    n_files = 0
    for machine in sorted(os.listdir(results_dir)):
        mdir = os.path.join(results_dir, machine)
        if not os.path.isdir(mdir):
            continue
        machine_info = {}
        mpath = os.path.join(mdir, "machine.json")
        if os.path.isfile(mpath):
            try:
                machine_info = _read_json(mpath)
                if not isinstance(machine_info, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as exc:
                _warn(problems, f"{mpath}: unreadable machine.json ({exc})")
                machine_info = {}
        for name in sorted(os.listdir(mdir)):
            if not name.endswith(".json") or name == "machine.json":
                continue
            path = os.path.join(mdir, name)
            n_files += 1
            try:
                data = _read_json(path)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                _warn(problems, f"{path}: skipped, not valid JSON (corrupt or truncated: "
                                f"{exc})")
                continue
            if not _is_result_file(data):
                _warn(problems, f"{path}: skipped, not an asv results file (no 'results' "
                                "and 'commit_hash')")
                continue
            try:
                rows.extend(_file_rows(path, data, machine, machine_info, benchmarks,
                                       problems))
            except Exception as exc:  # any other damage: name the file, keep the rest
                _warn(problems, f"{path}: skipped, malformed asv results file "
                                f"({type(exc).__name__}: {exc})")
    if n_files == 0:
        raise ReportInputError(f"results directory {results_dir!r} holds no results files "
                               "(expected <machine>/<commit>-<env>.json; run make campaign)")
    if not rows:
        raise ReportInputError(f"no usable asv results under {results_dir!r}: "
                               + "; ".join(problems))
    frame = pd.DataFrame(rows)
    for column in PARAM_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["iqr"] = frame["q75"] - frame["q25"]
    for column in ("threads", "stride"):
        numeric = pd.to_numeric(frame[column], errors="coerce")
        if frame[column].notna().sum() == numeric.notna().sum():
            frame[column] = numeric.round().astype("Int64")
    return frame, problems


def _file_rows(path, data, machine, machine_info, benchmarks, problems):
    columns = data.get("result_columns") or RESULT_COLUMNS_DEFAULT
    params_info = data.get("params") if isinstance(data.get("params"), dict) else {}
    info = {**params_info, **{k: v for k, v in machine_info.items() if k != "version"}}
    date = data.get("date")
    try:
        date = pd.Timestamp(date, unit="ms") if isinstance(date, (int, float)) else pd.NaT
    except (ValueError, OverflowError):
        date = pd.NaT
    if not isinstance(data["results"], dict):
        raise ValueError("'results' is not an object")
    base = dict(machine=info.get("machine", machine), commit=str(data["commit_hash"]),
                env=data.get("env_name", ""), file=os.path.basename(path), date=date,
                cpu=info.get("cpu", ""), num_cpu=info.get("num_cpu", ""),
                arch=info.get("arch", ""), os=info.get("os", ""), ram=info.get("ram", ""),
                python=str(data.get("python", info.get("python", ""))))
    rows = []
    for bench, entry in data["results"].items():
        try:
            rows.extend(_entry_rows(bench, entry, columns, benchmarks.get(bench, {}), base))
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            _warn(problems, f"{path}: benchmark {bench!r} skipped, malformed entry ({exc})")
    return rows


def _entry_rows(bench, entry, columns, meta, base):
    if not isinstance(entry, list) or not entry:
        raise ValueError("not a list")
    results = entry[columns.index("result")]
    params = entry[columns.index("params")] if "params" in columns else []
    if not isinstance(results, list):
        results = [results]
    params = params or []
    combos = list(itertools.product(*params)) if params else [()]
    if len(combos) != len(results):
        raise ValueError(f"{len(results)} results for {len(combos)} parameter combinations")
    names = list(meta.get("param_names") or [])
    if len(names) != len(params):
        names = [f"param{i}" for i in range(len(params))]
    module, _, method = bench.rpartition(".")
    kind = method.split("_")[0]
    unit = meta.get("unit") or {"time": "seconds", "peakmem": "bytes"}.get(kind, "")
    rows = []
    for index, (combo, value) in enumerate(zip(combos, results)):
        if value is None:
            status, value = "failed", math.nan
        elif isinstance(value, (int, float)) and not math.isnan(value):
            status, value = "ok", float(value)
        else:
            status, value = "skipped", math.nan
        row = dict(base, benchmark=bench, group=module, method=method, kind=kind, unit=unit,
                   params=", ".join(str(_literal(v)) for v in combo), value=value,
                   status=status,
                   q25=_stat(columns, entry, "stats_q_25", index),
                   q75=_stat(columns, entry, "stats_q_75", index),
                   ci99_lo=_stat(columns, entry, "stats_ci_99_a", index),
                   ci99_hi=_stat(columns, entry, "stats_ci_99_b", index),
                   number=_stat(columns, entry, "stats_number", index),
                   repeat=_stat(columns, entry, "stats_repeat", index))
        for name, raw in zip(names, combo):
            row[name] = _literal(raw)
        rows.append(row)
    return rows


#: The benchmark that records what a campaign ran on (benchmarks/bench_ceilings.py).
ENVIRONMENT = "bench_ceilings.Environment.track_blas_vector_bits"


def machine_environments(frame):
    """What each machine of ``frame`` (:func:`load_results`) ran on, from its newest results
    file that recorded it (the ``environment`` parameter of :data:`ENVIRONMENT`, a JSON
    description written by ``suite._environment.record``):

    ``{machine: {"cpu_model", "vector_extensions" (names), "vector_width" (bits),
    "blas_library", "blas_version", "blas_kernels" (the kernel family), "blas_kernel_isa",
    "blas_kernel_width", "blas_pins" ({variable: value}), "openmp" (runtime names),
    "packages" ({distribution: version}), "commit", "date", "recorded": True}}``.

    A machine without such a record (results of an older suite) gets ``"recorded": False``,
    the CPU asv's machine.json names as ``cpu_model`` and None elsewhere; an unreadable
    record counts as none.
    """
    environments = {}
    rows = frame[frame["benchmark"] == ENVIRONMENT] if "environment" in frame else frame[:0]
    for machine in sorted(frame["machine"].unique()):
        mine = rows[rows["machine"] == machine].sort_values("date", na_position="first")
        record = None
        for _, row in mine[::-1].iterrows():
            try:
                record = json.loads(row["environment"])
            except (TypeError, ValueError):
                continue
            if isinstance(record, dict):
                break
            record = None
        if record is None:
            cpu = frame.loc[frame["machine"] == machine, "cpu"]
            environments[machine] = dict(
                cpu_model=(cpu.iloc[0] or None) if len(cpu) else None, vector_extensions=None,
                vector_width=None, blas_library=None, blas_version=None, blas_kernels=None,
                blas_kernel_isa=None, blas_kernel_width=None, blas_pins=None, openmp=None,
                packages=None, commit=None, date=None, recorded=False)
            continue
        blas = record.get("blas") or {}
        environments[machine] = dict(
            cpu_model=record.get("cpu_model"),
            vector_extensions=record.get("vector_extensions"),
            vector_width=record.get("vector_width"), blas_library=blas.get("library"),
            blas_version=blas.get("version"), blas_kernels=blas.get("kernels"),
            blas_kernel_isa=blas.get("kernel_isa"), blas_kernel_width=blas.get("kernel_width"),
            blas_pins=record.get("pins") or {},
            openmp=[r.get("library") for r in record.get("openmp") or ()],
            packages=record.get("packages") or {}, commit=row["commit"], date=row["date"],
            recorded=True)
    return environments

#: The columns of :func:`environment_frame`, in order.
ENVIRONMENT_COLUMNS = ["machine", "cpu", "cores", "isa", "blas", "blas_version", "blas_kernel",
                       "blas_pin", "openmp", "versions", "arch", "os", "ram_bytes", "python",
                       "commits", "environments"]
UNKNOWN = "unknown"


def _text(value):
    """A descriptive field as text ("unknown" when absent or empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN
    text = str(value).strip()
    return text or UNKNOWN


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def machine_environment(results_dir):
    """What the results directory says about each machine: ``{machine: dict}``.

    Each dict merges the machine's ``machine.json`` (asv's description: ``machine``, ``cpu``,
    ``num_cpu``, ``arch``, ``os``, ``ram``, and any further field a campaign records there),
    the ``params`` of its results files (the same fields and the benchmarked Python), their
    ``requirements`` with a version (``versions``: ``{package: version}``), the commits and
    the asv environments. Unreadable files are left out (:func:`load_results` reports them).
    """
    results_dir = os.fspath(results_dir)
    machines = {}
    if not os.path.isdir(results_dir):
        return machines
    for machine in sorted(os.listdir(results_dir)):
        mdir = os.path.join(results_dir, machine)
        if not os.path.isdir(mdir):
            continue
        info = dict(machine=machine, versions={}, commits=set(), environments=set())
        files = sorted(n for n in os.listdir(mdir) if n.endswith(".json"))
        # results files first, machine.json last: the machine's own description wins
        for name in [n for n in files if n != "machine.json"] + (
                ["machine.json"] if "machine.json" in files else []):
            try:
                data = _read_json(os.path.join(mdir, name))
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            if not isinstance(data, dict):
                continue
            if name == "machine.json":
                info.update({k: v for k, v in data.items() if k != "version"})
                continue
            if not _is_result_file(data):
                continue
            params = data.get("params") if isinstance(data.get("params"), dict) else {}
            info.update({k: v for k, v in params.items() if k not in info or k == "python"})
            requirements = data.get("requirements")
            if isinstance(requirements, dict):
                info["versions"].update({str(k): str(v) for k, v in requirements.items()
                                         if isinstance(v, (str, int, float)) and str(v)})
            info["commits"].add(str(data["commit_hash"]))
            if data.get("env_name"):
                info["environments"].add(str(data["env_name"]))
        machines[info.get("machine") or machine] = info
    return machines


def environment_row(machine, info):
    """One row of :func:`environment_frame` from what is known of ``machine`` (a dict of
    :func:`machine_environment`'s fields; absent ones read "unknown" or NaN)."""
    versions = info.get("versions")
    if isinstance(versions, dict):
        versions = ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or None
    return dict(
        machine=str(machine), cpu=_text(info.get("cpu")),
        cores=_number(info.get("cores", info.get("num_cpu"))),
        isa=_text(info.get("isa")), blas=_text(info.get("blas")),
        blas_version=_text(info.get("blas_version")),
        blas_kernel=_text(info.get("blas_kernel")),
        blas_pin=_text(info.get("blas_pin")), openmp=_text(info.get("openmp")),
        versions=_text(versions), arch=_text(info.get("arch")), os=_text(info.get("os")),
        ram_bytes=_number(info.get("ram_bytes", info.get("ram"))),
        python=_text(info.get("python")),
        commits=len(info.get("commits") or ()),
        environments=_text(", ".join(sorted(info.get("environments") or ()))))


def _recorded(record):
    """:func:`machine_environments`' record of one machine as :func:`environment_row`'s
    fields (only those it holds)."""
    fields = {}
    if record.get("cpu_model"):
        fields["cpu"] = record["cpu_model"]
    if record.get("vector_extensions"):
        fields["isa"] = ", ".join(record["vector_extensions"])
    if record.get("blas_library"):
        fields["blas"] = record["blas_library"]
        fields["blas_version"] = record.get("blas_version")
        kernels = record.get("blas_kernels")
        detail = ", ".join(str(v) for v in (
            record.get("blas_kernel_isa"),
            f"{record['blas_kernel_width']}-bit" if record.get("blas_kernel_width") else None)
            if v)
        fields["blas_kernel"] = f"{kernels} ({detail})" if kernels and detail else kernels
    pins = record.get("blas_pins")
    if isinstance(pins, dict):
        fields["blas_pin"] = ", ".join(f"{k}={v}" for k, v in sorted(pins.items())) or "none"
    if record.get("openmp") is not None:
        fields["openmp"] = ", ".join(str(r) for r in record["openmp"] if r) or "none"
    if record.get("packages"):
        fields["versions"] = dict(record["packages"])
    return fields


def environment_frame(results_dir=None, frame=None):
    """One row per machine: :data:`ENVIRONMENT_COLUMNS` (``cpu`` model, ``cores``, vector
    extensions ``isa``, the ``blas`` library, its ``blas_version``, ``blas_kernel`` family
    and any ``blas_pin`` (e.g. ``OPENBLAS_CORETYPE=Haswell``; "none" when recorded as
    unpinned), the ``openmp`` runtime, package ``versions``, ...).

    From ``results_dir`` (:func:`machine_environment`: machine.json and the results files'
    descriptions) and ``frame`` (:func:`load_results` of it, loaded here when not given:
    the record each campaign keeps of its environment, :func:`machine_environments`, wins
    over asv's own description). A field nothing records reads "unknown" (numbers: NaN)."""
    if frame is None and results_dir is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                frame = load_results(results_dir)[0]
            except ReportInputError:
                frame = None
    machines = machine_environment(results_dir) if results_dir is not None else {}
    if frame is not None:
        for machine, g in frame.groupby("machine", sort=True):
            first = g.iloc[0]
            machines.setdefault(machine, dict(
                machine=machine, cpu=first.get("cpu"), num_cpu=first.get("num_cpu"),
                arch=first.get("arch"), os=first.get("os"), ram=first.get("ram"),
                python=first.get("python"), commits=set(g["commit"]),
                environments=set(g["env"])))
        for machine, record in machine_environments(frame).items():
            if record.get("recorded") and machine in machines:
                machines[machine].update(_recorded(record))
    rows = [environment_row(machine, info) for machine, info in sorted(machines.items())]
    return pd.DataFrame(rows, columns=ENVIRONMENT_COLUMNS)
