"""Zero-shot classification: class names become tag queries, each clip takes the likeliest class.

Scored by `index.scoring.Scorer`, the code behind `POST /classify`: a class name goes through the
one tokenizer ("rain_thunder" → rain, thunder), is embedded like a user's query (φ_w), and every
clip's φ_a picks the class of highest probability. Classes whose words have no word vector cannot
be scored: their clips are left out and the chance levels count only the scored classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.scoring import Scorer


@dataclass
class ZeroShot:
    accuracy: float
    chance: float  # 1 / classes scored
    majority: float  # the share of the most frequent class among the scored clips
    n: int  # clips scored
    classes: list[str]  # classes scored
    unknown_classes: list[str] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list, repr=False)  # index into `classes`, per clip


def zero_shot(scorer: Scorer, phi_a: np.ndarray, labels: np.ndarray, classes: list[str]) -> ZeroShot | None:
    """phi_a (N, F) L2-normalised, labels (N,) class names; None when no class name is known."""
    label_set = scorer.labels(classes)
    if not label_set.names:
        return None
    index = {c: i for i, c in enumerate(label_set.names)}
    rows = np.array([i for i, y in enumerate(labels) if y in index], int)
    if len(rows) == 0:
        return None
    y = np.array([index[labels[i]] for i in rows])
    predicted = np.argmax(scorer.zero_shot(phi_a[rows], label_set), axis=1)
    majority = float(np.bincount(y).max() / len(y))
    return ZeroShot(
        float((predicted == y).mean()),
        1.0 / len(label_set.names),
        majority,
        len(rows),
        label_set.names,
        label_set.unscored,
        predicted.tolist(),
    )


def tag_set_vectors(bundle, tag_sets: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """(rows with at least one known tag, their φ_w (n, F)) for the tag-based classifier."""
    known = [bundle.split_known(list(t))[0] if t else [] for t in tag_sets]
    rows = np.array([i for i, k in enumerate(known) if k], int)
    if len(rows) == 0:
        return rows, np.zeros((0, bundle.config.word_dim), np.float32)
    return rows, bundle.embed_tag_sets([known[i] for i in rows])
