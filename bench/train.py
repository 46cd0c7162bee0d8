"""Training throughput against the machine's own peak, measured in the same run.

    python -m bench.train [--variant w2v-128-4h] [--batch-size 128] [--steps 6] [--device auto]

Each precision (fp32, and bf16 autocast where the device has native bf16) reports samples/s of full
training steps on random patches (the default trainer's path: its dropout, 50-d GloVe input,
channels-last, AdamW, in a process that keeps its freed memory as `audiotag train` does), the FLOPs
of one sample (counted by torch's FLOP counter), the GFLOP/s that makes, and the same-run peak of a
convolution shaped like the encoder's (bench/floors.py) with the ratio of the two: the issue's goal is
≥ 0.4. Also extrapolates the time of the paper's scale (190k patches × 200 epochs = 38 M samples).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.floors import conv_gflops, matmul_gflops
from bench.report import markdown_table, show, write_section
from model.device import autocast, bf16_supported, resolve_device
from model.losses import JointLoss
from model.memory import keep_freed_memory
from model.networks import AudioTagModel
from trainer.config import TrainConfig
from trainer.loop import model_config
from trainer.optim import make_optimizer

PAPER_SAMPLES = 190_000 * 200
GOAL = 0.4  # samples/s ≥ 0.4 × the conv peak, converted to samples/s
GLOVE_DIM = 50  # the default word vectors' dimension, projected to F_w by the model


def training_step(
    name: str, device: torch.device, batch: int, bf16: bool, compile: bool
) -> Callable[[], None]:
    """One full step (forward, both losses, backward, the default optimiser) on fixed random data."""
    torch.manual_seed(0)
    train_cfg = TrainConfig(variant=name)
    cfg = model_config(train_cfg, GLOVE_DIM)
    model = AudioTagModel(cfg).to(device, memory_format=torch.channels_last).train()
    step_model = torch.compile(model) if compile else model
    loss_fn, opt = JointLoss(), make_optimizer(train_cfg, model.parameters())
    x = torch.rand(batch, 1, 96, 96, device=device).contiguous(memory_format=torch.channels_last)
    w = torch.randn(batch, cfg.max_tags, cfg.word_vector_dim, device=device)
    mask = torch.arange(cfg.max_tags, device=device)[None, :] < torch.randint(
        1, cfg.max_tags + 1, (batch, 1), device=device
    )

    def step() -> None:
        with autocast(device, bf16):
            out = step_model(x, w, mask)
        loss = loss_fn(x, out)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def flops_per_sample(step: Callable[[], None], batch: int) -> float:
    """FLOPs of one sample through a step, by torch's counter (matmuls and convolutions)."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / batch


def samples_per_s(step: Callable[[], None], device: torch.device, batch: int, steps: int) -> float:
    """Samples/s over `steps` steps, after two warm-up steps."""
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="w2v-128-4h")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile")
    args = ap.parse_args()
    keep_freed_memory()  # as the batch command it measures does
    device = resolve_device(args.device)
    modes = [(False, False)] + ([(True, False)] if bf16_supported(device) else [])
    if args.compile:
        modes.append((modes[-1][0], True))
    columns = [
        "precision",
        "compiled",
        "samples/s",
        "GFLOP / sample",
        "achieved GFLOP/s",
        "conv peak GFLOP/s (same run)",
        "ratio (goal ≥ 0.4)",
        "matmul peak GFLOP/s",
        "paper scale (38 M samples)",
    ]
    rows = []
    for bf16, compiled in modes:
        step = training_step(args.variant, device, args.batch_size, bf16, compiled)
        per_sample = flops_per_sample(step, args.batch_size) / 1e9
        sps = samples_per_s(step, device, args.batch_size, args.steps)
        peak, matmul = conv_gflops(device, bf16), matmul_gflops(device, bf16)
        ratio = sps * per_sample / peak
        rows.append(
            [
                "bf16 autocast" if bf16 else "fp32",
                "yes" if compiled else "no",
                f"{sps:,.0f}",
                f"{per_sample:.2f}",
                f"{sps * per_sample:,.0f}",
                f"{peak:,.0f}",
                f"{ratio:.2f} ({'met' if ratio >= GOAL else 'missed'})",
                f"{matmul:,.0f}",
                f"{PAPER_SAMPLES / sps / 3600:,.1f} h (extrapolated)",
            ]
        )
    show("training throughput", columns, rows)
    write_section(
        f"Training throughput ({device.type})",
        f"Variant {args.variant}, batch {args.batch_size}, {args.steps} timed steps.\n\n"
        + markdown_table(columns, rows)
        + "\n\nA sample is one 96×96 patch with its tags through forward, both losses, backward and an "
        "AdamW step (the default trainer's path: its dropout (none in the encoder, 0.1 in the projection and "
        "decoder), 50-d GloVe input, channels-last, bf16 autocast where the device has native bf16, in a "
        "process that keeps the memory it frees as `audiotag train` does). "
        "GFLOP / sample counts matmuls and convolutions (torch's FLOP counter). The floor is the "
        "same run's peak of the encoder's second convolution alone, forward, in the same precision "
        "(bench/floors.py): the ratio is achieved ÷ peak GFLOP/s, the issue's goal ≥ 0.4. The matmul peak "
        "(1024² fp32 or bf16) is printed for reference. The paper-scale column divides 190k patches × 200 "
        "epochs by the measured rate; it was not run.",
    )


if __name__ == "__main__":
    main()
