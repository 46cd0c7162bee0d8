"""Built-in evaluation tasks made from Debian packages: built once into DATA_DIR/tasks/<name>/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from trainer.eval.builtin.drums import build_drums
from trainer.eval.builtin.instruments import build_instruments
from trainer.eval.builtin.sound_events import build_sound_events
from trainer.eval.builtin.taskdir import ABOUT, MANIFEST, is_built
from trainer.eval.datasets import Task, load_csv_manifest

BUILTIN_TASKS: dict[str, Callable[..., Path]] = {
    "instruments": build_instruments,
    "drums": build_drums,
    "sound-events": build_sound_events,
}


def builtin_task(
    name: str, tasks_dir: Path, mirror: str | None = None, progress: bool = True, rebuild: bool = False
) -> tuple[Task, dict]:
    """The task (built first if needed) and its about.json."""
    root = Path(tasks_dir) / name
    if rebuild or not is_built(root):
        BUILTIN_TASKS[name](root, Path(tasks_dir) / ".debs", mirror=mirror, progress=progress)
    task = load_csv_manifest(root / MANIFEST)
    task.name = name
    return task, json.loads((root / ABOUT).read_text())
