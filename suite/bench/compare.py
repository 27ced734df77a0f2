"""A short peer comparison: ``python -m suite compare [--quick] [--sweep N --seed S]``.

Two sources of cases go through the same timing loop and the same peers: the catalogue's
layers (the sections below) and, with ``--sweep N``, N configurations drawn at random
(``suite.bench.sweep``: layers the suite was never tuned on). Above the figures it prints
the environment they were measured in (``suite._environment``: CPU and vector extensions,
the BLAS kernel family, any variable that pins it, with what the pin costs).

What it times (NCHW, ``--dtype``, every thread count of ``--threads``):

* **deconv**: for every catalogue layer with a transposed convolution, ``suite.deconv2d``
  (``algorithm="auto"`` and ``"col2im"``, allocating its output) against
  ``torch.nn.functional.conv_transpose2d`` on its default path (oneDNN for float32 where
  torch picks it) and on its im2col path (``torch.backends.mkldnn.flags(enabled=False)``).
* **onnxruntime**, **openvino** (every deconv, nearest, bilinear, fused and sweep case): the
  layer as an ONNX graph built with ``onnx.helper``: one ``ConvTranspose`` node; one
  ``Resize`` with the attributes that equal PyTorch's nearest and bilinear (``asymmetric`` /
  ``floor``; ``linear`` / ``pytorch_half_pixel``); ``Resize`` then ``Conv`` for upsample +
  convolution, one graph so the engine may fuse them. Weights are initializers; the session
  (ONNX Runtime: CPU provider, ``intra_op_num_threads`` = the thread count) or compiled
  model (OpenVINO: CPU plugin, ``INFERENCE_NUM_THREADS`` = the thread count, precision
  forced to f32, latency hint with one stream, no core pinning) is built untimed
  (``suite.bench.peers``). Timed: ONNX Runtime's ``session.run`` (which allocates its
  output); OpenVINO's ``request.infer()`` on an infer request whose input and output tensors
  were set once (its output written into an array allocated beforehand, as ``out=``).
  float32 only (``--dtype float64`` reports them as unsupported). A one-layer graph includes
  what the engine does around the node: OpenVINO runs some nodes channels-last and times the
  reorders from and back to NCHW with them (a whole network pays those only at its ends).
* **nearest x2**: ``suite.upsample`` into a preallocated ``out=`` (the reference) and
  allocating, ``np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)`` (one thread by nature),
  ``torch.nn.functional.interpolate`` and ``cv2.resize(INTER_NEAREST)``.
* **bilinear x2** (``align_corners=False``): ``suite.upsample`` (``out=``), torch, and
  ``cv2.resize(INTER_LINEAR)``.
* **fused**: each catalogue layer's "upsample + 3x3 convolution" counterpart (nearest or
  bilinear, the layer's scale, padding 1): ``suite.upsample_conv2d`` against
  ``suite.conv2d(suite.upsample(...))``, ``F.conv2d(F.interpolate(...))`` and the engines'
  two-node graphs.

* **memory**: the peak memory of one call of each fused case (``suite-fused``,
  ``suite-unfused``, ``torch``), each in a fresh process at the largest thread count: the
  growth of the process's peak resident set during the call over its resident set just
  before (Linux: the peak is reset first), after the same call on a small input has loaded
  and warmed up the libraries. Next to it the output and the upsampled intermediate map the
  fused kernel avoids.

* **sweep** (``--sweep N --seed S``; alone unless ``--sections`` names catalogue sections
  too): each drawn configuration with suite's function for it (``deconv2d`` with
  ``algorithm="auto"``, ``upsample`` or ``upsample_conv2d``, allocating its output) against
  every installed peer that runs it (PyTorch, ONNX Runtime and OpenVINO; OpenCV for
  upsampling), without the variants (suite's col2im and unfused
  paths, PyTorch's im2col path, NumPy). Its summary gives, per peer and thread count, the
  geometric mean of peer time / suite time over the configurations with checked outputs
  (and by kind of layer), the worst ratio, how many configurations suite loses, and the
  three worst configurations by name. The same seed draws the same configurations
  everywhere, so two machines or two versions compare on the same layers.

After the tables, the thread scaling of suite's kernel (speed-up over one thread) on every
case of at least 10 MFLOP.

OpenCV works on channels-last images: its input is prepared once, untimed, as contiguous
(H, W, C) arrays, one per image (and per block of at most CV_CN_MAX channels: 512 in OpenCV 4,
128 in OpenCV 5), which it resizes one by one into preallocated outputs. So the cv2 column
times the resize of images already in OpenCV's preferred layout, not an NCHW layer (a real
NCHW pipeline would add two transposes).

Upsample shapes: ``yolov3-up`` 1x256x13x13, ``fpn-p4`` 2x256x32x32 (the upsample alone,
without its add) and ``map-64x256`` 1x64x256x256 (a large map that lives in memory).

Timing: every contestant of a case is warmed up (its output also checked against suite's),
then gets an inner loop long enough for each sample to take ``--min-time``; the samples are
taken round-robin (suite, peer, peer, ..., suite, peer, ...; the order rotates each repeat)
so machine noise hits all of them (after an ONNX Runtime sample the next waits 0.1 s: that
engine's idle threads spin on, holding a core, for tens of milliseconds after its call;
``peers.ENGINE_SETTLE_SECONDS``), and the median of ``--repeats`` samples is reported with
``ratio = peer time / suite time`` (> 1: suite is faster) and geometric means of the ratios.
The machine's copy bandwidth (``np.copyto`` of a 256 MiB float32 array, one thread; bytes read
+ written per second; also torch's ``copy_`` at each thread count when torch is installed) is
measured at the start, and nearest x2 is reported in GB/s (input read + output written) and
as a % of ``np.copyto``'s. The ``np-copyto`` column of the nearest table is a copy of as many
bytes as the case moves, sampled in the same round-robin as the kernels: for the large map
(which lives in memory) its ratio is the share of the machine's copy bandwidth measured in
the same run; for maps that fit in cache it compares with a copy at cache speed.

Thread counts: ``torch.set_num_threads(t)``, ``cv2.setNumThreads(t)``, ``num_threads=t`` for
suite, the engines' thread count set when their graph is built. A peer that is not installed
is reported as such; one that fails on a case is reported as an error; neither stops the run.
"""

