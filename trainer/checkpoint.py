"""A training checkpoint: one safetensors file of tensors plus a JSON sidecar readable without torch."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from model.files import write_atomic, write_json_atomic

TENSORS, SIDECAR, OPTIMIZER = "checkpoint.safetensors", "checkpoint.json", "optimizer.pt"


def save_checkpoint(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    info: dict,
    average: torch.nn.Module | None = None,
) -> None:
    """Model tensors (and those of its weight average), RNG states, optimizer state, then the sidecar
    last: it marks the checkpoint whole."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if average is not None:
        tensors |= {f"average.{k}": v.detach().cpu().contiguous() for k, v in average.state_dict().items()}
    tensors["rng.torch"] = torch.get_rng_state()
    for name, gen in generators.items():
        tensors[f"rng.{name}"] = gen.get_state()
    write_atomic(run_dir / TENSORS, lambda f: f.write(save(tensors)))
    write_atomic(run_dir / OPTIMIZER, lambda f: torch.save(optimizer.state_dict(), f))
    write_json_atomic(run_dir / SIDECAR, info)


def load_checkpoint(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    average: torch.nn.Module | None = None,
) -> dict | None:
    """Restore what save_checkpoint wrote; None when the run has no checkpoint."""
    if not (run_dir / SIDECAR).is_file():
        return None
    tensors = load_checkpoint_weights(run_dir, model, average)
    torch.set_rng_state(tensors["rng.torch"])
    for name, gen in generators.items():
        gen.set_state(tensors[f"rng.{name}"])
    optimizer.load_state_dict(torch.load(run_dir / OPTIMIZER, weights_only=True))
    return json.loads((run_dir / SIDECAR).read_text())


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def save_weights(path: Path, model: torch.nn.Module) -> None:
    """The model's tensors alone (the best epoch so far)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(path, lambda f: f.write(save(state)))


def load_weights(path: Path, model: torch.nn.Module) -> None:
    model.load_state_dict(load_file(str(path)))


def load_checkpoint_weights(
    run_dir: Path, model: torch.nn.Module, average: torch.nn.Module | None = None
) -> dict[str, torch.Tensor]:
    """The model's tensors (and its weight average's: the model's where it kept none) as the last
    checkpoint holds them, the last whole epoch; every tensor of the checkpoint is returned."""
    tensors = load_file(str(run_dir / TENSORS))
    model.load_state_dict(_prefixed(tensors, "model."))
    if average is not None:
        average.load_state_dict(_prefixed(tensors, "average.") or _prefixed(tensors, "model."))
    return tensors
