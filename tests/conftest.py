"""Shared helpers for the test suite.

The reference implementation (``suite/reference.py``) is pure NumPy and must stay usable
even when the compiled package is not built, so ``load_reference()`` falls back to loading
it by file path when ``import suite`` fails.  Test modules import the helpers below with
``from conftest import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

import importlib
import importlib.util
import os
import sys
import zlib

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Norm-relative tolerances: max|a - b| <= TOL[dtype] * max(1, max|expected|).
TOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]


def load_reference():
    """``suite.reference``, by package import if possible, else by file path."""
    try:
        return importlib.import_module("suite.reference")
    except Exception:  # the compiled package is missing or broken: the oracle is not
        path = os.path.join(ROOT, "suite", "reference.py")
        spec = importlib.util.spec_from_file_location("suite_reference_standalone", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


@pytest.fixture(autouse=True)
def _threads_for_any_work(monkeypatch):
    """deconv2d and upsample_conv2d run layers under 10 MFLOP per thread on fewer threads,
    the upsampling kernels maps under 256 KiB of output per thread; the tests' small layers
    must still exercise every thread count, so the floors are lifted for every test (tests
    of a floor itself set it back)."""
    plan = importlib.import_module("suite._plan")
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 0)
    monkeypatch.setattr(plan, "MIN_BYTES_PER_THREAD", 0)


@pytest.fixture(autouse=True)
def _fresh_wisdom(monkeypatch):
    """No test reads or writes the user's wisdom file (``SUITE_WISDOM=0``, also for the
    processes tests start), and each starts with no recorded choice, so ``"auto"`` runs its
    rule unless the test itself measures (tests of the file set their own path)."""
    monkeypatch.setenv("SUITE_WISDOM", "0")
    monkeypatch.delenv("SUITE_WISDOM_FILE", raising=False)
    try:
        wisdom = importlib.import_module("suite.wisdom")
    except ImportError:     # no build: the reference's tests still run
        return
    wisdom.clear()


def load_suite():
    """The compiled public package. A missing build is an error, never a skip: a suite that
    skipped every kernel test would look green while testing nothing."""
    return importlib.import_module("suite")


#: The peers: the test oracle and the libraries measured beside suite, installed by
#: ``make peers`` (requirements/peers.txt), never by ``make test``.
PEERS = ("torch", "cv2", "onnxruntime", "openvino")

#: The words every skip for want of a peer carries (counted at the end of the run).
PEER_SKIP = "make peers installs it"


def require_module(name, reason=None):
    """An optional test dependency (PyTorch, pandas, matplotlib, asv, hypothesis). Without
    it the test is skipped, unless SUITE_REQUIRE_OPTIONAL=1 (set by CI, which installs them
    all): then its absence is a failure, never a silent skip."""
    if os.environ.get("SUITE_REQUIRE_OPTIONAL") == "1":
        return importlib.import_module(name)
    if reason is None and name in PEERS:
        reason = f"needs the peer {name}, which is not installed ({PEER_SKIP})"
    return pytest.importorskip(name, reason=reason)


def require_torch():
    """PyTorch, the second oracle (see require_module)."""
    return require_module("torch")


def peer_installed(name):
    """True if the peer ``name`` can be imported (found without importing it); always True
    under SUITE_REQUIRE_OPTIONAL=1, where a test that expects the peer fails without it."""
    if os.environ.get("SUITE_REQUIRE_OPTIONAL") == "1":
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def pytest_terminal_summary(terminalreporter):
    """Say how many tests were skipped for want of a peer, and how to run them."""
    skipped = 0
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        skipped += PEER_SKIP in reason
    if skipped:
        terminalreporter.write_line(
            f"{skipped} tests skipped for want of a peer ({', '.join(PEERS)}): "
            f"`make peers` installs them, then `make test` runs these too")


def tolerance(dtype):
    return TOL[np.dtype(dtype)]


def assert_close(actual, expected, dtype=None, tol=None, err_msg="", scale=None):
    """Shape, dtype and norm-relative value check: max|a - e| <= tol * scale.

    ``dtype`` is the dtype ``actual`` must have (defaults to ``expected.dtype``) and picks
    the tolerance unless ``tol`` is given. ``scale`` defaults to max(1, max|e|); a sum of
    many terms that cancel needs the size of the terms instead (the rounding of a float32
    sum grows with the sum of the magnitudes, not with the result).
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    dtype = np.dtype(dtype if dtype is not None else expected.dtype)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape} {err_msg}"
    assert actual.dtype == dtype, f"dtype {actual.dtype} != {dtype} {err_msg}"
    if tol is None:
        tol = tolerance(dtype)
    if expected.size == 0:
        return
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    assert np.all(np.isfinite(a)), f"non-finite values in result {err_msg}"
    err = float(np.max(np.abs(a - e)))
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(e))))
    assert err <= tol * scale, (
        f"max|a-b| = {err:.3e} > {tol:.1e} * {scale:.3e} {err_msg}\n"
        f"worst at {np.unravel_index(np.argmax(np.abs(a - e)), a.shape)}")


