"""The paper's baseline embedding: 20 MFCCs with Δ and ΔΔ, mean and standard deviation over time (120-d).

Computed from the same natural-log Slaney mel matrix the model reads, so one decode serves both:
MFCCs are the orthonormal DCT-II of the log-mel bands (what torchaudio's MFCC does with log_mels).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

N_MFCC = 20
DELTA_WIDTH = 2  # frames each side: torchaudio's compute_deltas with win_length=5


def deltas(x: np.ndarray, width: int = DELTA_WIDTH) -> np.ndarray:
    """Regression slope over ±width frames along the last axis, edges repeated. (C, T) → (C, T)."""
    T = x.shape[-1]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(width, width)], mode="edge")
    num = sum(
        n * (padded[..., width + n : width + n + T] - padded[..., width - n : width - n + T])
        for n in range(1, width + 1)
    )
    return num / (2 * sum(n * n for n in range(1, width + 1)))


def mfcc(logmel: np.ndarray, n_mfcc: int = N_MFCC) -> np.ndarray:
    """(n_mels, T) natural-log mel → (n_mfcc, T)."""
    return scipy.fft.dct(logmel, type=2, norm="ortho", axis=0)[:n_mfcc]


def mfcc_embedding(logmel: np.ndarray) -> np.ndarray:
    """(n_mels, T) log-mel → (120,) float32: [mean, std] over time of [MFCC, Δ, ΔΔ]."""
    m = mfcc(np.asarray(logmel, np.float64))
    d1 = deltas(m)
    feats = np.concatenate([m, d1, deltas(d1)])  # (60, T)
    return np.concatenate([feats.mean(axis=1), feats.std(axis=1)]).astype(np.float32)
