"""One evaluation: every embedding (the MFCC baseline, each bundle) on every task, and the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.scoring import Scorer
from model.audio import AudioLimits
from model.bundle import Bundle
from model.cache import FeatureCache
from trainer.eval.catalogue import CatalogueFigures
from trainer.eval.classifier import Accuracy, repeated_accuracy
from trainer.eval.datasets import DatasetError, Task
from trainer.eval.embed import TaskEmbeddings, bundle_embedder, embed_task, mfcc_embedder
from trainer.eval.outofsource import OutOfSourceFigures
from trainer.eval.zeroshot import ZeroShot, tag_set_vectors, zero_shot

MFCC_ROW = "MFCC (120-d)"


@dataclass
class TaskResult:
    name: str
    classes: list[str]
    labels: np.ndarray  # (N,) of the clips that decoded
    failures: list[tuple[str, str]]
    accuracy: dict[str, Accuracy] = field(default_factory=dict)  # row name → accuracy
    clips_used: dict[str, int] = field(default_factory=dict)  # row name → clips (tag rows use fewer)
    zero_shot: dict[str, ZeroShot | None] = field(default_factory=dict)  # bundle name → figures
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # row name → (N, D), for the maps


@dataclass
class EvalResult:
    bundles: list[str]
    tasks: list[TaskResult] = field(default_factory=list)
    catalogue: dict[str, CatalogueFigures | None] = field(default_factory=dict)
    # bundle → figures on the out-of-source packages (None: its held-out clips are not all from them)
    out_of_source: dict[str, OutOfSourceFigures | None] = field(default_factory=dict)


def bundle_row(name: str, bundle: Bundle) -> str:
    return f"{name} z_a ({bundle.config.latent_dim}-d)"


def tags_row(name: str) -> str:
    return f"{name} tags φ_w"


def evaluate_task(
    task: Task,
    bundles: dict[str, Bundle],
    cache: FeatureCache,
    limits: AudioLimits,
    repeats: int = 10,
    workers: int = 1,
    progress: bool = True,
    exclude_hashes: frozenset[str] = frozenset(),
    scorers: dict[str, Scorer] | None = None,
) -> TaskResult:
    """Classification (MFCC and each bundle's z_a), zero-shot (each bundle's φ_a, scored by its
    `scorers` entry: the catalogue's centres, as served) and tag rows."""
    embedders = [mfcc_embedder] + [bundle_embedder(b, name) for name, b in bundles.items()]
    emb: TaskEmbeddings = embed_task(task, embedders, cache, limits, workers, progress, exclude_hashes)
    splits = emb.splits()
    if not splits:
        raise DatasetError(f"{task.name}: no split has both training and test clips that decode")
    y = emb.labels
    result = TaskResult(task.name, task.classes, y, emb.failures)
    rows = {MFCC_ROW: emb.vectors["mfcc"]}
    rows.update({bundle_row(n, b): emb.vectors[f"{n}/z_a"] for n, b in bundles.items()})
    for row, x in rows.items():
        result.accuracy[row] = repeated_accuracy(
            x, y, splits, repeats, f"{task.name}: {row}" if progress else None
        )
        result.clips_used[row] = len(y)
        result.vectors[row] = x
    for name, bundle in bundles.items():
        scorer = (scorers or {}).get(name) or Scorer(bundle)
        result.zero_shot[name] = zero_shot(scorer, emb.vectors[f"{name}/phi_a"], y, task.classes)
        _tag_row(result, name, bundle, emb, splits, repeats)
    return result


def _tag_row(
    result: TaskResult, name: str, bundle: Bundle, emb: TaskEmbeddings, splits: list, repeats: int
) -> None:
    """The paper's tag-based column: an MLP on φ_w of each clip's own tags, where clips have tags."""
    tags = [emb.task.clips[i].tags for i in emb.kept]
    if not any(tags):
        return
    rows, phi_w = tag_set_vectors(bundle, tags)
    where = {r: j for j, r in enumerate(rows)}
    sub = [
        (s, [where[i] for i in tr if i in where], [where[i] for i in te if i in where])
        for s, tr, te in splits
    ]
    sub = [s for s in sub if s[1] and s[2]]
    if sub and len(rows) >= 0.5 * len(emb.kept):
        result.accuracy[tags_row(name)] = repeated_accuracy(phi_w, emb.labels[rows], sub, repeats)
        result.clips_used[tags_row(name)] = len(rows)
