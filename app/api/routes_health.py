"""Liveness and readiness."""

from __future__ import annotations

import os
import socket

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import ServiceDep
from app.api.state import NotReady

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Ready(BaseModel):
    ready: bool
    reason: str | None = Field(None, description="Why not ready (503 only).")
    index_version: str | None = None
    model_version: str | None = None
    sounds: int | None = None
    tags: int | None = None
    device: str | None = None
    problem: str | None = Field(None, description="A newer published index that failed to load.")
    worker: int | None = Field(None, description="The id (pid) of the server process that answered.")
    host: str | None = Field(None, description="The host (container) of that process: one per replica.")


@router.get("/health", response_model=Health, summary="The process is up")
async def health() -> Health:  # async: nothing blocks, so no hop to the thread pool
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Ready,
    response_model_exclude_none=True,
    responses={503: {"model": Ready, "description": "Not ready; `reason` says why. See Retry-After."}},
    summary="Model and index loaded (503 until then)",
)
async def ready(service: ServiceDep) -> Ready | JSONResponse:
    try:
        index = await service.served_index()
    except NotReady as err:
        body = Ready(ready=False, reason=str(err)).model_dump(exclude_none=True)
        return JSONResponse(body, 503, headers={"Retry-After": "10"})
    return Ready(
        ready=True, index_version=index.version, model_version=index.bundle.version, sounds=index.size,
        tags=len(index.tag_words), device=str(index.bundle.device), problem=service.problem or None,
        worker=os.getpid(), host=socket.gethostname(),
    )  # fmt: skip
