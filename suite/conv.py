"""im2col / col2im, convolution and transposed convolution (NCHW, float32 and float64).

Semantics and argument names follow PyTorch's functional API (``unfold``, ``fold``,
``conv2d``, ``conv_transpose2d``); weights use the Caffe/PyTorch layouts.
"""

import functools
import math
import os
from typing import NamedTuple

import numpy as np

from . import _banded, _direct, _im2col, _outputs, _phase, _winograd, wisdom
from ._plan import (
    BAND_MIN_COLUMNS,
    DECONV_ALGORITHMS,
    DECONV_METHODS,
    DIRECT_MAX_CHANNELS,
    TAP_MAJOR_BELOW,
    band_channels,
    band_rows,
    choose_algorithm,
    col2im_blocking,
    images_per_gemm,
    one_pixel_deconv,
    own_gemm_takes,
    pointwise_conv,
    pointwise_deconv,
    pointwise_images,
    phase_gemm_images,
    planning_width,
    streams_past_cache,
    thin_pointwise,
    threads_for_work,
    winograd_blocking,
    winograd_phase_values,
)
from ._threads import effective_n_threads, single_threaded_blas
from .profiling import note_call, profiled
from ._validation import (
    check_array,
    check_bias,
    check_blas_dims,
    check_choice,
    check_conv_arguments,
    check_input,
    check_int,
    check_out,
    check_pair,
    check_same_dtype,
    check_size,
    check_weight,
    contiguous,
    make_output,
)
from .geometry import (
    PHASE_FIRST,
    PHASE_TAPS,
    check_geometry,
    check_output_padding,
    conv2d_output_shape,
    deconv2d_output_shape,
    deconv_winograd_taps,
    phase_table,
    sliding_positions,
)

#: The modules whose float32 GEMMs suite's own kernels (pyx/_sgemm.h) may run; each holds
#: its own copy of the kernels' switch.
_OWN_GEMM_MODULES = (_im2col, _phase, _winograd, _banded)


def own_gemm(allow=None):
    """What runs the float32 products suite's own AVX-512 kernels take (col2im's A^T B, the
    convolutions' weight times columns; pyx/_sgemm.h): "avx512" or "blas". ``allow=False``
    sends them all to BLAS, ``True`` gives them back to the kernels (where the CPU has
    AVX-512)."""
    for module in _OWN_GEMM_MODULES:
        module.gemm_kernel(allow_own=allow)
    return _im2col.gemm_kernel()


# SUITE_OWN_GEMM=0 sends those products to BLAS: for comparing the two, or as a way out
# should the kernels misbehave.
if os.environ.get("SUITE_OWN_GEMM", "1").strip() == "0":
    own_gemm(False)

__all__ = [
    "im2col",
    "col2im",
    "conv2d",
    "deconv2d",
    "deconv2d_backward",
    "deconv2d_output_shape",
    "conv2d_output_shape",
    "bilinear_kernel",
    "DECONV_ALGORITHMS",
]


@profiled("im2col", "im2col")
def im2col(x, kernel_size, stride=1, padding=0, dilation=1, *, num_threads=None):
    """Unfold sliding kH x kW patches of ``x`` into columns (``torch.nn.functional.unfold``).

    x (N, C, H, W) -> (N, C*kH*kW, L), L = H_out*W_out with
    ``H_out = (H + 2*pH - dH*(kH - 1) - 1)//sH + 1``; row ``c*kH*kW + i*kW + j`` of image n holds
    x[n, c, h*sH - pH + i*dH, w*sW - pW + j*dW] (zero in the padding).

    Cost: no FLOPs; reads x once and writes C*kH*kW*L values per image.
    """
    x = check_input(x)
    kernel = check_pair(kernel_size, "kernel_size", 1)
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    n_threads = effective_n_threads(num_threads)
    n, c, h, w = x.shape
    out_h = sliding_positions(h, kernel[0], stride[0], padding[0], dilation[0], "input height")
    out_w = sliding_positions(w, kernel[1], stride[1], padding[1], dilation[1], "input width")
    out = make_output(None, (n, c * kernel[0] * kernel[1], out_h * out_w), x.dtype, ())
    note_call("im2col", n_threads)
    _im2col.im2col(contiguous(x), out, kernel[0], kernel[1], stride[0], stride[1],
                   padding[0], padding[1], dilation[0], dilation[1], out_h, out_w, n_threads)
    return out


