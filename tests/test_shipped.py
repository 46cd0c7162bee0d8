"""The model that ships with audiotag: it loads from the package, says how it was made and measured,
and understands words no training tag used."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.bundle import Bundle
from model.shipped import SHIPPED

pytestmark = pytest.mark.skipif(not (SHIPPED / "manifest.json").is_file(), reason="no shipped model")


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return Bundle(SHIPPED, device="cpu")


def test_manifest_records_how_it_was_made_and_measured(shipped: Bundle) -> None:
    m = json.loads((SHIPPED / "manifest.json").read_text())
    assert m["inference_only"] and m["command"].startswith("audiotag ") and "train" in m["command"]
    assert m["train_config"]["recipe"] == "default" and m["train_config"]["seed"] == 0
    assert len(m["corpus"]["fingerprint"]) == 16 and m["libraries"]["torch"]
    figures = m["evaluation"]
    assert set(figures["tasks"]) == {"instruments", "drums", "sound-events"}
    assert figures["catalogue"]["recall@10"] > 10 * figures["catalogue"]["chance_recall@10"]
    size = sum(f.stat().st_size for f in SHIPPED.iterdir())
    assert size <= 25 * 2**20


def test_words_no_training_tag_used_land_near_their_kin(shipped: Bundle) -> None:
    vocabulary = set(shipped.vocabulary.words)
    for word in ("puppy", "thunderstorm", "kitten"):
        assert word not in vocabulary
        assert shipped.embed_tags([word]).unknown == []
    assert "hihat" in vocabulary  # a compound tag: trained on, with the vector of hi + hat
    puppy, dog, rain, thunderstorm, piano = shipped.embed_tag_sets(
        [["puppy"], ["dog"], ["rain"], ["thunderstorm"], ["piano"]]
    )
    assert float(puppy @ dog) > float(puppy @ piano) and float(puppy @ dog) > float(puppy @ rain)
    assert float(thunderstorm @ rain) > float(thunderstorm @ piano)


def test_it_embeds_audio_of_any_rate(shipped: Bundle) -> None:
    t = np.arange(48000) / 48000
    z, phi = shipped.embed_audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000)
    assert z.shape == (1152,) and phi.shape == (128,)
    assert abs(float(np.linalg.norm(z)) - 1) < 1e-4 and np.all(np.isfinite(phi))
