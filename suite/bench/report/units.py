"""The page's number formats: every figure a person reads goes through one of these.

Times in ns / µs / ms / s, sizes in B / KB / MB / GB (decimal: 1 KB = 1000 B), work in FLOP /
MFLOP / GFLOP, rates in GFLOP/s and GB/s, counts with thousands separators or k / M, ratios as
"3.2×". A missing figure (None or NaN) reads :data:`~.constants.NOT_MEASURED`. Each format
keeps three or four significant digits: enough to compare, few enough to read.
"""

import math

import numpy as np

from .constants import NOT_MEASURED


def missing(value):
    """True for None, NaN and pandas' missing markers (nothing to format)."""
    if value is None:
        return True
    try:
        return bool(value != value)          # NaN, pd.NA (raises), NaT
    except (TypeError, ValueError):
        return True


def _scaled(value, steps, digits=3):
    """``value`` in the largest unit of ``steps`` ((scale, unit), descending) it reaches."""
    for scale, unit in steps:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {unit}"
    scale, unit = steps[-1]
    return f"{value / scale:.{digits}g} {unit}"


def format_number(value, digits=4):
    """A plain number: integers with separators, others with ``digits`` significant digits
    (scientific notation only far outside 0.001 .. 1e6)."""
    if missing(value):
        return NOT_MEASURED
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    value = float(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def format_seconds(value):
    """12.3 µs, 4.56 ms, 1.2 s."""
    if missing(value):
        return NOT_MEASURED
    return _scaled(float(value), ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")))


def format_bytes(value):
    """512 B, 12.5 KB, 3.4 MB, 25.3 GB (decimal units)."""
    if missing(value):
        return NOT_MEASURED
    value = float(value)
    if abs(value) < 1000:
        return f"{value:.0f} B"
    return _scaled(value, ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")))


def format_bytes_above(value):
    """Memory above a baseline: as :func:`format_bytes`, and "none" at or below it (a peak
    within the setup's own, give or take a page of the allocator)."""
    if missing(value):
        return NOT_MEASURED
    return format_bytes(value) if float(value) > 0 else "none"


def format_flops(value):
    """0 FLOP, 605 MFLOP, 2.42 GFLOP (an amount of work, not a rate)."""
    if missing(value):
        return NOT_MEASURED
    value = float(value)
    if value == 0:
        return "0 FLOP"
    if abs(value) < 1000:
        return f"{value:.0f} FLOP"
    return _scaled(value, ((1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"), (1e3, "kFLOP")))


def format_gflops(value):
    """A rate given in GFLOP/s: 123 GFLOP/s, 0.5 GFLOP/s."""
    if missing(value):
        return NOT_MEASURED
    return f"{float(value):.3g} GFLOP/s"


def format_gbps(value):
    """A bandwidth given in GB/s."""
    if missing(value):
        return NOT_MEASURED
    return f"{float(value):.3g} GB/s"


def format_count(value):
    """7,056 below 10 000; 73.8 k, 1.2 M above (parameters, elements)."""
    if missing(value):
        return NOT_MEASURED
    value = float(value)
    if abs(value) < 10_000:
        return f"{value:,.0f}"
    return _scaled(value, ((1e9, "G"), (1e6, "M"), (1e3, "k")))


def format_ratio(value):
    """3.2×, 0.85×, 1,234×."""
    if missing(value):
        return NOT_MEASURED
    value = float(value)
    if not math.isfinite(value):
        return "∞×" if value > 0 else NOT_MEASURED
    if abs(value) >= 1000:
        return f"{value:,.0f}×"
    return f"{value:.3g}×"


def format_percent(value):
    """A percentage given in percent: 75%, 3.2%."""
    if missing(value):
        return NOT_MEASURED
    value = float(value)
    return f"{value:.0f}%" if abs(value) >= 10 else f"{value:.2g}%"


def plural(n, word):
    """``plural(1, "core")`` -> "1 core", ``plural(4, "core")`` -> "4 cores"."""
    n = int(n)
    return f"{n} {word}" + ("s" if n != 1 else "")


def format_threads(value):
    if missing(value):
        return NOT_MEASURED
    return plural(value, "thread")


def format_axis_ratio(value):
    """A ratio on an axis: 0.5×, 1×, 2×."""
    return f"{value:g}×"
