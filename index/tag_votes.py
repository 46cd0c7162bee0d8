"""Search through the neighbours' tags: a hybrid search's sound ranking also lifts the sounds whose
nearest sounds carry its words (`sound` mode ranks by the model alone).

Each indexed sound keeps the tag shares of its `NEIGHBOURS` nearest other sounds by z_a
(`index.scoring.vote_tags`: the votes `POST /tags` reads for it), so an untagged sound is found by
what its neighbours are called. Its score in hybrid's sound ranking is its score as the audio index
ranks it (the cosine less its hubness offset) plus `WEIGHT` × the query's spread × the mean, over the
query's words that are tags, of the sound's share of that tag divided by the share's spread over
the catalogue: both parts standardised, the first per query over the sounds (the spread √(qᵀ C q)
from the sounds' covariance C), the second per tag over the sounds. A sound with no vote for the
query's words adds nothing, so only the sounds that have some are read beside the audio index's
first hits.

Measured out of source (`audiotag eval --task catalogue`'s 798 clips of 12 packages never trained
on, untagged, each clip's votes from its nearest training clips): the weight 0.2 was the best of
0.1–0.6 on the GloVe twin E (2026-12-06) and was not tuned again; on five twins since, README "Out
of source". Counting a sound among its own neighbours measured the same out of source and cost
hybrid 0.01 mAP@10 on the demo's held-out clips (docs/hybrid-search.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index import vector_index
from index.catalogue.queries import SoundMeta
from index.scoring import NEIGHBOURS, vote_tags

FILE = "votes.npz"
CHUNK = 4096  # sounds whose neighbours are searched at once
WEIGHT = 0.2  # of the standardised votes, beside the standardised audio score
# an index version's manifest records it: the version holds its sounds' votes
MANIFEST = {"weight": WEIGHT}


@dataclass(frozen=True)
class TagVotes:
    """The neighbours' tag shares of an index version's sounds (rows in `sound_ids` order) and the
    covariance of the searched vectors, with each tag's posting list for searches."""

    sound_ids: np.ndarray  # (N,) int64, in the order of the index's ids
    indptr: np.ndarray  # (N + 1,) row starts in `columns` / `shares`
    columns: np.ndarray  # (nnz,) int32 tag column of each share
    shares: np.ndarray  # (nnz,) float32 in (0, 1]
    tags: tuple[str, ...]  # column → tag word
    covariance: np.ndarray  # (D, D) of the searched vectors: a query's spread is √(qᵀ C q)

    @classmethod
    def of(
        cls,
        sound_ids: np.ndarray,
        similarities: list[np.ndarray],
        neighbour_tags: list[list[list[int]]],
        tags: list[str],
        covariance: np.ndarray,
    ) -> TagVotes:
        """From each sound's neighbours: their similarities (N arrays of ≤ k) and tag columns (N
        lists of ≤ k lists) over `tags` (C,); `covariance` (D, D): `searched_covariance`."""
        counts, columns, shares = [0], [], []
        for s, ids in zip(similarities, neighbour_tags, strict=True):  # a row at a time: no (N, C) array
            row = vote_tags(s, ids, len(tags))
            voted = np.flatnonzero(row)
            counts.append(len(voted))
            columns.append(voted)
            shares.append(row[voted])
        return cls(
            np.asarray(sound_ids, np.int64),
            np.cumsum(counts, dtype=np.int64),
            np.concatenate(columns).astype(np.int32) if columns else np.zeros(0, np.int32),
            np.concatenate(shares).astype(np.float32) if shares else np.zeros(0, np.float32),
            tuple(tags),
            np.asarray(covariance, np.float32),
        )

    @classmethod
    def of_dense(
        cls, sound_ids: np.ndarray, votes: np.ndarray, tags: list[str], covariance: np.ndarray
    ) -> TagVotes:
        """From shares (N, C) of the sounds `sound_ids` (N,) over `tags` (C,)."""
        rows, columns = np.nonzero(votes)
        return cls(
            np.asarray(sound_ids, np.int64),
            np.searchsorted(rows, np.arange(len(votes) + 1)).astype(np.int64),
            columns.astype(np.int32),
            votes[rows, columns].astype(np.float32),
            tuple(tags),
            np.asarray(covariance, np.float32),
        )

    def save(self, folder: Path) -> None:
        np.savez(
            folder / FILE,
            sound_ids=self.sound_ids,
            indptr=self.indptr,
            columns=self.columns,
            shares=self.shares,
            tags=np.array(self.tags, dtype=str),
            covariance=self.covariance,
        )

    @classmethod
    def load(cls, folder: Path) -> TagVotes | None:
        """The version's votes; None for a version built before them (its searches go without)."""
        path = folder / FILE
        if not path.exists():
            return None
        with np.load(path) as f:
            return cls(
                f["sound_ids"],
                f["indptr"],
                f["columns"],
                f["shares"],
                tuple(f["tags"].tolist()),
                f["covariance"],
            )


