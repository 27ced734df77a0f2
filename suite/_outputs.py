"""Fresh output arrays, the largest kept warm from one call to the next.

glibc serves an allocation of 32 MiB or more (its largest mmap threshold on 64-bit) with a
fresh mapping, whose pages the kernel faults in and clears on first touch: a nearest x2 of
26 x 24 maps of 77x77 spends 3.3 of its 7.5 ms clearing its 59 MB output, which an engine
that reuses its buffers (ONNX Runtime's arena) does not pay (docs/performance.md, item 47).
So outputs of at least ``POOL_MIN_BYTES`` are views of blocks this module keeps: a block is
handed out again only when nothing references it any more, not the array returned from it
nor any view of that array (every NumPy view of a block holds a reference to the block,
which ``sys.getrefcount`` counts), so no result ever shares memory with another that is
alive. At most ``POOL_MAX_BYTES`` are kept; ``release()`` (``suite.release_memory()``)
gives them back, and ``SUITE_OUTPUT_POOL=0`` in the environment turns the pool off.

The arrays returned are C-contiguous and writeable like ``np.empty``'s, but do not own their
memory (``.base`` is the kept block; ``ndarray.resize`` refuses them).
"""

import math
import os
import sys
import threading

import numpy as np

__all__ = ["POOL_MAX_BYTES", "POOL_MIN_BYTES", "empty", "kept_bytes", "release"]

#: Outputs of at least this many bytes come from the pool (glibc maps them afresh).
POOL_MIN_BYTES = 32 << 20
#: The pool keeps at most this many bytes of blocks.
POOL_MAX_BYTES = 256 << 20

_blocks = []        # 1-D uint8 arrays, each owning its memory
_lock = threading.Lock()


def _free_refs():
    """The references sys.getrefcount counts for a block only the pool holds, seen from a
    loop over the pool's list (the list's, the loop variable's, the call's argument: 3 on
    CPython 3.11; measured, not assumed)."""
    probe = [np.empty(1, dtype=np.uint8)]
    for block in probe:
        return sys.getrefcount(block)


_FREE_REFS = _free_refs()


def _enabled():
    return os.environ.get("SUITE_OUTPUT_POOL", "1") != "0"


def empty(shape, dtype):
    """``np.empty(shape, dtype)``, from a kept block when it is large (see the module)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < POOL_MIN_BYTES or not _enabled():
        return np.empty(shape, dtype=dtype)
    with _lock:
        for block in _blocks:
            if block.nbytes == nbytes and sys.getrefcount(block) == _FREE_REFS:
                return block.view(dtype).reshape(shape)
        block = np.empty(nbytes, dtype=np.uint8)
        if kept_bytes() + nbytes > POOL_MAX_BYTES:
            # make room among the blocks nobody uses, else leave this one unkept
            unused = []
            for old in _blocks:
                if sys.getrefcount(old) == _FREE_REFS:
                    unused.append(old)
            for old in unused:
                # by identity: list.remove would compare the arrays element by element
                _blocks[:] = [kept for kept in _blocks if kept is not old]
                if kept_bytes() + nbytes <= POOL_MAX_BYTES:
                    break
            del unused, old
        if kept_bytes() + nbytes <= POOL_MAX_BYTES:
            _blocks.append(block)
        return block.view(dtype).reshape(shape)


def kept_bytes():
    """Bytes of the blocks the pool holds (in use or not)."""
    return sum(block.nbytes for block in _blocks)


def release():
    """Give back every kept block (arrays still using one keep it alive until they go)."""
    with _lock:
        _blocks.clear()
