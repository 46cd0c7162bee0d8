"""Log-mel features, the training and inference patch views, and [0, 1] scaling."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch
import torchaudio


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes a log-mel matrix. Saved in every cache and bundle."""

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 96
    patch_frames: int = 96
    window: str = "hamming"
    mel_scale: str = "slaney"
    log_floor: float = 1e-5  # magnitudes below this are silence; log(1e-5) is the padding value

    @property
    def key(self) -> str:
        """Short stable id of these settings, used to name caches."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:12]

    @property
    def pad_value(self) -> float:
        return float(np.log(self.log_floor))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


_WINDOWS = {"hamming": torch.hamming_window, "hann": torch.hann_window}


@lru_cache(maxsize=4)
def _mel_transform(cfg: FeatureConfig) -> torchaudio.transforms.MelSpectrogram:
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=cfg.sample_rate,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        n_mels=cfg.n_mels,
        window_fn=_WINDOWS[cfg.window],
        power=1.0,
        norm="slaney" if cfg.mel_scale == "slaney" else None,
        mel_scale=cfg.mel_scale,
    )


def log_mel(waveform: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Mono waveform (N,) at cfg.sample_rate -> natural-log mel magnitudes (n_mels, T) float32."""
    with torch.inference_mode():
        mel = _mel_transform(cfg)(torch.from_numpy(np.ascontiguousarray(waveform, np.float32)))  # (M, T)
        return torch.log(mel.clamp_min(cfg.log_floor)).numpy()


def _pad_to(logmel: np.ndarray, frames: int, pad_value: float) -> np.ndarray:
    M, T = logmel.shape
    if frames <= T:
        return logmel
    out = np.full((M, frames), pad_value, dtype=logmel.dtype)
    out[:, :T] = logmel
    return out


def best_patch(logmel: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The training view: the `patch_frames` window of maximum energy, (M, P). Short clips are padded."""
    n = cfg.patch_frames
    x = _pad_to(logmel, n, cfg.pad_value)
    energy = np.exp(x).sum(axis=0, dtype=np.float64)  # (T,) linear energy per frame
    window = np.convolve(energy, np.ones(n), mode="valid")  # (T - n + 1,)
    start = int(np.argmax(window))  # the first maximum: deterministic
    return np.ascontiguousarray(x[:, start : start + n])


def all_patches(logmel: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The inference view: non-overlapping windows, (K, M, P), K >= 1.

    A trailing part of at least half a patch is kept, padded; a shorter one is dropped.
    """
    n = cfg.patch_frames
    T = logmel.shape[1]
    k = max(1, T // n + (1 if T % n >= n // 2 else 0))
    x = _pad_to(logmel, k * n, cfg.pad_value)[:, : k * n]
    return np.ascontiguousarray(x.reshape(x.shape[0], k, n).transpose(1, 0, 2))


@dataclass(frozen=True)
class Scaler:
    """Maps log-mel to [0, 1]: `low` is the silence floor, `high` a high percentile of training data."""

    low: float
    high: float

    @classmethod
    def fit(
        cls, patches: np.ndarray, cfg: FeatureConfig = FeatureConfig(), percentile: float = 99.9
    ) -> Scaler:
        sample = patches.reshape(-1)
        if sample.size > 5_000_000:
            idx = np.random.default_rng(0).choice(sample.size, 5_000_000, replace=False)
            sample = sample[idx]
        high = float(np.percentile(sample, percentile))
        return cls(low=cfg.pad_value, high=max(high, cfg.pad_value + 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = (x - self.low) / (self.high - self.low)
        return np.clip(y, 0.0, 1.0).astype(np.float32)

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        return cls(float(d["low"]), float(d["high"]))
