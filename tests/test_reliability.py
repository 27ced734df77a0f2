"""Reliability: input layouts, NaN and Inf, concurrency, memory, sizes, the checked build.

* every kernel accepts every input layout (non-contiguous, negative strides, Fortran order,
  read-only arrays and read-only ``np.memmap``, misaligned buffers), gives the result of the
  C-contiguous input, and never writes its inputs;
* NaN and Inf propagate as in the reference;
* kernels called from several Python threads at once give correct results and leave the
  process's thread pools as they found them;
* 1,000 calls do not grow the process's memory; a call into ``out=`` allocates the
  workspace ``suite.cost`` gives (within 10%) and nothing else;
* sizes past 2**31 elements either work (64-bit indexing) or are refused with a clear error
  (``SUITE_RUN_SLOW=1``, ``make test-slow``, runs the ~11 GiB cases);
* under ``make test-boundscheck`` the build really has bounds checks on.
"""

import gc
import os
import subprocess
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from conftest import (LAYOUTS, assert_close, assert_close_nonfinite, assert_same_nonfinite,
                      load_reference, load_suite, noncontiguous, randn, seeded_rng)

suite = load_suite()
from suite import _outputs  # noqa: E402  (after load_suite, which builds if needed)
R = load_reference()

f32, f64 = np.float32, np.float64


# ----------------------------------------------------------------------------------------
# every kernel, as (inputs, call, oracle)
# ----------------------------------------------------------------------------------------

def _pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def nearest_index(in_size, out_size, scale, mode):
    """The reference's nearest source indices along one axis."""
    return R.upsample_source_indices(in_size, out_size, scale, mode, False)[0]


def nearest_maps(in_hw, size=None, scale_factor=None, mode="nearest"):
    out_hw = R.upsample_output_size(in_hw, size, scale_factor)
    scales = (None, None) if scale_factor is None else tuple(map(float, _pair(scale_factor)))
    return [nearest_index(in_hw[a], out_hw[a], scales[a], mode) for a in range(2)]


def nearest_gather(x, size=None, scale_factor=None, mode="nearest"):
    """Nearest upsampling as the gather it is (the reference's indices, no arithmetic)."""
    hi, wi = nearest_maps(x.shape[2:], size, scale_factor, mode)
    return np.asarray(x, dtype=f64)[:, :, hi][:, :, :, wi]


def nearest_scatter(g, input_shape, size=None, scale_factor=None, mode="nearest"):
    """The adjoint of :func:`nearest_gather`: a scatter-add, no arithmetic but sums."""
    hi, wi = nearest_maps(input_shape[2:], size, scale_factor, mode)
    n, c, h, w = input_shape
    t = np.zeros((n, c, g.shape[2], w))
    np.add.at(t, (slice(None), slice(None), slice(None), wi), np.asarray(g, dtype=f64))
    gx = np.zeros(input_shape)
    np.add.at(gx, (slice(None), slice(None), hi), t)
    return gx


class Kernel:
    """One kernel on one configuration.

    ``make(rng, dtype)`` returns the array arguments (the first is the one NaN/Inf go in),
    ``run(*arrays, num_threads=None)`` calls suite, ``reference(*float64 arrays)`` the oracle
    (which must give the same NaN/Inf pattern), ``exact`` says whether different input
    layouts must give bit-for-bit the same result, ``nonfinite`` which special values the
    oracle models ("nan+inf", or "nan" where the algorithm legitimately differs for Inf).
    """

    def __init__(self, name, make, run, reference, exact, nonfinite="nan+inf"):
        self.name, self.make, self.run, self.reference = name, make, run, reference
        self.exact, self.nonfinite = exact, nonfinite

    def arrays(self, dtype, seed=0):
        return self.make(seeded_rng("kernel", self.name, seed), dtype)

    def __repr__(self):
        return f"Kernel({self.name})"


def _x(rng, dtype, shape=(2, 6, 9, 7)):
    return randn(rng, shape, dtype)


CONV = dict(stride=(2, 1), padding=1, dilation=(1, 2))
DECONV = dict(stride=2, padding=1, output_padding=(1, 0), groups=2)
UP_NEAREST = dict(size=(19, 15), mode="nearest")                 # 9x7 -> 19x15
UP_BILINEAR = dict(scale_factor=(2, 1.5), mode="bilinear", align_corners=False)
UPCONV_COLLAPSED = dict(scale_factor=2, padding=1)
UPCONV_NEAREST_FLY = dict(scale_factor=1.5, padding=1, stride=(1, 2))
UPCONV_BILINEAR = dict(scale_factor=2, mode="bilinear", align_corners=True, padding=1)


