"""Typed request dependencies (the service, the served index) and sound rows as response bodies.

Routes declare `service: ServiceDep` or `index: IndexDep`; tests swap them with FastAPI's
`app.dependency_overrides[get_service]`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.errors import ApiError
from app.api.schemas import HowMatched, ScoredSound, SearchResult, Sound
from app.api.state import NotReady, Service
from index.catalogue.models import Sound as SoundRow
from index.catalogue.queries import SoundMeta, sounds_with_tags
from index.hybrid import Match
from index.search import Hit, SearchIndex

API = "/api/v1"


async def get_service(request: Request) -> Service:
    """The running service. Dependencies that never block are `async`: FastAPI runs a plain `def`
    dependency in its thread pool, a hop that costs more than the lookup under load."""
    return request.app.state.audiotag


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_index(service: ServiceDep) -> SearchIndex:
    """The served index; 503 (with Retry-After) until one is published and loads."""
    try:
        return await service.served_index()
    except NotReady as err:
        raise ApiError(503, "not_ready", str(err), headers={"Retry-After": "10"}) from None


IndexDep = Annotated[SearchIndex, Depends(get_index)]


def sound_body(row: SoundRow | SoundMeta) -> dict:
    return Sound(
        id=row.id, name=row.name, tags=row.tag_names, license=row.license, username=row.username,
        duration=row.duration, description=row.description, audio_url=f"{API}/sounds/{row.id}/audio",
    ).model_dump()  # fmt: skip


def scored(index: SearchIndex, hits: list[Hit]) -> list[ScoredSound]:
    """Hits with their metadata (held by the index: no SQL), in rank order."""
    rows = index.metadata()
    return [
        ScoredSound(**sound_body(rows[h.sound_id]), score=round(h.score, 4))
        for h in hits
        if h.sound_id in rows
    ]


def matched(index: SearchIndex, matches: list[Match]) -> list[SearchResult]:
    """Search matches with their metadata and how each matched, in rank order."""
    rows = index.metadata()
    return [
        SearchResult(
            **sound_body(rows[m.sound_id]),
            score=round(m.score, 6),
            match=HowMatched(words=list(m.words), text=round(m.text_share, 3), sound=round(m.sound_share, 3)),
        )
        for m in matches
        if m.sound_id in rows
    ]


def live_sound(service: Service, sound_id: int) -> SoundRow:
    row = sounds_with_tags(service.catalogue, [sound_id]).get(sound_id)
    if row is None or row.deleted_at is not None:
        raise ApiError(404, "not_found", f"no sound with id {sound_id}")
    return row
