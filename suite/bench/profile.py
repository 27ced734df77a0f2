"""Where the time goes inside a kernel call: ``python -m suite profile``.

Runs catalogue layers (or one explicit shape) under :func:`suite.profile` and prints, for
each operation, algorithm and thread count, the stage table of the call of median wall time
(time, share of the call's thread time, achieved GFLOP/s or GB/s and the share of the
machine's ceiling) and its threads' busy time and imbalance:

    python -m suite profile --layer unet-up1
    python -m suite profile --layer dcgan-g4 --algorithm all --threads 1,2 --trace g4.json
    python -m suite profile --layer erfnet-up --op bilinear+conv3x3
    python -m suite profile --shape 1,256,64,64 --out-channels 128 --kernel 4 --stride 2 \\
        --padding 1
    python -m suite profile --catalogue --json profiles.json

``--op``: ``deconv`` (``suite.deconv2d``, the default for a layer that has one) or one of
the layer's upsample counterparts (``Layer.counterpart_operation``): ``nearest``,
``bilinear`` (``suite.upsample``), ``nearest+conv3x3``, ``bilinear+conv3x3`` (the fused
``suite.upsample_conv2d``), ``nearest+add`` (``suite.upsample_add``).
``--algorithm``: ``auto`` (default), a name, or ``all``: every algorithm that runs as
itself on the geometry and within its domain (``choose_algorithm``'s rules), where it is
not slower by orders of magnitude: Winograd where every phase has a 2x2 sub-kernel and
both channel counts per group are 16 or more, ``direct`` for 4 or fewer input channels per
group.

Each case: one untimed call (page faults, plans, thread start), then ``--repeat`` calls in
one profiled block. The ceilings (``suite.bench.ceilings``: a GEMM's GFLOP/s and a large
copy's GB/s, one thread, the run's dtype) are measured once at the start (about a second)
unless given (``--gemm-gflops``, ``--copy-gbps``) or ``--no-ceilings``; a stage's rate is
its FLOPs or bytes (``suite.stage_costs``) over its busy time, i.e. the rate of one busy
thread, against the one-thread ceiling.

``--trace FILE``: the Trace Event Format JSON of every measured call (Perfetto,
chrome://tracing). ``--json FILE``: the median calls' stage tables and busy times, and the
timelines of those with at most ``TIMELINE_EVENTS`` stage executions (FCN-32s' 1024
phases make tens of thousands), with the ceilings and the machine, for the report
(``suite.bench.report.profiles.load_profiles``); ``make profiles`` writes the catalogue's,
and ``make campaign`` after its timing runs.

Other work on the machine shows up as idle time and slow stages: profile a quiet machine.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

import numpy as np

import suite
from suite._plan import DECONV_METHODS, UPSAMPLE_CONV_METHODS
from suite._environment import blas_description
from suite.profiling import write_chrome_trace

from .catalogue import COUNTERPARTS, LAYERS, Layer, get_layer
from .ceilings import measure_ceilings

__all__ = ["main", "run_case", "cases_for", "PROFILE_FORMAT"]

#: The ``format`` field of the ``--json`` file.
PROFILE_FORMAT = "suite-profiles/1"

DEFAULT_REPEAT = 5
CATALOGUE_REPEAT = 3
#: A median call's timeline goes into --json when it has at most this many stage executions.
TIMELINE_EVENTS = 4096


def _ints(text, name):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be comma-separated integers, got "
                                         f"{text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{name} must be positive, got {text!r}")
    return values


def build_parser():
    p = argparse.ArgumentParser(prog="python -m suite profile",
                                description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--layer", help="a catalogue layer: "
                                      + ", ".join(layer.name for layer in LAYERS))
    what.add_argument("--shape", type=lambda t: _ints(t, "--shape"),
                      help="an explicit input N,C,H,W (with --out-channels, --kernel, ...)")
    what.add_argument("--catalogue", action="store_true",
                      help="every catalogue layer: its deconvolution by every algorithm "
                           "(--algorithm all) and its counterparts")
    p.add_argument("--op", help="deconv (default) or an upsample counterpart: "
                                + ", ".join(COUNTERPARTS))
    p.add_argument("--algorithm", default=None,
                   help="auto (default), an algorithm name, or all")
    p.add_argument("--threads", type=lambda t: _ints(t, "--threads"), default=None,
                   help="comma-separated thread counts (default 1 and the machine's)")
    p.add_argument("--repeat", type=int, default=None,
                   help=f"profiled calls per case (default {DEFAULT_REPEAT}, "
                        f"{CATALOGUE_REPEAT} with --catalogue); the median call is shown")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--out-channels", type=int, help="explicit shape: C_out")
    p.add_argument("--kernel", type=int, help="explicit shape: deconvolution kernel")
    p.add_argument("--stride", type=int, help="explicit shape: stride (default 2)")
    p.add_argument("--padding", type=int, default=0, help="explicit shape: padding")
    p.add_argument("--output-padding", type=int, default=0)
    p.add_argument("--groups", type=int, default=1)
    p.add_argument("--scale", type=int, help="explicit shape: the counterparts' scale factor "
                                             "(default the stride)")
    p.add_argument("--trace", help="write the calls' Trace Event Format JSON here")
    p.add_argument("--json", help="write the median calls' stages and timelines here")
    p.add_argument("--gemm-gflops", type=float, help="the one-thread GEMM ceiling (GFLOP/s)")
    p.add_argument("--copy-gbps", type=float, help="the one-thread copy ceiling (GB/s)")
    p.add_argument("--no-ceilings", action="store_true", help="do not measure the ceilings")
    return p


def explicit_layer(args):
    """A catalogue-like Layer from --shape and the geometry options."""
    n, c, h, w = args.shape if len(args.shape) == 4 else (None,) * 4
    if n is None:
        raise ValueError(f"--shape must be N,C,H,W, got {args.shape}")
    stride = args.stride or 2
    op = args.op or "deconv"
    counterparts = (op,) if op != "deconv" else ()
    kernel = args.kernel if args.kernel is not None else (None if counterparts else 2 * stride)
    return Layer("shape", "explicit shape", n, c, args.out_channels or c, h, w, kernel,
                 stride if kernel is not None else None,
                 args.padding if kernel is not None else None,
                 output_padding=args.output_padding, groups=args.groups,
                 scale_factor=args.scale or stride, counterparts=counterparts)


def _algorithms(layer, op, requested):
    """The algorithms to run for ``op`` on ``layer`` (see the module docstring)."""
    if op == "deconv":
        names = DECONV_METHODS
    elif op.endswith("+conv3x3"):
        names = UPSAMPLE_CONV_METHODS
    else:
        return ["auto"]
    if requested in (None, "auto", "measure"):
        return [requested or "auto"]
    if requested != "all":
        if requested not in names:
            raise ValueError(f"--algorithm for {op} must be auto, measure, all or one of "
                             f"{', '.join(names)}; got {requested!r}")
        return [requested]
    if op != "deconv":
        mode = op.split("+")[0]
        return [a for a in names if mode == "nearest" or a == "banded"]
    cig, cog = layer.in_channels // layer.groups, layer.out_channels // layer.groups
    chosen = []
    for a in names:
        if a == "winograd" and (layer.kernel != 2 * layer.stride or min(cig, cog) < 16):
            continue
        if a == "direct" and cig > 4:
            continue
        chosen.append(a)
    return chosen


def cases_for(layer, op=None, algorithm=None):
    """``[(op, algorithm), ...]`` of one layer: ``op`` None means the deconvolution where
    the layer has one, else its first counterpart; "all" ops (the catalogue pass): the
    deconvolution and every counterpart the catalogue names."""
    if op == "all":
        ops = (["deconv"] if layer.has_deconv else []) + list(layer.counterparts)
    else:
        ops = [op or ("deconv" if layer.has_deconv else layer.counterparts[0])]
    cases = []
    for o in ops:
        if o == "deconv" and not layer.has_deconv:
            raise ValueError(f"{layer.name} has no deconvolution; --op one of "
                             f"{', '.join(layer.counterparts)}")
        if o != "deconv" and o not in COUNTERPARTS:
            raise ValueError(f"--op must be deconv or one of {', '.join(COUNTERPARTS)}, "
                             f"got {o!r}")
        cases += [(o, a) for a in _algorithms(layer, o, algorithm)]
    return cases


def make_call(layer, op, algorithm, dtype, threads):
    """The suite call of one case, on the layer's deterministic data."""
    if op == "deconv":
        x, w, b = layer.make_inputs(dtype)
        kwargs = layer.deconv_kwargs
        return lambda: suite.deconv2d(x, w, b, **kwargs, algorithm=algorithm,
                                      num_threads=threads)
    operation, a = layer.counterpart_operation(op)
    data = layer.make_counterpart_inputs(dtype)
    x = data["x"]
    mode = dict(mode=a["mode"], align_corners=a["align_corners"], num_threads=threads)
    if operation == "upsample_conv2d":
        return lambda: suite.upsample_conv2d(x, data["conv_weight"], data["conv_bias"],
                                             scale_factor=a["scale_factor"],
                                             padding=a["padding"], algorithm=algorithm, **mode)
    if operation == "upsample_add":
        return lambda: suite.upsample_add(x, data["skip"], **mode)
    return lambda: suite.upsample(x, scale_factor=a["scale_factor"], **mode)


