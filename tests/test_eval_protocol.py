"""The MFCC baseline and the repeated MLP protocol on real audio the test makes."""

from __future__ import annotations

import numpy as np

from tests.conftest import tone
from trainer.eval.baseline import mfcc_embedding
from trainer.eval.classifier import repeated_accuracy


def test_mfcc_embedding_is_120_finite_values() -> None:
    e = mfcc_embedding(tone(440.0, 1.0))
    assert e.shape == (120,) and np.isfinite(e).all()
    assert not np.allclose(e, mfcc_embedding(tone(2000.0, 1.0)))


def test_mlp_protocol_separates_low_and_high_tones() -> None:
    freqs = [150 + 20 * i for i in range(10)] + [3000 + 200 * i for i in range(10)]
    x = np.stack([mfcc_embedding(tone(f, 0.5, seed=i)) for i, f in enumerate(freqs)])
    y = np.array(["low"] * 10 + ["high"] * 10)
    splits = [
        (f"fold {k}", [i for i in range(20) if i % 2 != k], [i for i in range(20) if i % 2 == k])
        for k in (0, 1)
    ]
    acc = repeated_accuracy(x, y, splits, repeats=3)
    assert len(acc.runs) == 3 and acc.mean > 0.9
    assert str(acc).count("±") == 1
