"""Index versions on disk, and the atomic switch of what is served.

    indices/<version>/      audio.faiss (φ_a), similar.faiss (z_a), centres.npz, contexts.npz,
                            text.sqlite (the sounds' words), ids.npy (sounds in the index),
                            manifest.json
    indices/current         a symbolic link to the served version, replaced with one rename
    indices/.build-<key>/   the work folder of an unfinished build (shards of vectors)

A version folder is written under a temporary name and renamed into place complete. Publishing
points `current` at it with one rename; the version served before stays on disk until the next
publish (so a rollback is one `publish` away); versions built before it are deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from model.bundles import MANIFEST as BUNDLE_MANIFEST
from model.bundles import SHIPPED, bundle_by_version, bundle_version
from model.files import fsync_folder, publish_folder, write_text_atomic
from model.ids import version_id

if TYPE_CHECKING:
    from model.bundle import Bundle

CURRENT = "current"
MANIFEST = "manifest.json"
STALE_STAGING_S = 3600.0
AUDIO, SIMILAR, IDS = "audio.faiss", "similar.faiss", "ids.npy"


class IndexVersionError(LookupError):
    """No such index version, or none published."""


class IndexMismatchError(ValueError):
    """The index was built with another bundle than the one asked for."""


def check_bundle(manifest: dict, bundle: Bundle) -> None:
    """IndexMismatchError unless the version with this manifest was built with `bundle`."""
    if manifest.get("bundle_version") != bundle.version:
        raise IndexMismatchError(
            f"index {manifest.get('version')} was built with the model {manifest.get('bundle_version')}, "
            f"not {bundle.version}: build a new index with this model (audiotag index build)"
        )


def new_version_id() -> str:
    """`<UTC time>-<6 random hex>`."""
    return version_id(uuid.uuid4().hex[:6])


def staging_dir(root: Path, version: str) -> Path:
    path = Path(root) / f".tmp-{version}"
    path.mkdir(parents=True)
    return path


@contextmanager
def staging(root: Path, version: str) -> Iterator[Path]:
    """A fresh staging folder, removed again if the block fails (then commit it with `commit_version`)."""
    path = staging_dir(root, version)
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def commit_version(root: Path, staging: Path, version: str, manifest: dict) -> Path:
    """Write the manifest into a complete staging folder and rename it into place, every file and the
    rename on disk before it returns (model/files.publish_folder, as for bundles)."""
    (staging / MANIFEST).write_text(json.dumps({**manifest, "version": version}, indent=2))
    return publish_folder(staging, Path(root) / version)  # it fsyncs each file, then the rename


def list_versions(root: Path) -> list[dict]:
    """Manifests of every complete version, oldest first, each with `current` true or false."""
    root = Path(root)
    served = current_version(root)
    out = []
    for m in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
        if m.parent.name.startswith("."):
            continue
        try:
            manifest = json.loads(m.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        out.append({**manifest, "current": m.parent.name == served})
    return sorted(out, key=lambda d: d.get("built_at", ""))


CHANGED = ".catalogue-changed"  # touched by every catalogue write searches must see at once


def note_catalogue_change(root: Path) -> None:
    """Tell every process serving from `root` that sounds were deleted or changed."""
    Path(root).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(catalogue_marker(root)), uuid.uuid4().hex)  # a new file (inode) each time


def catalogue_marker(root: Path) -> str:
    """The path of the file `note_catalogue_change` replaces, as the string `catalogue_stamp` reads."""
    return os.path.join(os.fspath(root), CHANGED)


def catalogue_stamp(marker: str) -> tuple[int, int]:
    """Changes whenever `note_catalogue_change` was called: a stat of `catalogue_marker(root)`, no
    SQL. A search calls it three times, so the path is made once: 2.8 against 7.0 µs a call when a
    Path's parent and its string were made each time (2-core Zen 4, under load)."""
    try:
        st = os.stat(marker)
    except FileNotFoundError:
        return (0, 0)
    return (st.st_ino, st.st_mtime_ns)


def current_version(root: Path) -> str | None:
    link = Path(root) / CURRENT
    return os.readlink(link) if link.is_symlink() else None


def current_dir(root: Path) -> Path:
    version = current_version(root)
    if version is None:
        raise IndexVersionError("no index is published: run `audiotag index build`")
    return Path(root) / version


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / MANIFEST).read_text())


def bundle_dir(folder: Path, bundles_dir: Path) -> Path:
    """The folder of the model bundle an index version was built with; IndexVersionError when that
    model is gone (an upgrade of audiotag replaced the shipped model an index was built with)."""
    version = read_manifest(folder)["bundle_version"]
    path = bundle_by_version(bundles_dir, version)
    if not (path / BUNDLE_MANIFEST).is_file():
        raise IndexVersionError(
            f"index {Path(folder).name} was built with model {version}, which is neither in "
            f"{bundles_dir} nor the model shipped with this audiotag ({bundle_version(SHIPPED)}): "
            "index the catalogue again with `audiotag index build`"
        )
    return path


def publish(root: Path, version: str) -> str | None:
    """Serve `version`; returns the version served before, which stays on disk. Versions older than
    that one are deleted."""
    root = Path(root)
    if not (root / version / MANIFEST).is_file():
        raise IndexVersionError(f"no complete index version {version!r} in {root}")
    previous = current_version(root)
    tmp = root / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    os.symlink(version, tmp)
    os.replace(tmp, root / CURRENT)
    fsync_folder(root)  # the switch survives a power cut
    _prune(root, keep={version, previous}, before=previous)
    for stale in root.glob(".tmp-*"):  # left by a build killed while writing; a live one is younger
        if time.time() - stale.stat().st_mtime > STALE_STAGING_S:
            shutil.rmtree(stale, ignore_errors=True)
    return previous


def _prune(root: Path, keep: set[str | None], before: str | None) -> None:
    """Delete versions built before `before` (the one served until now), except those in `keep`.

    Versions built later and never published (`--no-publish`) are left alone."""
    if before is None or not (root / before / MANIFEST).is_file():
        return
    limit = read_manifest(root / before).get("built_at", "")
    for v in list_versions(root):
        if v["version"] not in keep and v.get("built_at", "") < limit:
            shutil.rmtree(root / v["version"], ignore_errors=True)