def run_case(layer, op, algorithm, dtype, threads, repeat):
    """Profile ``repeat`` calls of one case after an untimed one; returns the block and the
    id of its call of median wall time."""
    call = make_call(layer, op, algorithm, dtype, threads)
    call()
    with suite.profile() as prof:
        for _ in range(repeat):
            call()
    walls = sorted((c.end_ns - c.start_ns, c.id) for c in prof.calls)
    return prof, walls[(len(walls) - 1) // 2][1]


def _git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)),
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _records(summary, call, labels):
    """The --json rows of one median call: its stages and its threads (``threads``: the
    count asked for; ``ran_threads``: the count the call ran on, which a small layer may
    lower, ``suite._plan.threads_for_work``)."""
    stages = summary.stages[summary.stages["call"] == call].drop(columns=["call"]) \
        .rename(columns={"threads": "ran_threads"})
    wall = float(summary.calls.set_index("call").loc[call, "wall_s"])
    stage_rows = [dict(labels, wall_s=wall, **row) for row in stages.to_dict("records")]
    threads = summary.threads[summary.threads["call"] == call].drop(columns=["call"])
    thread_rows = [dict(labels, **row) for row in threads.to_dict("records")]
    return stage_rows, thread_rows


def _timeline(frame, calls, call, labels):
    start = float(calls.set_index("call").loc[call, "start_s"])
    rows = frame[frame["call"] == call]
    if len(rows) > TIMELINE_EVENTS:
        return []
    return [dict(labels, thread=int(r.thread), stage=r.stage, start_s=r.start_s - start,
                 duration_s=r.duration_s) for r in rows.itertuples()]


