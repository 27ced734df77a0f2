"""Peers on the same layers and data: PyTorch (CPU), OpenCV, the inference engines ONNX
Runtime and OpenVINO, NumPy and ``suite.reference``.

A peer that is not installed is skipped (NotImplementedError in setup, asv's convention);
peers run with the benchmark's thread count (``torch.set_num_threads``,
``cv2.setNumThreads``, the engines' thread count set when their graph is compiled). Compare
with ``bench_deconv.Deconv2d`` and ``bench_counterparts.Counterpart`` of the same
parameters.

``PeerDeconv2d`` (each deconvolution layer at its own geometry):

* ``torch``: ``F.conv_transpose2d`` on its default path (oneDNN where PyTorch picks it);
* ``torch-im2col``: the same under ``torch.backends.mkldnn.flags(enabled=False)``, PyTorch's
  own col2im ("slow") path;
* ``reference``: ``suite.reference.deconv2d`` (pure NumPy, loops over the kernel taps), on
  small layers only (REFERENCE_MAX_FLOPS, REFERENCE_MAX_TAPS), threads=1 only;
* ``onnxruntime``, ``openvino``: the layer as a one-node ONNX ``ConvTranspose`` graph,
  weights as initializers, the session / compiled model built in setup
  (``suite.bench.peers``: ONNX Runtime's ``session.run``; OpenVINO's CPU plugin with the
  f32 precision hint, timed as ``request.infer()`` on tensors set once); float32 only.
  Each engine's output is checked against suite's in setup (untimed): a mismatch fails the
  benchmark instead of timing a different computation.

Each layer's upsample counterparts, as in ``bench_counterparts``:

* ``TorchCounterpart``: ``F.interpolate`` (then ``F.conv2d`` for "+conv3x3", ``+ skip`` for
  "+add");
* ``EngineCounterpart`` (``peer`` = onnxruntime, openvino; float32 only): the same as an ONNX
  graph, ``Resize`` with the attributes that equal ``F.interpolate``, then ``Conv`` (3x3,
  padding 1) or ``Add`` of the skip as a second node;
* ``Cv2Resize``: ``cv2.resize`` (INTER_NEAREST / INTER_LINEAR) of images prepared once,
  untimed, as contiguous (H, W, C) arrays, one per image and block of at most CV_CN_MAX
  channels (512 in OpenCV 4, 128 in OpenCV 5), into preallocated outputs: OpenCV's preferred
  layout, not an NCHW layer (that would add two transposes). Bare nearest / bilinear only;
* ``NumpyUpsample`` (one thread, no ``threads`` parameter): ``np.repeat`` along H then W
  (bare nearest) and ``suite.reference.upsample`` (bare kinds, outputs up to
  REFERENCE_MAX_OUTPUT values).

PyTorch is imported when this module is (asv's forkserver imports the benchmark modules once
and forks every benchmark from that process): importing it in each benchmark process instead
would cost about 1.5 s per PyTorch benchmark. The other benchmark processes carry it too;
their peakmem baselines include it, so the net figures do not.
"""

import importlib
import math
import warnings

import numpy as np

from . import common
from .bench_counterparts import counterpart_entry

try:  # preloaded once in asv's forkserver (see the module docstring)
    importlib.import_module("torch.nn.functional")
except ImportError:
    pass

# torch.backends.mkldnn.flags() warns about TF32 on Intel GPUs, every call
warnings.filterwarnings("ignore", message=".*TF32.*")

DECONV_PEERS = ["torch", "torch-im2col", "reference", *common.peers.ENGINES]

REFERENCE_MAX_FLOPS = 1.5e8
REFERENCE_MAX_TAPS = 256
REFERENCE_MAX_OUTPUT = 2 ** 22

_NO_COST = common.Cost()


def _reference():
    try:
        return importlib.import_module("suite.reference")
    except ImportError:   # a commit before the reference existed
        raise NotImplementedError("suite.reference is not in this build") from None


