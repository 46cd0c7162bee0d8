"""The one atomic writer and the folder publish: a failure midway leaves the old content whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.files import publish_folder, staging_folder, write_atomic, write_json_atomic


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_litter(tmp_path: Path) -> None:
    target = tmp_path / "index.json"
    write_json_atomic(target, {"v": 1})

    def half_then_crash(f) -> None:
        f.write(b'{"v": 2, "trunc')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_then_crash)
    assert target.read_text() == '{"v": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_publishing_a_folder_never_removes_the_old_one_before_the_new_one_is_in(
    tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "bundle"
    first = staging_folder(target)
    (first / "weights").write_text("old")
    publish_folder(first, target)
    second = staging_folder(target)
    (second / "weights").write_text("new")

    real_rename = Path.rename

    def crash_when_moving_the_new_one_in(self: Path, dest):
        if self == second:
            raise OSError("killed")
        return real_rename(self, dest)

    monkeypatch.setattr(Path, "rename", crash_when_moving_the_new_one_in)
    with pytest.raises(OSError, match="killed"):
        publish_folder(second, target)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".bundle.old-")]
    assert len(kept) == 1 and (kept[0] / "weights").read_text() == "old"  # set aside, not deleted

    monkeypatch.setattr(Path, "rename", real_rename)
    third = staging_folder(target)
    (third / "weights").write_text("newest")
    publish_folder(third, target)
    assert (target / "weights").read_text() == "newest"
