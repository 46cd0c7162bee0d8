"""Retrieval figures on embeddings: recall@k and mAP@k of each query's own item."""

from __future__ import annotations

from collections import Counter

import numpy as np


def ranks_in(scores: np.ndarray, own: np.ndarray | None = None) -> np.ndarray:
    """Rank (0 = first) of each query's own item in its row of scores (Q, N) of queries against
    items: item `own[q]` (default: item q)."""
    own = np.arange(len(scores)) if own is None else own
    own_scores = scores[np.arange(len(scores)), own][:, None]
    return (scores > own_scores).sum(axis=1)  # ties count in the query's favour


def retrieval_metrics(
    queries: np.ndarray, items: np.ndarray, ks: tuple[int, ...] = (1, 5, 10), own: np.ndarray | None = None
) -> dict:
    """recall@k (own item in the top k), mAP@10 (one relevant item: 1/rank), the median rank (1 =
    first) and chance levels of queries (Q, D) against items (N, D); `own` as in `ranks_in`."""
    if len(queries) == 0:
        return {}
    return score_retrieval(queries @ items.T, ks, own)


def score_retrieval(
    scores: np.ndarray, ks: tuple[int, ...] = (1, 5, 10), own: np.ndarray | None = None
) -> dict:
    """`retrieval_metrics` of a score matrix (Q, N) of queries against items."""
    if len(scores) == 0:
        return {}
    ranks = ranks_in(scores, own)
    out = {f"recall@{k}": float((ranks < k).mean()) for k in ks}
    out["map@10"] = float(np.where(ranks < 10, 1.0 / (ranks + 1), 0.0).mean())
    out["median_rank"] = float(np.median(ranks) + 1)
    out.update({f"chance_recall@{k}": min(1.0, k / scores.shape[1]) for k in ks})
    out["n"] = len(scores)
    return out


def _galleries(n_items: int, size: int, draws: int) -> list[np.ndarray]:
    """`draws` random sets of `size` of n_items items as boolean masks (a fixed seed: every figure
    measured in galleries sees the same ones)."""
    rng = np.random.default_rng(0)
    masks = []
    for _ in range(draws):
        drawn = np.zeros(n_items, bool)
        drawn[rng.choice(n_items, size, replace=False)] = True
        masks.append(drawn)
    return masks


def gallery_recall(scores: np.ndarray, own: np.ndarray, size: int, draws: int = 20, k: int = 10) -> dict:
    """recall@k in smaller galleries, from scores (Q, N) of queries against items: the mean over
    `draws` random sets of `size` items (fixed seed) of recall@k of the queries whose own item
    `own[q]` is drawn, ranked among the drawn items only."""
    if scores.shape[1] <= size or len(scores) == 0:
        return {}
    recalls = []
    for drawn in _galleries(scores.shape[1], size, draws):
        rows = np.flatnonzero(drawn[own])
        if len(rows):
            s = scores[rows][:, drawn]  # (q, size)
            own_scores = scores[rows, own[rows]][:, None]
            recalls.append(float(((s > own_scores).sum(axis=1) < k).mean()))
    return {f"gallery_recall@{k}": float(np.mean(recalls)), "gallery": size} if recalls else {}


def _ceiling(keys: list, k: int = 10) -> float:
    """The best recall@k any scorer can reach when queries with the same key are the same query: one
    ranking serves a group of c clips, so at most min(c, k) of them are in its top k."""
    return sum(min(c, k) for c in Counter(keys).values()) / len(keys)


def recall_ceiling(keys: list, own: np.ndarray, n_items: int, size: int, draws: int = 20) -> dict:
    """recall@10's ceiling among all n_items items and in the galleries `gallery_recall` draws; keys[q]
    names query q's words (equal keys, equal queries), own[q] its item."""
    if len(keys) == 0:
        return {}
    out = {"ceiling_recall@10": _ceiling(keys)}
    if n_items > size:
        found = [
            _ceiling([keys[q] for q in np.flatnonzero(drawn[own])])
            for drawn in _galleries(n_items, size, draws)
            if drawn[own].any()
        ]
        out["gallery_ceiling_recall@10"] = float(np.mean(found))
    return out


def precision_recall_at_k(scores: np.ndarray, truth: list[set[int]], k: int = 5) -> dict:
    """Tag suggestion: mean precision@k, recall@k and hit@k (a true tag among the k) of the top-k
    columns of scores (N, C)."""
    if len(truth) == 0:
        return {}
    top = np.argsort(-scores, axis=1)[:, :k]  # (N, k)
    hits = np.array([len(truth[i].intersection(top[i].tolist())) for i in range(len(truth))], float)
    sizes = np.array([max(len(t), 1) for t in truth], float)
    return {
        f"precision@{k}": float((hits / k).mean()),
        f"recall@{k}": float((hits / sizes).mean()),
        f"hit@{k}": float((hits > 0).mean()),
        "n": len(truth),
    }


def mean_average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Mean over queries of average precision: scores and relevant (N items, Q queries), each query
    with at least one relevant item."""
    order = np.argsort(-scores, axis=0, kind="stable")  # (N, Q)
    hit = np.take_along_axis(relevant.astype(float), order, axis=0)
    precision = np.cumsum(hit, axis=0) / np.arange(1, len(hit) + 1)[:, None]
    return float(((precision * hit).sum(axis=0) / hit.sum(axis=0)).mean())


def nearest_class_accuracy(
    items: np.ndarray, classes: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """Zero-shot: each item (N, D) takes its most similar class vector (C, D); (accuracy, predictions)."""
    pred = np.argmax(items @ classes.T, axis=1)
    return float((pred == labels).mean()), pred
