"""Where the time goes inside the kernels: ``with suite.profile() as prof:`` records, for
every kernel call made in the block (from any Python thread), each stage of the algorithm
on each OpenMP thread that ran it.

>>> import numpy as np, suite
>>> x = np.ones((2, 16, 16, 16), np.float32); w = np.ones((16, 8, 4, 4), np.float32)
>>> with suite.profile() as prof:
...     y = suite.deconv2d(x, w, stride=2, padding=1, algorithm="col2im")
>>> sorted(set(prof.frame()["stage"]))                          # doctest: +SKIP
['col2im scatter', 'gemm', 'pack']
>>> print(prof.summary())                                       # doctest: +SKIP
>>> prof.to_chrome_trace("deconv.json")                         # doctest: +SKIP

How it works. Every kernel times its tasks on the thread that runs each (a task of a
parallel loop, or one thread's share of a loop of many small tasks: a row, a plane) into a
buffer preallocated when the block opens (``pyx/_profile.h``): call, stage, OpenMP thread,
start and end on the monotonic clock. The public functions (``suite.deconv2d``, ...) mark
each call's span, its algorithm and thread count, and its arguments' shapes, from which
:mod:`suite.stage_costs` gives every stage's FLOPs and bytes.

Off (outside every block) a call costs one check of :data:`active` in Python and, in each
kernel, one load and branch per parallel loop and one branch per task; docs/performance.md
holds the measured A/B. Calls made outside the block record nothing; a block holds at most
``max_events`` stage executions and ``max_calls`` calls (the rest are counted as dropped,
never grown); profiling never changes a result: the kernels run the same code on the same
data, the timers only read the clock.

A call that raises is not recorded. Blocks may overlap (from several threads, or nested):
each gets every call made while it was open, and the buffer is shared until the last one
closes.
"""

import functools
import inspect
import itertools
import json
import os
import threading

import numpy as np

from . import _profile
from ._validation import check_int
from .stage_costs import stage_costs

__all__ = ["Profile", "ProfileSummary", "profile", "write_chrome_trace", "format_duration",
           "STAGES", "LAYER_FUNCTIONS"]

#: The stage names the kernels record, by stage id (``pyx/_profile.h``).
STAGES = _profile.stage_names()
_STAGE_IDS = {name: i for i, name in enumerate(STAGES)}

#: Default bounds of one block: stage executions (32 bytes each) and calls.
DEFAULT_MAX_EVENTS = 2 ** 19
DEFAULT_MAX_CALLS = 100_000

#: FLOPs per byte above which a stage is held to the GEMM ceiling rather than the copy
#: bandwidth, when the ceilings are not given (the measured ratio otherwise).
DEFAULT_BALANCE = 4.0

#: True while any profile() block is open: the one check a call makes when profiling is off.
active = False

_lock = threading.Lock()
_blocks = []            # the open Profile blocks
_running = 0            # profiled calls running now: the buffer stays while any is
_call_ids = itertools.count(1)
_local = threading.local()   # .call: the calling thread's profiled call, if any


class CallRecord:
    """One profiled call: its id, function, algorithm, thread count, arguments (arrays as
    their shapes), dtype, calling Python thread and span on the recorder's clock (ns)."""

    __slots__ = ("id", "function", "algorithm", "threads", "arguments", "dtype",
                 "python_thread", "start_ns", "end_ns")

    def __init__(self, id, function, algorithm, arguments, dtype, python_thread):
        self.id = id
        self.function = function
        self.algorithm = algorithm
        self.threads = 1
        self.arguments = arguments
        self.dtype = dtype
        self.python_thread = python_thread
        self.start_ns = self.end_ns = 0

    def shapes(self):
        """The array arguments' shapes, e.g. ``x 16x128x16x16, weight 128x64x4x4``."""
        return ", ".join(f"{name} {'x'.join(map(str, value))}"
                         for name, value in self.arguments.items()
                         if name in _ARRAY_ARGUMENTS and isinstance(value, tuple))

    def __repr__(self):
        return (f"CallRecord({self.id}, {self.function}, {self.algorithm}, "
                f"{self.threads} threads, {(self.end_ns - self.start_ns) / 1e6:.3f} ms)")


#: Arguments that are arrays (recorded as their shapes).
_ARRAY_ARGUMENTS = ("x", "weight", "bias", "cols", "grad_out", "skip")


