"""Thread counts: OpenMP's for the loops, BLAS's for the GEMMs, one level at a time."""

import contextlib

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


def blas_threads(num_threads):
    """Limit BLAS to ``num_threads`` for the duration of a call; ``None`` leaves it as is.

    The kernels never call BLAS from inside an OpenMP region, so BLAS may use the same number
    of threads as the OpenMP loops between the GEMMs without oversubscribing the machine.
    """
    if num_threads is None:
        return contextlib.nullcontext()
    return _thread_controller().limit(limits=num_threads, user_api="blas")
