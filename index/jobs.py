"""Batch jobs in the catalogue's `jobs` table: queued → running → done | failed, with progress.

A job is claimed by one worker with a conditional UPDATE (state must still be `queued`), which is
atomic on SQLite and PostgreSQL alike. A running job records its worker (`host:pid`) and a timer
thread beats every `BEAT_EVERY_S` for as long as the work runs, whether or not the work reports
progress; a job whose worker process is gone (same host) or whose heartbeat is older than
`stale_after_s` is marked failed by `reap_stale`, which every runner calls before it starts.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from index.catalogue.db import Catalogue
from index.catalogue.models import Job

STATES = ("queued", "running", "done", "failed")
STALE_AFTER_S = 120.0
BEAT_EVERY_S = 10.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: they are UTC."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


@dataclass(frozen=True)
class JobView:
    """A detached snapshot of a job row, safe to print or serialise."""

    id: int
    kind: str
    state: str
    params: dict
    progress: float
    message: str | None
    error: str | None
    worker: str | None
    result: dict | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            job.id, job.kind, job.state, dict(job.params or {}), job.progress, job.message, job.error,
            job.worker, job.result, job.attempts, _aware(job.created_at), _aware(job.started_at),
            _aware(job.heartbeat_at), _aware(job.finished_at),
        )  # fmt: skip

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.finished_at or _now()) - self.started_at).total_seconds()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in d.items()}


class JobError(LookupError):
    """No such job, or a job in a state that does not allow the request."""


class JobStore:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def create(self, kind: str, params: dict | None = None) -> int:
        with self.catalogue.session() as s, s.begin():
            job = Job(kind=kind, params=params or {}, state="queued", progress=0.0, attempts=0)
            s.add(job)
            s.flush()
            return job.id

    def get(self, job_id: int) -> JobView:
        with self.catalogue.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobError(f"no job with id {job_id}")
            return JobView.of(job)

    def list(self, limit: int = 50, state: str | None = None) -> list[JobView]:
        with self.catalogue.session() as s:
            q = select(Job).order_by(Job.id.desc()).limit(limit)
            if state:
                q = q.where(Job.state == state)
            return [JobView.of(j) for j in s.scalars(q)]

    def claim(self, job_id: int, worker: str | None = None) -> bool:
        """queued → running for this worker; False when another worker was first."""
        now = _now()
        with self.catalogue.session() as s, s.begin():
            done = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "queued")
                .values(
                    state="running",
                    worker=worker or worker_id(),
                    started_at=now,
                    heartbeat_at=now,
                    attempts=Job.attempts + 1,
                    error=None,
                )  # fmt: skip
            )
            return done.rowcount == 1

    def claim_next(self, kind: str, worker: str | None = None) -> int | None:
        """Claim the oldest queued job of `kind`; None when there is none (or others took them all)."""
        while True:
            with self.catalogue.session() as s:
                job_id = s.scalar(
                    select(Job.id).where(Job.kind == kind, Job.state == "queued").order_by(Job.id).limit(1)
                )
            if job_id is None:
                return None
            if self.claim(job_id, worker):
                return job_id

    def beat(self, job_id: int, progress: float | None = None, message: str | None = None) -> None:
        """Record that the job is alive; with `progress`, also how far it is and what it does."""
        values: dict = {"heartbeat_at": _now()}
        if progress is not None:
            values.update(progress=min(max(progress, 0.0), 1.0), message=message)
        with self.catalogue.session() as s, s.begin():
            s.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(**values))

    def finish(self, job_id: int, result: dict, message: str = "done") -> None:
        self._end(job_id, "done", progress=1.0, result=result, message=message)

    def fail(self, job_id: int, error: str) -> None:
        self._end(job_id, "failed", error=error)

    def _end(self, job_id: int, state: str, **values) -> None:
        with self.catalogue.session() as s, s.begin():
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(("queued", "running")))
                .values(state=state, finished_at=_now(), **values)
            )

    def reap_stale(self, stale_after_s: float = STALE_AFTER_S) -> list[int]:
        """Mark failed every running job whose worker is gone; returns their ids."""
        host = socket.gethostname()
        limit = _now() - timedelta(seconds=stale_after_s)
        reaped = []
        for job in self.list(limit=1000, state="running"):
            w_host, _, pid = (job.worker or "").rpartition(":")
            dead = w_host == host and pid.isdigit() and not _alive(int(pid))
            if dead or (job.heartbeat_at is not None and job.heartbeat_at < limit):
                why = "its process is gone" if dead else f"no heartbeat for {stale_after_s:.0f} s"
                self.fail(job.id, f"the worker {job.worker} stopped ({why}) at {100 * job.progress:.0f} %")
                reaped.append(job.id)
        return reaped


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """A daemon thread that beats a running job every `every_s` until the block ends."""

    def __init__(self, store: JobStore, job_id: int, every_s: float = BEAT_EVERY_S) -> None:
        self.store, self.job_id, self.every_s = store, job_id, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            with contextlib.suppress(Exception):  # a busy database now and then: the next beat tries again
                self.store.beat(self.job_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_job(
    store: JobStore,
    job_id: int,
    work: Callable[[Callable[[float, str], None]], dict],
    claimed: bool = False,
    beat_every_s: float = BEAT_EVERY_S,
) -> JobView:
    """Claim a job (unless `claimed`), run `work(report)` while a heartbeat thread keeps it alive,
    record done or failed (work errors never raise)."""
    if not claimed and not store.claim(job_id):
        raise JobError(f"job {job_id} is not queued: {store.get(job_id).state}")
    try:
        with Heartbeat(store, job_id, beat_every_s):
            result = work(lambda progress, message: store.beat(job_id, progress, message))
    except KeyboardInterrupt:
        store.fail(job_id, "interrupted")
        raise
    except Exception as err:  # the job records why it failed; the caller decides what to show
        store.fail(job_id, f"{type(err).__name__}: {err}")
    else:
        store.finish(job_id, result)
    return store.get(job_id)
