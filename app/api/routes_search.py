"""Text → audio search and vocabulary autocomplete.

Both are `async`: they compute in memory (a cached query vector, one FAISS query on the calling
thread, metadata held by the index), so they run on the event loop. A route in FastAPI's thread pool
costs a thread hop, and under load the pool's threads and the loop take turns on the GIL: at 32
connections that made /search's p99 ten times its median.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from app.api.deps import IndexDep, ServiceDep, matched
from app.api.errors import ApiError, error_responses
from app.api.schemas import QueryWords, SearchResponse
from index.hybrid import DEFAULT_MODE, MODES
from index.search import Filters, NoQueryWordsError
from model.bundle import UnknownTagsError

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(422, 503),
    summary="Find sounds by free text: their words, their sound, or both",
    description="The query is split into words and normalised like tags (lower case, singular, "
    "stop-words dropped; 422 when nothing is left). `mode=text` ranks sounds whose name, tags or "
    "description hold the words, by BM25. `mode=sound` ranks every sound by how it sounds: the "
    "words' embedding, taken in the catalogue's tag contexts and searched together with an audio "
    "example (the mean sound of the catalogue tag sets it matches best), so untagged sounds are "
    "found too; words the model has no vector for are reported in `query.unknown` and left out "
    "(422 when none is left). `mode=hybrid` (the default) fuses the two rankings (reciprocal-rank "
    "fusion): sounds whose words match come first, their sound deciding between them, and sounds "
    "with no words are still found by their sound; it answers 422 only when neither part can read "
    "the query. Each result says how it matched: the query words it holds and the shares of its "
    "score from its words and from its sound. Filters apply before paging, so every page is full "
    "while matches remain.",
)
async def search(
    service: ServiceDep,
    index: IndexDep,
    q: str = Query(..., min_length=1, max_length=500, examples=["dog barking"]),
    k: int = Query(10, ge=1, le=100),
    page: int = Query(1, ge=1, le=1000),
    license: str | None = Query(None, max_length=100, description="Part of the licence: cc0, by-sa, gpl."),
    min_duration: float | None = Query(None, ge=0, le=86400),
    max_duration: float | None = Query(None, ge=0, le=86400),
    tag: str | None = Query(
        None,
        max_length=100,
        description="Only sounds whose tags hold this tag's words, normalised as the query is "
        "(`Dogs` finds sounds tagged `dog`).",
    ),
    mode: Literal[MODES] = Query(DEFAULT_MODE, description="hybrid (words and sound), text or sound."),
) -> SearchResponse:
    filters = Filters(license, min_duration, max_duration, tag)
    if index.metadata_stale():  # the catalogue changed: read it in the pool, not on the event loop
        await run_in_threadpool(index.metadata)
    try:
        matches, used = index.search(q, k, (page - 1) * k, filters, mode)
    except NoQueryWordsError as err:
        raise ApiError(422, "no_words", str(err)) from None
    except UnknownTagsError as err:
        raise ApiError(422, "unknown_tags", str(err)) from None
    return SearchResponse(
        query=QueryWords(words=used.words, unknown=used.unknown), mode=mode, page=page, k=k,
        index_version=index.version, results=matched(index, matches),
    )  # fmt: skip


@router.get(
    "/tags",
    response_model=list[str],
    responses=error_responses(503),
    summary="Vocabulary tags starting with a prefix",
)
async def autocomplete(
    index: IndexDep,
    prefix: str = Query("", max_length=100),
    limit: int = Query(20, ge=1, le=200),
) -> list[str]:
    p = prefix.strip().lower()
    return [w for w in index.tag_words if w.startswith(p)][:limit]  # most frequent first
