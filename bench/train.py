"""Training throughput of one variant: samples per second of full training steps on random patches.

    python -m bench.train [--variant w2v-128-4h] [--batch-size 128] [--steps 6] [--device auto]

Also extrapolates the time of the paper's scale (190k patches × 200 epochs = 38 M samples).
"""

from __future__ import annotations

import argparse
import time

import torch

from bench.report import markdown_table, show, write_section
from model.config import variant
from model.device import autocast, bf16_supported, resolve_device
from model.losses import JointLoss
from model.networks import AudioTagModel

PAPER_SAMPLES = 190_000 * 200


def measure(name: str, device: torch.device, batch: int, steps: int, bf16: bool, compile: bool) -> float:
    """Samples/s of forward + loss + backward + SGD step, after two warm-up steps."""
    torch.manual_seed(0)
    cfg = variant(name)
    model = AudioTagModel(cfg).to(device, memory_format=torch.channels_last).train()
    step_model = torch.compile(model) if compile else model
    loss_fn, opt = JointLoss(), torch.optim.SGD(model.parameters(), lr=0.005)
    x = torch.rand(batch, 1, 96, 96, device=device).contiguous(memory_format=torch.channels_last)
    w = torch.randn(batch, 10, cfg.word_dim, device=device)
    mask = torch.arange(10, device=device)[None, :] < torch.randint(1, 11, (batch, 1), device=device)

    def step() -> None:
        with autocast(device, bf16):
            out = step_model(x, w, mask)
        loss = loss_fn(x, out)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

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
    device = resolve_device(args.device)
    modes = [(False, False)] + ([(True, False)] if bf16_supported(device) else [])
    if args.compile:
        modes.append((modes[-1][0], True))
    columns = [
        "variant",
        "device",
        "precision",
        "compiled",
        "batch",
        "samples/s",
        "paper scale (38 M samples)",
    ]
    rows = []
    for bf16, compiled in modes:
        sps = measure(args.variant, device, args.batch_size, args.steps, bf16, compiled)
        hours = PAPER_SAMPLES / sps / 3600
        rows.append(
            [
                args.variant,
                device.type,
                "bf16 autocast" if bf16 else "fp32",
                "yes" if compiled else "no",
                str(args.batch_size),
                f"{sps:,.0f}",
                f"{hours:,.1f} h (extrapolated)",
            ]
        )
    show("training throughput", columns, rows)
    write_section(
        f"Training throughput ({device.type})",
        markdown_table(columns, rows) + "\n\nA sample is one 96×96 patch with its tags through forward, "
        "both losses, backward and an SGD step (the default trainer's path: channels-last, bf16 autocast "
        "where the device has native bf16). The paper-scale column divides 190k patches × 200 epochs by "
        "the measured rate; it was not run.",
    )


if __name__ == "__main__":
    main()
