"""Thread counts: one level of parallelism at a time (OpenMP, with BLAS single-threaded)."""

import threading

from threadpoolctl import ThreadpoolController

from . import _buildinfo
from . import _im2col  # noqa: F401  (loads scipy's BLAS and the OpenMP runtime first)
from ._validation import check_int

_controller = None


def _thread_controller():
    # Scanning the loaded libraries costs milliseconds: do it once, after the extensions
    # (and so the OpenMP runtime and scipy's BLAS) are loaded.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


class _SingleThreadedBlas:
    """Hold BLAS at one thread while any kernel that needs it runs.

    Kernels release the GIL and may run from several Python threads at once, and
    OpenBLAS's limit is process-wide: the first call in saves each BLAS library's limit and
    sets 1, the last one out restores it, under one lock, whichever threads they run on.
    (threadpoolctl's own limiter lets only the thread that set a limit change it again,
    which cannot restore a limit set by another thread; its raw setter is used when it has
    one.)
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._saved = []

    @staticmethod
    def _blas_libraries():
        return [lib for lib in _thread_controller().lib_controllers if lib.user_api == "blas"]

    @staticmethod
    def _set(lib, num_threads):
        setter = getattr(lib, "_real_set_num_threads", None) or lib.set_num_threads
        setter(num_threads)

    def __enter__(self):
        with self._lock:
            if self._depth == 0:
                self._saved = [(lib, lib.get_num_threads()) for lib in self._blas_libraries()]
                for lib, _ in self._saved:
                    self._set(lib, 1)
            self._depth += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for lib, num_threads in self._saved:
                    if num_threads is not None:
                        self._set(lib, num_threads)
                self._saved = []
        return False


_single_threaded_blas = _SingleThreadedBlas()


def single_threaded_blas():
    """Hold BLAS at one thread for a kernel that splits its GEMMs across OpenMP threads.

    The kernels run everything, GEMMs included, on one OpenMP thread pool: each thread calls
    BLAS on its own block. BLAS's own threads would nest inside (oversubscription) or, when
    alternating with OpenMP's, fight over the cores while the other pool spins down.
    """
    return _single_threaded_blas


def effective_n_threads(num_threads):
    """The OpenMP thread count for one call: ``None`` means OpenMP's current limit."""
    if num_threads is None:
        return _buildinfo.omp_max_threads()
    return check_int(num_threads, "num_threads", minimum=1)
