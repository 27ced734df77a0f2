"""Time the same catalogue calls with two builds of suite, alternating:
``python -m suite.bench.compare_builds BASE NEW [--cases ...] [--rounds 10] [--budget 0.2]``.

BASE and NEW are source trees with their extensions built in place (``setup.py build_ext
--inplace``), e.g. a ``git archive`` of the commit before a change and the working tree.
Each tree gets one worker process that imports suite from it and, per request, calls one
case for ``--budget`` seconds (after three untimed calls the first time) and answers the
median seconds per call. Rounds alternate the order (base then new, new then base, ...) so
drift on a shared machine hits both; per case the table gives each build's median over
rounds and the median and quartiles of the per-round ratios new / base.

A case is ``layer:op:threads`` with the layer from the catalogue and op ``deconv`` (the
layer's ``suite.deconv2d``, ``algorithm="auto"``) or a counterpart (``nearest``,
``bilinear``: ``suite.upsample``; ``nearest+conv3x3``, ``bilinear+conv3x3``: the fused
``suite.upsample_conv2d``; ``nearest+add``: ``suite.upsample_add``). ``--sweep N --seed S
--threads T`` adds the first N configurations that ``suite.bench.sweep.draw(N, S)`` draws,
as cases ``sweep:S:i:T`` (layers the catalogue never named; each its ``suite_call``).
``--base-env NAME=VALUE`` and ``--new-env NAME=VALUE`` set a variable in one worker only: BASE
and NEW may then be the same tree, under two settings (``SUITE_PLANNING_WIDTH``, a BLAS
variable).
"""

import argparse
import os
import statistics
import subprocess
import sys

__all__ = ["main", "DEFAULT_CASES"]

#: Small and large calls of every kernel family, one thread.
DEFAULT_CASES = ("yolov3-up:nearest:1", "yolov3-up2:nearest:1", "fpn-p4:nearest+add:1",
                 "fcn8s-up2:bilinear:1", "fcn8s-up2:deconv:1", "dcgan-out:deconv:1",
                 "dcgan-g4:deconv:1", "fcn8s-up8:deconv:1", "fsrcnn-x3:deconv:1",
                 "stylegan-up:nearest+conv3x3:1", "erfnet-up:bilinear+conv3x3:1",
                 "unet-up1:deconv:1")

# The worker: imports suite from the tree in argv[1]; reads "case budget" lines, answers
# "median_seconds calls".
WORKER = r'''
import statistics, sys, time
sys.path.insert(0, sys.argv[1])
import suite
from suite.bench.catalogue import get_layer
if not suite.__file__.startswith(sys.argv[1]):
    raise SystemExit(f"suite imported from {suite.__file__}, not from {sys.argv[1]}")

def make(case):
    if case.startswith("sweep:"):
        from suite.bench.sweep import draw
        _, seed, index, threads = case.split(":")
        config = draw(int(index) + 1, int(seed))[int(index)]
        return config.suite_call(*config.make_inputs(), num_threads=int(threads))
    name, op, threads = case.split(":")
    layer, threads = get_layer(name), int(threads)
    if op == "deconv":
        x, w, b = layer.make_inputs()
        return lambda: suite.deconv2d(x, w, b, **layer.deconv_kwargs, num_threads=threads)
    data, mode = layer.make_counterpart_inputs(), op.split("+")[0]
    x, s = data["x"], layer.scale_factor
    if op.endswith("+conv3x3"):
        return lambda: suite.upsample_conv2d(x, data["conv_weight"], data["conv_bias"],
                                             scale_factor=s, mode=mode, padding=1,
                                             num_threads=threads)
    if op.endswith("+add"):
        return lambda: suite.upsample_add(x, data["skip"], mode=mode, num_threads=threads)
    return lambda: suite.upsample(x, scale_factor=s, mode=mode, num_threads=threads)

calls = {}
for line in sys.stdin:
    case, budget = line.split()
    if case not in calls:
        calls[case] = make(case)
        for _ in range(3):
            calls[case]()
    run, times = calls[case], []
    end = time.perf_counter() + float(budget)
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    print(statistics.median(times), len(times), flush=True)
'''