def _describe(value):
    """An argument as the record keeps it: arrays as shapes, no references to data."""
    if isinstance(value, np.ndarray):
        return tuple(value.shape)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        if len(value) <= 4 and all(isinstance(v, (bool, int, float, np.generic))
                                   for v in value):
            return tuple(_describe(v) for v in value)     # a pair, a shape
        return tuple(np.shape(value))                      # an array given as a list
    return repr(value)


def profiled(function, algorithm=None):
    """Decorate the public function named ``function``: inside a profile() block, each call
    is recorded (``algorithm``: the default algorithm name, which :func:`note_call` may
    replace). Outside, one check of :data:`active`.

    The wrapper is made once, at import, with the function's own parameters and defaults,
    and passes them on by name: a ``*args, **kwargs`` wrapper costs 0.2-0.6 us per call
    (as much as 1-3% of a small upsampling), this one a frame (docs/performance.md)."""
    def decorate(fn):
        signature = inspect.signature(fn)
        params, forward, keywords, defaults = [], [], [], {}
        for p in signature.parameters.values():
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                raise TypeError(f"{fn.__name__}: profiled() takes named parameters only")
            if p.kind is p.KEYWORD_ONLY and "*" not in params:
                params.append("*")
            if p.default is p.empty:
                params.append(p.name)
            else:
                defaults[f"default_{p.name}"] = p.default
                params.append(f"{p.name}=default_{p.name}")
            if p.kind is p.KEYWORD_ONLY:
                keywords.append(p.name)
            else:
                forward.append(p.name)
        forward += [f"{k}={k}" for k in keywords]
        source = (
            f"def make({', '.join(['fn', 'signature'] + list(defaults))}):\n"
            f"    def {fn.__name__}({', '.join(params)}):\n"
            f"        if not active:\n"
            f"            return fn({', '.join(forward)})\n"
            f"        return _profiled_call(fn, signature, {function!r}, {algorithm!r}, "
            f"({''.join(n + ', ' for n in forward if '=' not in n)}), "
            f"{{{', '.join(f'{k!r}: {k}' for k in keywords)}}})\n"
            f"    return {fn.__name__}\n")
        namespace = {}
        exec(source, globals(), namespace)     # globals: `active` is read when called
        wrapper = namespace["make"](fn, signature, **defaults)
        return functools.wraps(fn)(wrapper)

    return decorate


def _profiled_call(fn, signature, function, algorithm, args, kwargs):
    def describe():
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arrays = [v for v in bound.arguments.values() if isinstance(v, np.ndarray)]
        return ({k: _describe(v) for k, v in bound.arguments.items() if k != "out"},
                str(arrays[0].dtype) if arrays else None)
    return _record_call(function, algorithm, describe, lambda: fn(*args, **kwargs))


def profiled_layer_call(layer, algorithm, arguments, dtype, run):
    """A layer object's call (``run()``), recorded inside a profile() block as a call of
    ``layer`` (its class name) with ``arguments()`` as the function it equals binds them
    (arrays as their shapes: :data:`LAYER_FUNCTIONS`); outside, just ``run()``."""
    def describe():
        return {k: _describe(v) for k, v in arguments().items()}, str(dtype)
    return _record_call(layer, algorithm, describe, run)


#: The function each layer object's calls equal (whose stage costs they have).
LAYER_FUNCTIONS = {"Deconv2d": "deconv2d", "UpsampleConv2d": "upsample_conv2d"}


def _record_call(function, algorithm, describe, run):
    """run(), recorded as a call of ``function`` in every open block; ``describe()`` gives
    its (arguments, dtype), asked only when a block is open."""
    global _running
    with _lock:
        blocks = [b for b in _blocks]
        if not blocks:
            return run()
        _running += 1
    try:
        call = CallRecord(next(_call_ids), function, algorithm, *describe(),
                          threading.current_thread().name)
        parent = getattr(_local, "call", None)
        _local.call = call
        previous = _profile.set_call(call.id)
        call.start_ns = _profile.now_ns()
        try:
            result = run()
        finally:
            call.end_ns = _profile.now_ns()
            _profile.set_call(previous)
            _local.call = parent
        with _lock:
            for block in blocks:
                block._add(call)
        return result
    finally:
        with _lock:
            _running -= 1


