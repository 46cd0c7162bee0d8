"""Atomic writes: a reader (or a process killed mid-write) sees the old content or the new, never half.

`write_atomic` is the one way audiotag writes a file others read: into a temporary file in the same
folder, flushed and fsynced, renamed over the target, and the folder fsynced so the rename survives
a power cut. `publish_folder` puts a complete folder in place of another without deleting the old
one before the new one is in.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO


def fsync_folder(folder: Path) -> None:
    """Make a folder's renames and new entries survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call `write(f)` on a binary file that becomes `path` only once complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: object, indent: int | None = None) -> None:
    write_text_atomic(path, json.dumps(data, indent=indent))


def staging_folder(target: Path) -> Path:
    """A new empty sibling folder to build `target` in (then `publish_folder` it)."""
    target = Path(target)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    return tmp


def publish_folder(staging: Path, target: Path) -> Path:
    """Put the complete folder `staging` at `target`. An existing `target` is first renamed aside,
    the new one renamed in, and only then the old one deleted: the old folder is never deleted
    before the new one is in place (a crash between the two renames leaves it as `.<name>.old-…`
    beside `target`)."""
    staging, target = Path(staging), Path(target)
    for f in staging.iterdir():
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    aside = None
    if target.exists():
        aside = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        target.rename(aside)
    staging.rename(target)
    fsync_folder(target.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return target
