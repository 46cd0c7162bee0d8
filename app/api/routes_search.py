"""Text → audio search and vocabulary autocomplete."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from app.api.deps import scored, served_index, state
from app.api.errors import ApiError
from app.api.schemas import QueryWords, SearchResponse
from index.search import Filters
from model.bundle import UnknownTagsError

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Find sounds by free-text tags",
    description="The query is split into words and normalised like tags (lower case, singular, "
    "stop-words dropped); words the model has no vector for are reported in `query.unknown` and left "
    "out. Filters apply before paging, so every page is full while matches remain.",
)
async def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=500, examples=["dog barking"]),
    k: int = Query(10, ge=1, le=100),
    page: int = Query(1, ge=1, le=1000),
    license: str | None = Query(None, max_length=100, description="Part of the licence: cc0, by-sa, gpl."),
    min_duration: float | None = Query(None, ge=0, le=86400),
    max_duration: float | None = Query(None, ge=0, le=86400),
    tag: str | None = Query(None, max_length=100, description="Only sounds with this tag."),
) -> SearchResponse:
    index = served_index(request)
    filters = Filters(license, min_duration, max_duration, tag)
    try:
        hits, used = await run_in_threadpool(index.search_by_tags, [q], k, (page - 1) * k, filters)
    except UnknownTagsError as err:
        raise ApiError(422, "unknown_tags", str(err)) from None
    results = await run_in_threadpool(scored, state(request), hits)
    return SearchResponse(
        query=QueryWords(words=used.words, unknown=used.unknown), page=page, k=k,
        index_version=index.version, results=results,
    )  # fmt: skip


@router.get("/tags", response_model=list[str], summary="Vocabulary tags starting with a prefix")
async def autocomplete(
    request: Request,
    prefix: str = Query("", max_length=100),
    limit: int = Query(20, ge=1, le=200),
) -> list[str]:
    words = served_index(request).tag_words  # most frequent first
    p = prefix.strip().lower()
    return [w for w in words if w.startswith(p)][:limit]
