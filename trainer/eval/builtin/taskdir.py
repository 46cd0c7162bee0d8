"""A built task on disk: `tasks/<name>/` with its audio, `manifest.csv` and `about.json`.

The manifest is what `load_csv_manifest` reads (path, label, fold, tags, source, license), so a
built-in task is evaluated exactly like a user's own CSV task. It is written last, atomically: a
folder without it is an unfinished build and is built again.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from model.files import write_json_atomic, write_text_atomic

MANIFEST, ABOUT = "manifest.csv", "about.json"
FIELDS = ["path", "label", "fold", "tags", "source", "license"]


@dataclass
class TaskRow:
    path: str  # relative to the task folder
    label: str
    fold: str
    tags: list[str] = field(default_factory=list)
    source: str = ""
    license: str = ""


class TaskWriter:
    """Collects clips under `<root>/audio/` and writes the manifest when done."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not (self.root / MANIFEST).exists():
            shutil.rmtree(self.root)  # an interrupted build: start again
        (self.root / "audio").mkdir(parents=True, exist_ok=True)

    def write_bytes(self, relative: str, data: bytes) -> str:
        target = self.root / "audio" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return f"audio/{relative}"

    def write_audio(self, relative: str, mono: np.ndarray, sample_rate: int) -> str:
        """Write a float waveform (N,) as 16-bit FLAC."""
        target = self.root / "audio" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, np.clip(mono, -1.0, 1.0), sample_rate, subtype="PCM_16", format="FLAC")
        return f"audio/{relative}"

    def keep_only(self, kept: set[str]) -> None:
        """Delete audio written but not used (unlabelled, duplicate, over a cap)."""
        for f in (self.root / "audio").rglob("*"):
            if f.is_file() and f"audio/{f.relative_to(self.root / 'audio').as_posix()}" not in kept:
                f.unlink()

    def finish(self, rows: list[TaskRow], about: dict) -> Path:
        write_json_atomic(self.root / ABOUT, about, indent=2)
        buf = io.StringIO()
        out = csv.DictWriter(buf, FIELDS)
        out.writeheader()
        for r in rows:
            out.writerow({**r.__dict__, "tags": " ".join(r.tags)})
        write_text_atomic(self.root / MANIFEST, buf.getvalue())
        return self.root / MANIFEST


def is_built(root: Path) -> bool:
    return (Path(root) / MANIFEST).is_file()
