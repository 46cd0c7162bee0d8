"""`audiotag serve`: the HTTP service under uvicorn, in one process or several."""

from __future__ import annotations

import os

import typer

from app.console import console, fail
from app.runtime import Runtime
from app.settings import Settings

WORKER_HEALTHCHECK_S = 60
MAX_DEFAULT_WORKERS = 4  # each process holds its own model and index in memory
# How long torch's OpenMP threads spin waiting for the next operator before they sleep (libgomp's
# GOMP_SPINCOUNT, read once when torch loads). Its default, 300,000, kept a server's encoder thread
# spinning about 10 ms after every upload, a core the other requests' decoding needed: a 10 s
# clip's /tags at 32 connections, 2 workers, 2-core Zen 4: 64-69 uploads/s against 124 at 3,000,
# which keeps the spin between one layer and the next (11.0 against 11.0-11.7 ms at 1 connection).
OPENMP_SPIN_COUNT = "3000"


def settings_env(settings: Settings) -> dict[str, str]:
    """AUDIOTAG_* variables that give worker processes the settings this command resolved (the
    command line's --data-dir and --database-url included)."""
    env = {"AUDIOTAG_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["AUDIOTAG_DATABASE_URL"] = settings.database_url
    return env


def serve_cmd(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Listen address (env AUDIOTAG_HOST, default 127.0.0.1)."),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (env AUDIOTAG_PORT, default 8000)."),
    workers: int | None = typer.Option(
        None,
        min=1,
        max=64,
        help="Server processes (env AUDIOTAG_SERVE_WORKERS; default one per core, at most 4).",
    ),
) -> None:
    """Serve the API (/api/v1, docs at /api/v1/docs) with the published index."""
    rt: Runtime = ctx.obj
    serve(rt.settings, host, port, workers)


def default_workers() -> int:
    """One server process per CPU core this process may use, at most `MAX_DEFAULT_WORKERS`."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


def serve(
    settings: Settings, host: str | None = None, port: int | None = None, workers: int | None = None
) -> None:
    """Run the service until interrupted; unset arguments come from the settings."""
    os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN_COUNT)  # before torch loads (worker processes too)
    import uvicorn

    from app.api.main import create_app
    from app.processes import PortInUseError, run_processes

    s = settings
    host, port, workers = host or s.host, port or s.port, workers or s.serve_workers or default_workers()
    console.print(f"audiotag is at http://{host}:{port}/ (API docs: http://{host}:{port}/api/v1/docs)")
    if workers == 1:
        uvicorn.run(create_app(s), host=host, port=port, log_level="info", access_log=s.access_log)
        return
    # Each process builds its own app (index, batcher, swap watcher) from the environment. Loading
    # the model takes seconds on a busy machine: uvicorn's 5 s default would kill starting workers.
    # Each process listens on its own socket (app/processes.py).
    os.environ.update(settings_env(s))
    config = uvicorn.Config(
        "app.api.main:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=s.access_log,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )
    try:
        run_processes(config)
    except PortInUseError as err:
        fail(str(err))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
