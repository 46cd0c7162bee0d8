"""Evaluation metrics on hand-computed cases, and `audiotag eval` end to end on a tiny real task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.scoring import Scorer
from model.bundle import Bundle
from model.tags import normalise_tags
from tests.conftest import run_cli, tone, write_audio
from trainer.eval.zeroshot import zero_shot
from trainer.metrics import (
    mean_average_precision,
    nearest_class_accuracy,
    precision_recall_at_k,
    recall_ceiling,
    retrieval_metrics,
)


def test_precision_and_recall_at_k_by_hand() -> None:
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.3, 0.9]])
    truth = [{0, 2}, {1}]
    # clip 0: top-2 = {0, 1}, one hit of 2 → P 1/2, R 1/2; clip 1: top-2 = {3, 2}, no hit → P 0, R 0
    out = precision_recall_at_k(scores, truth, k=2)
    assert out["precision@2"] == pytest.approx(0.25) and out["recall@2"] == pytest.approx(0.25)


def test_retrieval_metrics_by_hand() -> None:
    items = np.eye(3)
    queries = np.array([[1.0, 0, 0], [0, 0.6, 0.8], [0, 0.8, 0.6]])  # query 1 prefers item 2
    out = retrieval_metrics(queries, items, ks=(1, 2))
    # ranks: 0, 1, 1 → recall@1 1/3, recall@2 1, mAP@10 (1 + 1/2 + 1/2) / 3
    assert out["recall@1"] == pytest.approx(1 / 3) and out["recall@2"] == 1.0
    assert out["map@10"] == pytest.approx(2 / 3) and out["chance_recall@1"] == pytest.approx(1 / 3)


def test_recall_ceiling_counts_clips_that_share_one_query() -> None:
    # 12 clips share the words "drum hit" (one ranking: at most 10 of them in its top 10), 3 are alone
    keys = ["drum hit"] * 12 + ["dog", "cat", "rain"]
    own = np.arange(15)
    out = recall_ceiling(keys, own, n_items=15, size=14, draws=5)
    assert out["ceiling_recall@10"] == pytest.approx(13 / 15)
    # in a gallery of 14 either a drum clip is left out (10 of 11 drums + 3) or one alone (10 + 2)
    assert 12 / 14 <= out["gallery_ceiling_recall@10"] <= 13 / 14
    assert recall_ceiling(["a", "b"], np.arange(2), n_items=2, size=5) == {"ceiling_recall@10": 1.0}


def test_mean_average_precision_by_hand() -> None:
    scores = np.array([[0.9, 0.1], [0.8, 0.3], [0.1, 0.2]])  # 3 items, 2 queries
    relevant = np.array([[True, False], [False, False], [True, True]])
    # query 0 ranks items 0, 1, 2: hits at 1 and 3 → (1 + 2/3) / 2; query 1 ranks 1, 2, 0: hit at 2 → 1/2
    assert mean_average_precision(scores, relevant) == pytest.approx(((1 + 2 / 3) / 2 + 0.5) / 2)


def test_nearest_class_accuracy_by_hand() -> None:
    classes = np.array([[1.0, 0.0], [0.0, 1.0]])
    items = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    acc, pred = nearest_class_accuracy(items, classes, np.array([0, 1, 1]))
    assert acc == pytest.approx(2 / 3) and pred.tolist() == [0, 1, 0]


def test_class_names_become_query_words() -> None:
    assert normalise_tags(["rain_thunder"]) == ["rain", "thunder"]
    assert normalise_tags(["Farm-Animal"]) == ["farm", "animal"]


@pytest.fixture(scope="module")
def trained(trained_data_dir: Path) -> Path:
    return trained_data_dir


def _task(root: Path) -> Path:
    """Two classes named by corpus tags, 10 tones each, as a folder per class and as a CSV with tags."""
    rows = ["path,label,fold,tags"]
    for label, base in (("glass", 2500.0), ("rain", 180.0)):
        for i in range(10):
            rel = f"{label}/{i}.wav"
            (root / label).mkdir(parents=True, exist_ok=True)
            write_audio(root / rel, tone(base + 40 * i, 0.6, seed=i), 22050)
            rows.append(f"{rel},{label},{i % 5 + 1},{'engine door' if label == 'glass' else 'birds'}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def test_zero_shot_scores_known_class_names(trained: Path) -> None:
    bundle = Bundle(next((trained / "bundles").iterdir()), "cpu")
    scorer = Scorer(bundle)
    # Clips whose φ_a is exactly a class's φ_w must be given that class; the unknown one is left out.
    phi = bundle.embed_tag_sets([["glass"], ["rain"], ["glass"], ["glass"]])
    labels = np.array(["glass", "rain", "glass", "qwzx_vbnm"])
    zs = zero_shot(scorer, phi, labels, ["glass", "rain", "qwzx_vbnm"])
    assert zs is not None and zs.n == 3 and zs.chance == 0.5 and zs.majority == pytest.approx(2 / 3)
    assert zs.unknown_classes == ["qwzx_vbnm"] and zs.accuracy == 1.0 and zs.predictions == [0, 1, 0]


def test_eval_command_end_to_end(trained: Path, tmp_path: Path) -> None:
    task = _task(tmp_path / "task")
    out = tmp_path / "report"
    proc = run_cli(
        "--data-dir", str(trained), "eval",
        "--task", f"folder:{task}", "--task", f"csv:{task / 'manifest.csv'}", "--task", "catalogue",
        "--repeats", "2", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = (out / "report.md").read_text()
    assert "| MFCC (120-d) |" in report and " z_a (1152-d) |" in report
    assert "tags φ_w" in report  # the CSV task has tags
    assert "## Zero-shot classification" in report and "## Held-out catalogue clips" in report
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == {"task", "task-2"}  # same folder name: made unique
    for name, t in results["tasks"].items():
        assert t["clips"] == 20 and len(t["accuracy"]["MFCC (120-d)"]["runs"]) == 2
        assert t["accuracy"]["MFCC (120-d)"]["mean"] >= 0.9, name  # 2.5 kHz vs 180 Hz tones: separable
        assert all(zs and zs["n"] == 20 for zs in t["zero_shot"].values()), name
    catalogue = next(iter(results["catalogue"].values()))
    r = catalogue["retrieval"]
    assert r["n"] >= 2 and r["recall@1"] <= r["recall@5"] <= r["recall@10"]
    assert r["chance_recall@10"] == pytest.approx(min(1.0, 10 / r["n"]), rel=0.01)
    assert set(catalogue["tagging"]) == {"fusion", "embedding", "neighbours"}
    one_word = catalogue["one_word"]  # {} when no word is carried by 3 held-out clips
    assert not one_word or 0 < one_word["map_own"] <= 1 and 0 < one_word["map_served"] <= 1
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert len(figures) == 6 and all((out / "figures" / f).stat().st_size > 1000 for f in figures)
    assert "downstream accuracy" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "nonsense"], "unknown task 'nonsense'"),
        (["--task", "folder:/no/such/folder"], "dataset folder not found"),
        (["--task", "csv:/no/such.csv"], "manifest not found"),
        (["--bundle", "/no/such/bundle"], "not a model bundle"),
    ],
)
def test_eval_bad_input_is_one_clear_line(trained: Path, args: list[str], message: str) -> None:
    proc = run_cli("--data-dir", str(trained), "eval", *args, "--repeats", "1", "--no-figures")
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_bundle_summary_takes_one_bundles_figures() -> None:
    from trainer.eval.summary import bundle_summary

    results = {
        "bundles": ["a", "b"],
        "tasks": {
            "drums": {
                "accuracy": {
                    "MFCC (120-d)": {"mean": 0.6},
                    "a z_a (1152-d)": {"mean": 0.7},
                    "b z_a (1152-d)": {"mean": 0.5},
                },
                "zero_shot": {"a": {"accuracy": 0.4, "chance": 0.125, "majority": 0.3, "n": 9}, "b": None},
            }
        },
        "catalogue": {
            "a": {"retrieval_centred": {"recall@10": 0.6}, "tagging": {"fusion": {"precision@5": 0.4}}}
        },
    }
    a = bundle_summary(results, "a", "audiotag eval")
    assert a["tasks"]["drums"]["z_a_accuracy"] == 0.7 and a["tasks"]["drums"]["zero_shot"]["majority"] == 0.3
    assert a["catalogue"]["recall@10"] == 0.6 and a["catalogue"]["tag_precision@5"] == {"fusion": 0.4}
    assert bundle_summary(results, "b")["tasks"]["drums"]["zero_shot"]["accuracy"] is None
    with pytest.raises(ValueError, match="no figures"):
        bundle_summary(results, "c")


def test_a_model_trained_on_every_source_reports_its_twins_out_of_source_figures() -> None:
    from trainer.eval.summary import twin_figures

    oos = {
        "zero_shot": {"accuracy": 0.38, "chance": 0.053, "n": 285},
        "retrieval_tags": {"recall@10": 0.12},
        "retrieval_names": {"recall@10": 0.11},
        "tagging": {"fusion": {"hit@5": 0.4}},
        "probe": {"z_a": 0.81, "mfcc": 0.79, "n": 285},
    }
    results = {"bundles": ["twin", "shipped"], "tasks": {}, "out_of_source": {"twin": oos}}
    figures = twin_figures(results, "twin", "audiotag eval --task catalogue")
    assert figures["twin"] == "twin" and figures["zero_shot"]["accuracy"] == 0.38
    assert figures["tag_hit@5"] == {"fusion": 0.4} and figures["command"].startswith("audiotag eval")
    with pytest.raises(ValueError, match="it trained on those sources"):
        twin_figures(results, "shipped")
    with pytest.raises(ValueError, match="name the twin"):
        twin_figures(results)
