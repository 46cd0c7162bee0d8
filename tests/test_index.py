"""The indexer: FAISS indices, versions and publishing, jobs, search with filters, and the CLI end to end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

from index import hubness, vector_index, versions
from index.catalogue.db import Catalogue
from index.catalogue.queries import delete_sound
from index.indexer import Corpus, IndexOptions, build_version, update_version
from index.jobs import JobStore, run_job
from index.search import Filters, SearchIndex, SoundNotIndexed
from index.versions import IndexMismatchError
from model.bundle import Bundle, UnknownTagsError
from model.bundles import latest_bundle
from model.cache import FeatureCache
from tests.conftest import run_cli, tone, write_audio, write_jsonl


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF4,Flat", "SQ8", "PQ8"])
def test_every_factory_finds_each_vector_itself(factory: str) -> None:
    x = _unit(300, 32)
    index = vector_index.build(x, np.arange(300) + 1000, factory)
    vector_index.set_search_params(index, nprobe=4, ef_search=64)
    scores, ids = vector_index.search(index, x[:20], 3)
    assert (ids[:, 0] == np.arange(20) + 1000).mean() >= 0.9
    assert scores.shape == (20, 3)


def test_bad_factories_are_clear_errors() -> None:
    with pytest.raises(vector_index.IndexBuildError, match="could not parse index string Bogus"):
        vector_index.build(_unit(10, 8), np.arange(10), "Bogus")
    with pytest.raises(vector_index.IndexBuildError, match="cannot train IVF64,Flat on 10 vectors"):
        vector_index.build(_unit(10, 8), np.arange(10), "IVF64,Flat")


def test_auto_factory_is_exact_for_small_catalogues() -> None:
    assert vector_index.resolve_factory("auto", 1000, "audio") == "Flat"
    assert vector_index.resolve_factory("auto", 100_000, "audio") == "HNSW32"
    assert vector_index.resolve_factory("auto", 100_000, "similar") == "IVF1024,SQ8"
    assert vector_index.resolve_factory("auto", 1_000_000, "similar") == "IVF4096,SQ8"
    assert vector_index.resolve_factory("SQ8", 10, "audio") == "SQ8"


def test_remove_where_supported() -> None:
    x = _unit(50, 16)
    flat, hnsw = vector_index.build(x, np.arange(50), "Flat"), vector_index.build(x, np.arange(50), "HNSW16")
    assert vector_index.remove(flat, np.array([3])) and flat.ntotal == 49
    assert not vector_index.remove(hnsw, np.array([3])) and hnsw.ntotal == 50


def test_jobs_are_claimed_once_and_dead_workers_are_reaped(tmp_path: Path) -> None:
    store = JobStore(Catalogue(f"sqlite:///{tmp_path / 'c.db'}"))
    job = store.create("reindex", {"mode": "build"})
    assert store.claim(job, "w1") and not store.claim(job, "w2")
    store.beat(job, 0.5, "half")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    other = store.create("reindex")
    store.claim(other, f"{os.uname().nodename}:{dead.stdout.strip()}")
    assert store.reap_stale() == [other]
    assert "process is gone" in store.get(other).error and store.get(job).state == "running"
    failing = store.create("reindex")
    view = run_job(store, failing, lambda report: 1 / 0)
    assert view.state == "failed" and "ZeroDivisionError" in view.error
    done = run_job(store, store.create("reindex"), lambda report: {"ok": True})
    assert done.state == "done" and done.result == {"ok": True} and done.progress == 1.0


@pytest.fixture
def data(trained_data_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the trained data dir."""
    return Path(shutil.copytree(trained_data_dir, tmp_path / "data"))


def _open(data: Path) -> tuple[Catalogue, Bundle, Corpus]:
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    return (
        cat,
        Bundle(latest_bundle(data / "bundles"), "cpu"),
        Corpus(cat, FeatureCache(data / "cache/features")),
    )


