"""`audiotag demo`: the whole pipeline on the built-in corpus, one step after another."""

from __future__ import annotations

import typer

from app import cli_corpus, cli_data
from app.console import console


def demo_cmd(ctx: typer.Context) -> None:
    """Build the built-in demo corpus from Debian packages, ingest it, and summarise the catalogue.

    Every step is idempotent: a second run reuses what the first one built.
    """
    console.rule("1/2  built-in corpus")
    ctx.invoke(cli_corpus.build_cmd, ctx, preset="demo", packages=None, ingest_too=True, keep_debs=False)
    console.rule("2/2  catalogue")
    ctx.invoke(cli_data.stats_cmd, ctx)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
