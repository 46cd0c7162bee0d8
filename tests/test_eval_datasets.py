"""Dataset loaders on tiny replicas of each published layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tone, write_audio
from trainer.eval.datasets import (
    DatasetError,
    load_csv_manifest,
    load_folder_per_class,
    load_gtzan,
    load_nsynth,
    load_urbansound8k,
)


def _wav(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(path, tone(200 + seed, 0.2, seed=seed), 22050)


def test_urbansound8k_has_ten_folds(tmp_path: Path) -> None:
    lines = ["slice_file_name,fsID,start,end,salience,fold,classID,class"]
    for fold in range(1, 11):
        for cls in ("dog_bark", "siren"):
            name = f"{fold}-{cls}.wav"
            _wav(tmp_path / "audio" / f"fold{fold}" / name, fold)
            lines.append(f"{name},1,0,1,1,{fold},0,{cls}")
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "UrbanSound8K.csv").write_text("\n".join(lines) + "\n")
    task = load_urbansound8k(tmp_path)
    assert task.classes == ["dog_bark", "siren"] and task.folds == [str(i) for i in range(1, 11)]
    splits = list(task.splits())
    assert len(splits) == 10
    name, train, test = splits[0]
    assert name == "fold 1" and len(test) == 2 and len(train) == 18
    assert all(task.clips[i].path.is_file() for i in test)


def test_gtzan_filtered_lists(tmp_path: Path) -> None:
    for genre in ("blues", "jazz"):
        for i in range(3):
            _wav(tmp_path / "genres" / genre / f"{genre}.0000{i}.wav", i)
    (tmp_path / "train_filtered.txt").write_text(
        "blues/blues.00000.wav\njazz/jazz.00000.wav\njazz/jazz.00001.wav\n"
    )
    (tmp_path / "test_filtered.txt").write_text("blues/blues.00001.wav\njazz/jazz.00002.wav\n")
    task = load_gtzan(tmp_path, tmp_path / "train_filtered.txt", tmp_path / "test_filtered.txt")
    [(name, train, test)] = list(task.splits())
    assert (name, len(train), len(test)) == ("test", 3, 2)
    assert task.clips[test[0]].label == "blues" and task.clips[test[0]].path.is_file()


def test_nsynth_families_without_synth_lead(tmp_path: Path) -> None:
    for split in ("train", "test"):
        examples = {}
        for i, family in enumerate(("guitar", "brass", "synth_lead")):
            note = f"{family}_acoustic_00{i}-060-100"
            _wav(tmp_path / f"nsynth-{split}" / "audio" / f"{note}.wav", i)
            examples[note] = {"instrument_family_str": family, "pitch": 60}
        (tmp_path / f"nsynth-{split}" / "examples.json").write_text(json.dumps(examples))
    task = load_nsynth(tmp_path)
    assert task.classes == ["brass", "guitar"] and len(task.clips) == 4


def test_folder_per_class_and_csv_manifest(tmp_path: Path) -> None:
    for cls in ("rain", "wind"):
        for i in range(5):
            _wav(tmp_path / "ds" / cls / f"{i}.wav", i)
    task = load_folder_per_class(tmp_path / "ds", folds=5)
    assert task.classes == ["rain", "wind"] and len(list(task.splits())) == 5
    (tmp_path / "ds" / "m.csv").write_text("path,label,fold\nrain/0.wav,rain,train\nwind/0.wav,wind,test\n")
    manifest = load_csv_manifest(tmp_path / "ds" / "m.csv")
    assert [c.path.is_file() for c in manifest.clips] == [True, True]
    assert [s[0] for s in manifest.splits()] == ["test"]


def test_wrong_layouts_say_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="UrbanSound8K metadata not found"):
        load_urbansound8k(tmp_path)
    (tmp_path / "m.csv").write_text("file,class\nx.wav,a\n")
    with pytest.raises(DatasetError, match="missing column"):
        load_csv_manifest(tmp_path / "m.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no clips"):
        load_folder_per_class(tmp_path / "empty")
