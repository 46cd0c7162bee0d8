"""Typed request dependencies: the service, the served index, an uploaded clip, a catalogue sound.

Routes declare `service: ServiceDep`, `index: IndexDep`, `clip: ClipDep` or `sound: SoundDep`;
tests swap them with FastAPI's `app.dependency_overrides[get_service]`. Every answer about an upload
(413 too large, 415 not audio, 422 missing, empty, too long) comes from `get_clip`, every 404 about a
catalogue sound from `get_sound`.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.api.engine import Clip
from app.api.errors import ApiError
from app.api.observe import token_matches
from app.api.state import NotReady, Service
from app.api.uploads import decode_upload, read_upload
from index.catalogue.models import Sound as SoundRow
from index.catalogue.queries import sounds_with_tags
from index.scoring import TAG_METHODS
from index.search import SearchIndex
from model.analysis import analyse_file
from model.features import FeatureConfig

bearer = HTTPBearer(auto_error=False)
AUDIO_FILE = File(None, description="Audio: WAV, FLAC, Ogg, Opus, MP3, AIFF.")
SOUND_ID = PathParam(..., ge=1, le=2**62)


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


async def get_clip(service: ServiceDep, index: IndexDep, file: UploadFile | None = AUDIO_FILE) -> Clip:
    """The uploaded clip read (size cap), decoded (input limits) and turned into the served model's
    log-mel, in the thread pool: decoding is not inference and runs beside it."""

    def read() -> Clip:
        wave, sr = decode_upload(read_upload(file, service.settings.upload_max_bytes), service.limits)
        return Clip(index.bundle.logmel(wave, sr))

    return await run_in_threadpool(read)


ClipDep = Annotated[Clip, Depends(get_clip)]


def get_sound(service: ServiceDep, sound_id: int = SOUND_ID) -> SoundRow:
    """The live catalogue sound of the path's id (SQL: a plain `def`, so in the pool); 404 otherwise."""
    row = sounds_with_tags(service.catalogue, [sound_id]).get(sound_id)
    if row is None or row.deleted_at is not None:
        raise ApiError(404, "not_found", f"no sound with id {sound_id}")
    return row


SoundDep = Annotated[SoundRow, Depends(get_sound)]


def require_token(service: ServiceDep, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """Writes need the server's token: 403 when the server has none, 401 without the right one."""
    token = service.settings.api_token
    if not token:
        raise ApiError(403, "disabled", "admin endpoints are disabled: set AUDIOTAG_API_TOKEN on the server")
    if creds is None or not token_matches(creds.credentials, token):
        raise ApiError(
            401, "unauthorized", "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
        )


def sound_logmel(service: Service, row: SoundRow, features: FeatureConfig) -> np.ndarray:
    """A catalogue sound's own file as a (n_mels, T) log-mel (a blocking read: call it in the pool);
    404 when the file is gone or no longer decodes: the catalogue's file, not the caller's."""
    analysis = analyse_file(row.file_path, service.rt.limits, features)
    if analysis.logmel is None:
        why = f"the audio of sound {row.id} cannot be read: {analysis.error}"
        raise ApiError(404, "audio_missing", why)
    return analysis.logmel


# Query parameters several routes share: declared once.
TopK = Annotated[int, Query(ge=1, le=100, description="Results to return.")]
TagMethod = Annotated[str, Query(pattern=f"^({'|'.join(TAG_METHODS)})$", description="How tags are scored.")]
