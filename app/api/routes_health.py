"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import state
from app.api.state import NotReady

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is up")
async def health() -> dict:
    return {"status": "ok"}


@router.get("/ready", summary="Model and index loaded (503 until then)")
async def ready(request: Request) -> JSONResponse:
    st = state(request)
    try:
        index = st.index
    except NotReady as err:
        return JSONResponse({"ready": False, "reason": str(err)}, 503, headers={"Retry-After": "10"})
    return JSONResponse({
        "ready": True, "index_version": index.version, "model_version": index.bundle.version,
        "sounds": index.size, "tags": len(index.tag_words), "device": str(index.bundle.device),
        "problem": st.problem or None,  # a newer published version that failed to load
    })  # fmt: skip
