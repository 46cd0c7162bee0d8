"""The training views: random crops, gain, masks, mixing with united tags, tag subsets, the schedule."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from trainer.augment import (
    mix_clips,
    random_crops,
    random_gain,
    random_masks,
    random_tag_subsets,
    union_rows,
)
from trainer.config import TrainConfig
from trainer.optim import lr_at


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_random_crops_stay_inside_long_regions_and_shift_short_clips() -> None:
    M, R, P = 4, 12, 6
    frames = torch.arange(R, dtype=torch.float32) + 1.0  # frame t holds t + 1 in every mel row
    regions = frames.expand(3, M, R).clone()
    lengths = torch.tensor([12, 3, 6])
    for seed in range(20):
        out = random_crops(regions, lengths, P, _gen(seed))
        assert out.shape == (3, M, P)
        long = out[0, 0]
        assert torch.equal(long, torch.arange(long[0], long[0] + P))  # a contiguous window
        short = out[1, 0]
        assert torch.equal(short[short > 0], torch.tensor([1.0, 2.0, 3.0]))  # the whole clip, shifted
        assert torch.equal(out[2, 0], torch.arange(1.0, 7.0))  # exactly one window fits


def test_gain_and_masks_keep_silence_and_range() -> None:
    x = torch.rand(8, 16, 20) * 0.9
    x[:, :, :5] = 0.0  # silence
    y = random_masks(random_gain(x, span=13.0, gen=_gen()), _gen(1))
    assert y.shape == x.shape and y.min() >= 0.0 and y.max() <= 1.0
    assert torch.all(y[:, :, :5] == 0.0)
    assert (y == 0).sum() > (x == 0).sum()  # something was masked


def test_union_rows_keeps_frequent_tags_first_without_duplicates() -> None:
    a = torch.tensor([[3, 7, 0, 0], [1, 2, 3, 4]])
    b = torch.tensor([[7, 2, 9, 0], [5, 6, 0, 0]])
    assert union_rows(a, b).tolist() == [[2, 3, 7, 9], [1, 2, 3, 4]]


def test_mix_unites_tags_and_adds_magnitudes() -> None:
    x = torch.zeros(4, 2, 3)
    x[0] = 0.5
    x[1] = 0.5
    rows = torch.tensor([[1, 0], [2, 0], [3, 0], [4, 0]])
    mixed, tags = mix_clips(x, rows, fraction=1.0, span=10.0, gen=_gen())
    assert torch.all(mixed >= x - 1e-6)  # adding a sound never removes energy
    changed = [i for i in range(4) if tags[i, 1] != 0]
    assert len(changed) == 4 and all(rows[i, 0] in tags[i] for i in range(4))


def test_tag_subsets_are_never_empty() -> None:
    rows = torch.tensor([[1, 2, 3, 4, 5], [6, 0, 0, 0, 0], [7, 8, 0, 0, 0]]).repeat(50, 1)
    out = random_tag_subsets(rows, fraction=1.0, gen=_gen())
    assert torch.all((out > 0).sum(dim=1) >= 1)
    assert torch.all((out == 0) | (out == rows))  # only the clip's own tags, in place
    assert (out > 0).sum() < (rows > 0).sum()  # and some were dropped
    assert torch.equal(random_tag_subsets(rows, fraction=0.0, gen=_gen()), rows)


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    cfg = replace(TrainConfig(), lr=1e-3, warmup=0.1, schedule="cosine")
    lrs = [lr_at(cfg, s, 100) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False)) and lrs[-1] < 1e-5
    assert lr_at(replace(cfg, warmup=0.0, schedule="constant"), 50, 100) == 1e-3
