"""The timing loops of the tools: ``suite._timing`` (calls per sample, timed samples, the
median of a short run, medians of round-robin calls), which the kernels' measured algorithm
choice uses too.

``benchmarks/common.py`` loads this file by path in a history campaign of asv, beside an
older build of the package that may lack ``suite._timing``; the relative import then has no
package to resolve against, and the loops are loaded from ``../_timing.py`` beside this
file, the same working tree. Both files import nothing but the standard library.
"""

try:
    from .._timing import (alternating_medians, calibrate, median_seconds, round_robin_medians,
                           timed)
except ImportError:     # loaded by file path, not as part of the package
    import importlib.util as _util
    import os as _os
    import sys as _sys

    _path = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))),
                          "_timing.py")
    _spec = _util.spec_from_file_location("_suite_tree__timing", _path)
    _loops = _util.module_from_spec(_spec)
    _sys.modules[_spec.name] = _loops
    _spec.loader.exec_module(_loops)
    calibrate, median_seconds, timed = _loops.calibrate, _loops.median_seconds, _loops.timed
    round_robin_medians = _loops.round_robin_medians
    alternating_medians = _loops.alternating_medians

import math
import statistics

__all__ = ["alternating_medians", "calibrate", "geomean", "median_seconds",
           "round_robin_medians", "timed"]


def geomean(values):
    """Geometric mean of the positive, finite ``values`` (time ratios): NaN when there is
    none. ``compare``'s tables and the report summarize ratios with it."""
    kept = [float(v) for v in values if v > 0 and math.isfinite(v)]
    return statistics.geometric_mean(kept) if kept else math.nan
