"""Pictures of one task's results: confusion matrices, per-class accuracy, a 2-D map of embeddings."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from trainer.eval.run import TaskResult  # noqa: E402

MAP_POINTS = 2000  # t-SNE on at most this many clips


def _panels(n: int, width: float = 5.0, height: float = 4.5):
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, axes[0]


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_figure(result: TaskResult, path: Path) -> Path:
    """Row-normalised confusion matrix of each embedding's first-seed predictions."""
    rows = list(result.accuracy)
    fig, axes = _panels(len(rows))
    for ax, row in zip(axes, rows, strict=True):
        acc = result.accuracy[row]
        truth = result.labels[acc.test_rows] if row in result.vectors else None
        if truth is None:
            ax.set_axis_off()
            continue
        cm = confusion_matrix(truth, acc.predictions, labels=result.classes, normalize="true")
        ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(result.classes)), result.classes, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(result.classes)), result.classes, fontsize=7)
        ax.set_title(f"{row}\n{acc}", fontsize=8)
        ax.set_xlabel("predicted")
    fig.suptitle(f"{result.name}: confusion (rows sum to 1)")
    return _save(fig, path)


def per_class_figure(result: TaskResult, path: Path) -> Path:
    """Accuracy per class, one bar per embedding."""
    rows = [r for r in result.accuracy if r in result.vectors]
    x = np.arange(len(result.classes))
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(x) * max(len(rows), 1)), 4.0))
    for k, row in enumerate(rows):
        acc = result.accuracy[row]
        truth = result.labels[acc.test_rows]
        per = [
            float((acc.predictions[truth == c] == c).mean()) if (truth == c).any() else 0.0
            for c in result.classes
        ]
        ax.bar(x + k * width - 0.4 + width / 2, per, width, label=row)
    ax.set_xticks(x, result.classes, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    ax.set_title(f"{result.name}: accuracy per class (first seed, every test fold)")
    return _save(fig, path)


def embedding_map(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) → (N, 2): t-SNE of the PCA-50 projection (PCA alone for tiny sets)."""
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)
    if len(x) < 20:
        return PCA(2, random_state=seed).fit_transform(x)
    reduced = PCA(min(50, x.shape[1], len(x)), random_state=seed).fit_transform(x)
    perplexity = float(min(30, (len(x) - 1) / 3))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)


def map_figure(result: TaskResult, path: Path) -> Path:
    """Each embedding's clips in 2-D (t-SNE), coloured by class."""
    rows = list(result.vectors)
    rng = np.random.default_rng(0)
    n = len(result.labels)
    pick = np.sort(rng.choice(n, MAP_POINTS, replace=False)) if n > MAP_POINTS else np.arange(n)
    fig, axes = _panels(len(rows), 5.5, 5.0)
    cmap = plt.get_cmap("tab20")
    for ax, row in zip(axes, rows, strict=True):
        xy = embedding_map(result.vectors[row][pick])
        for k, c in enumerate(result.classes):
            m = result.labels[pick] == c
            ax.scatter(xy[m, 0], xy[m, 1], s=6, color=cmap(k % 20), label=c)
        ax.set_title(row, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"{result.name}: t-SNE of the embeddings, coloured by class")
    return _save(fig, path)


def task_figures(result: TaskResult, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / result.name
    return [
        confusion_figure(result, Path(f"{stem}-confusion.png")),
        per_class_figure(result, Path(f"{stem}-per-class.png")),
        map_figure(result, Path(f"{stem}-map.png")),
    ]
