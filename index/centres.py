"""Centring: subtract each space's mean vector before the cosine, against hubness.

A small model's embeddings share one dominant direction (z_a is a ReLU output, and φ_a a linear map
of it): on the demo model any two clips' φ_a have a cosine near 0.98, so a few clips nearest the
common direction top every query. Subtracting the catalogue's mean φ_a from sounds, the mean φ_w of
their tag sets from text queries and tags, and the mean z_a for audio similarity spreads the scores
and lets other sounds win: on the demo model, 96 instead of 29 distinct sounds come first for the
1,017 training clips' tag queries. It is a trade: on held-out clips recall@10 stays 0.232 while
mAP@10 drops from 0.095 to 0.075 (`audiotag eval --task catalogue`, docs/eval-demo/catalogue-report.md).

Each index version stores its centres (`centres.npz`); an update keeps the centres it started from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.arrays import load_arrays
from model.files import write_atomic

FILE = "centres.npz"


@dataclass
class Centres:
    phi_a: np.ndarray  # (F,) mean φ_a of the catalogue's sounds
    phi_w: np.ndarray  # (F,) mean φ_w of their tag sets
    z_a: np.ndarray  # (V,) mean z_a

    def save(self, folder: Path) -> None:
        arrays = {"phi_a": self.phi_a, "phi_w": self.phi_w, "z_a": self.z_a}
        write_atomic(Path(folder) / FILE, lambda f: np.savez(f, **arrays))

    @classmethod
    def zeros(cls, word_dim: int, latent_dim: int) -> Centres:
        """No centring."""
        return cls(
            np.zeros(word_dim, np.float32), np.zeros(word_dim, np.float32), np.zeros(latent_dim, np.float32)
        )

    @classmethod
    def of(cls, phi_a: np.ndarray, phi_w: np.ndarray, z_a: np.ndarray) -> Centres:
        """The means of L2-normalised φ_a (N, F), φ_w (M, F) and z_a (N, V)."""
        return cls(phi_a.mean(axis=0), phi_w.mean(axis=0), z_a.mean(axis=0))

    @classmethod
    def load(cls, folder: Path, word_dim: int, latent_dim: int) -> Centres:
        """The version's centres; zeros (no centring) for versions written without them."""
        path = Path(folder) / FILE
        if not path.is_file():
            return cls.zeros(word_dim, latent_dim)
        d = load_arrays(path)
        return cls(d["phi_a"], d["phi_w"], d["z_a"])


def centred(x: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(…, D) vectors minus the centre, L2-normalised again."""
    y = np.asarray(x, np.float32) - centre
    return (y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-12)).astype(np.float32)
