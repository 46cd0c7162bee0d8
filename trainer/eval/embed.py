"""Embed every clip of a task: one decode per clip (cached), then each embedding from its log-mel.

Clips that cannot be decoded (or are silent) are left out and counted; every embedding is
computed for the same clips, so rows stay aligned with `TaskEmbeddings.labels`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from model.analysis import analyse_many, file_hash
from model.audio import AudioLimits
from model.bundle import Bundle
from model.cache import FeatureCache
from trainer.eval.baseline import mfcc_embedding
from trainer.eval.datasets import Task

# list of log-mels (n_mels, T) → {name: (N, D) array}
Embedder = Callable[[list[np.ndarray]], dict[str, np.ndarray]]
CHUNK = 256
SEEN_IN_TRAINING = "the same audio is in the training catalogue"


@dataclass
class TaskEmbeddings:
    task: Task
    kept: list[int]  # indices into task.clips that decoded
    vectors: dict[str, np.ndarray]  # embedding name → (len(kept), D)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def labels(self) -> np.ndarray:
        return np.array([self.task.clips[i].label for i in self.kept])

    def splits(self) -> list[tuple[str, list[int], list[int]]]:
        """The task's splits re-indexed to kept clips."""
        where = {clip: row for row, clip in enumerate(self.kept)}
        out = []
        for name, train, test in self.task.splits():
            tr = [where[i] for i in train if i in where]
            te = [where[i] for i in test if i in where]
            if tr and te:
                out.append((name, tr, te))
        return out


def mfcc_embedder(logmels: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {"mfcc": np.stack([mfcc_embedding(m) for m in logmels])}


def bundle_embedder(bundle: Bundle, name: str) -> Embedder:
    """z_a (classification, similarity) and φ_a (zero-shot) of a bundle, patches mean-pooled."""

    def embed(logmels: list[np.ndarray]) -> dict[str, np.ndarray]:
        z, phi = bundle.embed_logmels(logmels)
        return {f"{name}/z_a": z, f"{name}/phi_a": phi}

    return embed


def embed_task(
    task: Task,
    embedders: list[Embedder],
    cache: FeatureCache,
    limits: AudioLimits,
    workers: int = 1,
    progress: bool = True,
    exclude_hashes: frozenset[str] = frozenset(),
) -> TaskEmbeddings:
    """Decode what the cache lacks, then run every embedder over the clips in chunks.

    Clips whose content is in `exclude_hashes` (the training catalogue) are left out: the model
    may have learnt them."""
    paths = [str(c.path) for c in task.clips]
    hashes: list[str | None] = []
    failures = []
    for p in tqdm(paths, desc=f"{task.name}: hashing", disable=not progress, leave=False):
        try:
            hashes.append(file_hash(p))
        except OSError as err:
            hashes.append(None)
            failures.append((p, f"cannot read the file: {err.strerror or err}"))
    for i, h in enumerate(hashes):
        if h is not None and h in exclude_hashes:
            failures.append((paths[i], SEEN_IN_TRAINING))
            hashes[i] = None
    todo = [i for i, h in enumerate(hashes) if h is not None and h not in cache]
    results = analyse_many([paths[i] for i in todo], limits, cache.config, workers)
    for i, res in tqdm(
        zip(todo, results, strict=True), total=len(todo), desc=f"{task.name}: decoding", disable=not progress
    ):
        if res.error:
            failures.append((paths[i], res.error))
            hashes[i] = None
        else:
            cache.add(hashes[i], res.logmel)
    cache.flush()
    kept = [i for i, h in enumerate(hashes) if h is not None]
    parts: dict[str, list[np.ndarray]] = {}
    for start in tqdm(
        range(0, len(kept), CHUNK), desc=f"{task.name}: embedding", disable=not progress, leave=False
    ):
        logmels = [cache.get(hashes[i]) for i in kept[start : start + CHUNK]]
        for embed in embedders:
            for name, x in embed(logmels).items():
                parts.setdefault(name, []).append(x)
    vectors = {name: np.concatenate(xs) for name, xs in parts.items()}
    return TaskEmbeddings(task, kept, vectors, failures)
