"""Array files read from several threads at once (model/arrays.py): the server's refresh thread and a
reindex job read index files together, and CPython 3.11's AST builder is not safe across threads."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np

from model.arrays import load_array, load_arrays


class _Finalised:
    """Garbage whose collection runs Python code, which can hand the GIL over mid-parse."""

    def __del__(self) -> None:
        sum(range(200))


def _read_while_collecting(read, rounds: int, errors: list[str]) -> None:
    for _ in range(rounds):
        for _ in range(20):
            cycle = _Finalised()
            cycle.self = cycle
            del cycle
        try:
            read()
        except SystemError as err:
            errors.append(str(err))
            return


def test_threads_read_array_files_together(tmp_path: Path) -> None:
    npz, npy = tmp_path / "parts.npz", tmp_path / "ids.npy"
    np.savez(npz, **{f"a{i}": np.arange(i + 3, dtype=np.float32) for i in range(40)})
    np.save(npy, np.arange(10, dtype=np.int64))
    readers = [lambda: load_arrays(npz), lambda: load_array(npy), lambda: load_array(npy, mmap_mode="r")]
    errors: list[str] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [
            threading.Thread(target=_read_while_collecting, args=(readers[i % 3], 150, errors))
            for i in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert sorted(load_arrays(npz)) == sorted(f"a{i}" for i in range(40))
    assert load_array(npy).tolist() == list(range(10))
