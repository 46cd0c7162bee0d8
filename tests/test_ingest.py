"""Ingest: Freesound-shaped metadata in, catalogue and feature cache out; idempotent and resumable."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from index.catalogue.db import Catalogue
from index.catalogue.models import Rejection, Sound
from index.ingest import ingest
from index.metadata import MetadataError
from model.cache import FeatureCache
from tests.conftest import make_corpus, tone, write_audio, write_jsonl


@pytest.fixture
def parts(tmp_path: Path):
    cat = Catalogue(f"sqlite:///{tmp_path / 'catalogue.db'}")
    yield cat, FeatureCache(tmp_path / "features")
    cat.close()


def _snapshot(cat: Catalogue) -> list[tuple]:
    with cat.session() as s:
        return [
            (x.uid, x.name, x.license, x.username, x.content_hash, round(x.duration, 3), tuple(x.tag_names))
            for x in s.scalars(select(Sound).order_by(Sound.uid))
        ]


def test_jsonl_ingest_fills_catalogue_and_cache(tmp_path: Path, parts) -> None:
    cat, cache = parts
    records = make_corpus(tmp_path / "audio", n=4)
    summary = ingest(
        cat, tmp_path / "audio", write_jsonl(tmp_path / "m.jsonl", records), cache, progress=False
    )
    assert (summary.added, summary.unchanged, summary.rejected) == (4, 0, [])
    rows = _snapshot(cat)
    assert [r[0] for r in rows] == ["audio:1000", "audio:1001", "audio:1002", "audio:1003"]
    assert rows[0][6] == ("dog bark", "field-recording")
    assert rows[1][5] == pytest.approx(0.9, abs=0.01)
    assert len(cache) == 4
    assert cache.get(rows[0][4]).shape[0] == cache.config.n_mels


def test_same_input_twice_gives_the_same_catalogue(tmp_path: Path, parts) -> None:
    cat, cache = parts
    meta = write_jsonl(tmp_path / "m.jsonl", make_corpus(tmp_path / "audio", n=3))
    ingest(cat, tmp_path / "audio", meta, cache, progress=False)
    before = _snapshot(cat)
    again = ingest(cat, tmp_path / "audio", meta, cache, progress=False)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert _snapshot(cat) == before


def test_csv_metadata_and_metadata_update(tmp_path: Path, parts) -> None:
    cat, cache = parts
    records = make_corpus(tmp_path / "audio", n=2)
    path = tmp_path / "m.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "name", "tags", "description", "license", "username"])
        w.writeheader()
        for r in records:
            w.writerow(
                {
                    "id": r["id"],
                    "name": r["name"],
                    "tags": ",".join(r["tags"]),
                    "description": r["description"],
                    "license": r["license"],
                    "username": r["username"],
                }
            )
    assert ingest(cat, tmp_path / "audio", path, cache, progress=False).added == 2
    records[0]["tags"] = ["cat", "meow"]
    again = ingest(cat, tmp_path / "audio", write_jsonl(tmp_path / "m.jsonl", records), cache, progress=False)
    assert (again.updated, again.unchanged) == (1, 1)
    assert _snapshot(cat)[0][6] == ("cat", "meow")


def test_bad_files_are_rejected_with_reasons_and_never_stop_the_run(tmp_path: Path, parts) -> None:
    cat, cache = parts
    folder = tmp_path / "audio"
    records = make_corpus(folder, n=2)
    (folder / "2000.wav").write_bytes(b"")
    (folder / "2001.wav").write_text("this is not audio at all, just words " * 20)
    write_audio(folder / "2002.wav", np.zeros(22050, dtype=np.float32), 22050)
    nan = tone(seconds=1.0)
    nan[100] = np.nan
    with_nan = folder / "2003.wav"
    import soundfile as sf

    sf.write(with_nan, nan, 22050, subtype="FLOAT")
    (folder / "2004.wav").write_bytes((folder / "1000.wav").read_bytes()[:60])  # truncated
    bad = [{"id": i, "name": f"bad {i}", "tags": ["x"]} for i in range(2000, 2005)]
    extra = [
        {"id": 3000, "name": "gone", "tags": ["x"]},
        {"id": 3001, "name": "escape", "file": "../m.jsonl"},
    ]
    meta = tmp_path / "m.jsonl"
    write_jsonl(meta, records + bad + extra)
    with open(meta, "a") as f:
        f.write("{not json\n")
    summary = ingest(cat, folder, meta, cache, progress=False)
    reasons = dict(summary.rejected)
    assert summary.added == 2
    assert reasons["2000"].startswith("empty")
    assert reasons["2001"].startswith("not_audio")
    assert reasons["2002"].startswith("silent")
    assert reasons["2003"].startswith("not_finite")
    assert reasons["2004"].split(":")[0] in {"undecodable", "no_frames", "too_short"}
    assert "no file named" in reasons["3000"]
    assert "leaves the audio folder" in reasons["3001"]
    assert any(k.startswith("line") and "bad record" in r for k, r in summary.rejected)
    with cat.session() as s:
        assert s.scalar(select(func.count(Rejection.id))) == 7
    assert len(cache) == 2


def test_duplicate_audio_is_rejected(tmp_path: Path, parts) -> None:
    cat, cache = parts
    records = make_corpus(tmp_path / "audio", n=2)
    (tmp_path / "audio" / "1002.wav").write_bytes((tmp_path / "audio" / "1000.wav").read_bytes())
    records.append({**records[0], "id": 1002})
    summary = ingest(
        cat, tmp_path / "audio", write_jsonl(tmp_path / "m.jsonl", records), cache, progress=False
    )
    assert summary.added == 2
    assert dict(summary.rejected)["1002"] == "duplicate: same audio as audio:1000"


def test_interrupted_ingest_resumes_without_loss(tmp_path: Path, parts, monkeypatch) -> None:
    import index.ingest

    cat, cache = parts
    monkeypatch.setattr(index.ingest, "BATCH", 3)
    meta = write_jsonl(tmp_path / "m.jsonl", make_corpus(tmp_path / "audio", n=7))

    def crash(done: int) -> None:
        raise KeyboardInterrupt(f"stopped after {done}")

    with pytest.raises(KeyboardInterrupt):
        ingest(cat, tmp_path / "audio", meta, cache, progress=False, on_batch=crash)
    assert len(_snapshot(cat)) == 3  # the first batch is committed, nothing of the second
    reopened = FeatureCache(tmp_path / "features")
    assert len(reopened) == 3
    summary = ingest(cat, tmp_path / "audio", meta, reopened, progress=False)
    assert (summary.added, summary.unchanged) == (4, 3)
    assert len(_snapshot(cat)) == 7


def test_lost_features_are_rebuilt(tmp_path: Path, parts) -> None:
    import shutil

    cat, cache = parts
    meta = write_jsonl(tmp_path / "m.jsonl", make_corpus(tmp_path / "audio", n=2))
    ingest(cat, tmp_path / "audio", meta, cache, progress=False)
    shutil.rmtree(tmp_path / "features")
    fresh = FeatureCache(tmp_path / "features")
    summary = ingest(cat, tmp_path / "audio", meta, fresh, progress=False)
    assert summary.unchanged == 2 and len(fresh) == 2


def test_unreadable_metadata_is_one_clear_error(tmp_path: Path, parts) -> None:
    cat, cache = parts
    (tmp_path / "m.txt").write_text("id,name\n")
    with pytest.raises(MetadataError):
        ingest(cat, tmp_path, tmp_path / "m.txt", cache, progress=False)
    with pytest.raises(MetadataError):
        ingest(cat, tmp_path, tmp_path / "missing.jsonl", cache, progress=False)


def test_json_with_results_key(tmp_path: Path, parts) -> None:
    cat, cache = parts
    records = make_corpus(tmp_path / "audio", n=2)
    (tmp_path / "m.json").write_text(json.dumps({"count": 2, "next": None, "results": records}))
    assert ingest(cat, tmp_path / "audio", tmp_path / "m.json", cache, progress=False).added == 2


def test_tags_people_confirmed_survive_ingesting_the_source_again(tmp_path: Path, parts) -> None:
    from index.catalogue.queries import record_verdicts

    cat, cache = parts
    records = make_corpus(tmp_path / "audio", n=3)
    meta = write_jsonl(tmp_path / "m.jsonl", records)
    ingest(cat, tmp_path / "audio", meta, cache, progress=False)
    with cat.session() as s:
        first = s.scalars(select(Sound).where(Sound.uid == "audio:1000")).one().id
    record_verdicts(cat, first, {"zebra": "confirmed", "glass": "rejected"}, "ana")
    again = ingest(cat, tmp_path / "audio", meta, cache, progress=False)
    assert (again.updated, again.unchanged) == (0, 3)  # the confirmed tag is not a change of source
    records[0]["tags"] = ["growl"]  # the source's own tags change
    changed = ingest(
        cat, tmp_path / "audio", write_jsonl(tmp_path / "m2.jsonl", records), cache, progress=False
    )
    assert changed.updated == 1
    assert _snapshot(cat)[0][6] == ("growl", "zebra")
