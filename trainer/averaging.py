"""An exponential moving average of the weights while training: checkpoint averaging's cheap form.

Every optimizer step moves each averaged tensor a (1 − decay) part of the way to the model's
(BatchNorm's running statistics too, so the average is a whole model); at 36 steps an epoch (the full
corpus), a decay of 0.99 averages over about the last three epochs. Each epoch validates both; the
better one is what the run keeps.
"""

from __future__ import annotations

import copy

import torch


class WeightAverage:
    """The averaged copy of a model; `module` is a model of the same class, ready to evaluate or save."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the weight average's decay must be between 0 and 1, not {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for averaged, current in zip(
            self.module.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if averaged.dtype.is_floating_point:
                averaged.lerp_(current.detach(), 1.0 - self.decay)
            else:  # BatchNorm's step counts
                averaged.copy_(current)
