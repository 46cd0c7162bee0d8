"""Decode any common audio format into a mono float32 waveform, refusing bad input with a reason."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from model.limits import AudioLimits

AudioSource = str | Path | bytes

# Container magic numbers: the extension is never trusted.
_MAGIC = [
    (0, b"RIFF", 8, b"WAVE", "wav"),
    (0, b"RF64", 8, b"WAVE", "wav"),
    (0, b"FORM", 8, b"AIFF", "aiff"),
    (0, b"FORM", 8, b"AIFC", "aiff"),
    (0, b"fLaC", None, None, "flac"),
    (0, b"OggS", None, None, "ogg"),
    (0, b"ID3", None, None, "mp3"),
    (0, b".snd", None, None, "au"),
    (0, b"caff", None, None, "caf"),
    (0, b"wvpk", None, None, "wavpack"),
]
# File-name endings of the formats above, for finding audio in folders (content is still sniffed).
AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".caf"}
)
SUPPORTED_FORMATS = {"wav", "aiff", "flac", "ogg", "opus", "mp3", "au", "caf"}


class AudioError(ValueError):
    """Input that is not usable audio. `code` is short and stable; the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AudioInfo:
    format: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def sniff_format(head: bytes) -> str | None:
    """The container format from the first bytes of a file, or None when it is not audio we know."""
    for off, magic, off2, magic2, name in _MAGIC:
        if head[off : off + len(magic)] == magic and (
            magic2 is None or head[off2 : off2 + len(magic2)] == magic2
        ):
            if name == "ogg" and b"OpusHead" in head[:128]:
                return "opus"
            return name
    # An MP3 without ID3 starts with a frame sync: 11 set bits, then a valid layer.
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:
        return "mp3"
    return None


def _open(source: AudioSource) -> tuple[io.BufferedIOBase | io.BytesIO, int]:
    if isinstance(source, bytes):
        return io.BytesIO(source), len(source)
    path = Path(source)
    if not path.is_file():
        raise AudioError("missing", f"no such file: {path.name}")
    return open(path, "rb"), path.stat().st_size  # noqa: SIM115 - closed by the caller


def probe(source: AudioSource, limits: AudioLimits = AudioLimits()) -> AudioInfo:
    """Read only the header: format, rate, channels, length, each checked against `limits`."""
    fh, size = _open(source)
    with fh:
        fmt = _sniff_checked(fh, size, limits)
        with _soundfile(fh, fmt) as f:
            return _header(f, fmt, limits)


def _sniff_checked(fh, size: int, limits: AudioLimits) -> str:
    """The sniffed format of an open file, after the size checks."""
    if size == 0:
        raise AudioError("empty", "the file is empty (0 bytes)")
    if size > limits.max_file_bytes:
        raise AudioError("too_large", f"the file is {size} bytes, over the limit of {limits.max_file_bytes}")
    head = fh.read(512)
    fh.seek(0)
    fmt = sniff_format(head)
    if fmt is None:
        raise AudioError("not_audio", "not an audio file: the content matches no supported audio format")
    if fmt not in SUPPORTED_FORMATS:
        raise AudioError("unsupported", f"{fmt} audio is not supported")
    return fmt


def _soundfile(fh, fmt: str) -> sf.SoundFile:
    try:
        return sf.SoundFile(fh)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError("undecodable", f"cannot decode the {fmt} data: {first_line(err)}") from None


def _header(f: sf.SoundFile, fmt: str, limits: AudioLimits) -> AudioInfo:
    info = AudioInfo(fmt, int(f.samplerate), int(f.channels), int(max(f.frames, 0)))
    _check_header(info, limits)
    return info


def _check_header(info: AudioInfo, limits: AudioLimits) -> None:
    if not limits.min_sample_rate <= info.sample_rate <= limits.max_sample_rate:
        raise AudioError(
            "bad_rate",
            f"sample rate {info.sample_rate} Hz is outside "
            f"{limits.min_sample_rate}-{limits.max_sample_rate} Hz",
        )
    if not 1 <= info.channels <= limits.max_channels:
        raise AudioError("bad_channels", f"{info.channels} channels is outside 1-{limits.max_channels}")
    if info.frames == 0:
        raise AudioError("no_frames", "the file holds no audio frames")
    if info.duration > limits.max_duration_s:
        raise AudioError(
            "too_long", f"duration {info.duration:.1f} s is over the limit of {limits.max_duration_s:g} s"
        )


def decode(source: AudioSource, limits: AudioLimits = AudioLimits()) -> tuple[np.ndarray, AudioInfo]:
    """Decode to a mono float32 waveform (N,) at the file's own rate, after all checks pass."""
    fh, size = _open(source)
    with fh:
        fmt = _sniff_checked(fh, size, limits)
        with _soundfile(fh, fmt) as f:
            info = _header(f, fmt, limits)
            max_frames = int(limits.max_duration_s * info.sample_rate) + 1
            try:
                mono = _read_mono(f, max_frames)
            except (sf.LibsndfileError, RuntimeError) as err:
                raise AudioError("undecodable", f"cannot decode the {fmt} data: {first_line(err)}") from None
    info = AudioInfo(info.format, info.sample_rate, info.channels, len(mono))
    _check_signal(mono, info, limits)
    return mono, info


def _read_mono(f: sf.SoundFile, max_frames: int) -> np.ndarray:
    """Read in bounded blocks: a header that lies about its length cannot blow up memory."""
    blocks: list[np.ndarray] = []
    total = 0
    while True:
        block = f.read(1 << 17, dtype="float32", always_2d=True)  # (n, channels)
        if not len(block):
            break
        weights = np.full(block.shape[1], 1.0 / block.shape[1], np.float32)
        blocks.append(block @ weights)  # (n,) mono mix; a mat-vec is far faster than mean(axis=1)
        total += len(block)
        if total > max_frames:
            raise AudioError("too_long", "the decoded audio is longer than the header said and the limit")
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def _check_signal(mono: np.ndarray, info: AudioInfo, limits: AudioLimits) -> None:
    if len(mono) == 0:
        raise AudioError("no_frames", "the file holds no audio frames")
    if not np.isfinite(mono).all():
        raise AudioError("not_finite", "the audio contains NaN or infinite samples")
    if info.duration < limits.min_duration_s:
        raise AudioError(
            "too_short", f"duration {info.duration:.3f} s is under the minimum of {limits.min_duration_s:g} s"
        )
    rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
    if rms < limits.silence_rms:
        raise AudioError("silent", f"the audio is silent (RMS {rms:.2e} under {limits.silence_rms:.0e})")


def resample(mono: np.ndarray, orig_sr: int, new_sr: int) -> np.ndarray:
    """Band-limited resampling with libsoxr's high-quality filter."""
    if orig_sr == new_sr:
        return mono
    return soxr.resample(mono, orig_sr, new_sr, quality="HQ").astype(np.float32, copy=False)


def load(
    source: AudioSource, sample_rate: int, limits: AudioLimits = AudioLimits()
) -> tuple[np.ndarray, AudioInfo]:
    """Decode, mono-mix and resample to `sample_rate`; returns the waveform and the original info."""
    mono, info = decode(source, limits)
    return resample(mono, info.sample_rate, sample_rate), info


def first_line(err: Exception) -> str:
    """An exception's reason in one line (at most 200 characters), or its type where it has none."""
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
