"""Catalogue sounds: metadata, audio (streamed from the catalogue's path, never the client's), similar."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from app.api.deps import IndexDep, ServiceDep, SoundDep
from app.api.errors import ApiError, error_responses
from app.api.results import sound_body
from app.api.schemas import SimilarResponse, Sound

router = APIRouter(tags=["sounds"])
MEDIA = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
}  # fmt: skip
AUDIO_TYPES = sorted({*MEDIA.values(), "application/octet-stream"})
AUDIO_BODY = {200: {"description": "The file as stored.", "content": {m: {} for m in AUDIO_TYPES}}}


@router.get(
    "/sounds/{sound_id}", response_model=Sound, responses=error_responses(404), summary="A sound's metadata"
)
def sound(row: SoundDep) -> dict:
    return sound_body(row)


@router.get(
    "/sounds/{sound_id}/audio",
    summary="A sound's audio file",
    response_class=FileResponse,
    responses={**AUDIO_BODY, **error_responses(404)},
)
def audio(row: SoundDep) -> FileResponse:
    path = Path(row.file_path)
    if not path.is_file():
        raise ApiError(404, "audio_missing", f"the audio file of sound {row.id} is no longer on disk")
    fmt = (row.file_format or "").lower()
    return FileResponse(path, media_type=MEDIA.get(fmt, "application/octet-stream"), filename=path.name)


@router.get(
    "/sounds/{sound_id}/similar",
    response_model=SimilarResponse,
    responses=error_responses(404, 503),
    summary="Sounds like a catalogue sound",
)
async def similar(
    service: ServiceDep, index: IndexDep, row: SoundDep, k: int = Query(10, ge=1, le=100)
) -> SimilarResponse:
    return await service.engine.similar_to_sound(index, row.id, k)
