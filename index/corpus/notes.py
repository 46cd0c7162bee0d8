"""Instrument notes and drum hits rendered from a GM SoundFont: the musical part of the built-in corpus.

The Debian game sounds have few instruments; these clips cover them with structured tags: the
instrument family (NSynth's names), the GM instrument's words, register and loudness; drum hits
carry their kind (kick, snare, hihat…) and kit. The `instruments` task tests on another SoundFont
(TimGM6mb) and renders its FluidR3 training notes at another length and rate, so no clip is shared.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from index.corpus.soundfont import (
    FAMILY_OF,
    GM_DRUMS,
    GM_KITS,
    GM_PROGRAMS,
    NoteRenderer,
    audible,
    read_soundfont,
)

SAMPLE_RATE = 22050
NOTES_PER_PROGRAM = 10
PITCHES = range(36, 97)  # C2..C7
VELOCITIES = (40, 80, 115)
DRUM_VELOCITIES = (60, 110)
# Rendered sources: corpus "package" name → the Debian package of its SoundFont, and its licence.
NOTE_SOURCES = {"fluid-soundfont-gm-notes": ("fluid-soundfont-gm", "MIT (FluidR3_GM by Frank Wen)")}


def _register(pitch: int) -> str:
    return "low" if pitch < 48 else "high" if pitch > 72 else "middle"


def _loudness(velocity: int) -> str:
    return "soft" if velocity < 60 else "loud" if velocity > 100 else "medium"


def melodic_plan(seed: int = 0) -> list[tuple[int, int, int]]:
    """(program, pitch, velocity): NOTES_PER_PROGRAM seeded choices for every GM program."""
    rng = random.Random(seed)
    return [
        (program, rng.choice(PITCHES), rng.choice(VELOCITIES))
        for program in range(128)
        for _ in range(NOTES_PER_PROGRAM)
    ]


def melodic_tags(program: int, pitch: int, velocity: int) -> list[str]:
    family = [FAMILY_OF[program]] if program in FAMILY_OF else []
    return [*family, *GM_PROGRAMS[program].split(), _register(pitch), _loudness(velocity), "note"]


def drum_tags(kit: int, key: int, velocity: int) -> list[str]:
    return [*GM_DRUMS[key].split(), GM_KITS[kit], "percussion", _loudness(velocity)]


def render_notes(
    package: str, deb: Path, version: str, audio_dir: Path, seed: int = 0
) -> tuple[list, Counter]:
    """Render every planned note into audio_dir/<package>/; (Freesound-shaped records, skip counts)."""
    licence = NOTE_SOURCES[package][1]
    renderer = NoteRenderer(read_soundfont(deb), SAMPLE_RATE)
    folder = audio_dir / package
    folder.mkdir(parents=True, exist_ok=True)
    records, skipped = [], Counter()
    plan = [("note", 0, *n) for n in melodic_plan(seed)]
    plan += [("drum", 128, kit, key, v) for kit in GM_KITS for key in GM_DRUMS for v in DRUM_VELOCITIES]
    for kind, bank, program, pitch, velocity in plan:
        if not renderer.has_program(program, bank):
            skipped["no such preset"] += 1
            continue
        hold, release = (1.5, 0.5) if kind == "note" else (0.2, 1.0)
        wave = renderer.render(program, pitch, velocity, hold, release, bank)
        if not audible(wave):
            skipped["silent"] += 1
            continue
        name = f"{kind}-{bank:03d}-{program:03d}-{pitch:03d}-{velocity:03d}"
        sf.write(folder / f"{name}.flac", np.clip(wave, -1, 1), SAMPLE_RATE)
        tags = (
            melodic_tags(program, pitch, velocity) if kind == "note" else drum_tags(program, pitch, velocity)
        )
        records.append(
            {
                "id": hashlib.sha1(f"{package}/{name}".encode()).hexdigest()[:16],
                "name": " ".join(tags[:4]),
                "tags": tags,
                "description": f"{kind} rendered from {deb.name} (bank {bank}, program {program}, "
                f"key {pitch}, velocity {velocity})",
                "license": licence,
                "username": NOTE_SOURCES[package][0],
                "duration": round(len(wave) / SAMPLE_RATE, 3),
                "file": f"{name}.flac",
                "package": package,
                "package_version": version,
            }
        )
    return records, skipped
