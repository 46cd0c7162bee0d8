"""How the allocator treats freed memory: kept by batch processes, a request's worth by a server.

glibc serves every allocation over 32 MB with a fresh `mmap` and unmaps it when freed, so each
training step and each embedded shard faults its activations in again page by page (the kernel zeroes
every page): on a 2-core CPU that was a third of a training step and half of the encoder's time. A
batch process that keeps its freed memory (no `mmap` for large blocks, the heap never trimmed) reuses
the same pages from the second step on. Its resident size stays at its peak, which suits training,
indexing and evaluation, not a long-lived server answering uploads of any size; a long-lived batch
process (`audiotag worker`) hands its free pages back between jobs.

A server keeps a bounded amount instead (`keep_request_memory`): glibc's default moves its mmap
threshold with the blocks freed and trims the heap whenever its free top is twice that, so a request's
few-MB buffers were faulted in again on most requests (a 10 s clip's /tags 11.0 → 9.5 ms).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

# mallopt parameters from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_DEFAULT_MMAP_MAX = 65536  # glibc's: how many blocks may be mapped at once
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int: the largest
REQUEST_BLOCKS = 32 * 2**20  # a server's blocks up to this size come from the heap (glibc's largest)
REQUEST_KEPT = 64 * 2**20  # and it keeps up to this much of its heap free


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


def _set_malloc(settings: dict[int, int]) -> bool:
    """Set glibc's malloc parameters (mallopt); True where every one took effect, False elsewhere."""
    mallopt = _glibc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return all([mallopt(parameter, value) for parameter, value in settings.items()])  # every one set


def keep_freed_memory() -> bool:
    """Make this process keep the memory it frees (glibc only). True where it took effect."""
    return _set_malloc({_M_MMAP_MAX: 0, _M_TRIM_THRESHOLD: _NEVER_TRIM})


def keep_request_memory() -> bool:
    """For a server process: blocks up to `REQUEST_BLOCKS` come from the heap, which keeps up to
    `REQUEST_KEPT` free for the next request; a larger block (a long upload) is mapped for itself and
    handed back when freed. Undoes `keep_freed_memory`. True where it took effect (glibc only)."""
    took = _set_malloc(
        {
            _M_MMAP_MAX: _DEFAULT_MMAP_MAX,  # undoes keep_freed_memory
            _M_MMAP_THRESHOLD: REQUEST_BLOCKS,
            _M_TRIM_THRESHOLD: REQUEST_KEPT,
        }
    )
    release_freed_memory()  # what a batch phase before (`audiotag demo` trains, then serves) kept
    return took


@contextmanager
def batch_memory() -> Iterator[None]:
    """Batch work inside a server process (a reindex job it runs itself): the batch policy while it
    runs, then the server's again, with what the work kept handed back."""
    keep_freed_memory()
    try:
        yield
    finally:
        keep_request_memory()


def release_freed_memory() -> None:
    """Hand the free pages this process kept back to the system (between a worker's jobs)."""
    malloc_trim = _glibc_function("malloc_trim", ctypes.c_size_t)
    if malloc_trim is not None:
        malloc_trim(0)
