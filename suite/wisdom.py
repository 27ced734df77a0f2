"""Wisdom: algorithm choices measured on this machine, kept for the next call and process.

``suite.deconv2d(..., algorithm="measure")`` and ``suite.upsample_conv2d(...,
algorithm="measure")`` (and the layer objects ``suite.Deconv2d``, ``suite.UpsampleConv2d``
made with it) time every algorithm that applies on their first call for a configuration
(the input and weight shapes, the geometry, the dtype and the thread count), keep the
fastest, and return its result: the output is exactly what that algorithm computes, so the
measurement decides which algorithm runs and nothing else. Later calls with the same
configuration run the choice at once. FFTW calls such choices *wisdom* (its planner's
``FFTW_MEASURE``); PyTorch's ``torch.backends.cudnn.benchmark`` is the same idea.
``algorithm="auto"`` runs the recorded choice where there is one, and the rule of
:func:`suite.choose_algorithm` (or upsample_conv2d's order) elsewhere.

Choices live in memory for the process and in a JSON file, read at the first lookup and
written (merged with what other processes wrote meanwhile) after each measurement:

* ``SUITE_WISDOM_FILE``: the file, default ``$XDG_CACHE_HOME/suite/wisdom.json``
  (``~/.cache/suite/wisdom.json`` when ``XDG_CACHE_HOME`` is unset);
* ``SUITE_WISDOM=0``: neither read nor write it (memory only); :func:`save` and :func:`load`
  called explicitly still do.

The file keeps the choices of each machine apart under :func:`machine_key` (CPU model, its
SIMD instruction sets, the BLAS the GEMMs call with its kernel family and any variable
pinning it, the package's version and compile flags): a file shared by several machines, or
kept across a BLAS or package upgrade, never hands one configuration's choice to another.
A file that cannot be read or parsed is ignored with a warning; writes go to a temporary
file renamed over the old one (under a lock file where the system has ``fcntl``), so a
reader never sees half a file and concurrent writers lose no entry.

Measurement: each applicable algorithm runs once (warm-up: page faults, thread start-up),
algorithms whose warm-up took more than :data:`SKIP_FACTOR` times the fastest warm-up so
far are dropped (one call of a dense layer by the direct method takes seconds), then the
rest run round-robin, at least :data:`MEASURE_MIN_CALLS` calls each and as many as fit in
:data:`MEASURE_SECONDS` per algorithm, and the lowest median wins. Measuring holds a lock:
two Python threads that ask for the same configuration measure it once.
"""

import contextlib
import json
import os
import platform
import tempfile
import threading
import warnings

from . import _buildinfo, _im2col
from ._environment import blas_description, cpu_flags, cpu_model, vector_extensions
from ._timing import round_robin_medians, timed
from ._version import __version__

__all__ = ["clear", "entries", "load", "machine_key", "save", "wisdom_file"]

#: Seconds of round-robin sampling per algorithm (after one warm-up call each).
MEASURE_SECONDS = 0.02

#: ... but at least this many calls of each algorithm, and at most MEASURE_MAX_CALLS.
MEASURE_MIN_CALLS = 3
MEASURE_MAX_CALLS = 50

#: An algorithm whose warm-up call took more than this many times the fastest warm-up so
#: far is not sampled further (the warm-up is a call too: slower by such a factor, it does
#: not win).
SKIP_FACTOR = 3.0

#: The file's format; a file of another format is ignored (and replaced on the next save).
FORMAT = "suite wisdom 1"

_lock = threading.RLock()      # the in-memory choices, measuring, loading and saving
_choices = {}                  # problem key -> {"algorithm": name, "seconds": {name: s}}
_generation = 0                # bumped on every change: callers cache lookups by it
_file_read = False             # the file was read (or skipped) at the first lookup
_warned_write = False


def _after_fork_in_child():
    # a lock held by a thread that does not exist in the child would never be released
    global _lock
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ----------------------------------------------------------------------------------------
# the machine
# ----------------------------------------------------------------------------------------

_machine_key = None


