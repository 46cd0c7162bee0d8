"""Where inference and training run, and whether bfloat16 pays off there."""

from __future__ import annotations

import os

import torch

# `off` turns bfloat16 autocast off everywhere (training and inference), e.g. to check that results
# do not depend on the CPU's arithmetic; `auto` (the default) uses it where it is native.
BF16_ENV = "AUDIOTAG_BF16"


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA when torch sees a GPU; asking for `cuda` without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA GPU")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}: choose auto, cpu or cuda")
    return torch.device(name)


def bf16_supported(device: torch.device) -> bool:
    """bfloat16 autocast pays off on CUDA and on CPUs with native bf16 (AVX512-BF16, AMX)."""
    if os.environ.get(BF16_ENV, "auto").lower() in ("off", "0", "false", "no"):
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast(device: torch.device, enabled: bool = True) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled and bf16_supported(device))
