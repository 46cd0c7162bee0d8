"""The training loop: batch, loss, step, log, evaluate, checkpoint — top to bottom, no callbacks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from gensim.models import KeyedVectors
from safetensors import SafetensorError
from tqdm import tqdm

from model.audio import first_line
from model.config import ModelConfig, variant
from model.device import autocast as bf16_autocast
from model.device import resolve_device
from model.losses import JointLoss
from model.networks import AudioTagModel
from model.word_vectors import KINDS, has_vector, load_word_vectors, lookup, train_word_vectors
from trainer.augment import mix_clips, random_crops, random_gain, random_masks, random_tag_subsets
from trainer.averaging import WeightAverage
from trainer.checkpoint import load_checkpoint, load_weights, save_checkpoint, save_weights
from trainer.config import TrainConfig
from trainer.data import Clips, TrainingData
from trainer.distributed import Ranks
from trainer.metrics import retrieval_metrics
from trainer.optim import lr_at, make_optimizer, parameter_groups, set_lr
from trainer.sampling import category_weights, epoch_order
from trainer.stopping import StopRequest, stopped_after

TERMS = ("loss", "recon_loss", "contrastive_loss")
BEST = "best.safetensors"


@dataclass
class TrainResult:
    model: AudioTagModel
    word_vectors: KeyedVectors
    history: list[dict]
    seconds: float
    samples_per_s: float
    data: TrainingData  # what was trained on: the vocabulary restricted to words with a vector
    best_epoch: int | None = None  # the epoch whose weights the model has (None: the last)
    stopped_after: int | None = None  # whole epochs done when Ctrl-C stopped the run early (None: all)


class TagTable:
    """Frozen word vectors of the vocabulary as one tensor (row 0 = padding) and clips as row indices."""

    def __init__(self, kv: KeyedVectors, words: list[str], device: torch.device) -> None:
        self.row = {w: i + 1 for i, w in enumerate(words)}
        vectors = np.concatenate([np.zeros((1, kv.vector_size), np.float32), lookup(kv, words)])
        self.table = torch.from_numpy(vectors).to(device)  # (V + 1, D_w)

    def indices(self, clips: Clips, max_tags: int, device: torch.device) -> torch.Tensor:
        idx = np.zeros((len(clips), max_tags), np.int64)  # (N, T), 0 = pad
        for i, tags in enumerate(clips.tags):
            idx[i, : len(tags)] = [self.row[t] for t in tags[:max_tags]]
        return torch.from_numpy(idx).to(device)


def word_vectors_for(cfg: TrainConfig, data: TrainingData, dim: int) -> KeyedVectors:
    """Train (word2vec or FastText, `dim`-d) on the training clips' tags, or load pretrained ones or a
    file (any dimension: the model projects it to F_w)."""
    if cfg.word_vectors in KINDS:
        return train_word_vectors(
            data.all_train_tags, dim, kind=cfg.word_vectors, epochs=cfg.word_vector_epochs, seed=cfg.seed
        )
    return load_word_vectors(cfg.word_vectors)


def with_vectors(data: TrainingData, kv: KeyedVectors) -> TrainingData:
    """Vocabulary tags without a vector are dropped, and clips left with no tag."""
    data = data.keep_words({w for w in data.vocabulary.words if has_vector(kv, w)})
    if len(data.vocabulary) == 0 or len(data.train) < 2:
        raise ValueError("no vocabulary tag has a word vector: choose other word vectors")
    return data


def model_config(cfg: TrainConfig, word_vector_dim: int) -> ModelConfig:
    """The variant's networks with the run's dropout, tag count and word-vector dimension."""
    base = variant(cfg.variant)
    return replace(
        base,
        max_tags=cfg.max_tags,
        encoder_dropout=cfg.encoder_dropout,
        audio_dropout=cfg.audio_dropout,
        word_input_dim=0 if word_vector_dim == base.word_dim else word_vector_dim,
    )


class Batches:
    """Training batches: a crop of each clip (random, or the max-energy patch), augmented, on the device."""

    def __init__(self, clips: Clips, cfg: TrainConfig, tags: TagTable, span: float, device) -> None:
        self.cfg, self.span, self.device, self.table = cfg, span, device, tags.table
        where = device if device.type == "cuda" else "cpu"  # on CUDA every patch lives on the GPU
        self.random = cfg.crops == "random"
        self.frames = clips.patches.shape[2]
        self.X = torch.from_numpy(clips.regions if self.random else clips.patches).to(where)
        self.lengths = torch.from_numpy(clips.lengths).to(where)
        self.rows = tags.indices(clips, cfg.max_tags, where)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)

    def __call__(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clip indices (B,) → patches (B, 1, M, P), word vectors (B, T, D_w), tag indices (B, T)
        (0: pad)."""
        idx = idx.to(self.X.device)
        if self.random:
            x = random_crops(self.X[idx], self.lengths[idx], self.frames, self.gen).float()
        else:
            x = self.X[idx].float()
        rows = self.rows[idx]
        if self.cfg.augment:
            x = random_masks(random_gain(x, self.span, self.gen), self.gen)
        if self.cfg.tag_subsets > 0:
            rows = random_tag_subsets(rows, self.cfg.tag_subsets, self.gen)
        if self.cfg.mix > 0:
            x, rows = mix_clips(x, rows, self.cfg.mix, self.span, self.gen)
        x = x.to(self.device, non_blocking=True).unsqueeze(1).contiguous(memory_format=torch.channels_last)
        rows = rows.to(self.device)
        return x, self.table[rows], rows


