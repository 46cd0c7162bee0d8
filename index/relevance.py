"""Relevance 0–100: how often a result like this one is relevant, fitted on the catalogue's own tags
each time an index version is built.

A result's relevance is 100 × the expected share of the query's words that the sound carries as
tags, given what the search saw of it, read from a monotone curve (isotonic regression, pool
adjacent violators) fitted on queries made of the catalogue's tag words:
- `sound`: a one-word text search's score of the sound (the cosine less the sound's hubness offset,
  index/hubness.py; its first `DEPTH` by sound);
- `text`: the share of the query's words its name, tags or description hold (one- and two-word
  queries, every sound the words find);
- `unmatched`: the cosine, for the sounds among the first `DEPTH` by sound that carry tags of their
  own but whose words do not hold the query's (what a hybrid search ranks below every word match);
- `similar`: the z_a cosine between two catalogue sounds (a tagged sound's `DEPTH` nearest), the
  label being the share of the first sound's tags the second carries.
A hybrid result that matched words reads the `text` curve at its word share; one found by its sound
alone reads `unmatched` where the sound carries tags, `sound` where it carries none (the curve of how
often a sound this close carries the word). Half the tag words (by a hash of the word) are held out of
the fit so that trainer/eval/relevance.py measures the curves on queries they never saw.
Where a catalogue has too few tagged sounds for a curve, that mode falls back to the plain scale
(the cosine, or the word share, as 0–100) and says so in the version's `relevance.json`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.catalogue.queries import SoundMeta
from index.hybrid import Match
from index.scoring import Scorer
from index.tag_votes import VoteSearch
from index.text_index import TextHit, TextIndex

FILE = "relevance.json"
CURVES = ("sound", "text", "unmatched", "similar")
DEPTH = 50  # results of each fitting query read
MAX_QUERIES = 400  # fitting queries of each kind, at most
MIN_WORD_SOUNDS = 3  # a tag word is a fitting query when this many sounds carry it
MIN_POINTS = 200  # results a curve needs, else its mode keeps the plain scale
BINS = 64  # quantile bins of the feature before the isotonic fit: the knots
CHUNK = 64  # queries scored against the whole catalogue at once


@dataclass(frozen=True)
class Curve:
    """A monotone map from a feature to a mean label in [0, 1], as knots."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    points: int  # results it was fitted on

    def __call__(self, value: float) -> float:
        """Linear between knots, flat beyond them (np.interp's rule, without its per-call cost)."""
        x, y = self.x, self.y
        i = bisect.bisect_right(x, value)
        if i == 0:
            return y[0]
        if i == len(x):
            return y[-1]
        return y[i - 1] + (y[i] - y[i - 1]) * (value - x[i - 1]) / (x[i] - x[i - 1])


