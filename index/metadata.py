"""Read sound metadata in the shape the Freesound API returns, from JSON lines, JSON or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class MetadataError(ValueError):
    """The metadata file as a whole cannot be read."""


@dataclass
class SoundRecord:
    """One sound as Freesound describes it, plus an optional `file` path relative to the audio folder."""

    id: str
    name: str
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    license: str | None = None
    username: str | None = None
    duration: float | None = None
    file: str | None = None
    previews: dict = field(default_factory=dict)
    line: int = 0  # where it stands in the metadata file, for error messages


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return _tags(json.loads(text))
        except json.JSONDecodeError:
            pass
    sep = "," if "," in text else None  # CSV exports use commas; Freesound's text form uses spaces
    return [t.strip() for t in text.split(sep) if t.strip()]


def record_from_dict(d: dict, line: int = 0) -> SoundRecord:
    """Validate one raw record; raises ValueError with the field at fault."""
    if not isinstance(d, dict):
        raise ValueError("a record must be a JSON object")
    rid = d.get("id")
    if rid is None or str(rid).strip() == "":
        raise ValueError("missing field 'id'")
    duration = d.get("duration")
    try:
        duration = float(duration) if duration not in (None, "") else None
    except (TypeError, ValueError):
        raise ValueError(f"field 'duration' is not a number: {duration!r}") from None
    previews = d.get("previews") or {}
    return SoundRecord(
        id=str(rid).strip(),
        name=str(d.get("name") or rid).strip(),
        tags=_tags(d.get("tags")),
        description=d.get("description") or None,
        license=d.get("license") or None,
        username=d.get("username") or None,
        duration=duration,
        file=d.get("file") or d.get("path") or None,
        previews=previews if isinstance(previews, dict) else {},
        line=line,
    )


def read_records(path: Path) -> Iterator[SoundRecord | tuple[int, str]]:
    """Yield records, or (line, reason) for an unreadable one: a bad line never stops the rest."""
    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"metadata file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise MetadataError(f"unknown metadata format {suffix!r}: use .jsonl, .json or .csv")
    try:
        yield from _read_csv(path) if suffix == ".csv" else _read_json(path)
    except UnicodeDecodeError:
        raise MetadataError(f"{path.name} is not UTF-8 text") from None


def _read_csv(path: Path) -> Iterator[SoundRecord | tuple[int, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise MetadataError("the CSV has no 'id' column")
        for i, row in enumerate(reader, start=2):
            try:
                yield record_from_dict(row, i)
            except ValueError as err:
                yield (i, str(err))


def _read_json(path: Path) -> Iterator[SoundRecord | tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and '"results"' in stripped[:2000]):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if data is not None:
            items = data["results"] if isinstance(data, dict) else data
            for i, d in enumerate(items, start=1):
                try:
                    yield record_from_dict(d, i)
                except ValueError as err:
                    yield (i, str(err))
            return
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield record_from_dict(json.loads(line), i)
        except json.JSONDecodeError as err:
            yield (i, f"not valid JSON: {err.msg}")
        except ValueError as err:
            yield (i, str(err))
