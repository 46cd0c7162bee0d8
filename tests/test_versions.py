"""Index versions on disk (index/versions.py): committed complete and on disk, published by one rename,
the version served before kept and older ones pruned."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from index import versions


def _version(root: Path, name: str) -> str:
    staging = versions.staging_dir(root, name)
    versions.commit_version(root, staging, name, {"built_at": name, "counts": {"sounds": 0, "tags": 0}})
    return name


def test_publish_switches_atomically_and_keeps_one_previous(tmp_path: Path) -> None:
    with pytest.raises(versions.IndexVersionError, match="no index is published"):
        versions.current_dir(tmp_path)
    a, b, c = (_version(tmp_path, v) for v in ("20260101-a", "20260102-b", "20260103-c"))
    assert versions.publish(tmp_path, a) is None
    assert versions.publish(tmp_path, b) == a and versions.current_version(tmp_path) == b
    assert (tmp_path / a).exists() and (tmp_path / c).exists()  # c is newer: not pruned
    versions.publish(tmp_path, c)
    assert not (tmp_path / a).exists() and (tmp_path / b).exists()
    assert [v["version"] for v in versions.list_versions(tmp_path) if v["current"]] == [c]
    with pytest.raises(versions.IndexVersionError, match="no complete index version"):
        versions.publish(tmp_path, "nope")


def test_a_committed_and_published_version_is_on_disk(tmp_path: Path, monkeypatch) -> None:
    """Every file of a version, its rename into place and the `current` switch are fsynced before
    commit and publish return: a power cut right after a publish must not serve missing files."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    staging = versions.staging_dir(tmp_path, "20260101-a")
    np.save(staging / versions.IDS, np.arange(3))
    (staging / versions.AUDIO).write_bytes(b"vectors")
    target = versions.commit_version(tmp_path, staging, "20260101-a", {"built_at": "now"})
    names = {versions.IDS, versions.AUDIO, versions.MANIFEST}
    assert {f.name for f in target.iterdir()} == names
    # each file synced in the staging folder, then the rename into place
    assert {str(staging.resolve() / n) for n in names} <= set(synced)
    assert synced[-1] == str(tmp_path.resolve())
    synced.clear()
    versions.publish(tmp_path, "20260101-a")
    assert synced == [str(tmp_path.resolve())]  # the folder holding the new `current` link


def test_an_index_built_with_a_model_that_is_gone_says_to_index_again(tmp_path: Path) -> None:
    """After an upgrade replaced the shipped model, an index built with the old one is not loaded
    with a bare "not a model bundle": the answer names the model and the command that fixes it."""
    folder = tmp_path / "indices" / "20261201-000000-abcdef"
    folder.mkdir(parents=True)
    (folder / versions.MANIFEST).write_text('{"bundle_version": "w2v-128-4h-19990101-000000-000000"}')
    with pytest.raises(versions.IndexVersionError, match=r"w2v-128-4h-19990101.*`audiotag index build`"):
        versions.bundle_dir(folder, tmp_path / "bundles")
