"""Job claims under real concurrency: several processes, one database (SQLite, and PostgreSQL when
AUDIOTAG_TEST_POSTGRES_URL is set): every queued job is claimed by exactly one of them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.catalogue.db import Catalogue
from index.jobs import JobStore, run_job

URLS = ["sqlite"] + (["postgres"] if os.environ.get("AUDIOTAG_TEST_POSTGRES_URL") else [])
CLAIMER = """
import sys
from index.catalogue.db import Catalogue
from index.jobs import JobStore
store = JobStore(Catalogue(sys.argv[1]))
while (job := store.claim_next("reindex")) is not None:
    store.finish(job, {"by": sys.argv[2]})
    print(job, flush=True)
"""


@pytest.fixture(params=URLS)
def url(request, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    url = os.environ["AUDIOTAG_TEST_POSTGRES_URL"]
    yield url
    from index.catalogue.models import Job

    cat = Catalogue(url)
    with cat.session() as s, s.begin():
        s.query(Job).delete()
    cat.close()


def test_processes_never_claim_the_same_job(url: str) -> None:
    store = JobStore(Catalogue(url))
    jobs = {store.create("reindex", {"n": i}) for i in range(60)}
    procs = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, url, f"w{k}"], stdout=subprocess.PIPE, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
        for k in range(3)
    ]  # fmt: skip
    claimed = [[int(x) for x in p.communicate(timeout=120)[0].split()] for p in procs]
    everything = [j for c in claimed for j in c]
    assert sorted(everything) == sorted(jobs)  # each exactly once
    assert all(store.get(j).state == "done" and store.get(j).attempts == 1 for j in jobs)


def test_two_audiotag_workers_never_run_the_same_job(url: str, tmp_path: Path) -> None:
    """Real `audiotag worker` processes on one database; every job names a missing bundle and fails
    fast, which is enough to see who ran what."""
    store = JobStore(Catalogue(url))
    missing = str(tmp_path / "no-such-bundle")
    jobs = {store.create("reindex", {"mode": "build", "bundle": missing}) for _ in range(12)}
    script = Path(sys.executable).parent / "audiotag"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    base = [
        *cmd,
        "--data-dir",
        str(tmp_path / "data"),
        "--database-url",
        url,
        "worker",
        "--once",
        "--poll",
        "0.1",
    ]
    procs = [
        subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    ran = [
        int(line.split()[1].rstrip(":"))
        for out in outputs
        for line in out.splitlines()
        if line.endswith(": running")
    ]
    assert sorted(ran) == sorted(jobs), outputs
    views = [store.get(j) for j in jobs]
    assert all(v.state == "failed" and v.attempts == 1 and "not a model bundle" in v.error for v in views)


def _silent_work_under_reaper(store: JobStore, beat_every_s: float) -> str:
    """Run a job whose work reports nothing for 2 s while a reaper with a 0.6 s limit runs beside it
    (as `audiotag jobs list` does); the job's final state."""
    job = store.create("reindex", {"mode": "build"})
    stop = threading.Event()

    def reaper() -> None:
        while not stop.is_set():
            store.reap_stale(stale_after_s=0.6)
            time.sleep(0.05)

    beside = threading.Thread(target=reaper)
    beside.start()
    try:
        view = run_job(store, job, lambda report: time.sleep(2.0) or {"ok": True}, beat_every_s=beat_every_s)
    finally:
        stop.set()
        beside.join()
    return view.state


def test_a_long_silent_job_stays_alive_while_reapers_run(tmp_path: Path) -> None:
    store = JobStore(Catalogue(f"sqlite:///{tmp_path / 'c.db'}"))
    assert _silent_work_under_reaper(store, beat_every_s=0.1) == "done"
    # The control: without the heartbeat thread's beats the same job is reaped as dead.
    assert _silent_work_under_reaper(store, beat_every_s=60.0) == "failed"
