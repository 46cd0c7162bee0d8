"""Hybrid search: the text index (SQLite FTS5 in the version folder), rank fusion, and the three modes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from index import text_index, versions
from index.catalogue.db import Catalogue
from index.catalogue.models import Sound
from index.catalogue.queries import SoundMeta
from index.hybrid import fuse, shared_ranks
from index.indexer import Corpus, build_version
from index.search import Filters, NoQueryWordsError, QueryUse, SearchIndex
from index.text_index import TextHit, TextIndex
from model.bundle import Bundle, UnknownTagsError
from model.bundles import latest_bundle
from model.cache import FeatureCache
from model.tags import normalise_tags


def _meta(sound_id: int, name: str, tags: tuple[str, ...] = (), description: str | None = None) -> SoundMeta:
    return SoundMeta(sound_id, name, tags, "CC0", "u", 1.0, description, tuple(normalise_tags(tags)))


def test_shared_ranks_give_equal_scores_one_rank() -> None:
    assert shared_ranks([5.0, 3.0, 3.0, 1.0]) == [1, 2, 2, 4]
    assert shared_ranks([]) == []


def test_fusion_puts_word_matches_first_and_keeps_sounds_without_words() -> None:
    text = [TextHit(7, 4.0, ("dog",)), TextHit(3, 2.0, ("dog",))]
    sound = [(1, 0.9), (3, 0.8), (2, 0.7), (7, 0.1)]
    fused = fuse(text, sound)
    assert [m.sound_id for m in fused][:2] == [7, 3]  # the words lead
    assert {1, 2} <= {m.sound_id for m in fused}  # sounds with no words are still found by their sound
    by_id = {m.sound_id: m for m in fused}
    assert by_id[1].text_share == 0.0 and by_id[1].sound_share == 1.0 and by_id[1].words == ()
    assert 0 < by_id[3].text_share < 1 and by_id[3].text_share + by_id[3].sound_share == pytest.approx(1)
    assert by_id[7].words == ("dog",)


def test_fusion_lets_the_sound_decide_between_equal_word_matches() -> None:
    text = [TextHit(5, 2.0, ("rain",)), TextHit(6, 2.0, ("rain",))]  # the same words: a tie
    assert [m.sound_id for m in fuse(text, [(6, 0.5), (5, 0.4)])][:2] == [6, 5]
    assert [m.sound_id for m in fuse(text, [(5, 0.5), (6, 0.4)])][:2] == [5, 6]


def test_a_limited_fusion_is_the_first_part_of_the_whole_one() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        n_text, n_sound = rng.integers(0, 60, 2)
        scores = np.sort(rng.integers(0, 8, n_text))[::-1]  # many equal scores: shared ranks
        ids = rng.permutation(80)[:n_text]
        text = [TextHit(int(i), float(s), ("w",)) for i, s in zip(ids, scores, strict=True)]
        sound = [(int(i), 1.0 - 0.01 * r) for r, i in enumerate(rng.permutation(80)[:n_sound])]
        weight, k = float(rng.choice([0.5, 0.9])), int(rng.choice([1, 10]))
        whole = fuse(text, sound, weight, k)
        for limit in (1, 5, 10, 30):
            assert fuse(text, sound, weight, k, limit) == whole[:limit]


def test_fusion_without_words_is_the_sound_ranking() -> None:
    sound = [(4, 0.9), (2, 0.5), (9, 0.2)]
    assert [m.sound_id for m in fuse([], sound)] == [4, 2, 9]


def test_text_index_reads_names_tags_and_descriptions_through_the_tokenizer(tmp_path: Path) -> None:
    sounds = [
        _meta(1, "Dogs barking at night", ("field-recording",)),
        _meta(2, "take 2", ("Dog", "bark")),
        _meta(3, "kitchen", (), "a dog in the kitchen"),
        _meta(4, "rain on a roof", ("rain",)),
    ]
    text_index.write(tmp_path, text_index.text_rows(sounds))
    index = TextIndex(tmp_path)
    hits = index.search(text_index.query_words("dogs bark"))
    assert {h.sound_id for h in hits} == {1, 2, 3}
    assert hits[0].sound_id == 2 and hits[-1].sound_id == 3  # both words first; the description weighs least
    assert {h.sound_id: h.words for h in hits}[2] == ("dog", "bark")
    stemmed = index.search(text_index.query_words("barking"))  # the stemmer: barking finds bark
    assert [(h.sound_id, h.words) for h in stemmed] == [(2, ("barking",)), (1, ("barking",))]
    assert index.search(["thunder"]) == [] and index.search([]) == []
    assert not TextIndex(tmp_path / "older-version").available  # a version built before text indices
    assert TextIndex(tmp_path / "older-version").search(["dog"]) == []


def test_kept_word_scores_rank_as_fts5_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query summed from each word's kept BM25 gives FTS5's own scores, order and matched words,
    ties in id order; a query with a word too common to keep goes to FTS5 and answers the same."""
    rng = np.random.default_rng(3)
    words = ["dog", "bark", "rain", "roof", "door", "creak", "metal", "glass", "engine", "wind"]

    def some(most: int) -> list[str]:
        return list(rng.choice(words, rng.integers(0, most)))

    sounds = [_meta(i, " ".join(some(3)), tuple(some(4)), " ".join(some(3))) for i in range(1, 301)]
    text_index.write(tmp_path, text_index.text_rows(sounds))
    queries = [list(rng.choice(words, n, replace=False)) for n in (1, 2, 3, 4) for _ in range(10)]
    kept = TextIndex(tmp_path)
    summed = [kept.search(q, 40) for q in queries]
    assert len(kept._words) == len(words)  # every word was kept, so every query was summed
    monkeypatch.setattr(text_index, "WORD_CACHE_ROWS", 0)  # nothing kept: FTS5 ranks every query
    by_sql = TextIndex(tmp_path)
    for query, hits in zip(queries, summed, strict=True):
        expected = by_sql.search(query, 40)
        assert [(h.sound_id, h.words) for h in hits] == [(h.sound_id, h.words) for h in expected]
        assert np.allclose([h.score for h in hits], [h.score for h in expected], rtol=1e-12, atol=0)
    assert not by_sql._words


