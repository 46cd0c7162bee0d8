"""The built-in evaluation tasks, built from small real .deb packages the tests make."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from index.corpus.heldout import group_key, in_heldout_half, is_heldout
from tests.conftest import make_deb, tone
from tests.soundfont import write_sf2
from trainer.eval.builtin import drums, instruments, sound_events
from trainer.eval.builtin.folds import grouped_folds
from trainer.eval.datasets import load_csv_manifest

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
KITS = "usr/share/hydrogen/data/drumkits"


def _wav(seed: int, seconds: float = 0.5) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(150 + 83 * seed, seconds, sr=44100, seed=seed), 44100, format="WAV")
    return buf.getvalue()


def _drumkit(instruments: dict[str, list[str]]) -> bytes:
    parts = "".join(
        f"<instrument><id>{i}</id><name>{name}</name><instrumentComponent>"
        + "".join(f"<layer><filename>{f}</filename></layer>" for f in files)
        + "</instrumentComponent></instrument>"
        for i, (name, files) in enumerate(instruments.items())
    )
    return (
        '<?xml version="1.0"?><drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">'
        f"<name>k</name><license>CC0</license><instrumentList>{parts}</instrumentList></drumkit_info>"
    ).encode()


def _read_manifest(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_drum_names_map_to_one_class() -> None:
    assert drums.drum_class("Snare Rimshot (Pearl 14x3.5)") == "snare"
    assert drums.drum_class("Hi Hat Closed") == "hihat"
    assert drums.drum_class("c3 - bass drum 1") == "kick"
    assert drums.drum_class("Floor Tom") == "tom"
    assert drums.drum_class("ride-crash20inch") is None  # two classes: ambiguous
    assert drums.drum_class("Stick") is None and drums.drum_class("17") is None


def test_grouped_folds_keep_groups_together_and_balance() -> None:
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"]
    folds = grouped_folds(groups, 2)
    assert len({f for g, f in zip(groups, folds, strict=True) if g == "a"}) == 1
    sizes = {f: folds.count(f) for f in set(folds)}
    assert sorted(sizes.values()) == [6, 6]


@needs_dpkg
def test_drums_task_from_kit_files(tmp_path: Path) -> None:
    shared = _wav(9)
    files = {
        f"{KITS}/KitA/drumkit.xml": _drumkit(
            {"Kick": ["k1.wav", "k2.wav"], "Snare": ["s.flac"], "Stick": ["st.wav"], "Ride": ["same.wav"]}
        ),
        f"{KITS}/KitA/k1.wav": _wav(1),
        f"{KITS}/KitA/k2.wav": _wav(2),
        f"{KITS}/KitA/st.wav": _wav(3),
        f"{KITS}/KitA/same.wav": shared,
        f"{KITS}/KitB/drumkit.xml": _drumkit({"Ride Cymbal": ["r.wav"], "Crash": ["missing.wav"]}),
        f"{KITS}/KitB/r.wav": shared,  # the same sample as KitA's ride: KitA and KitB share a fold
        f"{KITS}/KitC/drumkit.xml": _drumkit({"Hat Open": ["h.wav"], "Hand Clap": ["c.wav"]}),
        f"{KITS}/KitC/h.wav": _wav(4),
        f"{KITS}/KitC/c.wav": _wav(5),
    }
    buf = io.BytesIO()
    sf.write(buf, tone(300, 0.5), 44100, format="FLAC")
    files[f"{KITS}/KitA/s.flac"] = buf.getvalue()
    make_deb(tmp_path / "debs", "hydrogen-drumkits", files, "2017.09.19~dfsg-1")
    manifest = drums.build_drums(
        tmp_path / "drums", tmp_path / "debs", progress=False, packages=frozenset({"hydrogen-drumkits"})
    )
    rows = _read_manifest(manifest)
    assert sorted(r["label"] for r in rows) == ["clap", "hihat", "kick", "kick", "ride", "snare"]
    fold = {r["source"]: r["fold"] for r in rows}
    assert fold["KitA"] == next(r["fold"] for r in rows if r["label"] == "ride")
    assert fold["KitA"] != fold["KitC"]
    about = json.loads((tmp_path / "drums/about.json").read_text())
    assert about["dropped"] == {
        "no single class in the instrument name": 1,
        "identical sample seen before": 1,
        "sample file missing from the package": 1,
    }
    assert not (tmp_path / "drums/audio/KitA/st.wav").exists()  # unlabelled samples are not kept
    task = load_csv_manifest(manifest)
    assert all(c.path.is_file() for c in task.clips) and task.name == "drums"
    assert len(list(task.splits())) == 2


def _held_out_path(stem: str, folder: str = "sounds") -> str:
    """A path of the fake package whose group falls in the held-out half, by the real rule."""
    for suffix in ("", "_a", "_b", "_c", "_d", "_e", "_f", "_g", "_h", "_k", "_m", "_n"):
        path = f"usr/share/games/fake/{folder}/{stem}{suffix}_01.wav"
        if in_heldout_half(group_key("fake-data", path)):
            return path
    raise AssertionError("no held-out name found")


@needs_dpkg
def test_sound_events_task_audits_dedupes_and_strips_class_words(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sound_events, "MIN_PER_CLASS", 2)
    monkeypatch.setattr(sound_events, "MIN_PACKAGES", 1)
    door = [_held_out_path(f"door_{w}", "castle") for w in ("creak", "slam", "knock")]
    bird = [_held_out_path(f"bird_{w}", "forest") for w in ("tweet", "song")]
    files = {p: _wav(i) for i, p in enumerate(door + bird)}
    files[_held_out_path("door_twin", "castle")] = files[door[0]]  # identical bytes
    files[_held_out_path("crouch", "footsteps")] = _wav(20)  # the audit drops it
    files[_held_out_path("water_drop", "cave")] = _wav(21)  # one clip: class too small
    make_deb(tmp_path / "debs", "fake-data", files)
    manifest = sound_events.build_sound_events(
        tmp_path / "se", tmp_path / "debs", progress=False, packages=["fake-data"]
    )
    rows = _read_manifest(manifest)
    assert sorted(r["label"] for r in rows) == ["bird", "bird", "door", "door", "door"]
    assert all(is_heldout("fake-data", r["path"].split("/", 2)[2]) for r in rows)
    for r in rows:
        tags = r["tags"].split()
        assert r["label"] not in tags and ("castle" in tags or "forest" in tags)
    about = json.loads((tmp_path / "se/about.json").read_text())
    assert about["dropped"]["identical file seen before"] == 1
    assert about["classes_left_out"] == {"water": "1 clips from 1 packages"}
    assert not list((tmp_path / "debs").glob("*.deb"))  # each package deleted once read


@needs_dpkg
def test_instruments_task_renders_audible_notes_per_family(tmp_path: Path) -> None:
    pytest.importorskip("tinysoundfont", reason="pip install --no-deps tinysoundfont")
    make_deb(tmp_path / "debs", "font-a", {"usr/share/sounds/sf2/A.sf2": write_sf2([0, 40, 73])})
    make_deb(tmp_path / "debs", "font-b", {"usr/share/sounds/sf2/B.sf2": write_sf2([1, 41, 74], "square")})
    manifest = instruments.build_instruments(
        tmp_path / "ins",
        tmp_path / "debs",
        progress=False,
        notes_per_family={"train": 3, "test": 2},
        soundfonts={"train": ("font-a", "MIT"), "test": ("font-b", "GPL-2")},
    )
    task = load_csv_manifest(manifest)
    counts = {(c.fold, c.label): 0 for c in task.clips}
    for c in task.clips:
        counts[(c.fold, c.label)] += 1
    assert counts == {
        ("train", "keyboard"): 3, ("train", "string"): 3, ("train", "flute"): 3,
        ("test", "keyboard"): 2, ("test", "string"): 2, ("test", "flute"): 2,
    }  # fmt: skip
    wave, sr = sf.read(task.clips[0].path)
    assert sr == instruments.SAMPLE_RATE and len(wave) == 4 * sr and abs(wave).max() > 0.01
    assert [name for name, _, _ in task.splits()] == ["test"]


def test_gm_families_do_not_overlap() -> None:
    programs = [p for family in instruments.GM_FAMILIES.values() for p in family]
    assert len(programs) == len(set(programs)) and not set(programs) & set(range(80, 88))