def machine_key():
    """The machine a measurement describes, as one line: CPU model, SIMD instruction sets,
    the BLAS the kernels' GEMMs call (library, version, kernel family, and any variable that
    pins it; ``suite._environment`` describes each), what runs col2im's narrow products
    (suite's own kernel or BLAS), the planning width (the products a layer is cut into
    follow it), the package's version and compile flags.
    Computed once per process (the BLAS reads its pinning variables when it loads)."""
    global _machine_key
    if _machine_key is None:
        _machine_key = "; ".join([
            f"cpu={cpu_model()} ({platform.machine()})",
            f"isa={','.join(vector_extensions(cpu_flags())) or '?'}",
            f"blas={blas_description()}",
            f"narrow-gemm={_im2col.gemm_kernel()}",
            f"planning-width={_buildinfo.planning_width()}",
            f"suite={__version__} ({_buildinfo.compile_flags().strip() or 'default flags'})",
        ])
    return _machine_key


def problem_key(function, dtype, n_threads, **configuration):
    """The key of one configuration: the function (or layer) measured, the dtype, the thread
    count and the shapes and geometry, e.g. ``deconv2d float32 threads=2 x=16x512x4x4
    weight=512x256x4x4 stride=2x2 ...``."""
    def text(value):
        if isinstance(value, tuple):
            return "x".join(text(v) for v in value)
        return str(value)
    fields = " ".join(f"{name}={text(value)}" for name, value in configuration.items())
    return f"{function} {dtype} threads={n_threads} {fields}"


# ----------------------------------------------------------------------------------------
# the file
# ----------------------------------------------------------------------------------------

def wisdom_file():
    """The wisdom file: ``SUITE_WISDOM_FILE``, else ``wisdom.json`` in ``suite`` under the
    user's cache directory (``XDG_CACHE_HOME``, default ``~/.cache``)."""
    path = os.environ.get("SUITE_WISDOM_FILE")
    if path:
        return os.path.abspath(os.path.expanduser(path))
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.path.abspath(cache), "suite", "wisdom.json")


def _file_enabled():
    return os.environ.get("SUITE_WISDOM", "1").strip() != "0"


@contextlib.contextmanager
def _file_lock(path):
    """Exclusive access to ``path`` among processes (a lock file beside it, where the system
    has fcntl), so that read-merge-write sequences do not interleave."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        import fcntl
    except ImportError:                 # no fcntl: the atomic rename still protects readers
        yield
        return
    with open(path + ".lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read(path):
    """The file's machines -> entries, {} when it does not exist; a file that cannot be
    read or parsed, or of another format, is ignored with a warning."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        warnings.warn(f"suite: ignoring the wisdom file {path}: {exc}", RuntimeWarning,
                      stacklevel=3)
        return {}
    machines = data.get("machines") if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("format") != FORMAT
            or not isinstance(machines, dict)):
        warnings.warn(f"suite: ignoring the wisdom file {path}: not a {FORMAT!r} file",
                      RuntimeWarning, stacklevel=3)
        return {}
    return {key: {problem: entry for problem, entry in found.items() if _valid(entry)}
            for key, found in machines.items() if isinstance(found, dict)}


def _valid(entry):
    return (isinstance(entry, dict) and isinstance(entry.get("algorithm"), str)
            and isinstance(entry.get("seconds", {}), dict))


