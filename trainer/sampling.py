"""Which clips an epoch draws: every clip once (shuffled), or each sound category about equally often.

The full corpus holds 2,028 instrument clips against 234 of animals and 115 of vehicles (`audiotag
stats`), so a shuffled epoch teaches instruments nine times as often as animals. Balanced epochs draw
N clips with replacement, each with a weight of 1 / (clips of its category), a clip of several
categories the mean of theirs (index/corpus/coverage.py names the categories by tag words).
"""

from __future__ import annotations

import numpy as np
import torch

from index.corpus.coverage import categories_of, coverage


def category_weights(tag_sets: list[list[str]]) -> np.ndarray:
    """(N,) sampling weights, summing to 1, that give every category the same share of draws."""
    hits = [categories_of(tags) for tags in tag_sets]
    counts = coverage(tag_sets)
    w = np.array([np.mean([1.0 / counts[c] for c in cats]) for cats in hits])
    return w / w.sum()


def epoch_order(n: int, weights: np.ndarray | None, generator: torch.Generator) -> torch.Tensor:
    """(n,) clip indices of one epoch: a permutation, or n weighted draws with replacement."""
    if weights is None:
        return torch.randperm(n, generator=generator)
    return torch.multinomial(torch.from_numpy(weights), n, replacement=True, generator=generator)
