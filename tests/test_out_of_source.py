"""The out-of-source yardstick: whole packages held out of training, validated and evaluated on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index.corpus.heldout import OUT_OF_SOURCE_PACKAGES, is_out_of_source, source_of
from tests.conftest import make_corpus, run_cli, write_jsonl
from trainer.data import heldout_mask
from trainer.eval.outofsource import everyday_label

OOS = "debian:wesnoth-1.16-data"


def test_out_of_source_sounds_are_those_of_the_held_out_packages() -> None:
    assert "wesnoth-1.16-data" in OUT_OF_SOURCE_PACKAGES
    assert source_of(f"{OOS}:3f2a") == OOS
    assert is_out_of_source(f"{OOS}:3f2a")
    assert not is_out_of_source("debian:0ad-data:3f2a")
    assert not is_out_of_source("my-folder:wesnoth-1.16-data")  # a user's source of that name


def test_validation_is_out_of_source_where_the_catalogue_has_such_sounds() -> None:
    uids = [f"debian:0ad-data:{i}" for i in range(30)] + [f"{OOS}:{i}" for i in range(5)]
    assert heldout_mask(uids, "sources", 0.1, 0).tolist() == [False] * 30 + [True] * 5
    hashed = heldout_mask(uids, "hash", 0.1, 0)
    assert 2 <= hashed.sum() < 10 and hashed[:30].any()
    own = [f"my-folder:{i}" for i in range(30)]  # no held-out package: the hash split
    assert np.array_equal(heldout_mask(own, "sources", 0.1, 0), heldout_mask(own, "hash", 0.1, 0))


def test_everyday_labels_come_from_the_clips_own_tags() -> None:
    assert everyday_label(["dog", "bark", "field"]) == "dog"
    assert everyday_label(["snare", "loud"]) == "snare drum"
    assert everyday_label(["dog", "door"]) is None  # two classes: no label
    assert everyday_label(["weapon", "orc"]) is None


def test_eval_reports_out_of_source_figures_for_a_bundle_trained_without_those_sources(
    tmp_path: Path,
) -> None:
    from index.catalogue.db import Catalogue
    from index.ingest import ingest
    from model.cache import FeatureCache
    from trainer.bundle_writer import write_training_bundle
    from trainer.config import TrainConfig
    from trainer.data import load_training_data
    from trainer.loop import train

    data = tmp_path / "data"
    records = make_corpus(tmp_path / "audio", n=64)  # 8 tag words in turn: 5 held-out clips each
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    cache = FeatureCache(data / "cache/features")
    for name, part in (("my-folder", records[:24]), (OOS, records[24:])):
        ingest(cat, tmp_path / "audio", write_jsonl(tmp_path / f"{len(part)}.jsonl", part), cache,
               source_name=name, progress=False)  # fmt: skip
    cfg = TrainConfig(epochs=2, batch_size=8)
    training = load_training_data(cat, cache, val_split=cfg.val_split)
    assert training.summary["val_split"] == "sources"
    assert all(is_out_of_source(u) for u in training.val.uids) and len(training.val) == 40
    assert not any(is_out_of_source(u) for u in training.train.uids)
    write_training_bundle(
        data / "bundles", cfg, train(training, cfg, data / "runs" / cfg.variant), cache.config
    )
    cat.close()

    out = tmp_path / "report"
    proc = run_cli("--data-dir", str(data), "eval", "--task", "catalogue", "--no-figures", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "## Out of source" in (out / "report.md").read_text() and "out of source" in proc.stdout
    oos = next(iter(json.loads((out / "results.json").read_text())["out_of_source"].values()))
    shot = oos["zero_shot"]
    assert shot["n"] == 35 and len(shot["classes"]) == 7 and shot["chance"] == 1 / 7  # "bass" names none
    assert 0 <= shot["accuracy"] <= 1
    by_tags = oos["retrieval_tags"]
    assert by_tags["n"] == 40 and by_tags["chance_recall@10"] == 10 / 40
    assert by_tags["recall@1"] <= by_tags["recall@10"] and by_tags["median_rank"] >= 1
    assert oos["retrieval_names"]["n"] == 0 or oos["retrieval_names"]["chance_recall@10"] == 10 / 40
    assert set(oos["tagging"]) == {"neighbours", "fusion", "embedding"}
    assert all(0 <= t["precision@5"] <= t["hit@5"] <= 1 for t in oos["tagging"].values())
    assert oos["probe"]["n"] == 35 and 0 <= oos["probe"]["z_a"] <= 1 and 0 <= oos["probe"]["mfcc"] <= 1
