"""`audiotag worker`: run queued reindex jobs from the jobs table, one at a time, until stopped."""

from __future__ import annotations

import time

import typer

from app.console import console
from app.runtime import Runtime


def worker_cmd(
    ctx: typer.Context,
    poll: float = typer.Option(2.0, min=0.1, help="Seconds between looks at the queue."),
    once: bool = typer.Option(False, "--once", help="Run what is queued now, then exit."),
) -> None:
    """Claim and run reindex jobs (several workers may share one database: each job runs once)."""
    from index.jobs import worker_id
    from index.reindex import KIND, run_reindex
    from model.memory import release_freed_memory

    rt: Runtime = ctx.obj
    me = worker_id()
    console.print(f"worker {me} watching the jobs table")
    while True:
        for job_id in rt.jobs.reap_stale():
            console.print(f"job {job_id}: its worker had stopped; marked failed")
        job_id = rt.jobs.claim_next(KIND, me)
        if job_id is None:
            if once:
                return
            time.sleep(poll)
            continue
        console.print(f"job {job_id}: running")
        job = run_reindex(rt.jobs, job_id, rt.corpus, rt.reindex_options, claimed=True)
        console.print(f"job {job_id}: {job.state}" + (f" ({job.error})" if job.error else ""))
        release_freed_memory()  # a job's peak stays only while it runs


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)
