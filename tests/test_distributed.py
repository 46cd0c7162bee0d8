"""Training in several processes: the gathered contrastive loss gives the single-process gradient
exactly, and `audiotag train` under torchrun (2 CPU processes, gloo) follows the single-process loss
curve and writes one bundle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bench.ports import free_port
from model.losses import nt_xent
from tests.conftest import run_cli
from trainer.distributed import Ranks, leave

TAU = 0.1


class _Pair(torch.nn.Module):
    """Two linear encoders: audio features (b, 6) → (b, 4), tag features (b, 5) → (b, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.audio, self.tags = torch.nn.Linear(6, 4), torch.nn.Linear(5, 4)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.audio(x), self.tags(w)


def _toy_gradient(rank: int, world: int, port: int, out: str) -> None:
    """One backward pass on a global batch of 8 pairs, this process holding its share, through DDP."""
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    ranks = Ranks(rank, world)
    torch.manual_seed(0)
    pair = _Pair()
    x, w = torch.randn(8, 6), torch.randn(8, 5)
    mine = ranks.share(torch.arange(8))
    model = ranks.wrap(pair, torch.device("cpu"))  # held: DDP's gradient hooks die with the wrapper
    phi_a, phi_w = model(x[mine], w[mine])
    loss = nt_xent(ranks.gather(phi_a), ranks.gather(phi_w), TAU)
    loss.backward()
    if rank == 0:
        torch.save({"loss": loss.detach(), "grads": {n: p.grad for n, p in pair.named_parameters()}}, out)
    del model, phi_a, phi_w, loss  # the DDP wrapper and its graph go before the process group
    leave()


def test_the_gathered_loss_gives_the_single_process_gradient(tmp_path: Path) -> None:
    _toy_gradient(0, 1, 0, str(tmp_path / "one.pt"))
    mp.spawn(_toy_gradient, args=(2, free_port(), str(tmp_path / "two.pt")), nprocs=2, join=True)
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    assert torch.allclose(one["loss"], two["loss"], atol=1e-6)
    for name, grad in one["grads"].items():
        assert torch.allclose(grad, two["grads"][name], atol=1e-6), name


def _history(data: Path) -> list[dict]:
    return json.loads((data / "runs" / "w2v-128-4h" / "history.json").read_text())


def test_train_under_torchrun_follows_the_single_process_run(trained_data_dir: Path, tmp_path: Path) -> None:
    flags = ["train", "--epochs", "4", "--batch-size", "8", "--device", "cpu", "--no-augment", "--mix", "0",
             "--tag-subsets", "0", "--crops", "best", "--audio-dropout", "0", "--last-epoch"]  # fmt: skip
    single = Path(shutil.copytree(trained_data_dir, tmp_path / "single"))
    shutil.rmtree(single / "runs")
    done = run_cli("--data-dir", str(single), *flags)
    assert done.returncode == 0, done.stderr

    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data"))
    shutil.rmtree(data / "runs")
    before = set((data / "bundles").iterdir())
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run(
        [str(torchrun), "--nproc-per-node", "2", "--master-port", str(free_port()),
         "-m", "app", "--data-dir", str(data), *flags],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "in 2 processes" in proc.stdout and proc.stdout.count("bundle:") == 1
    assert len(set((data / "bundles").iterdir()) - before) == 1  # rank 0 alone wrote a bundle

    one, two = _history(single), _history(data)
    assert [h["epoch"] for h in two] == [1, 2, 3, 4]
    for a, b in zip(one, two, strict=True):
        for term in ("recon_loss", "contrastive_loss"):
            assert abs(a["train"][term] - b["train"][term]) <= 0.1 * a["train"][term], (term, one, two)
    assert two[-1]["train"]["contrastive_loss"] < two[0]["train"]["contrastive_loss"]  # it learns


def test_a_batch_the_processes_cannot_share_is_a_clear_error(trained_data_dir: Path, tmp_path: Path) -> None:
    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data"))
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run(
        [str(torchrun), "--nproc-per-node", "2", "--master-port", str(free_port()),
         "-m", "app", "--data-dir", str(data), "train", "--epochs", "1", "--batch-size", "7",
         "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0 and "not a multiple of the 2 processes" in proc.stderr
