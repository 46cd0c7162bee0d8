"""The MFCC baseline and the repeated MLP protocol on real audio the test makes."""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

from model.features import log_mel
from tests.conftest import tone
from trainer.eval.baseline import deltas, mfcc, mfcc_embedding
from trainer.eval.classifier import repeated_accuracy


def _embed(wave: np.ndarray) -> np.ndarray:
    return mfcc_embedding(log_mel(wave))


def test_mfcc_embedding_is_120_finite_values() -> None:
    e = _embed(tone(440.0, 1.0))
    assert e.shape == (120,) and np.isfinite(e).all()
    assert not np.allclose(e, _embed(tone(2000.0, 1.0)))


def test_mfcc_and_deltas_equal_torchaudio() -> None:
    logmel = log_mel(tone(330.0, 1.0))  # (96, T) natural log
    want = (
        torchaudio.functional.create_dct(20, 96, norm="ortho").T.double() @ torch.from_numpy(logmel).double()
    )
    assert np.allclose(mfcc(logmel.astype(np.float64)), want.numpy(), atol=1e-4)
    d = torchaudio.functional.compute_deltas(want.float(), win_length=5).numpy()
    assert np.allclose(deltas(want.numpy()), d, atol=1e-4)


def test_deltas_of_a_ramp_are_its_slope() -> None:
    ramp = np.arange(20, dtype=np.float64)[None, :] * 3.0
    assert np.allclose(deltas(ramp)[0, 2:-2], 3.0)


def test_mlp_protocol_separates_low_and_high_tones() -> None:
    freqs = [150 + 20 * i for i in range(10)] + [3000 + 200 * i for i in range(10)]
    x = np.stack([_embed(tone(f, 0.5, seed=i)) for i, f in enumerate(freqs)])
    y = np.array(["low"] * 10 + ["high"] * 10)
    splits = [
        (f"fold {k}", [i for i in range(20) if i % 2 != k], [i for i in range(20) if i % 2 == k])
        for k in (0, 1)
    ]
    acc = repeated_accuracy(x, y, splits, repeats=3)
    assert len(acc.runs) == 3 and acc.mean > 0.9
    assert str(acc).count("±") == 1