def _torch(threads):
    torch = common.import_peer("torch")
    torch.set_num_threads(threads)
    return torch


def _require_engine(engine, dtype):
    """Skip (NotImplementedError) a dtype the engines are not measured in, or an engine that
    is not installed."""
    if np.dtype(dtype) != common.peers.ENGINE_DTYPE:
        raise NotImplementedError(f"{engine} is measured in "
                                  f"{common.peers.ENGINE_DTYPE.name} only")
    common.import_peer(engine)


class _PeerDeconv2dCase:
    params = [common.deconv_layer_names(), common.DTYPES, DECONV_PEERS, common.THREADS]
    param_names = ["layer", "dtype", "peer", "threads"]

    def build(self, layer, dtype, peer, threads=1):
        entry = common.layer(layer)
        kwargs = entry.deconv_kwargs
        if peer == "reference":
            if threads != 1:
                raise NotImplementedError("the reference runs on one thread: see threads=1")
            if entry.deconv_flops > REFERENCE_MAX_FLOPS or entry.kernel ** 2 > REFERENCE_MAX_TAPS:
                raise NotImplementedError(f"{layer} is too large for the pure-NumPy reference")
            reference = _reference()
            from threadpoolctl import ThreadpoolController

            def prepare():
                x, w, b = entry.make_inputs(np.dtype(dtype))
                blas = ThreadpoolController()      # scanned once, not per call

                def run():
                    with blas.limit(limits=1, user_api="blas"):
                        return reference.deconv2d(x, w, b, **kwargs)

                return run

            return common.Case(_NO_COST, prepare)

        if peer in common.peers.ENGINES:
            _require_engine(peer, dtype)

            def prepare():
                import suite

                x, w, b = entry.make_inputs(np.dtype(dtype))
                call = common.peers.engine_deconv2d(peer, x, w, b, threads, **kwargs)
                common.peers.check_output(call(), suite.deconv2d(x, w, b, **kwargs),
                                          f"{peer} on {layer}")
                return call

            return common.Case(_NO_COST, prepare)

        torch = _torch(threads)

        def prepare():
            x, w, b = entry.make_inputs(np.dtype(dtype))
            return common.peers.torch_deconv2d(torch, x, w, b, im2col=peer == "torch-im2col",
                                               **kwargs)

        return common.Case(_NO_COST, prepare)


class PeerDeconv2d(_PeerDeconv2dCase, common.TimeBench):
    def time_deconv2d(self, *params):
        self.case.run()


class PeerDeconv2dPeakMem(_PeerDeconv2dCase, common.MemBench):
    def peakmem_deconv2d(self, *params):
        self.case.run()


def _cv2_resize(entry, mode, dtype, threads):
    cv2 = common.import_peer("cv2")
    cv2.setNumThreads(threads)

    def prepare():
        x = entry.make_counterpart_inputs(np.dtype(dtype))["x"]
        return common.peers.cv2_resize(cv2, x, entry.scale_factor, mode)[0]

    return prepare


class _TorchCounterpartCase:
    params = [common.layer_names(), common.COUNTERPARTS, common.DTYPES, common.THREADS]
    param_names = ["layer", "counterpart", "dtype", "threads"]

    def build(self, layer, counterpart, dtype, threads=1):
        entry = counterpart_entry(layer, counterpart)
        torch = _torch(threads)

        def prepare():
            data = entry.make_counterpart_inputs(np.dtype(dtype))
            return common.peers.torch_counterpart(torch, counterpart, entry.scale_factor,
                                                  **data)

        return common.Case(_NO_COST, prepare)


class TorchCounterpart(_TorchCounterpartCase, common.TimeBench):
    """F.interpolate (then F.conv2d / + skip) on bench_counterparts' cases."""

    def time_counterpart(self, *params):
        self.case.run()


class TorchCounterpartPeakMem(_TorchCounterpartCase, common.MemBench):
    def peakmem_counterpart(self, *params):
        self.case.run()


