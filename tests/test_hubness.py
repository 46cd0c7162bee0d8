"""Hubness offsets of text → sound scores (index/hubness.py): the arithmetic, the audio index that holds
them as one more dimension, versions from before them, and index types whose codes need padding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import hubness, tag_votes, vector_index, versions
from index.catalogue.db import Catalogue
from index.indexer import Corpus, build_version
from index.search import SearchIndex
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache


@pytest.fixture(scope="module")
def bundle(trained_data_dir: Path) -> Bundle:
    return Bundle(latest_bundle(trained_data_dir / "bundles"), "cpu")


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_a_sound_near_many_bank_queries_loses_more_than_one_near_none(monkeypatch) -> None:
    monkeypatch.setattr(hubness, "NEIGHBOURS", 2)
    bank = _unit(np.array([[1, 0.1, 0, 0], [1, -0.1, 0, 0], [0, 0, 1, 0]], np.float32))
    items = _unit(np.array([[1, 0, 0, 0], [0, 0, 0, 1]], np.float32))  # a hub, a sound near no query
    offset = hubness.offsets(items, bank)
    cos = items @ bank.T
    expected = hubness.WEIGHT * np.sort(cos, axis=1)[:, -2:].mean(axis=1)  # its 2 best cosines
    np.testing.assert_allclose(offset, expected, atol=1e-6)
    assert offset[0] > offset[1] == pytest.approx(0.0, abs=1e-6)
    # folded into the index's vectors: a query's inner product is its cosine less the offset
    query = _unit(np.array([0.6, 0, 0, 0.8], np.float32))
    scores = hubness.searchable(items, offset) @ hubness.as_query(query)
    np.testing.assert_allclose(scores, items @ query - offset, atol=1e-6)
    # without a bank (a catalogue with no tags) nothing moves
    assert not hubness.offsets(items, np.zeros((0, 4), np.float32)).any()


def test_the_bank_is_the_tag_sets_most_sounds_carry(monkeypatch) -> None:
    monkeypatch.setattr(hubness, "BANK", 2)
    sets = [["rain"], ["dog", "bark"], ["door"]]
    assert hubness.bank_sets(sets, np.array([1, 5, 3])) == [["dog", "bark"], ["door"]]


def test_an_index_version_ranks_text_searches_by_cosine_less_offset(
    trained_data_dir: Path, bundle: Bundle, tmp_path: Path
) -> None:
    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data"))
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    version, _ = build_version(bundle, Corpus(cat, FeatureCache(data / "cache/features")), data / "indices")
    versions.publish(data / "indices", version)
    folder = versions.current_dir(data / "indices")
    index = SearchIndex(folder, bundle, cat)
    dim = bundle.config.word_dim
    assert index.manifest["hubness"] == hubness.MANIFEST and index.audio.d == dim + 1
    stored = {i: index.audio.reconstruct(i) for i in index.metadata()}  # [centred φ_a, −offset]
    plain = np.stack([v[:dim] for v in stored.values()])
    offsets = -np.array([v[-1] for v in stored.values()])
    assert offsets.std() > 0  # every sound has its own, against the catalogue's tag sets
    as_built = index.scorer.searchable(plain + index.centres.phi_a)  # from the sounds' own φ_a
    np.testing.assert_allclose(as_built, np.stack(list(stored.values())), atol=1e-5)
    word = index.contexts.words[0]
    hits, query = index.search_by_tags([word], k=5)
    exact = sorted((float(v[:dim] @ query.search) + float(v[-1]) for v in stored.values()), reverse=True)
    # scores compared, so ties between sounds do not matter
    assert [h.score for h in hits] == pytest.approx(exact[:5], abs=1e-5)
    # a version written before the offsets (a plain φ_a index, no record) still serves
    ids = np.array(list(stored), np.int64)
    vector_index.write(vector_index.build(plain, ids, "Flat"), folder / versions.AUDIO)
    manifest = json.loads((folder / versions.MANIFEST).read_text())
    del manifest["hubness"], manifest["votes"]  # and the votes, which came later still
    (folder / versions.MANIFEST).write_text(json.dumps(manifest))
    (folder / tag_votes.FILE).unlink()
    old = SearchIndex(folder, bundle, cat)
    hits, query = old.search_by_tags([word], k=5)
    exact = sorted((float(v @ query.search) for v in plain), reverse=True)
    assert [h.score for h in hits] == pytest.approx(exact[:5], abs=1e-5)


def test_index_types_whose_codes_need_another_dimension_get_padded_vectors() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(300, 129)))  # 129: 128 of φ_a and the offset; PQ8 needs 8 | d
    ids = np.arange(300, dtype=np.int64) + 1000
    index = vector_index.build(vectors, ids, "PQ8")
    assert index.d == 136
    scores, found = vector_index.search(index, vectors[:1], 5)  # a 129-d query, padded alike
    assert found[0][0] == 1000 and scores[0][0] == pytest.approx(1.0, abs=0.2)  # PQ is approximate
    vector_index.add(index, vectors[:2], np.array([1, 2], np.int64))
    assert index.ntotal == 302
    with pytest.raises(vector_index.IndexBuildError, match="invalid FAISS factory string"):
        vector_index.build(vectors, ids, "PQ7x")
