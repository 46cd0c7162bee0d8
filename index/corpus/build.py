"""Build the built-in corpus: Debian packages -> sound-effect clips with tags and licences -> catalogue.

Per package: download the .deb, stream its files (archives such as .pk3 opened in memory), keep
audio of 0.3-30 s outside speech and music folders, drop content seen before and clips held out for
evaluation, write the clips and a Freesound-shaped `packages/<name>.jsonl`. A package whose jsonl
exists is done: an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from index.corpus.copyright import CopyrightFile, freesound_origin, parse_copyright
from index.corpus.debian import CorpusError, download_deb, iter_deb_files, package_version
from index.corpus.heldout import RESERVED_PACKAGES, is_heldout
from index.corpus.notes import NOTE_SOURCES, render_notes
from index.corpus.pathtags import ARCHIVE_SUFFIXES, is_candidate, path_tags
from index.corpus.presets import NOISE_TOKENS
from index.corpus.rcc import RccError, rcc_files
from index.corpus.soundfont import check_renderer
from index.corpus.speech import SPEECH_SOURCES, SpeechSource, spoken_files
from index.corpus.speech import TAGS as SPEECH_TAGS
from model.audio import AudioError, AudioLimits, probe
from model.files import write_json_atomic

CLIP_LIMITS = AudioLimits(min_duration_s=0.3, max_duration_s=30.0, max_file_bytes=50 * 1024 * 1024)


@dataclass
class PackageResult:
    package: str
    version: str
    records: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def candidate_files(deb: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every candidate audio file in the package, archives opened."""
    for path, tar, member in iter_deb_files(deb):
        suffix = PurePosixPath(path).suffix.lower()
        if suffix in ARCHIVE_SUFFIXES:
            data = tar.extractfile(member).read()
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    for info in zf.infolist():
                        inner = f"{path}/{info.filename}"
                        if not info.is_dir() and is_candidate(inner):
                            yield inner, zf.read(info)
            except zipfile.BadZipFile:
                continue
        elif suffix == ".rcc":
            try:
                for inner, data in rcc_files(tar.extractfile(member).read()):
                    if is_candidate(f"{path}{inner}"):
                        yield f"{path}{inner}", data
            except RccError:
                continue
        elif path.endswith("/copyright") and "/doc/" in path or is_candidate(path):
            yield path, tar.extractfile(member).read()


def extract_package(
    package: str, deb: Path, audio_dir: Path, seen: set[str], speech: SpeechSource | None = None
) -> PackageResult:
    """Write the package's clips under audio_dir/<package>/ and describe them; `speech`: the package
    is a speech source, whose few spoken clips are read and tagged as speech (index/corpus/speech.py)."""
    result = PackageResult(package, package_version(deb))
    debian_package = speech.package if speech else package
    copyright = CopyrightFile()
    kept: list[tuple[str, Path, float]] = []
    for path, data in candidate_files(deb) if speech is None else spoken_files(speech, deb):
        if path.endswith("/copyright"):
            if f"/doc/{debian_package}/" in path:
                copyright = parse_copyright(data.decode("utf-8", "replace"))
            continue
        if is_heldout(package, path):
            result.skipped["held out for evaluation"] += 1
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            result.skipped["duplicate content"] += 1
            continue
        try:
            info = probe(data, CLIP_LIMITS)
        except AudioError as err:
            result.skipped[err.code] += 1
            continue
        if info.duration < CLIP_LIMITS.min_duration_s:
            result.skipped["too_short"] += 1
            continue
        seen.add(digest)
        target = audio_dir / package / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        kept.append((path, target, info.duration))
    for path, target, duration in kept:
        tags = list(SPEECH_TAGS) if speech else path_tags(path, package, NOISE_TOKENS)
        result.records.append(
            _record(
                package, debian_package, result.version, path, target, duration, audio_dir, copyright, tags
            )
        )
    return result


def _record(
    package: str,
    debian_package: str,
    version: str,
    path: str,
    target: Path,
    duration: float,
    audio_dir: Path,
    copyright: CopyrightFile,
    tags: list[str],
) -> dict:
    stanza = copyright.lookup(path)
    origin = freesound_origin(stanza)
    description = f"{path} from the Debian package {debian_package} {version}"
    if origin:
        description += f"; Freesound sound {origin[1]} by {origin[0]}"
    return {
        "id": hashlib.sha1(f"{package}/{path}".encode()).hexdigest()[:16],
        "name": PurePosixPath(path).stem,
        "tags": tags,
        "description": description,
        "license": stanza.license if stanza else copyright.fallback,
        "username": origin[0] if origin else package,
        "duration": round(duration, 3),
        "file": str(target.relative_to(audio_dir / package)),
        "package": package,
        "package_version": version,
    }


def build_packages(
    packages: list[str],
    out_dir: Path,
    *,
    mirror: str | None = None,
    keep_debs: bool = False,
    progress: bool = True,
) -> list[PackageResult]:
    """Extract every package not done yet; returns all packages' results, done ones read back."""
    reserved = RESERVED_PACKAGES.intersection(packages)
    if reserved:
        raise CorpusError(f"reserved for independent evaluation, never used: {', '.join(sorted(reserved))}")
    if NOTE_SOURCES.keys() & set(packages):
        check_renderer()  # before any download
    audio_dir, debs_dir, done_dir = out_dir / "audio", out_dir / "debs", out_dir / "packages"
    done_dir.mkdir(parents=True, exist_ok=True)
    results, seen = [], set()
    for package in tqdm(packages, desc="packages", unit="pkg", disable=not progress):
        done = done_dir / f"{package}.json"
        if done.exists():
            saved = json.loads(done.read_text())
            result = PackageResult(
                package, saved["version"], retag(package, saved["records"]), Counter(saved["skipped"])
            )
            seen.update(_hashes(audio_dir / package, result.records))
        else:
            result = _build_one(package, debs_dir, audio_dir, seen, mirror, keep_debs)
            write_json_atomic(
                done, {"version": result.version, "records": result.records, "skipped": dict(result.skipped)}
            )
        results.append(result)
    return results


def retag(package: str, records: list[dict]) -> list[dict]:
    """Records of a package extracted before, with tags from today's rules (index/corpus/lexicon.py):
    a tag is a function of the clip's path, so better rules need no new download. Rendered notes
    and speech keep the tags they were given."""
    if package in NOTE_SOURCES or package in SPEECH_SOURCES:
        return records
    return [{**rec, "tags": path_tags(rec["file"], package, NOISE_TOKENS)} for rec in records]


def _build_one(
    package: str, debs_dir: Path, audio_dir: Path, seen: set[str], mirror: str | None, keep_debs: bool
) -> PackageResult:
    """Download one package and extract its clips (a speech source's few), or render the notes of a
    SoundFont source."""
    speech = SPEECH_SOURCES.get(package)
    source = NOTE_SOURCES.get(package) or speech
    deb = download_deb(source.package if source else package, debs_dir, mirror)
    if package in NOTE_SOURCES:
        result = PackageResult(package, package_version(deb))
        result.records, result.skipped = render_notes(package, deb, result.version, audio_dir)
    else:
        result = extract_package(package, deb, audio_dir, seen, speech)
    if not keep_debs:
        deb.unlink()
    return result


def _hashes(folder: Path, records: list[dict]) -> set[str]:
    return {hashlib.sha256((folder / r["file"]).read_bytes()).hexdigest() for r in records}
