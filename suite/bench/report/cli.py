"""Command line: ``python -m suite report [--results DIR] [--out DIR]``."""

import argparse
import os
import sys
import warnings

from .derive import derive
from .load import ReportInputError, load_results
from .page import build_report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m suite report",
                                     description="Build the HTML benchmark report from asv "
                                                 "results.")
    parser.add_argument("--results", default=".asv/results",
                        help="asv results directory (default: .asv/results)")
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
    frame = derive(frame)
    path = build_report(frame, problems, args.out)
    print(os.path.abspath(os.path.join(args.out, "results.csv")))
    print(os.path.abspath(path))
    return 0
