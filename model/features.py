"""Log-mel features, the training and inference patch views, and [0, 1] scaling."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import scipy.fft


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


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@lru_cache(maxsize=4)
def mel_filterbank(cfg: FeatureConfig) -> np.ndarray:
    """Triangular Slaney-normalised filters on the Slaney mel scale, (n_fft // 2 + 1, n_mels) float32."""
    if cfg.mel_scale != "slaney":
        raise ValueError(f"unsupported mel scale {cfg.mel_scale!r}")
    freqs = np.linspace(0, cfg.sample_rate // 2, cfg.n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(cfg.sample_rate // 2), cfg.n_mels + 2))  # (M + 2,)
    width = np.diff(edges)  # (M + 1,)
    slopes = edges[None, :] - freqs[:, None]  # (F, M + 2)
    rising = -slopes[:, :-2] / width[:-1]
    falling = slopes[:, 2:] / width[1:]
    fb = np.maximum(0.0, np.minimum(rising, falling))  # (F, M)
    fb *= 2.0 / (edges[2:] - edges[:-2])  # equal area per filter
    return fb.astype(np.float32)


@lru_cache(maxsize=4)
def _window(cfg: FeatureConfig) -> np.ndarray:
    windows = {"hamming": np.hamming, "hann": np.hanning}
    return windows[cfg.window](cfg.n_fft + 1)[:-1].astype(np.float32)  # periodic


def log_mel(waveform: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Mono waveform (N,) at cfg.sample_rate -> natural-log mel magnitudes (n_mels, T) float32.

    Frames are centred (reflect padding of n_fft / 2 each side), T = 1 + N // hop, as torchaudio's
    MelSpectrogram(power=1) computes them; numpy only, so decoding workers never load torch.
    """
    x = np.ascontiguousarray(waveform, np.float32)
    half = cfg.n_fft // 2
    x = np.pad(x, half, mode="reflect" if len(x) > half else "constant")
    frames = np.lib.stride_tricks.sliding_window_view(x, cfg.n_fft)[:: cfg.hop_length]  # (T, n_fft)
    window, fb = _window(cfg), mel_filterbank(cfg)
    out = np.empty((len(frames), cfg.n_mels), np.float32)
    for i in range(0, len(frames), 2048):  # bounded memory for long clips
        spectrum = np.abs(scipy.fft.rfft(frames[i : i + 2048] * window, axis=1))  # (t, F) float32
        out[i : i + 2048] = spectrum @ fb
    return np.log(np.maximum(out, cfg.log_floor)).T.copy()  # (n_mels, T)


def _pad_to(logmel: np.ndarray, frames: int, pad_value: float) -> np.ndarray:
    M, T = logmel.shape
    if frames <= T:
        return logmel
    out = np.full((M, frames), pad_value, dtype=logmel.dtype)
    out[:, :T] = logmel
    return out


def _best_start(x: np.ndarray, n: int) -> int:
    """Start of the n-frame window of maximum linear energy in x (M, T ≥ n); the first maximum."""
    energy = np.exp(x).sum(axis=0, dtype=np.float64)  # (T,) linear energy per frame
    return int(np.argmax(np.convolve(energy, np.ones(n), mode="valid")))


def best_patch(logmel: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The paper's training view: the `patch_frames` window of maximum energy, (M, P). Short clips are
    padded."""
    n = cfg.patch_frames
    x = _pad_to(logmel, n, cfg.pad_value)
    start = _best_start(x, n)
    return np.ascontiguousarray(x[:, start : start + n])


def crop_region(
    logmel: np.ndarray, frames: int, cfg: FeatureConfig = FeatureConfig()
) -> tuple[np.ndarray, int]:
    """Where random training crops come from: up to `frames` frames centred on the max-energy patch,
    padded to `frames`; (region (M, frames), number of real frames)."""
    T = logmel.shape[1]
    if frames >= T:
        return _pad_to(logmel, frames, cfg.pad_value), T
    n = min(cfg.patch_frames, T)
    centre = _best_start(logmel, n) + n // 2
    start = min(max(centre - frames // 2, 0), T - frames)
    return np.ascontiguousarray(logmel[:, start : start + frames]), frames


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
