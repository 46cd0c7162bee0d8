"""Speech: a capped, plainly tagged category of spoken words, from a package the corpus otherwise
leaves out as speech.

People search a catalogue for voices too, and a model that never heard speech calls a spoken word
whatever it sounds nearest to. But a spoken word is not its meaning: KTuberling's "car" is a voice,
not an engine, so its clips are tagged only `speech` and `voice`, never with the word they say. The
clips come from many languages (round robin over the language folders) and are capped, so speech is
one everyday category among the others, not a fifth of the corpus.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from index.corpus.debian import iter_deb_files
from index.corpus.pathtags import AUDIO_SUFFIXES

TAGS = ["speech", "voice"]


@dataclass(frozen=True)
class SpeechSource:
    """Spoken clips of one Debian package: the paths `folder` matches (group 1: the language)."""

    package: str
    folder: re.Pattern
    cap: int


# Corpus "package" name → where its spoken clips are.
SPEECH_SOURCES: dict[str, SpeechSource] = {
    # 1,722 spoken object names in 25 languages and dialects (GPL-2+)
    "ktuberling-speech": SpeechSource(
        "ktuberling-data", re.compile(r"/ktuberling/sounds/([^/]+)/[^/]+$"), 240
    ),
}


def spoken_files(source: SpeechSource, deb: Path) -> list[tuple[str, bytes]]:
    """(path, bytes) of the package's copyright file and of at most `source.cap` spoken clips, taken
    in turn from each language (each language's clips in a fixed pseudo-random order), so every
    language is heard."""
    by_language: dict[str, list[tuple[str, bytes]]] = {}
    copyright = []
    for path, tar, member in iter_deb_files(deb):
        found = source.folder.search(path)
        if found and PurePosixPath(path).suffix.lower() in AUDIO_SUFFIXES:
            by_language.setdefault(found.group(1), []).append((path, tar.extractfile(member).read()))
        elif path.endswith(f"/doc/{source.package}/copyright"):
            copyright.append((path, tar.extractfile(member).read()))
    for takes in by_language.values():
        takes.sort(key=lambda take: hashlib.sha1(take[0].encode()).hexdigest())
    clips, turn = [], 0
    while len(clips) < source.cap and any(turn < len(c) for c in by_language.values()):
        for language in sorted(by_language):
            if turn < len(by_language[language]) and len(clips) < source.cap:
                clips.append(by_language[language][turn])
        turn += 1
    return copyright + clips
