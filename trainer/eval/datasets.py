"""Labelled audio datasets in the layouts their authors publish, each read into one `Task`.

UrbanSound8K (10 folds), GTZAN (fault-filtered train/test lists), NSynth (instrument families),
and two generic layouts: a folder per class, and a CSV manifest (path, label, optional fold).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from model.audio import AUDIO_SUFFIXES

NSYNTH_DROPPED = {"synth_lead"}  # as the paper: too few acoustic examples


class DatasetError(ValueError):
    """The folder is not in the expected layout; the message names what is missing."""


@dataclass(frozen=True)
class LabelledClip:
    path: Path
    label: str
    fold: str  # a fold number, or "train" / "test"
    tags: tuple[str, ...] = ()  # the clip's own tags, where the dataset has them


@dataclass
class Task:
    name: str
    clips: list[LabelledClip]
    classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.clips:
            raise DatasetError(f"{self.name}: no clips found")
        self.classes = self.classes or sorted({c.label for c in self.clips})

    @property
    def folds(self) -> list[str]:
        return sorted(
            {c.fold for c in self.clips}, key=lambda f: (not f.isdigit(), int(f) if f.isdigit() else 0, f)
        )

    def splits(self) -> Iterator[tuple[str, list[int], list[int]]]:
        """(name, train indices, test indices): the train/test split, or each fold held out in turn."""
        folds = self.folds
        if set(folds) >= {"train", "test"}:
            yield "test", self._where(lambda f: f == "train"), self._where(lambda f: f == "test")
            return
        if len(folds) < 2:
            raise DatasetError(f"{self.name}: one fold only; give a fold column or a train/test split")
        for held in folds:
            yield f"fold {held}", self._where(lambda f, h=held: f != h), self._where(lambda f, h=held: f == h)

    def _where(self, keep) -> list[int]:
        return [i for i, c in enumerate(self.clips) if keep(c.fold)]


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise DatasetError(f"{what} not found: {path}")
    return path


def load_urbansound8k(root: Path) -> Task:
    """`metadata/UrbanSound8K.csv` and `audio/fold1..10/`; the official 10 folds."""
    meta = _require(Path(root) / "metadata" / "UrbanSound8K.csv", "UrbanSound8K metadata")
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
    clips = [
        LabelledClip(Path(root) / "audio" / f"fold{r['fold']}" / r["slice_file_name"], r["class"], r["fold"])
        for r in rows
    ]
    return Task("urbansound8k", clips)


def load_gtzan(root: Path, train_list: Path, test_list: Path) -> Task:
    """GTZAN's `genres/<genre>/<file>` with the fault-filtered lists (lines like `blues/blues.00012.wav`)."""
    root = Path(root)
    genres = root / "genres" if (root / "genres").is_dir() else root
    clips = []
    for split, listing in (("train", train_list), ("test", test_list)):
        for line in _require(Path(listing), f"GTZAN {split} list").read_text().split():
            clips.append(LabelledClip(genres / line, line.split("/")[0], split))
    return Task("gtzan", clips)


def load_nsynth(root: Path) -> Task:
    """`nsynth-train/` and `nsynth-test/`, each `examples.json` + `audio/<note>.wav`; instrument families."""
    clips = []
    for split in ("train", "test"):
        folder = _require(Path(root) / f"nsynth-{split}", f"NSynth {split} folder")
        examples = json.loads(_require(folder / "examples.json", "NSynth examples.json").read_text())
        for note, ex in sorted(examples.items()):
            family = ex["instrument_family_str"]
            if family not in NSYNTH_DROPPED:
                clips.append(LabelledClip(folder / "audio" / f"{note}.wav", family, split))
    return Task("nsynth", clips)


def load_folder_per_class(root: Path, folds: int = 5) -> Task:
    """`<class>/<clip>`; clips are dealt into `folds` folds by sorted order within each class."""
    root = _require(Path(root), "dataset folder")
    clips = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        clips += [LabelledClip(p, class_dir.name, str(i % folds + 1)) for i, p in enumerate(files)]
    return Task(root.name, clips)


def load_csv_manifest(path: Path, folds: int = 5) -> Task:
    """A CSV with `path` and `label` columns, an optional `fold` (a number, or train/test) and
    optional space-separated `tags`; paths are relative to the CSV's folder."""
    path = _require(Path(path), "manifest")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"path", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DatasetError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        rows = list(reader)
    clips = [
        LabelledClip(
            path.parent / r["path"],
            r["label"].strip(),
            (r.get("fold") or str(i % folds + 1)).strip(),
            tuple((r.get("tags") or "").split()),
        )
        for i, r in enumerate(rows)
    ]
    return Task(path.parent.name if path.name == "manifest.csv" else path.stem, clips)
