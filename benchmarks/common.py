"""Shared setup of the asv suite: profiles, parameter lists, data, thread control, costs.

Profiles
--------
``SUITE_BENCH_PROFILE`` (``quick`` when unset or empty; ``full``) picks the parameter lists
below when a benchmark module is imported. asv hands its own environment to discovery and to
every benchmark process (``asv run`` copies ``os.environ``), so the variable only has to be
set for the ``asv`` command: ``SUITE_BENCH_PROFILE=full asv run ...`` (``make campaign
PROFILE=full`` does that). Discovery and the runs must see the same value: asv addresses a
parameter combination by its index in the grid.

=========  ==================================  ==========================================
profile    layers, dtypes, threads             strides / scale factors
=========  ==================================  ==========================================
quick      QUICK_LAYERS, float32, 1 and max    the layer's own; upsample by mode: x2
full       every catalogue entry, float32 and  the layer's own and 1, 2, 4 where they
           float64, 1, 2, 4, ... up to         make sense (stride <= kernel, positive
           ``os.cpu_count()``                  output)
=========  ==================================  ==========================================

Timing
------
With asv-runner >= 0.3 a ``time_`` benchmark that has a ``setup`` re-runs the setup before
every timed call, and without an explicit ``number`` it times one call per sample: a 20 us
kernel would be measured with 20 us samples, at the mercy of timer resolution and scheduler
noise. So every timed benchmark here

* builds its data once per process (``cached``: the re-runs of ``setup`` are a dict lookup);
* sets ``self.number`` in ``setup`` from a calibration (two untimed calls, see
  :func:`calibrated_number`) so one sample holds about ``SAMPLE_TIME`` seconds of calls, each
  call timed on its own by asv-runner's interleaved timer with the setup re-run in between
  (asv-runner says so once per benchmark on stderr: "setup hooks re-run between the N
  individually timed calls");
* takes ``repeat = (min, max, max_time)`` samples per round, after ``warmup_time`` seconds of
  warm-up, in ``rounds`` rounds (separate processes, interleaved with the other benchmarks);
  asv stores the median of all samples.

Samples are short (a few ms) and many rather than long and few: a call slowed down by other
work on the machine (a preempted thread) then spoils one sample, which the median ignores,
instead of inflating every sample a little.

Thread counts
-------------
``threads`` is passed as ``num_threads=`` to every suite kernel (OpenMP and BLAS); peers get
the same count (``torch.set_num_threads``, ``cv2.setNumThreads``; ``threadpool_limits`` for
the GEMM ceiling's BLAS). Peers that run on one thread by nature (``np.repeat``,
``suite.reference``, its BLAS held at one thread) are measured at one thread only.

History campaigns
-----------------
In an environment asv built for a commit (``ASV_ENV_TYPE`` is ``virtualenv``), the parameter
grid must be the same at every commit, or asv's parameter indices would point at different
combinations. So there the layer catalogue and the algorithm list come from the working tree
asv was started in (``ASV_CONF_DIR``), not from the commit being measured; a combination the
commit cannot run (an algorithm it does not have yet, a fused kernel it lacks) is skipped with
asv's ``NotImplementedError`` convention. ``SUITE_BENCH_ALGORITHMS=auto,col2im,...`` pins the
algorithm list explicitly in any environment.

The timing loops, the peers' preparation, the ceilings' measurement and the environment's
description, which ``python -m suite compare`` and ``python -m suite profile`` share
(``suite/bench/timing.py``, ``peers.py``, ``ceilings.py``, ``suite/_environment.py``), reach
such an environment the same way: :func:`_tool` loads the working tree's files by path, so a
commit that predates them is measured with today's loops. None of them imports anything from
``suite`` (timing.py, loaded that way, loads the loops from ``suite/_timing.py`` of the same
tree by path).
"""

import abc
import ast
import importlib
import importlib.util
import math
import os
import sys
import zlib
from dataclasses import dataclass, replace

import numpy as np

import suite

try:  # asv's "skip this one" from inside a benchmark body (a NotImplementedError)
    from asv_runner.benchmarks.mark import SkipNotImplemented
