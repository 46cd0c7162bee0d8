"""One JSON shape for every error: {"error": {"code": "...", "message": "..."}}, never a traceback,
and every status code a route can answer listed in the OpenAPI schema with that shape."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, Field
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


class ErrorDetail(BaseModel):
    code: str = Field(description="Short and stable, for programs.", examples=["not_audio"])
    message: str = Field(description="What went wrong, for people.", examples=["not an audio file"])


class ErrorBody(BaseModel):
    error: ErrorDetail


MEANING = {
    400: "The body cannot be parsed: broken multipart, or not JSON.",
    401: "A valid bearer token is required.",
    403: "The endpoint is disabled on this server.",
    404: "No such resource.",
    409: "The sound is in the catalogue already (the same audio).",
    413: "The body or the uploaded file is over the size limit.",
    415: "The upload is not audio, or in a format that cannot be decoded.",
    422: "A parameter or the upload is invalid; the message says which and why.",
    429: "Too many requests from this client; see Retry-After.",
    503: "No index is loaded yet; see Retry-After.",
}


def error_responses(*codes: int) -> dict[int | str, dict]:
    """`responses=` for a route: each status code with its meaning and the error body's schema."""
    return {code: {"model": ErrorBody, "description": MEANING[code]} for code in codes}


def document_errors(router: APIRouter, prefix: str, open_paths: tuple[str, ...]) -> None:
    """Add the codes every route may answer to its documented responses: 422 where it takes
    parameters, 400 and 413 where it takes a body, 401 and 429 outside `open_paths` (the token on
    reads and the rate limit are server settings). Call before the router is included."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        codes = set()
        if route.dependant.query_params or route.dependant.path_params or route.body_field:
            codes.add(422)
        if route.body_field:
            codes |= {400, 413}
        if prefix + route.path not in open_paths:
            codes |= {401, 429}
        route.responses = {**error_responses(*sorted(codes)), **route.responses}


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
        names = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        code = names.get(err.status_code, "http_error")
        return JSONResponse(error_body(code, str(err.detail)), err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("internal", "an unexpected error; it has been logged"), 500)
