"""The machine's two ceilings, measured one way everywhere: a GEMM's GFLOP/s and a large
copy's GB/s. The asv suite records them in each campaign (``benchmarks/bench_ceilings.py``)
and ``python -m suite profile`` measures them to place each stage of a kernel against them.

* :class:`GemmCeiling`: ``scipy.linalg.blas`` sgemm / dgemm (the BLAS suite's kernels call)
  of two ``size`` x ``size`` matrices, BLAS held at ``threads`` with threadpoolctl; 2*size**3
  FLOPs per call.
* :class:`CopyCeiling`: ``np.copyto`` of a ``mib`` MiB float32 array (far larger than the
  caches), split into ``threads`` contiguous chunks copied concurrently (NumPy releases the
  GIL while it copies); bytes read + written per second.

The caller gives the timing loop (``seconds_per_call(run)``: seconds per call of ``run``),
``suite.bench.timing.median_seconds`` over a budget in both users. Nothing here imports
``suite``: a history campaign loads this file by path beside an older build.
"""

import concurrent.futures

import numpy as np

__all__ = ["GEMM_SIZE", "COPY_MIB", "GemmCeiling", "CopyCeiling", "measure_ceilings"]

GEMM_SIZE = 1024
COPY_MIB = 128


class GemmCeiling:
    """A GEMM of two ``size`` x ``size`` Fortran-ordered matrices of ``dtype``."""

    def __init__(self, dtype, size=GEMM_SIZE, rng=None):
        from scipy.linalg import blas

        rng = np.random.default_rng(0) if rng is None else rng
        self.a = np.asfortranarray(rng.standard_normal((size, size)).astype(dtype))
        self.b = np.asfortranarray(rng.standard_normal((size, size)).astype(dtype))
        self.gemm = blas.sgemm if np.dtype(dtype) == np.float32 else blas.dgemm
        self.flops = 2 * size ** 3

    def run(self):
        self.gemm(1.0, self.a, self.b)

    def gflops(self, threads, seconds_per_call):
        """GFLOP/s with BLAS held at ``threads`` threads."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            seconds = seconds_per_call(self.run)
        return self.flops / seconds / 1e9


class CopyCeiling:
    """``np.copyto`` of ``mib`` MiB of float32 on ``threads`` threads (chunks copied
    concurrently); :meth:`close` stops the worker threads."""

    def __init__(self, threads, mib=COPY_MIB, rng=None):
        n = mib * 2 ** 20 // 4
        rng = np.random.default_rng(0) if rng is None else rng
        self.src = rng.standard_normal(n, dtype=np.float32)
        self.dst = np.empty_like(self.src)
        self.dst[...] = 0.0                      # fault the pages in once
        bounds = np.linspace(0, n, threads + 1).astype(int)
        self.chunks = [(self.dst[a:b], self.src[a:b]) for a, b in zip(bounds, bounds[1:])]
        self.pool = concurrent.futures.ThreadPoolExecutor(threads) if threads > 1 else None
        self.nbytes = 2 * self.src.nbytes

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def run(self):
        if self.pool is None:
            np.copyto(self.dst, self.src)
        else:
            list(self.pool.map(lambda pair: np.copyto(*pair), self.chunks))

    def gbps(self, seconds_per_call):
        """GB/s read + written."""
        return self.nbytes / seconds_per_call(self.run) / 1e9


def measure_ceilings(dtype="float32", threads=1, budget=0.5):
    """``{"gemm_gflops": ..., "copy_gbps": ...}`` on ``threads`` threads, each the median
    of ``budget`` seconds of calls."""
    from . import timing

    def per_call(run):
        return timing.median_seconds(run, budget)

    copy = CopyCeiling(threads)
    try:
        copy_gbps = copy.gbps(per_call)
    finally:
        copy.close()
    return {"gemm_gflops": GemmCeiling(dtype).gflops(threads, per_call),
            "copy_gbps": copy_gbps}
