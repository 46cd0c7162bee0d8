"""`audiotag train`: learn the co-aligned encoders from the catalogue and write a model bundle."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from app.console import console, fail
from app.runtime import Runtime
from model.bundles import bundle_version
from model.config import DEFAULT_VARIANT, VARIANTS
from trainer.config import RECIPES, TrainConfig
from trainer.config import recipe as make_recipe

if TYPE_CHECKING:
    from trainer.data import Unlabelled
    from trainer.pretrain import PretrainConfig


def train_cmd(
    ctx: typer.Context,
    recipe: str = typer.Option("default", help=f"Base settings: {', '.join(RECIPES)}; flags override."),
    variant: str = typer.Option(DEFAULT_VARIANT, help=f"One of: {', '.join(VARIANTS)}."),
    epochs: int | None = typer.Option(None, min=1, help="Passes over the training clips."),
    batch_size: int | None = typer.Option(None, min=2),
    lr: float | None = typer.Option(None, min=0.0, help="Peak learning rate."),
    optimizer: str | None = typer.Option(None, help="sgd (the paper), adam or adamw."),
    momentum: float | None = typer.Option(None, min=0.0, help="SGD momentum."),
    weight_decay: float | None = typer.Option(None, min=0.0, help="AdamW weight decay."),
    warmup: float | None = typer.Option(None, min=0.0, max=1.0, help="Fraction of steps warming up."),
    schedule: str | None = typer.Option(None, help="cosine or constant."),
    encoder_dropout: float | None = typer.Option(None, min=0.0, max=0.9),
    audio_dropout: float | None = typer.Option(None, min=0.0, max=0.9, help="Projection and decoder."),
    crops: str | None = typer.Option(None, help="random (around the loudest part) or best (the paper)."),
    augment: bool | None = typer.Option(None, "--augment/--no-augment", help="Gain, time/freq masks."),
    mix: float | None = typer.Option(None, min=0.0, max=1.0, help="Fraction of each batch mixed."),
    tau: float | None = typer.Option(
        None, min=0.001, max=10.0, help="Temperature of the contrastive loss (and of scoring)."
    ),
    soft_targets: float | None = typer.Option(
        None, min=0.0, help="Weight of clips with overlapping tags as partial positives (0: none)."
    ),
    balance: bool | None = typer.Option(
        None, "--balance/--no-balance", help="Draw each sound category about equally often."
    ),
    tag_subsets: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Fraction of clips trained on a random subset of their tags."
    ),
    select_best: bool | None = typer.Option(
        None, "--select-best/--last-epoch", help="Keep the epoch of best validation recall@10."
    ),
    average_weights: float | None = typer.Option(
        None,
        min=0.0,
        max=0.9999,
        help="Keep a moving average of the weights with this decay per step (0: none); each epoch "
        "validates both and keeps the better.",
    ),
    val_split: str | None = typer.Option(
        None,
        help="sources (validate on the out-of-source packages, never trained on) or hash (a tenth of "
        "every source: the shipped model trains on every source).",
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    seed: int | None = typer.Option(None),
    word_vectors: str | None = typer.Option(
        None,
        help="glove (pretrained), glove+minilm (GloVe with MiniLM's view of each word: the minilm extra), "
        "word2vec or fasttext (trained here), or a file of saved vectors.",
    ),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="torch.compile the networks."),
    init_encoder: Path | None = typer.Option(
        None, help="Start the audio encoder from `audiotag pretrain`'s encoder.safetensors."
    ),
    encoder_lr: float | None = typer.Option(
        None, min=0.0, max=1.0, help="The audio encoder's share of --lr: 0 locks it, 0.1 fine-tunes it."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the last run of this variant."),
    out: Path | None = typer.Option(None, help="Where bundles go (default: DATA_DIR/bundles)."),
) -> None:
    """Train the audio and tag encoders on the catalogue and write a model bundle."""
    rt: Runtime = ctx.obj
    if variant not in VARIANTS:
        fail(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if device not in ("auto", "cpu", "cuda"):
        fail(f"unknown device {device!r}: choose auto, cpu or cuda")
    try:
        cfg = make_recipe(
            recipe,
            variant=variant,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            momentum=momentum,
            weight_decay=weight_decay,
            warmup=warmup,
            schedule=schedule,
            encoder_dropout=encoder_dropout,
            audio_dropout=audio_dropout,
            crops=crops,
            augment=augment,
            val_split=val_split,
            mix=mix,
            tau=tau,
            balance=balance,
            soft_targets=soft_targets,
            tag_subsets=tag_subsets,
            select_best=select_best,
            average_weights=average_weights,
            device=device if device != "auto" else rt.settings.device,
            seed=seed,
            word_vectors=word_vectors,
            compile=compile,
            init_encoder=str(init_encoder) if init_encoder else None,
            encoder_lr=encoder_lr,
        )
    except ValueError as err:
        fail(str(err))
    run_training(rt, cfg, resume=resume, out=out)


def run_training(
    rt: Runtime, cfg: TrainConfig, *, resume: bool = False, out: Path | None = None
) -> Path | None:
    """Train on the catalogue with `cfg`, write the bundle, print the result; one red line on error.
    Under `torchrun --nproc-per-node N` the N processes train together; rank 0 writes and prints, the
    others return None."""
    from trainer.bundle_writer import write_training_bundle
    from trainer.data import DataError, load_training_data
    from trainer.distributed import join, leave
    from trainer.loop import train

    ranks = join(cfg.device)
    try:
        data = load_training_data(
            rt.catalogue,
            rt.feature_cache,
            vocab_size=cfg.vocab_size,
            max_tags=cfg.max_tags,
            val_split=cfg.val_split,
            val_fraction=cfg.val_fraction,
            split_seed=cfg.split_seed,
        )
        if ranks.main:
            console.print(
                f"training {cfg.variant} ({cfg.recipe} recipe) on {len(data.train)} clips, validating on "
                f"{len(data.val)}, {len(data.vocabulary)} tags"
                + (f", in {ranks.world} processes" if ranks.distributed else "")
            )
        result = train(data, cfg, rt.settings.data_dir / "runs" / cfg.variant, resume=resume, ranks=ranks)
        if not ranks.main:
            return None
        command = recorded_command(sys.argv[1:])
        path = write_training_bundle(
            out or rt.settings.bundles_dir, cfg, result, rt.feature_cache.config, command=command
        )
    except (DataError, ValueError) as err:
        fail(str(err))
    finally:
        leave()
    _print_result(path, result)
    return path


def _print_result(path: Path, result) -> None:
    table = Table(title="training", show_header=False)
    kept = [h for h in result.history if h["epoch"] == result.best_epoch]
    last = (kept or result.history or [{"train": {}, "val": {}}])[-1]
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
    if result.best_epoch is not None:
        table.add_row("kept", f"epoch {result.best_epoch} (best validation recall@10)")
    if result.stopped_after is not None:
        table.add_row("stopped", f"after epoch {result.stopped_after} (Ctrl-C); --resume continues the run")
    table.add_row("throughput", f"{result.samples_per_s:.0f} samples/s")
    console.print(table)
    console.print(f"bundle: {path}", markup=False, highlight=False, soft_wrap=True)


def recorded_command(argv: list[str]) -> str:
    """The command line for a manifest, with the machine's own paths and database URL left out."""
    private = {
        "--data-dir": "DATA_DIR",
        "--database-url": "DATABASE_URL",
        "--out": "OUT",
        "--init-encoder": "ENCODER",
    }
    out, hide = ["audiotag"], None
    for arg in argv:
        name, eq, _ = arg.partition("=")
        if hide:
            out.append(hide)
            hide = None
        elif name in private and eq:
            out.append(f"{name}={private[name]}")
        else:
            out.append(arg)
            hide = private.get(arg)
    return shlex.join(out)


