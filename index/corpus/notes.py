"""Instrument notes and drum hits rendered from SoundFonts: the musical part of the built-in corpus.

The Debian game sounds have few instruments; these clips cover them with structured tags: the
instrument family (NSynth's names), the GM instrument's words, register and loudness; drum hits
carry their kind (kick, snare, hihat…), kit and loudness. A second font, MuseScore_General (an
adaptation of FluidR3 with many instruments replaced), adds 4 notes of every program, so an
instrument's timbre is not one font's. The `instruments` task tests on another SoundFont (TimGM6mb)
and renders its FluidR3 training notes at another length and rate, so no clip is shared. Drum hits
come from three independent sets of recordings: FluidR3's kits, Csound's GM bank (LGPL) and AVL's
Red Zeppelin kit (GPL). AVL's Black Pearl kit is left out: its recordings are
the Hydrogen kit "The Black Pearl" that the `drums` task tests on.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
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
# Keys whose kind is the same in every GM-like kit: AVL's kits map other sounds to the rest.
CORE_DRUM_KEYS = (35, 36, 37, 38, 40, 41, 42, 43, 44, 45, 46, 47, 49, 51, 53, 57, 59)


@dataclass(frozen=True)
class RenderedSource:
    """A corpus source rendered from one SoundFont of a Debian package."""

    package: str  # the Debian package holding the SoundFont
    licence: str
    notes_per_program: int = NOTES_PER_PROGRAM  # melodic notes of every GM program (0: none)
    kits: dict[tuple[int, int], str] = field(default_factory=dict)  # (bank, program) → kit word
    drum_keys: tuple[int, ...] = tuple(GM_DRUMS)
    drum_velocities: tuple[int, ...] = DRUM_VELOCITIES
    soundfont: str | None = None  # the .sf2/.sf3 file's name where the package has several


GM_KIT_PRESETS = {(128, program): word for program, word in GM_KITS.items()}
# Corpus "package" name → how it is rendered.
NOTE_SOURCES: dict[str, RenderedSource] = {
    "fluid-soundfont-gm-notes": RenderedSource(
        "fluid-soundfont-gm", "MIT (FluidR3_GM by Frank Wen)", kits=GM_KIT_PRESETS
    ),
    "musescore-general-soundfont-notes": RenderedSource(
        "musescore-general-soundfont",
        "MIT (MuseScore_General by S. Christian Collins, after FluidR3_GM by Frank Wen)",
        notes_per_program=4,
    ),
    "csound-soundfont-drums": RenderedSource(
        "csound-soundfont", "LGPL-2.1+ (Csound's sf_GMbank)", notes_per_program=0, kits=GM_KIT_PRESETS
    ),
    "avldrums-red-zeppelin-drums": RenderedSource(
        "avldrums.lv2-soundfont",
        "GPL-2+ (AVL Drumkits by Glen MacArthur)",
        notes_per_program=0,
        kits={(0, 0): "rock"},
        drum_keys=CORE_DRUM_KEYS,
        drum_velocities=(35, 60, 85, 110, 127),
        soundfont="Red_Zeppelin_4_LV2.sf2",
    ),
}


def _register(pitch: int) -> str:
    return "low" if pitch < 48 else "high" if pitch > 72 else "middle"


def _loudness(velocity: int) -> str:
    return "soft" if velocity < 60 else "loud" if velocity > 100 else "medium"


def melodic_plan(seed: int = 0, per_program: int | None = None) -> list[tuple[int, int, int]]:
    """(program, pitch, velocity): `per_program` (default NOTES_PER_PROGRAM) seeded choices for every
    GM program."""
    rng = random.Random(seed)
    count = NOTES_PER_PROGRAM if per_program is None else per_program
    return [
        (program, rng.choice(PITCHES), rng.choice(VELOCITIES)) for program in range(128) for _ in range(count)
    ]


def melodic_tags(program: int, pitch: int, velocity: int) -> list[str]:
    family = [FAMILY_OF[program]] if program in FAMILY_OF else []
    return [*family, *GM_PROGRAMS[program].split(), _register(pitch), _loudness(velocity), "note"]


def drum_tags(kit: str, key: int, velocity: int) -> list[str]:
    return [*GM_DRUMS[key].split(), kit, "percussion", _loudness(velocity)]


def render_plan(source: RenderedSource, seed: int = 0) -> list[tuple[str, int, int, int, int]]:
    """(kind, bank, program, key, velocity) of every clip to render."""
    plan = [("note", 0, *n) for n in melodic_plan(seed, source.notes_per_program)]
    return plan + [
        ("drum", bank, program, key, v)
        for bank, program in source.kits
        for key in source.drum_keys
        for v in source.drum_velocities
    ]


def render_notes(
    package: str, deb: Path, version: str, audio_dir: Path, seed: int = 0
) -> tuple[list, Counter]:
    """Render every planned note into audio_dir/<package>/; (Freesound-shaped records, skip counts)."""
    source = NOTE_SOURCES[package]
    renderer = NoteRenderer(read_soundfont(deb, source.soundfont), SAMPLE_RATE)
    folder = audio_dir / package
    folder.mkdir(parents=True, exist_ok=True)
    records, skipped = [], Counter()
    for kind, bank, program, pitch, velocity in render_plan(source, seed):
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
            melodic_tags(program, pitch, velocity)
            if kind == "note"
            else drum_tags(source.kits[bank, program], pitch, velocity)
        )
        records.append(
            {
                "id": hashlib.sha1(f"{package}/{name}".encode()).hexdigest()[:16],
                "name": " ".join(tags[:4]),
                "tags": tags,
                "description": f"{kind} rendered from {deb.name} (bank {bank}, program {program}, "
                f"key {pitch}, velocity {velocity})",
                "license": source.licence,
                "username": source.package,
                "duration": round(len(wave) / SAMPLE_RATE, 3),
                "file": f"{name}.flac",
                "package": package,
                "package_version": version,
            }
        )
    return records, skipped