class Worker:
    """One tree's worker process."""

    def __init__(self, tree, settings=()):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(settings)
        self.process = subprocess.Popen([sys.executable, "-c", WORKER, os.path.abspath(tree)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env)

    def seconds(self, case, budget):
        try:
            self.process.stdin.write(f"{case} {budget}\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        except BrokenPipeError:     # it stopped before reading (its error is on stderr)
            answer = ""
        if not answer:
            raise RuntimeError(f"the worker stopped on {case} (exit {self.process.wait()})")
        return float(answer.split()[0])

    def close(self):
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait()


def _quartiles(values):
    values = sorted(values)
    return values[len(values) // 4], values[(3 * len(values)) // 4]


def _settings(parser, option, assignments):
    """NAME=VALUE strings as pairs; anything else stops with the option and the string."""
    pairs = []
    for text in assignments:
        name, sep, value = text.partition("=")
        if not sep or not name:
            parser.error(f"{option} {text!r}: expected NAME=VALUE")
        pairs.append((name, value))
    return pairs


def _sweep_names(cases):
    """The layer each ``sweep:S:i:T`` case stands for, by case (from --sweep or --cases):
    each seed's configurations drawn once, as many as its highest index needs."""
    from suite.bench.sweep import draw
    wanted = {}
    for case in cases:
        if case.startswith("sweep:"):
            _, seed, index, _ = case.split(":")
            wanted.setdefault(int(seed), []).append((case, int(index)))
    names = {}
    for seed, indexed in wanted.items():
        drawn = draw(max(i for _, i in indexed) + 1, seed)
        names.update((case, drawn[i].name) for case, i in indexed)
    return names


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m suite.bench.compare_builds",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("base", help="source tree of the base build")
    p.add_argument("new", help="source tree of the new build")
    p.add_argument("--cases", default=",".join(DEFAULT_CASES),
                   help="comma-separated layer:op:threads (default: %(default)s)")
    p.add_argument("--sweep", type=int, default=0, metavar="N",
                   help="also N configurations drawn at random (suite.bench.sweep)")
    p.add_argument("--seed", type=int, default=1, help="the sweep's seed")
    p.add_argument("--threads", default="1",
                   help="comma-separated thread counts of the sweep's cases")
    p.add_argument("--base-env", action="append", default=[], metavar="NAME=VALUE",
                   help="an environment variable of the base worker only (repeatable)")
    p.add_argument("--new-env", action="append", default=[], metavar="NAME=VALUE",
                   help="an environment variable of the new worker only (repeatable): one"
                        " tree under two settings, e.g. SUITE_PLANNING_WIDTH")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--budget", type=float, default=0.2, help="seconds per case and round")
    args = p.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    cases += [f"sweep:{args.seed}:{i}:{t}" for i in range(args.sweep)
              for t in args.threads.split(",")]
    base = Worker(args.base, _settings(p, "--base-env", args.base_env))
    new = Worker(args.new, _settings(p, "--new-env", args.new_env))
    times = {c: ([], []) for c in cases}
    try:
        for r in range(args.rounds):
            for case in cases:
                order = ((0, base), (1, new)) if r % 2 == 0 else ((1, new), (0, base))
                for side, worker in order:
                    times[case][side].append(worker.seconds(case, args.budget))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    finally:
        base.close()
        new.close()
    print(f"{'case':32} {'base':>11} {'new':>11} {'new/base':>9}  quartiles")
    names = _sweep_names(cases)
    medians = []
    for case in cases:
        a, b = times[case]
        ratios = [y / x for x, y in zip(a, b)]
        medians.append(statistics.median(ratios))
        q1, q3 = _quartiles(ratios)
        print(f"{case:32} {statistics.median(a) * 1e3:8.3f} ms {statistics.median(b) * 1e3:8.3f}"
              f" ms {medians[-1]:9.3f}  {q1:.3f}-{q3:.3f}"
              + (f"  {names[case]}" if case in names else ""))
    print(f"geometric mean of the cases' new/base: {statistics.geometric_mean(medians):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