import argparse
import contextlib
import math
import os
import platform
import re
import statistics
import sys
import time
import warnings
import zlib

import numpy as np

from suite import _environment, cost

from . import costs, peers, timing
from .compare_tables import (align_columns, format_scaling, format_section, format_sweep,
                             ms_text, write_csv)
from .catalogue import DECONV_LAYERS, LAYERS, get_layer

__all__ = ["main"]

#: Upsample cases: (name, input shape). The catalogue entries plus one large map.
UPSAMPLE_CASES = (
    ("yolov3-up", get_layer("yolov3-up").input_shape),
    ("fpn-p4", get_layer("fpn-p4").input_shape),
    ("map-64x256", (1, 64, 256, 256)),
)

#: ``--quick``: deconvolution layers kept (one or two per network, the cheap ones).
QUICK_DECONV = ("dcgan-g2", "dcgan-out", "fcn8s-up2", "fcn8s-up8", "unet-up1", "erfnet-up",
                "fsrcnn-x3", "stylegan-up")

SECTIONS = ("deconv", "nearest", "bilinear", "fused", "memory")

#: The peers, by the name ``suite.bench.peers.import_peer`` knows them by.
PEERS = ("torch", "cv2", *peers.ENGINES)

#: The contestants of the memory section (each measured in its own process).
MEMORY_CONTESTANTS = ("suite-fused", "suite-unfused", "torch")

DEFAULT_REPEATS = 11
QUICK_REPEATS = 7


# ---------------------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------------------

def _import_peer(name):
    """(module, None) or (None, "not installed ...")."""
    try:
        return peers.import_peer(name), None
    except peers.PeerUnavailable as exc:
        return None, exc.reason


# ---------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------