def isotonic(x: np.ndarray, y: np.ndarray, bins: int = BINS) -> Curve:
    """The non-decreasing curve nearest (least squares) the labels y (N,) over features x (N,),
    fitted on up to `bins` quantile bins of x (pool adjacent violators, weighted by bin size)."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    groups = np.array_split(np.arange(len(x)), min(bins, len(x)))
    blocks = [[float(x[g].mean()), float(y[g].mean()), len(g)] for g in groups if len(g)]
    pooled: list[list[float]] = []
    for bx, by, n in blocks:
        pooled.append([bx * n, by * n, n])
        while len(pooled) > 1 and pooled[-2][1] / pooled[-2][2] > pooled[-1][1] / pooled[-1][2]:
            last = pooled.pop()
            pooled[-1] = [a + b for a, b in zip(pooled[-1], last, strict=True)]
    xs = tuple(round(sx / n, 6) for sx, _, n in pooled)
    ys = tuple(round(sy / n, 6) for _, sy, n in pooled)
    return Curve(xs, ys, len(x))


@dataclass(frozen=True)
class Relevance:
    """The fitted curves of one index version; a mode without one keeps the plain scale."""

    curves: dict[str, Curve]

    def of(self, mode: str, value: float) -> int:
        """0–100 of a feature: a cosine (`sound`, `similar`) or a word share (`text`)."""
        curve = self.curves.get(mode)
        share = curve(value) if curve else value
        return int(round(100 * min(max(share, 0.0), 1.0)))

    def of_match(self, match: Match, mode: str, n_words: int, tagged: bool = False) -> int:
        """0–100 of a search result (`n_words`: the query's; `tagged`: whether the sound carries tags):
        by its word share where it matched words (`text`, and `hybrid`), else by its cosine."""
        if mode == "text" or (mode == "hybrid" and match.words):
            return self.of("text", len(match.words) / max(n_words, 1))
        cosine = match.cosine if match.cosine is not None else 0.0
        return self.of("unmatched" if mode == "hybrid" and tagged else "sound", cosine)

    def save(self, folder: Path) -> None:
        body = {m: vars(c) if (c := self.curves.get(m)) else None for m in CURVES}
        (folder / FILE).write_text(json.dumps(body, indent=1))

    @classmethod
    def load(cls, folder: Path) -> Relevance:
        """The version's curves; none (the plain scale) for a version built before them."""
        path = folder / FILE
        if not path.exists():
            return cls({})
        body = json.loads(path.read_text())
        return cls({m: Curve(tuple(c["x"]), tuple(c["y"]), c["points"]) for m, c in body.items() if c})


def held_out(word: str) -> bool:
    """Whether a tag word is kept out of the fit (half of them, by a stable hash)."""
    return hashlib.sha1(word.encode()).digest()[0] % 2 == 1


def fitting_words(meta: dict[int, SoundMeta], held: bool = False) -> list[str]:
    """Tag words carried by at least MIN_WORD_SOUNDS sounds, on one side of the split, most carried
    first (ties by word), at most MAX_QUERIES."""
    counts: dict[str, int] = {}
    for m in meta.values():
        for w in set(m.tag_words):
            counts[w] = counts.get(w, 0) + 1
    words = sorted((w for w, n in counts.items() if n >= MIN_WORD_SOUNDS), key=lambda w: (-counts[w], w))
    return [w for w in words if held_out(w) == held][:MAX_QUERIES]


def fitting_queries(words: list[str]) -> list[list[str]]:
    """The queries made of fitting words: each word alone, and each with the next."""
    return [[w] for w in words] + [[a, b] for a, b in zip(words, words[1:], strict=False)]


def tag_share(query: Iterable[str], meta: SoundMeta | None) -> float:
    """Share of the query's words the sound carries as tags."""
    query = list(query)
    return sum(w in meta.tag_words for w in query) / len(query) if meta and query else 0.0


@dataclass
class Observations:
    """(feature, label) pairs of each curve."""

    x: dict[str, list[float]]
    y: dict[str, list[float]]

    @classmethod
    def empty(cls, modes: tuple[str, ...] = CURVES) -> Observations:
        return cls({m: [] for m in modes}, {m: [] for m in modes})

    def add(self, mode: str, feature: float, label: float) -> None:
        self.x[mode].append(feature)
        self.y[mode].append(label)

    def arrays(self, mode: str) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.x[mode], np.float64), np.asarray(self.y[mode], np.float64)