def _val_batch(X: torch.Tensor, tag_idx: torch.Tensor, table: torch.Tensor, idx: torch.Tensor, device):
    x = X[idx].to(device, non_blocking=True).float().unsqueeze(1)  # (B, 1, M, P)
    x = x.contiguous(memory_format=torch.channels_last)
    t = tag_idx[idx]  # (B, T)
    return x, table[t], t > 0  # patches, word vectors (B, T, D_w), mask (B, T)


@torch.no_grad()
def evaluate(model, loss_fn, X, tag_idx, table, device, batch_size: int) -> dict:
    """Validation losses and text→audio retrieval (each clip's own tags as the query)."""
    if len(X) < 2:
        return {}
    model.eval()
    sums, phi_a, phi_w = dict.fromkeys(TERMS, 0.0), [], []
    batches = torch.arange(len(X)).split(batch_size)
    for idx in batches:
        x, w, mask = _val_batch(X, tag_idx, table, idx, device)
        out = model(x, w, mask)
        for k, v in loss_fn(x, out).items():
            sums[k] += float(v) * len(idx)
        phi_a.append(torch.nn.functional.normalize(out["phi_a"].float(), dim=-1).cpu().numpy())
        phi_w.append(torch.nn.functional.normalize(out["phi_w"].float(), dim=-1).cpu().numpy())
    model.train()
    return {
        **{k: v / len(X) for k, v in sums.items()},
        **retrieval_metrics(np.concatenate(phi_w), np.concatenate(phi_a)),
    }


