"""The `sound-events` task: everyday sound classes found by path keywords in Debian game and app data.

A clip belongs to a class when exactly one class pattern of index/corpus/heldout.py matches the
words of its path, and to the task when its group (package + file stem without take number) falls
in the held-out half — the very clips the corpus builder leaves out of pre-training. Then:
- the audit: `AUDIT_EXCLUDE` drops paths seen, by reading every matched path, to be something else
  (a weapon called "horseman", a UI beep under "smg", a cockpit switch called "water-rudder");
- identical files are kept once (sha256);
- at most `MAX_PER_SOURCE` clips of a class from one package, and `MAX_PER_CLASS` per class taken
  round-robin over packages, so no source dominates a class;
- classes with fewer than `MIN_PER_CLASS` clips or `MIN_PACKAGES` packages are left out;
- 5 folds grouped by package: a test fold never shares a source package with its training folds.
Each clip's path tags, without any word a class pattern matches, are its `tags` (for the tag-based
classifier: what the context says, not the label).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

from tqdm import tqdm

from index.corpus.build import CLIP_LIMITS, candidate_files
from index.corpus.copyright import CopyrightFile, parse_copyright
from index.corpus.debian import download_deb, package_version
from index.corpus.heldout import (
    DRUM_TASK_PACKAGES,
    SOUND_EVENT_CLASSES,
    group_key,
    in_heldout_half,
    sound_event_class,
)
from index.corpus.notes import NOTE_SOURCES
from index.corpus.pathtags import path_tags
from index.corpus.presets import FULL, NOISE_TOKENS
from index.corpus.speech import SPEECH_SOURCES
from model.audio import AudioError, probe
from trainer.eval.builtin.folds import grouped_folds
from trainer.eval.builtin.taskdir import TaskRow, TaskWriter

# The full corpus preset's packages and more games with labelled everyday sounds (about 5.7 GB of
# downloads, one package on disk at a time).
SOUND_EVENT_PACKAGES = [
    p for p in FULL if p not in DRUM_TASK_PACKAGES and p not in NOTE_SOURCES and p not in SPEECH_SOURCES
] + [
    "teeworlds-data",
    "colobot-common-sounds",
    "hedgewars-data",
    "cube2-data",
    "naev-data",
    "supertuxkart-data",
    "redeclipse-data",
]
MAX_PER_CLASS, MAX_PER_SOURCE, MIN_PER_CLASS, MIN_PACKAGES, N_FOLDS = 60, 15, 15, 3, 5

# Paths read one by one and found to be something else than their class word says (the audit).
AUDIT_EXCLUDE = re.compile(
    "|".join(
        [
            r"horseman",
            r"eagle_pillar",
            r"lightning",
            r"ion ?rain",
            r"smg/notify",
            r"rudder",  # seen before
            r"laser-blast",
            r"ptl-blast",
            r"explosions/(bees|acid|radiation)",  # weapons, not explosions
            r"(catapult|machine|behemoth|dr)_walk",
            r"footsteps/(crouch|hitground|energy)",  # not feet
            r"onager",
            r"quaddamage",
            r"rifle/transit",
            r"buletby",
            r"/ric\d",
            r"shoot/(flare|tracer)",
            r"reload",  # not gunshots
            r"swordman_die",
            r"sword-fly",
            r"plasma-blade",
            r"and_cannons",  # voices, whooshes, mixes
            r"drums_with_waves",
            r"tractor_beam",
            r"shapes/",
            r"saw_dist",  # music, synthesiser waveforms
        ]
    ),
    re.IGNORECASE,
)


def is_task_clip(package: str, path: str) -> str | None:
    """The class of a clip that belongs to the task (held out, single class, past the audit), or None."""
    label = sound_event_class(path)
    if label is None or not in_heldout_half(group_key(package, path)) or AUDIT_EXCLUDE.search(path):
        return None
    return label


def context_tags(path: str, package: str) -> list[str]:
    """The clip's path tags without any word a class pattern matches."""
    return [t for t in path_tags(path, package, NOISE_TOKENS) if not _mentions_a_class(t)]


def _mentions_a_class(word: str) -> bool:
    return any(rx.search(word) for rx in SOUND_EVENT_CLASSES.values())


def build_sound_events(
    root: Path,
    debs_dir: Path,
    mirror: str | None = None,
    progress: bool = True,
    packages: list[str] = SOUND_EVENT_PACKAGES,
    keep_debs: bool = False,
) -> Path:
    """Write the task folder from `packages`, one package on disk at a time; returns its manifest."""
    writer = TaskWriter(root)
    found: dict[str, list[TaskRow]] = defaultdict(list)
    seen: set[str] = set()
    versions, dropped = {}, Counter()
    for package in tqdm(packages, desc="sound-event packages", unit="pkg", disable=not progress):
        deb = download_deb(package, debs_dir, mirror)
        versions[package] = package_version(deb)
        copyright = CopyrightFile()
        for path, data in candidate_files(deb):
            if path.endswith("/copyright") and f"/doc/{package}/" in path:
                copyright = parse_copyright(data.decode("utf-8", "replace"))
                continue
            label = is_task_clip(package, path)
            if label is None:
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                dropped["identical file seen before"] += 1
                continue
            try:
                info = probe(data, CLIP_LIMITS)
            except AudioError as err:
                dropped[err.code] += 1
                continue
            if info.duration < CLIP_LIMITS.min_duration_s:
                dropped["too_short"] += 1
                continue
            seen.add(digest)
            rel = writer.write_bytes(f"{package}/{path}", data)
            stanza = copyright.lookup(path)
            licence = stanza.license if stanza else copyright.fallback
            found[label].append(TaskRow(rel, label, "", context_tags(path, package), package, licence))
        if not keep_debs:
            deb.unlink()
    rows, left_out = _balance(found, dropped)
    for row, fold in zip(rows, grouped_folds([r.source for r in rows], N_FOLDS), strict=True):
        row.fold = fold
    writer.keep_only({r.path for r in rows})
    about = {
        "task": "sound-events",
        "built_from": versions,
        "classes": dict(Counter(r.label for r in rows)),
        "classes_left_out": left_out,
        "dropped": dict(dropped),
        "folds": f"{N_FOLDS} folds grouped by source package",
    }
    return writer.finish(rows, about)


def _balance(found: dict[str, list[TaskRow]], dropped: Counter) -> tuple[list[TaskRow], dict[str, str]]:
    """Cap each class round-robin over its packages; leave out classes too small to test."""
    rows, left_out = [], {}
    for label in sorted(found):
        by_package: dict[str, list[TaskRow]] = defaultdict(list)
        for r in found[label]:
            by_package[r.source].append(r)
        if len(found[label]) < MIN_PER_CLASS or len(by_package) < MIN_PACKAGES:
            left_out[label] = f"{len(found[label])} clips from {len(by_package)} packages"
            continue
        taken: list[TaskRow] = []
        queues = [sorted(v, key=lambda r: r.path)[:MAX_PER_SOURCE] for _, v in sorted(by_package.items())]
        while len(taken) < MAX_PER_CLASS and any(queues):
            for q in queues:
                if q and len(taken) < MAX_PER_CLASS:
                    taken.append(q.pop(0))
        dropped["over the per-class or per-package cap"] += len(found[label]) - len(taken)
        rows += taken
    return rows, left_out


def _remove_unused(root: Path, kept: set[str]) -> None:
    for f in (root / "audio").rglob("*"):
        if f.is_file() and f"audio/{f.relative_to(root / 'audio').as_posix()}" not in kept:
            f.unlink()
