"""Tag normalisation and the vocabulary, with the reference code's bugs fixed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from model.singular import singularise
from model.tags import Vocabulary, normalise_tag, normalise_tags, split_words


@pytest.mark.parametrize(
    "word",
    [
        "glass",
        "bass",
        "gas",
        "bus",
        "police",
        "series",
        "news",
        "species",
        "chaos",
        "tennis",
        "famous",
        "electronics",
        "lens",
        "atlas",
        "canvas",
    ],
)
def test_singular_words_stay_intact(word):
    assert singularise(word) == word


@pytest.mark.parametrize(
    "plural,singular",
    [
        ("drums", "drum"),
        ("footsteps", "footstep"),
        ("glasses", "glass"),
        ("buses", "bus"),
        ("gases", "gas"),
        ("basses", "bass"),
        ("bodies", "body"),
        ("zombies", "zombie"),
        ("dies", "die"),
        ("echoes", "echo"),
        ("shoes", "shoe"),
        ("boxes", "box"),
        ("switches", "switch"),
        ("wolves", "wolf"),
        ("waves", "wave"),
        ("horses", "horse"),
        ("keys", "key"),
        ("men", "man"),
        ("mice", "mouse"),
        ("oboes", "oboe"),
    ],
)
def test_plurals(plural, singular):
    assert singularise(plural) == singular


def test_normalise_splits_drops_and_singularises():
    assert normalise_tag("Dog-Barks") == ["dog", "bark"]
    assert normalise_tag("the") == []
    assert normalise_tag("a") == []
    assert normalise_tag("x") == []
    assert normalise_tag("field_recording") == ["field", "recording"]
    assert normalise_tags(["Glass", "glasses", "explosion 2", "of"]) == ["glass", "explosion"]
    assert split_words("hiHat2open") == ["hi", "hat", "open"]


def test_vocabulary_drops_ubiquitous_and_rare_words_and_keeps_top_c():
    sets = [["noise", "dog"]] * 8 + [["noise", "cat"]] * 3 + [["bird", "cat"]] * 2 + [["once"]]
    v = Vocabulary.fit(sets, size=2, max_fraction=0.7, min_count=2)
    assert "noise" not in v  # on 11 of 14 clips (> 70 %)
    assert "once" not in v  # used once
    assert v.words == ["dog", "cat"]  # the 2 most frequent


def test_select_keeps_the_most_frequent_tags_not_arbitrary_ones():
    sets = [[f"w{i}" for i in range(k)] for k in range(1, 20)]  # w0 on every clip, w18 on one
    v = Vocabulary.fit(sets, size=1000, max_fraction=1.0, min_count=1, max_tags=10)
    chosen = v.select([f"w{i}" for i in range(15, -1, -1)] + ["unknown"])
    assert chosen == [f"w{i}" for i in range(10)]


def test_vocabulary_round_trip():
    v = Vocabulary.fit([["a1", "b1"], ["a1"]], min_count=1, max_fraction=1.0)
    assert Vocabulary.from_dict(v.to_dict()).words == v.words


def test_a_compound_tag_has_the_mean_vector_of_its_parts_in_training_and_queries() -> None:
    from gensim.models import KeyedVectors

    from model.word_vectors import has_vector, lookup

    kv = KeyedVectors(3)
    kv.add_vectors(["hi", "hat", "rain", "dog"], np.eye(4, 3, dtype=np.float32) + 0.5)
    assert has_vector(kv, "hihat") and not has_vector(kv, "qwxzv")
    np.testing.assert_allclose(lookup(kv, ["hihat"])[0], (kv["hi"] + kv["hat"]) / 2)


def test_scores_use_the_bundles_own_temperature(tmp_path: Path) -> None:
    """A bundle trained at another τ is scored at its τ (its manifest's train_config), not at 0.1."""
    from index.scoring import Scorer
    from model.bundle import load
    from model.bundles import SHIPPED

    warm = Path(shutil.copytree(SHIPPED, tmp_path / "warm"))
    manifest = json.loads((warm / "manifest.json").read_text())
    manifest["train_config"]["tau"] = 0.5
    (warm / "manifest.json").write_text(json.dumps(manifest))
    bundle = load(warm, device="cpu")
    scorer = Scorer(bundle)
    labels = scorer.labels(["dog", "rain", "guitar"])
    phi_a = np.random.default_rng(0).standard_normal((2, bundle.config.word_dim)).astype(np.float32)
    phi_a /= np.linalg.norm(phi_a, axis=1, keepdims=True)
    cos = phi_a @ scorer.label_vectors(labels).T
    expected = np.exp(cos / 0.5) / np.exp(cos / 0.5).sum(axis=1, keepdims=True)
    assert bundle.tau == 0.5
    np.testing.assert_allclose(scorer.zero_shot(phi_a, labels), expected, rtol=1e-5)
    tag_cos = phi_a @ scorer.tag_vectors.T
    tag_expected = np.exp(tag_cos / 0.5) / np.exp(tag_cos / 0.5).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(scorer.embedding_tags(phi_a), tag_expected, rtol=1e-4)
