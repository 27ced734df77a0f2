"""The campaign's profile pass (``python -m suite profile --catalogue --json FILE``, run by
``make profiles`` and ``make campaign`` after the timing runs) as tidy frames for the
report's "Where the time goes" section.

Each file holds, for one machine and commit, the median call of every (layer, operation,
algorithm, thread count) profiled: its stage table, its threads' busy time and its
timeline. :func:`load_profiles` reads one file or every ``*.json`` of a folder into
:class:`ProfileRecords`:

* ``stages``: one row per run, call and stage (``stage == "(idle)"``: thread time in no
  stage): ``machine``, ``commit``, ``date``, ``layer``, ``op``, ``function``,
  ``requested`` (the algorithm asked for), ``algorithm`` (the one run), ``threads`` (asked
  for), ``ran_threads`` (run on: small layers run on fewer), ``dtype``, ``wall_s``,
  ``seconds``, ``share``, ``flops``, ``bytes``, ``gflop_s``, ``gb_s``, ``of_gemm``,
  ``of_copy``, ``bound`` (``suite.profiling.ProfileSummary``);
* ``threads``: one row per run, call and OpenMP thread: ``busy_s``, ``idle_s``,
  ``busy_share``, ``imbalance``;
* ``timeline``: one row per stage execution: ``thread``, ``stage``, ``start_s`` (from the
  call's start), ``duration_s``;
* ``runs``: one row per file: ``machine``, ``commit``, ``date``, ``blas``, ``dtype``,
  ``repeat``, ``gemm_gflops``, ``copy_gbps`` (one thread), ``path``.
"""

import glob
import json
import os
import warnings
from typing import NamedTuple

import pandas as pd

from ..profile import PROFILE_FORMAT
from .load import ReportInputError

__all__ = ["ProfileRecords", "load_profiles"]

_RUN_COLUMNS = ["machine", "commit", "date"]


class ProfileRecords(NamedTuple):
    stages: pd.DataFrame
    threads: pd.DataFrame
    timeline: pd.DataFrame
    runs: pd.DataFrame


def _files(path):
    path = os.fspath(path)
    if os.path.isdir(path):
        return sorted(glob.glob(os.path.join(path, "*.json")))
    if os.path.isfile(path):
        return [path]
    raise ReportInputError(f"no profiles at {path!r} (run one: make profiles)")


def load_profiles(path):
    """The profile files at ``path`` (a file or a folder of ``*.json``) as
    :class:`ProfileRecords`. A file that is not a profile pass (unreadable, another format)
    is skipped with a warning; :class:`ReportInputError` when none is left."""
    runs, parts = [], {"stages": [], "threads": [], "timeline": []}
    for name in _files(path):
        try:
            with open(name, encoding="utf-8") as f:
                document = json.load(f)
        except (OSError, ValueError) as exc:
            warnings.warn(f"{name}: skipped, not readable JSON ({exc})", stacklevel=2)
            continue
        if not isinstance(document, dict) or document.get("format") != PROFILE_FORMAT:
            warnings.warn(f"{name}: skipped, not a {PROFILE_FORMAT} file", stacklevel=2)
            continue
        run = {k: document.get(k) for k in _RUN_COLUMNS}
        ceilings = document.get("ceilings") or {}
        runs.append(dict(run, blas=document.get("blas"), dtype=document.get("dtype"),
                         repeat=document.get("repeat"),
                         gemm_gflops=ceilings.get("gemm_gflops"),
                         copy_gbps=ceilings.get("copy_gbps"), path=name))
        for key, rows in parts.items():
            rows += [dict(run, **row) for row in document.get(key) or []]
    if not runs:
        raise ReportInputError(f"no {PROFILE_FORMAT} file at {os.fspath(path)!r}")
    frames = {key: pd.DataFrame(rows) for key, rows in parts.items()}
    return ProfileRecords(runs=pd.DataFrame(runs), **frames)
