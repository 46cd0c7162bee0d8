"""The service's one inference boundary: every question that runs the model, FAISS or the text index.

`Engine` owns the one inference thread (torch's OpenMP team belongs to the thread that calls it:
app/api/batcher.py) and two batchers on it: concurrent uploads share encoder passes, concurrent
searches share one hop to the thread and one tag-encoder call for their words. The served model is
loaded on that thread too (`Service.refresh`): a thread that ran a parallel torch operator once (a
model's weights initialised and copied) keeps an OpenMP team of its own while it lives, and beside
it the inference thread's encoder ran slower (a 10 s clip: 7.0 against 5.7 ms, 2-core Zen 4); for the
same reason an in-process reindex job runs on a thread that ends with it (`Service.submit`). Each
method takes the served index and the request's parts, runs the index's work on that thread and
answers with the finished response body; routes only await it, so the event loop never runs torch or
FAISS and one slow query does not stall the other connections of the process (/health, uploads
streaming in). Catalogue metadata that went stale is read again in the thread pool first, so the
inference thread never waits on SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from starlette.concurrency import run_in_threadpool

from app.api.batcher import Batcher
from app.api.errors import ApiError
from app.api.results import label_scores, matched, scored
from app.api.schemas import (
    ClassifyResponse,
    QueryWords,
    SearchResponse,
    SimilarResponse,
    TagScore,
    TagsResponse,
)
from index.filters import Filters
from index.search import NoQueryWordsError, SearchIndex, SoundNotIndexed
from model.bundle import Bundle, UnknownTagsError

T = TypeVar("T")
SEARCH_BATCH = 64  # searches answered in one pass of the inference thread at most


@dataclass(frozen=True)
class SearchAsk:
    """One text search, as the route read it."""

    q: str
    k: int
    page: int
    filters: Filters
    mode: str


def answer_search(index: SearchIndex, ask: SearchAsk) -> SearchResponse:
    """One search's finished response body; 422 ApiError when no word of it can be read."""
    try:
        matches, used = index.search(ask.q, ask.k, (ask.page - 1) * ask.k, ask.filters, ask.mode)
    except NoQueryWordsError as err:
        raise ApiError(422, "no_words", str(err)) from None
    except UnknownTagsError as err:
        raise ApiError(422, "unknown_tags", str(err)) from None
    return SearchResponse(
        query=QueryWords(words=used.words, unknown=used.unknown), mode=ask.mode, page=ask.page, k=ask.k,
        index_version=index.version, results=matched(index, matches, ask.mode, len(used.words)),
    )  # fmt: skip


def answer_searches(index: SearchIndex, asks: list[SearchAsk]) -> list[SearchResponse | Exception]:
    """Searches that arrived together: their words through the tag encoder in one call, then each."""
    index.prepare([a.q for a in asks], [a.mode for a in asks])
    answers: list[SearchResponse | Exception] = []
    for ask in asks:
        try:
            answers.append(answer_search(index, ask))
        except ApiError as err:
            answers.append(err)
    return answers


@dataclass(frozen=True)
class Clip:
    """An uploaded clip, read and decoded in the thread pool (app/api/deps.py ClipDep)."""

    logmel: np.ndarray  # (n_mels, T) in the served bundle's feature settings


@dataclass(frozen=True)
class ClipAsk:
    """One upload's question: its clip, and what answers it from the clip's embedding."""

    logmel: np.ndarray  # (n_mels, T)
    answer: Callable[[np.ndarray, np.ndarray], object]  # (z_a (V,), φ_a (F,)) → the response body


def answer_clips(bundle: Bundle, asks: list[ClipAsk]) -> list[object | Exception]:
    """Uploads that arrived together: one encoder pass for their clips, then each one's answer, all
    on the inference thread (one hop a request)."""
    z, phi = bundle.embed_logmels([a.logmel for a in asks])
    answers: list[object | Exception] = []
    for ask, z_a, phi_a in zip(asks, z, phi, strict=True):
        try:
            answers.append(ask.answer(z_a, phi_a))
        except Exception as err:  # this request's error; the others still get their answers
            answers.append(err)
    return answers


