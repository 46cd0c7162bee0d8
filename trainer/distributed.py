"""Training in several processes under `torchrun` (DistributedDataParallel): gloo on CPUs, NCCL on GPUs.

Every process draws the same permutation of the training clips and takes its share of each global
batch (`Ranks.share`: the distributed sampler), so the global batch is the single-process one. The
contrastive loss must see the whole global batch as its negatives, as it does in one process: the
processes gather φ_a and φ_w (`Ranks.gather`, differentiable), each computes the same global loss,
and DDP's mean of the gradients is then exactly the single-process gradient (the gather's backward
sums the world's copies, the mean divides by the world). BatchNorm is synchronised (SyncBatchNorm)
on GPUs; PyTorch has no SyncBatchNorm on CPUs, where each process normalises its own share and rank
0's running statistics are kept (DDP broadcasts them). Rank 0 alone trains or loads the word vectors,
evaluates, checkpoints and writes the bundle.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def device(self, device: torch.device) -> torch.device:
        """This process's GPU under torchrun (one per process), else `device`."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.distributed else device

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's clips of a global batch (B,) → (B / world,)."""
        return batch[self.rank :: self.world]

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Every process's rows, in rank order: (b, D) → (world·b, D); gradients flow back to each."""
        return _Gather.apply(x.contiguous()) if self.distributed else x

    def mean(self, value: float) -> float:
        """The mean of a number over the processes (for logging)."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t) / self.world

    def wait(self) -> None:
        """Every process reaches this point before any goes on (rank 0 wrote something the others read)."""
        if self.distributed:
            dist.barrier()

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The module the training steps run: DDP over `model` (SyncBatchNorm on GPUs), or `model`."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            return DistributedDataParallel(model, device_ids=[device.index])
        return DistributedDataParallel(model)


class _Gather(torch.autograd.Function):
    """all_gather whose backward hands each process the sum, over the processes, of the gradient of
    its own rows (every process computed a loss of all the rows)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # (b, D) → (world·b, D)
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x)
        ctx.rows = (dist.get_rank() * len(x), (dist.get_rank() + 1) * len(x))
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # (world·b, D) → (b, D)
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start, end = ctx.rows
        return grad[start:end]


def join(device_name: str = "auto") -> Ranks:
    """The process group torchrun set up (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR in the environment),
    joined once; one process alone without torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        cuda = device_name != "cpu" and torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group("nccl" if cuda else "gloo")
    return ranks


def leave() -> None:
    """Leave the process group. DDP wrappers still waiting for the garbage collector are finalised
    first: one finalised after the group is gone aborts the process (std::terminate)."""
    if dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