except ImportError:  # outside asv (the tests)
    SkipNotImplemented = NotImplementedError

__all__ = [
    "PROFILE", "THREADS", "DTYPES", "ALGORITHMS", "UPSAMPLE_MODES", "COUNTERPARTS",
    "SAMPLE_TIME", "REPEAT", "ROUNDS", "WARMUP_TIME", "TIMEOUT",
    "Cost", "Case", "cost", "cached", "layer", "layer_names", "deconv_layer_names",
    "layer_counterparts", "strides_for", "scales_for", "import_peer", "calibrated_number",
    "measure_seconds", "TimeBench", "Gflops", "Gbps", "MemBench", "CostBench", "rng_for",
]

# ---------------------------------------------------------------------------------------
# profile
# ---------------------------------------------------------------------------------------

# ``algorithm="auto"`` is measured as its rule decides: the wisdom file of earlier
# ``algorithm="measure"`` calls on this machine (suite.wisdom) would make it depend on what
# ran before. ``SUITE_WISDOM=1`` for the asv command measures "auto" with the file.
os.environ.setdefault("SUITE_WISDOM", "0")

PROFILES = ("quick", "full")
PROFILE = (os.environ.get("SUITE_BENCH_PROFILE") or "quick").strip().lower()
if PROFILE not in PROFILES:
    raise ValueError(f"SUITE_BENCH_PROFILE={PROFILE!r}; expected one of {PROFILES}")
FULL = PROFILE == "full"

#: quick: one or two entries per kind of layer, each timed in well under 0.1 s per call.
QUICK_LAYERS = ("dcgan-g4", "fcn8s-up2", "fcn8s-up8", "fpn-p4", "yolov3-up")

#: Thread counts: 1, 2, 4, ... up to the machine, and the machine's count itself.
_CPUS = os.cpu_count() or 1
_ALL_THREADS = sorted({2 ** i for i in range(_CPUS.bit_length()) if 2 ** i <= _CPUS} | {_CPUS})
THREADS = _ALL_THREADS if FULL else sorted({1, _CPUS})

DTYPES = ["float32", "float64"] if FULL else ["float32"]

#: The upsample modes of suite.upsample (PyTorch's names); a fixed list so the grid is the
#: same at every commit.
UPSAMPLE_MODES = ["nearest", "nearest-exact", "bilinear"] if FULL else ["nearest", "bilinear"]

#: Every upsample counterpart a layer may have (suite.bench.catalogue.COUNTERPARTS).
COUNTERPARTS = ["nearest", "bilinear", "nearest+conv3x3", "bilinear+conv3x3", "nearest+add"]

#: Extra strides / scale factors tried besides the layer's own (full profile).
EXTRA_FACTORS = (1, 2, 4)

# Timing settings (see the module docstring); the full profile takes more and longer samples.
SAMPLE_TIME = 0.005 if FULL else 0.002   # seconds of calls in one sample
REPEAT = (10, 300, 1.0) if FULL else (7, 100, 0.3)  # (min samples, max samples, max seconds)
ROUNDS = 3 if FULL else 2
WARMUP_TIME = 0.1 if FULL else 0.03
TIMEOUT = 900 if FULL else 180
#: Seconds one achieved-GFLOP/s or -GB/s figure (``track_``) may spend timing its kernel.
TRACK_TIME = 0.5 if FULL else 0.1

# ---------------------------------------------------------------------------------------
# sources: the catalogue and the algorithm list (see "History campaigns")
# ---------------------------------------------------------------------------------------

def _history_env():
    """The working tree asv runs from, when this is an environment asv built for a commit."""
    conf_dir = os.environ.get("ASV_CONF_DIR")
    if os.environ.get("ASV_ENV_TYPE", "existing") != "existing" and conf_dir:
        return conf_dir
    return None