def nearest(
    queries: np.ndarray,
    vectors: np.ndarray,
    depth: int,
    votes: VoteSearch | None = None,
    word_lists: list[list[str]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-`depth` inner products of queries (Q, D) among vectors (N, D): (Q, depth) each;
    with `votes` (rows as `vectors`'), text searches of `word_lists` lifted by them as served."""
    depth = min(depth, len(vectors))
    best, rows = [], []
    for start in range(0, len(queries), CHUNK):
        scores = queries[start : start + CHUNK] @ vectors.T  # (≤ CHUNK, N)
        if votes is not None and word_lists is not None:
            scores = votes.scores(scores, queries[start : start + CHUNK], word_lists[start : start + CHUNK])
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        best.append(np.take_along_axis(scores, top, axis=1))
        rows.append(top)
    return np.concatenate(best), np.concatenate(rows)


def observe(
    scorer: Scorer,
    phi: np.ndarray,
    z: np.ndarray,
    ids: np.ndarray,
    meta: dict[int, SoundMeta],
    text: TextIndex,
    held: bool = False,
    votes: VoteSearch | None = None,
) -> Observations:
    """The pairs of every curve over a catalogue's φ_a as text searches score it (N, F + 1:
    `Scorer.searchable`) and centred z_a (N, V) of sounds `ids` (N,), for the fitting words of one
    side of the split (`similar`: the tagged sounds of that side, odd ids held out)."""
    seen = Observations.empty()
    id_list = ids.tolist()
    queries = fitting_queries(fitting_words(meta, held))
    hits = {tuple(q): text.search(q) for q in queries}  # the text index, once per query
    for query, found in hits.items():
        for hit in found:
            seen.add("text", len(hit.words) / len(query), tag_share(query, meta.get(hit.sound_id)))
    _observe_sound(seen, scorer, phi, id_list, meta, hits, votes)
    _observe_similar(seen, z, id_list, meta, held)
    return seen


def _observe_sound(
    seen: Observations,
    scorer: Scorer,
    phi: np.ndarray,
    id_list: list[int],
    meta: dict[int, SoundMeta],
    hits: dict[tuple[str, ...], list[TextHit]],
    votes: VoteSearch | None = None,
) -> None:
    """`sound` and `unmatched` pairs: each one-word query the model knows, over its first DEPTH
    sounds by sound: as `sound` mode ranks them for `sound`, and for `unmatched` (hybrid's) as hybrid
    ranks them, lifted by the sounds' `votes` where the index has them (index/tag_votes.py)."""
    known = [q[0] for q in hits if len(q) == 1 and scorer.bundle.split_known(list(q))[0] == list(q)]
    if not (id_list and known):
        return
    queries = [[w] for w in known]
    vectors = scorer.searchable_queries(queries)
    plain = nearest(vectors, phi, DEPTH)
    lifted = nearest(vectors, phi, DEPTH, votes, queries) if votes is not None else plain
    for mode, (scores, rows) in (("sound", plain), ("unmatched", lifted)):
        for w, row_scores, row_ids in zip(known, scores, rows, strict=True):
            by_words = {h.sound_id for h in hits[(w,)]}
            for s, r in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
                sound = meta.get(id_list[r])
                if mode == "sound":
                    seen.add("sound", s, tag_share([w], sound))
                elif sound and sound.tag_words and sound.id not in by_words:
                    seen.add("unmatched", s, tag_share([w], sound))


def _observe_similar(
    seen: Observations, z: np.ndarray, id_list: list[int], meta: dict[int, SoundMeta], held: bool
) -> None:
    """`similar` pairs: up to MAX_QUERIES tagged sounds of one side of the split, over their DEPTH
    nearest by z_a."""
    tagged = [r for r, i in enumerate(id_list) if meta.get(i) and meta[i].tag_words and (i % 2 == 1) == held]
    picked = [tagged[j] for j in np.linspace(0, len(tagged) - 1, min(MAX_QUERIES, len(tagged))).astype(int)]
    if not picked:
        return
    scores, rows = nearest(z[picked], z, DEPTH + 1)
    for r, row_scores, row_ids in zip(picked, scores, rows, strict=True):
        own = meta[id_list[r]].tag_words
        for s, n in zip(row_scores.tolist(), row_ids.tolist(), strict=True):
            if n != r:
                seen.add("similar", s, tag_share(own, meta.get(id_list[n])))


def fit(seen: Observations) -> Relevance:
    """A curve for each mode with at least MIN_POINTS pairs."""
    curves = {}
    for mode in CURVES:
        x, y = seen.arrays(mode)
        if len(x) >= MIN_POINTS:
            curves[mode] = isotonic(x, y)
    return Relevance(curves)
