"""Ingest a folder of audio plus Freesound-style metadata into the catalogue and the feature cache.

Idempotent (a record is keyed by source and id; unchanged files are recognised by content hash),
resumable (work is committed in batches, each all-or-nothing), and never stopped by one bad file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from index.catalogue.db import Catalogue
from index.catalogue.models import Rejection, Sound, Source, Tag
from index.catalogue.queries import confirmed_tags
from index.metadata import SoundRecord, read_records
from model.analysis import Analysis, analyse_many, file_hash
from model.audio import AUDIO_SUFFIXES, AudioLimits
from model.cache import FeatureCache

BATCH = 100


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (record id or line, reason)

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged + len(self.rejected)

    def reasons(self) -> Counter:
        return Counter(reason.split(":")[0] for _, reason in self.rejected)


def _get_source(session: Session, name: str, kind: str, version: str | None, license: str | None) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, kind=kind, version=version, license=license)
        session.add(source)
        session.flush()
    elif (source.version, source.kind) != (version or source.version, kind):
        source.version, source.kind = version or source.version, kind
    return source


class FileLocator:
    """Finds a record's audio file inside the folder, never outside it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.by_stem: dict[str, list[Path]] = {}
        for p in sorted(self.folder.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                self.by_stem.setdefault(p.stem, []).append(p)

    def find(self, record: SoundRecord) -> Path | str:
        """The file, or the reason none was found."""
        if record.file:
            p = (self.folder / record.file).resolve()
            if not p.is_relative_to(self.folder):
                return f"file path leaves the audio folder: {record.file}"
            return p if p.is_file() else f"file not found: {record.file}"
        for stem in (record.id, record.name):
            hits = self.by_stem.get(stem, [])
            audio = [p for p in hits if p.suffix.lower() in AUDIO_SUFFIXES] or hits
            if len(audio) == 1:
                return audio[0]
            if len(audio) > 1:
                return f"several files match {stem!r}; give the record a 'file' field"
        return f"no file named after id {record.id!r} or name {record.name!r}"


def _metadata_changed(sound: Sound, rec: SoundRecord, tags: list[str]) -> bool:
    return (sound.name, sound.description, sound.license, sound.username, sound.tag_names) != (
        rec.name,
        rec.description,
        rec.license,
        rec.username,
        sorted(tags),
    )


def clean_tags(raw: Iterable[str]) -> list[str]:
    """Raw user tags as stored in the catalogue: trimmed, lower-case, unique, sorted."""
    return sorted({t.strip().lower()[:100] for t in raw if t.strip()})


class _TagCache:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.tags = {t.name: t for t in session.scalars(select(Tag))}
        self.confirmed = confirmed_tags(session)  # sound id → tags people confirmed: never dropped

    def names_for(self, sound: Sound | None, rec: SoundRecord) -> list[str]:
        """The tags a sound carries after this record: the record's, and those people confirmed."""
        kept = self.confirmed.get(sound.id, []) if sound is not None and sound.id is not None else []
        return clean_tags([*rec.tags, *kept])

    def get(self, names: list[str]) -> list[Tag]:
        out = []
        for name in names:
            tag = self.tags.get(name)
            if tag is None:
                tag = self.tags[name] = Tag(name=name)
                self.session.add(tag)
            out.append(tag)
        return out


def ingest(
    catalogue: Catalogue,
    folder: Path,
    metadata: Path | Iterable[SoundRecord],
    cache: FeatureCache,
    *,
    source_name: str | None = None,
    source_kind: str = "folder",
    source_version: str | None = None,
    source_license: str | None = None,
    limits: AudioLimits = AudioLimits(),
    workers: int = 1,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> IngestSummary:
    """Bring the catalogue in line with `metadata` (a file, or records); returns the counts."""
    folder = Path(folder)
    summary = IngestSummary()
    locator = FileLocator(folder)
    name = source_name or folder.resolve().name
    with catalogue.session() as session:
        source = _get_source(session, name, source_kind, source_version, source_license)
        existing = {s.uid: s for s in session.scalars(select(Sound).where(Sound.source_id == source.id))}
        by_hash = {h: uid for h, uid in session.execute(select(Sound.content_hash, Sound.uid))}
        tag_cache = _TagCache(session)

        todo: list[tuple[SoundRecord, Path]] = []
        items = read_records(metadata) if isinstance(metadata, str | Path) else metadata
        for item in items:
            if isinstance(item, tuple):
                summary.rejected.append((f"line {item[0]}", f"bad record: {item[1]}"))
                continue
            found = locator.find(item)
            if isinstance(found, str):
                summary.rejected.append((item.id, f"missing file: {found}"))
                _reject(session, source, item.id, None, f"missing file: {found}")
                continue
            sound = existing.get(f"{name}:{item.id}")
            if sound is not None and sound.file_path == str(found) and sound.content_hash == file_hash(found):
                if sound.content_hash not in cache:
                    todo.append((item, found))  # features lost: analyse again, update nothing else
                    continue
                tags = tag_cache.names_for(sound, item)
                if _metadata_changed(sound, item, tags):
                    _apply_metadata(sound, item, tag_cache.get(tags))
                    summary.updated += 1
                else:
                    summary.unchanged += 1
                continue
            todo.append((item, found))
        session.commit()

        results = analyse_many([str(p) for _, p in todo], limits, cache.config, workers)
        bar = tqdm(total=len(todo), desc="ingest", unit="clip", disable=not progress)
        for i, ((rec, path), res) in enumerate(zip(todo, results, strict=True), start=1):
            _store(session, source, existing, by_hash, tag_cache, cache, rec, path, res, summary)
            bar.update()
            if i % BATCH == 0:
                cache.flush()  # features first: a committed sound always has its features
                session.commit()
                if on_batch:
                    on_batch(i)
        bar.close()
        cache.flush()
        session.commit()
    return summary


def _apply_metadata(sound: Sound, rec: SoundRecord, tags: list[Tag]) -> None:
    sound.name = rec.name[:300]
    sound.description = rec.description
    sound.license = rec.license
    sound.username = rec.username
    sound.tags = tags


def _reject(session: Session, source: Source, key: str, path: Path | None, reason: str) -> None:
    row = session.scalar(
        select(Rejection).where(Rejection.source_id == source.id, Rejection.record_key == key)
    )
    if row is None:
        session.add(
            Rejection(
                source_id=source.id,
                record_key=key,
                file_path=str(path) if path else None,
                reason=reason[:500],
            )
        )
    else:
        row.reason, row.file_path = reason[:500], str(path) if path else None


def _store(session, source, existing, by_hash, tag_cache, cache, rec, path, res: Analysis, summary) -> None:
    uid = f"{source.name}:{rec.id}"
    if res.error:
        summary.rejected.append((rec.id, f"{res.error_code}: {res.error}"))
        _reject(session, source, rec.id, path, f"{res.error_code}: {res.error}")
        return
    twin = by_hash.get(res.content_hash)
    if twin is not None and twin != uid:
        summary.rejected.append((rec.id, f"duplicate: same audio as {twin}"))
        _reject(session, source, rec.id, path, f"duplicate: same audio as {twin}")
        return
    cache.add(res.content_hash, res.logmel)
    sound = existing.get(uid)
    is_new = sound is None
    if is_new:
        sound = Sound(uid=uid, source=source)
        session.add(sound)
        existing[uid] = sound
    elif sound.content_hash == res.content_hash and not _metadata_changed(
        sound, rec, tag_cache.names_for(sound, rec)
    ):
        summary.unchanged += 1  # only the features had to be rebuilt
        return
    info = res.info
    sound.duration, sound.sample_rate, sound.channels = info.duration, info.sample_rate, info.channels
    sound.file_path, sound.file_format, sound.file_bytes = str(path), info.format, res.file_bytes
    sound.content_hash = res.content_hash
    _apply_metadata(sound, rec, tag_cache.get(tag_cache.names_for(sound, rec)))
    by_hash[res.content_hash] = uid
    session.execute(delete(Rejection).where(Rejection.source_id == source.id, Rejection.record_key == rec.id))
    if is_new:
        summary.added += 1
    else:
        summary.updated += 1
