"""Batch processes keep the memory they free; the server gives it back."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli

# Allocates a 64 MB block and frees it (then releases the free memory, where asked); prints where glibc
# put it (bytes in mmapped blocks while it lived) and the free bytes the heap kept, from mallinfo2.
PLACEMENT = """
import ctypes, sys
import numpy as np
from model.memory import keep_freed_memory, release_freed_memory
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] != "default":
    assert keep_freed_memory()
block = np.ones(16 * 2**20, np.float32)
mapped = libc.mallinfo2().hblkhd
del block
if sys.argv[1] == "keep, then release":
    release_freed_memory()
print(mapped, libc.mallinfo2().fordblks)
"""
MB64 = 64 * 2**20


def _placement(mode: str) -> tuple[int, int]:
    """(bytes in mmapped blocks while the 64 MB block lived, heap bytes free after it was freed)."""
    proc = subprocess.run([sys.executable, "-c", PLACEMENT, mode], capture_output=True, text=True, check=True)
    mapped, kept = proc.stdout.split()
    return int(mapped), int(kept)


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc ≥ 2.33's mallinfo2")
def test_a_batch_process_keeps_a_large_block_it_freed() -> None:
    mapped, kept = _placement("default")
    assert mapped >= MB64 and kept < MB64  # mapped for itself, unmapped when freed: faulted in anew
    mapped, kept = _placement("keep")
    assert mapped < MB64 and kept >= MB64  # from the heap, and still there for the next step
    mapped, kept = _placement("keep, then release")
    assert mapped < MB64 and kept < MB64  # a worker between jobs: handed back


@pytest.mark.parametrize(("command", "keeps"), [(["index", "list"], True), (["serve", "--port", "0"], False)])
def test_batch_commands_keep_freed_memory_and_the_server_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], keeps: bool
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(app.cli, "keep_freed_memory", lambda: calls.append(True) or True)
    CliRunner().invoke(app.cli.app, ["--data-dir", str(tmp_path), *command])  # serve: refused port
    assert bool(calls) is keeps
