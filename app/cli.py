"""The `audiotag` command: one sub-command per pipeline step."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from app import cli_corpus, cli_data, cli_demo, cli_eval, cli_index, cli_serve, cli_train, cli_worker
from app.console import fail
from app.crash import policy, report_crash
from app.runtime import Runtime
from app.settings import Settings
from model.memory import keep_freed_memory

# Long-lived commands, whose memory must go back to the system after a large request. Every other
# command is batch work (training, indexing, evaluation, jobs) and keeps the memory it frees.
LONG_LIVED = {"serve"}

app = typer.Typer(
    name="audiotag",
    help="Find sounds by their tags and tag sounds by how they sound.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_corpus.app, name="corpus")
cli_data.register(app)
cli_train.register(app)
cli_eval.register(app)
cli_index.register(app)
cli_serve.register(app)
cli_worker.register(app)
cli_demo.register(app)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(None, help="Data directory (env AUDIOTAG_DATA_DIR)."),
    database_url: str | None = typer.Option(None, help="Catalogue database URL (env AUDIOTAG_DATABASE_URL)."),
    workers: int | None = typer.Option(None, min=1, help="Decoding processes (env AUDIOTAG_WORKERS)."),
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of an unexpected failure (env AUDIOTAG_DEBUG)."
    ),
) -> None:
    policy.command = command_name(ctx)
    overrides = {"data_dir": data_dir, "database_url": database_url, "workers": workers}
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as err:
        fail(f"invalid settings: {err}")
    policy.log_dir, policy.debug = settings.data_dir / "logs", debug or settings.debug
    if ctx.invoked_subcommand not in LONG_LIVED:
        keep_freed_memory()
    ctx.obj = Runtime(settings)


def command_name(ctx: typer.Context) -> str:
    """The sub-command being run, with its own sub-command for groups ("index build")."""
    name = ctx.invoked_subcommand or ""
    sub = ctx.command.get_command(ctx, name) if name else None
    argv = sys.argv[1:]
    if not hasattr(sub, "get_command") or name not in argv:  # a command, not a group of them
        return name
    following = [a for a in argv[argv.index(name) + 1 :] if not a.startswith("-")][:1]
    return " ".join([name, *following])


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # a failure no command foresaw: one line, the traceback in a log
        if policy.debug:
            raise
        sys.exit(report_crash(err))
