"""The `drums` task: real drum hits from the Hydrogen kits packaged by Debian, labelled by their kit files.

Each kit's `drumkit.xml` names its instruments and their sample layers. An instrument joins a class
when exactly one class pattern matches its name ("Snare Rimshot" → snare, "ride-crash20inch" →
dropped as ambiguous; hand drums, effects and numbered slots match none). Identical samples are
kept once, and kits that share samples (GMRockKit and The Black Pearl) are one group: folds are
dealt by group, so no kit is both trained and tested on. These packages never enter the
pre-training corpus (index/corpus/heldout.py).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from index.corpus.debian import download_deb, iter_deb_files, package_version
from index.corpus.heldout import DRUM_TASK_PACKAGES
from model.audio import AUDIO_SUFFIXES
from trainer.eval.builtin.folds import UnionFind, grouped_folds
from trainer.eval.builtin.taskdir import TaskRow, TaskWriter

KIT_ROOT = "usr/share/hydrogen/data/drumkits/"
DRUM_CLASSES: dict[str, re.Pattern] = {
    name: re.compile(pattern)
    for name, pattern in {
        "kick": r"\b(kick|bass ?drum|bd)\b",
        "snare": r"\bsnare",
        "tom": r"\b(floor ?)?tom(hi|lo|mid)?\d*\b",
        "hihat": r"\b(hi-?hat|hh|hat)\b",
        "ride": r"\bride\b",
        "crash": r"\bcrash",
        "clap": r"\bclap",
        "cowbell": r"\bcowbell\b",
    }.items()
}
N_FOLDS = 5


def drum_class(instrument: str) -> str | None:
    """The one class an instrument name belongs to, or None."""
    text = instrument.lower().replace("_", " ")
    hits = [name for name, rx in DRUM_CLASSES.items() if rx.search(text)]
    return hits[0] if len(hits) == 1 else None


def _children(element: ET.Element, tag: str) -> list[ET.Element]:
    return [e for e in element.iter() if e.tag.rsplit("}", 1)[-1] == tag]


def _text(element: ET.Element, tag: str) -> str:
    found = _children(element, tag)
    return (found[0].text or "").strip() if found else ""


def parse_drumkit(xml_text: str) -> tuple[str, list[tuple[str, str]]]:
    """(licence, [(instrument name, sample file)]) of one drumkit.xml."""
    root = ET.fromstring(xml_text)
    licence = _text(root, "license")
    layers = [
        (_text(ins, "name"), (f.text or "").strip())
        for ins in _children(root, "instrument")
        for f in _children(ins, "filename")
    ]
    return licence, [(name, f) for name, f in layers if f]


def build_drums(
    root: Path,
    debs_dir: Path,
    mirror: str | None = None,
    progress: bool = True,
    packages: frozenset[str] = DRUM_TASK_PACKAGES,
) -> Path:
    """Write the task folder from the Hydrogen packages; returns its manifest."""
    writer = TaskWriter(root)
    kits: dict[str, dict] = {}  # kit → {"xml": text, "files": {name: (relative path, sha256)}}
    versions = {}
    for package in tqdm(sorted(packages), desc="drum kits", disable=not progress):
        deb = download_deb(package, debs_dir, mirror)
        versions[package] = package_version(deb)
        for path, tar, member in iter_deb_files(deb):
            if not path.startswith(KIT_ROOT):
                continue
            parts = PurePosixPath(path[len(KIT_ROOT) :]).parts
            if len(parts) < 2:
                continue
            kit = kits.setdefault(parts[0], {"xml": "", "files": {}, "package": package})
            name = "/".join(parts[1:])
            data = tar.extractfile(member).read()
            if name == "drumkit.xml":
                kit["xml"] = data.decode("utf-8", "replace")
            elif PurePosixPath(name).suffix.lower() in AUDIO_SUFFIXES:
                rel = writer.write_bytes(f"{_safe(parts[0])}/{name}", data)
                kit["files"][name] = (rel, hashlib.sha256(data).hexdigest())
    rows, groups, dropped = _label(kits)
    for row, fold in zip(rows, grouped_folds(groups, N_FOLDS), strict=True):
        row.fold = fold
    writer.keep_only({r.path for r in rows})
    about = {
        "task": "drums",
        "built_from": versions,
        "classes": dict(Counter(r.label for r in rows)),
        "kits": sorted({r.source for r in rows}),
        "dropped": dict(dropped),
        "folds": f"{N_FOLDS} folds, each kit (kits sharing samples merged) in one fold",
    }
    return writer.finish(rows, about)


def _label(kits: dict[str, dict]) -> tuple[list[TaskRow], list[str], Counter]:
    dropped: Counter = Counter()
    owner: dict[str, str] = {}  # sample hash → first kit that has it
    groups = UnionFind()
    candidates = []
    for kit, info in sorted(kits.items()):
        if not info["xml"]:
            continue
        licence, layers = parse_drumkit(info["xml"])
        for instrument, filename in layers:
            label = drum_class(instrument)
            if label is None:
                dropped["no single class in the instrument name"] += 1
                continue
            if filename not in info["files"]:
                dropped["sample file missing from the package"] += 1
                continue
            rel, digest = info["files"][filename]
            if digest in owner:
                groups.union(kit, owner[digest])
                dropped["identical sample seen before"] += 1
                continue
            owner[digest] = kit
            candidates.append(TaskRow(rel, label, "", [], kit, licence or "see the package copyright"))
    return candidates, [groups.find(r.source) for r in candidates], dropped


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)
