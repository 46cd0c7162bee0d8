"""`audiotag demo`: the whole pipeline on the built-in corpus, one step after another.

Each step is the plain function behind its own command (never the typer command itself, whose
defaults are option objects: passing one of those on once broke every fresh demo)."""

from __future__ import annotations

import typer

from app.cli_corpus import build_corpus
from app.cli_data import print_stats
from app.cli_index import build_index, update_index
from app.cli_serve import serve
from app.console import console
from app.runtime import Runtime
from index import versions
from model.bundles import SHIPPED, bundle_version, default_bundle
from trainer.config import TrainConfig


def demo_cmd(
    ctx: typer.Context,
    epochs: int = typer.Option(TrainConfig.epochs, min=1, help="Epochs, when training (--retrain)."),
    retrain: bool = typer.Option(
        False, "--retrain", help="Train a model on the demo corpus instead of using the shipped one."
    ),
    serve_too: bool = typer.Option(True, "--serve/--no-serve", help="Start the service at the end."),
) -> None:
    """Build the built-in corpus, ingest it, index it with the shipped model (or train one) and serve it.

    Every step is idempotent: a second run reuses what the first one built.
    """
    run_demo(ctx.obj, epochs, retrain, serve_too)


def run_demo(
    rt: Runtime, epochs: int = TrainConfig.epochs, retrain: bool = False, serve_too: bool = True
) -> None:
    """The demo's five steps, each skipped where its result is already there."""
    console.rule("1/5  built-in corpus")
    build_corpus(rt, preset="demo")
    console.rule("2/5  catalogue")
    print_stats(rt)
    console.rule("3/5  model")
    bundle = default_bundle(rt.settings.bundles_dir)
    if retrain or bundle is None:
        _train(rt, epochs)
    elif bundle == SHIPPED:
        console.print(f"the model shipped with audiotag: {bundle_version(bundle)} (--retrain to train one)")
    else:
        console.print(f"model bundle already trained: {bundle} (--retrain to train again)")
    console.rule("4/5  index")
    _index(rt)
    if serve_too:
        console.rule("5/5  service")
        serve(rt.settings)


def _train(rt: Runtime, epochs: int) -> None:
    from dataclasses import replace

    from app.cli_train import run_training
    from trainer.config import RECIPES

    run_training(rt, replace(RECIPES["default"], epochs=epochs, device=rt.settings.device))


def _index(rt: Runtime) -> None:
    """Build and publish an index with the newest model unless the served one is up to date."""
    bundle = default_bundle(rt.settings.bundles_dir)
    try:
        served = versions.read_manifest(versions.current_dir(rt.settings.indices_dir))
    except versions.IndexVersionError:
        served = {}
    if served.get("bundle_version") == bundle_version(bundle):
        update_index(rt)
    else:
        build_index(rt)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