def assert_adjoint(lhs, rhs, tol=1e-12):
    """``<A x, y>`` vs ``<x, A^T y>`` relative to the magnitude of the terms."""
    lhs = float(lhs)
    rhs = float(rhs)
    assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs), abs(rhs)), (lhs, rhs)


def seeded_rng(*key):
    """A generator seeded from a stable hash of ``key`` (so each config has its own data)."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def randn(rng, shape, dtype):
    """Fresh standard-normal data of ``dtype`` (never zeros, never arange)."""
    return rng.standard_normal(shape).astype(dtype)


def noncontiguous(a, kind):
    """A view of the same values as ``a`` that is not C-contiguous.

    ``kind`` is ``"transposed"`` (the last two axes stored swapped; ``"sliced"`` for 1-D),
    ``"sliced"`` (every other element of a bigger buffer) or ``"fortran"``.
    """
    if kind == "transposed" and a.ndim < 2:
        kind = "sliced"
    if kind == "transposed":
        v = np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
    elif kind == "sliced":
        big = np.empty(tuple(2 * n for n in a.shape), dtype=a.dtype)
        big[...] = np.nan
        v = big[tuple(slice(None, None, 2) for _ in a.shape)]
        v[...] = a
    elif kind == "fortran":
        v = np.asfortranarray(a)
    elif kind == "negative":
        # negative strides on every axis: a reversed view of a reversed copy
        flip = tuple(slice(None, None, -1) for _ in a.shape)
        v = np.ascontiguousarray(a[flip])[flip]
    elif kind == "readonly":
        v = a.copy()
        v.flags.writeable = False
    elif kind == "misaligned":
        # C-contiguous, but starting one byte into a uint8 buffer (numpy's aligned flag off)
        buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
        v = np.ndarray(a.shape, dtype=a.dtype, buffer=buf, offset=1)
        v[...] = a
        assert not v.flags.aligned or a.size == 0
    else:
        raise ValueError(kind)
    assert np.array_equal(v, a, equal_nan=True)
    return v


#: Every ``noncontiguous`` kind: the layouts each kernel must accept for its inputs.
LAYOUTS = ["transposed", "sliced", "fortran", "negative", "readonly", "misaligned"]


def assert_same_nonfinite(actual, expected, err_msg=""):
    """NaN in the same places, infinities equal (same places and signs)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape} {err_msg}"
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    assert np.array_equal(nan_a, nan_e), (
        f"NaN positions differ {err_msg}: {int(nan_a.sum())} vs {int(nan_e.sum())} NaNs; "
        f"first mismatches at {np.argwhere(nan_a != nan_e)[:4].tolist()}")
    inf_a = np.where(np.isinf(a), a, 0.0)
    inf_e = np.where(np.isinf(e), e, 0.0)
    assert np.array_equal(inf_a, inf_e), (
        f"infinities differ {err_msg}: first mismatches at "
        f"{np.argwhere(inf_a != inf_e)[:4].tolist()}")


def assert_close_nonfinite(actual, expected, dtype=None, err_msg=""):
    """:func:`assert_same_nonfinite`, then :func:`assert_close` on the finite values."""
    assert_same_nonfinite(actual, expected, err_msg)
    finite = np.isfinite(np.asarray(expected, dtype=np.float64))
    assert_close(np.where(finite, actual, 0), np.where(finite, expected, 0), dtype, err_msg=err_msg)