@profiled("col2im", "col2im")
def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1, *,
           num_threads=None):
    """Sum columns back into images (``torch.nn.functional.fold``), the adjoint of im2col.

    cols (N, C*kH*kW, L) -> (N, C, H, W) with (H, W) = output_size; L must be the number of
    kernel positions on that image. Overlapping patches add up.

    Cost: C*kH*kW*L additions per image; reads cols once, writes the image once.
    """
    cols = check_array(cols, "cols", 3)
    size = check_pair(output_size, "output_size", 1)
    kernel = check_pair(kernel_size, "kernel_size", 1)
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    n_threads = effective_n_threads(num_threads)
    n, rows, length = cols.shape
    kk = kernel[0] * kernel[1]
    if rows < 1 or rows % kk:
        raise ValueError(
            f"cols must have a positive multiple of kH*kW = {kk} rows (C*kH*kW), got {rows} "
            f"(shape {cols.shape})"
        )
    col_h = sliding_positions(size[0], kernel[0], stride[0], padding[0], dilation[0],
                               "output height")
    col_w = sliding_positions(size[1], kernel[1], stride[1], padding[1], dilation[1],
                               "output width")
    if length != col_h * col_w:
        raise ValueError(
            f"cols has {length} columns but output_size={size} with kernel_size={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation} has "
            f"{col_h}x{col_w} = {col_h * col_w} kernel positions"
        )
    out = make_output(None, (n, rows // kk, size[0], size[1]), cols.dtype, ())
    note_call("col2im", n_threads)
    _im2col.col2im(contiguous(cols), out, kernel[0], kernel[1], stride[0], stride[1],
                   padding[0], padding[1], dilation[0], dilation[1], col_h, col_w, n_threads)
    return out


@profiled("conv2d", "im2col")
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, out=None,
           num_threads=None):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) or None ->
    (N, C_out, H_out, W_out), ``H_out = (H + 2*pH - dH*(kH - 1) - 1)//sH + 1``.

    Method: im2col, then one GEMM per group for a batch of images (several small images share
    one GEMM), or per band of output rows on larger maps; deep layers pack and multiply
    their columns a slice of input channels at a time, so that a slice stays in the cache
    for its product. Cost: 2*C_out*(C_in/groups)*kH*kW*H_out*W_out FLOPs per image; a
    column workspace of at most C_in*kH*kW*H_out*W_out values per batched image (none for
    a 1x1, stride-1, unpadded convolution of one image; see suite.cost.conv2d_cost).
    """
    x, weight, bias, groups = check_conv_arguments(x, weight, bias, groups)
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    n_threads = effective_n_threads(num_threads)
    shape = conv2d_output_shape(x.shape, weight.shape, stride, padding, dilation)
    out = make_output(out, shape, x.dtype, (("x", x), ("weight", weight), ("bias", bias)))
    return conv2d_into(x, weight, bias, out, stride, padding, dilation, groups, n_threads)


def conv2d_into(x, weight, bias, out, stride, padding, dilation, groups, n_threads,
                note=True):
    """:func:`conv2d`'s work on checked arguments (pairs, ``out`` of the output's shape),
    for kernels that run a convolution as one of their stages (``note=False``: the
    profile's call keeps the caller's method)."""
    c_out, c_in_per_group, kh, kw = weight.shape
    n, _, out_h, out_w = out.shape
    if n == 0:
        return out
    per_image = out_h * out_w
    # a 1x1 convolution's columns are x itself: no bands (their columns a copy of x)
    if per_image >= BAND_MIN_COLUMNS and not pointwise_conv((kh, kw), stride, padding):
        rows = band_rows(n * groups, out_h, out_w, c_in_per_group * kh * kw, x.itemsize,
                         planning_width())
        check_blas_dims(M=c_out // groups, N=rows * out_w, K=c_in_per_group * kh * kw,
                        ldc=per_image)
        if note:
            note_call("banded", n_threads)
        channels = band_channels(c_in_per_group, kh * kw, rows * out_w, x.itemsize)
        with single_threaded_blas():
            _banded.banded_conv2d(contiguous(x), contiguous(weight), bias, out,
                                  stride[0], stride[1], padding[0], padding[1],
                                  dilation[0], dilation[1], groups, rows, channels, n_threads)
        return out
    channels = 0        # the columns of every input channel at once
    if pointwise_conv((kh, kw), stride, padding):
        nb = pointwise_images(n, per_image, c_in_per_group, c_out // groups, c_out, x.itemsize,
                              False)
    else:
        nb = images_per_gemm(n, per_image, c_in_per_group * kh * kw + c_out, x.itemsize)
        channels = band_channels(c_in_per_group, kh * kw, nb * per_image, x.itemsize)
    check_size((c_in_per_group * kh * kw, nb * per_image), "the column workspace")
    check_blas_dims(M=c_out // groups, N=nb * per_image, K=c_in_per_group * kh * kw)
    if note:
        note_call("im2col", n_threads)
    with single_threaded_blas():
        _im2col.conv2d_im2col(contiguous(x), contiguous(weight), bias, out, stride[0], stride[1],
                              padding[0], padding[1], dilation[0], dilation[1], groups, nb,
                              n_threads, False, channels)
    return out


class WinogradPhases:
    """The Winograd F(2x2, 2x2) kernel over the phases (``_winograd.winograd_phases``),
    planned for one input shape: its blocking (tiles per block, output-channel parts,
    phases per weight pass), which depends on the shapes only, and the checks that refuse a
    workspace or GEMM that would not fit. ``strides``: the (group, output channel, input
    channel) strides of the kernels in the flat weight; ``taps``: the kernel positions each
    phase's 2x2 sub-kernel entry sums (tap_lists). The weight transform happens inside the
    kernel, pass by pass, on every call, unless the kernel is given every phase's
    transformed weights (``transform``: what a layer object keeps)."""

    def __init__(self, input_shape, c_out, groups, strides, taps, phases_h, phases_w,
                 itemsize, n_threads):
        n, c_in = input_shape[:2]
        cig, cog = c_in // groups, c_out // groups
        self.blocking = winograd_blocking(n, cig, cog, groups, itemsize, phases_h, phases_w,
                                          len(taps), strides[1] < strides[2],
                                          planning_width())
        block, _, phases_per_pass = self.blocking
        per_phase = winograd_phase_values(cig, cog, groups)
        check_size((phases_per_pass, per_phase), "the transformed weights")
        check_size((n_threads * 9 * (cig + cog), block + 32), "the Winograd workspace")
        check_blas_dims(M=cog, N=block, K=cig, lda=9 * (cig + 32), ldb=9 * (block + 32))
        self.arguments = (strides, taps, phases_h, phases_w, groups)
        self.n_threads = n_threads
        self._channels = (cig, cog)
        # more than the weight's values (9/4 of each phase's 2x2 sub-kernels, padded), which
        # is how run tells the two apart
        self.transformed_values = len(taps) * per_phase
        self.prepared_key = ("winograd", taps.shape, taps.tobytes())

    def transform(self, weight):
        """Every phase's transformed weights, from the contiguous weight (the kernel's own
        transform, once: the same values)."""
        strides, taps, _, _, groups = self.arguments
        transformed = _outputs.empty((self.transformed_values,), weight.dtype)
        _winograd.winograd_transformed_weights(weight.reshape(-1), strides, taps, groups,
                                               *self._channels[::-1], transformed,
                                               self.n_threads)
        return transformed

    def run(self, x, weight, bias, out):
        """out = bias + the phases of x with the (contiguous) weight, or with every phase's
        transformed weights (what ``transform`` gives)."""
        strides, taps, phases_h, phases_w, groups = self.arguments
        transformed = None
        if weight.size == self.transformed_values:
            transformed, weight = weight, weight[:0]
        with single_threaded_blas():
            _winograd.winograd_phases(contiguous(x), weight.reshape(-1), strides, taps, bias,
                                      out, phases_h, phases_w, groups, self.blocking,
                                      self.n_threads, transformed)


class DeconvGeometry(NamedTuple):
    """A transposed convolution's validated geometry (pairs, and the group count)."""
    stride: tuple
    padding: tuple
    output_padding: tuple
    dilation: tuple
    groups: int


