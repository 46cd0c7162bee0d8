"""Request-scoped helpers: the service state, the served index, sound rows as response bodies."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api.errors import ApiError
from app.api.schemas import ScoredSound, Sound
from app.api.state import NotReady, ServiceState
from index.catalogue.models import Sound as SoundRow
from index.search import Hit, SearchIndex

API = "/api/v1"


def state(request: Request) -> ServiceState:
    return request.app.state.audiotag


def served_index(request: Request) -> SearchIndex:
    try:
        return state(request).index
    except NotReady as err:
        raise ApiError(503, "not_ready", str(err), headers={"Retry-After": "10"}) from None


def sound_body(row: SoundRow) -> dict:
    return Sound(
        id=row.id, name=row.name, tags=row.tag_names, license=row.license, username=row.username,
        duration=row.duration, description=row.description, audio_url=f"{API}/sounds/{row.id}/audio",
    ).model_dump()  # fmt: skip


def scored(st: ServiceState, hits: list[Hit]) -> list[ScoredSound]:
    """Hits with their catalogue metadata, in rank order."""
    with st.catalogue.session() as s:
        rows = s.scalars(
            select(SoundRow)
            .where(SoundRow.id.in_([h.sound_id for h in hits]))
            .options(selectinload(SoundRow.tags))
        ).all()
        by_id = {r.id: sound_body(r) for r in rows}
    return [ScoredSound(**by_id[h.sound_id], score=round(h.score, 4)) for h in hits if h.sound_id in by_id]


def live_sound(st: ServiceState, sound_id: int) -> SoundRow:
    with st.catalogue.session() as s:
        row = s.scalars(
            select(SoundRow).where(SoundRow.id == sound_id).options(selectinload(SoundRow.tags))
        ).first()
        if row is None or row.deleted_at is not None:
            raise ApiError(404, "not_found", f"no sound with id {sound_id}")
        s.expunge(row)
        return row
