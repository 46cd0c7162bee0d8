"""Self-supervised pre-training of the audio encoder on clips without their tags (BYOL for audio:
Niizumi et al., "BYOL for Audio", 2021).

Two views of each clip — independent random crops of the region around its loudest part, each mixed
with another clip of the batch at a random share (magnitudes add: log-mixup-exp), stretched or
squeezed in time and frequency by a random resized crop, and made up to ±6 dB louder or quieter — go
through an online network (encoder → projector → predictor) and a target network (encoder →
projector), an exponential moving average of the online one (trainer/averaging.py). The loss pulls
the online prediction of each view towards the target's projection of the other (2 − 2 cos): what is
learnt is what the views share, the sound and not its level, its place in the clip or its
background. Only the encoder is kept: `audiotag train --init-encoder FILE` starts the contrastive
stage from it. The clips a trained model is judged on (the out-of-source packages, `val_split`) are
never seen here either; they give the validation loss.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from model.config import DEFAULT_VARIANT, variant
from model.device import autocast as bf16_autocast
from model.device import resolve_device
from model.files import write_json_atomic
from model.networks import AudioEncoder
from trainer.augment import random_crops, random_gain
from trainer.averaging import WeightAverage
from trainer.checkpoint import load_checkpoint, save_checkpoint, save_weights
from trainer.optim import lr_at, set_lr
from trainer.stopping import StopRequest, stopped_after

ENCODER = "encoder.safetensors"


@dataclass(frozen=True)
class PretrainConfig:
    """Every knob of a pre-training run (BYOL-A's where it has one), saved beside the encoder."""

    variant: str = DEFAULT_VARIANT
    epochs: int = 100
    batch_size: int = 128
    lr: float = 3e-4  # AdamW, warmed up then cosine-decayed (trainer/optim.py)
    weight_decay: float = 1e-4
    warmup: float = 0.05
    schedule: str = "cosine"
    target_decay: float = 0.99  # the target network's moving average, per step
    hidden: int = 1024  # the projector's and predictor's hidden width
    projection: int = 256
    mix_ratio: float = 0.4  # a view holds up to this share of another clip
    min_scale: float = 0.6  # random resized crop: each axis scaled by a factor in [min, max]
    max_scale: float = 1.5
    val_split: str = "sources"  # as in training: the out-of-source packages are never pre-trained on
    val_fraction: float = 0.1
    split_seed: int = 0
    seed: int = 0
    device: str = "auto"
    bf16: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PretrainResult:
    encoder: AudioEncoder
    history: list[dict]
    seconds: float
    stopped_after: int | None = None  # whole epochs done when Ctrl-C stopped the run early


def log_mixup(x: torch.Tensor, span: float, max_ratio: float, gen: torch.Generator) -> torch.Tensor:
    """Each clip (B, M, P) of scaled log-mel with a random share in [0, max_ratio) of another clip of
    the batch, mixed as magnitudes; silence (0) stays the floor."""
    B = x.shape[0]
    if B < 2 or max_ratio <= 0:
        return x
    other = (torch.arange(B) + torch.randint(1, B, (B,), generator=gen)) % B  # never the clip itself
    share = (torch.rand(B, 1, 1, generator=gen) * max_ratio).to(x.device)
    mixed = (1 - share) * torch.exp(x * span) + share * torch.exp(x[other.to(x.device)] * span)
    return (torch.log(mixed) / span).clamp(0.0, 1.0)


def random_resized_crops(x: torch.Tensor, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    """Each clip (B, M, P) seen through a window of a random size (each axis scaled by a factor in
    [low, high]) at a random place, resized back to (M, P): shifted, stretched or squeezed in pitch
    and time; what lies outside the clip is silence."""
    B = x.shape[0]
    scale = low + torch.rand(B, 2, generator=gen) * (high - low)  # (B, [time, frequency])
    shift = (torch.rand(B, 2, generator=gen) * 2 - 1) * (scale - 1).abs()
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale[:, 0], scale[:, 1]
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x.device), [B, 1, *x.shape[1:]], align_corners=False)
    return F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]


def two_views(
    regions: torch.Tensor, lengths: torch.Tensor, frames: int, span: float, cfg: PretrainConfig, gen
) -> tuple[torch.Tensor, torch.Tensor]:
    """Regions (B, M, R) → two augmented views of each clip, (B, M, frames) each."""

    def view() -> torch.Tensor:
        x = random_crops(regions, lengths, frames, gen).float()
        x = random_resized_crops(log_mixup(x, span, cfg.mix_ratio, gen), cfg.min_scale, cfg.max_scale, gen)
        return random_gain(x, span, gen)

    return view(), view()


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, d_out))


class Byol(nn.Module):
    """The online network; its moving average, less the predictor's use, is the target."""

    def __init__(self, cfg: PretrainConfig) -> None:
        super().__init__()
        model_cfg = variant(cfg.variant)
        self.encoder = AudioEncoder(model_cfg)
        self.projector = _mlp(model_cfg.latent_dim, cfg.hidden, cfg.projection)
        self.predictor = _mlp(cfg.projection, cfg.hidden, cfg.projection)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Patches (B, 1, M, P) → projections (B, D)."""
        return self.projector(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Patches (B, 1, M, P) → predictions of the target's projections (B, D)."""
        return self.predictor(self.project(x))