def export_cmd(
    bundle: Path = typer.Argument(..., help="A model bundle folder."),
    out: Path = typer.Option(..., help="Where the compact copy goes (a new folder)."),
    evaluation: Path | None = typer.Option(
        None, help="An `audiotag eval` results.json: the bundle's figures go into the copy's manifest."
    ),
    evaluation_command: str = typer.Option("", help="The eval command that made it, for the record."),
    twin_evaluation: Path | None = typer.Option(
        None,
        help="The results.json of an eval of the bundle's held-out twin (its recipe trained without the "
        "out-of-source packages): the twin's out-of-source figures go into the manifest.",
    ),
    twin: str = typer.Option("", help="The twin's version in that file (default: its only bundle)."),
    twin_command: str = typer.Option("", help="The eval command of the twin's figures, for the record."),
    word_dims: int | None = typer.Option(
        None,
        min=1,
        help="Numbers a word keeps (default 50, GloVe's): wider word vectors are folded into the "
        "tag encoder's input projection's best rank of this size.",
    ),
) -> None:
    """Write a compact inference-only copy of a bundle: no decoder, float16 weights and word vectors."""
    from model.bundle import BundleError
    from model.shipped import WORD_DIMS, save_inference_bundle
    from trainer.eval.summary import bundle_summary, twin_figures

    try:
        extra = {}
        if evaluation is not None:
            results = json.loads(evaluation.read_text())
            extra["evaluation"] = bundle_summary(results, bundle_version(bundle) or "", evaluation_command)
        if twin_evaluation is not None:
            results = json.loads(twin_evaluation.read_text())
            extra.setdefault("evaluation", {})["out_of_source"] = twin_figures(results, twin, twin_command)
        path = save_inference_bundle(bundle, out, extra, word_dims or WORD_DIMS)
    except (BundleError, OSError, ValueError) as err:
        fail(str(err))
    size = sum(f.stat().st_size for f in path.iterdir())
    console.print(f"inference bundle: {path} ({size / 2**20:.1f} MiB)", markup=False, highlight=False)


