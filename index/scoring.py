"""One scorer for text queries, zero-shot labels and suggested tags, used by the service and by
evaluation alike.

Every text query (a search, a label, a tag) goes one way: the one tokenizer (model/tags) → φ_w (the
bundle's tag encoder) → the catalogue's tag contexts (index/contexts.py) → centred with the
catalogue's means (index/centres.py), plus, for a search, its audio example (index/exemplars.py)
and the sounds' hubness offsets (index/hubness.py: `Scorer.searchable`), so the figures `audiotag
eval` reports are the ones the API serves. `Scorer.text_query` keeps the finished vectors of the
last QUERY_CACHE word sets asked: the one query cache (the tag encoder costs more than the rest of
a search, and people ask the same words again and again); `Scorer.prepare` fills it for many word
sets in one encoder call (the service's concurrent searches).

Tag suggestion has three methods; hit@5 and P@5 out of source (sounds of packages the model never
trained on, docs/eval-out-of-source), for today's recipe and for clean tags with balanced epochs
and soft targets:
- `fusion` (the default): the mean of the two below: 0.398 / 0.163 and 0.391 / 0.163;
- `neighbours`: the tags of the nearest catalogue sounds (z_a), each voting with its similarity:
  0.376 / 0.159 and 0.381 / 0.159 (it was the default, chosen on held-out takes of trained
  recordings, where it measured level with fusion);
- `embedding`: the vocabulary tags whose query vector is nearest the clip's φ_a, a softmax of
  cosine / τ: 0.266 / 0.069 and 0.136 / 0.031.
Suggested tags are vocabulary words that the catalogue's sounds carry.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from index import hubness
from index.centres import Centres, centred
from index.contexts import TagContexts
from index.exemplars import Examples
from index.softmax import softmax
from model.bundle import Bundle, UnknownTagsError

NEIGHBOURS = 10  # catalogue sounds that vote tags for a clip
TAG_METHODS = ("neighbours", "fusion", "embedding")
DEFAULT_TAG_METHOD = "fusion"  # the best out of source: hit@5 0.398 against neighbours' 0.376
QUERY_CACHE = 4096  # word sets whose finished query vectors the scorer keeps


@dataclass(frozen=True)
class TextQuery:
    """Free text read as a query: its known words, the words without a vector, and its vectors."""

    words: list[str]
    unknown: list[str]
    vector: np.ndarray  # (F,) centred, in the catalogue's tag contexts: what labels are scored with
    search: np.ndarray  # (F,) the same with its audio example: what the audio index is searched with


@dataclass
class LabelSet:
    """Caller's labels split into words: the scored ones (some word has a vector) and the rest."""

    names: list[str]  # scored labels
    words: list[list[str]]  # their words with a vector
    unknown: list[list[str]]  # their words without one
    unscored: list[str] = field(default_factory=list)  # labels with no known word


@dataclass
class CacheInfo:
    hits: int = 0
    misses: int = 0


