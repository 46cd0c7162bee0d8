"""Which files of a package are sound effects, and their tags from path and file-name tokens."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from index.corpus.lexicon import sound_words

AUDIO_SUFFIXES = {".wav", ".ogg", ".oga", ".flac", ".mp3", ".aif", ".aiff", ".opus"}
ARCHIVE_SUFFIXES = {".pk3", ".zip", ".wz"}

# Speech and music folders: not sound effects.
SPEECH_OR_MUSIC = re.compile(
    r"/voices?/|/announcer/|/tutorial/|/taunts?/|/speech/|/coms/|memressp|vtoltalk|proxmessages|/countdown/"
    r"|_desc|/alphabets/|/math/|_ack\d|_select\d|\.ready|\.completed|underattack|voice_samples|/music/"
    r"|/tunes/|anthem|jingle|/ringtones/|first_contact|/campaigns/|/feedback/|/phonetic/|/songs?/|/soundtrack/",
    re.I,
)

STOP_TOKENS = set(
    """
    usr share games game data sound sounds sfx audio wav ogg oga flac mp3 pk3 wz mods mod public
    base default core common commondata techs megapack factions units unit misc dat snd effects
    effect stereo mono soundfx assets fantasycore globalmods none apoc hydrogen drumkits packages
    library stklib samples sample media the and with for from doc lib local opt new old final take
    version copy edit baseoa missionpack pak viii pcv con sel fsharp lmms freedesktop oxygen gnome
    sonic triplea ufoai minetest openarena scorched lincity ardentryst classical ww2 wwii
    gcompris src activities activity resource resources rcc explore
    """.split()
)

# Abbreviations in sample packs, expanded before short tokens are dropped.
ABBREVIATIONS = {
    "bd": "bass drum",
    "sn": "snare",
    "hh": "hihat",
    "ambi": "ambient",
    "elec": "electronic",
    "guit": "guitar",
    "perc": "percussion",
    "fx": "effect",
    "kick": "kick drum",
    "cym": "cymbal",
    "snd": "",
    "vox": "voice",
    "synth": "synth",
}

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z]+")


def path_words(path: str) -> list[str]:
    """Lower-case words of a path: camelCase and every non-letter split words."""
    words = []
    for chunk in _SPLIT.split(str(PurePosixPath(path).with_suffix(""))):
        words.extend(w.lower() for w in _CAMEL.sub(" ", chunk).split())
    return words


def package_tokens(package: str) -> set[str]:
    """Words of a package name, which are no tags of its sounds (the game's name, 'data')."""
    return {w for w in _SPLIT.split(package.lower()) if w}


_MODEL_NAME = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,3})\d")  # hh60, bd5: a model's name, not a drum


def path_tags(path: str, package: str, extra_stop: set[str] = frozenset()) -> list[str]:
    """Tags for a file: its path words, expanded, >= 3 letters, de-duplicated, minus stop-words, and
    only those that are English sound words or compounds of them (index/corpus/lexicon.py).

    An abbreviation glued to a number ("hh60", a helicopter) is a name and is not expanded; set
    apart ("hh_01", "bd_808") it is."""
    stop = STOP_TOKENS | package_tokens(package) | extra_stop
    names = {m.lower() for m in _MODEL_NAME.findall(str(PurePosixPath(path).with_suffix("")))}
    out: list[str] = []
    for word in path_words(path):
        expanded = word if word in names else ABBREVIATIONS.get(word, word)
        for part in expanded.split():
            for w in sound_words(part) if len(part) >= 3 and part not in stop else []:
                if w not in out:
                    out.append(w)
    return out


def is_candidate(path: str) -> bool:
    """An audio file outside speech and music folders."""
    p = "/" + path.lower()
    return PurePosixPath(p).suffix in AUDIO_SUFFIXES and not SPEECH_OR_MUSIC.search(p)
