"""Training views of a clip: random crops, and augmentations that suit sound.

Everything works on scaled log-mel ([0, 1], where 0 is the silence floor) in torch, on the CPU or
GPU, drawing from one seeded generator so that a run resumes exactly.
"""

from __future__ import annotations

import math

import torch

MAX_GAIN = math.log(10 ** (6 / 20))  # ±6 dB, in natural-log magnitude
MAX_MEL_MASK, MAX_TIME_MASK = 12, 16  # widest frequency and time masks (bins, frames)


def random_crops(
    regions: torch.Tensor, lengths: torch.Tensor, frames: int, gen: torch.Generator
) -> torch.Tensor:
    """A random `frames`-wide window of each region (B, M, R) with L real frames each → (B, M, frames).

    Regions longer than the window give a random start; shorter ones a random place in the window
    (a time shift), silence around them.
    """
    B, M, R = regions.shape
    L = lengths.to(torch.float32)
    low = torch.clamp(L - frames, max=0.0)  # < 0: the clip sits inside the window
    high = torch.clamp(L - frames, min=0.0)
    u = torch.rand(B, generator=gen).to(regions.device)
    start = torch.floor(low + u * (high - low + 1)).clamp(max=high).long()  # (B,)
    t = start[:, None] + torch.arange(frames, device=regions.device)  # (B, frames)
    valid = (t >= 0) & (t < lengths[:, None].to(regions.device))
    idx = t.clamp(0, R - 1)[:, None, :].expand(B, M, frames)
    return torch.gather(regions, 2, idx) * valid[:, None, :].to(regions.dtype)  # (B, M, frames)


def random_gain(x: torch.Tensor, span: float, gen: torch.Generator) -> torch.Tensor:
    """Each clip (B, M, P) louder or quieter by up to ±6 dB; silence stays silence."""
    g = (torch.rand(x.shape[0], 1, 1, generator=gen) * 2 - 1).to(x.device) * (MAX_GAIN / span)
    return torch.where(x > 0, (x + g).clamp(0.0, 1.0), x)


def random_masks(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """SpecAugment: one band of up to 12 mel bins and one run of up to 16 frames silenced per clip."""
    B, M, P = x.shape
    out = x.clone()
    for size, width, axis in ((M, MAX_MEL_MASK, 1), (P, MAX_TIME_MASK, 2)):
        w = torch.randint(0, width + 1, (B,), generator=gen)
        s = (torch.rand(B, generator=gen) * (size - w + 1)).long()
        pos = torch.arange(size)[None, :]
        band = ((pos >= s[:, None]) & (pos < (s + w)[:, None])).to(x.device)  # (B, size)
        out = out.masked_fill(band[:, :, None] if axis == 1 else band[:, None, :], 0.0)
    return out


def mix_clips(
    x: torch.Tensor, tag_rows: torch.Tensor, fraction: float, span: float, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix a `fraction` of the clips (B, M, P) with another clip of the batch at a random level; a mixed
    clip carries the union of both tag sets (B, T rows of the word table, 0 = pad, rarest dropped)."""
    B, T = tag_rows.shape
    n = int(round(fraction * B))
    if n == 0 or B < 2:
        return x, tag_rows
    who = torch.randperm(B, generator=gen)[:n]
    other = (who + torch.randint(1, B, (n,), generator=gen)) % B  # never the clip itself
    level = (torch.rand(n, 1, 1, generator=gen) * 2 - 1).to(x.device) * (MAX_GAIN / span)
    a, b = x[who] * span, (x[other] + level).clamp(min=0.0) * span  # log magnitude above the floor
    mixed = torch.log(torch.exp(a) + torch.exp(b) - 1.0).clamp(0.0, span) / span  # magnitudes add
    x = x.clone()
    x[who] = mixed
    tag_rows = tag_rows.clone()
    tag_rows[who] = union_rows(tag_rows[who], tag_rows[other])
    return x, tag_rows


def union_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise union of two (n, T) tag-row tensors, lowest rows (most frequent words) first, T kept."""
    T = a.shape[1]
    big = int(max(a.max(), b.max())) + 1
    both = torch.cat([a, b], dim=1)
    both = torch.where(both == 0, big, both).sort(dim=1).values  # (n, 2T), pads last
    dup = torch.zeros_like(both, dtype=torch.bool)
    dup[:, 1:] = both[:, 1:] == both[:, :-1]
    both = torch.where(dup, big, both).sort(dim=1).values[:, :T]
    return torch.where(both == big, 0, both)


def random_tag_subsets(tag_rows: torch.Tensor, fraction: float, gen: torch.Generator) -> torch.Tensor:
    """A `fraction` of the clips (B, T tag rows, real tags first, 0 = pad) keep a random non-empty
    subset of their tags (each kept with probability 1/2): users query one or two words, not a set."""
    B, T = tag_rows.shape
    real = tag_rows > 0
    chosen = torch.rand(B, generator=gen) < fraction
    keep = torch.rand(B, T, generator=gen) < 0.5
    one = (torch.rand(B, generator=gen) * real.sum(dim=1)).long().clamp(max=T - 1)  # always kept
    keep[torch.arange(B), one] = True
    subset = torch.where(keep & real, tag_rows, 0)
    return torch.where(chosen[:, None].to(tag_rows.device), subset, tag_rows)
