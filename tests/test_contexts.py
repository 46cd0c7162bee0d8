"""Tag contexts: a query's vector is its own φ_w plus those of the catalogue's tag sets that hold
all its words (index/contexts.py); index versions store them and every text query goes through them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from index import hubness, versions
from index.catalogue.db import Catalogue
from index.contexts import FILE, TagContexts
from index.indexer import Corpus, build_version
from index.search import SearchIndex
from model.bundle import Bundle
from model.bundles import SHIPPED, latest_bundle
from model.cache import FeatureCache

SETS = [["drum", "kick"]] * 3 + [["ball", "kick"], ["car", "crash"]]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    if not (SHIPPED / "manifest.json").is_file():
        pytest.skip("no shipped model")
    return Bundle(SHIPPED, device="cpu")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


def test_a_word_means_the_tag_sets_that_hold_it(bundle: Bundle) -> None:
    contexts = TagContexts.of(bundle, SETS)
    drum_kick, ball_kick, car_crash, kick, puppy = bundle.embed_tag_sets(
        [["drum", "kick"], ["ball", "kick"], ["car", "crash"], ["kick"], ["puppy"]]
    )
    # each sound's set counts once: three drum kicks, one ball kick
    np.testing.assert_allclose(
        contexts.contextualise(["kick"], kick), _unit(kick + 3 * drum_kick + ball_kick), atol=1e-5
    )
    # every word must be held: "drum kick" is held by three sets, "kick crash" by none
    np.testing.assert_allclose(
        contexts.contextualise(["drum", "kick"], drum_kick), _unit(4 * drum_kick), atol=1e-5
    )
    assert list(contexts.sets_holding(["kick", "crash"])) == []
    # a word the catalogue never used keeps its own meaning
    np.testing.assert_allclose(contexts.contextualise(["puppy"], puppy), _unit(puppy), atol=1e-5)
    # the centre is the mean over the five sounds' tag sets
    np.testing.assert_allclose(contexts.centre, (3 * drum_kick + ball_kick + car_crash) / 5, atol=1e-5)
    # in context, a bare "kick" moves towards the drum and away from the ball
    in_context = contexts.contextualise(["kick"], kick)
    assert float(in_context @ drum_kick) > float(kick @ drum_kick)
    assert float(in_context @ drum_kick) > float(in_context @ ball_kick)


def test_contexts_round_trip_and_absent_files_mean_no_context(bundle: Bundle, tmp_path: Path) -> None:
    contexts = TagContexts.of(bundle, SETS)
    contexts.save(tmp_path)
    again = TagContexts.load(tmp_path, bundle.config.word_dim)
    assert again.words == contexts.words and list(again.counts) == list(contexts.counts)
    assert [list(m) for m in again.members] == [list(m) for m in contexts.members]
    kick = bundle.embed_tag_sets([["kick"]])[0]
    np.testing.assert_allclose(again.contextualise(["kick"], kick), contexts.contextualise(["kick"], kick))
    none = TagContexts.load(tmp_path / "elsewhere", bundle.config.word_dim)
    assert none.centre is None and none.contextualise(["kick"], 2 * kick) == pytest.approx(kick, abs=1e-6)
    assert TagContexts.of(bundle, [[], []]).centre is None


def test_index_versions_store_the_catalogue_contexts_and_queries_use_them(
    trained_data_dir: Path, tmp_path: Path
) -> None:
    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data"))
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    version, _ = build_version(bundle, Corpus(cat, FeatureCache(data / "cache/features")), data / "indices")
    versions.publish(data / "indices", version)
    folder = versions.current_dir(data / "indices")
    index = SearchIndex(folder, bundle, cat)
    assert (folder / FILE).is_file() and len(index.contexts.counts) > 0
    np.testing.assert_allclose(index.contexts.centre, index.centres.phi_w, atol=1e-5)
    # a one-word search asks the word in its catalogue context, not its bare φ_w
    word = index.contexts.words[0]
    own = bundle.embed_tags([word]).vector
    in_context = index.scorer.query_vectors([[word]], own[None, :])[0]
    assert float(in_context @ own) < 0.9999
    hits, _ = index.search_by_tags([word], k=3)
    top = index._nearest(hubness.as_query(index.scorer.search_vectors([[word]], own[None, :])[0]), k=3)
    assert [h.sound_id for h in hits] == [h.sound_id for h in top]
    # a version written before contexts existed still serves: its queries keep their own φ_w
    (folder / FILE).unlink()
    old = SearchIndex(folder, bundle, cat)
    assert old.contexts.centre is None and len(old.search_by_tags([word], k=3)[0]) == 3
