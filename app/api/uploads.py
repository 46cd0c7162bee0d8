"""Uploaded audio: a size cap enforced while the body streams in, then decode with the input limits."""

from __future__ import annotations

import numpy as np
from fastapi import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import ApiError, audio_error, error_body
from model.audio import AudioError, AudioLimits, decode

CHUNK = 1 << 20


class BodyLimit:
    """ASGI middleware: 413 as soon as a request body passes `max_bytes` (by header or while streaming)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    import json

    body = json.dumps(
        error_body("too_large", f"the request body is over the limit of {limit} bytes")
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def read_upload(file: UploadFile | None, max_bytes: int) -> bytes:
    """The uploaded file's bytes (a blocking read: call it from a worker thread); 422 when absent or
    empty, 413 over the cap."""
    if file is None:
        raise ApiError(422, "missing_file", "no file: send the audio as multipart form field 'file'")
    parts, total = [], 0
    while chunk := file.file.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise ApiError(413, "too_large", f"the file is over the limit of {max_bytes} bytes")
        parts.append(chunk)
    if total == 0:
        raise ApiError(422, "empty", "the file is empty (0 bytes)")
    return b"".join(parts)


def decode_upload(data: bytes, limits: AudioLimits) -> tuple[np.ndarray, int]:
    """Mono waveform and its sample rate; the AudioError reasons become 413/415/422."""
    try:
        mono, info = decode(data, limits)
    except AudioError as err:
        raise audio_error(err) from None
    return mono, info.sample_rate