def _deconv_kernel(algorithm):
    if algorithm == "winograd":
        # Winograd needs 2x2 phases (k = 2*stride); its input transform subtracts
        # neighbouring pixels (Inf - Inf is NaN), so only NaN is modelled
        return Kernel(
            "deconv2d[winograd]",
            lambda rng, dt: [_x(rng, dt), randn(rng, (6, 2, 4, 4), dt), randn(rng, (4,), dt)],
            lambda x, w, b, **kw: suite.deconv2d(x, w, b, **DECONV, algorithm="winograd",
                                                 **kw),
            lambda x, w, b: R.deconv2d(x, w, b, **DECONV),
            exact=False, nonfinite="nan")
    return Kernel(
        f"deconv2d[{algorithm}]",
        lambda rng, dt: [_x(rng, dt), randn(rng, (6, 2, 3, 4), dt), randn(rng, (4,), dt)],
        lambda x, w, b, **kw: suite.deconv2d(x, w, b, **DECONV, algorithm=algorithm, **kw),
        lambda x, w, b: R.deconv2d(x, w, b, **DECONV),
        exact=False)


KERNELS = [
    Kernel("im2col",
           lambda rng, dt: [_x(rng, dt)],
           lambda x, **kw: suite.im2col(x, (3, 2), **CONV, **kw),
           lambda x: R.im2col(x, (3, 2), **CONV),
           exact=True),
    Kernel("col2im",
           lambda rng, dt: [randn(rng, (2, 6 * 6, 5 * 7), dt)],   # 9x7 image, 3x2 kernel
           lambda c, **kw: suite.col2im(c, (9, 7), (3, 2), **CONV, **kw),
           lambda c: R.col2im(c, (9, 7), (3, 2), **CONV),
           exact=True),
    Kernel("conv2d",
           lambda rng, dt: [_x(rng, dt), randn(rng, (4, 3, 3, 2), dt), randn(rng, (4,), dt)],
           lambda x, w, b, **kw: suite.conv2d(x, w, b, **CONV, groups=2, **kw),
           lambda x, w, b: R.conv2d(x, w, b, **CONV, groups=2),
           exact=False),
    *[_deconv_kernel(a) for a in suite.DECONV_ALGORITHMS],
    Kernel("deconv2d_backward",
           lambda rng, dt: [randn(rng, (2, 4, 18, 14), dt), _x(rng, dt),
                            randn(rng, (6, 2, 3, 4), dt)],
           lambda g, x, w, **kw: suite.deconv2d_backward(g, x, w, **DECONV, **kw),
           lambda g, x, w: R.deconv2d_backward(g, x, w, **DECONV),
           exact=False),
    Kernel("upsample[nearest]",
           lambda rng, dt: [_x(rng, dt)],
           lambda x, **kw: suite.upsample(x, **UP_NEAREST, **kw),
           lambda x: nearest_gather(x, **UP_NEAREST),
           exact=True),
    Kernel("upsample[nearest-exact]",
           lambda rng, dt: [_x(rng, dt)],
           lambda x, **kw: suite.upsample(x, scale_factor=3, mode="nearest-exact", **kw),
           lambda x: nearest_gather(x, scale_factor=3, mode="nearest-exact"),
           exact=True),
    Kernel("upsample[bilinear]",
           lambda rng, dt: [_x(rng, dt)],
           lambda x, **kw: suite.upsample(x, **UP_BILINEAR, **kw),
           lambda x: R.upsample(x, **UP_BILINEAR),
           exact=True),
    Kernel("upsample_backward[nearest]",
           lambda rng, dt: [randn(rng, (2, 6, 19, 15), dt)],
           lambda g, **kw: suite.upsample_backward(g, (2, 6, 9, 7), **UP_NEAREST, **kw),
           lambda g: nearest_scatter(g, (2, 6, 9, 7), **UP_NEAREST),
           exact=True),
    Kernel("upsample_backward[bilinear]",
           lambda rng, dt: [randn(rng, (2, 6, 18, 10), dt)],
           lambda g, **kw: suite.upsample_backward(g, (2, 6, 9, 7), **UP_BILINEAR, **kw),
           lambda g: R.upsample_backward(g, (2, 6, 9, 7), **UP_BILINEAR),
           exact=True),
    # the collapsed kernel sums taps before multiplying: Inf*(w1 + w2) is not
    # Inf*w1 + Inf*w2 (NaN when the signs differ), and Winograd's transforms subtract
    # neighbouring pixels (Inf - Inf), so only NaN is modelled there
    *[Kernel(f"upsample_conv2d[{a}]",
             lambda rng, dt: [_x(rng, dt), randn(rng, (4, 6, 3, 3), dt), randn(rng, (4,), dt)],
             lambda x, w, b, a=a, **kw: suite.upsample_conv2d(x, w, b, **UPCONV_COLLAPSED,
                                                              algorithm=a, **kw),
             lambda x, w, b: R.conv2d(nearest_gather(x, scale_factor=2), w, b, padding=1),
             exact=False, nonfinite="nan") for a in ("winograd", "collapsed")],
    Kernel("upsample_conv2d[nearest on the fly]",
           lambda rng, dt: [_x(rng, dt), randn(rng, (4, 3, 3, 3), dt), None],
           lambda x, w, b, **kw: suite.upsample_conv2d(x, w, b, **UPCONV_NEAREST_FLY,
                                                       groups=2, **kw),
           lambda x, w, b: R.conv2d(nearest_gather(x, scale_factor=1.5), w, None, padding=1,
                                    stride=(1, 2), groups=2),
           exact=False),
    Kernel("upsample_conv2d[bilinear]",
           lambda rng, dt: [_x(rng, dt), randn(rng, (4, 6, 3, 3), dt), randn(rng, (4,), dt)],
           lambda x, w, b, **kw: suite.upsample_conv2d(x, w, b, **UPCONV_BILINEAR, **kw),
           lambda x, w, b: R.upsample_conv2d(x, w, b, **UPCONV_BILINEAR),
           exact=False),
    Kernel("upsample_add[nearest]",
           lambda rng, dt: [_x(rng, dt), randn(rng, (2, 6, 18, 14), dt)],
           lambda x, s, **kw: suite.upsample_add(x, s, **kw),
           lambda x, s: nearest_gather(x, size=s.shape[2:]) + s,
           exact=True),
    Kernel("upsample_add[bilinear]",
           lambda rng, dt: [_x(rng, dt), randn(rng, (2, 6, 20, 15), dt)],
           lambda x, s, **kw: suite.upsample_add(x, s, mode="bilinear", **kw),
           lambda x, s: R.upsample_add(x, s, mode="bilinear"),
           exact=True),
]
KERNEL_IDS = [k.name for k in KERNELS]
by_kernel = pytest.mark.parametrize("kernel", KERNELS, ids=KERNEL_IDS)
by_dtype = pytest.mark.parametrize("dtype", [f32, f64], ids=["f32", "f64"])


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def assert_same_result(got, expected, exact, dtype, what):
    for a, e in zip(as_tuple(got), as_tuple(expected)):
        if exact:
            np.testing.assert_array_equal(a, e, err_msg=what)
        else:
            assert_close(a, e, dtype, err_msg=what)


