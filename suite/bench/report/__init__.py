"""Benchmark report: ``python -m suite report [--results DIR] [--out DIR]``.

Loads every asv results file of every machine and commit under ``--results`` (default
``.asv/results``) into one tidy :mod:`pandas` frame (:func:`load_results`: one row per
benchmark x parameter combination x machine x commit), joins the cost model
(:mod:`suite.cost`) by layer and derives throughput, fractions of the machine's measured
ceilings, thread scaling and ratios (:func:`derive`), draws the figures (matplotlib, Agg)
and writes one self-contained HTML page (figures embedded as base64 PNG) with the frame as
CSV beside it (``--out``, default ``reports/latest``).

=============  ===========================================================================
``load``       asv results files -> the tidy frame; :class:`ReportInputError`; each
               machine's environment (:func:`machine_environments`)
``derive``     the cost-model join, the machine ceilings, the derived columns
``tables``     the per-method and checkerboard tables; the number formats
``figures``    the matplotlib figures, as base64 PNG
``page``       the HTML page (CSS, tables, summary, methodology): :func:`build_report`
``cli``        :func:`main`, the command line
``constants``  benchmark ids, palette, method order, the "not measured" marker
=============  ===========================================================================

Conventions of the frame
------------------------
* ``status``: ``"ok"``; ``"failed"`` (asv stored ``null``: the benchmark raised or timed
  out); ``"skipped"`` (asv stored NaN: the combination was skipped with
  ``NotImplementedError``, e.g. a peer that is not installed). Only ``"ok"`` rows have a
  ``value``; nothing is ever filled with zero. Benchmarks a machine has no result for are
  listed as "not measured" on the page.
* ``value`` is asv's figure: the median of all samples for ``time_`` (seconds) and
  ``peakmem_`` (bytes), the returned number for ``track_``. ``q25``/``q75`` (their
  difference ``iqr``) and ``ci99_lo``/``ci99_hi`` are asv's spread statistics, NaN where
  asv records none (``track_`` and ``peakmem_`` benchmarks).
"""

# The names the old single-module report offered stay importable from here (the tests use
# several); __all__ is the public part.
from .cli import main  # noqa: F401
from .constants import (COPY, COUNTERPART_TIME, DECONV_TIME, GEMM,  # noqa: F401
                        METHOD_COLOURS, METHODS, NOT_MEASURED, PALETTE, PARAM_COLUMNS)
from .derive import derive, peer_name  # noqa: F401
from .figures import (fig_checkerboard, fig_history, fig_methods, fig_peers,  # noqa: F401
                      fig_roofline, fig_scaling)
from .load import (RESULT_COLUMNS_DEFAULT, ReportInputError, load_results,  # noqa: F401
                   machine_environments)
from .page import CSS, build_report, html_table, summary  # noqa: F401
from .tables import (checkerboard_table, format_number, format_seconds,  # noqa: F401
                     method_table)

__all__ = ["ReportInputError", "load_results", "machine_environments", "derive",
           "build_report", "main",
           "PALETTE", "format_number"]