def index_votes(
    similar: faiss.Index,
    sound_ids: np.ndarray,
    z_a: np.ndarray,
    meta: dict[int, SoundMeta],
    tags: list[str],
    covariance: np.ndarray,
) -> TagVotes:
    """The votes of the sounds `sound_ids` (N,) with centred z_a (N, V) from their `NEIGHBOURS`
    nearest other sounds in the index `similar`, by their tag words (`meta`, by id)."""
    position = {t: i for i, t in enumerate(tags)}
    columns = {i: [position[w] for w in sound.tag_words if w in position] for i, sound in meta.items()}
    similarities, neighbours = [], []
    for start in range(0, len(sound_ids), CHUNK):
        scores, found = vector_index.search(similar, z_a[start : start + CHUNK], NEIGHBOURS + 1)
        for own, row_scores, row_ids in zip(sound_ids[start : start + CHUNK], scores, found, strict=True):
            near = [
                (s, i)
                for s, i in zip(row_scores.tolist(), row_ids.tolist(), strict=True)
                if i not in (own, -1)
            ]
            near = near[:NEIGHBOURS] or [(0.0, -1)]
            similarities.append(np.array([s for s, _ in near], np.float32))
            neighbours.append([columns.get(i, []) for _, i in near])
    return TagVotes.of(sound_ids, similarities, neighbours, tags, covariance)


def searched_covariance(searched: np.ndarray) -> np.ndarray:
    """(D, D) covariance of the vectors text searches score (N, D), over the sounds."""
    if not len(searched):
        return np.zeros((searched.shape[-1],) * 2, np.float32)
    centred = searched - searched.mean(axis=0)
    return (centred.T @ centred / len(searched)).astype(np.float32)


class VoteSearch:
    """What a text search adds to each sound's score from its neighbours' tags."""

    def __init__(self, votes: TagVotes) -> None:
        self.votes = votes
        self.column = {t: i for i, t in enumerate(votes.tags)}
        n = max(len(votes.sound_ids), 1)
        mean = np.bincount(votes.columns, votes.shares, len(votes.tags)) / n
        square = np.bincount(votes.columns, votes.shares.astype(np.float64) ** 2, len(votes.tags)) / n
        spread = np.sqrt(np.maximum(square - mean**2, 0.0))
        self.scale = np.where(spread > 0, 1.0 / np.maximum(spread, 1e-12), 0.0)  # (C,) 1 / σ_c
        rows = np.repeat(np.arange(len(votes.sound_ids)), np.diff(votes.indptr))
        order = np.argsort(votes.columns, kind="stable")  # the shares by tag: posting lists
        self.post_rows = rows[order]
        self.post_values = (votes.shares[order] * self.scale[votes.columns[order]]).astype(np.float32)
        self.post_ptr = np.searchsorted(votes.columns[order], np.arange(len(votes.tags) + 1))

    def columns_of(self, words: list[str]) -> list[int]:
        """The tag columns of a query's words (each once; words that are no tag left out)."""
        return [self.column[w] for w in dict.fromkeys(words) if w in self.column]

    def spread(self, queries: np.ndarray) -> np.ndarray:
        """(Q,) √(qᵀ C q): the spread of each query's (Q, D) scores over the sounds."""
        q = np.atleast_2d(queries).astype(np.float32)
        return np.sqrt(np.maximum(np.sum((q @ self.votes.covariance) * q, axis=1), 1e-12))

    def bonus(self, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, standardised votes) of the sounds with a vote for any of the columns: the mean
        over the columns of each sound's share / the tag's spread."""
        if not columns:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if len(columns) == 1:  # one posting list: each sound once
            span = slice(self.post_ptr[columns[0]], self.post_ptr[columns[0] + 1])
            return self.post_rows[span], self.post_values[span]
        rows = np.concatenate([self.post_rows[self.post_ptr[c] : self.post_ptr[c + 1]] for c in columns])
        values = np.concatenate([self.post_values[self.post_ptr[c] : self.post_ptr[c + 1]] for c in columns])
        found, at = np.unique(rows, return_inverse=True)
        total = np.bincount(at, values, len(found)) / len(columns)
        return found, total.astype(np.float32)

    def added(self, query: np.ndarray, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(sound ids, what each adds to its score) for one query vector (D,) and its tag columns."""
        rows, bonus = self.bonus(columns)
        return self.votes.sound_ids[rows], WEIGHT * float(self.spread(query)[0]) * bonus

    def scores(self, base: np.ndarray, queries: np.ndarray, word_lists: list[list[str]]) -> np.ndarray:
        """(Q, N) the scores of searches (Q, D) whose audio-index scores of every sound (rows in
        `sound_ids` order) are `base`, as the service ranks them."""
        out = np.array(base, np.float32, copy=True)
        spread = self.spread(queries)
        for q, words in enumerate(word_lists):
            rows, bonus = self.bonus(self.columns_of(words))
            out[q, rows] += WEIGHT * spread[q] * bonus
        return out