@pytest.fixture
def rng(request):
    """A fresh generator seeded from the test's node id."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(scope="session")
def ref():
    return load_reference()


# ----------------------------------------------------------------------------------------
# configuration sweeps (shared by the reference, kernel and thread tests)
# ----------------------------------------------------------------------------------------

def _pair_id(v):
    return f"{v[0]}" if v[0] == v[1] else f"{v[0]}x{v[1]}"


class Deconv:
    """One transposed-convolution configuration (also used for conv2d via ``as_conv``)."""

    def __init__(self, N, C_in, C_out, H, W, k, s=1, p=0, op=0, d=1, groups=1, bias=True):
        as_pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.N, self.C_in, self.C_out, self.H, self.W = N, C_in, C_out, H, W
        self.k, self.s, self.p, self.op, self.d = map(as_pair, (k, s, p, op, d))
        self.groups, self.bias = groups, bias

    @property
    def out_hw(self):
        return tuple((n - 1) * self.s[a] - 2 * self.p[a] + self.d[a] * (self.k[a] - 1)
                     + self.op[a] + 1 for a, n in enumerate((self.H, self.W)))

    def valid(self):
        return (min(self.out_hw) > 0 and self.C_in % self.groups == 0
                and self.C_out % self.groups == 0
                and all(self.op[a] < max(self.s[a], self.d[a]) for a in range(2)))

    @property
    def x_shape(self):
        return (self.N, self.C_in, self.H, self.W)

    @property
    def w_shape(self):
        return (self.C_in, self.C_out // self.groups) + self.k

    @property
    def y_shape(self):
        return (self.N, self.C_out) + self.out_hw

    @property
    def kwargs(self):
        return dict(stride=self.s, padding=self.p, output_padding=self.op, dilation=self.d,
                    groups=self.groups)

    def data(self, dtype, seed=0):
        rng = seeded_rng("deconv", self.id, seed)
        x = randn(rng, self.x_shape, dtype)
        w = randn(rng, self.w_shape, dtype)
        b = randn(rng, (self.C_out,), dtype) if self.bias else None
        return x, w, b

    @property
    def id(self):
        return (f"n{self.N}c{self.C_in}-{self.C_out}g{self.groups}_{self.H}x{self.W}"
                f"_k{_pair_id(self.k)}s{_pair_id(self.s)}p{_pair_id(self.p)}"
                f"o{_pair_id(self.op)}d{_pair_id(self.d)}{'_b' if self.bias else ''}")

    def __repr__(self):
        return f"Deconv({self.id})"


class Conv:
    """One convolution / im2col configuration."""

    def __init__(self, N, C_in, C_out, H, W, k, s=1, p=0, d=1, groups=1, bias=True):
        as_pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.N, self.C_in, self.C_out, self.H, self.W = N, C_in, C_out, H, W
        self.k, self.s, self.p, self.d = map(as_pair, (k, s, p, d))
        self.groups, self.bias = groups, bias

    @property
    def out_hw(self):
        return tuple((n + 2 * self.p[a] - self.d[a] * (self.k[a] - 1) - 1) // self.s[a] + 1
                     for a, n in enumerate((self.H, self.W)))

    def valid(self):
        return (min(self.out_hw) > 0 and self.C_in % self.groups == 0
                and self.C_out % self.groups == 0)

    @property
    def x_shape(self):
        return (self.N, self.C_in, self.H, self.W)

    @property
    def w_shape(self):
        return (self.C_out, self.C_in // self.groups) + self.k

    @property
    def y_shape(self):
        return (self.N, self.C_out) + self.out_hw

    @property
    def cols_shape(self):
        return (self.N, self.C_in * self.k[0] * self.k[1], self.out_hw[0] * self.out_hw[1])

    @property
    def kwargs(self):
        return dict(stride=self.s, padding=self.p, dilation=self.d, groups=self.groups)

    @property
    def unfold_kwargs(self):
        return dict(stride=self.s, padding=self.p, dilation=self.d)

    def data(self, dtype, seed=0):
        rng = seeded_rng("conv", self.id, seed)
        x = randn(rng, self.x_shape, dtype)
        w = randn(rng, self.w_shape, dtype)
        b = randn(rng, (self.C_out,), dtype) if self.bias else None
        return x, w, b

    @property
    def id(self):
        return (f"n{self.N}c{self.C_in}-{self.C_out}g{self.groups}_{self.H}x{self.W}"
                f"_k{_pair_id(self.k)}s{_pair_id(self.s)}p{_pair_id(self.p)}"
                f"d{_pair_id(self.d)}{'_b' if self.bias else ''}")

    def __repr__(self):
        return f"Conv({self.id})"


DECONV_HANDPICKED = [
    Deconv(1, 1, 1, 1, 1, 1),                                          # scalar
    Deconv(1, 1, 1, 1, 1, 3, s=2, bias=False),                         # 1x1 input
    Deconv(2, 3, 5, 7, 7, (3, 2), s=(2, 1), p=(1, 0), op=(1, 0)),      # odd channels, non-square
    Deconv(2, 4, 6, 5, 5, 4, s=2, p=1),                                # DCGAN block
    Deconv(1, 6, 9, 4, 5, 3, s=2, p=1, op=1, groups=3),                # groups
    Deconv(2, 5, 5, 6, 4, 4, s=2, p=1, groups=5, bias=False),          # depthwise (bilinear)
    Deconv(1, 2, 3, 5, 6, (3, 2), s=1, op=(1, 2), d=(2, 3)),           # op < dilation
    Deconv(1, 3, 2, 4, 3, 2, s=3, op=2),                               # stride > kernel
    Deconv(2, 2, 3, 5, 7, (5, 3), s=(3, 1), p=(2, 0), op=(2, 1), d=(1, 2)),  # asymmetric
    Deconv(1, 3, 4, 7, 7, 3, s=1, p=2, bias=False),                    # shrinking output
    Deconv(1, 3, 1, 5, 4, 9, s=3, p=4, op=2),                          # FSRCNN head
    Deconv(3, 2, 2, 1, 7, (1, 3), s=(1, 2), p=(0, 1)),                 # H = 1
    Deconv(1, 2, 3, 2, 3, 7, s=2, p=0),                                # kernel > input
    Deconv(2, 4, 6, 3, 5, 1, groups=2),                                # pure GEMM
    Deconv(1, 3, 3, 7, 1, (2, 1), s=(2, 3), op=(1, 2), bias=False),    # W = 1
    Deconv(1, 2, 2, 3, 3, 4, s=2, p=(3, 0)),                           # padding > k/2
    Deconv(1, 3, 3, 4, 5, 16, s=8, p=4, groups=3, bias=False),         # FCN x8 (depthwise)
    Deconv(2, 2, 4, 3, 2, (3, 12), s=(2, 5), p=(1, 7), op=(1, 3), d=(1, 2),
           groups=2),                                                  # long rows, dilated
    Deconv(1, 4, 2, 2, 3, (8, 10), s=(3, 4), p=(6, 8), op=(2, 0)),     # rows wider than out
    Deconv(2, 17, 20, 7, 5, 4, s=2, p=1, op=1),                        # Winograd, odd output
    Deconv(1, 4, 6, 3, 4, (2, 6), s=(1, 3), p=(0, 2)),                 # Winograd, k = 2s
    Deconv(3, 6, 4, 4, 4, 4, s=2, p=2, groups=2, bias=False),          # Winograd, groups
]


def _random_deconv(rng):
    groups = int(rng.choice([1, 1, 2, 3]))
    k = tuple(int(v) for v in rng.integers(1, 6, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.choice([1, 1, 2, 3], 2))
    p = tuple(int(rng.integers(0, d[a] * (k[a] - 1) + 2)) for a in range(2))
    op = tuple(int(rng.integers(0, max(s[a], d[a]))) for a in range(2))
    H, W = (int(v) for v in rng.choice([1, 2, 3, 4, 5, 7], 2))
    return Deconv(int(rng.integers(1, 4)), groups * int(rng.integers(1, 4)),
                  groups * int(rng.integers(1, 4)), H, W, k, s, p, op, d, groups,
                  bool(rng.integers(0, 2)))


def deconv_configs(n_random=40, seed=2024):
    rng = np.random.default_rng(seed)
    configs = list(DECONV_HANDPICKED)
    seen = {c.id for c in configs}
    while len(configs) < len(DECONV_HANDPICKED) + n_random:
        c = _random_deconv(rng)
        if c.valid() and c.id not in seen:
            seen.add(c.id)
            configs.append(c)
    assert all(c.valid() for c in configs)
    return configs


CONV_HANDPICKED = [
    Conv(1, 1, 1, 1, 1, 1),
    Conv(2, 3, 5, 7, 7, 3, p=1),
    Conv(1, 3, 4, 7, 9, (3, 2), s=(2, 1), p=(1, 0)),
    Conv(2, 6, 9, 5, 6, 3, s=2, p=1, groups=3, bias=False),
    Conv(1, 5, 5, 7, 7, 3, p=1, groups=5),                     # depthwise
    Conv(1, 2, 3, 7, 8, (3, 2), p=(2, 1), d=(2, 3)),
    Conv(2, 2, 3, 7, 5, (5, 3), s=(3, 1), p=(2, 0), d=(1, 2)),
    Conv(1, 3, 2, 1, 7, (1, 3), s=(1, 2), p=(0, 1)),
    Conv(1, 3, 2, 2, 2, 5, p=2, bias=False),                   # kernel > input
    Conv(3, 4, 6, 3, 5, 1, groups=2),                          # 1x1
    Conv(1, 2, 2, 7, 1, (2, 1), s=(2, 3)),
    Conv(1, 2, 2, 4, 4, 3, p=3),                               # padding > k/2
]


def _random_conv(rng):
    groups = int(rng.choice([1, 1, 2, 3]))
    k = tuple(int(v) for v in rng.integers(1, 6, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.choice([1, 1, 2, 3], 2))
    p = tuple(int(rng.integers(0, k[a] + 1)) for a in range(2))
    H, W = (int(v) for v in rng.choice([1, 2, 3, 5, 7, 8], 2))
    return Conv(int(rng.integers(1, 4)), groups * int(rng.integers(1, 4)),
                groups * int(rng.integers(1, 4)), H, W, k, s, p, d, groups,
                bool(rng.integers(0, 2)))


def conv_configs(n_random=36, seed=7):
    rng = np.random.default_rng(seed)
    configs = list(CONV_HANDPICKED)
    seen = {c.id for c in configs}
    while len(configs) < len(CONV_HANDPICKED) + n_random:
        c = _random_conv(rng)
        if c.valid() and c.id not in seen:
            seen.add(c.id)
            configs.append(c)
    assert all(c.valid() for c in configs)
    return configs


class Up:
    """One upsample configuration: exactly one of ``size`` / ``scale_factor``."""

    def __init__(self, N, C, H, W, mode, size=None, scale_factor=None, align_corners=None):
        self.N, self.C, self.H, self.W = N, C, H, W
        self.mode, self.size, self.scale_factor = mode, size, scale_factor
        self.align_corners = align_corners

    @property
    def x_shape(self):
        return (self.N, self.C, self.H, self.W)

    @property
    def out_hw(self):
        if self.size is not None:
            return (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)
        sf = self.scale_factor
        sH, sW = (sf, sf) if not isinstance(sf, tuple) else sf
        return (int(np.floor(self.H * sH)), int(np.floor(self.W * sW)))

    @property
    def y_shape(self):
        return (self.N, self.C) + self.out_hw

    @property
    def kwargs(self):
        return dict(size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                    align_corners=self.align_corners)

    def torch_comparable(self):
        """True where PyTorch's floating-point nearest indices cannot hit a tie (docs/design.md).

        Integer scale factors, bilinear, coprime sizes (nearest) and odd input sizes
        (nearest-exact) are tie-free; PyTorch evaluates ``dst * (1/scale_factor)`` in float32
        where the reference divides exactly, so other nearest scale factors are not compared.
        """
        ins, outs = (self.H, self.W), self.out_hw
        if self.scale_factor is not None:
            sf = self.scale_factor
            sfs = (sf, sf) if not isinstance(sf, tuple) else sf
            if all(float(v).is_integer() for v in sfs):
                return True
            return self.mode == "bilinear"
        if self.mode == "nearest":
            return all(np.gcd(i, o) == 1 or o == i for i, o in zip(ins, outs))
        if self.mode == "nearest-exact":
            return all(i % 2 == 1 for i in ins)
        return True

    @property
    def id(self):
        how = (f"size{self.size}" if self.size is not None else f"sf{self.scale_factor}")
        how = how.replace(" ", "").replace("(", "").replace(")", "").replace(",", "x")
        ac = "" if self.align_corners is None else f"_ac{int(self.align_corners)}"
        return f"{self.mode}{ac}_n{self.N}c{self.C}_{self.H}x{self.W}_{how}"

    def __repr__(self):
        return f"Up({self.id})"


def upsample_configs():
    configs = []
    shapes = [(1, 1, 1, 1), (2, 3, 7, 5), (1, 2, 4, 6), (1, 1, 1, 7), (2, 1, 5, 1),
              (1, 3, 3, 3)]
    modes = [("nearest", None), ("nearest-exact", None), ("bilinear", False),
             ("bilinear", True)]
    how = [dict(scale_factor=2), dict(scale_factor=3), dict(scale_factor=(2, 3)),
           dict(scale_factor=1.5), dict(scale_factor=(0.5, 2.5)), dict(size=(11, 13)),
           dict(size=9), dict(size=(1, 4)), dict(scale_factor=1)]
    rng = np.random.default_rng(31)
    for mode, ac in modes:
        for i, h in enumerate(how):
            # each (mode, how) pair on two of the shapes, always incl. an odd-sized one
            for shape in (shapes[1], shapes[[0, 2, 3, 4, 5][(i + len(configs)) % 5]]):
                c = Up(*shape, mode=mode, align_corners=ac, **h)
                if min(c.out_hw) > 0:
                    configs.append(c)
        # PyTorch's fast paths: out == in and out == 2*in with a non-integer scale factor
        configs.append(Up(1, 2, 5, 5, mode, scale_factor=(1.19, 2.1), align_corners=ac))
        configs.append(Up(2, 1, 3, 6, mode, scale_factor=(2.19, 1.1), align_corners=ac))
        # random sizes, including downsampling
        for _ in range(4):
            H, W = (int(v) for v in rng.integers(1, 10, 2))
            size = tuple(int(v) for v in rng.integers(1, 20, 2))
            configs.append(Up(int(rng.integers(1, 3)), int(rng.integers(1, 4)), H, W, mode,
                              size=size, align_corners=ac))
    ids = [c.id for c in configs]
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    return configs


# ----------------------------------------------------------------------------------------
# fused kernels: upsample + convolution, upsample + skip addition
# ----------------------------------------------------------------------------------------

def _scale_id(sf):
    if isinstance(sf, tuple):
        return "x".join(_scale_id(v) for v in sf)
    return f"{sf:g}" if isinstance(sf, float) else str(sf)


def _scale_pair(sf):
    return tuple(sf) if isinstance(sf, tuple) else (sf, sf)


class UpConv:
    """One ``upsample_conv2d`` configuration: upsample by ``sf`` with ``mode``, then a
    convolution with kernel ``k``, stride ``s``, padding ``p``, dilation ``d``, ``groups``."""

    def __init__(self, N, C_in, C_out, H, W, k, sf=2, mode="nearest", ac=None, s=1, p=0, d=1,
                 groups=1, bias=True):
        as_pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.N, self.C_in, self.C_out, self.H, self.W = N, C_in, C_out, H, W
        self.k, self.s, self.p, self.d = map(as_pair, (k, s, p, d))
        self.sf, self.mode, self.ac = sf, mode, ac
        self.groups, self.bias = groups, bias

    @property
    def up_hw(self):
        return tuple(int(np.floor(n * f)) for n, f in zip((self.H, self.W), _scale_pair(self.sf)))

    @property
    def out_hw(self):
        return tuple((n + 2 * self.p[a] - self.d[a] * (self.k[a] - 1) - 1) // self.s[a] + 1
                     for a, n in enumerate(self.up_hw))

    def valid(self):
        return (min(self.up_hw) > 0 and min(self.out_hw) > 0
                and self.C_in % self.groups == 0 and self.C_out % self.groups == 0)

    @property
    def collapsed(self):
        """True where upsample_conv2d takes the collapsed-kernel (phase) path."""
        return (self.mode != "bilinear" and self.s == (1, 1)
                and all(float(f).is_integer() for f in _scale_pair(self.sf)))

    @property
    def winograd(self):
        """True where the collapsed kernels are all 2x2 (upsample_conv2d's Winograd path):
        along each axis, output phase r of scale s reads the input offsets
        floor((r - p + i*d)/s), i < k, which must span exactly two pixels."""
        if not self.collapsed:
            return False
        for f, k, p, d in zip(_scale_pair(self.sf), self.k, self.p, self.d):
            s = int(f)
            for r in range(s):
                offsets = [(r - p + i * d) // s for i in range(k)]
                if max(offsets) - min(offsets) != 1:
                    return False
        return True

    @property
    def x_shape(self):
        return (self.N, self.C_in, self.H, self.W)

    @property
    def w_shape(self):
        return (self.C_out, self.C_in // self.groups) + self.k

    @property
    def y_shape(self):
        return (self.N, self.C_out) + self.out_hw

    @property
    def kwargs(self):
        return dict(scale_factor=self.sf, mode=self.mode, align_corners=self.ac, stride=self.s,
                    padding=self.p, dilation=self.d, groups=self.groups)

    @property
    def up_kwargs(self):
        return dict(scale_factor=self.sf, mode=self.mode, align_corners=self.ac)

    @property
    def conv_kwargs(self):
        return dict(stride=self.s, padding=self.p, dilation=self.d, groups=self.groups)

    def torch_comparable(self):
        return Up(self.N, self.C_in, self.H, self.W, self.mode, scale_factor=self.sf,
                  align_corners=self.ac).torch_comparable()

    def data(self, dtype, seed=0):
        rng = seeded_rng("upconv", self.id, seed)
        x = randn(rng, self.x_shape, dtype)
        w = randn(rng, self.w_shape, dtype)
        b = randn(rng, (self.C_out,), dtype) if self.bias else None
        return x, w, b

    @property
    def id(self):
        ac = "" if self.ac is None else f"_ac{int(self.ac)}"
        return (f"{self.mode}{ac}x{_scale_id(self.sf)}_n{self.N}c{self.C_in}-{self.C_out}"
                f"g{self.groups}_{self.H}x{self.W}_k{_pair_id(self.k)}s{_pair_id(self.s)}"
                f"p{_pair_id(self.p)}d{_pair_id(self.d)}{'_b' if self.bias else ''}")

    def __repr__(self):
        return f"UpConv({self.id})"


UPCONV_HANDPICKED = [
    UpConv(2, 4, 3, 5, 6, 3, 2, p=1),                                  # StyleGAN: x2 + 3x3
    UpConv(1, 3, 2, 4, 5, 3, 3, p=1),                                  # x3 + 3x3
    UpConv(1, 2, 3, 3, 4, 3, 4, p=1, bias=False),                      # x4 + 3x3
    UpConv(1, 3, 3, 4, 4, 5, 2, p=2),                                  # x2 + 5x5
    UpConv(2, 2, 3, 5, 7, 3, 1, p=1),                                  # x1: a plain conv
    UpConv(1, 3, 4, 4, 5, (1, 5), (2, 3), p=(0, 2)),                   # per-axis, non-square
    UpConv(1, 2, 2, 5, 4, (4, 2), 2, p=(1, 0), d=(1, 2)),              # even kernel, dilation
    UpConv(1, 6, 9, 4, 3, 3, 2, p=1, groups=3),                        # groups
    UpConv(2, 5, 5, 3, 4, 3, 2, p=1, groups=5, bias=False),            # depthwise
    UpConv(1, 3, 2, 4, 5, 3, 2, p=3),                                  # padding > k/2
    UpConv(1, 2, 3, 1, 1, 3, 3, p=1),                                  # 1x1 input
    UpConv(1, 2, 2, 1, 6, (1, 3), 2, p=(0, 1)),                        # H = 1
    UpConv(1, 2, 2, 7, 1, (3, 1), (3, 2), p=(1, 0)),                   # W = 1
    UpConv(1, 3, 2, 5, 5, 3, 2, "nearest-exact", p=1),
    UpConv(2, 2, 3, 5, 6, 3, 3, "nearest-exact", p=(0, 1), d=(2, 1)),
    UpConv(1, 3, 4, 5, 6, 3, 2, s=2, p=1),                             # strided: im2col path
    UpConv(1, 2, 3, 5, 7, (2, 3), 3, s=(2, 1), p=(1, 0)),              # strided one axis
    UpConv(1, 3, 2, 5, 6, 3, 1.5, p=1),                                # fractional nearest
    UpConv(1, 2, 2, 5, 6, 3, (2.5, 1.5), "nearest-exact", p=1),
    UpConv(1, 2, 3, 6, 7, 3, (0.5, 2), p=(0, 1)),                      # down one axis
    UpConv(2, 3, 4, 5, 6, 3, 2, "bilinear", False, p=1),
    UpConv(1, 3, 2, 5, 4, 3, 2, "bilinear", True, p=1),
    UpConv(1, 2, 4, 4, 5, (5, 3), 3, "bilinear", False, p=(2, 1), groups=2),
    UpConv(1, 2, 2, 5, 5, 3, 2.5, "bilinear", True, s=2, p=1, d=2),
    UpConv(1, 2, 2, 6, 5, 4, (1.5, 3), "bilinear", False, s=(1, 2), bias=False),
    UpConv(3, 2, 2, 2, 3, 3, 2, p=1),                                  # several small images
    UpConv(0, 3, 4, 5, 6, 3, 2, p=1),                                  # empty batch
    UpConv(2, 17, 33, 11, 6, 3, 2, p=1),                               # Winograd, odd sizes
    UpConv(3, 4, 6, 5, 3, 3, 2, p=2, groups=2, bias=False),            # Winograd, groups
    UpConv(1, 3, 5, 6, 7, (3, 2), (2, 1), p=(0, 1)),                   # Winograd, x1 axis
    UpConv(1, 8, 40, 2, 3, 3, 2, p=1),                                 # Winograd, few tiles
]


def _random_scale(rng):
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return int(rng.integers(1, 5))
    if kind == 1:
        return tuple(int(v) for v in rng.integers(1, 5, 2))
    choices = [0.5, 0.75, 1.25, 1.5, 2.5, 1.7, 3.3]
    if kind == 2:
        return float(rng.choice(choices))
    return (float(rng.choice(choices)), int(rng.integers(1, 4)))


def _random_upconv(rng):
    groups = int(rng.choice([1, 1, 2, 3]))
    mode, ac = [("nearest", None), ("nearest", None), ("nearest-exact", None),
                ("bilinear", False), ("bilinear", True)][int(rng.integers(0, 5))]
    k = tuple(int(v) for v in rng.integers(1, 6, 2))
    s = tuple(int(v) for v in rng.choice([1, 1, 1, 2], 2))
    d = tuple(int(v) for v in rng.choice([1, 1, 2], 2))
    p = tuple(int(rng.integers(0, k[a] + 1)) for a in range(2))
    H, W = (int(v) for v in rng.choice([1, 2, 3, 4, 5, 7], 2))
    return UpConv(int(rng.integers(1, 3)), groups * int(rng.integers(1, 3)),
                  groups * int(rng.integers(1, 3)), H, W, k, _random_scale(rng), mode, ac,
                  s, p, d, groups, bool(rng.integers(0, 2)))


def upconv_configs(n_random=48, seed=1234):
    rng = np.random.default_rng(seed)
    configs = list(UPCONV_HANDPICKED)
    seen = {c.id for c in configs}
    while len(configs) < len(UPCONV_HANDPICKED) + n_random:
        c = _random_upconv(rng)
        if c.valid() and c.id not in seen:
            seen.add(c.id)
            configs.append(c)
    assert all(c.valid() for c in configs)
    return configs


class UpAdd:
    """One ``upsample_add`` configuration: x (N, C, H, W) resized to skip (N, C, Hs, Ws)."""

    def __init__(self, N, C, H, W, Hs, Ws, mode="nearest", ac=None):
        self.N, self.C, self.H, self.W, self.Hs, self.Ws = N, C, H, W, Hs, Ws
        self.mode, self.ac = mode, ac

    @property
    def x_shape(self):
        return (self.N, self.C, self.H, self.W)

    @property
    def skip_shape(self):
        return (self.N, self.C, self.Hs, self.Ws)

    @property
    def kwargs(self):
        return dict(mode=self.mode, align_corners=self.ac)

    def torch_comparable(self):
        return Up(self.N, self.C, self.H, self.W, self.mode, size=(self.Hs, self.Ws),
                  align_corners=self.ac).torch_comparable()

    def data(self, dtype, seed=0):
        rng = seeded_rng("upadd", self.id, seed)
        return randn(rng, self.x_shape, dtype), randn(rng, self.skip_shape, dtype)

    @property
    def id(self):
        ac = "" if self.ac is None else f"_ac{int(self.ac)}"
        return f"{self.mode}{ac}_n{self.N}c{self.C}_{self.H}x{self.W}-{self.Hs}x{self.Ws}"

    def __repr__(self):
        return f"UpAdd({self.id})"


def upadd_configs(seed=99):
    shapes = [(2, 3, 4, 5, 8, 10),      # FPN: x2
              (1, 2, 13, 13, 26, 26),   # YOLOv3: x2 of an odd map
              (1, 2, 3, 4, 9, 12),      # x3
              (2, 1, 5, 7, 11, 13),     # coprime sizes
              (1, 3, 5, 5, 5, 5),       # same size
              (1, 2, 6, 8, 3, 5),       # downsampling
              (1, 1, 1, 1, 4, 3),       # from 1x1
              (1, 2, 1, 5, 7, 10),      # H = 1
              (3, 2, 4, 1, 8, 3)]       # W = 1
    modes = [("nearest", None), ("nearest-exact", None), ("bilinear", False),
             ("bilinear", True)]
    configs = [UpAdd(*shape, mode, ac) for mode, ac in modes for shape in shapes]
    rng = np.random.default_rng(seed)
    for _ in range(12):
        mode, ac = modes[int(rng.integers(0, 4))]
        H, W, Hs, Ws = (int(v) for v in rng.integers(1, 12, 4))
        configs.append(UpAdd(int(rng.integers(1, 3)), int(rng.integers(1, 4)), H, W, Hs, Ws,
                             mode, ac))
    ids = [c.id for c in configs]
    return [c for i, c in enumerate(configs) if c.id not in ids[:i]]


# ----------------------------------------------------------------------------------------
# hypothesis profiles (tests/test_properties.py)
# ----------------------------------------------------------------------------------------

#: ``SUITE_HYPOTHESIS_PROFILE=long`` (``make test-long``) runs >= 10,000 examples per
#: property; the default ``ci`` profile a small, derandomized budget set per property.
HYPOTHESIS_PROFILE = os.environ.get("SUITE_HYPOTHESIS_PROFILE", "ci")
LONG_EXAMPLES = 10_000

try:
    from hypothesis import HealthCheck, settings as _hyp_settings
except ImportError:  # the property tests importorskip hypothesis themselves
    _hyp_settings = None
else:
    _slow_checks = [HealthCheck.too_slow, HealthCheck.data_too_large,
                    HealthCheck.filter_too_much]
    # ci: the same examples on every run (no database, no flakiness from new seeds)
    _hyp_settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                                   database=None, print_blob=True,
                                   suppress_health_check=_slow_checks)
    # long: fresh random examples, failures saved in .hypothesis/ for replay
    _hyp_settings.register_profile("long", max_examples=LONG_EXAMPLES, deadline=None,
                                   derandomize=False, print_blob=True,
                                   suppress_health_check=_slow_checks)
    _hyp_settings.load_profile(HYPOTHESIS_PROFILE)


def property_settings(ci_examples):
    """Settings for one property: ``ci_examples`` in the ci profile, the profile's own
    ``max_examples`` otherwise (``long``: 10,000)."""
    if HYPOTHESIS_PROFILE == "ci":
        return _hyp_settings(max_examples=ci_examples)
    return _hyp_settings()


@pytest.fixture(params=["avx2", "sse2"])
def row_isa(request):
    """Runs a test with the row kernels (pyx/_simd.h) on AVX2 (skipped where the CPU has none)
    and on their portable path (SSE2 on x86-64), in every module that uses them."""
    import suite
    modules = (sys.modules["suite._upsample"], sys.modules["suite._direct"])
    if request.param == "avx2" and modules[0].vector_isa() != "avx2":
        pytest.skip("this CPU has no AVX2")
    for module in modules:
        module.vector_isa(allow_avx2=request.param == "avx2")
        assert module.vector_isa() == request.param
    yield request.param
    for module in modules:
        module.vector_isa(allow_avx2=True)


@pytest.fixture(params=["avx512", "blas"])
def gemm_kernel(request):
    """Runs a test with the float32 products suite's own kernels take (pyx/_sgemm.h; skipped
    where the CPU has no AVX-512) on them and on BLAS."""
    import suite
    own_gemm = sys.modules["suite.conv"].own_gemm
    if request.param == "avx512" and own_gemm() != "avx512":
        pytest.skip("this CPU has no AVX-512")
    assert own_gemm(request.param == "avx512") == request.param
    yield request.param
    own_gemm(True)
