"""Batch processes keep the memory they free; a server keeps only a request's worth."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli

# glibc's allocator statistics, for the scripts below.
MALLINFO = """
import ctypes, sys
import numpy as np
from model import memory
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
"""
# Calls the functions of model.memory named before the size, allocates a block of that many MB, frees
# it and calls those named after; prints where glibc put the block (bytes in mmapped blocks while it
# lived) and the free bytes the heap kept, from mallinfo2.
PLACEMENT = (
    MALLINFO
    + """
size = next(i for i, arg in enumerate(sys.argv) if arg.isdigit())
for name in sys.argv[1:size]:
    assert getattr(memory, name)()
block = np.ones(int(sys.argv[size]) * 2**20 // 4, np.float32)
mapped = libc.mallinfo2().hblkhd
del block
for name in sys.argv[size + 1:]:
    getattr(memory, name)()
print(mapped, libc.mallinfo2().fordblks)
"""
)
MB = 2**20


def _placement(*before: str, megabytes: int, after: tuple[str, ...] = ()) -> tuple[int, int]:
    """(bytes in mmapped blocks while the block lived, heap bytes free after it was freed)."""
    command = [sys.executable, "-c", PLACEMENT, *before, str(megabytes), *after]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    mapped, kept = proc.stdout.split()
    return int(mapped), int(kept)


glibc = pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc ≥ 2.33's mallinfo2")


@glibc
def test_a_batch_process_keeps_a_large_block_it_freed() -> None:
    mapped, kept = _placement(megabytes=64)
    assert mapped >= 64 * MB and kept < 64 * MB  # mapped for itself, unmapped when freed: faulted in anew
    mapped, kept = _placement("keep_freed_memory", megabytes=64)
    assert mapped < 64 * MB and kept >= 64 * MB  # from the heap, and still there for the next step
    mapped, kept = _placement("keep_freed_memory", megabytes=64, after=("release_freed_memory",))
    assert mapped < 64 * MB and kept < 64 * MB  # a worker between jobs: handed back


@glibc
def test_a_server_keeps_a_request_sized_block_and_hands_back_a_larger_one() -> None:
    mapped, kept = _placement("keep_request_memory", megabytes=24)
    assert mapped < 24 * MB and kept >= 24 * MB  # glibc alone would map it (threshold 128 KB at start)
    for policies in (["keep_request_memory"], ["keep_freed_memory", "keep_request_memory"]):  # demo
        mapped, kept = _placement(*policies, megabytes=64)
        assert mapped >= 64 * MB and kept < 64 * MB, policies


# A server process runs a reindex job itself: a 64 MB block during the job, and another after it.
JOB_IN_SERVER = (
    MALLINFO
    + """
memory.keep_request_memory()
def mapped_while_alive():
    block = np.ones(16 * 2**20, np.float32)
    return libc.mallinfo2().hblkhd
with memory.batch_memory():
    during = mapped_while_alive()
print(during, mapped_while_alive())
"""
)


@glibc
def test_a_job_in_a_server_process_runs_under_the_batch_policy_and_then_the_server_s() -> None:
    proc = subprocess.run([sys.executable, "-c", JOB_IN_SERVER], capture_output=True, text=True, check=True)
    during, after = (int(x) for x in proc.stdout.split())
    assert during < 64 * MB <= after


@pytest.mark.parametrize(("command", "keeps"), [(["index", "list"], True), (["serve", "--port", "0"], False)])
def test_batch_commands_keep_freed_memory_and_the_server_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], keeps: bool
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(app.cli, "keep_freed_memory", lambda: calls.append(True) or True)
    CliRunner().invoke(app.cli.app, ["--data-dir", str(tmp_path), *command])  # serve: refused port
    assert bool(calls) is keeps
