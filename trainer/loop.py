"""The training loop: batch, loss, step, log, evaluate, checkpoint — top to bottom, no callbacks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from gensim.models import KeyedVectors
from tqdm import tqdm

from model.config import variant
from model.device import autocast as bf16_autocast
from model.device import resolve_device
from model.losses import JointLoss
from model.networks import AudioTagModel
from model.word_vectors import load_word_vectors, lookup, train_word_vectors
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.data import Clips, TrainingData
from trainer.metrics import retrieval_metrics

TERMS = ("loss", "recon_loss", "contrastive_loss")


@dataclass
class TrainResult:
    model: AudioTagModel
    word_vectors: KeyedVectors
    history: list[dict]
    seconds: float
    samples_per_s: float


class TagTable:
    """Frozen word vectors of the vocabulary as one tensor (row 0 = padding) and clips as row indices."""

    def __init__(self, kv: KeyedVectors, words: list[str], device: torch.device) -> None:
        self.row = {w: i + 1 for i, w in enumerate(words)}
        vectors = np.concatenate([np.zeros((1, kv.vector_size), np.float32), lookup(kv, words)])
        self.table = torch.from_numpy(vectors).to(device)  # (V + 1, F_w)

    def indices(self, clips: Clips, max_tags: int, device: torch.device) -> torch.Tensor:
        idx = np.zeros((len(clips), max_tags), np.int64)  # (N, T), 0 = pad
        for i, tags in enumerate(clips.tags):
            idx[i, : len(tags)] = [self.row[t] for t in tags[:max_tags]]
        return torch.from_numpy(idx).to(device)


def word_vectors_for(cfg: TrainConfig, data: TrainingData, dim: int) -> KeyedVectors:
    """Train (word2vec or FastText) on the training clips' tags, or load a file; check the dimension."""
    if cfg.word_vectors in ("word2vec", "fasttext"):
        return train_word_vectors(
            data.all_train_tags, dim, kind=cfg.word_vectors, epochs=cfg.word_vector_epochs, seed=cfg.seed
        )
    kv = load_word_vectors(Path(cfg.word_vectors))
    if kv.vector_size != dim:
        raise ValueError(
            f"the word vectors have {kv.vector_size} dimensions; variant {cfg.variant} needs {dim}"
        )
    missing = [w for w in data.vocabulary.words if w not in kv.key_to_index]
    if missing:
        raise ValueError(
            f"{len(missing)} vocabulary tags have no vector in {cfg.word_vectors}, e.g. {missing[:5]}"
        )
    return kv


def _optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer in ("adam", "adamw"):
        return getattr(torch.optim, "Adam" if cfg.optimizer == "adam" else "AdamW")(params, lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}: choose sgd, adam or adamw")


def _batch(X: torch.Tensor, tag_idx: torch.Tensor, table: torch.Tensor, idx: torch.Tensor, device):
    x = X[idx].to(device, non_blocking=True).float().unsqueeze(1)  # (B, 1, M, P)
    x = x.contiguous(memory_format=torch.channels_last)
    t = tag_idx[idx]  # (B, T)
    return x, table[t], t > 0  # patches, word vectors (B, T, F_w), mask (B, T)


@torch.no_grad()
def evaluate(model, loss_fn, X, tag_idx, table, device, batch_size: int) -> dict:
    """Validation losses and text→audio retrieval (each clip's own tags as the query)."""
    if len(X) < 2:
        return {}
    model.eval()
    sums, phi_a, phi_w = dict.fromkeys(TERMS, 0.0), [], []
    batches = torch.arange(len(X)).split(batch_size)
    for idx in batches:
        x, w, mask = _batch(X, tag_idx, table, idx, device)
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
    data: TrainingData, cfg: TrainConfig, run_dir: Path, *, resume: bool = False, progress: bool = True
) -> TrainResult:
    """Train the variant on `data`, checkpointing into run_dir every epoch."""
    device = resolve_device(cfg.device)
    model_cfg = replace(variant(cfg.variant), max_tags=cfg.max_tags)
    torch.manual_seed(cfg.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    kv_path = run_dir / "word_vectors.kv"
    kv = (
        KeyedVectors.load(str(kv_path))
        if resume and kv_path.exists()
        else word_vectors_for(cfg, data, model_cfg.word_dim)
    )
    kv.save(str(kv_path))
    tags = TagTable(kv, data.vocabulary.words, device)
    on_gpu = device.type == "cuda"
    # On CUDA the whole patch set lives on the GPU (float16): no data-loader in the way.
    X_train = torch.from_numpy(data.train.patches).to(device if on_gpu else "cpu")  # (N, M, P)
    X_val = torch.from_numpy(data.val.patches).to(device if on_gpu else "cpu")
    t_train = tags.indices(data.train, cfg.max_tags, device)
    t_val = tags.indices(data.val, cfg.max_tags, device)

    model = AudioTagModel(model_cfg).to(device, memory_format=torch.channels_last)
    loss_fn = JointLoss(cfg.recon_weight, cfg.contrastive_weight, cfg.tau)
    optimizer = _optimizer(cfg, model.parameters())
    shuffle = torch.Generator().manual_seed(cfg.seed)
    state = load_checkpoint(run_dir, model, optimizer, shuffle) if resume else None
    history: list[dict] = state["history"] if state else []
    step_model = torch.compile(model) if cfg.compile else model
    autocast = bf16_autocast(device, cfg.bf16)

    N, B = len(X_train), min(cfg.batch_size, len(X_train))
    start, samples = time.perf_counter(), 0
    model.train()
    for epoch in range(len(history) + 1, cfg.epochs + 1):
        perm = torch.randperm(N, generator=shuffle)
        batches = [perm[i : i + B] for i in range(0, N - B + 1, B)]  # drop_last
        sums = dict.fromkeys(TERMS, 0.0)
        bar = tqdm(
            batches, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", disable=not progress, leave=False
        )
        for idx in bar:
            x, w, mask = _batch(X_train, t_train, tags.table, idx.to(X_train.device), device)
            with autocast:
                out = step_model(x, w, mask)
            terms = loss_fn(x, out)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            for k in TERMS:
                sums[k] += float(terms[k].detach())
            samples += len(idx)
            bar.set_postfix(
                recon=f"{sums['recon_loss'] / (bar.n + 1):.3f}",
                contr=f"{sums['contrastive_loss'] / (bar.n + 1):.3f}",
            )
        with autocast:
            val = evaluate(model, loss_fn, X_val, t_val, tags.table, device, 256)
        record = {"epoch": epoch, "train": {k: v / len(batches) for k, v in sums.items()}, "val": val}
        history.append(record)
        if progress:
            tqdm.write(_epoch_line(record))
        save_checkpoint(
            run_dir,
            model,
            optimizer,
            shuffle,
            {"epoch": epoch, "config": cfg.to_dict(), "model": model_cfg.to_dict(), "history": history},
        )
    seconds = time.perf_counter() - start
    (run_dir / "history.json").write_text(json.dumps(history, indent=1))
    return TrainResult(model.eval(), kv, history, seconds, samples / seconds if seconds > 0 else 0.0)


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
    return line
