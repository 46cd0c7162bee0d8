"""Read files out of a Qt resource container (`.rcc`), as GCompris ships its sounds.

The format (Qt's rcc, versions 1-3): a 20-byte header (`qres`, version, then the offsets of the
tree, data and names sections), a tree of fixed-size nodes (directories point at their children,
files at their data), names as UTF-16BE with a length and hash, and each file's data as a 32-bit
length then the bytes, zlib-compressed (with a 4-byte size in front) when the node says so.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

DIRECTORY, ZLIB, ZSTD = 0x02, 0x01, 0x04


class RccError(ValueError):
    """Not a Qt resource container, or a broken one."""


def rcc_files(blob: bytes) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every file in the container; zstd-compressed files (Qt 6) are skipped."""
    if len(blob) < 20 or blob[:4] != b"qres":
        raise RccError("not a Qt resource file (no 'qres' magic)")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node_size = 14 if version < 2 else 22

    def name(offset: int) -> str:
        (length,) = struct.unpack_from(">H", blob, names + offset)
        start = names + offset + 6  # length, then a 32-bit hash
        return blob[start : start + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str, depth: int) -> Iterator[tuple[str, bytes]]:
        if depth > 64:
            raise RccError("the resource tree is nested too deep")
        base = tree + index * node_size
        name_offset, flags = struct.unpack_from(">IH", blob, base)
        path = f"{prefix}/{name(name_offset)}" if index else ""
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", blob, base + 6)
            for child in range(first, first + count):
                yield from walk(child, path, depth + 1)
            return
        (offset,) = struct.unpack_from(">I", blob, base + 10)
        (length,) = struct.unpack_from(">I", blob, data + offset)
        raw = blob[data + offset + 4 : data + offset + 4 + length]
        if flags & ZSTD:
            return
        yield path, zlib.decompress(raw[4:]) if flags & ZLIB else raw

    try:
        yield from walk(0, "", 0)
    except (struct.error, zlib.error, UnicodeDecodeError) as err:
        raise RccError(f"broken Qt resource file: {err}") from None