class Contestant:
    """One implementation of a case: ``fn()`` returns the result as an NCHW-comparable array.

    ``context`` (a callable returning a context manager) is entered around each timed inner
    loop, not around each call; ``status`` is set instead of ``fn`` when it cannot run.
    ``checked=False``: a yardstick that computes something else (the copy of as many bytes),
    timed but not compared. ``settle``: seconds to wait after each of its samples before the
    next contestant's (an engine whose threads spin on after its call:
    ``peers.ENGINE_SETTLE_SECONDS``).
    """

    def __init__(self, name, fn=None, context=None, status=None, to_nchw=None, checked=True,
                 settle=0.0):
        self.name = name
        self.settle = settle
        self.checked = checked
        self.fn = fn
        self.context = context
        self.status = status
        self.to_nchw = to_nchw
        self.samples = []
        self.number = 0
        self.check = ""

    @property
    def ok(self):
        return self.status is None

    @property
    def median(self):
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def best(self):
        return min(self.samples) if self.samples else math.nan


def _error_status(exc):
    """A contestant's status when it fails on a case: the error's type and first line."""
    lines = str(exc).splitlines() or [""]
    return f"error: {type(exc).__name__}: {lines[0][:60]}"


def run_case(contestants, repeats, min_time, tol):
    """Warm up, check against ``contestants[0]``, calibrate, then sample round-robin."""
    expected = None
    for c in contestants:
        if not c.ok:
            continue
        try:
            with c.context() if c.context is not None else contextlib.nullcontext():
                result = c.fn()
            result = c.to_nchw(result) if c.to_nchw is not None else np.asarray(result)
            if not c.checked:
                c.check = "yardstick"
            elif expected is None:
                expected = np.array(result, copy=True)
                c.check = "ref"
            else:
                err = peers.relative_error(result, expected)
                c.check = "ok" if err <= tol else f"MISMATCH {err:.1e}"
            c.number = timing.calibrate(c.fn, min_time, c.context)
        except Exception as exc:  # a peer that cannot do this case
            c.status = _error_status(exc)
    running = [c for c in contestants if c.ok]
    for r in range(repeats):
        shift = r % len(running) if running else 0
        for c in running[shift:] + running[:shift]:
            c.samples.append(timing.timed(c.fn, c.number, c.context) / c.number)
            if c.settle:
                time.sleep(c.settle)


# ---------------------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------------------

class Case:
    """One case at one thread count: its contestants, the reference first. ``kind``: what
    the case computes ("deconv", "upsample", "upsample_conv"; the sweep's summary groups by
    it)."""

    def __init__(self, section, name, shape, threads, contestants, flops=0, bytes_moved=0,
                 kind=None):
        self.section = section
        self.name = name
        self.shape = shape
        self.threads = threads
        self.contestants = contestants
        self.flops = flops
        self.bytes_moved = bytes_moved
        self.kind = kind

    @property
    def reference(self):
        return self.contestants[0]

    def ratio(self, c):
        ref = self.reference
        if not (c.ok and ref.ok and c.samples and ref.samples):
            return math.nan
        return c.median / ref.median


def import_peers(names=PEERS):
    """``{name: (module, None)}`` for each peer that imports, ``{name: (None, why not)}``
    for the others."""
    return {name: _import_peer(name) for name in names}


def _peer_contestant(name, found, build, to_nchw=None, peer=None):
    """``name`` run by the peer ``peer`` (default: ``name``) of ``found``: ``build(module)``
    prepares the call (untimed) and returns it, or ``(call, to_nchw)``; a peer that is not
    installed, or cannot build this case (no float64 kernel, say), is reported, not
    fatal."""
    module, status = found.get(peer or name, (None, "not measured here"))
    if module is None:
        return Contestant(name, status=status)
    try:
        call = build(module)
    except Exception as exc:
        return Contestant(name, status=_error_status(exc))
    if isinstance(call, tuple):
        call, to_nchw = call
    return Contestant(name, call, to_nchw=to_nchw)


def engine_contestants(found, dtype, build):
    """Each inference engine's version of a case: ``build(engine)`` prepares the graph
    (untimed) and returns the call. A dtype the engines are not measured in is reported as
    unsupported, as :func:`_peer_contestant` reports an engine that is not installed or
    fails on the case."""
    if dtype != peers.ENGINE_DTYPE:
        why = f"unsupported: measured in {peers.ENGINE_DTYPE.name} only"
        return [Contestant(engine, status=found[engine][1] or why) for engine in peers.ENGINES]
    contestants = [_peer_contestant(engine, found, lambda _, engine=engine: build(engine))
                   for engine in peers.ENGINES]
    for c in contestants:
        c.settle = peers.ENGINE_SETTLE_SECONDS.get(c.name, 0.0)
    return contestants


