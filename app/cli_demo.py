"""`audiotag demo`: the whole pipeline on the built-in corpus, one step after another."""

from __future__ import annotations

from dataclasses import replace

import typer

from app import cli_corpus, cli_data, cli_index, cli_serve
from app.cli_train import run_training
from app.console import console
from app.runtime import Runtime
from index import versions
from model.bundle import bundle_version
from model.shipped import SHIPPED, default_bundle
from trainer.config import RECIPES, TrainConfig


def demo_cmd(
    ctx: typer.Context,
    epochs: int = typer.Option(TrainConfig.epochs, min=1, help="Epochs, when training (--retrain)."),
    retrain: bool = typer.Option(
        False, "--retrain", help="Train a model on the demo corpus instead of using the shipped one."
    ),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the service at the end."),
) -> None:
    """Build the built-in corpus, ingest it, train the default model on it, index it and serve it.

    Every step is idempotent: a second run reuses what the first one built.
    """
    rt: Runtime = ctx.obj
    console.rule("1/5  built-in corpus")
    ctx.invoke(cli_corpus.build_cmd, ctx, preset="demo", packages=None, ingest_too=True, keep_debs=False)
    console.rule("2/5  catalogue")
    ctx.invoke(cli_data.stats_cmd, ctx)
    console.rule("3/5  model")
    bundle = default_bundle(rt.settings.bundles_dir)
    if retrain or bundle is None:
        run_training(rt, replace(RECIPES["default"], epochs=epochs, device=rt.settings.device))
    elif bundle == SHIPPED:
        console.print(f"the model shipped with audiotag: {bundle_version(bundle)} (--retrain to train one)")
    else:
        console.print(f"model bundle already trained: {bundle} (--retrain to train again)")
    console.rule("4/5  index")
    _index(ctx, rt)
    if serve:
        console.rule("5/5  service")
        cli_serve.serve(rt.settings)


def _index(ctx: typer.Context, rt: Runtime) -> None:
    """Build and publish an index with the newest model unless the served one is up to date."""
    bundle = default_bundle(rt.settings.bundles_dir)
    try:
        served = versions.read_manifest(versions.current_dir(rt.settings.indices_dir))
    except versions.IndexVersionError:
        served = {}
    if served.get("bundle_version") == bundle_version(bundle):
        ctx.invoke(cli_index.update_cmd, ctx, publish=True)
        return
    ctx.invoke(cli_index.build_cmd, ctx, bundle=None, factory=None, shard_size=None, publish=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
