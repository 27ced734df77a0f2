"""The peers, prepared once for every tool that measures them: importing PyTorch and OpenCV,
and each peer's version of a layer as a callable on data prepared untimed.

Used by ``python -m suite compare`` and by the asv suite (``benchmarks/bench_peers.py``), so
both time the same peer calls on the same layouts. It imports NumPy only (the peers when
asked), never :mod:`suite`: in a history campaign asv loads this file from the working tree
beside an older build of the package (``benchmarks/common.py``, "History campaigns").
"""

import importlib

import numpy as np

__all__ = ["PeerUnavailable", "cv2_block_channels", "cv2_resize", "import_peer",
           "onnxruntime_deconv2d", "onnxruntime_upsample", "torch_counterpart",
           "torch_deconv2d", "torch_upsample_conv2d"]

#: The modules each peer needs (torch: its functional API too; ONNX Runtime: onnx to build
#: the one-node graphs it runs).
_MODULES = {"torch": ("torch", "torch.nn.functional"), "cv2": ("cv2",),
            "onnxruntime": ("onnxruntime", "onnx")}

#: The ONNX opset of the graphs (Resize's coordinate modes as below exist from 13 on).
ONNX_OPSET = 17


class PeerUnavailable(NotImplementedError):
    """A peer that is not installed (or fails to import). A NotImplementedError, which asv
    reports as "skipped" when a benchmark's setup raises it; ``reason`` says why, for a
    table cell ("not installed (ImportError: ...)")."""

    def __init__(self, name, reason):
        super().__init__(f"{name} is {reason}")
        self.reason = reason


def import_peer(name):
    """The peer module (``"torch"`` or ``"cv2"``), or :class:`PeerUnavailable` saying why."""
    if name not in _MODULES:
        raise ValueError(f"unknown peer {name!r}; expected one of {tuple(_MODULES)}")
    try:
        for module in _MODULES[name]:
            importlib.import_module(module)
    except Exception as exc:  # ImportError, or a broken install
        raise PeerUnavailable(name, f"not installed ({type(exc).__name__}: {exc})") from None
    return importlib.import_module(name)


def torch_deconv2d(torch, x, weight, bias, im2col=False, **geometry):
    """``F.conv_transpose2d`` of NumPy arrays (shared, not copied, as tensors). ``im2col``:
    under ``torch.backends.mkldnn.flags(enabled=False)``, PyTorch's own col2im ("slow")
    path instead of its default (oneDNN where it picks it)."""
    F = torch.nn.functional
    x, weight, bias = (None if a is None else torch.from_numpy(a) for a in (x, weight, bias))
    if not im2col:
        return lambda: F.conv_transpose2d(x, weight, bias, **geometry)

    def col2im_path():
        with torch.backends.mkldnn.flags(enabled=False):
            return F.conv_transpose2d(x, weight, bias, **geometry)

    return col2im_path


def torch_counterpart(torch, kind, scale_factor, x, conv_weight=None, conv_bias=None,
                      skip=None):
    """PyTorch's version of a catalogue counterpart (``Layer.counterpart_operation``):
    ``F.interpolate`` (align_corners=False for bilinear), then ``F.conv2d`` (3x3, padding
    1) for "+conv3x3" or ``+ skip`` for "+add", under ``torch.no_grad()``."""
    mode = kind.split("+")[0]
    if kind.endswith("+conv3x3"):
        return torch_upsample_conv2d(torch, x, conv_weight, conv_bias, scale_factor, mode,
                                     padding=1)
    upsampled = _torch_interpolate(torch, torch.from_numpy(x), scale_factor, mode)
    if kind.endswith("+add"):
        skip = torch.from_numpy(skip)
        return lambda: upsampled().add_(skip)
    return upsampled


def _torch_interpolate(torch, x, scale_factor, mode):
    extra = {"align_corners": False} if mode == "bilinear" else {}
    return lambda: torch.nn.functional.interpolate(x, scale_factor=scale_factor, mode=mode,
                                                   **extra)


def torch_upsample_conv2d(torch, x, weight, bias, scale_factor, mode, padding=1):
    """``F.conv2d(F.interpolate(x, scale_factor, mode), weight, bias, padding=padding)``
    (align_corners=False for bilinear; any kernel size; the scale may be fractional), under
    ``torch.no_grad()``: PyTorch's upsample + convolution, with the upsampled map."""
    upsampled = _torch_interpolate(torch, torch.from_numpy(x), scale_factor, mode)
    w, b = torch.from_numpy(weight), None if bias is None else torch.from_numpy(bias)

    def run():
        with torch.no_grad():
            return torch.nn.functional.conv2d(upsampled(), w, b, padding=padding)

    return run