def _tensor_to_numpy(t):
    return t.numpy()


def deconv_contestants(x, weight, bias, geometry, threads, found, variants=True):
    """``suite.deconv2d`` (``algorithm="auto"``, the reference) and the peers' transposed
    convolution of the same data: PyTorch's default path, the engines' ``ConvTranspose``;
    with ``variants`` also suite's col2im and PyTorch's im2col path."""
    import suite

    def ours(algorithm):
        return lambda: suite.deconv2d(x, weight, bias, **geometry, algorithm=algorithm,
                                      num_threads=threads)

    contestants = [Contestant("suite-auto", ours("auto"))]
    if variants:
        contestants.append(Contestant("suite-col2im", ours("col2im")))
    contestants.append(_peer_contestant(
        "torch", found, lambda torch: peers.torch_deconv2d(torch, x, weight, bias, **geometry),
        _tensor_to_numpy))
    if variants:
        contestants.append(_peer_contestant(
            "torch-im2col", found, lambda torch: peers.torch_deconv2d(
                torch, x, weight, bias, im2col=True, **geometry), _tensor_to_numpy,
            peer="torch"))
    contestants += engine_contestants(
        found, x.dtype, lambda e: peers.engine_deconv2d(e, x, weight, bias, threads,
                                                        **geometry))
    return contestants


def upsample_contestants(x, scale, mode, threads, found, variants=True):
    """``suite.upsample`` by ``scale`` (the reference: into a preallocated ``out=`` with
    ``variants``, allocating its output without) and the peers': PyTorch's ``interpolate``,
    OpenCV's ``resize`` of NHWC images, the engines' ``Resize``; with ``variants`` (nearest
    x2 only) also suite allocating, ``np.repeat`` twice and ``np.copyto`` of as many bytes."""
    import suite

    if variants:
        out = np.empty(x.shape[:2] + suite.upsample_output_size(x.shape[2:],
                                                                scale_factor=scale)[0],
                       dtype=x.dtype)
        contestants = [Contestant("suite", lambda: suite.upsample(
            x, scale_factor=scale, mode=mode, out=out, num_threads=threads))]
    else:
        contestants = [Contestant("suite", lambda: suite.upsample(
            x, scale_factor=scale, mode=mode, num_threads=threads))]
    if variants and mode == "nearest":
        contestants += [
            Contestant("suite-alloc", lambda: suite.upsample(x, scale_factor=scale, mode=mode,
                                                             num_threads=threads)),
            Contestant("numpy-repeat", lambda: np.repeat(np.repeat(x, scale, axis=2), scale,
                                                         axis=3)),
        ]
        # the machine's copy bandwidth, sampled in the same round-robin as the kernels:
        # np.copyto of as many bytes (read + written) as the upsampling moves
        half = (x.size + out.size) // 2
        src, dst = np.ones(half, dtype=x.dtype), np.empty(half, dtype=x.dtype)
        contestants.append(Contestant("np-copyto", lambda: np.copyto(dst, src), checked=False))
    contestants.append(_peer_contestant(
        "torch", found, lambda torch: peers.torch_counterpart(torch, mode, scale, x),
        _tensor_to_numpy))
    contestants.append(_peer_contestant(
        "cv2-nhwc", found, lambda cv2: peers.cv2_resize(cv2, x, scale, mode), peer="cv2"))
    contestants += engine_contestants(
        found, x.dtype, lambda e: peers.engine_counterpart(e, mode, scale, threads, x))
    return contestants


