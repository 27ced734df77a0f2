"""Readable names for what the asv results call by identifiers: benchmarks
(``bench_deconv.Deconv2d.time_deconv2d`` -> "deconvolution, time"), kernel families, methods,
peers, parameter combinations, commits and machines.

A name not listed here falls back to a tidied form of the identifier (class name split into
words), so a benchmark added later still reads as words, never as a crash.
"""

import re

import pandas as pd

from .units import format_threads, missing

#: asv benchmark classes: what each times, in words.
CLASS_NAMES = {
    "Deconv2d": "deconvolution (suite.deconv2d)",
    "Deconv2dStride": "deconvolution by stride (suite.deconv2d)",
    "Deconv2dBackward": "deconvolution backward (suite.deconv2d_backward)",
    "Deconv2dCost": "deconvolution cost model",
    "Counterpart": "upsample counterpart, unfused (suite.upsample then suite.conv2d)",
    "CounterpartCost": "upsample counterpart cost model",
    "UpsampleConv2d": "upsample + conv, fused (suite.upsample_conv2d)",
    "UpsampleAdd": "upsample + add, fused (suite.upsample_add)",
    "Upsample": "upsample (suite.upsample)",
    "UpsampleBackward": "upsample backward (suite.upsample_backward)",
    "UpsampleCost": "upsample cost model",
    "UpsampleBackwardCost": "upsample backward cost model",
    "Conv2d": "convolution (suite.conv2d)",
    "Conv2dCost": "convolution cost model",
    "Im2col": "im2col (suite.im2col)",
    "Col2im": "col2im (suite.col2im)",
    "UnfoldCost": "im2col / col2im cost model",
    "PeerDeconv2d": "peer deconvolution",
    "TorchCounterpart": "PyTorch counterpart (interpolate, conv2d)",
    "Cv2Resize": "OpenCV resize",
    "NumpyUpsample": "NumPy upsample",
    "EngineCounterpart": "inference engine counterpart (ONNX Runtime, OpenVINO)",
    "Sweep": "layer never tuned on (sweep)",
    "Environment": "the campaign's environment record",
    "Gemm": "GEMM ceiling (SciPy's BLAS)",
    "Copy": "memory copy ceiling",
}

#: asv benchmark methods: what the figure is.
METHOD_NAMES = {
    "time": "time",
    "peakmem": "peak memory",
    "track_gflops": "achieved GFLOP/s",
    "track_gbps": "achieved GB/s",
    "track_flops": "FLOPs",
    "track_bytes": "bytes moved",
    "track_parameters": "parameters",
    "track_workspace_bytes": "workspace",
    "track_gemm_gflops": "GFLOP/s",
    "track_copy_gbps": "GB/s",
    "peakmem_baseline": "peak memory of the empty baseline",
    "track_blas_vector_bits": "the BLAS kernels' vector width",
}

#: The methods of one layer (constants.METHODS and their fused forms), for a legend.
METHOD_LABELS = {
    "deconv": "deconvolution",
    "nearest": "nearest",
    "bilinear": "bilinear",
    "nearest+conv3x3": "nearest + 3×3 conv",
    "bilinear+conv3x3": "bilinear + 3×3 conv",
    "nearest+add": "nearest + add",
    "bilinear+add": "bilinear + add",
}

#: Peers as the ``peer`` parameter or the class names them.
PEER_NAMES = {
    "torch": "PyTorch",
    "torch-im2col": "PyTorch, im2col path",
    "reference": "suite.reference (NumPy)",
    "reference-nearest": "suite.reference nearest (NumPy)",
    "reference-bilinear": "suite.reference bilinear (NumPy)",
    "numpy-repeat": "NumPy repeat",
    "cv2": "OpenCV",
    "onnxruntime": "ONNX Runtime",
    "ort": "ONNX Runtime",
    "openvino": "OpenVINO",
}

#: Kernel families (colours of the roofline and the history): the benchmark class, and for
#: the unfused counterparts the counterpart.
FAMILIES = ["deconvolution", "upsample", "upsample + conv", "upsample + add", "convolution",
            "im2col / col2im", "backward"]


