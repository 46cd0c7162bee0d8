"""Catalogue sounds: metadata, audio (streamed from the catalogue's path, never the client's), similar."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from app.api.deps import IndexDep, ServiceDep, live_sound, scored, sound_body
from app.api.errors import ApiError, error_responses
from app.api.schemas import SimilarResponse, Sound
from index.search import SoundNotIndexed

router = APIRouter(tags=["sounds"])
MEDIA = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
}  # fmt: skip
SOUND_ID = PathParam(..., ge=1, le=2**62)
AUDIO_TYPES = sorted({*MEDIA.values(), "application/octet-stream"})
AUDIO_BODY = {200: {"description": "The file as stored.", "content": {m: {} for m in AUDIO_TYPES}}}


@router.get(
    "/sounds/{sound_id}", response_model=Sound, responses=error_responses(404), summary="A sound's metadata"
)
def sound(service: ServiceDep, sound_id: int = SOUND_ID) -> dict:
    return sound_body(live_sound(service, sound_id))


@router.get(
    "/sounds/{sound_id}/audio",
    summary="A sound's audio file",
    response_class=FileResponse,
    responses={**AUDIO_BODY, **error_responses(404)},
)
def audio(service: ServiceDep, sound_id: int = SOUND_ID) -> FileResponse:
    row = live_sound(service, sound_id)
    path = Path(row.file_path)
    if not path.is_file():
        raise ApiError(404, "audio_missing", f"the audio file of sound {sound_id} is no longer on disk")
    fmt = (row.file_format or "").lower()
    return FileResponse(path, media_type=MEDIA.get(fmt, "application/octet-stream"), filename=path.name)


@router.get(
    "/sounds/{sound_id}/similar",
    response_model=SimilarResponse,
    responses=error_responses(404, 503),
    summary="Sounds like a catalogue sound",
)
def similar(
    service: ServiceDep, index: IndexDep, sound_id: int = SOUND_ID, k: int = Query(10, ge=1, le=100)
) -> SimilarResponse:
    live_sound(service, sound_id)
    try:
        hits = index.similar_to_sound(sound_id, k)
    except SoundNotIndexed as err:
        raise ApiError(404, "not_indexed", f"{err}; it is added by the next reindex") from None
    return SimilarResponse(index_version=index.version, results=scored(index, hits))