def upsample_conv_contestants(x, weight, bias, scale, mode, padding, threads, found,
                              variants=True):
    """``suite.upsample_conv2d`` (the reference), PyTorch's ``interpolate`` + ``conv2d`` and
    the engines' ``Resize`` + ``Conv`` graph; with ``variants`` also suite's own unfused pair
    (``conv2d(upsample(...))``)."""
    whose = ("suite-fused", "suite-unfused") if variants else ("suite-fused",)
    contestants = [Contestant(who, _fused_call(who, x, weight, bias, scale, mode, threads,
                                               padding)) for who in whose]
    contestants.append(_peer_contestant(
        "torch", found, lambda torch: peers.torch_upsample_conv2d(torch, x, weight, bias, scale,
                                                                  mode, padding),
        _tensor_to_numpy))
    contestants += engine_contestants(
        found, x.dtype, lambda e: peers.engine_upsample_conv2d(e, x, weight, bias, scale, mode,
                                                               padding, threads))
    return contestants


def _deconv_case(layer, dtype, threads, found):
    x, weight, bias = layer.make_inputs(dtype, seed=0)
    return Case("deconv", layer.name, layer.input_shape, threads,
                deconv_contestants(x, weight, bias, layer.deconv_kwargs, threads, found),
                flops=costs.layer_costs(layer, dtype)["deconv"].useful_flops, kind="deconv")


def _fused_case(layer, mode, dtype, threads, found):
    """upsample x scale + 3x3 convolution (padding 1), the layer's counterpart."""
    inputs = layer.make_counterpart_inputs(dtype, seed=0)
    contestants = upsample_conv_contestants(inputs["x"], inputs["conv_weight"],
                                            inputs["conv_bias"], layer.scale_factor, mode, 1,
                                            threads, found)
    flops = costs.counterpart_cost(layer, f"{mode}+conv3x3", dtype).useful_flops
    return Case("fused", f"{layer.name}:{mode}", layer.input_shape, threads, contestants,
                flops=flops, kind="upsample_conv")


def _upsample_case(mode, name, shape, dtype, threads, found):
    rng = np.random.default_rng(zlib.crc32(f"{name}/{mode}".encode()))
    x = rng.standard_normal(shape).astype(dtype)
    contestants = upsample_contestants(x, 2, mode, threads, found)
    moved = cost.upsample_cost(shape, scale_factor=2, mode=mode,
                               itemsize=np.dtype(dtype).itemsize).min_bytes
    return Case(mode, name, shape, threads, contestants, bytes_moved=moved, kind="upsample")


def _sweep_case(config, dtype, threads, found):
    """One configuration of the sweep (``suite.bench.sweep``): suite and every peer, without
    the variants."""
    x, weight, bias = config.make_inputs(dtype, seed=0)
    if config.kind == "deconv":
        contestants = deconv_contestants(x, weight, bias, config.deconv_kwargs, threads, found,
                                         variants=False)
    elif config.kind == "upsample":
        contestants = upsample_contestants(x, config.scale, config.mode, threads, found,
                                           variants=False)
    else:
        contestants = upsample_conv_contestants(x, weight, bias, config.scale, config.mode,
                                                config.padding, threads, found, variants=False)
    operation, arguments = config.cost_operation
    priced = getattr(cost, f"{operation}_cost")(**arguments, itemsize=np.dtype(dtype).itemsize)
    return Case("sweep", config.name, config.input_shape, threads, contestants,
                flops=priced.useful_flops, bytes_moved=priced.min_bytes, kind=config.kind)


def _fused_call(who, x, w, b, scale, mode, threads, padding=1):
    """One fused-case contestant (``MEMORY_CONTESTANTS``) as a function; torch's thread count
    is the caller's to set."""
    import suite

    if who == "suite-fused":
        return lambda: suite.upsample_conv2d(x, w, b, scale_factor=scale, mode=mode,
                                             padding=padding, num_threads=threads)
    if who == "suite-unfused":
        return lambda: suite.conv2d(suite.upsample(x, scale_factor=scale, mode=mode,
                                                   num_threads=threads), w, b,
                                    padding=padding, num_threads=threads)
    return peers.torch_upsample_conv2d(peers.import_peer("torch"), x, w, b, scale, mode,
                                       padding)


