"""`audiotag serve`: the HTTP service under uvicorn."""

from __future__ import annotations

import typer

from app.console import console
from app.runtime import Runtime


def serve_cmd(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Listen address (env AUDIOTAG_HOST, default 127.0.0.1)."),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (env AUDIOTAG_PORT, default 8000)."),
) -> None:
    """Serve the API (/api/v1, docs at /api/v1/docs) with the published index."""
    import uvicorn

    from app.api.main import create_app

    rt: Runtime = ctx.obj
    host, port = host or rt.settings.host, port or rt.settings.port
    console.print(f"audiotag is at http://{host}:{port}/ (API docs: http://{host}:{port}/api/v1/docs)")
    uvicorn.run(create_app(rt.settings), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
