"""Index builds on a real Ray cluster: a head node and a second node on loopback, started and stopped
here. The Ray build must give the single-machine build's ids and vectors, survive a node killed
mid-build, and leave resumable shards when its driver is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.ports import free_port
from bench.ray_cluster import LocalCluster, kill, local_cluster, running
from index import versions
from index.catalogue.db import Catalogue
from index.indexer import Corpus, IndexOptions, build_version
from index.jobs import JobStore
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache
from tests.conftest import run_cli

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two Ray nodes of one CPU each on loopback."""
    with local_cluster(nodes=2) as c:
        yield c


BROKEN = 3  # the sound whose file no longer decodes: left out, by both builds alike


@pytest.fixture
def data(trained_data_dir: Path, tmp_path: Path) -> Path:
    """The trained data dir, its feature cache emptied (the Ray tasks decode every clip), and one
    sound's file broken since it was ingested."""
    from index.catalogue.models import Sound

    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data"))
    shutil.rmtree(data / "cache")
    broken = data / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt broken after ingest")
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    with cat.session() as s:
        s.get(Sound, BROKEN).file_path = str(broken)
        s.commit()
    cat.close()
    return data


def _build(data: Path, **options) -> tuple[str, dict]:
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    try:
        return build_version(bundle, Corpus(cat, FeatureCache(data / "cache/features")), data / "indices",
                             IndexOptions(**options))  # fmt: skip
    finally:
        cat.close()


def _vectors(data: Path, version: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, centred φ_a) of a version, read back from its FAISS index."""
    from index import vector_index

    index = vector_index.read(data / "indices" / version / versions.AUDIO)
    ids = np.load(data / "indices" / version / versions.IDS)
    return ids, np.stack([index.reconstruct(int(i)) for i in ids])


def _same_build(ray_data: Path, ray_version: str, local_data: Path, local_version: str) -> None:
    ray_ids, ray_phi = _vectors(ray_data, ray_version)
    ids, phi = _vectors(local_data, local_version)
    assert np.array_equal(ray_ids, ids) and len(ids) == 23 and BROKEN not in ids
    cosine = (ray_phi * phi).sum(1) / np.linalg.norm(ray_phi, axis=1) / np.linalg.norm(phi, axis=1)
    assert cosine.min() >= 0.9999


def test_a_ray_build_gives_the_single_machine_build(
    cluster: LocalCluster, data: Path, tmp_path: Path
) -> None:
    local = Path(shutil.copytree(data, tmp_path / "local"))
    local_version, _ = _build(local)
    version, timings = _build(data, shard_size=4, ray_address=cluster.address)
    assert timings["embedded_on"] == f"ray {cluster.address}" and timings["shards"] == 6
    assert timings["undecodable"] == 1  # the broken sound, with its reason, as the local build says
    _same_build(data, version, local, local_version)
    assert len(FeatureCache(data / "cache/features")) == 23  # the decoded features came back to the cache
    again, timings = _build(data, shard_size=4)  # and the single-machine build reads them from there
    _same_build(data, again, local, local_version)


def test_a_node_killed_mid_build_does_not_lose_the_job(
    cluster: LocalCluster, data: Path, tmp_path: Path
) -> None:
    local = Path(shutil.copytree(data, tmp_path / "local"))
    local_version, _ = _build(local)
    work = data / "indices"
    killed: list[int] = []  # the second node's raylet, SIGKILLed once a first shard is written

    def kill_second_node() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not list(work.glob(".build-*/shard-*.npz")):
            time.sleep(0.01)
        raylet = cluster.raylet(1)
        kill(raylet)
        killed.extend(raylet)

    killer = threading.Thread(target=kill_second_node)
    killer.start()
    version, timings = _build(data, shard_size=1, ray_address=cluster.address)
    killer.join()
    assert killed and timings["shards"] == 24
    assert not any(running(pid) for pid in killed)
    _same_build(data, version, local, local_version)  # finished on the node left, every sound there


def test_a_killed_driver_resumes_through_the_cli_and_the_jobs_table(
    cluster: LocalCluster, data: Path, tmp_path: Path
) -> None:
    base = ["--data-dir", str(data)]
    assert run_cli(*base, "index", "build").returncode == 0
    served = versions.current_version(data / "indices")
    shutil.rmtree(data / "cache")
    script = Path(sys.executable).parent / "audiotag"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    env = {**os.environ, "AUDIOTAG_RAY_ADDRESS": cluster.address}
    proc = subprocess.Popen([*cmd, *base, "index", "build", "--shard-size", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not list((data / "indices").glob(".build-*/shard-*.npz")):
        assert proc.poll() is None, "the build ended before it was stopped"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(list((data / "indices").glob(".build-*/shard-*.npz")))
    assert 1 <= written < 24
    assert versions.current_version(data / "indices") == served  # the served index is untouched
    resumed = run_cli(*base, "index", "build", "--shard-size", "1", "--ray", cluster.address)
    assert resumed.returncode == 0, resumed.stderr
    last = JobStore(Catalogue(f"sqlite:///{data / 'catalogue.db'}")).list(1)[0]
    assert last.state == "done" and last.result["shards_reused"] >= written
    assert last.result["embedded_on"] == f"ray {cluster.address}"
    assert versions.current_version(data / "indices") == last.result["version"] != served


def test_the_worker_hands_its_jobs_to_the_cluster(cluster: LocalCluster, data: Path) -> None:
    """`audiotag worker` with AUDIOTAG_RAY_ADDRESS: a queued reindex job is embedded on Ray."""
    from index.reindex import new_reindex_job

    store = JobStore(Catalogue(f"sqlite:///{data / 'catalogue.db'}"))
    job_id = new_reindex_job(store, "build")
    done = run_cli("--data-dir", str(data), "worker", "--once", env={"AUDIOTAG_RAY_ADDRESS": cluster.address})
    assert done.returncode == 0, done.stderr
    job = store.get(job_id)
    assert job.state == "done" and job.result["embedded_on"] == f"ray {cluster.address}", job
    assert versions.current_version(data / "indices") == job.result["version"]


def test_a_bundle_the_nodes_cannot_read_is_a_clear_error(cluster: LocalCluster, data: Path) -> None:
    """The nodes load the bundle from the driver's path: where it is not there, the build fails with
    the reason in one line and publishes nothing."""
    from index.ray_build import RayBuildError

    copy = Path(shutil.copytree(latest_bundle(data / "bundles"), data / "moved-bundle"))
    bundle = Bundle(copy, "cpu")  # loaded here; then gone before any task loads it
    shutil.rmtree(copy)
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    corpus = Corpus(cat, FeatureCache(data / "cache/features"))
    with pytest.raises(RayBuildError, match=r"^shard \d+/6 failed on the Ray cluster: BundleError: not a "):
        build_version(
            bundle, corpus, data / "indices", IndexOptions(shard_size=4, ray_address=cluster.address)
        )
    cat.close()
    assert versions.current_version(data / "indices") is None


def test_an_unreachable_cluster_is_a_clear_error(data: Path) -> None:
    bad = run_cli("--data-dir", str(data), "index", "build", "--ray", f"127.0.0.1:{free_port()}")
    assert bad.returncode == 2 and "cannot reach the Ray cluster" in bad.stderr