def _status_kib(field):
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _release_free_memory():
    """Give the C heap's free memory back to the system (glibc's ``malloc_trim``; nothing
    elsewhere): what the setup freed but the allocator kept resident would otherwise serve
    the call's allocations without raising the resident set, hiding them."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_worker(layer_name, mode, who, dtype, threads):
    """In this (fresh) process: warm ``who`` up on a small input, then return how far one
    call on the layer's fused case raises the resident set above where it started: Linux's
    high-water mark (VmHWM) is reset just before the call (``/proc/self/clear_refs``), so
    memory the setup used and freed does not hide the call's."""
    import gc

    layer = get_layer(layer_name)
    inputs = layer.make_counterpart_inputs(np.dtype(dtype), seed=0)
    x, w, b = inputs["x"], inputs["conv_weight"], inputs["conv_bias"]
    small = np.ascontiguousarray(x[:1, :, :3, :3])
    if who == "torch":
        import torch

        torch.set_num_threads(threads)
    _fused_call(who, small, w, b, layer.scale_factor, mode, threads)()
    call = _fused_call(who, x, w, b, layer.scale_factor, mode, threads)
    gc.collect()
    _release_free_memory()
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")                      # reset the peak resident set to the current one
    before = _status_kib("VmRSS")
    result = call()
    after = _status_kib("VmHWM")
    del result
    return (after - before) * 1024


def measure_peak_memory(layer, mode, who, dtype, threads):
    """peak_worker in a fresh interpreter; (bytes, None) or (None, why it failed)."""
    import subprocess

    code = ("import sys; from suite.bench.compare import peak_worker; "
            f"print(peak_worker({layer.name!r}, {mode!r}, {who!r}, {dtype.name!r}, "
            f"{threads}))")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"error: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"error: {last[:120]}"
    return int(done.stdout.split()[-1]), None


def format_memory(rows, dtype, threads):
    """The memory section's table: MiB per contestant, and torch's peak minus suite-fused's
    against the intermediate map."""
    mib = lambda v: "n/a" if v is None else f"{v / 2**20:.1f}"  # noqa: E731
    lines = [f"peak memory of one call (MiB of resident set the call adds at its peak, fresh "
             f"process, libraries warmed up), {dtype.name}, {threads} threads",
             ["case", "output", "intermediate"] + list(MEMORY_CONTESTANTS)
             + ["torch - fused", ">= intermediate"]]
    for name, output, intermediate, peaks in rows:
        fused, torch_peak = peaks.get("suite-fused"), peaks.get("torch")
        saved = None if fused is None or torch_peak is None else torch_peak - fused
        lines.append([name, mib(output), mib(intermediate)]
                     + [mib(peaks.get(c)) for c in MEMORY_CONTESTANTS]
                     + [mib(saved), "n/a" if saved is None else
                        ("yes" if saved >= intermediate else "no")])
    return lines[0] + "\n" + align_columns(lines[1:])


def measure_copy_bandwidth(mib, repeats, min_time, threads, torch):
    """GB/s (bytes read + written) of np.copyto, and of torch ``copy_`` per thread count."""
    n = mib * 2**20 // 4
    src = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    dst = np.empty_like(src)
    nbytes = 2 * src.nbytes
    contestants = [Contestant("np.copyto", lambda: np.copyto(dst, src))]
    run_case(contestants, repeats, min_time, tol=0.0)
    result = {"np.copyto": nbytes / contestants[0].median / 1e9}
    if torch is not None:
        ts, td = torch.from_numpy(src), torch.from_numpy(dst)
        for t in threads:
            torch.set_num_threads(t)
            c = Contestant(f"torch-copy_-t{t}", lambda: td.copy_(ts))
            run_case([c], repeats, min_time, tol=0.0)
            result[c.name] = nbytes / c.median / 1e9
    return result


# ---------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------

def _load_text():
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def _parse_threads(text):
    n = os.cpu_count() or 1
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        v = n if part.upper() == "N" else int(part)
        if v < 1:
            raise argparse.ArgumentTypeError(f"thread counts must be >= 1, got {part!r}")
        if v not in values:
            values.append(v)
    if not values:
        raise argparse.ArgumentTypeError(f"no thread counts in {text!r}")
    return values


