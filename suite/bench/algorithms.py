"""``python -m suite algorithms``: every deconvolution algorithm timed on layers drawn at
random, beside the one ``algorithm="auto"`` runs: how far the rule is from the best.

The layers are the sweep's transposed convolutions (:mod:`suite.bench.sweep`: the same for
the same seed on every machine), optionally only those with at most ``--max-channels``
channels per group; each algorithm that applies (``DeconvPlan.candidates``) is timed
round-robin with the others. Per layer: each algorithm's median, the rule's choice, the
fastest, and the rule's time over the fastest's; at the end their geometric mean and the
worst. The recorded wisdom is not consulted: this measures the rule (``_plan.
choose_algorithm``), which is what a layer runs before anything is measured.

This is how a threshold of the rule is checked on layers it was not fitted to: fit on one
seed, check on another.
"""

import argparse
import sys

import numpy as np

from suite.bench import sweep
from suite.bench.timing import geomean, round_robin_medians

SAMPLE_BUDGET = 0.3


def layers(count, seed, max_channels=None):
    """``count`` of the sweep's deconvolutions for ``seed`` (those with at most
    ``max_channels`` input and output channels per group, if given), in draw order."""
    found, drawn = [], 0
    while len(found) < count:
        drawn = max(4 * drawn, 64)
        found = [c for c in sweep.draw(drawn, seed) if c.kind == "deconv" and (
            max_channels is None or (c.in_channels // c.groups <= max_channels
                                     and c.out_channels // c.groups <= max_channels))]
        if drawn > 10**5:
            break
    return found[:count]


def time_layer(config, threads, budget=SAMPLE_BUDGET):
    """(the rule's algorithm, {algorithm: median seconds}) of one sweep configuration."""
    import suite
    from suite.conv import DeconvPlan, deconv_geometry

    x, weight, bias = config.make_inputs(np.float32, seed=0)
    kwargs = config.deconv_kwargs
    geometry = deconv_geometry(kwargs["stride"], kwargs["padding"], kwargs["output_padding"],
                               kwargs["dilation"], kwargs["groups"])
    candidates = DeconvPlan.candidates(x.shape, weight.shape, geometry, n_threads=threads)
    rule = candidates[0]    # the rule's choice at this thread count
    calls = {}
    for algorithm in candidates:
        def call(algorithm=algorithm):
            suite.deconv2d(x, weight, bias, **kwargs, algorithm=algorithm,
                           num_threads=threads)
        call()
        calls[algorithm] = call
    return rule, round_robin_medians(calls, budget * len(calls))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m suite algorithms",
        description="Time every deconvolution algorithm on the sweep's layers and compare "
                    "the one algorithm='auto' runs with the fastest.")
    parser.add_argument("--sweep", type=int, default=30, help="layers (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="the sweep's seed (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (default 1)")
    parser.add_argument("--max-channels", type=int, default=None,
                        help="only layers with at most this many channels per group")
    parser.add_argument("--budget", type=float, default=SAMPLE_BUDGET,
                        help="seconds of samples per algorithm and layer (default 0.3)")
    args = parser.parse_args(argv)
    if args.sweep < 1 or args.threads < 1 or args.budget <= 0:
        parser.error("--sweep and --threads must be >= 1 and --budget > 0")
    configs = layers(args.sweep, args.seed, args.max_channels)
    print(f"{len(configs)} transposed convolutions of the sweep (seed {args.seed}), "
          f"{args.threads} thread(s), float32: median ms per algorithm", flush=True)
    ratios, wins = [], {}
    for i, config in enumerate(configs, 1):
        rule, medians = time_layer(config, args.threads, args.budget)
        best = min(medians, key=medians.get)
        ratio = medians[rule] / medians[best]
        ratios.append(ratio)
        wins[best] = wins.get(best, 0) + 1
        times = "  ".join(f"{a} {1e3 * t:.3f}" for a, t in medians.items())
        print(f"[{i}/{len(configs)}] {config.name}: {times}; auto={rule} best={best} "
              f"auto/best {ratio:.2f}", flush=True)
    print(f"\nauto over the fastest: geometric mean {geomean(ratios):.2f}, worst "
          f"{max(ratios):.2f}, {sum(r > 1.1 for r in ratios)} of {len(ratios)} layers more "
          f"than 10% slower; fastest: "
          + ", ".join(f"{a} {n}" for a, n in sorted(wins.items(), key=lambda kv: -kv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
