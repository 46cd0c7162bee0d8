"""Catalogue sounds: metadata, audio (streamed from the catalogue's path, never the client's, with
HTTP Range so players can seek), spectrogram thumbnails, similar sounds."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from app.api.deps import IndexDep, ServiceDep, SoundDep, TopK, sound_logmel
from app.api.errors import ApiError, error_responses
from app.api.pictures import spectrogram_png
from app.api.results import as_json, sound_body, verdict_bodies
from app.api.schemas import SimilarResponse, SoundDetail
from model.features import FeatureConfig
from model.files import write_atomic

router = APIRouter(tags=["sounds"])
MEDIA = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg", "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
}  # fmt: skip
AUDIO_TYPES = sorted({*MEDIA.values(), "application/octet-stream"})
AUDIO_CONTENT = {m: {} for m in AUDIO_TYPES}
AUDIO_BODY = {
    200: {"description": "The file as stored.", "content": AUDIO_CONTENT},
    206: {"description": "The byte range asked for (`Range: bytes=…`).", "content": AUDIO_CONTENT},
    416: {"description": "The range is outside the file."},
}
PNG_BODY = {
    200: {"description": "A PNG spectrogram.", "content": {"image/png": {}}},
    304: {"description": "Not modified: the ETag sent in If-None-Match is the current one."},
}
SPECTROGRAM_MAX_AGE_S = 86400


@router.get(
    "/sounds/{sound_id}",
    response_model=SoundDetail,
    responses=error_responses(404),
    summary="A sound's metadata, with the verdicts people gave on its tags",
)
def sound(service: ServiceDep, row: SoundDep) -> SoundDetail:
    return SoundDetail(**sound_body(row), verdicts=verdict_bodies(service.catalogue, row.id))


@router.get(
    "/sounds/{sound_id}/audio",
    summary="A sound's audio file",
    description="The file as stored, with `Content-Type` from its format; `Accept-Ranges: bytes`, so a "
    "`Range` request answers 206 with that part (players seek without loading the whole file).",
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
    "/sounds/{sound_id}/spectrogram.png",
    summary="A sound's spectrogram thumbnail",
    description="Log-mel spectrogram, low frequencies at the bottom, at most 320 columns wide. Drawn "
    "from the audio on the first request and kept beside the feature cache, keyed by the file's "
    "content hash: the `ETag`, so a client that sends it back in `If-None-Match` gets 304.",
    response_class=Response,
    responses={**PNG_BODY, **error_responses(404)},
)
def spectrogram(service: ServiceDep, row: SoundDep, request: Request) -> Response:
    etag = f'"{row.content_hash[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={SPECTROGRAM_MAX_AGE_S}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    path = service.settings.cache_dir / "spectrograms" / f"{row.content_hash}.png"
    if not path.is_file():
        png = spectrogram_png(sound_logmel(service, row, FeatureConfig()))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: f.write(png))
    return Response(path.read_bytes(), media_type="image/png", headers=headers)


@router.get(
    "/sounds/{sound_id}/similar",
    response_model=SimilarResponse,
    responses=error_responses(404, 503),
    summary="Sounds like a catalogue sound",
)
async def similar(service: ServiceDep, index: IndexDep, row: SoundDep, k: TopK = 10) -> Response:
    return as_json(await service.engine.similar_to_sound(index, row.id, k))