def _tool(name, package="suite.bench"):
    """``<package>.<name>``: the catalogue, the timing loops, the peers, the sweep, the
    ceilings (in ``suite.bench``) or the environment's description (``suite._environment``).
    In a history campaign, the working tree's file (loaded by path, beside the commit under
    test's build, which may not have it yet): catalogue.py and sweep.py import only numpy and
    suite's public functions that every commit has; timing.py, peers.py, ceilings.py and
    _environment.py import nothing from suite."""
    tree = _history_env()
    path = tree and os.path.join(tree, *package.split("."), f"{name}.py")
    if path and os.path.isfile(path):
        spec = importlib.util.spec_from_file_location(f"_suite_tree_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(f"{package}.{name}")


def _parse(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read())


def _tree_algorithms(tree):
    """``suite.DECONV_ALGORITHMS`` of the working tree, read from its source (the module
    suite/__init__.py imports it from); None if not found."""
    package = os.path.join(tree, "suite")
    try:
        init = _parse(os.path.join(package, "__init__.py"))
        source = next(node.module for node in ast.walk(init)
                      if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
                      and any(a.name == "DECONV_ALGORITHMS" for a in node.names))
        module = _parse(os.path.join(package, *source.split(".")) + ".py")
    except (OSError, SyntaxError, StopIteration):
        return None
    for node in module.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "DECONV_ALGORITHMS"):
            return [str(v) for v in ast.literal_eval(node.value)]
    return None


def _algorithms():
    pinned = os.environ.get("SUITE_BENCH_ALGORITHMS")
    if pinned:
        return [a.strip() for a in pinned.split(",") if a.strip()]
    tree = _history_env()
    found = _tree_algorithms(tree) if tree else None
    return list(found if found is not None else suite.DECONV_ALGORITHMS)


catalogue = _tool("catalogue")
timing = _tool("timing")
peers = _tool("peers")
environment = _tool("_environment", package="suite")
ceilings = _tool("ceilings")

#: ``algorithm=`` values of suite.deconv2d, as the installed build (or the working tree, in a
#: history campaign) lists them: new algorithms join the campaign without an edit here.
ALGORITHMS = _algorithms()


def layer(name):
    """The catalogue entry ``name`` (tests replace this to shrink the shapes)."""
    return catalogue.get_layer(name)


def _selected(layers):
    return [l.name for l in layers if FULL or l.name in QUICK_LAYERS]


def layer_names():
    """Every selected catalogue entry, in the catalogue's order."""
    return _selected(catalogue.LAYERS)


def deconv_layer_names():
    """The selected entries with a transposed convolution."""
    return _selected(catalogue.DECONV_LAYERS)


def layer_counterparts(entry):
    """The counterparts ``entry`` is measured as.

    quick: the ones the catalogue names. full: every kind whose output has the layer's output
    shape (nearest / bilinear / nearest+add where C_in == C_out, "+conv3x3" always).
    """
    if not FULL:
        return tuple(entry.counterparts)
    return tuple(kind for kind in COUNTERPARTS
                 if kind in entry.counterparts
                 or entry.counterpart_output_shape(kind) == entry.output_shape)


def strides_for(entry):
    """Strides tried for a deconvolution layer: its own, and (full) 1, 2, 4 up to its kernel."""
    extra = [s for s in EXTRA_FACTORS if s <= entry.kernel] if FULL else []
    return sorted({entry.stride, *extra})


def scales_for(entry):
    """Scale factors ``bench_upsample`` tries on a layer's input: full, its own and 1, 2, 4;
    quick, 2 for every layer (``bench_counterparts`` has each layer's own)."""
    return sorted({entry.scale_factor, *EXTRA_FACTORS}) if FULL else [2]


def all_scales():
    return sorted({s for n in layer_names() for s in scales_for(layer(n))})


def restride(entry, stride):
    """``entry`` with another stride (output padding kept below it); NotImplementedError if
    the profile does not try that stride for this layer or the output would be empty."""
    if stride not in strides_for(entry):
        raise NotImplementedError(f"{entry.name}: stride {stride} is not tried "
                                  f"(strides {strides_for(entry)})")
    if stride == entry.stride:
        return entry
    changed = replace(entry, stride=stride, output_padding=min(entry.output_padding, stride - 1))
    if min(changed.output_shape[2:]) < 1:
        raise NotImplementedError(f"{entry.name}: stride {stride} gives an empty output")
    return changed


