"""Figures on held-out catalogue clips: text→audio retrieval and tag suggestion.

Held-out clips are the bundle's validation clips: the split is a hash of each sound's id and the
training seed (trainer/data.py), so they are the same clips the training run never learnt from.
Each clip's own vocabulary tags are its text query, and the tags it should be suggested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.catalogue.db import Catalogue
from index.centres import centred
from model.bundle import Bundle
from model.cache import FeatureCache
from trainer.data import live_sounds_with_words, validation_mask
from trainer.metrics import precision_recall_at_k, retrieval_metrics

K_TAGS = 5
NEIGHBOURS = 10


@dataclass
class CatalogueFigures:
    retrieval: dict  # recall@1/5/10, map@10, chance levels, n
    tagging: dict  # precision@5, recall@5, n
    tagging_popularity: dict  # the same for "suggest the 5 most frequent tags", the floor
    tagging_neighbours: dict  # tags voted by the nearest training clips (z_a), weighted by similarity
    retrieval_centred: dict  # retrieval after centring with the training clips' means, as the index does


def split_clips(
    bundle: Bundle, catalogue: Catalogue, cache: FeatureCache
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """(content hash, vocabulary tags) of the bundle's (validation, training) clips in the catalogue."""
    train_cfg = bundle.manifest.get("train_config", {})
    rows = live_sounds_with_words(catalogue)
    rows = [r for r in rows if r[1] in cache and r[2]]
    if not rows:
        return [], []
    is_val = validation_mask(
        [r[0] for r in rows], train_cfg.get("val_fraction", 0.1), train_cfg.get("split_seed", 0)
    )
    val, train = [], []
    for (_, content_hash, words), in_val in zip(rows, is_val, strict=True):
        tags = bundle.vocabulary.select(words)
        if tags:
            (val if in_val else train).append((content_hash, tags))
    return val, train


def neighbour_tag_scores(
    z_query: np.ndarray, z_pool: np.ndarray, pool_tags: list[list[int]], n_tags: int, k: int = NEIGHBOURS
) -> np.ndarray:
    """(Q, n_tags): each of the k nearest pool clips (cosine of z_a) votes its tags with its similarity."""
    sims = z_query @ z_pool.T  # (Q, P)
    top = np.argsort(-sims, axis=1)[:, :k]
    scores = np.zeros((len(z_query), n_tags), np.float32)
    for q in range(len(z_query)):
        for p in top[q]:
            scores[q, pool_tags[p]] += max(float(sims[q, p]), 0.0)
    return scores


def catalogue_figures(bundle: Bundle, catalogue: Catalogue, cache: FeatureCache) -> CatalogueFigures | None:
    clips, pool = split_clips(bundle, catalogue, cache)
    if len(clips) < 2:
        return None
    queries_tags = [[w for w in tags if bundle.split_known([w])[0]] for _, tags in clips]
    keep = [i for i, t in enumerate(queries_tags) if t]
    z_a, phi_a = bundle.embed_logmels([cache.get(clips[i][0]) for i in keep])  # (n, V), (n, F)
    phi_w = bundle.embed_tag_sets([queries_tags[i] for i in keep])  # (n, F)
    retrieval = retrieval_metrics(phi_w, phi_a)
    vocab = [w for w in bundle.vocabulary.words if bundle.split_known([w])[0]]
    position = {w: j for j, w in enumerate(vocab)}
    tag_vecs = bundle.embed_tag_sets([[w] for w in vocab])  # (C, F)
    truth = [{position[w] for w in clips[i][1] if w in position} for i in keep]
    tagging = precision_recall_at_k(phi_a @ tag_vecs.T, truth, K_TAGS)
    popularity = np.tile(-np.arange(len(vocab), dtype=np.float32), (len(keep), 1))  # most frequent first
    neighbours, centred_retrieval = {}, {}
    if pool:
        z_pool, phi_pool = bundle.embed_logmels([cache.get(h) for h, _ in pool])
        pool_tags = [[position[w] for w in tags if w in position] for _, tags in pool]
        votes = neighbour_tag_scores(z_a, z_pool, pool_tags, len(vocab))
        neighbours = precision_recall_at_k(votes + 1e-6 * popularity, truth, K_TAGS)  # ties: frequent first
        known_sets = [k for k in (bundle.split_known(t)[0] for _, t in pool) if k]
        w_pool = (
            bundle.embed_tag_sets(known_sets) if known_sets else np.zeros((1, phi_w.shape[1]), np.float32)
        )
        mu_w, mu_a = w_pool.mean(axis=0), phi_pool.mean(axis=0)
        centred_retrieval = retrieval_metrics(centred(phi_w, mu_w), centred(phi_a, mu_a))
        # hubness: how many different training clips come first for the training clips' own tag queries
        retrieval["distinct_first_hits"] = int(len(set(np.argmax(w_pool @ phi_pool.T, axis=1))))
        centred_retrieval["distinct_first_hits"] = int(
            len(set(np.argmax(centred(w_pool, mu_w) @ centred(phi_pool, mu_a).T, axis=1)))
        )
        retrieval["pool"] = centred_retrieval["pool"] = len(w_pool)
    return CatalogueFigures(
        retrieval, tagging, precision_recall_at_k(popularity, truth, K_TAGS), neighbours, centred_retrieval
    )
