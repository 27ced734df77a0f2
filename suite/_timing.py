"""The timing loops every measurement here uses: calls per sample, timed samples, and the
median of a short run. ``python -m suite compare`` samples its contestants round-robin with
them; the asv suite (``benchmarks/common.py``) calibrates its samples and times its
``track_`` figures with them; ``algorithm="measure"`` (``suite.wisdom``) times the
algorithms of a layer with them.

It imports nothing but the standard library: the tools reach it through
``suite/bench/timing.py``, which a history campaign of asv loads by file path from the
working tree, beside an older build of the package (it then loads this file by path too).
"""

import contextlib
import math
import statistics
import time

__all__ = ["alternating_medians", "calibrate", "median_seconds", "round_robin_medians", "timed"]


def timed(fn, number, context=None):
    """Seconds for ``number`` calls of ``fn``, inside ``context()`` (entered once) if given."""
    with context() if context is not None else contextlib.nullcontext():
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start


def calibrate(fn, sample_time, context=None, max_number=10**6):
    """Calls per sample so that one sample takes about ``sample_time`` seconds (timeit's
    autorange: 1, 10, 100, ... calls until a run takes a fifth of it, then scaled). The
    first call pays for page faults, thread start-up and plan caches: call ``fn`` once
    before."""
    number = 1
    while True:
        total = timed(fn, number, context)
        if total >= 0.2 * sample_time or number >= max_number:
            return int(min(max_number, max(1, math.ceil(number * sample_time
                                                         / max(total, 1e-9)))))
        number *= 10


def median_seconds(fn, budget, min_calls=3, max_calls=1000, warmup=True):
    """Median seconds per call: one warm-up call (unless ``warmup`` is false: the caller
    made it), then at least ``min_calls`` calls and as many as fit in ``budget`` seconds (at
    most ``max_calls``)."""
    if warmup:
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_calls or (time.perf_counter() - start < budget
                                     and len(times) < max_calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def round_robin_medians(fns, budget, min_calls=3, max_calls=1000):
    """Median seconds per call of each of ``fns`` (a dict of zero-argument callables, warmed
    up by the caller), sampled round-robin, one call of each per round and the starting
    callable rotating: a burst of other work on the machine then slows one round of every
    callable instead of all the samples of one. At least ``min_calls`` rounds, as many as
    fit in ``budget`` seconds, at most ``max_calls``."""
    names = list(fns)
    samples = {name: [] for name in names}
    start = time.perf_counter()
    for done in range(max_calls):
        if done >= min_calls and time.perf_counter() - start >= budget:
            break
        shift = done % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            fns[name]()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(times) for name, times in samples.items() if times}


def alternating_medians(fns, budget, blocks=3, min_calls=3):
    """Median seconds per call of each of ``fns`` (a dict of zero-argument callables),
    sampled in blocks: ``blocks`` rounds, in each of which every callable runs a block of
    calls (:func:`median_seconds`, whose first call is a warm-up) in turn; each callable's
    figure is the median of its block medians. For contestants whose threads spin on after
    a call (OpenMP runtimes other than suite's, ONNX Runtime's pool): alternating single
    calls, as :func:`round_robin_medians` does, would time each one beside the other's
    spinning threads; here only the warm-up call does. Drift of the machine still reaches
    every contestant, a block at a time."""
    names = list(fns)
    medians = {name: [] for name in names}
    per_block = budget / max(1, blocks * len(names))
    for _ in range(blocks):
        for name in names:
            medians[name].append(median_seconds(fns[name], per_block, min_calls=min_calls))
    return {name: statistics.median(values) for name, values in medians.items()}
