"""Pictures of a training run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(history: list[dict], path: Path, title: str) -> Path:
    """Losses (train and validation) and validation recall@10 against chance, per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, term in zip(axes[:2], ("recon_loss", "contrastive_loss"), strict=True):
        ax.plot(epochs, [h["train"][term] for h in history], label="train")
        if all(term in h.get("val", {}) for h in history):
            ax.plot(epochs, [h["val"][term] for h in history], label="validation")
        ax.set_title(term.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.legend()
    ax = axes[2]
    if all("recall@10" in h.get("val", {}) for h in history):
        ax.plot(epochs, [h["val"]["recall@10"] for h in history], label="recall@10")
        ax.plot(epochs, [h["val"]["chance_recall@10"] for h in history], "--", label="chance")
        ax.set_ylim(0, 1)
        ax.legend()
    ax.set_title("validation text→audio")
    ax.set_xlabel("epoch")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
