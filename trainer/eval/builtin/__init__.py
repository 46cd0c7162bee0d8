"""Built-in evaluation tasks made from Debian packages: built once into DATA_DIR/tasks/<name>/."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer.eval.datasets import Task

# task name → (module, builder); a builder and what it reads is imported only to build its task
BUILTIN_TASKS: dict[str, tuple[str, str]] = {
    "instruments": ("trainer.eval.builtin.instruments", "build_instruments"),
    "drums": ("trainer.eval.builtin.drums", "build_drums"),
    "sound-events": ("trainer.eval.builtin.sound_events", "build_sound_events"),
}


def builtin_task(
    name: str, tasks_dir: Path, mirror: str | None = None, progress: bool = True, rebuild: bool = False
) -> tuple[Task, dict]:
    """The task (built first if needed) and its about.json."""
    from trainer.eval.builtin.taskdir import ABOUT, MANIFEST, is_built
    from trainer.eval.datasets import load_csv_manifest

    root = Path(tasks_dir) / name
    if rebuild or not is_built(root):
        module, builder = BUILTIN_TASKS[name]
        getattr(importlib.import_module(module), builder)(
            root, Path(tasks_dir) / ".debs", mirror=mirror, progress=progress
        )
    task = load_csv_manifest(root / MANIFEST)
    task.name = name
    return task, json.loads((root / ABOUT).read_text())
