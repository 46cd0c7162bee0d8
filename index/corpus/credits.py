"""CREDITS.md and the Freesound-shaped metadata of a built corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from index.corpus.build import PackageResult
from model.files import write_text_atomic


def write_metadata(results: list[PackageResult], path: Path) -> int:
    """All clips as JSON lines, `file` relative to the corpus's audio folder."""
    lines = [
        json.dumps({**rec, "file": f"{r.package}/{rec['file']}"}) + "\n" for r in results for rec in r.records
    ]
    write_text_atomic(path, "".join(lines))
    return len(lines)


def write_credits(results: list[PackageResult], path: Path) -> None:
    lines = [
        "# Credits of the built-in corpus",
        "",
        "Every clip comes from a Debian package, unmodified; its licence is the one the package's",
        "`debian/copyright` gives for the file (or for the package where no file stanza matches).",
        "CC-BY and CC-BY-SA clips need attribution to their authors, as listed in each package's",
        "copyright file (`/usr/share/doc/<package>/copyright` in the package). Sonic Pi samples are",
        "CC0 Freesound sounds; their Freesound user and id stand in each clip's description.",
        "",
        "| package | version | clips | minutes | licences |",
        "|---|---|---:|---:|---|",
    ]
    total_clips, total_min = 0, 0.0
    for r in results:
        licences = Counter(rec["license"] for rec in r.records)
        minutes = sum(rec["duration"] for rec in r.records) / 60
        total_clips += len(r.records)
        total_min += minutes
        lic = ", ".join(f"{name} ({n})" for name, n in licences.most_common())
        lines.append(f"| {r.package} | {r.version} | {len(r.records)} | {minutes:.1f} | {lic} |")
    lines += [f"| **total** | | **{total_clips}** | **{total_min:.1f}** | |", ""]
    path.write_text("\n".join(lines))