def cv2_block_channels(cv2, channels, dtype):
    """The most channels one cv2 image may have (CV_CN_MAX: 512 in OpenCV 4, 128 in 5)."""
    block = channels
    while block > 1:
        try:
            cv2.resize(np.zeros((2, 2, block), dtype=dtype), (4, 4),
                       interpolation=cv2.INTER_NEAREST)
            return block
        except Exception:
            block = (block + 1) // 2
    return 1


def cv2_resize(cv2, x, scale, mode):
    """``(resize, to_nchw)``: ``cv2.resize`` by ``scale`` (INTER_NEAREST for nearest,
    INTER_LINEAR for bilinear) of NCHW ``x`` prepared once, untimed, as contiguous (H, W, C)
    images, one per image and block of at most CV_CN_MAX channels, into outputs allocated
    here: OpenCV's preferred layout, not an NCHW layer (which would add two transposes).
    ``to_nchw(resize())`` gives the NCHW result, for checking. OpenCV scales by output size
    / input size: for a fractional ``scale`` that equals PyTorch's ``1 / scale_factor`` only
    where ``H * scale`` and ``W * scale`` are whole numbers."""
    n, c, h, w = x.shape
    ho, wo = int(h * scale), int(w * scale)
    block = cv2_block_channels(cv2, c, x.dtype)
    images = [np.ascontiguousarray(x[i, j:j + block].transpose(1, 2, 0))
              for i in range(n) for j in range(0, c, block)]
    outs = [np.empty((ho, wo, im.shape[2]), dtype=x.dtype) for im in images]
    flag = cv2.INTER_NEAREST if mode.startswith("nearest") else cv2.INTER_LINEAR

    def resize():
        return [cv2.resize(im, (wo, ho), dst=o, interpolation=flag)
                for im, o in zip(images, outs)]

    def to_nchw(results):
        planes = [r.reshape(ho, wo, -1).transpose(2, 0, 1) for r in results]
        return np.concatenate(planes).reshape(n, c, ho, wo)

    return resize, to_nchw


# ---------------------------------------------------------------------------------------
# ONNX Runtime: the layer as a one-node graph, weights as initializers, the session built
# here (outside any timed region), intra-op threads = the thread count, graph optimizations
# on, CPU execution provider (MLAS)
# ---------------------------------------------------------------------------------------

def _onnx_session(onnx, graph, num_threads):
    ort = import_peer("onnxruntime")
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("",
                                                                                  ONNX_OPSET)])
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(num_threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def _onnx_run(onnx, nodes, x, initializers, num_threads):
    """A callable running ``nodes`` (input "x", output "y") on ``x`` in a fresh session. The
    output's shape is left to ONNX's shape inference (the caller checks it against ours)."""
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph(
        nodes, "layer", [helper.make_tensor_value_info("x", elem, list(x.shape))],
        [helper.make_tensor_value_info("y", elem, ["N", "C", "H", "W"])],
        initializer=[onnx.numpy_helper.from_array(np.ascontiguousarray(a), name)
                     for name, a in initializers.items()])
    session = _onnx_session(onnx, graph, num_threads)
    feed = {"x": np.ascontiguousarray(x)}
    return lambda: session.run(None, feed)[0]


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def onnxruntime_deconv2d(x, weight, bias, num_threads, stride=1, padding=0, output_padding=0,
                         dilation=1, groups=1):
    """ONNX Runtime's ``ConvTranspose`` of one layer (weights (C_in, C_out/g, kH, kW) as in
    PyTorch; ``pads`` = [pH, pW, pH, pW]), which gives PyTorch's output shape."""
    import_peer("onnxruntime")
    onnx = importlib.import_module("onnx")
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding,
                                                         dilation))
    kh, kw = weight.shape[2:]
    initializers = {"w": weight} if bias is None else {"w": weight, "b": bias}
    node = onnx.helper.make_node(
        "ConvTranspose", ["x", *initializers], ["y"], kernel_shape=[kh, kw],
        strides=[sh, sw], pads=[ph, pw, ph, pw], output_padding=[oh, ow],
        dilations=[dh, dw], group=int(groups))
    return _onnx_run(onnx, [node], x, initializers, num_threads)


def onnxruntime_upsample(x, scale, mode, num_threads):
    """ONNX Runtime's ``Resize`` by an integer ``scale`` with the attributes that equal
    PyTorch's ``interpolate``: nearest = ``asymmetric`` coordinates and ``floor`` rounding;
    bilinear (align_corners=False) = ``linear`` with ``pytorch_half_pixel`` coordinates."""
    import_peer("onnxruntime")
    onnx = importlib.import_module("onnx")
    if mode == "nearest":
        attributes = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                          nearest_mode="floor")
    elif mode == "bilinear":
        attributes = dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
    else:
        raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
    initializers = {"scales": np.array([1, 1, scale, scale], dtype=np.float32)}
    node = onnx.helper.make_node("Resize", ["x", "", "scales"], ["y"], **attributes)
    return _onnx_run(onnx, [node], x, initializers, num_threads)
