"""Search through the neighbours' tags (index/tag_votes.py): the arithmetic, the votes an index version
holds, the served ranking, and index updates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import hubness, tag_votes, vector_index, versions
from index.catalogue.db import Catalogue
from index.filters import Filters
from index.indexer import Corpus, update_version
from index.scoring import NEIGHBOURS, vote_tags
from index.search import SearchIndex
from index.tag_votes import TagVotes, VoteSearch, searched_covariance
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache
from tests.conftest import indexed_copy, run_cli, tone, write_audio, write_jsonl


def _standardised(x: np.ndarray, axis: int) -> np.ndarray:
    return (x - x.mean(axis=axis, keepdims=True)) / (x.std(axis=axis, keepdims=True) + 1e-12)


def test_the_lift_adds_the_standardised_votes_to_the_standardised_score() -> None:
    rng = np.random.default_rng(0)
    items = rng.normal(size=(40, 6)).astype(np.float32)
    queries = rng.normal(size=(3, 6)).astype(np.float32)
    votes = rng.random((40, 4)).astype(np.float32) * (rng.random((40, 4)) < 0.3)  # sparse shares
    tags = ["dog", "rain", "door", "bell"]
    search = VoteSearch(TagVotes.of_dense(np.arange(40) + 100, votes, tags, searched_covariance(items)))
    word_lists = [["dog"], ["rain", "bell", "unknownword"], ["nothing"]]
    base = queries @ items.T
    scores = search.scores(base, queries, word_lists)
    spread = search.spread(queries)
    np.testing.assert_allclose(spread, base.std(axis=1), rtol=1e-4)  # √(qᵀ C q): the scores' spread
    for q, words in enumerate(word_lists):
        columns = [tags.index(w) for w in words if w in tags]
        lift = _standardised(votes, 0)[:, columns].mean(axis=1) if columns else np.zeros(40)
        expected = _standardised(base[q], 0) + tag_votes.WEIGHT * lift
        # the same ranking: equal up to the query's scale and shift
        np.testing.assert_allclose(
            scores[q] / spread[q] - expected, (scores[q] / spread[q] - expected)[0], atol=1e-4
        )
    np.testing.assert_array_equal(scores[2], base[2])  # no word that is a tag: nothing lifted
    rows, _ = search.bonus([tags.index("dog")])
    assert set(rows.tolist()) == set(np.flatnonzero(votes[:, 0]).tolist())  # only sounds with a vote
    assert search.added(queries[0], [])[0].size == 0


@pytest.fixture(scope="module")
def bundle(trained_data_dir: Path) -> Bundle:
    return Bundle(latest_bundle(trained_data_dir / "bundles"), "cpu")


def _served(trained: Path, bundle: Bundle, folder: Path) -> tuple[Path, Catalogue, SearchIndex]:
    """A copy of the trained data dir with a published index: (data dir, catalogue, its index)."""
    data = indexed_copy(trained, folder)
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    return data, cat, SearchIndex(versions.current_dir(data / "indices"), bundle, cat)


def test_an_index_version_holds_each_sounds_neighbours_votes_and_search_ranks_with_them(
    trained_data_dir: Path, bundle: Bundle, tmp_path: Path
) -> None:
    _, cat, index = _served(trained_data_dir, bundle, tmp_path)
    assert index.manifest["votes"] == tag_votes.MANIFEST and index.votes is not None
    held = index.votes.votes
    ids = held.sound_ids
    assert sorted(ids.tolist()) == sorted(index.metadata())
    dense = np.zeros((len(ids), len(held.tags)), np.float32)
    dense[np.repeat(np.arange(len(ids)), np.diff(held.indptr)), held.columns] = held.shares
    # each row: the shares of the tags of the sound's nearest other sounds, as `POST /tags` votes
    position = {t: i for i, t in enumerate(held.tags)}
    meta = index.metadata()
    for row, sid in enumerate(ids[:6].tolist()):
        exclude = frozenset({sid})
        near = index._nearest(index.stored_vector(sid), NEIGHBOURS, 0, Filters(), "similar", exclude)
        columns = [[position[w] for w in meta[h.sound_id].tag_words if w in position] for h in near]
        expected = vote_tags(np.array([h.score for h in near]), columns, len(held.tags))
        np.testing.assert_allclose(dense[row], expected, atol=1e-5)
    assert dense.any()
    # a text search's scores: the audio index's score plus the lift, over every sound
    stored = vector_index.stored_vectors(index.audio, ids)
    lifted = 0
    for word in held.tags[:5]:
        hits, query = index.search_by_tags([word], k=5, lifted=True)
        vector = hubness.as_query(query.search)
        base = stored @ vector
        exact = index.votes.scores(base[None, :], vector[None, :], [query.words])[0]
        assert [h.score for h in hits] == pytest.approx(sorted(exact.tolist(), reverse=True)[:5], abs=1e-5)
        lifted += int((exact > base + 1e-6).sum())
        # `sound` mode ranks by the audio index alone; hybrid's sound list is the lifted ranking
        plain, _ = index.search_by_tags([word], k=5)
        assert [h.score for h in plain] == pytest.approx(sorted(base.tolist(), reverse=True)[:5], abs=1e-5)
        _, sounds, _ = index.both_rankings(word, depth=5)
        assert [s for _, s in sounds] == pytest.approx([h.score for h in hits], abs=1e-6)
        # pages are the same ranking cut further on
        second, _ = index.search_by_tags([word], k=5, offset=5, lifted=True)
        assert [h.score for h in second] == pytest.approx(
            sorted(exact.tolist(), reverse=True)[5:10], abs=1e-5
        )
    assert lifted > 0
    # a filter keeps only the sounds it admits, lifted or not
    kept, _ = index.search_by_tags([held.tags[0]], k=5, filters=Filters(tag=held.tags[1]), lifted=True)
    assert kept and all(held.tags[1] in meta[h.sound_id].tag_words for h in kept)
    cat.close()


def test_an_update_gives_every_sound_votes_again_and_a_version_without_votes_still_serves(
    trained_data_dir: Path, bundle: Bundle, tmp_path: Path
) -> None:
    data, cat, before = _served(trained_data_dir, bundle, tmp_path)
    word = before.votes.votes.tags[0]
    folder = tmp_path / "more"
    folder.mkdir()
    extra = []
    for i in range(3):
        write_audio(folder / f"{4000 + i}.wav", tone(900 + 120 * i, 1.0, seed=80 + i), 22050)
        extra.append({"id": 4000 + i, "name": f"chime {i}", "tags": [word], "license": "CC0"})
    proc = run_cli(
        "--data-dir", str(data), "ingest", str(folder), "-m", str(write_jsonl(tmp_path / "m.jsonl", extra))
    )
    assert proc.returncode == 0, proc.stderr
    updated, _ = update_version(bundle, Corpus(cat, FeatureCache(data / "cache/features")), data / "indices")
    versions.publish(data / "indices", updated)
    folder = versions.current_dir(data / "indices")
    after = SearchIndex(folder, bundle, cat)
    assert after.manifest["votes"] == tag_votes.MANIFEST
    ids = after.votes.votes.sound_ids.tolist()
    assert len(ids) == len(before.votes.votes.sound_ids) + 3 and set(ids) == set(after.metadata())
    np.testing.assert_allclose(after.votes.votes.covariance, before.votes.votes.covariance)  # the parent's
    # a version built before the votes (no file) searches by the audio index alone
    (folder / tag_votes.FILE).unlink()
    old = SearchIndex(folder, bundle, cat)
    assert old.votes is None
    hits, query = old.search_by_tags([word], k=3, lifted=True)
    scores, found = vector_index.search(old.audio, hubness.as_query(query.search)[None, :], 3)
    assert [h.score for h in hits] == pytest.approx(scores[0].tolist(), abs=1e-5)
    cat.close()