@pytest.fixture(scope="module")
def index(trained_data_dir: Path, tmp_path_factory) -> SearchIndex:
    """The trained data dir's sounds indexed: 24 clips tagged `<word>` and `field-recording`, the
    first named with a word the model has no vector for."""
    data = Path(shutil.copytree(trained_data_dir, tmp_path_factory.mktemp("hybrid") / "data"))
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    with cat.session() as s, s.begin():
        s.execute(update(Sound).where(Sound.id == 1).values(name="qwzx squeak"))
    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    version, _ = build_version(bundle, Corpus(cat, FeatureCache(data / "cache/features")), data / "indices")
    assert (data / "indices" / version / text_index.FILE).is_file()  # published with the vectors
    versions.publish(data / "indices", version)
    return SearchIndex.open_current(data / "indices", bundle, cat)


def _tagged(index: SearchIndex, word: str) -> set[int]:
    return {m.id for m in index.metadata().values() if word in m.tag_words}


def test_text_mode_finds_exactly_the_sounds_with_the_words(index: SearchIndex) -> None:
    matches, used = index.search("doors", k=24, mode="text")
    assert {m.sound_id for m in matches} == _tagged(index, "door") and len(matches) == 3
    assert used.words == ["door"] and all(m.words == ("door",) and m.text_share == 1 for m in matches)
    assert index.search("door", k=24, mode="text", filters=Filters(min_duration=99))[0] == []


def test_hybrid_mode_puts_word_matches_first_then_every_other_sound(index: SearchIndex) -> None:
    matches, _ = index.search("door", k=24)
    assert {m.sound_id for m in matches[:3]} == _tagged(index, "door")
    assert len(matches) == 24 and all(m.text_share == 0 for m in matches[3:])
    page2, _ = index.search("door", k=5, offset=5)
    assert [m.sound_id for m in page2] == [m.sound_id for m in matches[5:10]]


def test_sound_mode_is_the_embedding_search(index: SearchIndex) -> None:
    matches, used = index.search("rain", k=10, mode="sound")
    hits, _ = index.search_by_tags(["rain"], k=10)
    assert [m.sound_id for m in matches] == [h.sound_id for h in hits] and used.words == ["rain"]
    assert all(m.sound_share == 1 and m.words == () for m in matches)


def test_words_the_model_does_not_know_still_find_sounds_by_their_words(index: SearchIndex) -> None:
    matches, used = index.search("qwzx", k=24)  # one sound's name
    assert used == QueryUse(["qwzx"], ["qwzx"]) and [(m.sound_id, m.words) for m in matches] == [
        (1, ("qwzx",))
    ]
    with pytest.raises(UnknownTagsError):
        index.search("qwzx", mode="sound")
    with pytest.raises(UnknownTagsError):
        index.search("zzkq")  # neither part can read it
    with pytest.raises(NoQueryWordsError):
        index.search("the of 42")
    with pytest.raises(ValueError, match="unknown search mode"):
        index.search("rain", mode="bogus")


def test_the_hybrid_measurement_reads_every_catalogue_and_mode(index: SearchIndex, tmp_path: Path) -> None:
    from trainer.eval import hybrid as measured

    cache = FeatureCache(index.folder.parent.parent / "cache/features")
    catalogue_file = index.folder.parent.parent / "catalogue.db"
    stripped = measured.stripped_copy(index, catalogue_file, cache, tmp_path / "stripped")
    half = measured.stripped_copy(index, catalogue_file, cache, tmp_path / "half", every=2)
    assert stripped.text.search(["field"]) == [] and len(half.text.search(["field"])) == 12
    table, grid = measured.measure(index, stripped, half, cache)
    assert {(r["queries"], r["catalogue"]) for r in table} == {
        (q, c)
        for q in ("own tags", "held-out clips", "one word")
        for c in ("with words", "words stripped", "half stripped")
    }
    for row in table:
        if row["catalogue"] == "words stripped":  # without words hybrid is the sound ranking
            assert row["text"] == (0.0, 0.0) and row["hybrid"] == row["sound"]
        assert all(0.0 <= x <= 1.0 for m in ("text", "sound", "hybrid", "text-id") for x in row[m])
    assert len(grid) == 6 * len(measured.WEIGHTS) * len(measured.KS)
    assert "| own tags | with words |" in measured.markdown(table, grid, index)
