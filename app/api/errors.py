"""One JSON shape for every error: {"error": {"code": "...", "message": "..."}}, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from model.audio import AudioError

log = logging.getLogger("audiotag.api")

# AudioError code → HTTP status: too big is 413, not audio at all 415, unusable audio 422
AUDIO_STATUS = {"too_large": 413, "not_audio": 415, "unsupported": 415}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def audio_error(err: AudioError) -> ApiError:
    return ApiError(AUDIO_STATUS.get(err.code, 422), err.code, str(err))


def _validation_message(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else e.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(error_body(err.code, err.message), err.status, headers=err.headers)

    @app.exception_handler(AudioError)
    async def _audio(_: Request, err: AudioError) -> JSONResponse:
        api = audio_error(err)
        return JSONResponse(error_body(api.code, api.message), api.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_request", _validation_message(err)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return JSONResponse(error_body(code, str(err.detail)), err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("internal", "an unexpected error; it has been logged"), 500)
