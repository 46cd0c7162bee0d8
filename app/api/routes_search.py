"""Text → audio search and vocabulary autocomplete.

Both are `async`. A search is one call of the engine (app/api/engine.py), which runs the tag
encoder, the text index and FAISS on its inference thread; autocomplete only reads the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import IndexDep, TopK, get_index, get_service
from app.api.engine import Engine
from app.api.errors import error_responses
from app.api.query import query_parameters, read_query
from app.api.results import as_json
from app.api.schemas import SearchResponse
from index.hybrid import DEFAULT_MODE, MODES
from index.search import Filters, SearchIndex

router = APIRouter(tags=["search"])


class SearchQuery(BaseModel):
    """GET /search's query string, read as one model (app/api/query.py)."""

    q: str = Field(min_length=1, max_length=500, examples=["dog barking"])
    k: TopK = 10
    page: int = Field(1, ge=1, le=1000)
    license: str | None = Field(None, max_length=100, description="Part of the licence: cc0, by-sa, gpl.")
    min_duration: float | None = Field(None, ge=0, le=86400)
    max_duration: float | None = Field(None, ge=0, le=86400)
    tag: str | None = Field(
        None,
        max_length=100,
        description="Only sounds whose tags hold this tag's words, normalised as the query is "
        "(`Dogs` finds sounds tagged `dog`).",
    )
    mode: Literal[MODES] = Field(DEFAULT_MODE, description="hybrid (words and sound), text or sound.")


@dataclass(frozen=True)
class SearchCall:
    """What GET /search needs: the engine, the served index and the query string."""

    engine: Engine
    index: SearchIndex
    ask: SearchQuery


async def read_search(request: Request) -> SearchCall:
    """GET /search's parts in one dependency (`get_service`, `get_index`, `read_query` called in
    turn): FastAPI solving them as three dependencies cost the event loop about 0.1 ms a search."""
    service = await get_service(request)
    return SearchCall(service.engine, await get_index(service), read_query(SearchQuery, request))


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(422, 503),
    openapi_extra={"parameters": query_parameters(SearchQuery)},
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
async def search(call: Annotated[SearchCall, Depends(read_search)]) -> Response:
    ask = call.ask
    filters = Filters(ask.license, ask.min_duration, ask.max_duration, ask.tag)
    return as_json(await call.engine.search(call.index, ask.q, ask.k, ask.page, filters, ask.mode))


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
