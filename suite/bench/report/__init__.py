"""Benchmark report: ``python -m suite report [--results DIR] [--out DIR]``.

Loads every asv results file of every machine and commit under ``--results`` (default
``.asv/results``) into one tidy :mod:`pandas` frame (:func:`load_results`: one row per
benchmark x parameter combination x machine x commit) and each machine's environment
(:func:`environment_frame`), joins the cost model (:mod:`suite.cost`) by layer and derives
throughput, fractions of each machine's measured ceilings, thread scaling and ratios
(:func:`derive`), and writes one self-contained page, ``index.html`` (figures embedded as
PNG, sortable tables, no network), with the frame beside it as ``results.csv.gz``
(``--out``, default ``reports/latest``). Any number of machines: every figure and table
splits by machine or names the one it shows.

=============  ===========================================================================
``load``       asv results files -> the tidy frame; each machine's environment
``derive``     the cost-model join, the machine ceilings, the derived columns
``tables``     per-method, headline, ceilings, side-by-side and checkerboard tables
``units``      the number formats (µs / ms, KB / MB, GFLOP/s, ×)
``names``      readable names for benchmarks, methods, peers, cases and commits
``plotting``   what the figures share (panels per machine, legends, labels, PNG)
``figures``    the matplotlib figures
``markup``     the HTML pieces: style, sortable tables, folded tables, notes
``sections``   the sections that draw the measurements, each ``(frame, context) -> html``
``overview``   the sections in words: headline, environment, machines, gaps, methodology
``page``       the section registry and :func:`build_report`
``cli``        :func:`main`, the command line
``constants``  benchmark ids, palette, method order, "not measured", :class:`NotMeasured`
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

# The names the tests and other tools use stay importable from here; __all__ is the public
# part.
from .cli import main  # noqa: F401
from .constants import (COPY, COUNTERPART_TIME, CSV, DECONV_TIME, GEMM,  # noqa: F401
                        METHOD_COLOURS, METHODS, NOT_MEASURED, PAGE, PALETTE, PARAM_COLUMNS,
                        NotMeasured)
from .derive import derive, peer_name  # noqa: F401
from .figures import (fig_checkerboard, fig_costs, fig_history, fig_machines,  # noqa: F401
                      fig_measured, fig_peers, fig_roofline, fig_scaling, fig_sweep)
from .load import (RESULT_COLUMNS_DEFAULT, ReportInputError, environment_frame,  # noqa: F401
                   load_results, machine_environment, machine_environments)
from .markup import html_table  # noqa: F401
from .page import SECTIONS, Section, build, build_report, register  # noqa: F401
from .tables import (checkerboard_table, headline_table, method_table,  # noqa: F401
                     sweep_table)
from .units import (format_bytes, format_flops, format_number, format_ratio,  # noqa: F401
                    format_seconds)

__all__ = ["ReportInputError", "load_results", "machine_environments", "environment_frame",
           "derive", "build_report",
           "main", "Section", "SECTIONS", "register", "NotMeasured", "PALETTE",
           "format_number"]
