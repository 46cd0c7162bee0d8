"""Synthetic audio for benchmarks and tests: tones with a little noise, written in any format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# format name -> (extension, soundfile format, subtype)
FORMATS = {
    "wav": ("wav", "WAV", "PCM_16"),
    "flac": ("flac", "FLAC", "PCM_16"),
    "ogg": ("ogg", "OGG", "VORBIS"),
    "opus": ("opus", "OGG", "OPUS"),
    "mp3": ("mp3", "MP3", "MPEG_LAYER_III"),
    "aiff": ("aiff", "AIFF", "PCM_16"),
}


def tone(
    freq: float = 440.0,
    seconds: float = 1.0,
    sr: int = 22050,
    channels: int = 1,
    amp: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """A tone with a little noise, (N,) or (N, channels) float32."""
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    x = x.astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def write_audio(path: Path, data: np.ndarray, sr: int, fmt: str = "wav") -> Path:
    """Write with soundfile, in blocks: one long Ogg write can crash libsndfile."""
    _, container, subtype = FORMATS[fmt]
    if fmt == "opus":
        sr = 48000 if sr not in (8000, 12000, 16000, 24000, 48000) else sr
    channels = 1 if data.ndim == 1 else data.shape[1]
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, format=container, subtype=subtype) as f:
        for i in range(0, len(data), 16384):
            f.write(data[i : i + 16384])
    return path
