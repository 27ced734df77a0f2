"""Command line: ``python -m suite report [--results DIR] [--out DIR]``."""

import argparse
import os
import sys
import warnings

from .constants import CSV, PAGE
from .derive import derive
from .load import ReportInputError, environment_frame, load_results
from .page import build


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m suite report",
        description=f"Build the HTML benchmark report ({PAGE}, with the tidy results as "
                    f"{CSV} beside it) from asv results: every machine and commit under "
                    "--results.")
    parser.add_argument("--results", default=".asv/results",
                        help="asv results directory, one subdirectory per machine "
                             "(default: .asv/results)")
    parser.add_argument("--out", default=os.path.join("reports", "latest"),
                        help="output directory (default: reports/latest)")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # problems are printed below, once
        try:
            frame, problems = load_results(args.results)
        except ReportInputError as exc:
            raise SystemExit(f"python -m suite report: {exc}") from None
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    environment = environment_frame(args.results, frame)
    frame = derive(frame)
    path, failures = build(frame, problems, args.out, environment=environment,
                           results_dir=args.results)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    print(os.path.abspath(os.path.join(os.path.dirname(path), CSV)))
    print(os.path.abspath(path))
    return 1 if failures else 0
