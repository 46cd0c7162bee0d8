"""The write-shards stage of a build: each shard's file and sounds, written atomically, read back in
order. The single-machine build and the Ray build (index/ray_build.py) write through the same writer,
so either can resume the other's build."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.plan import Plan
from model.arrays import load_arrays
from model.files import write_atomic


def shard_layout(plan: Plan, work: Path, shard_size: int) -> list[tuple[Path, range]]:
    """Each shard's file and the plan positions it holds: shard-00000.npz …, `shard_size` sounds each."""
    n_shards = max(1, -(-len(plan.ids) // shard_size))
    return [
        (work / f"shard-{k:05d}.npz", range(k * shard_size, min((k + 1) * shard_size, len(plan.ids))))
        for k in range(n_shards)
    ]


def write_shard(
    path: Path, ids: np.ndarray, z: np.ndarray, phi: np.ndarray, left_out: list[tuple[str, str]]
) -> None:
    """One shard, atomically: ids (n,), z_a (n, V), φ_a (n, F), and the sounds left out with why."""
    shard = {
        "ids": ids, "z_a": z, "phi_a": phi,
        "left_out_uids": np.array([u for u, _ in left_out], dtype=str),
        "left_out_reasons": np.array([r for _, r in left_out], dtype=str),
    }  # fmt: skip
    write_atomic(path, lambda f: np.savez(f, **shard))


def load_shards(paths: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """(ids, z_a, φ_a, [(uid, reason) of the sounds left out]) of every shard, in order."""
    parts = [load_arrays(p) for p in paths]
    left_out = [
        (str(u), str(r))
        for p in parts
        if "left_out_uids" in p
        for u, r in zip(p["left_out_uids"], p["left_out_reasons"], strict=True)
    ]
    return (
        np.concatenate([p["ids"] for p in parts]),
        np.concatenate([p["z_a"] for p in parts]),
        np.concatenate([p["phi_a"] for p in parts]),
        left_out,
    )
