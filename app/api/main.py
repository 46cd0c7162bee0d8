"""The FastAPI application: routes under /api/v1, the served index loaded in lifespan and kept fresh."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import faiss
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from app.api import (
    errors,
    observe,
    routes_audio,
    routes_health,
    routes_jobs,
    routes_search,
    routes_sounds,
    routes_uploads,
    routes_verdicts,
)
from app.api.collector import Collector
from app.api.results import API
from app.api.state import Service, log
from app.api.uploads import BodyLimit
from app.runtime import Runtime
from app.settings import Settings
from model.memory import keep_request_memory

REFRESH_S = 2.0
SWITCH_INTERVAL_S = 0.0005
STATIC = Path(__file__).parent / "static"


def serving_policy() -> None:
    """The threads and memory of a process that answers requests (the server; bench/serve.py's
    floors, so that they run the work as the server does)."""
    # one query at a time needs no OpenMP team: idle FAISS threads spin and slow torch (9 → 3 ms a search)
    faiss.omp_set_num_threads(1)
    # nor does one clip's log-mel need OpenBLAS threads, whose spinning slowed the encoder running
    # beside it on the inference thread (a 10 s clip's /tags: 15.9 → 12 ms at one connection; its
    # decode + log-mel + encoder alone 17–19 against 32–39 ms on a Zen 3)
    threadpool_limits(1, user_api="blas")
    keep_request_memory()  # a request's buffers stay in the heap for the next one
    # a search crosses threads (event loop → inference thread → loop): with a thread that holds
    # the GIL for long (an index loading for a swap) each crossing waited up to the 5 ms default
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def create_app(settings: Settings | None = None) -> FastAPI:
    rt = Runtime(settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving_policy()
        service = Service(rt, app.state.metrics)
        app.state.audiotag = service
        await run_in_threadpool(service.jobs.reap_stale)
        collector = Collector()
        with collector.paused():
            await run_in_threadpool(service.refresh)
            await run_in_threadpool(service.refresh_metadata)  # read now, not by the first search
        collector.settle(everything=True)  # what loaded stays out of every later collection
        watcher = asyncio.create_task(_watch(service, collector))
        try:
            yield
        finally:
            watcher.cancel()
            service.engine.stop()
            service.worker.shutdown(wait=False, cancel_futures=True)
            collector.release()  # a process that goes on (tests, an embedding app) collects it all again

    app = FastAPI(
        title="audiotag",
        summary="Find sounds by their tags and tag sounds by how they sound.",
        version="0.1",
        lifespan=lifespan,
        docs_url=f"{API}/docs",
        openapi_url=f"{API}/openapi.json",
    )
    errors.install(app)
    s = rt.settings
    app.state.metrics = observe.install(
        app, s.rate_limit_per_minute, s.api_token if s.require_token_for_reads else None
    )
    routers = (
        routes_health, routes_search, routes_audio, routes_sounds,
        routes_verdicts, routes_uploads, routes_jobs,
    )  # fmt: skip
    for module in routers:
        errors.document_errors(module.router, API, observe.OPEN_PATHS)
        app.include_router(module.router, prefix=API)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.add_middleware(BodyLimit, max_bytes=rt.settings.upload_max_bytes + 64 * 1024)  # + multipart framing
    return app


async def _watch(service: Service, collector: Collector) -> None:
    """Swap in a newly published index version within REFRESH_S seconds, without a restart, and read
    the catalogue's metadata again before searches would have to; then freeze what survived
    (app/api/collector.py). A failed load is logged, counted in /metrics and shown by /ready
    (Service.refresh); the loop goes on."""
    while True:
        await asyncio.sleep(REFRESH_S)
        try:
            with collector.paused():
                swapped = await run_in_threadpool(service.refresh)
                await run_in_threadpool(service.refresh_metadata)
            collector.settle(everything=swapped)
        except Exception:  # e.g. the catalogue briefly unreachable while reading `current`
            log.exception("index refresh failed")