def rng_for(*key):
    """A generator seeded from ``key`` (deterministic data, its own stream per case)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def require(name):
    """``getattr(suite, name)``, or NotImplementedError when this build does not have it."""
    fn = getattr(suite, name, None)
    if fn is None:
        raise NotImplementedError(f"suite.{name} is not in this build")
    return fn


# ---------------------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------------------

def import_peer(name):
    """The peer module (torch or cv2), or NotImplementedError (asv's skip) when absent."""
    return peers.import_peer(name)


# ---------------------------------------------------------------------------------------
# cost model: one helper for FLOPs, bytes, parameters and workspace
# ---------------------------------------------------------------------------------------

try:
    from suite import cost as _suite_cost
except ImportError:  # a commit before suite.cost: the fallback formulas below
    _suite_cost = None


@dataclass(frozen=True)
class Cost:
    """What one call costs: useful FLOPs (2 per multiply-add of the definition, 1 per other
    addition: bias, skip, scatter), minimum bytes moved (every input, weight and output
    once), parameters (weights + bias) and the workspace bytes of the algorithm measured."""

    flops: float = 0.0
    bytes: float = 0.0
    parameters: int = 0
    workspace: float = 0.0


#: The cost model's name for the evaluation suite's kernel uses, where it prices several
#: (bilinear upsampling: two rows interpolated along W, then blended along H).
KERNEL_ALGORITHMS = {"upsample": "nested"}


def cost(op, dtype, algorithm=None, **arguments):
    """The cost of one call of ``suite.<op>`` with ``arguments`` (shapes and geometry, named
    as in ``suite.cost.<op>_cost``), for ``dtype``.

    ``suite.cost`` is the cost model: its ``useful_flops``, ``min_bytes``, ``parameters`` and
    ``workspace_bytes[algorithm]`` (the only algorithm when the operation has one; "auto"
    resolved with ``suite.conv.choose_algorithm``). Builds without ``suite.cost`` (history
    campaigns over older commits) get :func:`_fallback_cost`, the same conventions in
    closed form. (The machine ceilings' FLOPs and bytes are ``suite.bench.ceilings``'.)
    """
    itemsize = np.dtype(dtype).itemsize
    if algorithm == "auto":
        algorithm = _auto_algorithm(**arguments)
    if _suite_cost is None:
        return _fallback_cost(op, itemsize, algorithm, **arguments)
    c = getattr(_suite_cost, f"{op}_cost")(**arguments, itemsize=itemsize)
    workspace = c.workspace_bytes
    algorithm = algorithm or KERNEL_ALGORITHMS.get(op)
    key = algorithm if algorithm in workspace else (
        next(iter(workspace)) if len(workspace) == 1 else None)
    return Cost(c.useful_flops, c.min_bytes, c.parameters,
                workspace[key] if key is not None else math.nan)


def align_corners(mode):
    """The benchmarks' bilinear is align_corners=False (PyTorch's default); None otherwise."""
    return False if mode == "bilinear" else None


def _auto_algorithm(input_shape, weight_shape, stride=1, dilation=1, groups=1, **_):
    choose = getattr(getattr(suite, "conv", None), "choose_algorithm", None)
    try:
        return choose(input_shape, weight_shape, stride, dilation, groups)
    except Exception:  # a build without the rule (or with another signature)
        return "col2im"


def _fallback_cost(op, itemsize, algorithm, input_shape=None, weight_shape=None, stride=1,
                   padding=0, output_padding=0, dilation=1, groups=1, bias=True, mode=None,
                   scale_factor=None, skip_shape=None, cols_shape=None, output_size=None,
                   kernel_size=None, align_corners=None):
    """suite.cost's conventions for builds that predate it (col2im's scatter counted as one
    addition per column value, the model's count of those landing in the image aside)."""
    n_ = math.prod
    if op in ("deconv2d", "deconv2d_backward"):
        out = suite.deconv2d_output_shape(input_shape, weight_shape, stride, padding,
                                          output_padding, dilation, groups)
        n, c_in, h, w = input_shape
        _, cog, kh, kw = weight_shape
        params = n_(weight_shape) + (out[1] if bias else 0)
        adds = n_(out) if bias else 0
        columns = cog * kh * kw * h * w * itemsize
        if op == "deconv2d":
            flops = 2 * n * c_in * cog * kh * kw * h * w + adds
            moved = n_(input_shape) + params + n_(out)
            workspace = {"col2im": columns, "phase": 0, "direct": 0,
                         "winograd": 9 * c_in * cog * itemsize}.get(algorithm, math.nan)
        else:
            flops = 4 * n * c_in * cog * kh * kw * h * w + adds
            moved = n_(out) + 2 * n_(input_shape) + params + n_(weight_shape)
            workspace = columns
        return Cost(flops, moved * itemsize, params, workspace)
    if op == "conv2d":
        out = suite.conv2d_output_shape(input_shape, weight_shape, stride, padding, dilation)
        c_out, cig, kh, kw = weight_shape
        params = n_(weight_shape) + (c_out if bias else 0)
        flops = 2 * n_(out) * cig * kh * kw + (n_(out) if bias else 0)
        return Cost(flops, (n_(input_shape) + params + n_(out)) * itemsize, params,
                    cig * kh * kw * out[2] * out[3] * itemsize)
    if op == "im2col":
        n, c, h, w = input_shape
        k = kernel_size
        cols = n * c * k * k * n_(suite.conv2d_output_shape(input_shape, (1, c, k, k),
                                                            stride, padding, dilation)[2:])
        return Cost(0, (n_(input_shape) + cols) * itemsize, 0, 0)
    if op == "col2im":
        n, rows, _ = cols_shape
        image = n * rows // kernel_size ** 2 * n_(output_size)
        return Cost(n_(cols_shape), (n_(cols_shape) + image) * itemsize, 0, 0)
    n, c, h, w = input_shape
    if op in ("upsample", "upsample_backward"):
        (ho, wo), _ = suite.upsample_output_size((h, w), scale_factor=scale_factor)
        values = n * c * ho * wo
        flops = 8 * values if mode == "bilinear" else (values if op.endswith("backward") else 0)
        return Cost(flops, (n * c * h * w + values) * itemsize, 0, 0)
    if op == "upsample_add":
        values = n_(skip_shape)
        flops = values + (8 * values if mode == "bilinear" else 0)
        return Cost(flops, (n * c * h * w + 2 * values) * itemsize, 0,
                    values * itemsize if algorithm == "unfused" else 0)
    if op == "upsample_conv2d":
        (hu, wu), _ = suite.upsample_output_size((h, w), scale_factor=scale_factor)
        conv = _fallback_cost("conv2d", itemsize, None, (n, c, hu, wu), weight_shape,
                              stride, padding, dilation=dilation, groups=groups, bias=bias)
        interp = 8 * n * c * hu * wu if mode == "bilinear" else 0
        out_values = conv.bytes // itemsize - n * c * hu * wu - conv.parameters
        moved = (n * c * h * w + conv.parameters + out_values) * itemsize
        workspace = n * c * hu * wu * itemsize + conv.workspace
        return Cost(conv.flops + interp, moved, conv.parameters,
                    workspace if algorithm == "unfused" else math.nan)
    raise ValueError(f"no cost model for {op!r}")


# ---------------------------------------------------------------------------------------
# cases, caching, timing
# ---------------------------------------------------------------------------------------

class Case:
    """One benchmark configuration: its cost (from shapes) and, built on first use, the
    callable that runs the kernel once (``prepare()`` allocates the data)."""

    def __init__(self, cost, prepare):
        self.cost = cost
        self._prepare = prepare
        self._run = None
        self.number = None

    def prepare(self):
        """Allocate the data (once); return the callable."""
        if self._run is None:
            self._run = self._prepare()
        return self._run

    @property
    def run(self):
        return self.prepare()


_CACHE = {}


def cached(key, build):
    """``build()`` once per key; only the latest key is kept (one asv process runs one
    parameter combination, so this is all the re-runs of ``setup`` need)."""
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = build()
    return _CACHE[key]


def clear_cache():
    _CACHE.clear()


def calibrated_number(case):
    """Calls per sample so that one sample takes about SAMPLE_TIME (one untimed call first:
    it pays for page faults, thread start-up and plan caches; then timing.calibrate)."""
    if case.number is None:
        run = case.run
        run()
        case.number = timing.calibrate(run, SAMPLE_TIME, max_number=10_000)
    return case.number


def measure_seconds(run, budget=None):
    """Median seconds per call of ``run`` over about ``budget`` seconds (TRACK_TIME)."""
    return timing.median_seconds(run, TRACK_TIME if budget is None else budget)


class _Bench(abc.ABC):
    """Base of every benchmark class: ``params`` / ``param_names`` and
    ``build(**params) -> Case`` come from the subclass; ``setup`` fetches the case.

    Abstract until ``build`` is defined, so asv does not take the bases here for
    benchmarks."""

    timeout = TIMEOUT

    def setup(self, *params):
        key = (type(self).__module__, type(self).__qualname__, params)
        self.case = cached(key, lambda: self.build(**dict(zip(self.param_names, params))))

    @abc.abstractmethod
    def build(self, **params):
        """The Case of these parameters; NotImplementedError to skip them."""


class TimeBench(_Bench):
    """``time_`` benchmarks of a kernel (timing settings of the profile, calibrated
    ``number``)."""

    rounds = ROUNDS
    repeat = REPEAT
    warmup_time = WARMUP_TIME
    number = 1

    def setup(self, *params):
        super().setup(*params)
        self.number = calibrated_number(self.case)


class Gflops(_Bench):
    """Mixin: achieved GFLOP/s of a compute-bound kernel, from the median time of TRACK_TIME
    seconds of calls and the cost model's useful FLOPs (skipped for a kernel that does no
    arithmetic)."""

    def track_gflops(self, *params):
        if not self.case.cost.flops:
            raise SkipNotImplemented("this kernel does no arithmetic: see track_gbps")
        return self.case.cost.flops / measure_seconds(self.case.run) / 1e9

    track_gflops.unit = "GFLOP/s"


class Gbps(_Bench):
    """Mixin: achieved GB/s of a memory-bound kernel: the cost model's minimum bytes moved
    (inputs, weights, output once) over the median time of TRACK_TIME seconds of calls."""

    def track_gbps(self, *params):
        return self.case.cost.bytes / measure_seconds(self.case.run) / 1e9

    track_gbps.unit = "GB/s"


class MemBench(_Bench):
    """``peakmem_`` benchmarks: the subclass adds ``peakmem_<kernel>``; ``peakmem_baseline``
    is the same setup with an empty body. asv's peakmem is the process's maximum RSS
    (interpreter, imports and data included): the kernel's own peak is
    ``peakmem_<kernel> - peakmem_baseline`` of the same parameters."""

    def setup(self, *params):
        super().setup(*params)
        self.case.prepare()      # the inputs belong to the baseline

    def peakmem_baseline(self, *params):
        """Empty body: subtract from the class's other peakmem_ figure."""


class CostBench(_Bench):
    """Deterministic ``track_`` figures of the cost model (no threads, no timing)."""

    def track_flops(self, *params):
        return self.case.cost.flops

    track_flops.unit = "FLOP"

    def track_bytes(self, *params):
        return self.case.cost.bytes

    track_bytes.unit = "bytes"

    def track_parameters(self, *params):
        return self.case.cost.parameters

    track_parameters.unit = "parameters"

    def track_workspace_bytes(self, *params):
        if math.isnan(self.case.cost.workspace):
            raise SkipNotImplemented("the cost model has no workspace for this algorithm")
        return self.case.cost.workspace

    track_workspace_bytes.unit = "bytes"
