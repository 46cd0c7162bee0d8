"""Spectrogram thumbnails: a log-mel matrix as a small PNG, written with zlib (no image library).

Low frequencies at the bottom, time left to right, at most `WIDTH` columns (longer clips are
averaged down); loudness is clipped to the clip's own 2nd–99.5th percentiles and coloured along a
dark-to-bright ramp, so quiet and loud sounds both show their shape.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

WIDTH = 320  # columns at most
RAMP = np.array(  # dark blue → purple → orange → pale yellow (magma-like), as RGB stops
    [[12, 10, 40], [80, 18, 123], [182, 54, 121], [251, 136, 97], [252, 253, 191]], np.float32
)


def spectrogram_png(logmel: np.ndarray) -> bytes:
    """(n_mels, T) log-mel → PNG bytes of a (n_mels × min(T, WIDTH)) colour image."""
    m = np.asarray(logmel, np.float32)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"need a non-empty (n_mels, T) matrix, not shape {m.shape}")
    if m.shape[1] > WIDTH:  # average runs of frames into WIDTH columns
        edges = np.linspace(0, m.shape[1], WIDTH + 1).astype(int)
        m = np.add.reduceat(m, edges[:-1], axis=1) / np.diff(edges)[None, :]
    low, high = np.percentile(m, [2.0, 99.5])
    level = np.clip((m - low) / max(float(high - low), 1e-6), 0.0, 1.0)[::-1]  # (H, W), low notes last
    position = level * (len(RAMP) - 1)
    lower = np.minimum(position.astype(int), len(RAMP) - 2)
    frac = (position - lower)[..., None]
    rgb = (RAMP[lower] * (1 - frac) + RAMP[lower + 1] * frac).astype(np.uint8)  # (H, W, 3)
    return _png(rgb)


def _png(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 → PNG bytes (8-bit RGB, no filtering)."""
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