def _plain_pair(value):
    """An int or a tuple of two ints (not bools, not NumPy integers)."""
    return type(value) is int or (type(value) is tuple and len(value) == 2
                                  and type(value[0]) is int and type(value[1]) is int)


def _plain_geometry(stride, padding, output_padding, dilation, groups):
    """Whether every geometry argument is plain (``_plain_pair``; groups an int): then equal
    arguments mean the same checks and the same result, and a cache may key on them."""
    return (type(groups) is int and _plain_pair(stride) and _plain_pair(padding)
            and _plain_pair(output_padding) and _plain_pair(dilation))


def deconv_geometry(stride, padding, output_padding, dilation, groups):
    """Check a transposed convolution's geometry arguments once (:class:`DeconvGeometry`):
    cached when every argument is plain (``_plain_geometry``); checked afresh otherwise, so
    that every bad argument still gets its error (3.7 of a 1x24x5x5 call's 11 us were these
    checks)."""
    if _plain_geometry(stride, padding, output_padding, dilation, groups):
        return _deconv_geometry_cached(stride, padding, output_padding, dilation, groups)
    return _deconv_geometry(stride, padding, output_padding, dilation, groups)


@functools.lru_cache(maxsize=256)
def _deconv_geometry_cached(stride, padding, output_padding, dilation, groups):
    return _deconv_geometry(stride, padding, output_padding, dilation, groups)


def _deconv_geometry(stride, padding, output_padding, dilation, groups):
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    output_padding = check_output_padding(output_padding, stride, dilation)
    return DeconvGeometry(stride, padding, output_padding, dilation,
                          check_int(groups, "groups", minimum=1))


def check_deconv_weight(weight_shape, c_in, groups):
    """A transposed convolution's weight (C_in, C_out/groups, kH, kW) for C_in channels."""
    if weight_shape[0] != c_in:
        raise ValueError(
            f"weight must have shape (C_in, C_out/groups, kH, kW) with C_in = {c_in} "
            f"(the channels of x), got {weight_shape}"
        )
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide the input channels ({c_in})")