def memory_section(layers, keep, quick, dtype, threads):
    rows = []
    for layer in layers:
        for kind in layer.counterparts:
            if not (kind.endswith("+conv3x3") and keep(layer.name)):
                continue
            if quick and layer.name not in QUICK_DECONV:
                continue
            mode = kind.split("+")[0]
            peaks = {}
            for who in MEMORY_CONTESTANTS:
                peaks[who], error = measure_peak_memory(layer, mode, who, dtype, threads)
                if error:
                    print(f"[memory] {layer.name}:{mode} {who}: {error}", flush=True)
            print(f"[memory] {layer.name}:{mode}: " + ", ".join(
                f"{k} {'n/a' if v is None else f'{v / 2**20:.1f} MiB'}"
                for k, v in peaks.items()), flush=True)
            output = int(np.prod(layer.counterpart_output_shape(kind))) * dtype.itemsize
            intermediate = int(np.prod(layer.upsample_output_shape)) * dtype.itemsize
            rows.append((f"{layer.name}:{mode}", output, intermediate, peaks))
    return format_memory(rows, dtype, threads)


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m suite compare",
        description="Time suite's deconvolution and upsampling against PyTorch, OpenCV, "
                    "ONNX Runtime, OpenVINO and NumPy on the catalogue's layers, or on a "
                    "sweep of layers drawn at random (ratio = peer / suite, > 1: suite "
                    "faster).")
    p.add_argument("--quick", action="store_true",
                   help=f"fewer repeats ({QUICK_REPEATS}) and a subset of the deconvolution "
                        f"layers ({', '.join(QUICK_DECONV)})")
    p.add_argument("--threads", type=_parse_threads, default=None,
                   help="comma-separated thread counts, N = os.cpu_count() (default 1,N)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--layers", default=None, metavar="REGEX",
                   help="only cases whose name matches this regular expression (re.search)")
    p.add_argument("--sections", default=None,
                   help=f"comma-separated subset of {','.join(SECTIONS)} (default: all of "
                        f"them, none with --sweep)")
    p.add_argument("--sweep", type=int, default=0, metavar="N",
                   help="also time N configurations drawn at random (suite.bench.sweep): "
                        "transposed convolutions, upsampling, upsample + convolution")
    p.add_argument("--seed", type=int, default=1,
                   help="the sweep's seed (the same configurations for the same seed; "
                        "default 1)")
    p.add_argument("--repeats", type=int, default=None,
                   help=f"samples per contestant (default {DEFAULT_REPEATS}, "
                        f"{QUICK_REPEATS} with --quick)")
    p.add_argument("--min-time", type=float, default=0.02, metavar="SECONDS",
                   help="minimum duration of one sample (the inner loop adapts; default 0.02)")
    p.add_argument("--copy-mib", type=int, default=256,
                   help="size of the np.copyto bandwidth array in MiB (default 256)")
    p.add_argument("--csv", default=None, metavar="PATH", help="write a tidy CSV here")
    return p


def catalogue_plans(sections, keep, quick, dtype, found):
    """The catalogue's cases of ``sections``: ``[(section, build)]``, ``build(threads)``
    making the Case."""
    plans = []
    if "deconv" in sections:
        for layer in DECONV_LAYERS:
            if keep(layer.name) and (not quick or layer.name in QUICK_DECONV):
                plans.append(("deconv", lambda t, layer=layer: _deconv_case(layer, dtype, t,
                                                                            found)))
    for mode in ("nearest", "bilinear"):
        if mode in sections:
            plans += [(mode, lambda t, mode=mode, name=name, shape=shape: _upsample_case(
                mode, name, shape, dtype, t, found)) for name, shape in UPSAMPLE_CASES
                      if keep(name)]
    if "fused" in sections:
        for layer in LAYERS:
            for kind in layer.counterparts:
                if kind.endswith("+conv3x3") and keep(layer.name):
                    if not quick or layer.name in QUICK_DECONV:
                        plans.append(("fused", lambda t, layer=layer, mode=kind.split("+")[0]:
                                      _fused_case(layer, mode, dtype, t, found)))
    return plans


def sweep_plans(configs, keep, dtype, found):
    """The sweep's cases (``suite.bench.sweep.draw``), as :func:`catalogue_plans` gives
    the catalogue's."""
    return [("sweep", lambda t, config=config: _sweep_case(config, dtype, t, found))
            for config in configs if keep(config.name)]