def _write(path, machines):
    """Write the file atomically: a temporary file in the same directory, renamed over it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".wisdom-", suffix=".json",
                                         dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "machines": machines}, f, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _changed():
    global _generation
    _generation += 1


def generation():
    """A number that changes whenever the choices do (callers cache lookups by it)."""
    return _generation


def load(path=None):
    """Add the choices the file holds for this machine (:func:`machine_key`) to those in
    memory (which win where both have a configuration); ``path`` defaults to
    :func:`wisdom_file`. Returns how many configurations were added. A missing file adds
    none; an unreadable or corrupt one is ignored with a warning."""
    global _file_read
    path = wisdom_file() if path is None else os.fspath(path)
    with _lock:
        _file_read = True
        machines = _read(path)
        found = machines.get(machine_key(), {}) if machines else {}
        added = {key: entry for key, entry in found.items() if key not in _choices}
        _choices.update(added)
        if added:
            _changed()
        return len(added)


def save(path=None):
    """Write the choices in memory to the file (``path``, default :func:`wisdom_file`),
    merged with what it holds: other machines' sections are kept, and this machine's
    configurations that were measured elsewhere meanwhile are kept too (and added to
    memory). Atomic; returns the path written."""
    path = wisdom_file() if path is None else os.fspath(path)
    with _lock, _file_lock(path):
        machines = _read(path)
        ours = machines.setdefault(machine_key(), {})
        news = {key: entry for key, entry in ours.items() if key not in _choices}
        ours.update(_choices)
        _write(path, machines)
        if news:
            _choices.update(news)
            _changed()
    return path


def clear(file=False):
    """Forget the choices in memory (``algorithm="auto"`` goes back to its rule, and
    ``"measure"`` measures again); the file is not read again by itself afterwards
    (:func:`load` does). ``file=True`` also removes this machine's section from the wisdom
    file (:func:`wisdom_file`), leaving other machines' sections."""
    global _file_read
    with _lock:
        _choices.clear()
        _file_read = True
        _changed()
        path = wisdom_file()
        if file and os.path.exists(path):
            with _file_lock(path):
                machines = _read(path)
                if machines.pop(machine_key(), None) is not None:
                    _write(path, machines)


def entries():
    """The choices in memory: {configuration key: {"algorithm": the choice, "seconds": {each
    algorithm measured: its median seconds per call (its warm-up call's, when the warm-up
    dropped it)}}}. A copy."""
    with _lock:
        return {key: {"algorithm": entry["algorithm"],
                      "seconds": dict(entry.get("seconds", {}))}
                for key, entry in _choices.items()}


# ----------------------------------------------------------------------------------------
# lookups and measurements (the API's side)
# ----------------------------------------------------------------------------------------

def _read_file_once():
    global _file_read
    if not _file_read:
        with _lock:
            if not _file_read:
                if _file_enabled():
                    load()
                _file_read = True


def lookup(key):
    """The recorded choice for a configuration key (:func:`problem_key`), or None. The
    first lookup of the process reads the wisdom file (unless SUITE_WISDOM=0)."""
    _read_file_once()
    entry = _choices.get(key)
    return entry["algorithm"] if entry is not None else None


def measure(key, candidates):
    """The fastest of ``candidates`` ({algorithm: zero-argument callable running it on the
    caller's data}; the likely winner first), measured as the module docstring says,
    recorded under ``key`` and saved to the wisdom file (unless SUITE_WISDOM=0). A choice
    recorded meanwhile (another thread measured the same key) is returned without
    measuring."""
    global _warned_write
    _read_file_once()
    with _lock:
        entry = _choices.get(key)
        if entry is not None and entry["algorithm"] in candidates:
            return entry["algorithm"]
        seconds, survivors = {}, {}
        for name, run in candidates.items():
            seconds[name] = timed(run, 1)
            if seconds[name] <= SKIP_FACTOR * min(seconds.values()):
                survivors[name] = run
        survivors = {name: run for name, run in survivors.items()
                     if seconds[name] <= SKIP_FACTOR * min(seconds.values())}
        if len(survivors) > 1:
            seconds.update(round_robin_medians(survivors, MEASURE_SECONDS * len(survivors),
                                               MEASURE_MIN_CALLS, MEASURE_MAX_CALLS))
        best = min(survivors, key=seconds.__getitem__)
        _choices[key] = {"algorithm": best, "seconds": seconds}
        _changed()
        if _file_enabled():
            try:
                save()
            except OSError as exc:
                if not _warned_write:
                    _warned_write = True
                    warnings.warn(f"suite: could not write the wisdom file "
                                  f"{wisdom_file()}: {exc}; measured choices stay in memory "
                                  f"for this process", RuntimeWarning, stacklevel=3)
        return best