def pretrain_cmd(
    ctx: typer.Context,
    variant: str = typer.Option(DEFAULT_VARIANT, help="The variant whose audio encoder is pre-trained."),
    epochs: int | None = typer.Option(None, min=1, help="Passes over the clips."),
    batch_size: int | None = typer.Option(None, min=2),
    lr: float | None = typer.Option(None, min=0.0, help="Peak learning rate (AdamW)."),
    audio_dir: list[Path] = typer.Option(
        [], help="A folder of more audio without tags (any format, searched recursively); repeatable."
    ),
    val_split: str | None = typer.Option(None, help="sources or hash, as in `audiotag train`."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    seed: int | None = typer.Option(None),
    resume: bool = typer.Option(False, "--resume", help="Continue the last pre-training run."),
) -> None:
    """Pre-train the audio encoder without tags (BYOL for audio) on the catalogue's clips and any
    other audio; `audiotag train --init-encoder` starts from it."""
    from dataclasses import replace

    import torch

    from trainer.pretrain import ENCODER, PretrainConfig, pretrain

    rt: Runtime = ctx.obj
    if variant not in VARIANTS:
        fail(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    if device not in ("auto", "cpu", "cuda"):
        fail(f"unknown device {device!r}: choose auto, cpu or cuda")
    if val_split not in (None, "sources", "hash"):
        fail(f"unknown val_split {val_split!r}: choose sources or hash")
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "val_split": val_split, "seed": seed}
    cfg = replace(
        PretrainConfig(variant=variant, device=device if device != "auto" else rt.settings.device),
        **{k: v for k, v in given.items() if v is not None},
    )
    run_dir = rt.settings.data_dir / "runs" / f"pretrain-{variant}"
    try:
        data = _unlabelled(rt, cfg, audio_dir)
        console.print(
            f"pre-training the {variant} audio encoder on {len(data.train_lengths)} clips "
            f"({data.summary['extra_clips']} from --audio-dir), validating on {len(data.val_lengths)}"
        )
        result = pretrain(
            torch.from_numpy(data.train_regions),
            torch.from_numpy(data.train_lengths),
            (torch.from_numpy(data.val_regions), torch.from_numpy(data.val_lengths)),
            data.scaler.high - data.scaler.low,
            cfg,
            run_dir,
            frames=rt.feature_cache.config.patch_frames,
            resume=resume,
        )
    except ValueError as err:
        fail(str(err))
    last = result.history[-1]
    stopped = " (stopped by Ctrl-C; --resume continues)" if result.stopped_after else ""
    console.print(
        f"epoch {last['epoch']} of {cfg.epochs}: loss {last['train_loss']:.4f}, "
        f"validation {last['val_loss']:.4f}{stopped}"
    )
    console.print(f"encoder: {run_dir / ENCODER}", markup=False, highlight=False, soft_wrap=True)


def _unlabelled(rt: Runtime, cfg: PretrainConfig, folders: list[Path]) -> Unlabelled:
    """The catalogue's clips and the log-mels of every decodable audio file under `folders`."""
    from model.analysis import analyse_many
    from model.audio import AUDIO_SUFFIXES
    from trainer.data import load_unlabelled

    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"--audio-dir {folder} is not a folder")
    paths = [str(p) for f in folders for p in sorted(f.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
    extra, skipped = [], 0
    for result in analyse_many(paths, rt.limits, rt.feature_cache.config, rt.settings.workers):
        if result.logmel is None:
            skipped += 1
        else:
            extra.append(result.logmel)
    if skipped:
        console.print(f"{skipped} files under --audio-dir could not be decoded and were left out")
    return load_unlabelled(
        rt.catalogue,
        rt.feature_cache,
        extra,
        val_split=cfg.val_split,
        val_fraction=cfg.val_fraction,
        split_seed=cfg.split_seed,
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("pretrain")(pretrain_cmd)
    app.command("export")(export_cmd)
