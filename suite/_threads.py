"""Thread counts: one level of parallelism at a time (OpenMP, with BLAS single-threaded),
and what survives ``fork``.

GNU OpenMP's thread pool does not survive ``fork``: in a child forked after the parent ran
a parallel region on more than one thread, the next region on more than one thread waits
forever for threads that were not copied. So a process that has started the pool (any kernel
call on more than one thread) marks itself, and its forked children run every kernel on one
thread, with one RuntimeWarning that says why and what to use instead (the ``spawn`` or
``forkserver`` start methods, whose children start fresh and get their threads). Children
forked before the pool started, and the children of ``forkserver``, keep their threads.
"""

import ctypes
import os
import threading
import warnings

from threadpoolctl import ThreadpoolController

from . import _blas_hold, _buildinfo
from . import _im2col  # noqa: F401  (loads scipy's BLAS and the OpenMP runtime first)
from ._environment import is_scipy_blas
from ._validation import check_int

_controller = None


def _thread_controller():
    # Scanning the loaded libraries costs milliseconds: do it once, after the extensions
    # (and so the OpenMP runtime and scipy's BLAS) are loaded.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def _kernel_blas_libraries():
    """threadpoolctl's controllers of the BLAS the kernels' GEMMs call: SciPy's own (the one
    ``scipy.linalg.cython_blas`` calls), or every BLAS it found when none is SciPy's (a
    BLAS that NumPy and SciPy share). Found once: the libraries loaded stay loaded."""
    global _kernel_blas
    if _kernel_blas is None:
        libraries = [lib for lib in _thread_controller().lib_controllers
                     if lib.user_api == "blas"]
        ours = [lib for lib in libraries if is_scipy_blas(lib.filepath)]
        _kernel_blas = ours or libraries
    return _kernel_blas


_kernel_blas = None


#: OpenBLAS's thread-limit functions are exported with these affixes (SciPy's wheels:
#: ``scipy_openblas_set_num_threads64_``), as threadpoolctl looks them up.
_OPENBLAS_AFFIXES = [(prefix, suffix) for prefix in ("", "scipy_")
                     for suffix in ("", "64_", "_64")]


