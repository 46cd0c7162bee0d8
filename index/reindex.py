"""A reindex job: build (or update) an index version and publish it, recorded in the jobs table.

The same function runs from the CLI, from the service's in-process worker and from a separate
`audiotag worker`; what it needs travels in the job's params, so any of them can run any job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from index import versions
from index.indexer import Corpus, IndexOptions, Report, build_version, update_version
from index.jobs import JobStore, JobView, run_job
from model.bundle import Bundle
from model.bundles import default_bundle

KIND = "reindex"


class ReindexError(ValueError):
    """The job cannot start: no bundle, no published index to update, …"""


@dataclass(frozen=True)
class ReindexOptions:
    """Where bundles and indices live, how to build, and where the model runs."""

    bundles_dir: Path
    indices_dir: Path
    index: IndexOptions = field(default_factory=IndexOptions)
    device: str = "auto"


def bundle_for(params: dict, bundles_dir: Path, indices_dir: Path) -> Path:
    """The bundle a job names; for an update the served index's; else the newest."""
    if params.get("bundle"):
        return Path(params["bundle"])
    if params.get("mode") == "update":
        return versions.bundle_dir(versions.current_dir(indices_dir), bundles_dir)
    latest = default_bundle(bundles_dir)
    if latest is None:
        raise ReindexError("no model bundle: train one first (audiotag train)")
    return latest


def new_reindex_job(store: JobStore, mode: str = "build", **params) -> int:
    if mode not in ("build", "update"):
        raise ReindexError(f"unknown reindex mode {mode!r}: build or update")
    return store.create(KIND, {"mode": mode, **{k: v for k, v in params.items() if v is not None}})


def reindex_work(params: dict, corpus: Corpus, options: ReindexOptions):
    """The job body for `run_job`: returns what the job made."""
    indices_dir = options.indices_dir

    def work(report: Report) -> dict:
        bundle = Bundle(bundle_for(params, options.bundles_dir, indices_dir), options.device)
        opts = replace(
            options.index,
            factory=params.get("factory") or options.index.factory,
            shard_size=int(params.get("shard_size") or options.index.shard_size),
            ray_address=params.get("ray") or options.index.ray_address,
        )
        if params.get("mode") == "update":
            version, info = update_version(bundle, corpus, indices_dir, opts, report)
        else:
            version, info = build_version(bundle, corpus, indices_dir, opts, report)
        published = None
        if version and params.get("publish", True):
            versions.publish(indices_dir, version)
            published = version
        return {"version": version, "published": published, "bundle": bundle.version, **info}

    return work


def run_reindex(
    store: JobStore,
    job_id: int,
    corpus: Corpus,
    options: ReindexOptions,
    report: Report | None = None,
    claimed: bool = False,
    published: Callable[[], object] | None = None,
) -> JobView:
    """Run a queued (or already `claimed`) reindex job to its end (done or failed). `published` runs
    after the work and before the job reads done or failed: a server swaps to a new version there, so a
    client that sees the job done is served it."""
    params = store.get(job_id).params
    body = reindex_work(params, corpus, options)

    def work(beat: Report) -> dict:
        def both(progress: float, message: str) -> None:
            beat(progress, message)
            if report:
                report(progress, message)

        try:
            return body(both)
        finally:  # also after a failure: it may have come after the publish
            if published:
                published()

    return run_job(store, job_id, work, claimed)
