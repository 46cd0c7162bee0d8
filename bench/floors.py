"""What this machine can do at best, measured in the same run as a benchmark: its floor.

A figure alone means little on machines that change from day to day (AVX-512 and bf16 one day, AVX2
only the next, 3.5× slower at training), so every benchmark reports its figure beside one of these:
- `cpu_extensions`: the vector extensions the CPU reports (AVX2, AVX-512, AVX-512 BF16, AMX), from
  `cpu_info`, which report.machine also reads for the CPU's name, family and model;
- `matmul_gflops`: a large square matmul, the machine's arithmetic peak as torch reaches it;
- `conv_gflops`: a convolution shaped like the audio encoder's second block, its practical peak.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from model.device import autocast

# /proc/cpuinfo flag → the name printed, in order of appearance
EXTENSIONS = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx512_bf16": "AVX-512 BF16",
    "amx_tile": "AMX",
}


def cpu_info() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo ("model name", "cpu family", "flags", …); empty
    where there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {}
    info: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_extensions() -> list[str]:
    """The vector extensions of this CPU that matter to torch and FAISS (empty if unknown)."""
    flags = cpu_info().get("flags", "").split()
    return [name for flag, name in EXTENSIONS.items() if flag in flags]


def timed_rate(
    work: Callable[[], None], units: float, seconds: float = 1.0, device: torch.device | None = None
) -> float:
    """Units per second of `work` (each call does `units`) after one warm-up call: the best of three
    windows of `seconds` / 3 each, as a peak is (a shared machine only ever slows a window down)."""
    work()
    best = 0.0
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while True:
            work()
            calls += 1
            if device is not None and device.type == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / 3:
                best = max(best, units * calls / elapsed)
                break
    return best


def matmul_gflops(device: torch.device, bf16: bool = False, n: int = 1024, seconds: float = 1.5) -> float:
    """GFLOP/s of an n × n matmul in fp32 (or bf16 where asked)."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    a, b = (torch.rand(n, n, device=device, dtype=dtype) for _ in range(2))
    return timed_rate(lambda: torch.mm(a, b), 2 * n**3 / 1e9, seconds, device)


def conv_gflops(device: torch.device, bf16: bool = False, seconds: float = 1.5) -> float:
    """GFLOP/s of the audio encoder's second block alone: a 4×4 stride-2 convolution, 128 → 128
    channels, 48 × 48 → 24 × 24, batch 128, channels-last, forward only, under the trainer's autocast."""
    batch, channels, side = 128, 128, 24  # side: the output's
    conv = torch.nn.Conv2d(channels, channels, 4, 2, 1, bias=False)
    conv = conv.to(device, memory_format=torch.channels_last)
    x = torch.rand(batch, channels, 2 * side, 2 * side, device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    flops = 2 * batch * channels * channels * 16 * side * side / 1e9

    @torch.no_grad()
    def work() -> None:
        with autocast(device, bf16):
            conv(x)

    return timed_rate(work, flops, seconds, device)
