"""Zero-shot classification: class names become tag queries, each clip takes the nearest class.

A class name is split into words ("rain_thunder" → rain, thunder) and embedded like a user's
query (φ_w); a clip's φ_a picks the most similar class. Classes whose words have no word vector
cannot be scored: their clips are left out and the chance level counts only the scored classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from model.bundle import Bundle
from trainer.metrics import nearest_class_accuracy


@dataclass
class ZeroShot:
    accuracy: float
    chance: float
    n: int  # clips scored
    classes: list[str]  # classes scored
    unknown_classes: list[str] = field(default_factory=list)


def class_words(label: str) -> list[str]:
    return [w for w in re.split(r"[\s_\-/]+", label.lower()) if w]


def zero_shot(bundle: Bundle, phi_a: np.ndarray, labels: np.ndarray, classes: list[str]) -> ZeroShot | None:
    """phi_a (N, F) L2-normalised, labels (N,) class names; None when no class name is known."""
    known = [c for c in classes if bundle.split_known(class_words(c))[0]]
    if not known:
        return None
    class_vecs = bundle.embed_tag_sets([bundle.split_known(class_words(c))[0] for c in known])  # (C, F)
    index = {c: i for i, c in enumerate(known)}
    rows = np.array([i for i, y in enumerate(labels) if y in index], int)
    if len(rows) == 0:
        return None
    y = np.array([index[labels[i]] for i in rows])
    acc, _ = nearest_class_accuracy(phi_a[rows], class_vecs, y)
    return ZeroShot(acc, 1.0 / len(known), len(rows), known, [c for c in classes if c not in index])


def tag_set_vectors(bundle: Bundle, tag_sets: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """(rows with at least one known tag, their φ_w (n, F)) for the tag-based classifier."""
    known = [bundle.split_known(list(t))[0] if t else [] for t in tag_sets]
    rows = np.array([i for i, k in enumerate(known) if k], int)
    if len(rows) == 0:
        return rows, np.zeros((0, bundle.config.word_dim), np.float32)
    return rows, bundle.embed_tag_sets([known[i] for i in rows])
