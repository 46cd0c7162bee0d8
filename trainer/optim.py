"""The optimiser and its learning-rate schedule (linear warm-up, then cosine decay or constant)."""

from __future__ import annotations

import math
from typing import Protocol

import torch

from trainer.config import TrainConfig


class Schedule(Protocol):
    """What the learning-rate schedule reads from a run's config (training's or pre-training's)."""

    lr: float
    warmup: float  # fraction of the steps warming up
    schedule: str  # cosine or constant


def parameter_groups(model: torch.nn.Module, encoder_share: float) -> list[dict]:
    """The model's parameters for the optimiser: its audio encoder's at `encoder_share` of the
    learning rate (`set_lr`), the rest at the full rate. At a share of 1, one group, as before
    the share existed (so older checkpoints resume); at 0 the encoder is locked: its parameters
    get no gradient and are left out."""
    if encoder_share == 1:
        return [{"params": list(model.parameters())}]
    encoder = list(model.audio_encoder.parameters())
    in_encoder = {id(p) for p in encoder}
    groups = [{"params": [p for p in model.parameters() if id(p) not in in_encoder]}]
    if encoder_share > 0:
        groups.append({"params": encoder, "lr_share": encoder_share})
    for p in encoder:
        p.requires_grad_(encoder_share > 0)
    return groups


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """The config's optimiser (TrainConfig has checked the name) over parameters or groups."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_at(cfg: Schedule, step: int, total: int) -> float:
    """The learning rate of step `step` (0-based) of `total`."""
    warm = int(cfg.warmup * total)
    if step < warm:
        return cfg.lr * (step + 1) / warm
    if cfg.schedule == "constant":
        return cfg.lr
    progress = (step - warm) / max(1, total - warm)  # cosine decay to 0
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """`lr` for every parameter group, times the group's `lr_share` where it has one."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_share", 1.0)
