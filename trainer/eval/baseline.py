"""The paper's baseline embedding: 20 MFCCs with Δ and ΔΔ, mean and standard deviation over time (120-d)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 22050


@lru_cache(maxsize=1)
def _mfcc() -> torchaudio.transforms.MFCC:
    return torchaudio.transforms.MFCC(
        sample_rate=SAMPLE_RATE,
        n_mfcc=20,
        log_mels=True,
        melkwargs={"n_fft": 1024, "hop_length": 512, "n_mels": 96, "mel_scale": "slaney", "norm": "slaney"},
    )


@torch.inference_mode()
def mfcc_embedding(mono: np.ndarray) -> np.ndarray:
    """A mono waveform (N,) at 22,050 Hz → (120,) float32: [mean, std] of [MFCC, Δ, ΔΔ]."""
    m = _mfcc()(torch.from_numpy(np.ascontiguousarray(mono, np.float32)))  # (20, T)
    d1 = torchaudio.functional.compute_deltas(m, win_length=5)
    d2 = torchaudio.functional.compute_deltas(d1, win_length=5)
    feats = torch.cat([m, d1, d2])  # (60, T)
    return torch.cat([feats.mean(dim=1), feats.std(dim=1, unbiased=False)]).numpy().astype(np.float32)
