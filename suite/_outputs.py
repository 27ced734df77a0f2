"""Fresh output arrays, kept warm from one call to the next.

A fresh page costs a page fault and a clearing by the kernel on first touch. glibc serves
an allocation of 32 MiB or more with a fresh mapping, and gives the top of its heap back to
the system when more than its trim threshold (twice the largest freed mapping) lies free
there: a call that frees an output and a temporary of 400 KiB each returns both, and the
next call faults them in again (a nearest x2 + 3x3 of 16 -> 384 channels on 8x8 maps: 96
pages each, 750 against 500 us; docs/performance.md, item 56). An engine that reuses its
buffers (ONNX Runtime's arena) pays none of it. So arrays of at least ``POOL_MIN_BYTES``
(outputs, and the packed weights a function call makes) are views of blocks this module
keeps: a block is handed out again only when nothing references it any more, not the array
returned from it nor any view of that array (every NumPy view of a block holds a reference
to the block, which ``sys.getrefcount`` counts), so no result ever shares memory with
another that is alive. At most ``POOL_MAX_BYTES`` are kept; ``release()``
(``suite.release_memory()``) gives them back, and ``SUITE_OUTPUT_POOL=0`` in the
environment when suite is imported turns the pool off.

The arrays returned are C-contiguous and writeable like ``np.empty``'s, but do not own their
memory (``.base`` is the kept block; ``ndarray.resize`` refuses them).
"""

import math
import os
import sys
import threading

import numpy as np

__all__ = ["POOL_MAX_BYTES", "POOL_MIN_BYTES", "empty", "kept_bytes", "release"]

#: Arrays of at least this many bytes come from the pool (glibc may map them afresh or
#: trim them from its heap: the kernels' own workspaces are kept from the same size on).
POOL_MIN_BYTES = 64 << 10
#: The pool keeps at most this many bytes of blocks.
POOL_MAX_BYTES = 256 << 20

_blocks = {}        # bytes -> 1-D uint8 arrays of that size, each owning its memory
_kept = 0           # their bytes
_lock = threading.Lock()


def _free_refs():
    """The references sys.getrefcount counts for a block only the pool holds, seen from a
    loop over the pool's list (the list's, the loop variable's, the call's argument: 3 on
    CPython 3.11; measured, not assumed)."""
    probe = [np.empty(1, dtype=np.uint8)]
    for block in probe:
        return sys.getrefcount(block)


_FREE_REFS = _free_refs()


#: False when ``SUITE_OUTPUT_POOL=0`` was in the environment at import (read once: a lookup
#: in ``os.environ`` costs 0.8 us, as much as the rest of a call here).
ENABLED = os.environ.get("SUITE_OUTPUT_POOL", "1") != "0"


def empty(shape, dtype):
    """``np.empty(shape, dtype)``, from a kept block when it is large (see the module)."""
    global _kept
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < POOL_MIN_BYTES or not ENABLED:
        return np.empty(shape, dtype=dtype)
    with _lock:
        same = _blocks.get(nbytes)
        if same is not None:
            for block in same:
                if sys.getrefcount(block) == _FREE_REFS:
                    return block.view(dtype).reshape(shape)
        block = np.empty(nbytes, dtype=np.uint8)
        if _kept + nbytes > POOL_MAX_BYTES:
            # make room among the blocks nobody uses, else leave this one unkept
            for size in list(_blocks):
                same, kept = _blocks[size], []
                for old in same:        # the loop _free_refs measures
                    if sys.getrefcount(old) != _FREE_REFS:
                        kept.append(old)
                _kept -= size * (len(same) - len(kept))
                if kept:
                    _blocks[size] = kept
                else:
                    del _blocks[size]
                del same, kept
                if _kept + nbytes <= POOL_MAX_BYTES:
                    break
        if _kept + nbytes <= POOL_MAX_BYTES:
            _blocks.setdefault(nbytes, []).append(block)
            _kept += nbytes
        return block.view(dtype).reshape(shape)


def kept_bytes():
    """Bytes of the blocks the pool holds (in use or not)."""
    return _kept


def release():
    """Give back every kept block (arrays still using one keep it alive until they go)."""
    global _kept
    with _lock:
        _blocks.clear()
        _kept = 0
