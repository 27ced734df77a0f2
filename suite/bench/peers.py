"""The peers, prepared once for every tool that measures them: importing PyTorch, OpenCV and
the inference engines (ONNX Runtime, OpenVINO), and each peer's version of a layer as a
callable on data prepared untimed (an engine's session or compiled model built here, outside
any timed region).

Used by ``python -m suite compare`` and by the asv suite (``benchmarks/bench_peers.py``), so
both time the same peer calls on the same layouts. It imports NumPy only (the peers when
asked), never :mod:`suite`: in a history campaign asv loads this file from the working tree
beside an older build of the package (``benchmarks/common.py``, "History campaigns").
"""

import importlib
import math

import numpy as np

__all__ = ["ENGINES", "PeerUnavailable", "check_output", "cv2_block_channels", "cv2_resize",
           "engine_counterpart", "engine_deconv2d", "engine_deconv_stack",
           "engine_upsample_conv2d", "import_peer", "openvino_config", "relative_error",
           "torch_counterpart", "torch_deconv2d", "torch_upsample_conv2d"]

#: The modules each peer needs (torch: its functional API too; the engines: onnx to build
#: the graphs they run).
_MODULES = {"torch": ("torch", "torch.nn.functional"), "cv2": ("cv2",),
            "onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx")}

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
    """The peer module (``"torch"``, ``"cv2"``, ``"onnxruntime"`` or ``"openvino"``), or
    :class:`PeerUnavailable` saying why."""
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
# inference engines: the layer as an ONNX graph (one node, two for upsample + convolution or
# + skip), weights as initializers, float32
# ---------------------------------------------------------------------------------------

#: The inference engines measured as peers; each runs the same ONNX graphs.
ENGINES = ("onnxruntime", "openvino")

#: The one dtype the engines run here. ONNX Runtime's CPU provider has no float64
#: ConvTranspose or Resize kernel; OpenVINO's CPU plugin would silently compute float64 in
#: float32.
ENGINE_DTYPE = np.dtype(np.float32)

#: The largest error a peer's output may have, relative to the largest magnitude of suite's
#: (at least 1), for its timing to count: float32 sums in another order differ by a few
#: units in the last place times the terms; more is a different computation.
CHECK_TOLERANCE = {"float32": 1e-4, "float64": 1e-10}