class KernelPlan:
    """What the plans share: ``prepare(weight)`` gives the weights the planned kernel reads
    (the contiguous weight, or what the plan's ``_pack`` makes of it), ``run(x, prepared,
    bias, out)`` calls the kernel into ``out`` (the planned shape; bias None or contiguous)
    and returns it, and ``problem_key`` names the configuration in the wisdom."""

    prepared_key = "weight"
    kernel_name = None  # the method the kernel runs (what a profile records)
    _kernel = None      # the planned kernel; None for an empty batch
    _pack = None        # weight -> packed weights, for the methods that pack them
    _keep = None        # weight -> what a layer keeps, where it differs from _pack's

    def prepare(self, weight, kept=False):
        """The weights the kernel reads, from a weight of the planned shape and dtype;
        ``kept``: for a layer object, which keeps them across calls (the Winograd plans
        then transform the weights once, where a function's call has its kernel transform
        them pass by pass)."""
        weight = contiguous(weight)
        if kept and self._keep is not None:
            return self._keep(weight)
        return weight if self._pack is None else self._pack(weight)

    def run(self, x, prepared, bias, out):
        """out = the planned operation on x with the prepared weights, plus bias."""
        if self._kernel is not None:
            note_call(self.kernel_name, self.n_threads)
            self._kernel(x, prepared, bias, out)
        return out

    @staticmethod
    def problem_key(caller, input_shape, weight_shape, dtype, geometry, n_threads):
        """The configuration's key in the wisdom (suite.wisdom.problem_key)."""
        return wisdom.problem_key(caller, np.dtype(dtype).name, n_threads, x=input_shape,
                                  weight=weight_shape, **geometry._asdict())