def test_every_kernel_is_covered():
    names = {k.name.split("[")[0] for k in KERNELS}
    public_kernels = {"im2col", "col2im", "conv2d", "deconv2d", "deconv2d_backward",
                      "upsample", "upsample_backward", "upsample_conv2d", "upsample_add"}
    assert names == public_kernels
    assert {k.name for k in KERNELS} >= {f"deconv2d[{a}]" for a in suite.DECONV_ALGORITHMS}


# ----------------------------------------------------------------------------------------
# layouts
# ----------------------------------------------------------------------------------------

def memmap_readonly(a, tmp_path, name):
    path = tmp_path / f"{name}.bin"
    a.tofile(path)
    m = np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)
    assert not m.flags.writeable
    return m


@by_dtype
@pytest.mark.parametrize("layout", LAYOUTS + ["memmap"])
@by_kernel
def test_every_layout(kernel, layout, dtype, tmp_path):
    arrays = kernel.arrays(dtype)
    expected = kernel.run(*arrays)
    if layout == "memmap":
        views = [None if a is None else memmap_readonly(a, tmp_path, f"a{i}")
                 for i, a in enumerate(arrays)]
    else:
        views = [None if a is None else noncontiguous(a, layout) for a in arrays]
    before = [None if v is None else v.tobytes() for v in views]
    got = kernel.run(*views)
    assert_same_result(got, expected, kernel.exact, dtype, f"{kernel.name} with {layout} inputs")
    for r in as_tuple(got):
        assert r.flags.c_contiguous and r.flags.writeable and r.dtype == dtype
    for v, b in zip(views, before):
        assert v is None or v.tobytes() == b, "an input was written"


@by_dtype
@pytest.mark.parametrize("kind", ["transposed", "negative", "misaligned"])
@by_kernel
def test_mixed_layouts(kernel, kind, dtype):
    # only the first argument in an unusual layout, the others C-contiguous
    arrays = kernel.arrays(dtype)
    expected = kernel.run(*arrays)
    got = kernel.run(noncontiguous(arrays[0], kind), *arrays[1:])
    assert_same_result(got, expected, kernel.exact, dtype, f"{kernel.name}, x {kind}")


# ----------------------------------------------------------------------------------------
# NaN and Inf
# ----------------------------------------------------------------------------------------

def poison(a, rng, values):
    """``a`` with a few elements set to each of ``values``."""
    a = a.copy()
    flat = a.reshape(-1)
    idx = rng.choice(flat.size, size=2 * len(values), replace=False)
    for i, v in enumerate(values):
        flat[idx[2 * i:2 * i + 2]] = v
    return a


@by_dtype
@by_kernel
def test_nan_and_inf_propagate_as_in_the_reference(kernel, dtype):
    arrays = kernel.arrays(dtype)
    values = [np.nan, np.inf, -np.inf] if kernel.nonfinite == "nan+inf" else [np.nan]
    arrays[0] = poison(arrays[0], seeded_rng("poison", kernel.name), values)
    with np.errstate(invalid="ignore", over="ignore"):
        got = kernel.run(*arrays)
        expected = kernel.reference(*[None if a is None else a.astype(f64) for a in arrays])
    for i, (a, e) in enumerate(zip(as_tuple(got), as_tuple(expected))):
        assert np.isnan(e).any(), "the case does not exercise NaN"
        assert_close_nonfinite(a, e.astype(dtype), dtype, err_msg=f"{kernel.name} output {i}")


