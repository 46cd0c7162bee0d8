"""The `instruments` task: NSynth-like notes rendered from two independent General-MIDI SoundFonts.

Training notes come from FluidR3 (`fluid-soundfont-gm`), test notes from TimGM6mb
(`timgm6mb-soundfont`): other recordings of the same instruments, the analogue of NSynth's test
set of unseen instruments. GM programs map to NSynth's instrument families (`GM_FAMILIES`); synth
leads, pads, effects and percussion are left out, as the paper left out synth_lead. A note is held
3 s and released for 1 s at 16 kHz (NSynth's shape), at a pitch and velocity drawn from a seeded
shuffle; notes quieter than `SILENT_RMS` (out of the instrument's range) are skipped.

Rendering needs PyPI's `tinysoundfont`, installed with `pip install --no-deps tinysoundfont`
(its playback dependency, pyaudio, does not build without PortAudio headers and is not used).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.corpus.debian import download_deb, package_version
from index.corpus.soundfont import GM_FAMILIES, SILENT_RMS, audible, check_renderer, read_soundfont
from index.corpus.soundfont import NoteRenderer as SoundFontRenderer
from trainer.eval.builtin.taskdir import TaskRow, TaskWriter

SAMPLE_RATE = 16000
HOLD_S, RELEASE_S = 3.0, 1.0
PITCHES = range(24, 97)  # C1..C7
VELOCITIES = (25, 50, 75, 100, 127)
SOUNDFONTS = {  # fold → (package, licence)
    "train": ("fluid-soundfont-gm", "MIT (FluidR3_GM, Frank Wen)"),
    "test": ("timgm6mb-soundfont", "GPL-2 (TimGM6mb, Tim Brechbill)"),
}
NOTES_PER_FAMILY = {"train": 200, "test": 100}


class NoteRenderer(SoundFontRenderer):
    """The task's notes: held 3 s and released 1 s at 16 kHz."""

    def __init__(self, soundfont: bytes) -> None:
        super().__init__(soundfont, SAMPLE_RATE)

    def render(self, program: int, pitch: int, velocity: int) -> np.ndarray:
        return super().render(program, pitch, velocity, HOLD_S, RELEASE_S)


def note_plan(family: str, seed: int) -> list[tuple[int, int, int]]:
    """Every (program, pitch, velocity) of a family, in a seeded random order."""
    plan = [(p, k, v) for p in GM_FAMILIES[family] for k in PITCHES for v in VELOCITIES]
    random.Random(f"{seed}:{family}").shuffle(plan)
    return plan


def render_family(
    renderer: NoteRenderer, family: str, count: int, seed: int
) -> list[tuple[tuple[int, int, int], np.ndarray]]:
    """Up to `count` audible notes of a family, from the programs the SoundFont has."""
    present = {p for p in GM_FAMILIES[family] if renderer.has_program(p)}
    out = []
    for note in (n for n in note_plan(family, seed) if n[0] in present):
        wave = renderer.render(*note)
        if audible(wave):
            out.append((note, wave))
            if len(out) == count:
                break
    return out


def build_instruments(
    root: Path,
    debs_dir: Path,
    mirror: str | None = None,
    progress: bool = True,
    notes_per_family: dict[str, int] = NOTES_PER_FAMILY,
    soundfonts: dict[str, tuple[str, str]] = SOUNDFONTS,
    seed: int = 0,
) -> Path:
    """Render the task's notes into `root`; returns its manifest."""
    check_renderer()  # fail before any download when the renderer is missing
    writer = TaskWriter(root)
    rows, versions = [], {}
    for fold, (package, licence) in soundfonts.items():
        deb = download_deb(package, debs_dir, mirror)
        versions[package] = package_version(deb)
        renderer = NoteRenderer(read_soundfont(deb))
        for family in tqdm(GM_FAMILIES, desc=f"notes from {package}", disable=not progress):
            for (program, pitch, velocity), wave in render_family(
                renderer, family, notes_per_family[fold], seed
            ):
                name = f"{fold}/{family}/{family}-{program:03d}-{pitch:03d}-{velocity:03d}.flac"
                rel = writer.write_audio(name, wave, SAMPLE_RATE)
                rows.append(TaskRow(rel, family, fold, [], package, licence))
    about = {
        "task": "instruments",
        "built_from": versions,
        "classes": {f"{fold} {k}": v for (fold, k), v in Counter((r.fold, r.label) for r in rows).items()},
        "notes": f"{HOLD_S:g} s held + {RELEASE_S:g} s release at {SAMPLE_RATE} Hz, pitches "
        f"{PITCHES.start}-{PITCHES.stop - 1}, velocities {list(VELOCITIES)}, RMS >= {SILENT_RMS}",
        "folds": "train = FluidR3 notes, test = TimGM6mb notes",
    }
    return writer.finish(rows, about)
