"""Figures on held-out catalogue clips: text→audio retrieval and tag suggestion, scored as served.

Held-out clips are the bundle's validation clips: the split is a hash of each sound's id and the
training seed (trainer/data.py), so they are the same clips the training run never learnt from.
Each clip's own vocabulary tags are its text query, and the tags it should be suggested. Scores come
from `index.scoring.Scorer` with the catalogue's centres, the very code the service answers with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.catalogue.db import Catalogue
from index.catalogue.queries import live_sounds_with_words
from index.centres import Centres, centred
from index.contexts import TagContexts
from index.scoring import NEIGHBOURS, TAG_METHODS, Scorer, vote_tags
from index.tag_votes import TagVotes, VoteSearch, searched_covariance
from model.bundle import Bundle
from model.cache import FeatureCache
from trainer.data import heldout_mask
from trainer.eval.baseline import mfcc_embedding
from trainer.metrics import mean_average_precision, precision_recall_at_k, retrieval_metrics, score_retrieval

K_TAGS = 5
ONE_WORD_MIN_CLIPS = 3  # a one-word query is scored when at least this many held-out clips carry it


@dataclass
class CatalogueFigures:
    retrieval: dict  # recall@1/5/10, map@10, chance levels, n; uncentred
    retrieval_centred: dict  # the same centred with the catalogue's means, as the index searches
    tagging: dict[str, dict]  # method → precision@5, recall@5, n (as `POST /tags?method=` answers)
    tagging_popularity: dict  # "suggest the 5 most frequent tags": the floor
    one_word: dict  # one-word queries: mAP with each word's own φ_w and in the catalogue's contexts


@dataclass
class CatalogueClips:
    """A bundle's embeddings of the catalogue's tagged clips: held-out ones and the training pool."""

    val_tags: list[list[str]]  # known vocabulary words of each held-out clip
    z_val: np.ndarray  # (n, V) L2-normalised
    phi_val: np.ndarray  # (n, F)
    pool_tags: list[list[str]]
    z_pool: np.ndarray  # (m, V)
    phi_pool: np.ndarray  # (m, F)
    w_pool: np.ndarray  # (m, F) φ_w of the pool clips' tags
    contexts: TagContexts  # of the pool clips' tags only: held-out tags never shape a query
    val_uids: list[str]  # the held-out clips' catalogue uids
    val_words: list[list[str]]  # all their normalised tag words, in the vocabulary or not
    val_mfcc: np.ndarray  # (n, 120) the MFCC-statistics baseline of the held-out clips

    @property
    def centres(self) -> Centres:
        """The means the index stores, over the catalogue's tagged clips."""
        return Centres.of(
            np.concatenate([self.phi_val, self.phi_pool]),
            self.w_pool,
            np.concatenate([self.z_val, self.z_pool]),
        )


HeldOutClip = tuple[str, str, list[str], list[str]]  # uid, content hash, all words, known vocabulary tags


def split_clips(
    bundle: Bundle, catalogue: Catalogue, cache: FeatureCache
) -> tuple[list[HeldOutClip], list[HeldOutClip]]:
    """The bundle's (validation, training) clips, split as its training run split them."""
    train_cfg = bundle.manifest.get("train_config", {})
    rows = [r for r in live_sounds_with_words(catalogue) if r[1] in cache and r[2]]
    if not rows:
        return [], []
    is_val = heldout_mask(
        [r[0] for r in rows],
        train_cfg.get("val_split", "hash"),  # bundles from before the out-of-source split
        train_cfg.get("val_fraction", 0.1),
        train_cfg.get("split_seed", 0),
    )
    val, train = [], []
    for (uid, content_hash, words), in_val in zip(rows, is_val, strict=True):
        tags = bundle.split_known(bundle.vocabulary.select(words))[0]
        if tags:
            (val if in_val else train).append((uid, content_hash, words, tags))
    return val, train


def embed_catalogue(bundle: Bundle, catalogue: Catalogue, cache: FeatureCache) -> CatalogueClips | None:
    """None when the catalogue has fewer than two held-out clips or no training clip for this bundle."""
    val, pool = split_clips(bundle, catalogue, cache)
    if len(val) < 2 or not pool:
        return None
    val_logmels = [cache.get(h) for _, h, _, _ in val]
    z_val, phi_val = bundle.embed_logmels(val_logmels)
    z_pool, phi_pool = bundle.embed_logmels([cache.get(h) for _, h, _, _ in pool])
    pool_tags = [t for _, _, _, t in pool]
    w_pool = bundle.embed_tag_sets(pool_tags)
    contexts = TagContexts.of(bundle, pool_tags, list(phi_pool))  # with the pool's audio, as indexed
    val_mfcc = np.stack([mfcc_embedding(m) for m in val_logmels])
    return CatalogueClips(
        [t for _, _, _, t in val], z_val, phi_val, pool_tags, z_pool, phi_pool, w_pool, contexts,
        [u for u, _, _, _ in val], [w for _, _, w, _ in val], val_mfcc,
    )  # fmt: skip


def held_out_votes(shares: np.ndarray, scorer: Scorer, searchable: np.ndarray) -> VoteSearch:
    """The held-out clips' neighbours' tags, `shares` (n, C) from `neighbour_votes`, as an index of
    the held-out clips would hold them, `searchable` (n, F + 1) their vectors (index/tag_votes.py)."""
    ids = np.arange(len(shares))
    return VoteSearch(TagVotes.of_dense(ids, shares, scorer.tag_words, searched_covariance(searchable)))