def relative_error(actual, expected):
    """max |actual - expected| / max(1, max |expected|); infinite when the shapes differ."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return math.inf
    if not expected.size:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(expected))))
    return float(np.max(np.abs(actual - expected))) / scale


def check_output(actual, expected, what):
    """Raise ValueError naming ``what`` when a peer's output is not suite's (above
    :data:`CHECK_TOLERANCE`): a timing of a different computation would be meaningless."""
    expected = np.asarray(expected)
    error = relative_error(actual, expected)
    if not error <= CHECK_TOLERANCE[expected.dtype.name]:
        raise ValueError(f"{what}: output differs from suite's by {error:.2e} (relative), "
                         f"shapes {np.shape(actual)} and {expected.shape}")


#: Seconds an engine's idle threads keep a core busy after its call returns. ONNX Runtime's
#: intra-op threads spin-wait for the next task (its default, ``allow_spinning``): on this
#: 2-core machine suite's 2-thread DCGAN-G2 took 15-30 ms right after an ONNX Runtime call,
#: still 15 ms after a 20 ms pause, and its own 7 ms after 100 ms (nothing changes after
#: OpenVINO's call). A comparison that interleaves contestants waits this long after the
#: engine's sample, so that the next contestant gets the machine the engine had.
ENGINE_SETTLE_SECONDS = {"onnxruntime": 0.1, "openvino": 0.0}


def _onnx_model(onnx, nodes, inputs, initializers):
    """The checked ONNX model of ``nodes`` with graph inputs ``inputs`` ({name: array}; the
    first is "x") and output "y", its shape left to ONNX's shape inference (each caller
    checks it against ours)."""
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(ENGINE_DTYPE)
    graph = helper.make_graph(
        nodes, "layer",
        [helper.make_tensor_value_info(name, elem, list(a.shape))
         for name, a in inputs.items()],
        [helper.make_tensor_value_info("y", elem, ["N", "C", "H", "W"])],
        initializer=[onnx.numpy_helper.from_array(np.ascontiguousarray(a), name)
                     for name, a in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    onnx.checker.check_model(model)
    return model


def _onnxruntime_run(model, inputs, num_threads):
    """ONNX Runtime: an ``InferenceSession`` on the CPU execution provider (MLAS), graph
    optimizations on, ``intra_op_num_threads`` = the thread count, one inter-op thread,
    sequential execution; spinning and thread affinity left at ONNX Runtime's defaults.
    The call is ``session.run``, which allocates its output."""
    ort = import_peer("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(num_threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    feed = {name: np.ascontiguousarray(a) for name, a in inputs.items()}
    return lambda: session.run(None, feed)[0]


def openvino_config(num_threads):
    """The CPU plugin's properties for one layer at ``num_threads``:

    * ``INFERENCE_NUM_THREADS``: the thread count (like ``intra_op_num_threads``; OpenVINO
      lowers a count above the machine's cores to that number);
    * ``INFERENCE_PRECISION_HINT`` ``f32``: otherwise the plugin may run bf16 (or f16) on a
      CPU that has it, and compare another computation than ours;
    * ``PERFORMANCE_HINT`` ``LATENCY`` and ``NUM_STREAMS`` 1: one request at a time on every
      thread, as each peer is called here (not throughput mode's several streams);
    * ``ENABLE_CPU_PINNING`` off: no peer pins its threads to cores (suite's OpenMP threads,
      PyTorch's and ONNX Runtime's are unbound); the contestants share the same cores in
      turn, and pinned threads would fare differently when other work runs on the machine.
    """
    return {"INFERENCE_NUM_THREADS": int(num_threads), "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "ENABLE_CPU_PINNING": False}


def _openvino_run(model, inputs, num_threads):
    """OpenVINO: the ONNX model read by ``Core.read_model`` and compiled for "CPU" with
    :func:`openvino_config`; one infer request whose input tensors share the inputs' memory
    and whose output tensor is an array allocated here, all set once. The call is
    ``request.infer()`` (synchronous; about 10 us of Python around the inference) and
    returns that array, overwritten by the next call.

    The plugin may run a node in its own channels-last layout: then the call includes the
    reorders from NCHW and back (``PERF_COUNT`` shows them: on nearest x2 of a 64x256x256
    map the output's reorder takes several times the interpolation), which a whole
    network pays only at its boundaries."""
    ov = import_peer("openvino")
    core = ov.Core()
    compiled = core.compile_model(core.read_model(model.SerializeToString()), "CPU",
                                  openvino_config(num_threads))
    request = compiled.create_infer_request()
    tensors = {name: ov.Tensor(np.ascontiguousarray(a), shared_memory=True)
               for name, a in inputs.items()}
    for name, tensor in tensors.items():
        request.set_tensor(name, tensor)
    out = np.empty(tuple(compiled.output(0).get_shape()), dtype=ENGINE_DTYPE)
    request.set_output_tensor(ov.Tensor(out, shared_memory=True))

    def infer():
        request.infer(share_outputs=True)
        return out

    # The request reads the inputs' memory without holding the arrays: the call keeps them.
    infer.input_tensors = tensors

    return infer


_ENGINE_RUNS = {"onnxruntime": _onnxruntime_run, "openvino": _openvino_run}


def _engine_run(engine, make_nodes, inputs, initializers, num_threads):
    """A callable running the graph of ``make_nodes(onnx.helper)`` on ``inputs`` in
    ``engine``, prepared here (outside any timed region)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    import_peer(engine)
    for name, a in {**inputs, **initializers}.items():
        if a.dtype != ENGINE_DTYPE:
            raise TypeError(f"{engine} runs these graphs in {ENGINE_DTYPE.name} only; "
                            f"{name} is {a.dtype}")
    onnx = importlib.import_module("onnx")
    model = _onnx_model(onnx, make_nodes(onnx.helper), inputs, initializers)
    return _ENGINE_RUNS[engine](model, inputs, num_threads)


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def engine_deconv2d(engine, x, weight, bias, num_threads, stride=1, padding=0,
                    output_padding=0, dilation=1, groups=1):
    """``engine``'s ``ConvTranspose`` of one layer (weights (C_in, C_out/g, kH, kW) as in
    PyTorch; ``pads`` = [pH, pW, pH, pW]), which gives PyTorch's output shape."""
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding,
                                                         dilation))
    kh, kw = weight.shape[2:]
    initializers = {"w": weight} if bias is None else {"w": weight, "b": bias}

    def nodes(helper):
        return [helper.make_node("ConvTranspose", ["x", *initializers], ["y"],
                                 kernel_shape=[kh, kw], strides=[sh, sw],
                                 pads=[ph, pw, ph, pw], output_padding=[oh, ow],
                                 dilations=[dh, dw], group=int(groups))]

    return _engine_run(engine, nodes, {"x": x}, initializers, num_threads)


#: ONNX operators of the activations :func:`engine_deconv_stack` puts after its layers.
ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh"}


def engine_deconv_stack(engine, x, layers, num_threads):
    """``engine``'s graph of several transposed convolutions in a row, each followed by its
    activation: ``layers`` is a list of (weight, bias or None, stride, padding, activation
    or None) with activation one of :data:`ACTIVATIONS`; x feeds the first (a generator
    network, as exported to ONNX with batch normalization folded in)."""
    initializers, specs = {}, []
    for i, (weight, bias, stride, padding, activation) in enumerate(layers):
        if activation is not None and activation not in ACTIVATIONS:
            raise ValueError(f"layer {i}: activation must be one of {sorted(ACTIVATIONS)} or "
                             f"None, got {activation!r}")
        initializers[f"w{i}"] = weight
        if bias is not None:
            initializers[f"b{i}"] = bias
        specs.append((i, weight.shape[2:], _pair(stride), _pair(padding), bias is not None,
                      activation))

    def nodes(helper):
        made, source = [], "x"
        for i, (kh, kw), (sh, sw), (ph, pw), has_bias, activation in specs:
            last = i == len(specs) - 1
            conv_out = "y" if last and activation is None else f"c{i}"
            made.append(helper.make_node(
                "ConvTranspose", [source, f"w{i}"] + ([f"b{i}"] if has_bias else []),
                [conv_out], kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw]))
            source = conv_out
            if activation is not None:
                act_out = "y" if last else f"a{i}"
                made.append(helper.make_node(ACTIVATIONS[activation], [source], [act_out]))
                source = act_out
        return made

    return _engine_run(engine, nodes, {"x": x}, initializers, num_threads)