def train(
    data: TrainingData,
    cfg: TrainConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    ranks: Ranks = Ranks(),
) -> TrainResult:
    """Train the variant on `data`, checkpointing into run_dir every epoch; in one of `ranks.world`
    processes under torchrun (trainer/distributed.py), each with its share of every batch."""
    device = ranks.device(resolve_device(cfg.device))
    torch.manual_seed(cfg.seed)
    if cfg.batch_size % ranks.world:
        raise ValueError(f"the batch size {cfg.batch_size} is not a multiple of the {ranks.world} processes")
    run_dir.mkdir(parents=True, exist_ok=True)
    kv_path = run_dir / "word_vectors.kv"
    if ranks.main:
        if resume and kv_path.exists():
            kv = KeyedVectors.load(str(kv_path))
        else:
            kv = word_vectors_for(cfg, data, variant(cfg.variant).word_dim)
            kv.save(str(kv_path))
    ranks.wait()
    if not ranks.main:
        kv = KeyedVectors.load(str(kv_path))  # rank 0's: word2vec in several threads is not reproducible
    data = with_vectors(data, kv)
    model_cfg = model_config(cfg, kv.vector_size)
    tags = TagTable(kv, data.vocabulary.words, device)
    batches_of = Batches(data.train, cfg, tags, data.scaler.high - data.scaler.low, device)
    X_val = torch.from_numpy(data.val.patches).to(device if device.type == "cuda" else "cpu")
    t_val = tags.indices(data.val, cfg.max_tags, device)

    model = AudioTagModel(model_cfg).to(device, memory_format=torch.channels_last)
    if cfg.init_encoder and not resume:
        load_encoder(Path(cfg.init_encoder), model.audio_encoder)
    if ranks.distributed:  # the same initial weights everywhere; then each its own dropout and augmentation
        torch.manual_seed(cfg.seed + 1000 * ranks.rank)
        batches_of.gen.manual_seed(cfg.seed + 1 + 1000 * ranks.rank)
    if cfg.soft_targets and ranks.distributed:
        raise ValueError("soft contrastive targets need the whole batch's tags: train in one process")
    loss_fn = JointLoss(cfg.recon_weight, cfg.contrastive_weight, cfg.tau, cfg.soft_targets)
    optimizer = make_optimizer(cfg, parameter_groups(model, cfg.encoder_lr))
    shuffle = torch.Generator().manual_seed(cfg.seed)
    generators = {"shuffle": shuffle, "augment": batches_of.gen}
    average = WeightAverage(model, cfg.average_weights) if cfg.average_weights else None
    averaged = average.module if average else None
    state = load_checkpoint(run_dir, model, optimizer, generators, averaged) if resume else None
    history: list[dict] = state["history"] if state else []
    step_model = ranks.wrap(model, device)
    step_model = torch.compile(step_model) if cfg.compile else step_model
    autocast = bf16_autocast(device, cfg.bf16)

    N, B = len(data.train), min(cfg.batch_size, len(data.train))
    weights = category_weights(data.train.tags) if cfg.balance else None
    per_epoch = max(1, (N - B) // B + 1)
    total_steps = per_epoch * cfg.epochs
    start, samples = time.perf_counter(), 0
    with StopRequest(enabled=not ranks.distributed) as stop:
        for epoch in range(len(history) + 1, cfg.epochs + 1):
            training_mode(model, locked_encoder=cfg.encoder_lr == 0)
            perm = epoch_order(N, weights, shuffle)
            batches = [perm[i : i + B] for i in range(0, N - B + 1, B)]  # drop_last
            sums = dict.fromkeys(TERMS, 0.0)
            bar = tqdm(
                batches,
                desc=f"epoch {epoch}/{cfg.epochs}",
                unit="batch",
                disable=not (progress and ranks.main),
                leave=False,
            )
            for i, idx in enumerate(bar):
                if stop.asked:
                    break
                set_lr(optimizer, lr_at(cfg, (epoch - 1) * per_epoch + i, total_steps))
                x, w, rows = batches_of(ranks.share(idx))
                with autocast:
                    out = step_model(x, w, rows > 0)
                if ranks.distributed:  # the contrastive loss over the whole global batch
                    out = {
                        **out,
                        "phi_a": ranks.gather(out["phi_a"].float()),
                        "phi_w": ranks.gather(out["phi_w"].float()),
                    }
                terms = loss_fn(x, out, rows)
                optimizer.zero_grad(set_to_none=True)
                terms["loss"].backward()
                optimizer.step()
                if average:
                    average.update(model)
                for k in TERMS:
                    sums[k] += float(terms[k].detach())
                samples += len(idx)
                bar.set_postfix(
                    recon=f"{sums['recon_loss'] / (bar.n + 1):.3f}",
                    contr=f"{sums['contrastive_loss'] / (bar.n + 1):.3f}",
                )
            if stop.asked:  # the epoch under way is dropped: the run ends at the last whole one
                if progress and ranks.main:
                    tqdm.write(f"stopping: epoch {epoch} dropped, the run ends at epoch {len(history)}")
                break
            candidates = {"raw": model, "average": averaged} if averaged else {"raw": model}
            vals = {}
            if ranks.main:
                with autocast:
                    vals = {
                        k: evaluate(m, loss_fn, X_val, t_val, tags.table, device, 256)
                        for k, m in candidates.items()
                    }
            kept = max(vals, key=lambda k: vals[k].get("recall@10", -1.0), default="raw")  # a tie keeps raw
            train_terms = {k: ranks.mean(v / len(batches)) for k, v in sums.items()}
            record = {"epoch": epoch, "train": train_terms, "val": vals.get(kept, {})}
            if averaged:
                record |= {
                    "weights": kept,
                    "val_raw": vals.get("raw", {}),
                    "val_average": vals.get("average", {}),
                }
            history.append(record)
            if not ranks.main:
                continue
            if cfg.select_best and record["val"] and record["val"]["recall@10"] > _best_recall(history[:-1]):
                save_weights(run_dir / BEST, candidates[kept])
            if progress:
                tqdm.write(_epoch_line(record))
            save_checkpoint(
                run_dir,
                model,
                optimizer,
                generators,
                {"epoch": epoch, "config": cfg.to_dict(), "model": model_cfg.to_dict(), "history": history},
                average=averaged,
            )
    stopped = stopped_after(stop, history, cfg.epochs, run_dir, model, averaged)
    seconds = time.perf_counter() - start
    if ranks.main:
        (run_dir / "history.json").write_text(json.dumps(history, indent=1))
    best = _best_epoch(history) if cfg.select_best else None
    if best is not None and (run_dir / BEST).is_file():
        load_weights(run_dir / BEST, model)
    elif averaged and history and history[-1].get("weights") == "average":
        model.load_state_dict(averaged.state_dict())
    speed = samples / seconds if seconds > 0 else 0.0
    return TrainResult(model.eval(), kv, history, seconds, speed, data, best, stopped)


def training_mode(model: AudioTagModel, locked_encoder: bool) -> None:
    """The model in training mode, a locked audio encoder excepted: its normalisation statistics
    and dropout stay as they were (eval mode), as its weights do."""
    model.train()
    if locked_encoder:
        model.audio_encoder.eval()


def load_encoder(path: Path, encoder: torch.nn.Module) -> None:
    """A pre-trained audio encoder's weights (trainer/pretrain.py); ValueError when they do not fit."""
    if not path.is_file():
        raise ValueError(f"no pre-trained encoder at {path}: run `audiotag pretrain` first")
    try:
        load_weights(path, encoder)
    except (RuntimeError, OSError, SafetensorError) as err:  # other shapes, or not safetensors
        raise ValueError(f"{path} is not an audio encoder of this variant: {first_line(err)}") from None


def _best_recall(history: list[dict]) -> float:
    return max((h["val"]["recall@10"] for h in history if h.get("val")), default=-1.0)


def _best_epoch(history: list[dict]) -> int | None:
    """The first epoch with the highest validation recall@10 (None without validation)."""
    scored = [(h["val"]["recall@10"], -h["epoch"]) for h in history if h.get("val")]
    return -max(scored)[1] if scored else None


def _epoch_line(r: dict) -> str:
    t, v = r["train"], r["val"]
    line = (
        f"epoch {r['epoch']:>3}  train recon {t['recon_loss']:.4f}  contrastive {t['contrastive_loss']:.4f}"
    )
    if v:
        line += (
            f"  | val recon {v['recon_loss']:.4f}  contrastive {v['contrastive_loss']:.4f}"
            f"  recall@10 {v['recall@10']:.3f} (chance {v['chance_recall@10']:.3f})"
        )
    if r.get("val_average"):
        raw, avg = r["val_raw"]["recall@10"], r["val_average"]["recall@10"]
        line += f"  [kept {r['weights']}: raw {raw:.3f}, average {avg:.3f}]"
    return line