def _clean(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if value != value else float(value)
    return value


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.catalogue:
            layers = list(LAYERS)
        elif args.shape:
            layers = [explicit_layer(args)]
        else:
            layers = [get_layer(args.layer or "dcgan-g4")]
        algorithm = "all" if args.catalogue and args.algorithm is None else args.algorithm
        plan = [(layer, op, a) for layer in layers
                for op, a in cases_for(layer, "all" if args.catalogue and not args.op
                                       else args.op, algorithm)]
    except ValueError as exc:
        print(f"python -m suite profile: {exc}", file=sys.stderr)
        return 2
    threads = args.threads or tuple(sorted({1, os.cpu_count() or 1}))
    repeat = args.repeat or (CATALOGUE_REPEAT if args.catalogue else DEFAULT_REPEAT)
    if repeat < 1:
        print("python -m suite profile: --repeat must be positive", file=sys.stderr)
        return 2
    print(f"suite {suite.__version__}; BLAS: {blas_description()}", flush=True)
    ceilings = dict(gemm_gflops=args.gemm_gflops, copy_gbps=args.copy_gbps)
    if not args.no_ceilings and None in ceilings.values():
        measured = measure_ceilings(args.dtype, threads=1)
        ceilings = {k: v if v is not None else measured[k] for k, v in ceilings.items()}
    if None not in ceilings.values():
        print(f"ceilings (one thread, {args.dtype}): GEMM {ceilings['gemm_gflops']:.1f} "
              f"GFLOP/s, copy {ceilings['copy_gbps']:.1f} GB/s", flush=True)
    print("(other work on the machine shows as idle time and slower stages)\n", flush=True)
    profiles, kept, stage_rows, thread_rows, timeline = [], [], [], [], []
    for layer, op, a in plan:
        for t in threads:
            prof, call = run_case(layer, op, a, args.dtype, t, repeat)
            profiles.append(prof)
            kept.append(call)
            summary = prof.summary(**ceilings)
            record = next(c for c in prof.calls if c.id == call)
            labels = dict(layer=layer.name, op=op, function=record.function,
                          requested=a, algorithm=record.algorithm, threads=t,
                          dtype=args.dtype)
            print(f"{layer.name} {op} ({a}), {t} thread(s), median of {repeat} calls:")
            print(summary.call_text(call) + "\n", flush=True)
            s, th = _records(summary, call, labels)
            stage_rows += s
            thread_rows += th
            timeline += _timeline(prof.frame(), summary.calls, call, labels)
    if args.trace:
        write_chrome_trace(profiles, args.trace, calls=kept)
        print(f"trace of {len(kept)} calls: {args.trace}")
    if args.json:
        document = dict(format=PROFILE_FORMAT, machine=platform.node(), commit=_git_commit(),
                        date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                        suite=suite.__version__, blas=blas_description(), dtype=args.dtype,
                        repeat=repeat, ceilings=ceilings,
                        stages=[{k: _clean(v) for k, v in r.items()} for r in stage_rows],
                        threads=[{k: _clean(v) for k, v in r.items()} for r in thread_rows],
                        timeline=[{k: _clean(v) for k, v in r.items()} for r in timeline])
        folder = os.path.dirname(os.path.abspath(args.json))
        os.makedirs(folder, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(document, f)
        print(f"stage tables of {len(kept)} calls: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