def _words(identifier):
    """``UpsampleConv2dPeakMem`` -> "upsample conv2d peak mem"."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier).lower()


def class_name(benchmark):
    """The class part of an asv benchmark id (``module.Class.method``)."""
    parts = str(benchmark).split(".")
    return parts[1] if len(parts) >= 3 else parts[0]


def benchmark_label(benchmark):
    """``bench_counterparts.Counterpart.time_counterpart`` -> "upsample counterpart, unfused
    (...): time"."""
    parts = str(benchmark).split(".")
    if len(parts) < 3:
        return str(benchmark)
    cls, method = parts[1], parts[2]
    base = cls[:-len("PeakMem")] if cls.endswith("PeakMem") else cls
    what = CLASS_NAMES.get(base) or _words(base)
    kind = (METHOD_NAMES.get(method) or METHOD_NAMES.get(method.split("_")[0])
            or _words(method.replace("_", " ")))
    return f"{what}: {kind}"


def method_label(method):
    if missing(method):
        return "—"
    text = str(method)
    fused = text.endswith(" fused")
    base = text[:-len(" fused")] if fused else text
    return METHOD_LABELS.get(base, base) + (" (fused)" if fused else "")


def peer_label(peer):
    return PEER_NAMES.get(str(peer), str(peer))


def sweep_kind(configuration):
    """The kernel family of a layer never tuned on, from its name (``deconv k3s2p1 ...``,
    ``nearest x2 + conv3x3 ...``, ``bilinear x1.5 ...``, as ``suite.bench.sweep`` names
    them)."""
    name = str(configuration)
    if name.startswith("deconv"):
        return "deconvolution"
    return "upsample + conv" if "+ conv" in name else "upsample"


def family(row):
    """The kernel family of a timed row of suite's (:data:`FAMILIES`), or None (peers, a
    sweep's other contestants, benchmarks not listed)."""
    cls = class_name(row["benchmark"])
    if cls == "Sweep":
        return sweep_kind(row.get("configuration")) if row.get("contestant") == "suite" \
            else None
    if cls.endswith("Backward"):
        return "backward"
    if cls.startswith("Deconv2d"):
        return "deconvolution"
    if cls in ("Im2col", "Col2im"):
        return "im2col / col2im"
    if cls == "Conv2d":
        return "convolution"
    if cls == "UpsampleConv2d":
        return "upsample + conv"
    if cls == "UpsampleAdd":
        return "upsample + add"
    if cls == "Upsample":
        return "upsample"
    if cls == "Counterpart":
        counterpart = str(row.get("counterpart"))
        if "conv" in counterpart:
            return "upsample + conv"
        if "add" in counterpart:
            return "upsample + add"
        return "upsample"
    return None


#: Parameters shown in a case label, in this order, and how.
_CASE_PARTS = ("layer", "counterpart", "mode", "scale", "stride", "algorithm", "peer",
               "conv", "geometry", "dtype", "threads")


def case_label(row, skip=()):
    """A parameter combination in words: "dcgan-g4 · nearest + 3×3 conv · float32 · 2
    threads" (parameters in ``skip`` left out)."""
    parts = []
    for name in _CASE_PARTS:
        if name in skip or name not in row:
            continue
        value = row[name]
        if missing(value):
            continue
        if name == "threads":
            parts.append(format_threads(value))
        elif name == "counterpart":
            parts.append(method_label(value))
        elif name == "peer":
            parts.append(peer_label(value))
        elif name == "scale":
            parts.append(f"×{value}")
        elif name == "stride":
            parts.append(f"stride {value}")
        else:
            parts.append(str(value))
    if not parts and "params" in row and not missing(row["params"]):
        text = str(row["params"])
        return text if len(text) <= 60 else text[:57] + "…"
    return " · ".join(parts)


def commit_label(commit, date=None):
    """``f54cd39e (2026-11-29)``."""
    text = str(commit)[:8]
    if date is not None and not missing(date):
        text += f" ({pd.Timestamp(date).strftime('%Y-%m-%d')})"
    return text