@pytest.mark.parametrize("size", [(3, 8), (6, 4), (3, 4)], ids=str)
def test_bilinear_unchanged_axis_does_not_leak_nan(size):
    # an axis whose size does not change is a copy (PyTorch and the reference): the NaN at
    # row 1, column 2 may only reach output pixels that read it
    x = np.ones((1, 1, 3, 4), f32)
    x[0, 0, 1, 2] = np.nan
    torch_like = R.upsample(x, size=size, mode="bilinear")
    with np.errstate(invalid="ignore"):
        assert_same_nonfinite(suite.upsample(x, size=size, mode="bilinear"), torch_like,
                              err_msg=f"upsample 3x4 -> {size}")
        skip = np.zeros((1, 1) + size, f32)
        assert_same_nonfinite(suite.upsample_add(x, skip, mode="bilinear"), torch_like,
                              err_msg=f"upsample_add 3x4 -> {size}")


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_reference_nearest_keeps_infinities(mode):
    # nearest upsampling copies values: an Inf stays an Inf (as in suite and PyTorch). The
    # oracle computes l0*x[i0] + l1*x[i1] with l1 = 0, and 0*Inf is NaN.
    x = np.array([[[[np.inf, 1.0], [2.0, -np.inf]]]])
    with np.errstate(invalid="ignore"):
        y = R.upsample(x, scale_factor=2, mode=mode)
        g = R.upsample_backward(np.full((1, 1, 4, 4), np.inf), x.shape, scale_factor=2,
                                mode=mode)
    np.testing.assert_array_equal(y, nearest_gather(x, scale_factor=2, mode=mode))
    np.testing.assert_array_equal(g, np.full(x.shape, np.inf))


# ----------------------------------------------------------------------------------------
# concurrency
# ----------------------------------------------------------------------------------------

def _blas_threads():
    return sorted((lib["filepath"], lib["num_threads"]) for lib in threadpool_info()
                  if lib["user_api"] == "blas")


@by_dtype
def test_concurrent_calls_from_python_threads(dtype):
    tasks = []
    for kernel in KERNELS:
        for seed in range(3):
            arrays = kernel.arrays(dtype, seed)
            tasks.append((kernel, arrays, kernel.run(*arrays, num_threads=1)))
    order = [t for _ in range(4) for t in tasks]       # every kernel many times, interleaved
    np.random.default_rng(0).shuffle(order)

    def call(task):
        kernel, arrays, _ = task
        return kernel.run(*arrays)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(call, order))
    for (kernel, _, expected), got in zip(order, results):
        assert_same_result(got, expected, kernel.exact, dtype, f"{kernel.name} in a thread")


BLAS_RESTORE_SCRIPT = """
import numpy as np, suite
from concurrent.futures import ThreadPoolExecutor
from threadpoolctl import threadpool_info
def blas():
    return sorted((l["filepath"], l["num_threads"]) for l in threadpool_info()
                  if l["user_api"] == "blas")
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 8, 16, 16)).astype(np.float32)
w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
calls = [lambda: suite.conv2d(x, w, padding=1),
         lambda: suite.deconv2d(x, w, stride=2, padding=1),
         lambda: suite.upsample_conv2d(x, w, padding=1)]
before = blas()
with ThreadPoolExecutor(max_workers=4) as pool:
    list(pool.map(lambda i: calls[i % 3](), range(300)))
print(repr((before, blas())))
"""


def test_concurrent_calls_restore_blas_threads():
    # each convolution holds BLAS at one thread for its duration; calls overlapping in
    # several Python threads must not leave it there for the rest of the process. A fresh
    # process: the state this test checks is exactly what earlier tests may have changed.
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    result = subprocess.run([sys.executable, "-c", BLAS_RESTORE_SCRIPT], capture_output=True,
                            text=True, env=env, check=True)
    before, after = eval(result.stdout.strip().splitlines()[-1])
    assert all(n == 2 for _, n in before), before
    assert after == before, f"BLAS thread limits after concurrent calls: {after}"


BLAS_HOLD_SCRIPT = """
import suite
from suite._threads import single_threaded_blas, _kernel_blas_libraries
from threadpoolctl import threadpool_info
paths = {lib.filepath for lib in _kernel_blas_libraries()}
def held():
    return sorted(l["num_threads"] for l in threadpool_info() if l["filepath"] in paths)
before = held()
with single_threaded_blas():
    with single_threaded_blas():
        inside = held()
    still = held()
print(repr((before, inside, still, held())))
"""


