"""Command line: ``python -m suite info``, ``python -m suite compare [...]``,
``python -m suite profile [...]``, ``python -m suite algorithms [...]`` and
``python -m suite report [--results DIR] [--out DIR]``."""

import argparse
import platform
import sys

#: The modules each command needs beyond the kernels' own dependencies.
NEEDS = {"compare": (), "profile": ("pandas",), "algorithms": (),
         "report": ("pandas", "matplotlib")}


def info():
    """Print what this build is and which thread pools it will use."""
    import numpy
    import scipy
    from threadpoolctl import threadpool_info

    import suite
    from suite import _buildinfo, _environment, _im2col, _upsample

    print(f"suite {suite.__version__} from {suite.__path__[0]}")
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"numpy {numpy.__version__}, scipy {scipy.__version__}")
    openmp = "yes" if _buildinfo.openmp_enabled() else "NO (serial build: one thread)"
    print(f"OpenMP compiled in: {openmp}")
    print(f"OpenMP thread limit now: {_buildinfo.omp_max_threads()}")
    width = _buildinfo.planning_width()
    print(f"work split into products as for {width} thread{'s' if width != 1 else ''} at any"
          f" thread count (the planning width: {_buildinfo.PLANNING_SOURCE}, at most"
          f" {_buildinfo.PLANNING_MAX}; read at import)")
    print(f"compile flags: {_buildinfo.compile_flags()}")
    print(f"bounds checks: {'on' if _buildinfo.boundscheck() else 'off'}")
    print(f"vectors of the row kernels (resize, direct, fused bilinear; chosen at run time): "
          f"{_upsample.vector_isa().upper()}; float32 bilinear of rows <= 32 values: "
          f"{_upsample.narrow_rows_isa().upper()}")
    own = ("suite's own AVX-512 kernels" if _im2col.gemm_kernel() == "avx512"
           else "BLAS (suite's own kernels need AVX-512F and VL and no SUITE_OWN_GEMM=0)")
    print(f"float32 GEMMs of col2im (<= {_im2col.NARROW_GEMM_COLUMNS} columns or "
          f">= {_im2col.WIDE_GEMM_MIN_DEPTH} rows of K) and of the convolutions "
          f"(>= {_im2col.WIDE_GEMM_MIN_DEPTH} rows of K): {own}")
    for line in _environment.environment_lines():
        print(line, flush=True)
    print("thread pools seen by threadpoolctl:")
    for lib in threadpool_info():
        extra = lib.get("architecture") or lib.get("threading_layer") or ""
        print(f"  {lib['user_api']:6} {lib['internal_api']:9} {lib.get('version') or '?':12} "
              f"threads={lib['num_threads']:<3} {extra:10} {lib['filepath']}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m suite", description=__doc__)
    parser.add_argument("command", choices=("info", "compare", "profile", "algorithms",
                                            "report"),
                        help="info: describe this build; compare: time the kernels against "
                             "NumPy, PyTorch and OpenCV (see 'compare --help'); profile: where "
                             "the time goes inside a kernel call, stage by stage and thread by "
                             "thread (see 'profile --help'); algorithms: every deconvolution "
                             "algorithm against the one 'auto' runs, on the sweep's layers (see "
                             "'algorithms --help'); report: the HTML report of the asv "
                             "results (see 'report --help')")
    args, rest = parser.parse_known_args(argv[:1])
    if args.command == "info":
        if argv[1:]:
            parser.error(f"info takes no arguments, got {argv[1:]}")
        return info()
    from suite import bench

    absent = bench.missing(*NEEDS[args.command])
    if absent:
        print(f"python -m suite {args.command} needs {' and '.join(absent)}, not installed "
              f"here: {bench.BENCH_EXTRA}", file=sys.stderr)
        return 2
    if args.command == "report":
        from suite.bench import report

        return report.main(argv[1:])
    if args.command == "profile":
        from suite.bench import profile

        return profile.main(argv[1:])
    if args.command == "algorithms":
        from suite.bench import algorithms

        return algorithms.main(argv[1:])
    from suite.bench import compare

    return compare.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
