"""`audiotag train`: learn the co-aligned encoders from the catalogue and write a model bundle."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from app.console import console, fail
from app.runtime import Runtime
from model.config import DEFAULT_VARIANT, VARIANTS
from trainer.bundle_writer import write_training_bundle
from trainer.config import TrainConfig
from trainer.data import DataError, load_training_data
from trainer.loop import train


def train_cmd(
    ctx: typer.Context,
    variant: str = typer.Option(DEFAULT_VARIANT, help=f"One of: {', '.join(VARIANTS)}."),
    epochs: int = typer.Option(TrainConfig.epochs, min=1, help="Passes over the training clips."),
    batch_size: int = typer.Option(TrainConfig.batch_size, min=2),
    lr: float = typer.Option(TrainConfig.lr, min=0.0),
    optimizer: str = typer.Option(TrainConfig.optimizer, help="sgd (the paper), adam or adamw."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    seed: int = typer.Option(TrainConfig.seed),
    word_vectors: str = typer.Option(
        TrainConfig.word_vectors, help="word2vec or fasttext (trained here), or a file of saved vectors."
    ),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile the networks."),
    resume: bool = typer.Option(False, "--resume", help="Continue the last run of this variant."),
    out: Path | None = typer.Option(None, help="Where bundles go (default: DATA_DIR/bundles)."),
) -> None:
    """Train the audio and tag encoders on the catalogue and write a model bundle."""
    rt: Runtime = ctx.obj
    if variant not in VARIANTS:
        fail(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if device not in ("auto", "cpu", "cuda"):
        fail(f"unknown device {device!r}: choose auto, cpu or cuda")
    cfg = TrainConfig(
        variant=variant,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        device=device if device != "auto" else rt.settings.device,
        seed=seed,
        word_vectors=word_vectors,
        compile=compile,
    )
    try:
        data = load_training_data(
            rt.catalogue,
            rt.feature_cache,
            vocab_size=cfg.vocab_size,
            max_tags=cfg.max_tags,
            val_fraction=cfg.val_fraction,
            split_seed=cfg.split_seed,
        )
        console.print(
            f"training {variant} on {len(data.train)} clips, validating on {len(data.val)}, "
            f"{len(data.vocabulary)} tags"
        )
        result = train(data, cfg, rt.settings.data_dir / "runs" / variant, resume=resume)
        path = write_training_bundle(
            out or rt.settings.bundles_dir, data, cfg, result, rt.feature_cache.config
        )
    except (DataError, ValueError) as err:
        fail(str(err))
    _print_result(path, result)


def _print_result(path: Path, result) -> None:
    table = Table(title="training", show_header=False)
    last = result.history[-1] if result.history else {"train": {}, "val": {}}
    for term in ("recon_loss", "contrastive_loss"):
        first = result.history[0]["train"][term] if result.history else float("nan")
        table.add_row(f"train {term}", f"{first:.4f} → {last['train'].get(term, float('nan')):.4f}")
    val = last.get("val") or {}
    if val:
        for k in (1, 5, 10):
            table.add_row(
                f"val text→audio recall@{k}",
                f"{val[f'recall@{k}']:.3f} (chance {val[f'chance_recall@{k}']:.3f})",
            )
    table.add_row("throughput", f"{result.samples_per_s:.0f} samples/s")
    console.print(table)
    console.print(f"bundle: {path}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
