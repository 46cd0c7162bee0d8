"""What input audio may be: its length, size, rate, channels and loudness.

Apart from model/audio.py, which applies them, so that settings can name the defaults without
importing the decoders."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioLimits:
    min_duration_s: float = 0.05
    max_duration_s: float = 600.0
    max_file_bytes: int = 200 * 1024 * 1024
    min_sample_rate: int = 4000
    max_sample_rate: int = 384000
    max_channels: int = 32
    silence_rms: float = 1e-4
