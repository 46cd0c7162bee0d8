"""Search by example sounds (index/exemplars.py): a text query also asks for sounds like those the
catalogue tags so; each tag set keeps the mean φ_a of its sounds (index/contexts.py), in full builds
and in updates."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from index import hubness, versions
from index.catalogue.db import Catalogue
from index.contexts import TagContexts
from index.exemplars import EXAMPLE_WEIGHT, Examples
from index.indexer import Corpus, build_version, update_version
from index.search import SearchIndex
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache
from tests.conftest import run_cli, tone, write_audio, write_jsonl


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_a_query_takes_the_audio_of_the_sets_it_matches() -> None:
    eye = np.eye(4, dtype=np.float32)
    # sets: 0 and 1 are heard (their sounds' mean φ_a), 2 has no sound indexed
    examples = Examples(eye[:3], np.stack([eye[2], eye[3], np.zeros(4, np.float32)]), np.array([1, 1, 9]))
    assert len(examples) == 2  # the unheard set never lends an example
    np.testing.assert_allclose(examples.vectors(eye[:1]), eye[2:3], atol=1e-6)
    np.testing.assert_allclose(examples.vectors(eye[1:2]), eye[3:4], atol=1e-6)
    # between two sets, the nearer in the tag space weighs more
    between = examples.vectors(_unit(np.array([[0.8, 0.6, 0, 0]], np.float32)))[0]
    assert between[2] > between[3] > 0
    # the search vector is the text query plus the weighted example, normalised
    query = eye[:1]
    mixed = examples.search_vectors(query)
    np.testing.assert_allclose(mixed, _unit(query + EXAMPLE_WEIGHT * eye[2:3]), atol=1e-6)
    none = Examples(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
    np.testing.assert_array_equal(none.search_vectors(query), query)


@pytest.fixture(scope="module")
def bundle(trained_data_dir: Path) -> Bundle:
    return Bundle(latest_bundle(trained_data_dir / "bundles"), "cpu")


def test_each_set_keeps_the_mean_audio_of_its_sounds(bundle: Bundle, tmp_path: Path) -> None:
    a, b, c = _unit(np.random.default_rng(0).standard_normal((3, bundle.config.word_dim)))
    sets = [["rain"], ["rain"], ["wind"], ["rain", "wind"]]
    contexts = TagContexts.of(bundle, sets, [a, b, c, None])
    rain, wind, both = (contexts.audio_of(k) for k in [("rain",), ("wind",), ("rain", "wind")])
    np.testing.assert_allclose(rain, (a + b) / 2, atol=1e-6)
    np.testing.assert_allclose(wind, c, atol=1e-6)
    assert both is None  # its one sound has no vector, and nothing came before
    # an update: sounds without a vector take their set's audio from the version before
    later = TagContexts.of(bundle, sets + [["rain"]], [None, None, None, None, c], contexts)
    np.testing.assert_allclose(later.audio_of(("rain",)), (a + b + c) / 3, atol=1e-6)
    np.testing.assert_allclose(later.audio_of(("wind",)), c, atol=1e-6)
    # on disk and back; a file from before search by example has no audio, and so no examples
    contexts.save(tmp_path)
    np.testing.assert_allclose(TagContexts.load(tmp_path, bundle.config.word_dim).audio, contexts.audio)
    d = dict(np.load(tmp_path / "contexts.npz"))
    del d["audio"]
    np.savez(tmp_path / "contexts.npz", **d)
    old = TagContexts.load(tmp_path, bundle.config.word_dim)
    assert not old.audio.any() and old.audio_of(("rain",)) is None


def test_builds_and_updates_give_every_tag_set_its_sounds_audio(
    trained_data_dir: Path, bundle: Bundle, tmp_path: Path
) -> None:
    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data"))
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    corpus = Corpus(cat, FeatureCache(data / "cache/features"))
    version, _ = build_version(bundle, corpus, data / "indices")
    versions.publish(data / "indices", version)
    built = SearchIndex(versions.current_dir(data / "indices"), bundle, cat)
    assert built.contexts.audio.any(axis=1).all()  # every live sound was indexed
    assert len(built.scorer.examples) == len(built.contexts.counts)
    # searches go through the example: the hits are those of the mixed vector
    word = built.contexts.words[0]
    own = bundle.embed_tags([word]).vector[None, :]
    mixed = built.scorer.search_vectors([[word]], own)[0]
    assert float(mixed @ built.scorer.query_vectors([[word]], own)[0]) < 0.9999
    hits, _ = built.search_by_tags([word], k=3)
    assert [h.sound_id for h in hits] == [h.sound_id for h in built._nearest(hubness.as_query(mixed), k=3)]
    # new sounds with a new tag set: the update gives the new set their audio, keeps the others'
    words = built.contexts.words
    old_sets = {tuple(sorted(words[w] for w in m)) for m in built.contexts.members}
    pairs = [(words[j], words[i]) for i in range(len(words)) for j in range(i)]
    new_set = next(k for k in pairs if k not in old_sets)
    folder = tmp_path / "more"
    folder.mkdir()
    extra = []
    for i in range(2):
        write_audio(folder / f"{3000 + i}.wav", tone(700 + 90 * i, 1.0, seed=70 + i), 22050)
        extra.append({"id": 3000 + i, "name": f"gong {i}", "tags": list(new_set), "license": "CC0"})
    meta = write_jsonl(tmp_path / "m.jsonl", extra)
    proc = run_cli("--data-dir", str(data), "ingest", str(folder), "-m", str(meta))
    assert proc.returncode == 0, proc.stderr
    updated, _ = update_version(bundle, corpus, data / "indices")
    versions.publish(data / "indices", updated)
    after = SearchIndex(versions.current_dir(data / "indices"), bundle, cat)
    assert after.contexts.audio.any(axis=1).all() and after.contexts.audio_of(new_set) is not None
    for key in old_sets:
        np.testing.assert_allclose(after.contexts.audio_of(key), built.contexts.audio_of(key), atol=1e-6)
    cat.close()
