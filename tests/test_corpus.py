"""The built-in corpus from Debian packages, on a small real .deb the tests build with dpkg-deb."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

from index.corpus import debian
from index.corpus.build import build_packages
from index.corpus.debian import CorpusError, iter_deb_files, package_version
from index.corpus.heldout import group_key, in_heldout_half, is_heldout, sound_event_class
from index.corpus.pathtags import is_candidate, path_tags
from tests.conftest import make_deb, run_cli, tone

PACKAGE = "fakegame-data"
ROOT = "usr/share/games/fakegame"
COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: fakegame

Files: *
Copyright: 2020 Someone
License: GPL-2+

Files: data/sounds/*
Copyright: 2019 Alice
License: CC0-1.0
Comment: from https://freesound.org/people/alice_rec/sounds/12345/
"""

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")


def _wav(seconds: float, seed: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(200 + 61 * seed, seconds, seed=seed), 22050, format="WAV")
    return buf.getvalue()


def _event_names() -> tuple[str, str]:
    """One door sound held out for evaluation and one kept, by the real hashing rule."""
    held = kept = None
    for word in ("creak", "slam", "open", "close", "knock", "squeak", "bang", "shut", "lock", "wood"):
        path = f"{ROOT}/sounds/door_{word}.wav"
        if in_heldout_half(group_key(PACKAGE, path)):
            held = held or path
        else:
            kept = kept or path
    assert held and kept
    return held, kept


def build_deb(where: Path, compression: str = "xz") -> Path:
    """A .deb with clips, a duplicate, a too-short clip, speech, a .pk3 and a DEP-5 copyright."""
    files = {
        f"{ROOT}/sounds/glass_break.wav": _wav(1.0, 1),
        f"{ROOT}/sounds/glass_twin.wav": _wav(1.0, 1),  # same bytes
        f"{ROOT}/sounds/tiny_click.wav": _wav(0.1, 2),
        f"{ROOT}/voices/hello.wav": _wav(1.0, 3),
        f"{ROOT}/sounds/broken.wav": b"RIFF\x00\x00\x00\x00WAVEjunk",
        f"usr/share/doc/{PACKAGE}/copyright": COPYRIGHT.encode(),
    }
    held, kept = _event_names()
    files[held], files[kept] = _wav(1.2, 4), _wav(1.3, 5)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("sound/metal_hit.wav", _wav(0.8, 6))
        zf.writestr("music/theme.wav", _wav(0.8, 7))
    files[f"{ROOT}/base.pk3"] = zbuf.getvalue()
    return make_deb(where, PACKAGE, files, version="1:1.0-2", compression=compression)


@needs_dpkg
@pytest.mark.parametrize("with_dpkg", [True, False])
def test_deb_members_stream_with_and_without_dpkg(tmp_path: Path, monkeypatch, with_dpkg: bool) -> None:
    deb = build_deb(tmp_path, "gzip" if with_dpkg else "xz")
    if not with_dpkg:
        monkeypatch.setattr(debian.shutil, "which", lambda name: None)
    names = {path for path, _, _ in iter_deb_files(deb)}
    assert f"{ROOT}/sounds/glass_break.wav" in names and f"usr/share/doc/{PACKAGE}/copyright" in names
    assert package_version(deb) == "1:1.0-2"


def test_not_a_deb_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(debian.shutil, "which", lambda name: None)
    (tmp_path / "x.deb").write_bytes(b"hello")
    with pytest.raises(CorpusError, match="not a Debian package"):
        list(iter_deb_files(tmp_path / "x.deb"))


