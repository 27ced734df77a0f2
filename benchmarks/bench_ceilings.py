"""The machine's two ceilings, measured in the same campaign: GEMM GFLOP/s and copy GB/s.

They place every kernel on this machine's roofline (a kernel's track_gflops against
``Gemm.track_gemm_gflops``, its track_gbps against ``Copy.track_copy_gbps`` at the same
thread count). How they are measured is ``suite.bench.ceilings`` (shared with ``python -m
suite profile``):

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

from . import common

ceilings = common.ceilings

GEMM_SIZE = ceilings.GEMM_SIZE
COPY_MIB = ceilings.COPY_MIB


def _seconds_per_call(run):
    return common.measure_seconds(run, budget=max(common.TRACK_TIME, 0.3))


class Gemm:
    params = [["float32", "float64"], common.THREADS]
    param_names = ["dtype", "threads"]
    timeout = common.TIMEOUT

    def setup(self, dtype, threads):
        self.gemm = ceilings.GemmCeiling(dtype, GEMM_SIZE, common.rng_for("gemm", dtype))

    def track_gemm_gflops(self, dtype, threads):
        return self.gemm.gflops(threads, _seconds_per_call)

    track_gemm_gflops.unit = "GFLOP/s"


class Copy:
    params = [common.THREADS]
    param_names = ["threads"]
    timeout = common.TIMEOUT

    def setup(self, threads):
        self.copy = ceilings.CopyCeiling(threads, COPY_MIB, common.rng_for("copy"))

    def teardown(self, threads):
        self.copy.close()

    def track_copy_gbps(self, threads):
        return self.copy.gbps(_seconds_per_call)

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