def test_blas_held_at_one_thread_while_a_kernel_runs():
    # the hold (C or Python, whichever this machine's BLAS gets) sets the kernels' BLAS to
    # one thread, keeps it there until the outermost hold ends, then restores its limit
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    result = subprocess.run([sys.executable, "-c", BLAS_HOLD_SCRIPT], capture_output=True,
                            text=True, env=env, check=True)
    before, inside, still, after = eval(result.stdout.strip().splitlines()[-1])
    assert before and all(n == 2 for n in before), before
    assert all(n == 1 for n in inside) and all(n == 1 for n in still), (inside, still)
    assert after == before, after


# ----------------------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer keeps freed memory in quarantine")
@by_kernel
def test_repeated_calls_do_not_grow_memory(kernel):
    arrays = kernel.arrays(f32)
    for _ in range(50):                     # warm up: plans, caches, thread pools, malloc
        kernel.run(*arrays)
    gc.collect()
    start = rss_bytes()
    for _ in range(1000):
        kernel.run(*arrays)
    gc.collect()
    grown = rss_bytes() - start
    assert grown < 10 * 2**20, f"{kernel.name}: RSS grew by {grown / 2**20:.1f} MiB"


# ----------------------------------------------------------------------------------------
# workspace: what a call allocates beyond its output, against suite.cost
# ----------------------------------------------------------------------------------------

#: What the cost model leaves out: index and phase tables of a few rows, and the call's own
#: Python objects (measured: under 3 KiB on every case below).
TABLES_ALLOWANCE = 32 * 2**10

C = __import__("suite.cost", fromlist=["cost"])


def _deconv_case(rng, winograd):
    stride = int(rng.integers(1, 4))
    kernel = 2 * stride if winograd else int(rng.integers(1, 6))
    groups = int(rng.choice([1, 1, 2, 3]))
    c_in = groups * int(rng.integers(1, 24))
    cog = int(rng.integers(1, 24))
    n = int(rng.integers(1, 5))
    hw = tuple(int(v) for v in rng.integers(3, 30, size=2))
    padding = int(rng.integers(0, kernel)) // 2
    return dict(x=(n, c_in, *hw), w=(c_in, cog, kernel, kernel), stride=stride,
                padding=padding, groups=groups)


def _pointwise_case(rng):
    """A transposed convolution with a 1x1 kernel at stride 1 (the 1x1 convolution, the
    weight read as its transpose: the columns of batched images are its workspace)."""
    groups = int(rng.choice([1, 2, 4]))
    c_in = groups * int(rng.integers(4, 64))
    return dict(x=(int(rng.integers(1, 9)), c_in, *(int(v) for v in rng.integers(2, 24, 2))),
                w=(c_in, int(rng.integers(1, 40)), 1, 1), stride=1, padding=0, groups=groups)


def _one_pixel_case(rng):
    """A transposed convolution of 1x1 maps (deconv2d_one_pixel: one GEMM per group into
    the output; the images' channels transposed are its workspace)."""
    groups = int(rng.choice([1, 2]))
    kernel = int(rng.integers(1, 6))
    c_in = groups * int(rng.integers(16, 200))
    return dict(x=(int(rng.integers(1, 17)), c_in, 1, 1),
                w=(c_in, int(rng.integers(1, 64)), kernel, kernel),
                stride=int(rng.integers(1, 4)), padding=0, groups=groups)