def _suite_counterpart(kind, scale_factor, x, conv_weight, conv_bias, skip):
    """suite's result of a counterpart (the fused kernels), which an engine's must equal."""
    import suite

    mode = kind.split("+")[0]
    if kind.endswith("+conv3x3"):
        return suite.upsample_conv2d(x, conv_weight, conv_bias, scale_factor=scale_factor,
                                     mode=mode, padding=1)
    if kind.endswith("+add"):
        return suite.upsample_add(x, skip, mode=mode)
    return suite.upsample(x, scale_factor=scale_factor, mode=mode)


class _EngineCounterpartCase:
    params = [common.layer_names(), common.COUNTERPARTS, common.DTYPES,
              list(common.peers.ENGINES), common.THREADS]
    param_names = ["layer", "counterpart", "dtype", "peer", "threads"]

    def build(self, layer, counterpart, dtype, peer, threads=1):
        entry = counterpart_entry(layer, counterpart)
        _require_engine(peer, dtype)

        def prepare():
            data = entry.make_counterpart_inputs(np.dtype(dtype))
            call = common.peers.engine_counterpart(peer, counterpart, entry.scale_factor,
                                                   threads, **data)
            common.peers.check_output(call(), _suite_counterpart(counterpart,
                                                                 entry.scale_factor, **data),
                                      f"{peer} on {layer} {counterpart}")
            return call

        return common.Case(_NO_COST, prepare)


class EngineCounterpart(_EngineCounterpartCase, common.TimeBench):
    """ONNX Runtime's and OpenVINO's graph of bench_counterparts' cases."""

    def time_counterpart(self, *params):
        self.case.run()


class EngineCounterpartPeakMem(_EngineCounterpartCase, common.MemBench):
    def peakmem_counterpart(self, *params):
        self.case.run()


def _bare_counterpart(layer, mode):
    return counterpart_entry(layer, mode)   # "nearest" / "bilinear" alone


class _Cv2ResizeCase:
    params = [common.layer_names(), ["nearest", "bilinear"], common.DTYPES, common.THREADS]
    param_names = ["layer", "mode", "dtype", "threads"]

    def build(self, layer, mode, dtype, threads=1):
        entry = _bare_counterpart(layer, mode)
        return common.Case(_NO_COST, _cv2_resize(entry, mode, dtype, threads))


class Cv2Resize(_Cv2ResizeCase, common.TimeBench):
    """cv2.resize of NHWC images prepared in setup (bare nearest / bilinear counterparts)."""

    def time_resize(self, *params):
        self.case.run()


class Cv2ResizePeakMem(_Cv2ResizeCase, common.MemBench):
    def peakmem_resize(self, *params):
        self.case.run()


class _NumpyCase:
    """np.repeat (nearest) and suite.reference.upsample, one thread, on small outputs."""

    params = [common.layer_names(), ["numpy-repeat", "reference-nearest",
                                     "reference-bilinear"], common.DTYPES]
    param_names = ["layer", "peer", "dtype"]

    def build(self, layer, peer, dtype):
        mode = "nearest" if peer.endswith("nearest") or peer == "numpy-repeat" else "bilinear"
        entry = _bare_counterpart(layer, mode)
        scale = entry.scale_factor
        if peer.startswith("reference"):
            if math.prod(entry.upsample_output_shape) > REFERENCE_MAX_OUTPUT:
                raise NotImplementedError(f"{layer} is too large for the pure-NumPy reference")
            reference = _reference()

        def prepare():
            x = entry.make_counterpart_inputs(np.dtype(dtype))["x"]
            if peer == "numpy-repeat":
                return lambda: np.repeat(np.repeat(x, scale, axis=2), scale, axis=3)
            return lambda: reference.upsample(x, scale_factor=scale, mode=mode)

        return common.Case(_NO_COST, prepare)


class NumpyUpsample(_NumpyCase, common.TimeBench):
    def time_upsample(self, *params):
        self.case.run()


class NumpyUpsamplePeakMem(_NumpyCase, common.MemBench):
    def peakmem_upsample(self, *params):
        self.case.run()