def test_search_api_with_filters_and_deletes(data: Path) -> None:
    cat, bundle, corpus = _open(data)
    version, timings = build_version(bundle, corpus, data / "indices", IndexOptions(shard_size=5))
    assert timings["shards"] == 5 and timings["audio_seconds"] > 0
    versions.publish(data / "indices", version)
    index = SearchIndex.open_current(data / "indices", bundle, cat)
    assert index.size == 24 and index.audio.ntotal == 24
    hits, query = index.search_by_tags(["Rain", "qwzx"], k=5)
    assert len(hits) == 5 and query.unknown == ["qwzx"] and hits[0].score >= hits[-1].score
    with pytest.raises(UnknownTagsError):
        index.search_by_tags(["qwzx"])
    # the same words again: the query's φ_w comes from the cache, the answer is the same
    hits_before = index.scorer.cache_info().hits
    again, _ = index.search_by_tags(["rain", "QWZX"], k=5)
    assert again == hits and index.scorer.cache_info().hits == hits_before + 1
    # a filter that keeps few sounds still fills the page from deep in the ranking
    cc, _ = index.search_by_tags(["rain"], k=24, filters=Filters(tag="door"))
    assert len(cc) == 3 and all(h.sound_id in index._allowed([h.sound_id], Filters(tag="door")) for h in cc)
    # the tag filter reads tags as queries do (model/tags): `tag=Doors` is `tag=door`, as for `q=`
    for spelling in ("Doors", "DOOR ", "door."):
        assert index.search_by_tags(["rain"], k=24, filters=Filters(tag=spelling))[0] == cc, spelling
    assert index.search_by_tags(["rain"], k=24, filters=Filters(tag="door rain"))[0] == []  # all its words
    assert index.search_by_tags(["rain"], k=24, filters=Filters(tag="42"))[0] == []  # no word: nothing
    assert len(index.search_by_tags(["rain"], k=24, filters=Filters(min_duration=2.95))[0]) == 2  # 3.0, 3.1 s
    assert index.search_by_tags(["rain"], k=5, filters=Filters(license="gpl"))[0] == []
    page2 = index.search_by_tags(["rain"], k=5, offset=5)[0]
    assert [h.sound_id for h in page2] == [h.sound_id for h in index.search_by_tags(["rain"], k=10)[0][5:]]
    # similar: by id (itself excluded) and by audio; tags for audio
    first = hits[0].sound_id
    similar = index.similar_to_sound(first, k=3)
    assert len(similar) == 3 and first not in {h.sound_id for h in similar}
    with pytest.raises(SoundNotIndexed):
        index.similar_to_sound(999999)
    # a clip: similar sounds from its z_a, tags from its z_a and φ_a (what the routes call)
    z_first, phi_first = bundle.embed_logmels([corpus.cache.get(_hash_of(cat, first))])
    like_first = index.similar_to_clip(z_first[0], k=4)
    assert len(like_first) == 4 and like_first[0].sound_id == first  # a sound is nearest itself
    tags = index.suggest_tags(z_first[0], phi_first[0], k=3)
    assert len(tags) == 3 and all(w in bundle.vocabulary and 0 < s <= 1 for w, s, _ in tags)
    assert tags[0][1] >= tags[-1][1] and {src for _, _, src in tags} <= {"neighbours", "model"}
    by_embedding = index.suggest_tags(z_first[0], phi_first[0], k=3, method="embedding")
    assert len(by_embedding) == 3 and all(0 < s <= 1 and src == "model" for _, s, src in by_embedding)
    by_neighbours = index.suggest_tags(z_first[0], phi_first[0], k=3, method="neighbours")
    assert all(src == "neighbours" for _, _, src in by_neighbours)
    # searches read the metadata in memory: not one SQL statement, filters or not
    statements: list[str] = []
    event.listen(cat.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    index.search_by_tags(["rain"], k=5)
    index.search_by_tags(["rain"], k=24, filters=Filters(tag="door", license="cc"))
    index.similar_to_sound(first, k=3)
    assert statements == []
    # a sound deleted as `audiotag delete` does disappears from every search at once
    delete_sound(cat, str(first))
    versions.note_catalogue_change(data / "indices")
    assert first not in {h.sound_id for h in index.search_by_tags(["rain"], k=24)[0]}
    assert first not in {h.sound_id for h in index.similar_to_clip(z_first[0], k=24)}


def _hash_of(cat: Catalogue, sound_id: int) -> str:
    from index.catalogue.models import Sound

    with cat.session() as s:
        return s.get(Sound, sound_id).content_hash


def test_index_of_another_model_is_refused(data: Path, trained_data_dir: Path) -> None:
    cat, bundle, corpus = _open(data)
    version, _ = build_version(bundle, corpus, data / "indices")
    manifest = json.loads((data / "indices" / version / "manifest.json").read_text())
    manifest["bundle_version"] = "w2v-128-4h-other"
    (data / "indices" / version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="was built with the model w2v-128-4h-other"):
        SearchIndex(data / "indices" / version, bundle, cat)
    with pytest.raises(IndexMismatchError):
        versions.publish(data / "indices", version)
        update_version(bundle, corpus, data / "indices")


def test_cli_build_search_update_delete_rebuild(data: Path, tmp_path: Path) -> None:
    base = ["--data-dir", str(data)]
    proc = run_cli(*base, "index", "build", "--factory", "HNSW16")
    assert proc.returncode == 0, proc.stderr
    first = versions.current_version(data / "indices")
    assert first and "shards" in proc.stdout
    found = run_cli(*base, "search", "rain", "qwzx", "--k", "3", "--tag", "rain")
    assert found.returncode == 0, found.stderr
    assert "the model does not know (the sound part leaves them out): qwzx" in found.stdout
    assert found.stdout.count("publicdomain") == 3
    nothing = run_cli(*base, "search", "qwzx")
    assert nothing.returncode == 2 and "no known tag among: qwzx" in nothing.stderr
    # more sounds arrive: update adds them without a rebuild
    extra = []
    for i in range(4):
        (tmp_path / "more").mkdir(exist_ok=True)
        write_audio(tmp_path / "more" / f"{2000 + i}.wav", tone(5000 + 300 * i, 1.0, seed=50 + i), 22050)
        extra.append({"id": 2000 + i, "name": f"new {i}", "tags": ["rain", "new"], "license": "CC0"})
    proc = run_cli(
        *base, "ingest", str(tmp_path / "more"), "-m", str(write_jsonl(tmp_path / "more.jsonl", extra))
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(*base, "index", "update")
    assert proc.returncode == 0, proc.stderr
    second = versions.current_version(data / "indices")
    manifest = versions.read_manifest(data / "indices" / second)
    assert second != first and manifest["counts"]["sounds"] == 28 and manifest["update"]["added"] == 4
    assert manifest["factory"] == {"audio": "HNSW16", "similar": "HNSW16"}
    # delete one: gone from search at once, and from the index at the next update
    proc = run_cli(*base, "delete", "1")
    assert proc.returncode == 0 and "deleted sound 1" in proc.stdout
    assert run_cli(*base, "delete", "1").returncode == 2
    cat, bundle, _ = _open(data)
    index = SearchIndex.open_current(data / "indices", bundle, cat)
    assert 1 not in {h.sound_id for h in index.search_by_tags(["rain", "door"], k=28)[0]}
    proc = run_cli(*base, "index", "update")
    assert (
        proc.returncode == 0
        and versions.read_manifest(versions.current_dir(data / "indices"))["counts"]["sounds"] == 27
    )
    assert "up to date" in run_cli(*base, "index", "update").stdout
    # full rebuild, list, and a rollback by publishing the previous version
    assert run_cli(*base, "index", "build").returncode == 0
    listing = run_cli(*base, "index", "list").stdout
    rebuilt = versions.current_version(data / "indices")
    assert rebuilt in listing and "Flat" in listing
    previous = [v["version"] for v in versions.list_versions(data / "indices") if not v["current"]][-1]
    assert run_cli(*base, "index", "publish", previous).returncode == 0
    assert versions.current_version(data / "indices") == previous
    jobs = run_cli(*base, "jobs", "list").stdout
    assert jobs.count("done") >= 4
    shown = run_cli(*base, "jobs", "show", "1")
    assert shown.returncode == 0 and "shards" in shown.stdout
    bad = run_cli(*base, "index", "publish", "nope")
    assert bad.returncode == 2 and "no complete index version" in bad.stderr
    bad = run_cli(*base, "index", "build", "--factory", "IVF4096,PQ8")
    assert bad.returncode == 2 and "cannot train IVF4096,PQ8" in bad.stderr
    assert versions.current_version(data / "indices") == previous  # a failed build serves nothing new
    assert run_cli(*base, "jobs", "show", "999").returncode == 2


def test_a_killed_build_leaves_the_served_index_and_resumes(data: Path) -> None:
    base = ["--data-dir", str(data)]
    assert run_cli(*base, "index", "build").returncode == 0
    served = versions.current_version(data / "indices")
    script = Path(sys.executable).parent / "audiotag"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    proc = subprocess.Popen([*cmd, *base, "index", "build", "--shard-size", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not list((data / "indices").glob(".build-*/shard-*.npz")):
        assert proc.poll() is None, "the build ended before it was stopped"
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGSTOP)  # frozen mid-way: some shards written, not all
    written = len(list((data / "indices").glob(".build-*/shard-*.npz")))
    assert 1 <= written < 24
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert versions.current_version(data / "indices") == served
    listing = run_cli(*base, "jobs", "list", "--state", "failed")
    assert "process is gone" in listing.stdout
    proc = run_cli(*base, "index", "build", "--shard-size", "1")
    assert proc.returncode == 0, proc.stderr
    store = JobStore(Catalogue(f"sqlite:///{data / 'catalogue.db'}"))
    last = store.list(1)[0]
    assert last.state == "done" and last.result["shards_reused"] >= written and last.result["shards"] == 24
    assert versions.current_version(data / "indices") == last.result["version"] != served
    assert not list((data / "indices").glob(".build-*"))


def test_two_workers_never_run_the_same_job(data: Path) -> None:
    from index.reindex import new_reindex_job

    store = JobStore(Catalogue(f"sqlite:///{data / 'catalogue.db'}"))
    jobs = [new_reindex_job(store, "build") for _ in range(4)]
    script = Path(sys.executable).parent / "audiotag"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    procs = [
        subprocess.Popen([*cmd, "--data-dir", str(data), "worker", "--once", "--poll", "0.1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    views = [store.get(j) for j in jobs]
    assert all(v.state == "done" and v.attempts == 1 for v in views), outputs
    ran = [
        line.split()[1].rstrip(":")
        for out in outputs
        for line in out.splitlines()
        if line.endswith(": running")
    ]
    assert sorted(ran) == sorted(str(j) for j in jobs)  # each job ran once, in one of the two workers


def test_a_build_lists_the_sounds_that_do_not_decode(data: Path) -> None:
    cat, bundle, corpus = _open(data)
    from index.catalogue.models import Sound

    broken = data / "broken.wav"  # the audio itself is shared with every copy of the trained data dir
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt broken after ingest")
    with cat.session() as s:
        sound = s.get(Sound, 3)
        uid, sound.file_path = sound.uid, str(broken)
        s.commit()
    fresh = Corpus(cat, FeatureCache(data / "cache/fresh"))  # nothing decoded yet: every file is read
    _, timings = build_version(bundle, fresh, data / "indices")
    assert timings["undecodable"] == 1
    assert timings["undecodable_examples"][0].startswith(f"{uid}: ")


def test_selective_filters_search_exactly_among_the_sounds_they_admit(data: Path, monkeypatch) -> None:
    from index import search as search_module
    from index.filters import FilterArrays

    cat, bundle, corpus = _open(data)
    version, _ = build_version(bundle, corpus, data / "indices", IndexOptions(factory="HNSW32"))
    versions.publish(data / "indices", version)
    index = SearchIndex.open_current(data / "indices", bundle, cat)
    meta = index.metadata()
    arrays = FilterArrays(meta)
    filters = [
        Filters(tag="door"), Filters(tag="DOORS "), Filters(tag="42"), Filters(min_duration=2.95),
        Filters(max_duration=1.5),
        Filters(license="cc"), Filters(license="gpl"), Filters(tag="rain", license="cc", max_duration=2.5),
    ]  # fmt: skip
    query = hubness.as_query(index.scorer.query_vectors([["rain"]])[0])  # as the audio index is searched
    stored = {i: index.audio.reconstruct(i) for i in meta}
    for f in filters:
        admitted = sorted(i for i, m in meta.items() if f.admit(m))
        assert arrays.select(f).tolist() == admitted, f  # vectorised = one at a time
        hits = index._nearest(query, k=5, filters=f)
        best = sorted((float(stored[i] @ query) for i in admitted), reverse=True)[:5]
        assert {h.sound_id for h in hits} <= set(admitted), f
        # exact among the admitted, HNSW or not (scores compared, so ties between sounds do not matter)
        assert [h.score for h in hits] == pytest.approx(best, abs=1e-5), f
    # similar sounds too (z_a, Flat here): the sound itself left out, the rest exact among the admitted
    first = next(iter(meta))
    z_first = index.similar.reconstruct(first)
    for f in filters[:3]:
        hits = index.similar_to_sound(first, k=3, filters=f)
        admitted = [i for i, m in meta.items() if f.admit(m) and i != first]
        best = sorted((float(index.similar.reconstruct(i) @ z_first) for i in admitted), reverse=True)[:3]
        assert {h.sound_id for h in hits} <= set(admitted), f
        assert [h.score for h in hits] == pytest.approx(best, abs=1e-5), f
    # a filter that admits most sounds over-fetches instead, with the same answer
    monkeypatch.setattr(search_module, "SELECTIVE", 0.0)
    for f in filters[:3]:
        assert {h.sound_id for h in index._nearest(query, k=3, filters=f)} <= set(arrays.select(f).tolist())


def test_an_ivf_index_gives_back_stored_vectors_after_reading_adding_and_removing(tmp_path: Path) -> None:
    """ "Sounds similar to this sound" reads the sound's stored z_a: past 20k sounds that index is IVF."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(1000, 1400, dtype=np.int64)
    vector_index.write(vector_index.build(x[:300], ids[:300], "IVF8,SQ8"), tmp_path / "z.faiss")
    index = vector_index.read(tmp_path / "z.faiss")
    assert np.allclose(index.reconstruct(1007), x[7], atol=0.02)  # SQ8: close, not equal
    vector_index.add(index, x[300:], ids[300:])
    assert np.allclose(index.reconstruct(1350), x[350], atol=0.02)
    assert not vector_index.remove(index, ids[:10])  # IVF keeps them: searches filter deleted sounds
    assert np.allclose(index.reconstruct(1350), x[350], atol=0.02)
    vector_index.set_search_params(index, nprobe=8)
    assert index.search(x[200:201], 1)[1][0, 0] == 1200  # ids still map to their vectors


def test_the_query_side_imports_no_build_stage_and_the_stages_no_circle() -> None:
    """index/search.py loads without any build stage; the Ray embed stage does not import the
    indexer that calls it."""
    import subprocess
    import sys

    build = ["index.indexer", "index.ray_build", "index.plan", "index.shards", "index.decode"]
    build.append("index.features")
    probe = (
        "import sys, importlib; importlib.import_module(sys.argv[1]); "
        "print(' '.join(m for m in sys.argv[2:] if m in sys.modules))"
    )
    loaded = {
        module: subprocess.run(
            [sys.executable, "-c", probe, module, *build], capture_output=True, text=True, check=True
        ).stdout.split()
        for module in ("index.search", "app.api.engine", "index.ray_build")
    }
    assert loaded["index.search"] == [] and loaded["app.api.engine"] == []
    assert "index.indexer" not in loaded["index.ray_build"]
