"""im2col / col2im (``unfold`` / ``fold``) with the geometry each catalogue layer uses.

* ``deconv``: the layer's transposed convolution by the col2im method scatters columns of
  shape (N, C_out*k*k, H*W) into the (H_out, W_out) output with the layer's kernel, stride and
  padding: that ``col2im``, and its adjoint ``im2col`` of an output-shaped map.
  Deconvolution layers only.
* ``conv3x3``: the 3x3, padding 1 convolution of the "upsample + 3x3 conv" counterpart:
  ``im2col`` of the upsampled map (N, C_in*9, H_out*W_out) and the ``col2im`` back (full
  profile only).

Memory-bound kernels: compare track_gbps with the machine's copy bandwidth
(``bench_ceilings``). col2im's FLOPs are its additions (one per column value).
"""

import suite

from . import common

#: quick: the deconvolution's geometry only.
GEOMETRIES = ["deconv", "conv3x3"] if common.FULL else ["deconv"]


def unfold_geometry(entry, geometry):
    """(image shape (N, C, H, W), cols shape, keyword arguments of im2col / col2im)."""
    if geometry == "conv3x3":
        n, c, h, w = entry.upsample_output_shape
        return (n, c, h, w), (n, c * 9, h * w), dict(kernel_size=3, padding=1)
    if not entry.has_deconv:
        raise NotImplementedError(f"{entry.name} has no transposed convolution")
    n, c, h, w = entry.output_shape
    k = entry.kernel
    cols = (n, c * k * k, entry.height * entry.width)
    return (n, c, h, w), cols, dict(kernel_size=k, stride=entry.stride, padding=entry.padding)


class _UnfoldCase:
    params = [common.layer_names(), GEOMETRIES, common.DTYPES, common.THREADS]
    param_names = ["layer", "geometry", "dtype", "threads"]
    op = None

    def build(self, layer, geometry, dtype, threads=1):
        image, cols, kwargs = unfold_geometry(common.layer(layer), geometry)
        if self.op == "im2col":
            cost = common.cost("im2col", dtype, input_shape=image, **kwargs)
        else:
            cost = common.cost("col2im", dtype, cols_shape=cols, output_size=image[2:],
                               **kwargs)
        op = self.op

        def prepare():
            rng = common.rng_for(op, layer, geometry)
            if op == "im2col":
                x = rng.standard_normal(image).astype(dtype)
                return lambda: suite.im2col(x, **kwargs, num_threads=threads)
            c = rng.standard_normal(cols).astype(dtype)
            return lambda: suite.col2im(c, image[2:], **kwargs, num_threads=threads)

        return common.Case(cost, prepare)


class _Im2colCase(_UnfoldCase):
    op = "im2col"


class _Col2imCase(_UnfoldCase):
    op = "col2im"


class Im2col(_Im2colCase, common.Gbps, common.TimeBench):
    def time_im2col(self, *params):
        self.case.run()


class Im2colPeakMem(_Im2colCase, common.MemBench):
    def peakmem_im2col(self, *params):
        self.case.run()


class Col2im(_Col2imCase, common.Gbps, common.TimeBench):
    def time_col2im(self, *params):
        self.case.run()


class Col2imPeakMem(_Col2imCase, common.MemBench):
    def peakmem_col2im(self, *params):
        self.case.run()


class UnfoldCost(_Im2colCase, common.CostBench):
    """Bytes of im2col (col2im moves the same bytes; its FLOPs are the column count)."""

    params = _UnfoldCase.params[:-1]
    param_names = _UnfoldCase.param_names[:-1]