def _openblas_functions(lib):
    """(get, set) of an OpenBLAS that runs its own threads (not its OpenMP build), as ctypes
    functions of the library itself, or None. Called directly they cost about 0.1 us each,
    threadpoolctl's wrappers about 0.5 (three calls per kernel call: 2.6 us with the
    wrappers, a fifth of a 5x5 map's transposed convolution; docs/performance.md, item 33)."""
    if getattr(lib, "internal_api", None) != "openblas" or getattr(
            lib, "threading_layer", None) == "openmp":
        return None
    try:
        dynlib = ctypes.CDLL(lib.filepath)       # the loaded library: the same handle
    except OSError:
        return None
    for prefix, suffix in _OPENBLAS_AFFIXES:
        get = getattr(dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
        set_ = getattr(dynlib, f"{prefix}openblas_set_num_threads{suffix}", None)
        if get is not None and set_ is not None:
            get.restype, get.argtypes = ctypes.c_int, []
            set_.restype, set_.argtypes = None, [ctypes.c_int]
            return get, set_
    return None


class _SingleThreadedBlas:
    """Hold the kernels' BLAS at one thread while any kernel that needs it runs.

    Kernels release the GIL and may run from several Python threads at once, and
    OpenBLAS's limit is process-wide: the first call in saves the library's limit and sets
    1, the last one out restores it, under one lock, whichever threads they run on.
    (threadpoolctl's own limiter lets only the thread that set a limit change it again,
    which cannot restore a limit set by another thread; its raw setter is used when it has
    one.) Only the BLAS the kernels call is held (:func:`_kernel_blas_libraries`): another
    one in the process (NumPy's own OpenBLAS) keeps its threads, and each call costs two
    or three calls into one library instead of into every BLAS loaded.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._saved = []
        self._accessors = None

    def after_fork_in_child(self):
        """A forked child has only the forking thread: a lock held by another thread would
        never be released, and a kernel that was running there never ends. Start afresh,
        with BLAS's limits as they were before any kernel held them."""
        self._lock = threading.Lock()
        saved, self._saved, self._depth = self._saved, [], 0
        for set_threads, num_threads in saved:
            set_threads(num_threads)

    def _blas_accessors(self):
        """(get, set) of each library's thread limit, looked up once: an OpenBLAS with its
        own threads through its C functions (:func:`_openblas_functions`), any other BLAS
        through threadpoolctl."""
        if self._accessors is None:
            self._accessors = [
                _openblas_functions(lib)
                or (lib.get_num_threads,
                    getattr(lib, "_real_set_num_threads", None) or lib.set_num_threads)
                for lib in _kernel_blas_libraries()]
        return self._accessors

    def __enter__(self):
        with self._lock:
            if self._depth == 0:
                saved = []
                for get_threads, set_threads in self._blas_accessors():
                    num_threads = get_threads()
                    if num_threads is not None and num_threads != 1:
                        set_threads(1)
                        saved.append((set_threads, num_threads))
                self._saved = saved
            self._depth += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for set_threads, num_threads in self._saved:
                    set_threads(num_threads)
                self._saved = []
        return False


_single_threaded_blas = _SingleThreadedBlas()

#: What single_threaded_blas returns, chosen on its first call.
_hold = None


def _choose_hold():
    """The C hold (suite._blas_hold) when every BLAS to hold is an OpenBLAS whose own
    functions were found (1.53 -> 0.14 us a kernel call), else the Python one."""
    accessors = _single_threaded_blas._blas_accessors()
    if all(isinstance(f, ctypes._CFuncPtr) for pair in accessors for f in pair):
        if all(_blas_hold.register(ctypes.cast(get, ctypes.c_void_p).value,
                                   ctypes.cast(set_, ctypes.c_void_p).value)
               for get, set_ in accessors):
            return _blas_hold.HOLD
        raise RuntimeError(f"suite: too many BLAS libraries to hold: {len(accessors)}")
    return _single_threaded_blas


def single_threaded_blas():
    """Hold BLAS at one thread for a kernel that splits its GEMMs across OpenMP threads.

    The kernels run everything, GEMMs included, on one OpenMP thread pool: each thread calls
    BLAS on its own block. BLAS's own threads would nest inside (oversubscription) or, when
    alternating with OpenMP's, fight over the cores while the other pool spins down.
    """
    global _hold
    if _hold is None:
        with _single_threaded_blas._lock:
            if _hold is None:
                _hold = _choose_hold()
    return _hold


#: True once this process (or the parent it was forked from) ran a kernel on more than one
#: thread, which starts GNU OpenMP's thread pool.
_pool_started = False

#: True in a child forked after the pool started: every kernel runs on one thread there.
_forked_after_pool = False

_warned_after_fork = False

FORK_WARNING = (
    "suite: this process was forked after its parent ran suite's kernels on several "
    "threads; GNU OpenMP's thread pool does not survive fork, so the kernels run on one "
    "thread here. Start worker processes with the 'spawn' or 'forkserver' method "
    "(multiprocessing.get_context) to give them their threads.")


def _after_fork_in_child():
    global _forked_after_pool, _warned_after_fork
    if _pool_started:
        _forked_after_pool = True
        _warned_after_fork = False
    _single_threaded_blas.after_fork_in_child()
    _blas_hold.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def effective_n_threads(num_threads):
    """The OpenMP thread count for one call: ``None`` means OpenMP's current limit; 1 in a
    child forked after the pool started (see the module docstring), with one warning."""
    global _pool_started, _warned_after_fork
    if num_threads is None:
        n_threads = _buildinfo.omp_max_threads()
    else:
        n_threads = check_int(num_threads, "num_threads", minimum=1)
    if n_threads > 1:
        if _forked_after_pool:
            if not _warned_after_fork:
                _warned_after_fork = True
                warnings.warn(FORK_WARNING, RuntimeWarning, stacklevel=3)
            return 1
        _pool_started = True
    return n_threads
