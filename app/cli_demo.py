"""`audiotag demo`: the whole pipeline on the built-in corpus, one step after another."""

from __future__ import annotations

import typer

from app import cli_corpus, cli_data, cli_train
from app.console import console
from app.runtime import Runtime
from model.bundle import latest_bundle
from model.config import DEFAULT_VARIANT
from trainer.config import TrainConfig


def demo_cmd(
    ctx: typer.Context,
    epochs: int = typer.Option(TrainConfig.epochs, min=1, help="Training epochs of the demo model."),
    retrain: bool = typer.Option(False, "--retrain", help="Train again even if a bundle exists."),
) -> None:
    """Build the built-in corpus, ingest it, and train the default model on it.

    Every step is idempotent: a second run reuses what the first one built.
    """
    rt: Runtime = ctx.obj
    console.rule("1/3  built-in corpus")
    ctx.invoke(cli_corpus.build_cmd, ctx, preset="demo", packages=None, ingest_too=True, keep_debs=False)
    console.rule("2/3  catalogue")
    ctx.invoke(cli_data.stats_cmd, ctx)
    console.rule("3/3  model")
    bundle = latest_bundle(rt.settings.bundles_dir)
    if bundle and not retrain:
        console.print(f"model bundle already trained: {bundle} (--retrain to train again)")
        return
    ctx.invoke(
        cli_train.train_cmd,
        ctx,
        variant=DEFAULT_VARIANT,
        epochs=epochs,
        batch_size=TrainConfig.batch_size,
        lr=TrainConfig.lr,
        optimizer=TrainConfig.optimizer,
        device="auto",
        seed=TrainConfig.seed,
        word_vectors=TrainConfig.word_vectors,
        compile=False,
        resume=False,
        out=None,
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