#: Resize's attributes that equal PyTorch's ``interpolate`` with a scale factor: nearest =
#: ``asymmetric`` coordinates and ``floor`` rounding; bilinear (align_corners=False) =
#: ``linear`` with ``pytorch_half_pixel`` coordinates. Both map an output coordinate back
#: through the scale as given, as PyTorch does with ``scale_factor`` (not through the ratio
#: of the sizes), so fractional scales agree too (the tests check 1.5 and 2.5).
RESIZE_ATTRIBUTES = {
    "nearest": dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                    nearest_mode="floor"),
    "bilinear": dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
}


def _resize_node(helper, mode, output):
    """``Resize`` of graph input "x" by the initializer "scales" into ``output``."""
    return helper.make_node("Resize", ["x", "", "scales"], [output], **RESIZE_ATTRIBUTES[mode])


def _scales(scale_factor):
    return {"scales": np.array([1, 1, scale_factor, scale_factor], dtype=np.float32)}


def engine_upsample_conv2d(engine, x, weight, bias, scale_factor, mode, padding, num_threads):
    """``engine``'s upsample + convolution (as :func:`torch_upsample_conv2d`): ``Resize`` by
    ``scale_factor`` (:data:`RESIZE_ATTRIBUTES`; the scale may be fractional), then ``Conv``
    with ``weight`` (any kernel), ``bias`` (or none) and ``padding`` on every side, in one
    graph, so the engine may fuse the two nodes if it knows how."""
    ph, pw = _pair(padding)
    kh, kw = weight.shape[2:]
    initializers = {**_scales(scale_factor), "cw": weight}
    if bias is not None:
        initializers["cb"] = bias

    def nodes(helper):
        conv_inputs = ["up", "cw"] + (["cb"] if bias is not None else [])
        return [_resize_node(helper, mode, "up"),
                helper.make_node("Conv", conv_inputs, ["y"], kernel_shape=[kh, kw],
                                 pads=[ph, pw, ph, pw])]

    return _engine_run(engine, nodes, {"x": x}, initializers, num_threads)


def engine_counterpart(engine, kind, scale_factor, num_threads, x, conv_weight=None,
                       conv_bias=None, skip=None):
    """``engine``'s version of a catalogue counterpart (as :func:`torch_counterpart`):
    ``Resize`` by ``scale_factor`` (:data:`RESIZE_ATTRIBUTES`), then a 3x3 ``Conv`` (padding
    1, bias; :func:`engine_upsample_conv2d`) for "+conv3x3" or an ``Add`` of the graph input
    ``skip`` for "+add"."""
    mode, _, then = kind.partition("+")
    if mode not in RESIZE_ATTRIBUTES or then not in ("", "conv3x3", "add"):
        raise ValueError(f"kind must be nearest or bilinear, optionally +conv3x3 or +add; "
                         f"got {kind!r}")
    if then == "conv3x3":
        return engine_upsample_conv2d(engine, x, conv_weight, conv_bias, scale_factor, mode,
                                      1, num_threads)
    inputs = {"x": x} if then == "" else {"x": x, "skip": skip}

    def nodes(helper):
        if then == "add":
            return [_resize_node(helper, mode, "up"),
                    helper.make_node("Add", ["up", "skip"], ["y"])]
        return [_resize_node(helper, mode, "y")]

    return _engine_run(engine, nodes, inputs, _scales(scale_factor), num_threads)