class QueryCache:
    """The finished (vector, search) pair of the last `size` word sets asked, least recent out first."""

    def __init__(self, size: int) -> None:
        self.size, self.info = size, CacheInfo()
        self._pairs: OrderedDict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def get(self, words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray] | None:
        pair = self._pairs.get(words)
        if pair is None:
            self.info.misses += 1
            return None
        self.info.hits += 1
        self._pairs.move_to_end(words)
        return pair

    def put(
        self, words: tuple[str, ...], pair: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        for v in pair:
            v.setflags(write=False)  # shared by every caller that asks these words
        self._pairs[words] = pair
        while len(self._pairs) > self.size:
            self._pairs.popitem(last=False)
        return pair


def vote_tags(similarities: np.ndarray, tag_ids: list[list[int]], n_tags: int) -> np.ndarray:
    """Neighbour votes (n_tags,) of one clip: each neighbour (its similarity, its tag ids) adds its
    similarity (at least 0) to its tags; shares of the total weight, so in [0, 1]."""
    votes = np.zeros(n_tags, np.float32)
    for sim, ids in zip(similarities, tag_ids, strict=True):
        votes[ids] += max(float(sim), 0.0)
    total = float(np.clip(similarities, 0.0, None).sum())
    return votes / total if total > 0 else votes


def single_word_tags(bundle: Bundle) -> list[str]:
    """The vocabulary tags that are one known word each, most frequent first: the tags suggested."""
    return [w for w in bundle.vocabulary.words if bundle.split_known([w])[0] == [w]]


class Scorer:
    """Zero-shot, tag and text-query scores of a bundle in a catalogue's centred spaces, every text
    query in the catalogue's tag contexts (index/contexts.py)."""

    def __init__(
        self, bundle: Bundle, centres: Centres | None = None, contexts: TagContexts | None = None
    ) -> None:
        self.bundle = bundle
        self.tau = bundle.tau  # the bundle's own training temperature
        self.centres = centres or Centres.zeros(bundle.config.word_dim, bundle.config.latent_dim)
        self.contexts = contexts or TagContexts.empty(bundle.config.word_dim)
        # Suggested tags are words the catalogue's sounds carry: a bundle trained on game packages
        # knows words (`taman`, `nyx`) that a catalogue with clean tags never shows.
        carried = set(self.contexts.words)
        self.tag_words = [w for w in single_word_tags(bundle) if not carried or w in carried]
        self.tag_position = {w: i for i, w in enumerate(self.tag_words)}  # word → column of tag scores
        self._tag_vectors: np.ndarray | None = None
        self._bank: np.ndarray | None = None  # (S, F) search vectors of the hubness bank, when asked
        c = self.contexts
        self.examples = Examples.of(c.vectors, c.audio, c.counts, self.centres.phi_w, self.centres.phi_a)
        self._cache = QueryCache(QUERY_CACHE)

    def text_query(self, tags: list[str]) -> TextQuery:
        """Free-text tags (each may hold several words) read as one query; UnknownTagsError when the
        model knows none of its words."""
        known, unknown = self.bundle.split_known(tags)
        if not known:
            raise UnknownTagsError(unknown or list(tags))
        vector, search = self._pairs_of([tuple(known)])[0]
        return TextQuery(known, unknown, vector, search)

    def cache_info(self) -> CacheInfo:
        return self._cache.info

    def prepare(self, texts: list[str]) -> None:
        """Fill the query cache for free-text queries not in it yet, in one encoder call: what
        `text_query([text])` then reads. Queries with no known word are left to `text_query`."""
        known = [tuple(self.bundle.split_known([text])[0]) for text in texts]
        self._pairs_of([words for words in known if words])

    def _pairs_of(self, word_sets: list[tuple[str, ...]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The finished (vector, search) pair of each known-word set: from the cache, the missing
        ones computed together in one encoder call and cached."""
        found = {words: self._cache.get(words) for words in dict.fromkeys(word_sets)}
        missing = [words for words, pair in found.items() if pair is None]
        if missing:
            vectors = self.query_vectors([list(words) for words in missing])
            searches = self.examples.search_vectors(vectors)
            for words, pair in zip(missing, zip(vectors, searches, strict=True), strict=True):
                found[words] = self._cache.put(words, pair)
        return [found[words] for words in word_sets]

    def labels(self, names: list[str]) -> LabelSet:
        """Each label through the one tokenizer (model/tags): "rain_thunder" → rain, thunder."""
        out = LabelSet([], [], [])
        for name in names:
            known, unknown = self.bundle.split_known([name])
            if known:
                out.names.append(name)
                out.words.append(known)
                out.unknown.append(unknown)
            else:
                out.unscored.append(name)
        return out

    def query_vectors(self, word_lists: list[list[str]], own: np.ndarray | None = None) -> np.ndarray:
        """(N, F) centred query vectors of known-word lists in the catalogue's contexts; `own` (N, F):
        their φ_w when the caller has them already."""
        own = self.bundle.embed_tag_sets(word_lists) if own is None else own
        return centred(self.contexts.contextualise_many(word_lists, own), self.centres.phi_w)

    def search_vectors(self, word_lists: list[list[str]], own: np.ndarray | None = None) -> np.ndarray:
        """(N, F) vectors of text searches in the audio index's space: each query in the catalogue's
        contexts plus an audio example from the catalogue's sounds so tagged (index/exemplars.py)."""
        return self.examples.search_vectors(self.query_vectors(word_lists, own))

    def searchable(self, phi_a: np.ndarray) -> np.ndarray:
        """(N, F + 1) sounds' φ_a (N, F) as the audio index stores them for text searches: centred,
        with their hubness offsets against this catalogue's tag sets (index/hubness.py)."""
        items = centred(phi_a, self.centres.phi_a)
        if self._bank is None:
            c = self.contexts
            sets = [[c.words[i] for i in member.tolist()] for member in c.members]
            chosen = hubness.bank_sets(sets, c.counts)
            self._bank = self.search_vectors(chosen) if chosen else np.zeros((0, items.shape[-1]), np.float32)
        return hubness.searchable(items, hubness.offsets(items, self._bank))

    def searchable_queries(self, word_lists: list[list[str]], own: np.ndarray | None = None) -> np.ndarray:
        """(N, F + 1) text searches as they are scored against `searchable` sounds."""
        return hubness.as_query(self.search_vectors(word_lists, own))

    def label_vectors(self, labels: LabelSet) -> np.ndarray:
        """Query vectors of the scored labels, (L, F), through the query cache."""
        if not labels.words:
            return np.zeros((0, self.centres.phi_w.shape[-1]), np.float32)
        return np.stack([vector for vector, _ in self._pairs_of([tuple(w) for w in labels.words])])

    def zero_shot(self, phi_a: np.ndarray, labels: LabelSet) -> np.ndarray:
        """Probabilities (N, L) over the scored labels for clips' φ_a (N, F)."""
        cos = centred(phi_a, self.centres.phi_a) @ self.label_vectors(labels).T
        return softmax(np.atleast_2d(cos), self.tau)

    @property
    def tag_vectors(self) -> np.ndarray:
        """Query vectors of every vocabulary tag with a vector, (C, F), in `tag_words` order."""
        if self._tag_vectors is None:
            self._tag_vectors = self.query_vectors([[w] for w in self.tag_words])
        return self._tag_vectors

    def embedding_tags(self, phi_a: np.ndarray) -> np.ndarray:
        """(N, C) softmax of cosine / τ between clips' centred φ_a and every vocabulary tag."""
        cos = np.atleast_2d(centred(phi_a, self.centres.phi_a)) @ self.tag_vectors.T
        return softmax(cos, self.tau)

    def tag_scores(self, phi_a: np.ndarray, votes: np.ndarray | None, method: str) -> np.ndarray:
        """(N, C) scores of one method; `votes` (N, C) are the neighbour shares (None: no neighbours)."""
        return self.tag_scores_and_sources(phi_a, votes, method)[0]

    def tag_scores_and_sources(
        self, phi_a: np.ndarray, votes: np.ndarray | None, method: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, C) scores of one method and (N, C) "neighbours" or "model": which part of each tag's
        score is the larger. Without votes every method answers as `embedding`."""
        if method not in TAG_METHODS:
            raise ValueError(f"unknown tag method {method!r}: choose {', '.join(TAG_METHODS)}")
        if method == "neighbours" and votes is not None:
            return votes, np.full(votes.shape, "neighbours")
        embedded = self.embedding_tags(phi_a)
        if method == "fusion" and votes is not None:
            return 0.5 * (embedded + votes), np.where(votes >= embedded, "neighbours", "model")
        return embedded, np.full(embedded.shape, "model")

    def top_tags(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k best tags of one clip's scores (C,), ties to the more frequent tag."""
        order = np.lexsort((np.arange(len(scores)), -scores))[:k]
        return [(self.tag_words[i], float(scores[i])) for i in order if scores[i] > 0]