class Engine:
    def __init__(
        self,
        max_batch: int = 32,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
        on_search_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="inference")
        self.clips = Batcher(self.thread, answer_clips, max_batch, max_wait_s, on_batch)
        self.searches = Batcher(self.thread, answer_searches, SEARCH_BATCH, on_batch=on_search_batch)

    def stop(self) -> None:
        self.clips.stop()
        self.searches.stop()
        self.thread.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    async def _fresh(index: SearchIndex) -> None:
        """Catalogue metadata that went stale, read again in the pool: the inference thread never
        waits on SQL."""
        if index.metadata_stale():
            await run_in_threadpool(index.metadata)

    async def _run(self, index: SearchIndex, work: Callable[[], T]) -> T:
        """`work()` on the inference thread, after stale catalogue metadata is read in the pool."""
        await self._fresh(index)
        return await asyncio.get_running_loop().run_in_executor(self.thread, work)

    async def _answer_clip(
        self, index: SearchIndex, clip: Clip, answer: Callable[[np.ndarray, np.ndarray], T]
    ) -> T:
        """`answer(z_a, φ_a)` for an upload, in the encoder pass it shares with concurrent uploads,
        after stale catalogue metadata is read in the pool."""
        await self._fresh(index)
        return await self.clips.submit(index.bundle, ClipAsk(clip.logmel, answer))

    # --- the questions ----------------------------------------------------------------------------
    async def search(
        self, index: SearchIndex, q: str, k: int, page: int, filters: Filters, mode: str
    ) -> SearchResponse:
        """A text search's response, computed with the searches that arrive with it."""
        await self._fresh(index)
        return await self.searches.submit(index, SearchAsk(q, k, page, filters, mode))

    async def suggest_tags(
        self,
        index: SearchIndex,
        clip: Clip,
        k: int,
        method: str,
        skip: frozenset[str] = frozenset(),
        sound_id: int | None = None,
    ) -> TagsResponse:
        """Suggested tags for a clip; for a catalogue sound (`sound_id`) it does not vote for itself,
        and `skip` (its own tags, those people rejected) is never suggested."""
        exclude = frozenset() if sound_id is None else frozenset({sound_id})

        def answer(z: np.ndarray, phi: np.ndarray) -> TagsResponse:
            found = index.suggest_tags(z, phi, k, method, skip, exclude)
            tags = [TagScore(tag=t, score=round(s, 4), source=src) for t, s, src in found]
            return TagsResponse(method=method, tags=tags)

        return await self._answer_clip(index, clip, answer)

    async def similar_to_clip(self, index: SearchIndex, clip: Clip, k: int) -> SimilarResponse:
        def answer(z: np.ndarray, _: np.ndarray) -> SimilarResponse:
            hits = index.similar_to_clip(z, k)
            return SimilarResponse(index_version=index.version, results=scored(index, hits))

        return await self._answer_clip(index, clip, answer)

    async def similar_to_sound(self, index: SearchIndex, sound_id: int, k: int) -> SimilarResponse:
        def answer() -> SimilarResponse:
            try:
                hits = index.similar_to_sound(sound_id, k)
            except SoundNotIndexed as err:
                raise ApiError(404, "not_indexed", f"{err}; it is added by the next reindex") from None
            return SimilarResponse(index_version=index.version, results=scored(index, hits))

        return await self._run(index, answer)

    async def classify(self, index: SearchIndex, clip: Clip, names: list[str]) -> ClassifyResponse:
        """Zero-shot probabilities of the clip over the caller's labels; 422 when none has a known word."""
        labels = index.labels(names)  # the tokenizer only: no model
        if not labels.names:
            raise ApiError(422, "unknown_labels", f"no word of any label has a vector: {', '.join(names)}")

        def answer(_: np.ndarray, phi_a: np.ndarray) -> ClassifyResponse:
            p = index.classify(phi_a, labels)
            return ClassifyResponse(labels=label_scores(labels, p), unscored=labels.unscored)

        return await self._answer_clip(index, clip, answer)
