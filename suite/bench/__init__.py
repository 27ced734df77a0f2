"""The benchmarking and reporting tools, on top of the kernels: they import :mod:`suite`,
and :mod:`suite` never imports them.

========================  ==================================================================
``catalogue``             the layer catalogue (real networks' enlarging layers) as data
``costs``                 the cost model joined to the catalogue (per layer and counterpart)
``sweep``                 layers never tuned on: a seeded draw of realistic configurations
``compare``               ``python -m suite compare``: a round-robin peer comparison
``compare_tables``        its tables (sections, the sweep's per-peer summary, scaling, CSV)
``report``                ``python -m suite report``: the HTML report of the asv results
========================  ==================================================================

The asv suite (``benchmarks/``) imports the catalogue from here too. Optional dependencies
(pandas and matplotlib for the report, asv for campaigns, the peers for comparisons) are
imported only by the commands that need them; :func:`missing` tells which are absent.
"""

import importlib.util

__all__ = ["missing"]

#: What ``pip install "suite[bench]"`` brings (pyproject.toml's ``bench`` extra).
BENCH_EXTRA = 'pip install "suite[bench]"  (or: pip install -r requirements/bench.txt)'


def missing(*modules):
    """The names among ``modules`` that cannot be imported here (found without importing
    them)."""
    absent = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(name)
    return absent
