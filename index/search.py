"""Search a published index version: the one place that does query maths.

Text → sounds, clip → similar sounds, sound → similar sounds, clip → tags and clip → zero-shot
label scores all go through `SearchIndex`: it centres queries like the index (index/centres.py),
scores with `index.scoring.Scorer`, and splits text with the one tokenizer (model/tags). Every
search filters its hits (sounds deleted since the build, and the caller's licence / duration / tag
filters) and over-fetches until it has `k` hits that pass, or has looked at the whole index — so a
selective filter still returns full pages. Filters and results read the indexed sounds' metadata
held in memory (`SoundMeta`, one query when the index loads): no SQL round trip per search. It is
read again when `versions.note_catalogue_change` was called (`audiotag delete` and `ingest` do: a
stat per search), and for writers that do not say so, when `catalogue_fingerprint` (counts of sounds,
deletions and tags: cheap aggregate queries) changed, checked every `CATALOGUE_MAX_AGE_S` (the service
checks in the background before then: `metadata(max_age=…)` from its watcher).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index import hubness, vector_index, versions
from index.catalogue.db import Catalogue
from index.catalogue.queries import SoundMeta, catalogue_fingerprint, live_metadata
from index.centres import Centres, centred
from index.contexts import TagContexts
from index.filters import FilterArrays, Filters
from index.hybrid import DEFAULT_MODE, MODES, Match, fuse, sound_only, text_only
from index.relevance import Relevance
from index.scoring import DEFAULT_TAG_METHOD, NEIGHBOURS, LabelSet, Scorer, TextQuery, vote_tags
from index.tag_votes import TagVotes, VoteSearch
from index.text_index import TextHit, TextIndex, query_words
from model.arrays import load_array
from model.bundle import Bundle, UnknownTagsError

FIRST_FETCH_FACTOR = 3  # hits fetched per wanted one when filters may reject some
FETCH_MARGIN = 10  # hits fetched beyond those wanted without filters (deleted sounds drop out)
HYBRID_SOUNDS = 50  # sounds the audio index hands a hybrid search (pages within them are stable)
VOTED_SOUNDS = 30  # a lifted search reads this many sounds beyond its page by their votes
SELECTIVE = 0.2  # a filter that admits at most this share of the index is searched among its sounds
CATALOGUE_MAX_AGE_S = 60.0


class Hit(NamedTuple):  # a tuple: a search makes 50–60 of them, a frozen dataclass costs 1 µs each
    sound_id: int
    score: float  # cosine similarity (a text search's: less the sound's hubness offset)


@dataclass(frozen=True)
class QueryUse:
    """How a text query was read: its normalised words, and those the model has no vector for."""

    words: list[str]
    unknown: list[str]  # left out of the sound part (in hybrid mode the words part still reads them)


class NoQueryWordsError(ValueError):
    """Nothing is left of a text query after normalising (stop-words, numbers, punctuation)."""


class SoundNotIndexed(LookupError):
    """The sound is not in the index (unknown, deleted, or added after the build)."""


class SearchIndex:
    """One index version, loaded, with the bundle it was built with and the catalogue."""

    def __init__(
        self, folder: Path, bundle: Bundle, catalogue: Catalogue, nprobe: int = 16, ef_search: int = 64
    ) -> None:
        self.folder = Path(folder)
        self.manifest = versions.read_manifest(self.folder)
        versions.check_bundle(self.manifest, bundle)
        self.bundle, self.catalogue = bundle, catalogue
        self.audio = vector_index.read(self.folder / versions.AUDIO, nprobe, ef_search)
        self.similar = vector_index.read(self.folder / versions.SIMILAR, nprobe, ef_search)
        # filtered searches among the admitted sounds, where an index keeps flat vectors (Flat, HNSW)
        self._among = {
            "audio": vector_index.AllowedSearch(self.audio),
            "similar": vector_index.AllowedSearch(self.similar),
        }
        self.centres = Centres.load(self.folder, bundle.config.word_dim, bundle.config.latent_dim)
        self.contexts = TagContexts.load(self.folder, bundle.config.word_dim)
        self.scorer = Scorer(bundle, self.centres, self.contexts)
        self.text = TextIndex(self.folder)
        self.relevance = Relevance.load(self.folder)
        self._ids = load_array(self.folder / versions.IDS).tolist()
        self._lock = threading.Lock()
        self._marker = versions.catalogue_marker(self.folder.parent)
        self._hub_offsets = "hubness" in self.manifest  # its audio index holds them (index/hubness.py)
        votes = TagVotes.load(self.folder)  # the sounds' neighbours' tags (index/tag_votes.py)
        self.votes = VoteSearch(votes) if votes is not None else None
        self._read_catalogue()

    # --- the indexed sounds' metadata, in memory ----------------------------------------------
    def _read_catalogue(self) -> None:
        stamp = versions.catalogue_stamp(self._marker)
        fingerprint = catalogue_fingerprint(self.catalogue)
        meta = live_metadata(self.catalogue, self._ids)
        self._meta, self._arrays = meta, FilterArrays(meta)  # swapped together, one reference each
        self._stamp, self._fingerprint, self._read_at = stamp, fingerprint, time.monotonic()

    def metadata_stale(self, max_age: float = CATALOGUE_MAX_AGE_S) -> bool:
        """Whether `metadata` would read the catalogue again: it changed, or was read too long ago."""
        too_old = time.monotonic() - self._read_at > max_age
        return too_old or versions.catalogue_stamp(self._marker) != self._stamp

    def metadata(self, max_age: float = CATALOGUE_MAX_AGE_S) -> dict[int, SoundMeta]:
        """Live indexed sounds by id; read again if stale (see the module's doc)."""
        if self.metadata_stale(max_age):
            with self._lock:
                if versions.catalogue_stamp(self._marker) != self._stamp:
                    self._read_catalogue()
                elif self.metadata_stale(max_age):  # only old: read again if the counts moved
                    if catalogue_fingerprint(self.catalogue) != self._fingerprint:
                        self._read_catalogue()
                    self._read_at = time.monotonic()
        return self._meta

    @classmethod
    def open_current(cls, root: Path, bundle: Bundle, catalogue: Catalogue, **params) -> SearchIndex:
        return cls(versions.current_dir(root), bundle, catalogue, **params)

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def size(self) -> int:
        return int(self.manifest["counts"]["sounds"])

    @property
    def tag_words(self) -> list[str]:
        """The vocabulary tags that can be suggested, most frequent first."""
        return self.scorer.tag_words

    # --- the core: centred vector → filtered hits ----------------------------------------------
    def _nearest(
        self,
        vector: np.ndarray,
        k: int = 10,
        offset: int = 0,
        filters: Filters = Filters(),
        space: str = "audio",
        exclude: frozenset[int] = frozenset(),
    ) -> list[Hit]:
        """Nearest sounds to a (D,) vector in `space` ("audio": φ_a, "similar": z_a), already centred
        like the index. A selective filter is searched among the sounds it admits (exact, FAISS ID
        selector); otherwise hits are over-fetched and filtered until the page is full."""
        index = self.audio if space == "audio" else self.similar
        want = offset + k
        among = self._among.get(space)
        if not filters.empty and among is not None and among.available:
            self.metadata()
            allowed = self._arrays.select(filters)
            allowed = allowed[~np.isin(allowed, list(exclude))] if exclude else allowed
            if len(allowed) <= SELECTIVE * index.ntotal:
                scores, ids = among.search(vector, want, allowed)
                return [Hit(int(i), float(s)) for i, s in zip(ids, scores, strict=True)][offset:want]
        fetch = (want + FETCH_MARGIN if filters.empty else want * FIRST_FETCH_FACTOR) + len(exclude)
        while True:
            scores, ids = vector_index.search(index, vector[None, :], fetch)
            found = ids[0].tolist()
            allowed = self._allowed(found, filters)
            passed = [
                Hit(i, s)
                for i, s in zip(found, scores[0].tolist(), strict=True)
                if i >= 0 and i not in exclude and i in allowed
            ]
            if len(passed) >= want or fetch >= index.ntotal:
                return passed[offset:want]
            fetch = min(fetch * 4, index.ntotal)

    def _allowed(self, ids: list[int], filters: Filters) -> Container[int]:
        """What holds the ids among `ids` of live sounds that pass the filters (for `in`): without
        filters, every live sound's id."""
        meta = self.metadata()
        if filters.empty:
            return meta.keys()
        return {i for i in ids if i in meta and filters.admit(meta[i])}

    # --- the questions ----------------------------------------------------------------------------
    def search_by_tags(
        self,
        tags: list[str],
        k: int = 10,
        offset: int = 0,
        filters: Filters = Filters(),
        lifted: bool = False,
    ) -> tuple[list[Hit], TextQuery]:
        """Free-text tags (each may hold several words: "dog barking") → their query (the scorer's,
        cached) → sounds by their sound; `lifted`: and by their nearest sounds' tags, as hybrid
        search ranks them (index/tag_votes.py). UnknownTagsError when no word is known."""
        query = self.scorer.text_query(tags)
        vector = hubness.as_query(query.search) if self._hub_offsets else query.search
        if self.votes is None or not lifted:
            return self._nearest(vector, k, offset, filters, "audio"), query
        return self._with_votes(vector, query.words, k, offset, filters), query

    def _with_votes(
        self, vector: np.ndarray, words: list[str], k: int, offset: int, filters: Filters
    ) -> list[Hit]:
        """The audio index's first hits of a text search vector (D,) and the sounds its words' votes
        lift most (`VOTED_SOUNDS` beyond the page), ranked by score plus lift (index/tag_votes.py)."""
        voted, lift = self.votes.added(vector, self.votes.columns_of(words))  # (P,) each
        want = offset + k
        if not len(voted):
            return self._nearest(vector, k, offset, filters, "audio")
        hits = self._nearest(vector, want, 0, filters, "audio")
        found = np.fromiter((h.sound_id for h in hits), np.int64, len(hits))
        read = want + VOTED_SOUNDS
        most = voted if len(voted) <= read else voted[np.argpartition(-lift, read - 1)[:read]]
        seen = set(found.tolist())
        most = [i for i in most.tolist() if i not in seen]
        allowed = self._allowed(most, filters)
        extra, extra_scores = self._audio_scores(vector, [i for i in most if i in allowed])
        ids = np.concatenate([found, extra])
        scores = np.concatenate([np.fromiter((h.score for h in hits), np.float64, len(hits)), extra_scores])
        order = np.argsort(voted, kind="stable")  # voted ids are mostly in order already: a cheap sort
        at = np.minimum(np.searchsorted(voted, ids, sorter=order), len(voted) - 1)
        scores = scores + np.where(voted[order[at]] == ids, lift[order[at]], 0.0)
        best = np.lexsort((ids, -scores))[offset:want]  # by score, ties by id
        return [Hit(i, s) for i, s in zip(ids[best].tolist(), scores[best].tolist(), strict=True)]

    def _audio_scores(self, vector: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the sounds `ids` for a search vector (D,) in the audio index, exactly."""
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        wanted = np.array(ids, np.int64)
        among = self._among["audio"]
        if among.available:
            found, scores = among.scores(vector, wanted)
            return found, scores.astype(np.float64)
        stored = vector_index.stored_vectors(self.audio, wanted)
        return wanted, (stored @ vector_index.padded(vector[None, :], self.audio.d)[0]).astype(np.float64)

    def search(
        self, query: str, k: int = 10, offset: int = 0, filters: Filters = Filters(), mode: str = DEFAULT_MODE
    ) -> tuple[list[Match], QueryUse]:
        """Free text → sounds by their words (`text`), by their sound (`sound`: the tag embedding), or
        both fused (`hybrid`, index/hybrid.py). NoQueryWordsError when no word is left; in `sound`
        mode, and in `hybrid` when the words find nothing either, UnknownTagsError when the model
        knows none of them."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}: choose {', '.join(MODES)}")
        words = query_words(query)
        if not words:
            raise NoQueryWordsError(f"no word left in {query!r} after normalising (stop-words, numbers)")
        if mode == "sound":
            hits, used = self.search_by_tags([query], k, offset, filters)
            return sound_only(hits), QueryUse(used.words, used.unknown)
        if mode == "text":
            return text_only(self.word_hits(words, filters))[offset : offset + k], QueryUse(words, [])
        text_hits, sounds, unknown = self.both_rankings(query, filters, max(HYBRID_SOUNDS, offset + k))
        return fuse(text_hits, sounds, limit=offset + k)[offset:], QueryUse(words, unknown)

    def prepare(self, queries: list[str], modes: list[str]) -> None:
        """Ready the sound part of many searches at once (one tag-encoder call for the words not
        cached): what the service does for the searches that arrive together."""
        self.scorer.prepare([q for q, mode in zip(queries, modes, strict=True) if mode != "text"])

    def word_hits(self, words: list[str], filters: Filters = Filters()) -> list[TextHit]:
        """Live sounds whose words match (the text index), passing the filters, best first."""
        found = self.text.search(words)
        allowed = self._allowed([h.sound_id for h in found], filters)
        return [h for h in found if h.sound_id in allowed]

    def both_rankings(
        self, query: str, filters: Filters = Filters(), depth: int = HYBRID_SOUNDS
    ) -> tuple[list[TextHit], list[tuple[int, float]], list[str]]:
        """What a hybrid search fuses: the sounds by words, the first `depth` by sound as (id, cosine),
        and the words the model has no vector for; UnknownTagsError only when neither finds any."""
        text_hits = self.word_hits(query_words(query), filters)
        try:
            hits, used = self.search_by_tags([query], depth, 0, filters, lifted=True)
        except UnknownTagsError as err:
            if not text_hits:
                raise
            return text_hits, [], err.unknown
        return text_hits, hits, used.unknown  # hits are (id, cosine) tuples

    def stored_vector(self, sound_id: int) -> np.ndarray:
        """A sound's z_a as indexed."""
        try:
            return self.similar.reconstruct(int(sound_id))
        except RuntimeError:
            raise SoundNotIndexed(f"sound {sound_id} is not in the index {self.version}") from None

    def similar_to_sound(
        self, sound_id: int, k: int = 10, offset: int = 0, filters: Filters = Filters()
    ) -> list[Hit]:
        """Catalogue sounds like a catalogue sound (itself left out); SoundNotIndexed if it is not in."""
        vector = self.stored_vector(sound_id)
        return self._nearest(vector, k, offset, filters, "similar", exclude=frozenset({int(sound_id)}))

    def similar_to_clip(
        self,
        z_a: np.ndarray,
        k: int = 10,
        offset: int = 0,
        filters: Filters = Filters(),
        exclude: frozenset[int] = frozenset(),
    ) -> list[Hit]:
        """Catalogue sounds like a clip, from its L2-normalised z_a (V,); `exclude`: sound ids left out."""
        return self._nearest(centred(z_a, self.centres.z_a), k, offset, filters, "similar", exclude)

    def suggest_tags(
        self,
        z_a: np.ndarray,
        phi_a: np.ndarray,
        k: int = 10,
        method: str = DEFAULT_TAG_METHOD,
        skip: frozenset[str] = frozenset(),
        exclude: frozenset[int] = frozenset(),
    ) -> list[tuple[str, float, str]]:
        """(tag, score, source) for a clip from its L2-normalised z_a and φ_a, by one of
        `index.scoring.TAG_METHODS`; the source says which part gave the tag more of its score:
        `neighbours` (similar catalogue sounds) or `model` (the audio-tag embedding). Without tagged
        neighbours in the index, every method falls back to `embedding`. `skip`: words never
        suggested (a sound's own tags, those people rejected); `exclude`: sounds that do not vote
        (the catalogue sound being tagged)."""
        votes = self.neighbour_votes(z_a, exclude) if method != "embedding" else None
        votes = None if votes is None else votes[None, :]
        scores, sources = self.scorer.tag_scores_and_sources(phi_a, votes, method)
        top = [(w, s) for w, s in self.scorer.top_tags(scores[0], k + len(skip)) if w not in skip][:k]
        return [(w, s, str(sources[0, self.scorer.tag_position[w]])) for w, s in top]

    def neighbour_votes(self, z_a: np.ndarray, exclude: frozenset[int] = frozenset()) -> np.ndarray | None:
        """Shares (C,) of the vocabulary tags among the nearest catalogue sounds; None if none has any."""
        hits = self.similar_to_clip(z_a, NEIGHBOURS, exclude=exclude)
        sounds = self.metadata()
        position = self.scorer.tag_position
        ids = [
            [position[w] for w in sounds[h.sound_id].tag_words if w in position]
            if h.sound_id in sounds
            else []
            for h in hits
        ]
        if not any(ids):
            return None
        return vote_tags(np.array([h.score for h in hits]), ids, len(position))

    def labels(self, names: list[str]) -> LabelSet:
        """The caller's label names through the one tokenizer: which can be scored, with which words."""
        return self.scorer.labels(names)

    def classify(self, phi_a: np.ndarray, labels: LabelSet) -> np.ndarray:
        """Zero-shot: probabilities (L,) of a clip's φ_a over the scored labels (`labels(names)`)."""
        return self.scorer.zero_shot(phi_a, labels)[0]
