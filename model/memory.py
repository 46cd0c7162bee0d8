"""How a batch process's allocator treats the large tensors of training and embedding.

glibc serves every allocation over 32 MB with a fresh `mmap` and unmaps it when freed, so each
training step and each embedded shard faults its activations in again page by page (the kernel zeroes
every page): on a 2-core CPU that was a third of a training step and half of the encoder's time. A
batch process that keeps its freed memory (no `mmap` for large blocks, the heap never trimmed) reuses
the same pages from the second step on. Its resident size stays at its peak, which suits training,
indexing and evaluation, not a long-lived server answering uploads of any size; a long-lived batch
process (`audiotag worker`) hands its free pages back between jobs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

# mallopt parameters from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int: the largest


@cache
def _glibc_function(name: str, *argtypes) -> Callable[..., int] | None:
    """A function of glibc's allocator, or None where the C library is not glibc."""
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        function = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt), or no libc at all
        return None
    function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function


@cache
def keep_freed_memory() -> bool:
    """Make this process keep the memory it frees (glibc only; idempotent). True where it took effect."""
    mallopt = _glibc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))


def release_freed_memory() -> None:
    """Hand the free pages this process kept back to the system (between a worker's jobs)."""
    malloc_trim = _glibc_function("malloc_trim", ctypes.c_size_t)
    if malloc_trim is not None:
        malloc_trim(0)
