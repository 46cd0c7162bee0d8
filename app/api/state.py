"""The running service: what it serves (the published index with its bundle), and the parts requests
share (catalogue, jobs, upload limits, the inference engine, in-process reindex worker).

`Service.refresh` compares `indices/current` with the loaded version and, when it changed, loads
the new version next to the old one and swaps one reference: requests in flight keep the object they
started with, so none fails during the swap. A version that fails to load is logged, counted in
/metrics and shown by /ready, and the old one stays served.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.concurrency import run_in_threadpool

from app.api.engine import Engine
from app.api.observe import Metrics
from app.runtime import Runtime
from index import versions
from index.jobs import JobStore
from index.reindex import new_reindex_job, run_reindex
from index.search import CATALOGUE_MAX_AGE_S, SearchIndex
from index.versions import IndexMismatchError
from model.bundle import Bundle, BundleError
from model.memory import batch_memory

log = logging.getLogger("audiotag.api")


def on_a_thread_of_its_own(work: Callable[[], object]) -> None:
    """Run `work` on a new thread and wait for it (its exception raised here). A thread that runs
    parallel torch operators keeps an OpenMP team while it lives, and a second team beside the
    inference thread's slows its encoder: after a batch embedded on the reindex pool's thread, a
    10 s clip took 7.0–8.0 against 5.7–6.1 ms (2-core Zen 4, three rounds); embedded on a thread
    that ended, 5.7–6.2 against 5.8–6.1. A job's team ends with its thread."""
    failed: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as err:  # handed to the caller
            failed.append(err)

    thread = threading.Thread(target=target, name="reindex-job")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


class NotReady(RuntimeError):
    """No index is published yet, or it cannot be loaded; the message says why."""


class Service:
    def __init__(self, rt: Runtime, metrics: Metrics) -> None:
        self.rt, self.metrics = rt, metrics
        self.settings = s = rt.settings
        self.catalogue = rt.catalogue
        self.jobs = JobStore(rt.catalogue)
        self.limits = rt.upload_limits
        self.engine = Engine(
            s.batch_max_size, s.batch_max_wait_ms / 1000, metrics.batch.observe, metrics.search_batch.observe
        )
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="reindex")
        self._index: SearchIndex | None = None
        self._bundles: dict[Path, Bundle] = {}
        self._lock = threading.Lock()
        self.problem = "not loaded yet"  # why no index is served, or why the newest one is not
        self.failed_version: str | None = None  # the published version that failed to load last

    @property
    def index(self) -> SearchIndex:
        index = self._index
        if index is None:
            raise NotReady(self.problem)
        return index

    async def served_index(self) -> SearchIndex:
        """The served index. A process that serves none yet looks for a published version first:
        with several server processes, one whose watcher has not ticked since the first publish must
        not answer 503 beside one that already serves it."""
        if self._index is None:
            try:
                await run_in_threadpool(self.refresh)
            except OSError as err:  # `current` unreadable for now: answer not ready, the watcher retries
                log.warning("cannot look for a published index: %s", err)
        return self.index

    def refresh(self) -> bool:
        """Load the published version if it is not the one served; True when it swapped."""
        root: Path = self.settings.indices_dir
        with self._lock:
            current = versions.current_version(root)
            if current is None:
                self.problem = "no index is published: run `audiotag index build`"
                return False
            if self._index is not None and self._index.version == current:
                return False
            if current == self.failed_version:
                return False  # tried and failed: wait for another publish, not a retry every tick
            try:
                index = self.rt.search_index(root / current, self._bundles, self.engine.thread)
            except Exception as err:  # a broken publish must never stop the service: it keeps the old one
                self.problem = f"cannot load index {current}: {err}"
                self.failed_version = current
                known = (OSError, LookupError, ValueError, BundleError, IndexMismatchError, RuntimeError)
                log.error(self.problem, exc_info=not isinstance(err, known))
                self.metrics.refresh_failures.inc()
                return False
            self._bundles = {index.bundle.path: index.bundle}  # kept for the next swap
            self._index = index
            self.problem, self.failed_version = "", None
            self.metrics.served(index.version, index.bundle.version, index.size)
            log.info("serving index %s (model %s, %d sounds)", current, index.bundle.version, index.size)
            return True

    def refresh_metadata(self) -> None:
        """Read the served index's catalogue metadata again when half its maximum age has passed, so
        that requests (which read it again past the whole age) do not wait for it."""
        index = self._index
        if index is not None:
            index.metadata(max_age=CATALOGUE_MAX_AGE_S / 2)

    def catalogue_changed(self) -> int | None:
        """After a write to the catalogue's sounds or tags: every server process reads the sounds'
        metadata again (filters, tag suggestion), and an index update is queued so the text index
        and tag contexts follow; its job id, or None while no index is published."""
        indices = self.settings.indices_dir
        versions.note_catalogue_change(indices)
        if versions.current_version(indices) is None:
            return None
        job = new_reindex_job(self.jobs, "update")
        self.submit(job)
        return job

    def submit(self, job_id: int) -> None:
        """Run the queued job here, unless separate `audiotag worker` processes run the queue."""
        if not self.settings.worker_in_process:
            return

        def run() -> None:
            with batch_memory():  # the embedding's large tensors stay in the heap while the job runs
                run_reindex(
                    self.jobs, job_id, self.rt.corpus, self.rt.reindex_options, published=self.refresh
                )

        self.worker.submit(on_a_thread_of_its_own, run)  # one job at a time, each on a new thread
