"""Reading .npy and .npz files safely from several threads at once.

numpy parses every array header with `ast.literal_eval`. CPython 3.11 keeps the AST builder's
recursion counter per interpreter, not per call, so two threads building ASTs at once (a garbage
collection mid-parse can hand the GIL over) fail with `SystemError: AST constructor recursion depth
mismatch` (cpython gh-106905; 3.12 is not affected). The server reads index files in its refresh
thread while a reindex job reads its shards in another: every array file audiotag reads goes through
one lock, and an .npz's arrays are all read inside it (numpy parses their headers lazily).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_AST = threading.Lock()


@contextlib.contextmanager
def parsing_headers() -> Iterator[None]:
    """Hold while a library reads array files (gensim's KeyedVectors.load does)."""
    with _AST:
        yield


def load_array(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    """One .npy file (memory-mapped with `mmap_mode="r"`)."""
    with _AST:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read now."""
    with _AST, np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}
