"""The corpus's other sources: sounds inside Qt resource files (GCompris) and notes rendered from a
SoundFont, both read from real .debs the tests build."""

from __future__ import annotations

import io
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
import soundfile as sf

from index.corpus import notes, speech
from index.corpus.build import build_packages, candidate_files
from index.corpus.rcc import RccError, rcc_files
from tests.conftest import make_deb, tone
from tests.soundfont import write_sf2

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def write_rcc(files: dict[str, bytes], compress: frozenset[str] = frozenset()) -> bytes:
    """A version-2 Qt resource file holding `files` (paths like "a/b.wav"), some zlib-compressed."""
    root: dict = {}
    for path in files:
        *dirs, leaf = path.split("/")
        node = root
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = path
    names, blobs = bytearray(), bytearray()
    nodes = [[0, 2, 0, 0]]  # [name offset, flags, children | flags-dependent, first child | data offset]
    pending = [(0, root)]  # breadth first: a directory's children are consecutive nodes
    while pending:
        index, children = pending.pop(0)
        nodes[index][2:] = [len(children), len(nodes)]
        for name, child in children.items():
            offset = len(names)
            names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
            if isinstance(child, dict):
                pending.append((len(nodes), child))
                nodes.append([offset, 2, 0, 0])
            else:
                payload, flags = files[child], 0
                if child in compress:
                    payload, flags = struct.pack(">I", len(payload)) + zlib.compress(payload), 1
                nodes.append([offset, flags, 0, len(blobs)])
                blobs += struct.pack(">I", len(payload)) + payload
    tree = b"".join(
        struct.pack(">IHII", o, f, a, b) if f & 2 else struct.pack(">IHHHI", o, f, 0, 0, b)
        for o, f, a, b in nodes
    )
    tree = b"".join(tree[i : i + 14] + b"\0" * 8 for i in range(0, len(tree), 14))  # + modification time
    offsets = struct.pack(">IIII", 2, 20, 20 + len(tree), 20 + len(tree) + len(blobs))
    return b"qres" + offsets + tree + bytes(blobs) + bytes(names)


def _wav(freq: float) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(freq, 0.6), 22050, format="WAV")
    return buf.getvalue()


def test_rcc_files_reads_plain_and_compressed_entries() -> None:
    files = {"sounds/animals/pig.wav": _wav(300), "sounds/click.wav": _wav(900), "ui/Main.qml": b"Item {}"}
    blob = write_rcc(files, compress={"sounds/click.wav"})
    assert dict(rcc_files(blob)) == {f"/{k}": v for k, v in files.items()}
    with pytest.raises(RccError, match="qres"):
        list(rcc_files(b"not a resource file at all"))
    with pytest.raises(RccError, match="broken"):
        list(rcc_files(blob[:40]))


@needs_dpkg
def test_sounds_inside_rcc_files_become_corpus_candidates(tmp_path: Path) -> None:
    rcc = write_rcc({"activities/farm/resource/animals/cow.wav": _wav(200), "activities/farm/x.qml": b"x"})
    deb = make_deb(tmp_path, "edu-data", {"usr/share/edu/rcc/farm.rcc": rcc})
    found = dict(candidate_files(deb))
    assert list(found) == ["usr/share/edu/rcc/farm.rcc/activities/farm/resource/animals/cow.wav"]


@needs_dpkg
def test_notes_source_renders_tagged_notes_and_drum_hits(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("tinysoundfont", reason="pip install --no-deps tinysoundfont")
    # A .deb already in the corpus's debs folder is used as if downloaded; .sf3 is read like .sf2.
    make_deb(tmp_path / "out/debs", "font-gm", {"usr/share/sounds/sf3/GM.sf3": write_sf2([0, 40, 73])})
    source = notes.RenderedSource("font-gm", "MIT", notes_per_program=2, kits=notes.GM_KIT_PRESETS)
    monkeypatch.setitem(notes.NOTE_SOURCES, "font-gm-notes", source)
    [result] = build_packages(["font-gm-notes"], tmp_path / "out", keep_debs=True, progress=False)
    assert len(result.records) == 6  # 3 programs × 2 notes; the test font has no drum kit
    by_program = {r["description"].split("program ")[1].split(",")[0]: r for r in result.records}
    assert set(by_program) == {"0", "40", "73"}
    piano, violin, flute = by_program["0"]["tags"], by_program["40"]["tags"], by_program["73"]["tags"]
    assert piano[0] == "keyboard" and "piano" in piano and "note" in piano
    assert violin[0] == "string" and "violin" in violin and flute[0] == "flute"
    assert all({"low", "middle", "high"} & set(r["tags"]) for r in result.records)
    wave, sr = sf.read(tmp_path / "out/audio/font-gm-notes" / result.records[0]["file"])
    assert sr == notes.SAMPLE_RATE and len(wave) == 2 * sr and abs(wave).max() > 0.01
    assert result.skipped["no such preset"] > 0  # 125 other programs and every drum kit


@needs_dpkg
def test_speech_source_keeps_a_capped_round_robin_of_languages_tagged_only_as_speech(
    tmp_path: Path, monkeypatch
) -> None:
    clips = {f"usr/share/talk/sounds/{lang}/word{i}.wav": _wav(200 + 40 * i + n) for n, lang in
             enumerate(["de", "en", "fr"]) for i in range({"de": 1, "en": 5, "fr": 5}[lang])}  # fmt: skip
    copyright = "Format: x\n\nFiles: *\nCopyright: 2020 Someone\nLicense: GPL-2+\n"
    clips["usr/share/doc/talk-data/copyright"] = copyright.encode()
    clips["usr/share/talk/pics/car.wav"] = _wav(500)  # not a spoken word: not taken
    make_deb(tmp_path / "out/debs", "talk-data", clips)
    source = speech.SpeechSource("talk-data", re.compile(r"/talk/sounds/([^/]+)/[^/]+$"), cap=5)
    monkeypatch.setitem(speech.SPEECH_SOURCES, "talk-speech", source)
    [result] = build_packages(["talk-speech"], tmp_path / "out", keep_debs=True, progress=False)
    languages = [r["file"].split("/")[-2] for r in result.records]
    assert sorted(languages) == ["de", "en", "en", "fr", "fr"]  # every language before a second of any
    assert all(r["tags"] == ["speech", "voice"] for r in result.records)  # never the word it says
    assert all(r["license"] == "GPL-2+" and "talk-data" in r["description"] for r in result.records)
    [again] = build_packages(["talk-speech"], tmp_path / "out", keep_debs=True, progress=False)
    assert again.records == result.records  # read back, tags kept rather than taken from the path