class DeconvPlan(KernelPlan):
    """How :func:`deconv2d` runs one configuration with one algorithm, decided from the
    input and weight shapes, the dtype, the geometry and the thread count alone (an FFTW
    plan; oneDNN's primitive): the output shape, the threads the work is worth
    (``threads_for_work``), the algorithm's tables and blocking, and the checks that refuse
    a workspace or a GEMM that would not fit, all before any work. Plans are cached (see
    :func:`plan_call`) and hold no array of a caller's.

    ``prepare(weight)`` (:class:`KernelPlan`) gives the packed phase sub-kernels for
    ``"phase"``, the contiguous weight otherwise (the Winograd kernel transforms it on every
    call; a layer object's ``prepare(weight, kept=True)`` transforms it once).
    ``prepared_key`` says what the prepared weights depend on besides the weight itself, so
    a layer object that sees several input shapes prepares them once per key.
    """

    def __init__(self, input_shape, weight_shape, dtype, geometry, algorithm, n_threads):
        stride, padding, output_padding, dilation, groups = geometry
        self.shape = deconv2d_output_shape(input_shape, weight_shape, stride, padding,
                                           output_padding, dilation, groups)
        check_size(self.shape, "the output")
        self.algorithm = self.kernel_name = algorithm
        n, c_in, h, w = input_shape
        _, cog, kh, kw = weight_shape
        itemsize = np.dtype(dtype).itemsize
        self.n_threads = self.call_threads(input_shape, weight_shape, self.shape, itemsize,
                                           n_threads)
        if n == 0:
            return
        if algorithm in ("phase", "winograd"):
            phases_h, step_h, dil_h = phase_table(h, self.shape[2], kh, stride[0], padding[0],
                                                   dilation[0])
            phases_w, step_w, dil_w = phase_table(w, self.shape[3], kw, stride[1], padding[1],
                                                   dilation[1])
            taps = None
            if algorithm == "winograd":
                taps = deconv_winograd_taps((h, w), self.shape[2:], (kh, kw), stride, padding,
                                            dilation)
            if taps is not None:
                strides = ((c_in // groups) * cog * kh * kw, kh * kw, cog * kh * kw)
                winograd = WinogradPhases(input_shape, cog * groups, groups, strides, taps,
                                          phases_h, phases_w, itemsize, self.n_threads)
                self._kernel, self._keep = winograd.run, winograd.transform
                self.prepared_key = winograd.prepared_key
                return
            self.kernel_name = "phase"      # also "winograd" where a phase is not 2x2
            self._phases = (phases_h, phases_w, step_h, step_w, dil_h, dil_w, groups)
            self._images = phase_gemm_images(n, phases_h, phases_w, c_in // groups, cog,
                                             itemsize)
            self.prepared_key = ("phase", step_h, step_w,
                                 phases_h[:, [PHASE_TAPS, PHASE_FIRST]].tobytes(),
                                 phases_w[:, [PHASE_TAPS, PHASE_FIRST]].tobytes())
            self._kernel = self._phase
            self._pack = self._pack_phases
        elif algorithm == "direct":
            self._geometry = (stride, padding, dilation, groups)
            self._kernel = self._direct
        elif one_pixel_deconv((h, w), padding, output_padding, dilation):
            # the columns would be the output itself: one GEMM per group straight into it
            check_blas_dims(M=n, N=cog * kh * kw, K=c_in // groups,
                            ldc=math.prod(self.shape[1:]))
            self._groups = groups
            self._kernel = self._one_pixel
        elif pointwise_deconv((kh, kw), stride, padding, output_padding):
            if c_in == groups:
                # one input channel per group: a product of K 1, each output plane an input
                # plane scaled (no GEMM)
                self._geometry = (groups,)
                self._kernel = self._scaled
            elif thin_pointwise(c_in, groups, cog, itemsize):
                # a product of so few rows runs faster as x's rows streamed into them
                self._geometry = (groups,)
                self._kernel = self._thin
            else:
                # the columns would be the output itself: the 1x1 convolution with each
                # group's weight read as its transpose where it lies
                images = pointwise_images(n, h * w, c_in // groups, cog, self.shape[1],
                                          itemsize, True)
                check_size((c_in // groups, images * h * w), "the column workspace")
                check_blas_dims(M=cog, N=images * h * w, K=c_in // groups, lda=cog)
                self._geometry = (groups, images)
                self._kernel = self._pointwise
        else:
            nb, blocks, rows = col2im_blocking(n, c_in, h, w, cog, kh * kw, groups, itemsize,
                                               planning_width())
            check_size((cog * kh * kw, nb * rows * w), "the column workspace")
            check_blas_dims(M=cog * kh * kw, N=nb * rows * w, K=c_in // groups)
            self._geometry = (stride, padding, dilation, groups)
            self._blocking = (nb, blocks, rows)
            # an output past the cache: its spread planes written with non-temporal stores
            self._stream = streams_past_cache(
                (math.prod(input_shape) + math.prod(self.shape)) * itemsize, self.n_threads)
            # every product on suite's own kernels: BLAS is never called
            self._no_blas = own_gemm_takes(cog * kh * kw, nb * rows * w, c_in // groups,
                                           itemsize)
            self._kernel = self._col2im

    @staticmethod
    def call_threads(input_shape, weight_shape, output_shape, itemsize, n_threads):
        """The threads a call runs on: ``n_threads``, fewer for little work."""
        n, c_in, h, w = input_shape
        _, cog, kh, kw = weight_shape
        return threads_for_work(n_threads, 2 * n * c_in * cog * kh * kw * h * w,
                                (math.prod(input_shape) + math.prod(output_shape)) * itemsize)

    def _pack_phases(self, weight):
        phases_h, phases_w, step_h, step_w, _, _, groups = self._phases
        packed = _outputs.empty((weight.size,), weight.dtype)
        _phase.pack_deconv_phase_weights(weight, phases_h, phases_w, step_h, step_w, groups,
                                         packed, self.n_threads)
        return packed

    def _phase(self, x, packed, bias, out):
        phases_h, phases_w, _, _, dil_h, dil_w, groups = self._phases
        with single_threaded_blas():
            _phase.phase_correlation(contiguous(x), packed, bias, out, phases_h, phases_w,
                                     dil_h, dil_w, groups, self._images, self.n_threads)

    def _direct(self, x, weight, bias, out):
        stride, padding, dilation, groups = self._geometry
        # no GEMM: no BLAS to hold
        _direct.deconv2d_direct(contiguous(x), weight, bias, out, stride[0], stride[1],
                                padding[0], padding[1], dilation[0], dilation[1], groups,
                                TAP_MAJOR_BELOW, self.n_threads)

    def _scaled(self, x, weight, bias, out):
        _im2col.scale_planes(contiguous(x), weight, bias, out, self._geometry[0],
                             self.n_threads)

    def _thin(self, x, weight, bias, out):
        _im2col.thin_planes(contiguous(x), weight, bias, out, self._geometry[0],
                            self.n_threads)

    def _pointwise(self, x, weight, bias, out):
        groups, images = self._geometry
        with single_threaded_blas():
            _im2col.conv2d_im2col(contiguous(x), weight, bias, out, 1, 1, 0, 0, 1, 1, groups,
                                  images, self.n_threads, True)

    def _one_pixel(self, x, weight, bias, out):
        with single_threaded_blas():
            _im2col.deconv2d_one_pixel(contiguous(x), weight, bias, out, self._groups,
                                       self.n_threads)

    def _col2im(self, x, weight, bias, out):
        if self._no_blas and _im2col.gemm_kernel() == "avx512":
            # no BLAS call to hold at one thread (the hold costs 2 us: item 37)
            self._col2im_kernel(x, weight, bias, out)
            return
        with single_threaded_blas():
            self._col2im_kernel(x, weight, bias, out)

    def _col2im_kernel(self, x, weight, bias, out):
        stride, padding, dilation, groups = self._geometry
        _im2col.deconv2d_col2im(contiguous(x), weight, bias, out, stride[0], stride[1],
                                padding[0], padding[1], dilation[0], dilation[1], groups,
                                *self._blocking, self.n_threads, self._stream)

    @staticmethod
    def candidates(input_shape, weight_shape, geometry, prepared=False, n_threads=1,
                   itemsize=4):
        """The algorithms ``"measure"`` times, ``"auto"``'s rule (:func:`choose_algorithm`,
        for the threads a call of ``n_threads`` runs on) first: col2im and phase, Winograd
        where every phase is 2x2, direct with at most DIRECT_MAX_CHANNELS input channels per
        group."""
        stride, padding, _, dilation, groups = geometry
        shape = deconv2d_output_shape(input_shape, weight_shape, *geometry)
        check_size(shape, "the output")     # before any table of stride rows
        rule = choose_algorithm(input_shape, weight_shape, stride, dilation, groups,
                                padding=padding, itemsize=itemsize, prepared=prepared,
                                num_threads=DeconvPlan.call_threads(
                                    input_shape, weight_shape, shape, itemsize, n_threads))
        kh, kw = weight_shape[2:]
        winograd = deconv_winograd_taps(input_shape[2:], shape[2:], (kh, kw), stride, padding,
                                        dilation) is not None
        applies = {"col2im": True, "phase": True, "winograd": winograd,
                   "direct": weight_shape[0] // groups <= DIRECT_MAX_CHANNELS}
        return (rule,) + tuple(a for a in DECONV_METHODS if a != rule and applies[a])


# ----------------------------------------------------------------------------------------
# plans by algorithm, "auto" and "measure" (shared by the functions and the layer objects)
# ----------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _plan(plan_type, input_shape, weight_shape, dtype, geometry, algorithm, n_threads):
    return plan_type(input_shape, weight_shape, dtype, geometry, algorithm, n_threads)


@functools.lru_cache(maxsize=512)
def _choice(plan_type, caller, input_shape, weight_shape, dtype, geometry, n_threads,
            generation, prepared):
    """(the recorded choice or None, the candidates): wisdom read once per generation."""
    candidates = plan_type.candidates(input_shape, weight_shape, geometry, prepared,
                                      n_threads, np.dtype(dtype).itemsize)
    recorded = wisdom.lookup(plan_type.problem_key(caller, input_shape, weight_shape, dtype,
                                                   geometry, n_threads))
    return (recorded if recorded in candidates else None), candidates


def plan_call(plan_type, caller, input_shape, weight_shape, dtype, geometry, algorithm,
              n_threads, prepared=False):
    """(the plan of one call, cached per configuration; None), or for ``"measure"`` without
    a recorded choice (the plan of ``"auto"``'s rule, for its output shape; a function
    ``measure(trial)``): ``trial(plan)`` returns a zero-argument callable that runs ``plan``
    on the caller's data; ``measure`` times the candidates with it (suite.wisdom) and
    returns the fastest one's plan.

    ``caller`` names what is measured in the wisdom's key: the function (which prepares its
    weights on every call) or the layer object (which prepared them once: ``prepared``, which
    the rule takes into account). ``"auto"`` runs the recorded choice where there is one, else
    the first candidate (its rule)."""
    measure = None
    if algorithm in ("auto", "measure"):
        recorded, candidates = _choice(plan_type, caller, input_shape, weight_shape, dtype,
                                       geometry, n_threads, wisdom.generation(), prepared)
        if (recorded is None and algorithm == "measure" and input_shape[0] > 0
                and len(candidates) > 1):
            measure = functools.partial(_measure, plan_type, caller, input_shape, weight_shape,
                                        dtype, geometry, candidates, n_threads)
        algorithm = recorded or candidates[0]
    return _plan(plan_type, input_shape, weight_shape, dtype, geometry, algorithm,
                 n_threads), measure


def _measure(plan_type, caller, input_shape, weight_shape, dtype, geometry, candidates,
             n_threads, trial):
    plans = {a: _plan(plan_type, input_shape, weight_shape, dtype, geometry, a, n_threads)
             for a in candidates}
    key = plan_type.problem_key(caller, input_shape, weight_shape, dtype, geometry, n_threads)
    return plans[wisdom.measure(key, {a: trial(p) for a, p in plans.items()})]


@profiled("deconv2d")
def deconv2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1,
             groups=1, *, algorithm="auto", out=None, num_threads=None):
    """Transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW), bias (C_out,) or None ->
    (N, C_out, H_out, W_out), ``H_out = (H - 1)*sH - 2*pH + dH*(kH - 1) + opH + 1``:
    every input pixel scatters its kernel-weighted value into the output,
    ``y[n, co, ih*sH - pH + i*dH, iw*sW - pW + j*dW] += x[n, ci, ih, iw] * w[ci, co, i, j]``.

    algorithm:

    * ``"col2im"``: Caffe's method. Per group ``col = W^T x`` by one GEMM (M =
      C_out/groups*kH*kW, N = images*H*W, K = C_in/groups), then col2im adds the columns into
      the output, bias included. Workspace: C_out/groups*kH*kW*H*W values per batched image;
      the additions overlap where the kernel is larger than the stride. Where the columns
      would be the output itself, no scatter: 1x1 maps (no padding or dilation) by one
      GEMM per group into the output; 1x1 kernels at stride 1 (no padding) as the 1x1
      convolution, each group's weight read as its transpose where it lies (x multiplied
      where it lies, one image at a time, unless batching images saves more padding of
      the products than its copies cost: then their columns are the workspace).
    * ``"phase"``: sub-pixel decomposition. The output splits into sH*sW phases, each a
      stride-1 correlation of x with the sub-kernel of the taps that land on it: an im2col of
      x and one GEMM (M = C_out/groups, N = images*H*W/(sH*sW) approximately, K =
      C_in/groups*kH*kW/(sH*sW)), whose result is written once into the phase's positions.
      Workspace: C_in/groups*kH*kW/(sH*sW)*H*W values per batched image and phase.
    * ``"winograd"``: the phases by Winograd F(2x2, 2x2) where every phase has a 2x2
      sub-kernel (kH = 2*sH, kW = 2*sW, dilation 1: DCGAN's and StyleGAN's k4 s2): each 2x2
      block of a phase's outputs comes from a 3x3 input patch in 9 multiplications instead of
      16, as 9 GEMMs per block of tiles (M = C_out/groups, K = C_in/groups). 1.78x fewer
      multiply-adds; the transforms only add and subtract. Other geometries run ``"phase"``.
      Workspace: the transformed weights (9/4 of the weight) and, per thread, one block's
      transformed tiles.
    * ``"direct"``: the definition, one output row at a time, starting from the bias: the
      input rows that reach it add their pixels times kernel rows, the output columns of
      each column phase computed contiguous in vectors across every kernel tap and then
      interleaved into the row. No GEMM; for layers with one to a few input channels per
      group (FCN's depthwise bilinear upsampling), where both GEMM methods would multiply
      with K = C_in/groups.
    * ``"auto"``: the algorithm measured fastest for this configuration on this machine
      where ``suite.wisdom`` has a choice recorded, else the rule of ``choose_algorithm``.
    * ``"measure"``: on the first call for a configuration (shapes, geometry, dtype, thread
      count), time every algorithm that applies on this call's data (col2im, phase,
      Winograd where every phase is 2x2, direct with at most 16 input channels per group),
      keep the fastest in ``suite.wisdom`` (memory and a file in the user's cache
      directory), and return its result; later calls, in this process or a later one, run
      it at once. The output is always exactly one algorithm's.

    Cost: 2*C_in*(C_out/groups)*kH*kW*H*W useful FLOPs per image for every method; the
    plan (tables, blocking, checks) is cached per configuration, and the weights are
    re-read (packed, for "phase"; transformed, for "winograd") on every call:
    ``suite.Deconv2d`` prepares them once.
    """
    algorithm = check_choice(algorithm, "algorithm", DECONV_ALGORITHMS)
    x = check_input(x)
    weight = check_weight(weight, x)
    n_threads = effective_n_threads(num_threads)
    plan, measure = _deconv_plan(x.shape, weight.shape, x.dtype, stride, padding,
                                 output_padding, dilation, groups, algorithm, n_threads)
    bias = check_bias(bias, plan.shape[1], x.dtype)
    # the plan checked its output shape: a fresh output needs no further check
    out = (_outputs.empty(plan.shape, x.dtype) if out is None else
           check_out(out, plan.shape, x.dtype, (("x", x), ("weight", weight), ("bias", bias))))
    if measure is not None:
        plan = measure(lambda p: lambda: p.run(x, p.prepare(weight), bias, out))
    return plan.run(x, plan.prepare(weight), bias, out)


def _deconv_plan(input_shape, weight_shape, dtype, stride, padding, output_padding, dilation,
                 groups, algorithm, n_threads):
    """deconv2d's (plan, measure) after its checks of the geometry and the weight's shape
    (:func:`plan_call`): one cache lookup where every geometry argument is plain
    (``_plain_geometry``; the wisdom's generation in the key, as ``_choice`` has it),
    instead of three (the geometry, the choice, the plan: 1.3 of a 1 x 11 x 5x5 call's 7.9
    us; docs/performance.md, item 95); checked afresh otherwise, so that every bad argument
    still gets its error."""
    if _plain_geometry(stride, padding, output_padding, dilation, groups):
        return _deconv_plan_cached(input_shape, weight_shape, dtype, stride, padding,
                                   output_padding, dilation, groups, algorithm, n_threads,
                                   wisdom.generation())
    return _deconv_plan_checked(input_shape, weight_shape, dtype, stride, padding,
                                output_padding, dilation, groups, algorithm, n_threads)


def _deconv_plan_checked(input_shape, weight_shape, dtype, stride, padding, output_padding,
                         dilation, groups, algorithm, n_threads):
    geometry = deconv_geometry(stride, padding, output_padding, dilation, groups)
    check_deconv_weight(weight_shape, input_shape[1], geometry.groups)
    return plan_call(DeconvPlan, "deconv2d", input_shape, weight_shape, dtype, geometry,
                     algorithm, n_threads)


@functools.lru_cache(maxsize=512)
def _deconv_plan_cached(input_shape, weight_shape, dtype, stride, padding, output_padding,
                        dilation, groups, algorithm, n_threads, generation):
    return _deconv_plan_checked(input_shape, weight_shape, dtype, stride, padding,
                                output_padding, dilation, groups, algorithm, n_threads)


def _check_deconv_arguments(x, weight, stride, padding, output_padding, dilation, groups):
    x = check_input(x)
    weight = check_weight(weight, x)
    c_in = x.shape[1]
    groups = check_int(groups, "groups", minimum=1)
    check_deconv_weight(weight.shape, c_in, groups)
    shape = deconv2d_output_shape(x.shape, weight.shape, stride, padding, output_padding,
                                  dilation, groups)
    stride, padding, dilation = check_geometry(stride, padding, dilation)
    return x, weight, stride, padding, dilation, groups, shape



@profiled("deconv2d_backward", "col2im")
def deconv2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0, dilation=1,
                      groups=1, *, num_threads=None):
    """Gradients of :func:`deconv2d` with respect to x, weight and bias.

    grad_out (N, C_out, H_out, W_out) of the forward output's shape ->
    (grad_x like x, grad_weight like weight, grad_bias (C_out,)).

    Method: cols = im2col(grad_out) on the input's grid (one workspace shared by both GEMMs);
    grad_x = W cols (a convolution of grad_out with the same weight), grad_weight = x cols^T
    summed over images, grad_bias = grad_out summed over N, H, W.
    Cost: 4*C_in*(C_out/groups)*kH*kW*H*W FLOPs per image (two GEMMs) plus N*C_out*H_out*W_out
    additions; a workspace of C_out/groups*kH*kW*H*W values per batched image (one group at a time).
    """
    x, weight, stride, padding, dilation, groups, shape = _check_deconv_arguments(
        x, weight, stride, padding, output_padding, dilation, groups)
    grad_out = check_array(grad_out, "grad_out", 4)
    check_same_dtype(x, "x", grad_out, "grad_out")
    if grad_out.shape != shape:
        raise ValueError(
            f"grad_out must have the forward output's shape {shape}, got {grad_out.shape}"
        )
    n_threads = effective_n_threads(num_threads)
    n, c_out = shape[:2]
    c_in, c_out_per_group, kh, kw = weight.shape
    grad_x = np.empty(x.shape, dtype=x.dtype)
    grad_w = np.zeros(weight.shape, dtype=x.dtype)
    grad_b = np.zeros(c_out, dtype=x.dtype)
    if n == 0:
        return grad_x, grad_w, grad_b
    per_image = x.shape[2] * x.shape[3]
    nb = images_per_gemm(n, per_image, c_out_per_group * kh * kw + c_in, x.itemsize)
    check_size((c_out_per_group * kh * kw, nb * per_image), "the column workspace")
    check_blas_dims(M=c_out_per_group * kh * kw, N=nb * per_image, K=c_in // groups)
    note_call("col2im", n_threads)
    with single_threaded_blas():
        _im2col.deconv2d_backward_col2im(contiguous(grad_out), contiguous(x), contiguous(weight),
                                         grad_x, grad_w, grad_b,
                                         stride[0], stride[1], padding[0], padding[1],
                                         dilation[0], dilation[1], groups, nb, n_threads)
    return grad_x, grad_w, grad_b


def bilinear_kernel(factor, channels, dtype=np.float32):
    """Caffe's BilinearFiller weights for a grouped deconvolution that upsamples by ``factor``.

    Returns (channels, 1, K, K) with ``K = 2*factor - factor % 2``,
    ``w[i, j] = (1 - |i/f - c|) * (1 - |j/f - c|)``, ``f = ceil(K/2)``,
    ``c = (2f - 1 - f % 2) / (2f)``. Use with ``stride=factor``,
    ``padding=ceil((factor - 1)/2)``, ``groups=channels``: the result equals bilinear
    ``align_corners=False`` upsampling except within ``factor`` pixels of the border.
    """
    factor = check_int(factor, "factor", minimum=1)
    channels = check_int(channels, "channels", minimum=1)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    size = 2 * factor - factor % 2
    check_size((channels, 1, size, size), "the kernel")
    f = math.ceil(size / 2)
    center = (2 * f - 1 - f % 2) / (2.0 * f)
    taps = 1 - np.abs(np.arange(size) / f - center)
    kernel = np.outer(taps, taps).astype(dtype)
    return np.ascontiguousarray(np.broadcast_to(kernel, (channels, 1, size, size)))
