"""The machine's two ceilings, measured in the same campaign: GEMM GFLOP/s and copy GB/s.

They place every kernel on this machine's roofline (a kernel's track_gflops against
``Gemm.track_gemm_gflops``, its track_gbps against ``Copy.track_copy_gbps`` at the same
thread count).

* ``Gemm``: ``scipy.linalg.blas`` sgemm / dgemm (the BLAS suite's kernels call) of two
  GEMM_SIZE x GEMM_SIZE matrices, with ``threadpoolctl.threadpool_limits(threads, "blas")``;
  the median of TRACK_TIME seconds of calls (at least three).
* ``Copy``: ``np.copyto`` of a COPY_MIB MiB float32 array (far larger than the caches), split
  into ``threads`` contiguous chunks copied concurrently (NumPy releases the GIL while it
  copies); bytes read + written per second.
* ``Environment``: what the campaign ran on, for the report: its one parameter is
  ``suite._environment.record()`` (a JSON string: CPU model and vector extensions, the BLAS,
  its kernel family and any variable that pins it, the OpenMP runtime, the packages'
  versions), so it travels with the results file; ``track_blas_vector_bits`` is the width of
  the vectors the BLAS kernels use (256 for AVX2 kernels, 512 for AVX-512 ones), which a pin
  such as ``OPENBLAS_CORETYPE=Haswell`` lowers. The report reads it with
  ``suite.bench.report.load.machine_environments``. asv files a result under the parameter
  found when it discovered the benchmarks, in the same environment variables as the run.
"""

import concurrent.futures

import numpy as np

from . import common

GEMM_SIZE = 1024
COPY_MIB = 128


class Gemm:
    params = [["float32", "float64"], common.THREADS]
    param_names = ["dtype", "threads"]
    timeout = common.TIMEOUT

    def setup(self, dtype, threads):
        from scipy.linalg import blas

        rng = common.rng_for("gemm", dtype)
        self.a = np.asfortranarray(rng.standard_normal((GEMM_SIZE, GEMM_SIZE)).astype(dtype))
        self.b = np.asfortranarray(rng.standard_normal((GEMM_SIZE, GEMM_SIZE)).astype(dtype))
        self.gemm = blas.sgemm if dtype == "float32" else blas.dgemm
        self.flops = common.cost("gemm", dtype, m=GEMM_SIZE, n=GEMM_SIZE, k=GEMM_SIZE).flops

    def track_gemm_gflops(self, dtype, threads):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            seconds = common.measure_seconds(lambda: self.gemm(1.0, self.a, self.b),
                                             budget=max(common.TRACK_TIME, 0.3))
        return self.flops / seconds / 1e9

    track_gemm_gflops.unit = "GFLOP/s"


class Copy:
    params = [common.THREADS]
    param_names = ["threads"]
    timeout = common.TIMEOUT

    def setup(self, threads):
        n = COPY_MIB * 2 ** 20 // 4
        self.src = common.rng_for("copy").standard_normal(n, dtype=np.float32)
        self.dst = np.empty_like(self.src)
        self.dst[...] = 0.0                      # fault the pages in once
        bounds = np.linspace(0, n, threads + 1).astype(int)
        self.chunks = [(self.dst[a:b], self.src[a:b]) for a, b in zip(bounds, bounds[1:])]
        self.pool = concurrent.futures.ThreadPoolExecutor(threads) if threads > 1 else None
        self.nbytes = common.cost("copy", "float32", size=n).bytes

    def teardown(self, threads):
        if self.pool is not None:
            self.pool.shutdown()

    def _copy(self):
        if self.pool is None:
            np.copyto(self.dst, self.src)
        else:
            list(self.pool.map(lambda pair: np.copyto(*pair), self.chunks))

    def track_copy_gbps(self, threads):
        return self.nbytes / common.measure_seconds(self._copy,
                                                    budget=max(common.TRACK_TIME, 0.3)) / 1e9

    track_copy_gbps.unit = "GB/s"


class Environment:
    params = [[common.environment.record()]]
    param_names = ["environment"]
    timeout = common.TIMEOUT

    def setup(self, environment):
        self.blas = common.environment.describe()["blas"] or {}

    def track_blas_vector_bits(self, environment):
        if self.blas.get("kernel_width") is None:
            raise NotImplementedError("the BLAS kernel family's vector width is not known")
        return self.blas["kernel_width"]

    track_blas_vector_bits.unit = "bits"