def note_call(algorithm, n_threads):
    """Inside a profiled call: the algorithm it runs and its OpenMP thread count (no-op
    otherwise)."""
    if active:
        call = getattr(_local, "call", None)
        if call is not None:
            call.algorithm = algorithm
            call.threads = n_threads


def python_stage_start():
    """The recorder's clock when the calling thread runs a profiled call, else 0: for a
    stage timed in Python (:func:`python_stage_stop`)."""
    if active and getattr(_local, "call", None) is not None:
        return _profile.now_ns()
    return 0


def python_stage_stop(stage, start_ns):
    """Record ``stage`` run in Python since ``start_ns`` (0: not profiled, nothing done)."""
    if start_ns:
        _profile.record(_local.call.id, _STAGE_IDS[stage], start_ns, _profile.now_ns())


class Profile:
    """A block of profiling (see the module docstring): ``with Profile() as prof: ...``,
    then :meth:`frame`, :meth:`summary`, :meth:`to_chrome_trace`.

    After the block: ``calls`` (CallRecord, in the order they ended), ``events`` (the stage
    executions as a NumPy structured array: call, start_ns, end_ns, stage, thread),
    ``dropped_events`` and ``dropped_calls`` (past the bounds), ``start_ns``/``end_ns``."""

    def __init__(self, max_events=DEFAULT_MAX_EVENTS, max_calls=DEFAULT_MAX_CALLS):
        self.max_events = check_int(max_events, "max_events", minimum=1)
        self.max_calls = check_int(max_calls, "max_calls", minimum=1)
        self.calls = []
        self.events = _profile.events(0)[:0]
        self.dropped_events = 0
        self.dropped_calls = 0
        self.start_ns = self.end_ns = None
        self._open = False

    # -- recording ------------------------------------------------------------------------

    def __enter__(self):
        global active
        with _lock:
            if self.start_ns is not None:
                raise RuntimeError("a Profile records one block; make a new one")
            if not _blocks and _running == 0:
                if _profile.capacity() < self.max_events:
                    _profile.allocate(self.max_events)
                _profile.clear()
            self._first = _profile.recorded()
            self._lost = max(0, self._first - _profile.capacity())
            _blocks.append(self)
            self._open = True
            active = True
            _profile.set_enabled(True)
            self.start_ns = _profile.now_ns()
        return self

    def __exit__(self, *exc):
        global active
        with _lock:
            self.end_ns = _profile.now_ns()
            self._open = False
            _blocks.remove(self)
            recorded = _profile.recorded()
            self.dropped_events = max(0, recorded - _profile.capacity()) - self._lost
            events = _profile.events(self._first)
            ids = np.array([c.id for c in self.calls], dtype=np.int64)
            self.events = events[np.isin(events["call"], ids)]
            if not _blocks:
                active = False
                _profile.set_enabled(False)
                if _running == 0:
                    _profile.allocate(1)     # give the buffer back
        return False

    def _add(self, call):
        if not self._open:
            return
        if len(self.calls) < self.max_calls:
            self.calls.append(call)
        else:
            self.dropped_calls += 1

    # -- results ----------------------------------------------------------------------------

    def _check_done(self):
        if self.start_ns is None or self._open:
            raise RuntimeError("the profile's results are ready when its block has ended")

    def call_frame(self):
        """One row per call: ``call``, ``function``, ``algorithm``, ``threads`` (its OpenMP
        thread count), ``dtype``, ``shapes``, ``python_thread``, ``start_s`` (from the
        block's start), ``wall_s``. Needs pandas."""
        import pandas as pd

        self._check_done()
        rows = [dict(call=c.id, function=c.function, algorithm=c.algorithm, threads=c.threads,
                     dtype=c.dtype, shapes=c.shapes(), python_thread=c.python_thread,
                     start_s=(c.start_ns - self.start_ns) / 1e9,
                     wall_s=(c.end_ns - c.start_ns) / 1e9) for c in self.calls]
        columns = ["call", "function", "algorithm", "threads", "dtype", "shapes",
                   "python_thread", "start_s", "wall_s"]
        return pd.DataFrame(rows, columns=columns)

    def frame(self):
        """One row per stage execution (pandas): ``call``, ``function``, ``algorithm``,
        ``stage``, ``thread`` (OpenMP thread number within the call), ``start_s`` (from the
        block's start), ``duration_s``, ``threads``, ``dtype``, ``python_thread``, and
        ``flops`` / ``bytes``: the cost model's figures for the stage in this call
        (:mod:`suite.stage_costs`), shared among its executions in proportion to their
        durations (NaN where the model has none). Needs pandas."""
        import pandas as pd

        calls = self.call_frame().set_index("call")
        ev = self.events
        frame = pd.DataFrame({
            "call": ev["call"], "stage": [STAGES[s] for s in ev["stage"]],
            "thread": ev["thread"].astype(int),
            "start_s": (ev["start_ns"] - (self.start_ns or 0)) / 1e9,
            "duration_s": (ev["end_ns"] - ev["start_ns"]) / 1e9})
        for column in ("function", "algorithm", "threads", "dtype", "python_thread"):
            frame[column] = frame["call"].map(calls[column])
        models = self._stage_models()
        keys = list(zip(frame["call"], frame["stage"]))
        share = frame["duration_s"] / frame.groupby(["call", "stage"])["duration_s"] \
            .transform("sum").where(lambda s: s > 0)
        frame["flops"] = [models.get(k, (np.nan, np.nan))[0] for k in keys] * share
        frame["bytes"] = [models.get(k, (np.nan, np.nan))[1] for k in keys] * share
        order = ["call", "function", "algorithm", "stage", "thread", "start_s", "duration_s",
                 "flops", "bytes", "threads", "dtype", "python_thread"]
        return frame[order].sort_values(["call", "start_s", "thread"], kind="stable") \
            .reset_index(drop=True)

    def _stage_models(self):
        """{(call, stage): (flops, bytes)} from the cost model (missing: not priced)."""
        models = {}
        for c in self.calls:
            try:
                costs = stage_costs(LAYER_FUNCTIONS.get(c.function, c.function),
                                    c.algorithm, c.arguments,
                                    np.dtype(c.dtype).itemsize)
            except (KeyError, TypeError, ValueError):
                continue
            for stage, figures in costs.items():
                models[(c.id, stage)] = tuple(float(v) for v in figures)
        return models

    def summary(self, gemm_gflops=None, copy_gbps=None):
        """Per call and stage, and per call and thread (:class:`ProfileSummary`; print it
        for a table in human units).

        ``gemm_gflops``, ``copy_gbps``: the machine's ceilings on one thread (a GEMM's
        GFLOP/s for the calls' dtype, a large copy's GB/s read + written), e.g. from
        ``python -m suite profile``, which measures them; without them the shares of the
        ceilings are NaN. Needs pandas."""
        return ProfileSummary(self, gemm_gflops, copy_gbps)

    def to_chrome_trace(self, path):
        """Write the Trace Event Format JSON (Perfetto, chrome://tracing): one process per
        calling Python thread, one track (``tid``) per OpenMP thread, each call an "X"
        event enclosing its stages' "X" events on every thread that worked; ``ts`` and
        ``dur`` in microseconds from the block's start. Returns ``path``
        (:func:`write_chrome_trace` merges several blocks)."""
        return write_chrome_trace([self], path)

    def _trace_events(self, origin_ns, processes, calls=None):
        """This block's Trace Event Format events (times from ``origin_ns``), the calls
        ``calls`` (ids) only if given; ``processes`` maps Python thread -> pid (extended)."""
        self._check_done()
        keep = None if calls is None else set(calls)
        records = {c.id: c for c in self.calls if keep is None or c.id in keep}
        models = self._stage_models()
        events, named, threads_of = [], set(), {}
        rows = [r for r in self.events if int(r["call"]) in records]
        for row in rows:
            threads_of.setdefault(int(row["call"]), set()).add(int(row["thread"]))

        def us(ns):
            return round((ns - origin_ns) / 1e3, 3)

        def track(c, tid):
            if c.python_thread not in processes:
                processes[c.python_thread] = os.getpid() + len(processes)
                events.append(dict(name="process_name", ph="M",
                                   pid=processes[c.python_thread],
                                   args=dict(name=f"suite kernels ({c.python_thread})")))
            pid = processes[c.python_thread]
            if (pid, tid) not in named:
                named.add((pid, tid))
                events.append(dict(name="thread_name", ph="M", pid=pid, tid=tid,
                                   args=dict(name=f"OpenMP thread {tid}")))
            return pid

        for c in records.values():
            for tid in sorted(threads_of.get(c.id, {0})):
                events.append(dict(name=f"{c.function} ({c.algorithm})", cat="call", ph="X",
                                   ts=us(c.start_ns), dur=round((c.end_ns - c.start_ns) / 1e3, 3),
                                   pid=track(c, tid), tid=tid,
                                   args=dict(call=c.id, threads=c.threads, dtype=c.dtype,
                                             shapes=c.shapes())))
        for row in rows:
            c = records[int(row["call"])]
            tid = int(row["thread"])
            stage = STAGES[int(row["stage"])]
            flops, nbytes = models.get((c.id, stage), (None, None))
            events.append(dict(name=stage, cat="stage", ph="X", ts=us(int(row["start_ns"])),
                               dur=round((int(row["end_ns"]) - int(row["start_ns"])) / 1e3, 3),
                               pid=track(c, tid), tid=tid,
                               args=dict(call=c.id, stage_flops=flops, stage_bytes=nbytes)))
        return events