@needs_dpkg
def test_build_keeps_sound_effects_with_tags_licences_and_holdouts(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    (out / "debs").mkdir(parents=True)
    build_deb(out / "debs")
    [result] = build_packages([PACKAGE], out, keep_debs=True, progress=False)
    by_name = {r["name"]: r for r in result.records}
    held, kept = _event_names()
    assert set(by_name) == {"glass_break", "metal_hit", Path(kept).stem}
    glass = by_name["glass_break"]
    assert glass["tags"] == ["glass", "break"]
    assert glass["license"] == "CC0-1.0" and glass["username"] == "alice_rec"
    assert "Freesound sound 12345" in glass["description"]
    assert by_name["metal_hit"]["license"] == "GPL-2+"
    assert (out / "audio" / PACKAGE / glass["file"]).is_file()
    assert result.skipped["duplicate content"] == 1
    assert result.skipped["held out for evaluation"] == 1
    assert result.skipped["too_short"] == 1
    assert result.version == "1:1.0-2"
    # Done packages are read back, not extracted again.
    saved = json.loads((out / "packages" / f"{PACKAGE}.json").read_text())
    assert len(saved["records"]) == 3
    again = build_packages([PACKAGE], out, keep_debs=True, progress=False)
    assert again[0].records == result.records


@needs_dpkg
def test_cli_builds_and_ingests_idempotently(tmp_path: Path, data_dir: Path) -> None:
    debs = data_dir / "corpus" / "debian" / "debs"
    debs.mkdir(parents=True)
    build_deb(debs)
    proc = run_cli("corpus", "build", "--packages", PACKAGE, "--keep-debs")
    assert proc.returncode == 0, proc.stderr
    assert "3 clips" in proc.stdout
    assert "CREDITS.md" in proc.stdout
    lines = (data_dir / "corpus/debian/metadata.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["file"].startswith(f"{PACKAGE}/")
    again = run_cli("corpus", "build", "--packages", PACKAGE, "--keep-debs")
    assert again.returncode == 0
    assert "unchanged" in again.stdout


def test_heldout_rule_is_deterministic_and_exclusive() -> None:
    assert sound_event_class("sounds/footstep_grass_01.wav") == "footsteps"
    assert sound_event_class("sounds/door_explosion.wav") is None  # two classes: ambiguous
    assert sound_event_class("sounds/menu_click.wav") is None
    assert group_key("p", "a/door_open_01.ogg") == group_key("p", "a/door_open_02.ogg")
    assert is_heldout("hydrogen-drumkits", "any/kick.wav")
    paths = [f"sfx/bird_{w}.wav" for w in "abcdefghijklmnopqrstuvwxyz"]
    flags = [is_heldout("pkg", p) for p in paths]
    assert flags == [is_heldout("pkg", p) for p in paths]
    assert 0 < sum(flags) < len(flags)  # about half of the groups


def test_path_tags_and_candidates() -> None:
    assert path_tags("usr/share/games/boom/sounds/weapons/LaserShot_02.ogg", "boom-data") == [
        "weapons",
        "laser",
        "shot",
    ]
    assert "bass" in path_tags("samples/bd_hard.wav", "x") and "drum" in path_tags("samples/bd_hard.wav", "x")
    # an abbreviation glued to a number names a thing (the HH-60 helicopter), set apart it is a drum
    assert path_tags("sounds/hh60/engine_shutdown.wav", "x") == ["engine", "shutdown"]
    assert path_tags("drums/hh_01.wav", "x") == ["drums", "hihat"]
    assert is_candidate("sounds/glass.wav")
    assert not is_candidate("sounds/voices/hello.wav")
    assert not is_candidate("music/theme.ogg")
    assert not is_candidate("readme.txt")


def test_copyright_stanza_with_an_empty_license_field() -> None:
    from index.corpus.copyright import parse_copyright

    cf = parse_copyright("Files: *\nCopyright: someone\nLicense:\n\nFiles: a/*\nLicense: CC0-1.0\n")
    assert [s.license for s in cf.stanzas] == ["unknown", "CC0-1.0"]


JUNK = "taman nyx sarge blitz substation parkland ortnok geoscape zip actor tech extra select world "
JUNK += "player item generic stickfighter archmage torus ctf lycan pyr voi carni fricka anubis"
REAL = "dog bark glass bass footsteps rain thunder door engine helicopter guitar snare cymbal explosion "
REAL += "sword arrow wood metal stone water fire bird wolf horse scream laugh click beep coin bell"


def test_path_words_become_tags_only_when_they_name_a_sound() -> None:
    from index.corpus.lexicon import sound_words

    for word in JUNK.split():
        assert sound_words(word) == [], word
        assert path_tags(f"usr/share/games/x/sounds/{word}/{word}_hit2.wav", "x-data") == ["hit"], word
    for word in REAL.split():
        assert sound_words(word) == [word], word
    # compounds of sound words are split
    assert path_tags("sounds/soldier/malehurt3.ogg", "ufoai-sound") == ["male", "hurt"]
    assert path_tags("sfx/birdchirp.wav", "x") == ["bird", "chirp"]
    assert path_tags("sfx/CarHorn1.wav", "x") == ["car", "horn"]  # camelCase split before the lexicon