def byol_loss(online: Byol, target: Byol, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Symmetric: each view's prediction against the target's projection of the other, 2 − 2 cos."""
    with torch.no_grad():
        ta, tb = target.project(a), target.project(b)
    pa, pb = online(a), online(b)
    pairs = ((pa, tb), (pb, ta))
    return sum((2 - 2 * F.cosine_similarity(p.float(), t.float(), dim=-1)).mean() for p, t in pairs) / 2


def _as_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    return x.to(device).unsqueeze(1).contiguous(memory_format=torch.channels_last)  # (B, 1, M, P)


@torch.no_grad()
def _validate(
    online: Byol, target: Byol, views: tuple[torch.Tensor, torch.Tensor], device, batch: int
) -> float:
    """The loss on fixed views of the held-out clips."""
    if len(views[0]) < 2:
        return float("nan")
    online.eval()
    target.eval()
    total = 0.0
    for i in range(0, len(views[0]), batch):
        a, b = (_as_input(v[i : i + batch], device) for v in views)
        total += float(byol_loss(online, target, a, b)) * len(a)
    online.train()
    target.train()
    return total / len(views[0])


def pretrain(
    regions: torch.Tensor,
    lengths: torch.Tensor,
    held_out: tuple[torch.Tensor, torch.Tensor],
    span: float,
    cfg: PretrainConfig,
    run_dir: Path,
    *,
    frames: int = 96,
    resume: bool = False,
    progress: bool = True,
) -> PretrainResult:
    """Pre-train on regions (N, M, R) with `lengths` (N,) real frames each (scaled log-mel, [0, 1]),
    validating on `held_out` (regions, lengths); checkpoints into run_dir every epoch and writes the
    encoder there (ENCODER) at the end."""
    if len(regions) < 2:
        raise ValueError(f"only {len(regions)} clips to pre-train on: at least 2 are needed")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    online = Byol(cfg).to(device, memory_format=torch.channels_last)
    target = WeightAverage(online, cfg.target_decay)
    optimizer = torch.optim.AdamW(online.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    shuffle, augment = torch.Generator().manual_seed(cfg.seed), torch.Generator().manual_seed(cfg.seed + 1)
    generators = {"shuffle": shuffle, "augment": augment}
    state = load_checkpoint(run_dir, online, optimizer, generators, target.module) if resume else None
    history: list[dict] = state["history"] if state else []
    val_gen = torch.Generator().manual_seed(cfg.seed + 2)
    val_views = two_views(held_out[0].float(), held_out[1], frames, span, cfg, val_gen)
    autocast = bf16_autocast(device, cfg.bf16)
    N, B = len(regions), min(cfg.batch_size, len(regions))
    per_epoch = max(1, (N - B) // B + 1)
    start = time.perf_counter()
    online.train()
    with StopRequest() as stop:
        for epoch in range(len(history) + 1, cfg.epochs + 1):
            perm = torch.randperm(N, generator=shuffle)
            batches = [perm[i : i + B] for i in range(0, N - B + 1, B)]  # drop_last
            total = 0.0
            bar = tqdm(
                batches,
                desc=f"pre-training {epoch}/{cfg.epochs}",
                unit="batch",
                disable=not progress,
                leave=False,
            )
            for i, idx in enumerate(bar):
                if stop.asked:
                    break
                set_lr(optimizer, lr_at(cfg, (epoch - 1) * per_epoch + i, per_epoch * cfg.epochs))
                a, b = (
                    _as_input(v, device)
                    for v in two_views(regions[idx], lengths[idx], frames, span, cfg, augment)
                )
                with autocast:
                    loss = byol_loss(online, target.module, a, b)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                target.update(online)
                total += float(loss.detach())
                bar.set_postfix(loss=f"{total / (bar.n + 1):.4f}")
            if stop.asked:
                break
            with autocast:
                val = _validate(online, target.module, val_views, device, 256)
            history.append({"epoch": epoch, "train_loss": total / len(batches), "val_loss": val})
            if progress:
                tqdm.write(
                    f"pre-training epoch {epoch:>3}  loss {total / len(batches):.4f}  | val loss {val:.4f}"
                )
            save_checkpoint(
                run_dir,
                online,
                optimizer,
                generators,
                {"epoch": epoch, "config": cfg.to_dict(), "history": history},
                average=target.module,
            )
    stopped = stopped_after(stop, history, cfg.epochs, run_dir, online, target.module)
    save_weights(run_dir / ENCODER, online.encoder)
    write_json_atomic(
        run_dir / "pretrain.json",
        {"config": cfg.to_dict(), "clips": N, "history": history, "stopped_after_epoch": stopped},
    )
    return PretrainResult(online.encoder.eval(), history, time.perf_counter() - start, stopped)