def _version(found, name):
    module, status = found[name]
    return module.__version__ if module is not None else status


def main(argv=None):
    args = build_parser().parse_args(argv)
    import suite

    threads = args.threads or _parse_threads("1,N")
    repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    if repeats < 1 or args.min_time < 0 or args.copy_mib < 1 or args.sweep < 0:
        raise SystemExit("--repeats and --copy-mib must be >= 1, --min-time and --sweep >= 0")
    if args.sections is None:
        sections = [] if args.sweep else list(SECTIONS)
    else:
        sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown --sections {sorted(unknown)}; choose from {SECTIONS}")
    dtype = np.dtype(args.dtype)
    tol = peers.CHECK_TOLERANCE[np.dtype(dtype).name]
    pattern = re.compile(args.layers) if args.layers else None
    keep = lambda name: pattern is None or pattern.search(name)  # noqa: E731

    found = import_peers()
    torch, cv2 = found["torch"][0], found["cv2"][0]
    warnings.filterwarnings("ignore", message=".*TF32.*")
    print(f"suite {suite.__version__} (OpenMP {'on' if suite.openmp_enabled() else 'off'}), "
          f"numpy {np.__version__}, "
          + ", ".join(f"{name} {_version(found, name)}" for name in PEERS)
          + f"; python {platform.python_version()}"
          f", {os.cpu_count()} CPUs; dtype {dtype.name}, threads {threads}, "
          f"{repeats} repeats, samples >= {args.min_time * 1e3:g} ms", flush=True)
    for line in _environment.environment_lines(threads=threads):
        print(line, flush=True)

    load_start = _load_text()
    print(f"load average before: {load_start}", flush=True)
    bandwidth = {}
    if "nearest" in sections:
        bandwidth = measure_copy_bandwidth(args.copy_mib, repeats, args.min_time, threads,
                                           torch)
        print("copy bandwidth (read + write): "
              + ", ".join(f"{k} {v:.1f} GB/s" for k, v in bandwidth.items()), flush=True)

    plans = catalogue_plans(sections, keep, args.quick, dtype, found)
    configs = ()
    if args.sweep:
        from . import sweep

        configs = sweep.draw(args.sweep, args.seed)
        plans += sweep_plans(configs, keep, dtype, found)

    cases = []
    for t in threads:
        if torch is not None:
            torch.set_num_threads(t)
        if cv2 is not None:
            cv2.setNumThreads(t)
        for section, build in plans:
            case = build(t)
            run_case(case.contestants, repeats, args.min_time, tol)
            cases.append(case)
            for c in case.contestants:
                if c.ok:
                    extra = f"ratio {case.ratio(c):5.2f}" if c is not case.reference else ""
                    print(f"[{section}] {case.name} t={t} {c.name}: {ms_text(c.median)} ms "
                          f"({len(c.samples)} x {c.number} calls) {extra} "
                          f"check {c.check}".rstrip(), flush=True)
                else:
                    print(f"[{section}] {case.name} t={t} {c.name}: {c.status}", flush=True)

    print()
    print(f"load average (1, 5, 15 min) before: {load_start}, after: {_load_text()} on "
          f"{os.cpu_count()} CPUs (other work on the machine slows the multi-thread runs)")
    if bandwidth:
        print("copy bandwidth (read + write): "
              + ", ".join(f"{k} {v:.1f} GB/s" for k, v in bandwidth.items()))
    for section in SECTIONS:
        text = format_section(section, [c for c in cases if c.section == section], dtype,
                              bandwidth.get("np.copyto"))
        if text:
            print()
            print(text)
    sweep_cases = [c for c in cases if c.section == "sweep"]
    if sweep_cases:
        print()
        print(format_sweep(sweep_cases, dtype, args.sweep, args.seed))
    scaling = format_scaling(cases)
    if scaling:
        print()
        print(scaling)
    if "memory" in sections:
        print()
        print(memory_section(LAYERS, keep, args.quick, dtype, max(threads)))
    sys.stdout.flush()
    if args.csv:
        write_csv(args.csv, cases, dtype, bandwidth)
        print(f"\nwrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
