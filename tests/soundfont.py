"""A minimal SoundFont 2 writer: one looped waveform per preset, enough for tinysoundfont to play."""

from __future__ import annotations

import struct

import numpy as np

SAMPLE_RATE = 22050
ROOT_KEY = 69  # the waveform below is A4 (441 Hz: exactly 50 samples a period)


def _chunk(tag: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return tag + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(text: str) -> bytes:
    return text.encode()[:19].ljust(20, b"\0")


def waveform(shape: str, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    x = np.sin(2 * np.pi * 441.0 * t)
    return np.sign(x) * 0.5 if shape == "square" else 0.5 * x


def write_sf2(programs: list[int], shape: str = "sine") -> bytes:
    """An SF2 with one melodic preset (bank 0) per program, all playing the same looped waveform."""
    wave = (waveform(shape) * 32767).astype("<i2")
    smpl = wave.tobytes() + b"\0" * 2 * 46
    n = len(programs)
    phdr = (
        b"".join(_name(f"p{p}") + struct.pack("<HHHIII", p, 0, i, 0, 0, 0) for i, p in enumerate(programs))
        + _name("EOP")
        + struct.pack("<HHHIII", 0, 0, n, 0, 0, 0)
    )
    pbag = b"".join(struct.pack("<HH", i, 0) for i in range(n + 1))
    pgen = b"".join(struct.pack("<HH", 41, i) for i in range(n)) + struct.pack("<HH", 0, 0)
    inst = b"".join(_name(f"i{p}") + struct.pack("<H", i) for i, p in enumerate(programs))
    inst += _name("EOI") + struct.pack("<H", n)
    ibag = b"".join(struct.pack("<HH", 2 * i, 0) for i in range(n + 1))
    igen = b"".join(struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0) for _ in range(n))
    igen += struct.pack("<HH", 0, 0)
    start, end = 0, len(wave)
    shdr = _name("wave") + struct.pack(
        "<IIIIIBbHH", start, end, 1000, end - 50 * 10, SAMPLE_RATE, ROOT_KEY, 0, 0, 1
    )
    shdr += _name("EOS") + struct.pack("<IIIIIBbHH", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    mod_end = b"\0" * 10
    body = (
        b"sfbk"
        + _list(
            b"INFO",
            _chunk(b"ifil", struct.pack("<HH", 2, 1)),
            _chunk(b"isng", b"EMU8000\0"),
            _chunk(b"INAM", b"test\0\0"),
        )
        + _list(b"sdta", _chunk(b"smpl", smpl))
        + _list(
            b"pdta",
            _chunk(b"phdr", phdr),
            _chunk(b"pbag", pbag),
            _chunk(b"pmod", mod_end),
            _chunk(b"pgen", pgen),
            _chunk(b"inst", inst),
            _chunk(b"ibag", ibag),
            _chunk(b"imod", mod_end),
            _chunk(b"igen", igen),
            _chunk(b"shdr", shdr),
        )
    )
    return _chunk(b"RIFF", body)