def write_chrome_trace(profiles, path, calls=None):
    """One Trace Event Format file of several blocks (:meth:`Profile.to_chrome_trace`), on
    the time base of the earliest; ``calls``: the call ids to keep (default all)."""
    origin = min(p.start_ns for p in profiles)
    processes, events = {}, []
    for p in profiles:
        events += p._trace_events(origin, processes, calls)
    dropped = dict(dropped_events=sum(p.dropped_events for p in profiles),
                   dropped_calls=sum(p.dropped_calls for p in profiles))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dict(traceEvents=events, displayTimeUnit="ms", otherData=dropped), f)
    return path


def profile(max_events=DEFAULT_MAX_EVENTS, max_calls=DEFAULT_MAX_CALLS):
    """``with suite.profile() as prof:`` records every kernel call made in the block (see
    :mod:`suite.profiling`): at most ``max_events`` stage executions (32 bytes each, the
    buffer preallocated when the block opens) and ``max_calls`` calls."""
    return Profile(max_events, max_calls)


# -- the summary --------------------------------------------------------------------------

def format_duration(seconds):
    """A duration a person reads: ``812 ns``, ``3.4 us``, ``12.1 ms``, ``1.25 s``."""
    if seconds != seconds:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{seconds * 1e9:.0f} ns"


