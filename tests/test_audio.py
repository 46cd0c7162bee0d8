"""Decoding: every format, content sniffing, and a clear reason for every bad file."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pytest
import soundfile as sf

from model.audio import AudioError, AudioLimits, decode, load, probe, sniff_format
from tests.conftest import FORMATS, tone, write_audio


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_decodes_to_mono_at_target_rate(tmp_path, fmt):
    sr = 48000 if fmt == "opus" else 44100  # Opus knows only a few rates
    path = write_audio(tmp_path / f"x.{FORMATS[fmt][0]}", tone(440, 1.0, sr=sr, channels=2), sr, fmt)
    wave_, info = load(path, 22050)
    assert info.format == fmt
    assert info.channels == 2
    assert wave_.ndim == 1 and wave_.dtype == np.float32
    assert abs(len(wave_) / 22050 - 1.0) < 0.1  # codecs may pad a little
    spectrum = np.abs(np.fft.rfft(wave_[:16384]))
    assert abs(np.argmax(spectrum) * 22050 / 16384 - 440) < 5  # the tone survived


def test_extension_is_not_trusted(tmp_path):
    path = write_audio(tmp_path / "really-flac.mp3", tone(), 22050, "flac")
    assert probe(path).format == "flac"
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all, only text pretending to be a wav file")
    with pytest.raises(AudioError) as err:
        probe(text)
    assert err.value.code == "not_audio"


def test_bytes_input(tmp_path):
    data = write_audio(tmp_path / "a.ogg", tone(), 22050, "ogg").read_bytes()
    mono, info = decode(data)
    assert info.format == "ogg" and len(mono) > 0


def test_sniff_format_magic():
    assert sniff_format(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff_format(b"fLaC\0") == "flac"
    assert sniff_format(b"ID3\x04") == "mp3"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert sniff_format(b"OggS" + b"\0" * 24 + b"OpusHead") == "opus"
    assert sniff_format(b"wvpk....") == "wavpack"
    assert sniff_format(b"%PDF-1.4") is None


def _code(source, limits=AudioLimits()) -> str:
    with pytest.raises(AudioError) as err:
        decode(source, limits)
    assert str(err.value)  # a human-readable reason
    return err.value.code


def test_empty_file(tmp_path):
    (tmp_path / "e.wav").write_bytes(b"")
    assert _code(tmp_path / "e.wav") == "empty"


def test_truncated_header_is_undecodable(tmp_path):
    data = write_audio(tmp_path / "a.wav", tone(), 22050).read_bytes()
    (tmp_path / "t.wav").write_bytes(data[:30])
    assert _code(tmp_path / "t.wav") in ("undecodable", "no_frames")


def test_garbage_after_a_flac_magic(tmp_path):
    (tmp_path / "g.flac").write_bytes(b"fLaC" + bytes(range(256)) * 20)
    assert _code(tmp_path / "g.flac") == "undecodable"


def test_silence_is_rejected(tmp_path):
    path = write_audio(tmp_path / "s.wav", np.zeros(22050, np.float32), 22050)
    assert _code(path) == "silent"


def test_nan_samples_are_rejected(tmp_path):
    x = tone()
    x[100:200] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 22050, subtype="FLOAT")
    assert _code(path) == "not_finite"


def test_too_long_is_refused_from_the_header(tmp_path):
    # 20 minutes of silence: tiny as FLAC, never decoded
    path = tmp_path / "long.flac"
    with sf.SoundFile(path, "w", 8000, 1, format="FLAC") as f:
        block = np.zeros(8000 * 60, np.float32)
        for _ in range(20):
            f.write(block)
    assert path.stat().st_size < 2_000_000
    assert _code(path, AudioLimits(max_duration_s=600)) == "too_long"


def test_too_short(tmp_path):
    path = write_audio(tmp_path / "short.wav", tone(seconds=0.01), 22050)
    assert _code(path, AudioLimits(min_duration_s=0.05)) == "too_short"


def test_zero_hertz_header(tmp_path):
    path = tmp_path / "zero.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(struct.pack("<100h", *range(100)))
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", 0)  # sample rate field of the fmt chunk
    path.write_bytes(bytes(raw))
    assert _code(path) in ("bad_rate", "undecodable")


def test_absurd_sample_rate(tmp_path):
    path = write_audio(tmp_path / "lo.wav", tone(sr=1000), 1000)
    assert _code(path) == "bad_rate"


def test_file_size_cap(tmp_path):
    path = write_audio(tmp_path / "a.wav", tone(seconds=2), 22050)
    assert _code(path, AudioLimits(max_file_bytes=1000)) == "too_large"


def test_missing_file(tmp_path):
    assert _code(tmp_path / "nope.wav") == "missing"


def test_unsupported_wavpack(tmp_path):
    (tmp_path / "a.wv").write_bytes(b"wvpk" + b"\0" * 100)
    assert _code(tmp_path / "a.wv") == "unsupported"
