"""Thread counts: one level of parallelism at a time (OpenMP, with BLAS single-threaded)."""

from threadpoolctl import ThreadpoolController

from . import _conv  # noqa: F401  (loads scipy's BLAS and the OpenMP runtime first)

_controller = None


def _thread_controller():
    # Scanning the loaded libraries costs milliseconds: do it once, after the extensions
    # (and so the OpenMP runtime and scipy's BLAS) are loaded.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def single_threaded_blas():
    """Hold BLAS at one thread for a kernel that splits its GEMMs across OpenMP threads.

    The kernels run everything, GEMMs included, on one OpenMP thread pool: each thread calls
    BLAS on its own block. BLAS's own threads would nest inside (oversubscription) or, when
    alternating with OpenMP's, fight over the cores while the other pool spins down.
    """
    return _thread_controller().limit(limits=1, user_api="blas")