def served_scores(
    scorer: Scorer,
    votes: VoteSearch,
    searchable: np.ndarray,
    word_lists: list[list[str]],
    own: np.ndarray | None = None,
) -> np.ndarray:
    """(Q, n) text searches of known-word lists against the held-out clips (`searchable`, their
    `votes`) as the service ranks them; `own` (Q, F): the lists' φ_w when the caller has them."""
    queries = scorer.searchable_queries(word_lists, own)
    return votes.scores(queries @ searchable.T, queries, word_lists)


def neighbour_votes(clips: CatalogueClips, scorer: Scorer, k: int = NEIGHBOURS) -> np.ndarray:
    """(n, C) tag shares among each held-out clip's k nearest training clips (centred z_a), as served."""
    position = scorer.tag_position
    pool_ids = [[position[w] for w in tags if w in position] for tags in clips.pool_tags]
    sims = centred(clips.z_val, scorer.centres.z_a) @ centred(clips.z_pool, scorer.centres.z_a).T
    top = np.argsort(-sims, axis=1)[:, :k]
    return np.stack(
        [vote_tags(sims[q, top[q]], [pool_ids[p] for p in top[q]], len(position)) for q in range(len(top))]
    )


def catalogue_figures(clips: CatalogueClips, scorer: Scorer) -> CatalogueFigures:
    bundle, c = scorer.bundle, scorer.centres
    phi_w = bundle.embed_tag_sets(clips.val_tags)  # (n, F)
    retrieval = retrieval_metrics(phi_w, clips.phi_val)
    searchable = scorer.searchable(clips.phi_val)  # (n, F + 1) as the index holds them
    shares = neighbour_votes(clips, scorer)  # (n, C): for tag suggestion and for search
    votes = held_out_votes(shares, scorer, searchable)
    served = score_retrieval(served_scores(scorer, votes, searchable, clips.val_tags, phi_w))
    # hubness: how many different training clips come first for the training clips' own tag queries
    firsts = np.argmax(clips.w_pool @ clips.phi_pool.T, axis=1)
    pool_queries = scorer.query_vectors(clips.pool_tags, clips.w_pool)
    firsts_c = np.argmax(pool_queries @ centred(clips.phi_pool, c.phi_a).T, axis=1)
    retrieval.update(distinct_first_hits=len(set(firsts)), pool=len(firsts))
    served.update(distinct_first_hits=len(set(firsts_c)), pool=len(firsts))

    tagging = tagging_figures(clips, scorer, clips.val_tags, shares)
    popularity = precision_recall_at_k(
        np.tile(_frequency_order(scorer), (len(clips.val_tags), 1)), _truth(scorer, clips.val_tags), K_TAGS
    )
    one_word = one_word_figures(clips, scorer, searchable, votes)
    return CatalogueFigures(retrieval, served, tagging, popularity, one_word)


def tagging_figures(
    clips: CatalogueClips, scorer: Scorer, tag_lists: list[list[str]], votes: np.ndarray
) -> dict[str, dict]:
    """Each method's precision@5, recall@5 and hit@5 on the held-out clips against `tag_lists` (one
    list of true tag words a clip), `votes` (n, C) the training clips' (`neighbour_votes`), as served."""
    truth = _truth(scorer, tag_lists)
    ties = _frequency_order(scorer)
    return {
        m: precision_recall_at_k(scorer.tag_scores(clips.phi_val, votes, m) + ties, truth, K_TAGS)
        for m in TAG_METHODS
    }


def _truth(scorer: Scorer, tag_lists: list[list[str]]) -> list[set[int]]:
    """The columns of each clip's true tags among the tags the scorer suggests."""
    position = scorer.tag_position
    return [{position[w] for w in tags if w in position} for tags in tag_lists]


def _frequency_order(scorer: Scorer) -> np.ndarray:
    """(C,) a score nudge that breaks ties in favour of the more frequent tag."""
    return -1e-6 * np.arange(len(scorer.tag_position), dtype=np.float32)


def one_word_figures(
    clips: CatalogueClips, scorer: Scorer, searchable: np.ndarray, votes: VoteSearch
) -> dict:
    """mAP of one-word searches (each one-word tag that at least `ONE_WORD_MIN_CLIPS` held-out clips
    carry, those clips relevant) among the held-out clips: each word's own φ_w, centred, and as
    served, in the catalogue's tag contexts (index/contexts.py) and lifted by the clips' `votes`,
    against `searchable` (n, F + 1), the held-out clips as `Scorer.searchable` made them."""
    carried = {w: sum(w in t for t in clips.val_tags) for w in scorer.tag_words}
    words = [w for w in scorer.tag_words if carried[w] >= ONE_WORD_MIN_CLIPS]
    if not words:
        return {}
    relevant = np.array([[w in t for w in words] for t in clips.val_tags])  # (n, Q)
    items = centred(clips.phi_val, scorer.centres.phi_a)
    queries = [[w] for w in words]
    own = scorer.bundle.embed_tag_sets(queries)
    return {
        "words": len(words),
        "n": len(clips.val_tags),
        "map_own": mean_average_precision(items @ centred(own, scorer.centres.phi_w).T, relevant),
        "map_served": mean_average_precision(
            served_scores(scorer, votes, searchable, queries, own).T, relevant
        ),
    }