def _conv_case(rng, large):
    """A convolution whose output map is below the banded kernel's 256 values (small) or
    above it (large)."""
    groups = int(rng.choice([1, 2]))
    kernel = int(rng.choice([1, 3, 5]))
    low, high = (20, 48) if large else (5, 14)
    hw = tuple(int(v) for v in rng.integers(low, high, size=2))
    return dict(x=(int(rng.integers(1, 5)), groups * int(rng.integers(1, 20)), *hw),
                w=(groups * int(rng.integers(1, 20)), 0, kernel, kernel),
                padding=kernel // 2 * int(rng.integers(0, 2)), groups=groups)


def _fused_case(rng, mode, scale, kernel):
    return dict(x=(int(rng.integers(1, 4)), int(rng.integers(1, 24)),
                   *(int(v) for v in rng.integers(3, 20, size=2))),
                w=(int(rng.integers(1, 24)), 0, kernel, kernel), mode=mode, scale=scale,
                padding=kernel // 2)


def _deconv_run(algorithm):
    def run(case, x, w, out, t):
        return suite.deconv2d(x, w, stride=case["stride"], padding=case["padding"],
                              groups=case["groups"], algorithm=algorithm, out=out,
                              num_threads=t)

    def model(case, itemsize, t):
        return C.deconv2d_cost(case["x"], case["w"], case["stride"], case["padding"], 0, 1,
                               case["groups"], itemsize=itemsize, num_threads=t)
    return run, model, algorithm


def _conv_run():
    def run(case, x, w, out, t):
        return suite.conv2d(x, w, padding=case["padding"], groups=case["groups"], out=out,
                            num_threads=t)

    def model(case, itemsize, t):
        return C.conv2d_cost(case["x"], case["w"], 1, case["padding"], 1, case["groups"],
                             itemsize=itemsize, num_threads=t)
    return run, model, "im2col"


def _fused_run(algorithm):
    def run(case, x, w, out, t):
        if algorithm == "unfused":
            up = suite.upsample(x, scale_factor=case["scale"], mode=case["mode"],
                                num_threads=t)
            return suite.conv2d(up, w, padding=case["padding"], out=out, num_threads=t)
        return suite.upsample_conv2d(x, w, scale_factor=case["scale"], mode=case["mode"],
                                     padding=case["padding"], out=out, num_threads=t)

    def model(case, itemsize, t):
        return C.upsample_conv2d_cost(case["x"], case["w"], case["scale"], case["mode"],
                                      padding=case["padding"], itemsize=itemsize,
                                      num_threads=t)
    return run, model, "unfused" if algorithm == "unfused" else "fused"


WORKSPACE_CASES = {
    **{f"deconv2d[{a}]": (lambda rng: _deconv_case(rng, False), _deconv_run(a))
       for a in ("col2im", "phase", "direct")},
    "deconv2d[col2im, 1x1 maps]": (_one_pixel_case, _deconv_run("col2im")),
    "deconv2d[col2im, 1x1 kernels]": (_pointwise_case, _deconv_run("col2im")),
    "deconv2d[winograd]": (lambda rng: _deconv_case(rng, True), _deconv_run("winograd")),
    "deconv2d[winograd, other kernels]": (lambda rng: _deconv_case(rng, False),
                                          _deconv_run("winograd")),
    "conv2d[im2col]": (lambda rng: _conv_case(rng, False), _conv_run()),
    "conv2d[banded]": (lambda rng: _conv_case(rng, True), _conv_run()),
    "upsample_conv2d[winograd]": (lambda rng: _fused_case(rng, "nearest", 2, 3),
                                  _fused_run("auto")),
    "upsample_conv2d[collapsed]": (lambda rng: _fused_case(rng, "nearest", 3, 3),
                                   _fused_run("auto")),
    "upsample_conv2d[collapsed, 1x1]": (lambda rng: _fused_case(rng, "nearest", 2, 1),
                                        _fused_run("auto")),
    "upsample_conv2d[banded, bilinear]": (lambda rng: _fused_case(rng, "bilinear", 2, 3),
                                          _fused_run("auto")),
    "upsample_conv2d[banded, x1.5]": (lambda rng: _fused_case(rng, "nearest", 1.5, 5),
                                      _fused_run("auto")),
    "upsample then conv2d": (lambda rng: _fused_case(rng, "nearest", 2, 3),
                             _fused_run("unfused")),
}


def traced_peak(call):
    """Peak bytes traced by tracemalloc during call(): NumPy's arrays and the kernels'
    workspaces (which they report to tracemalloc)."""
    call()                                  # warm the plan caches
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [f32, f64])
@pytest.mark.parametrize("name", list(WORKSPACE_CASES))
def test_workspace_is_what_the_cost_model_says(name, dtype, threads, monkeypatch):
    """A call into ``out=`` allocates its workspace and nothing else: within 10% of
    ``suite.cost``'s ``workspace_bytes`` (plus the tables the model leaves out), on random
    geometries, at 1 and 2 threads. The output pool off: it would serve the packed weights
    of the second call from the first call's block, untraced (suite/_outputs.py)."""
    monkeypatch.setattr(_outputs, "ENABLED", False)
    draw, (run, model, algorithm) = WORKSPACE_CASES[name]
    rng = seeded_rng("workspace", name, np.dtype(dtype).name, threads)
    for _ in range(4):
        case = draw(rng)
        n, c_in = case["x"][:2]
        if case["w"][1] == 0:               # a convolution's weight: (C_out, C_in/g, k, k)
            case["w"] = (case["w"][0], c_in // case.get("groups", 1), *case["w"][2:])
        x, w = randn(rng, case["x"], dtype), randn(rng, case["w"], dtype)
        out = np.empty(run(case, x, w, None, threads).shape, dtype)
        peak = traced_peak(lambda: run(case, x, w, out, threads))
        expected = model(case, x.itemsize, threads).workspace_bytes[algorithm]
        assert abs(peak - expected) <= 0.1 * expected + TABLES_ALLOWANCE, (
            f"{name} {case} at {threads} threads: {peak} bytes traced, the cost model says "
            f"{expected}")


def test_workspace_of_the_backward_pass_is_what_the_cost_model_says(monkeypatch):
    monkeypatch.setattr(_outputs, "ENABLED", False)
    rng = seeded_rng("workspace", "backward")
    for _ in range(4):
        case = _deconv_case(rng, False)
        x, w = randn(rng, case["x"], f32), randn(rng, case["w"], f32)
        args = (case["stride"], case["padding"], 0, 1, case["groups"])
        g = randn(rng, suite.deconv2d(x, w, None, *args).shape, f32)
        outputs = x.nbytes + w.nbytes + 4 * w.shape[1] * case["groups"]
        peak = traced_peak(lambda: suite.deconv2d_backward(g, x, w, *args)) - outputs
        expected = C.deconv2d_backward_cost(x.shape, w.shape, *args).workspace_bytes["col2im"]
        assert abs(peak - expected) <= 0.1 * expected + TABLES_ALLOWANCE, (case, peak, expected)


OUT_CASES = {
    "upsample[nearest]": lambda x, s, out: suite.upsample(x, scale_factor=2, out=out),
    "upsample[bilinear]": lambda x, s, out: suite.upsample(x, scale_factor=2, mode="bilinear",
                                                           out=out),
    "upsample_add": lambda x, s, out: suite.upsample_add(x, s, out=out),
    "upsample_add[in place]": lambda x, s, out: suite.upsample_add(
        x, s if out is None else out, out=out),
}


@pytest.mark.parametrize("name", list(OUT_CASES))
def test_upsampling_into_out_allocates_only_tables(name):
    """The upsampling kernels have no workspace (suite.cost: 0): into ``out=`` they allocate
    their index tables only."""
    rng = seeded_rng("out-alloc", name)
    x = randn(rng, (2, 16, 48, 48), f32)
    skip = randn(rng, (2, 16, 96, 96), f32)
    call = OUT_CASES[name]
    out = np.empty(call(x, skip, None).shape, f32) if "in place" not in name else skip.copy()
    peak = traced_peak(lambda: call(x, skip, out))
    assert peak < TABLES_ALLOWANCE, f"{name}: {peak} bytes traced for a {out.nbytes}-byte out"


# ----------------------------------------------------------------------------------------
# sizes: 64-bit indexing, refusals before allocation
# ----------------------------------------------------------------------------------------

HUGE = [
    ("upsample", lambda: suite.upsample(np.ones((1, 1, 1, 1), f32), size=(2**21, 2**21))),
    ("upsample_conv2d", lambda: suite.upsample_conv2d(np.ones((1, 1, 1, 1), f32),
                                                      np.ones((1, 1, 1, 1), f32),
                                                      scale_factor=1.1e6)),
    ("upsample_backward", lambda: suite.upsample_backward(np.ones((1, 1, 1, 1), f32),
                                                          (1, 1, 2**21, 2**21),
                                                          scale_factor=2.0**-21)),
    ("deconv2d", lambda: suite.deconv2d(np.ones((1, 1, 2, 2), f32), np.ones((1, 1, 1, 1), f32),
                                        stride=2**21)),
    ("conv2d", lambda: suite.conv2d(np.ones((1, 1, 1, 1), f32), np.ones((1, 1, 1, 1), f32),
                                    padding=2**20)),
    ("col2im", lambda: suite.col2im(np.ones((1, 1, 1), f32), (2**21, 2**21), 1,
                                    stride=2**21)),
    ("upsample_add", lambda: suite.upsample_add(np.ones((1, 1, 1, 1), f32),
                                                np.broadcast_to(np.float32(1),
                                                                (1, 1, 2**21, 2**21)))),
]


@pytest.mark.parametrize("call", [c for _, c in HUGE], ids=[n for n, _ in HUGE])
def test_absurd_sizes_are_refused_before_allocation(call):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="elements|output|size"):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


slow = pytest.mark.skipif(os.environ.get("SUITE_RUN_SLOW") != "1",
                          reason="needs ~11 GiB of memory; set SUITE_RUN_SLOW=1")


@pytest.mark.slow
@slow
def test_nearest_upsample_past_2_to_the_31_elements():
    # 23200^2 float32 in (2.0 GiB), x2 nearest out: 46400^2 = 2,152,960,000 > 2**31 elements
    # (8.0 GiB) in one plane, so every row offset in the last ~500 rows overflows int32
    n = 23200
    x = np.empty((1, 1, n, n), f32)
    np.random.default_rng(5).random(out=x.reshape(-1), dtype=f32)
    y = suite.upsample(x, scale_factor=2)
    assert y.shape == (1, 1, 2 * n, 2 * n) and y.size > 2**31
    rows = np.r_[0:3, n // 2, n - 700:n:37, n - 3:n]
    for r in rows:
        expected = np.repeat(x[0, 0, r], 2)
        np.testing.assert_array_equal(y[0, 0, 2 * r], expected, err_msg=f"row {2 * r}")
        np.testing.assert_array_equal(y[0, 0, 2 * r + 1], expected, err_msg=f"row {2 * r + 1}")
    # fused, in place on the same 8 GiB map: y += upsample(x) doubles every value
    assert suite.upsample_add(x, y, out=y) is y
    for r in rows[-6:]:
        np.testing.assert_array_equal(y[0, 0, 2 * r + 1], 2 * np.repeat(x[0, 0, r], 2))


@pytest.mark.slow
@slow
def test_convolution_plane_past_2_to_the_31_positions():
    # a 1x1 input padded to 46341^2 = 2,147,488,281 > 2**31 - 1 output positions in one
    # plane (8.0 GiB): more than a BLAS int dimension. Either it works (the GEMM is split)
    # or it is refused with a ValueError naming the limit.
    pad = 23170
    try:
        y = suite.conv2d(np.full((1, 1, 1, 1), 3, f32), np.full((1, 1, 1, 1), 2, f32),
                         np.ones(1, f32), padding=pad)
    except ValueError as exc:
        assert "BLAS" in str(exc) or "32-bit" in str(exc), exc
        return
    assert y.shape == (1, 1, 2 * pad + 1, 2 * pad + 1) and y.size > 2**31
    assert y[0, 0, pad, pad] == 7
    for r in (0, 1, pad - 1, pad + 1, 2 * pad - 1, 2 * pad):
        np.testing.assert_array_equal(y[0, 0, r], 1, err_msg=f"row {r}")
    np.testing.assert_array_equal(y[0, 0, pad, :pad], 1)
    np.testing.assert_array_equal(y[0, 0, pad, pad + 1:], 1)


@pytest.mark.slow
@slow
def test_fused_bilinear_convolution_plane_past_2_to_the_31_positions():
    # bilinear x2 + 1x1 conv (the on-the-fly path) of a 23171^2 map: 46342^2 > 2**31 - 1
    # output positions in one plane (8.0 GiB out, 2.0 GiB in)
    n = 23171
    x = np.empty((1, 1, n, n), f32)
    np.random.default_rng(6).random(out=x.reshape(-1), dtype=f32)
    try:
        y = suite.upsample_conv2d(x, np.full((1, 1, 1, 1), 2, f32), scale_factor=2,
                                  mode="bilinear")
    except ValueError as exc:
        assert "BLAS" in str(exc) or "32-bit" in str(exc), exc
        return
    assert y.shape == (1, 1, 2 * n, 2 * n) and y.size > 2**31

    def width_upsampled(row):        # the width pass alone, on one input row
        return suite.upsample(x[:, :, row:row + 1], size=(1, 2 * n), mode="bilinear")[0, 0, 0]

    for oh in (0, 1, n, 2 * n - 3, 2 * n - 1):
        src = max(0.5 * (oh + 0.5) - 0.5, 0.0)
        h0 = min(int(src), n - 1)
        h1 = min(h0 + 1, n - 1)
        l1 = src - h0
        expected = 2 * ((1 - l1) * width_upsampled(h0).astype(f64)
                        + l1 * width_upsampled(h1).astype(f64))
        assert_close(y[0, 0, oh], expected.astype(f32), f32, err_msg=f"row {oh}")


# ----------------------------------------------------------------------------------------
# the bounds-checked build (make test-boundscheck)
# ----------------------------------------------------------------------------------------

@pytest.mark.skipif(os.environ.get("SUITE_EXPECT_BOUNDSCHECK") != "1",
                    reason="only under make test-boundscheck (SUITE_EXPECT_BOUNDSCHECK=1)")
def test_build_has_bounds_checks_on():
    from suite import _buildinfo

    assert _buildinfo.boundscheck(), "make test-boundscheck ran on a build without checks"
    info = subprocess.run([sys.executable, "-m", "suite", "info"], capture_output=True,
                          text=True, check=True).stdout
    assert "bounds checks: on" in info


@pytest.mark.parametrize("algorithm, c_in, c_out, size", [
    ("phase", 8, 512, 128),     # a phase's product: 512 x 128*128 floats, 32 MiB
    ("col2im", 24, 9, 46),      # columns of 36 x 2116 floats, or of a block: 99-298 KiB
])
def test_a_kept_workspace_gives_the_next_call_no_stale_values(algorithm, c_in, c_out, size,
                                                             monkeypatch):
    """Workspaces of 64 KiB or more are kept for later calls (pyx/_workspace.h): a call
    must not see an earlier call's values (a freshly mapped block would be zero), from one
    Python thread or three at once, and is still traced while in use (the cost model's
    size)."""
    rng = seeded_rng("kept-workspace", algorithm)
    w = randn(rng, (c_in, c_out, 2, 2), f32)
    inputs = [randn(rng, (1, c_in, size, size), f32) for _ in range(3)]
    cost = C.deconv2d_cost(inputs[0].shape, w.shape, 2, bias=False)
    assert cost.workspace_bytes[algorithm] >= 64 * 2**10
    expected = [R.deconv2d(x.astype(f64), w.astype(f64), stride=2) for x in inputs]

    def run(x, out=None):
        return suite.deconv2d(x, w, stride=2, algorithm=algorithm, out=out, num_threads=1)

    for _ in range(2):
        for x, want in zip(inputs, expected):
            assert_close(run(x), want, f32)
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(run, inputs * 2))
    for y, want in zip(got, expected * 2):
        assert_close(y, want, f32)
    out = np.empty(expected[0].shape, f32)
    monkeypatch.setattr(_outputs, "ENABLED", False)   # packed weights traced, not kept
    peak = traced_peak(lambda: run(inputs[0], out))
    assert abs(peak - cost.workspace_bytes[algorithm]) <= TABLES_ALLOWANCE