class ProfileSummary:
    """Where each call's time went.

    ``stages`` (pandas), one row per call and stage: ``call``, ``function``, ``algorithm``,
    ``threads``, ``stage``, ``seconds`` (summed over the threads that ran it), ``share``
    (of the call's thread time, ``wall_s * threads``), ``gflop_s`` and ``gb_s`` (the
    stage's FLOPs and bytes over its busy time: the rate of one busy thread), and
    ``of_gemm`` / ``of_copy`` (those rates over the one-thread ceilings given), ``bound``:
    the roof that binds the stage, ``"compute"`` where its FLOPs per byte reach the
    machine's balance (GEMM over copy rate; :data:`DEFAULT_BALANCE` without the ceilings),
    else ``"memory"`` (empty for a stage the model does not price). Each call
    also has a row ``stage="(idle)"``: thread time spent in no stage (waiting at a barrier,
    Python before and after the kernel).

    ``threads``, one row per call and OpenMP thread of the call: ``busy_s`` (in stages),
    ``idle_s`` (``wall_s - busy_s``), ``busy_share``; ``imbalance`` on the call's rows:
    the busiest thread's busy time over the threads' mean (1.0: balanced)."""

    def __init__(self, prof, gemm_gflops=None, copy_gbps=None):
        import pandas as pd

        self.gemm_gflops, self.copy_gbps = gemm_gflops, copy_gbps
        frame = prof.frame()
        self.calls = prof.call_frame()
        wall = self.calls.set_index("call")["wall_s"]
        stages = (frame.groupby(["call", "stage"], sort=False)
                  .agg(seconds=("duration_s", "sum"), flops=("flops", "sum"),
                       bytes=("bytes", "sum")).reset_index())
        busy = frame.groupby(["call", "thread"])["duration_s"].sum()
        last = frame.groupby("call")["thread"].max()
        rows = []
        for c in self.calls.itertuples():
            for t in range(max(c.threads, int(last.get(c.call, 0)) + 1)):
                b = float(busy.get((c.call, t), 0.0))
                rows.append(dict(call=c.call, thread=t, busy_s=b, idle_s=c.wall_s - b,
                                 busy_share=b / c.wall_s if c.wall_s > 0 else np.nan))
        self.threads = pd.DataFrame(rows, columns=["call", "thread", "busy_s", "idle_s",
                                                   "busy_share"])
        if len(self.threads):
            mean = self.threads.groupby("call")["busy_s"].transform("mean")
            peak = self.threads.groupby("call")["busy_s"].transform("max")
            self.threads["imbalance"] = peak / mean.where(mean > 0)
        else:
            self.threads["imbalance"] = []
        span = self.threads.groupby("call").size()
        idle = self.threads.groupby("call")["idle_s"].sum()
        stages = pd.concat([stages, pd.DataFrame(dict(
            call=idle.index, stage="(idle)", seconds=idle.values, flops=np.nan,
            bytes=np.nan))], ignore_index=True)
        stages["function"] = stages["call"].map(self.calls.set_index("call")["function"])
        stages["algorithm"] = stages["call"].map(self.calls.set_index("call")["algorithm"])
        stages["threads"] = stages["call"].map(span)
        stages["share"] = stages["seconds"] / (stages["call"].map(wall) * stages["threads"])
        busy_time = stages["seconds"].where(stages["seconds"] > 0)
        stages["gflop_s"] = (stages["flops"] / busy_time / 1e9).where(stages["flops"] > 0)
        stages["gb_s"] = (stages["bytes"] / busy_time / 1e9).where(stages["bytes"] > 0)
        stages["of_gemm"] = stages["gflop_s"] / gemm_gflops if gemm_gflops else np.nan
        stages["of_copy"] = stages["gb_s"] / copy_gbps if copy_gbps else np.nan
        balance = gemm_gflops / copy_gbps if gemm_gflops and copy_gbps else DEFAULT_BALANCE
        intensity = stages["flops"].fillna(0) / stages["bytes"].where(stages["bytes"] > 0)
        stages["bound"] = np.where(intensity >= balance, "compute",
                                   np.where(stages["bytes"] > 0, "memory", ""))
        stages["_order"] = stages["stage"].eq("(idle)")
        self.stages = (stages.sort_values(["call", "_order", "seconds"],
                                          ascending=[True, True, False], kind="stable")
                       .drop(columns="_order").reset_index(drop=True)
                       [["call", "function", "algorithm", "threads", "stage", "seconds",
                         "share", "flops", "bytes", "gflop_s", "gb_s", "of_gemm",
                         "of_copy", "bound"]])

    def call_text(self, call):
        """The table of one call, in human units."""
        c = self.calls.set_index("call").loc[call]
        lines = [f"call {call}: {c['function']} ({c['algorithm']}), {c['dtype']}, "
                 f"{c['shapes']}; {c['threads']} thread(s), wall {format_duration(c['wall_s'])}"]
        lines.append(f"  {'stage':27} {'time':>9} {'share':>6}  {'rate':>13}  {'of ceiling':>12}")
        for s in self.stages[self.stages["call"] == call].itertuples():
            rate = ceiling = ""
            if s.bound == "compute":
                rate = f"{s.gflop_s:.1f} GFLOP/s"
                if s.of_gemm == s.of_gemm:
                    ceiling = f"{100 * s.of_gemm:.0f}% of GEMM"
            elif s.bound == "memory":
                rate = f"{s.gb_s:.1f} GB/s"
                if s.of_copy == s.of_copy:
                    ceiling = f"{100 * s.of_copy:.0f}% of copy"
            lines.append(f"  {s.stage:27} {format_duration(s.seconds):>9} "
                         f"{100 * s.share:5.1f}%  {rate:>13}  {ceiling:>12}".rstrip())
        t = self.threads[self.threads["call"] == call]
        if len(t):
            busy = ", ".join(f"{r.thread}: {format_duration(r.busy_s)} busy "
                             f"({100 * r.busy_share:.0f}%)" for r in t.itertuples())
            lines.append(f"  threads {busy}; imbalance {t['imbalance'].iloc[0]:.2f}")
        return "\n".join(lines)

    def __str__(self):
        return "\n\n".join(self.call_text(c) for c in self.calls["call"])
