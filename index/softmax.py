"""The one softmax of the scores: zero-shot labels, suggested tags and a query's example sets."""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, tau: float) -> np.ndarray:
    """Row-wise softmax of x / τ, (…, C)."""
    e = np.exp((x - x.max(axis=-1, keepdims=True)) / tau)
    return e / e.sum(axis=-1, keepdims=True)
