"""Catalogue sounds: metadata, audio (streamed from the catalogue's path, never the client's), similar."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import live_sound, scored, served_index, sound_body, state
from app.api.errors import ApiError
from app.api.schemas import SimilarResponse, Sound
from index.search import SoundNotIndexed

router = APIRouter(tags=["sounds"])
MEDIA = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
}  # fmt: skip
SOUND_ID = PathParam(..., ge=1, le=2**62)


@router.get("/sounds/{sound_id}", response_model=Sound, summary="A sound's metadata")
async def sound(request: Request, sound_id: int = SOUND_ID) -> dict:
    return sound_body(await run_in_threadpool(live_sound, state(request), sound_id))


@router.get("/sounds/{sound_id}/audio", summary="A sound's audio file", response_class=FileResponse)
async def audio(request: Request, sound_id: int = SOUND_ID) -> FileResponse:
    row = await run_in_threadpool(live_sound, state(request), sound_id)
    path = Path(row.file_path)
    if not path.is_file():
        raise ApiError(404, "audio_missing", f"the audio file of sound {sound_id} is no longer on disk")
    fmt = (row.file_format or "").lower()
    return FileResponse(path, media_type=MEDIA.get(fmt, "application/octet-stream"), filename=path.name)


@router.get(
    "/sounds/{sound_id}/similar", response_model=SimilarResponse, summary="Sounds like a catalogue sound"
)
async def similar(
    request: Request, sound_id: int = SOUND_ID, k: int = Query(10, ge=1, le=100)
) -> SimilarResponse:
    index = served_index(request)
    await run_in_threadpool(live_sound, state(request), sound_id)
    try:
        hits = await run_in_threadpool(index.similar_to_sound, sound_id, k)
    except SoundNotIndexed as err:
        raise ApiError(404, "not_indexed", f"{err}; it is added by the next reindex") from None
    return SimilarResponse(
        index_version=index.version, results=await run_in_threadpool(scored, state(request), hits)
    )
