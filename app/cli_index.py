"""`audiotag index …`, `audiotag jobs …` and `audiotag delete`: build, update and publish indices."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from app.console import console, fail
from app.runtime import Runtime
from index import versions

if TYPE_CHECKING:
    from index.jobs import JobView
    from index.search import SearchIndex

index_app = typer.Typer(help="Build, update, list and publish search indices.", no_args_is_help=True)
jobs_app = typer.Typer(help="Batch jobs (reindex) and their state.", no_args_is_help=True)


def _run(rt: Runtime, mode: str, **params) -> JobView:
    """Queue a reindex job and run it here, with a progress bar; one red line if it fails."""
    from tqdm import tqdm

    from index.reindex import ReindexError, new_reindex_job, run_reindex

    reaped = rt.jobs.reap_stale()
    for job_id in reaped:
        console.print(f"job {job_id}: its worker had stopped; marked failed")
    try:
        job_id = new_reindex_job(rt.jobs, mode, **params)
    except ReindexError as err:
        fail(str(err))
    console.print(f"job {job_id}: {mode} index")
    with tqdm(
        total=100, desc=f"job {job_id}", unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}"
    ) as bar:

        def report(progress: float, message: str) -> None:
            bar.n = round(100 * progress)
            bar.set_postfix_str(message)

        job = run_reindex(rt.jobs, job_id, rt.corpus, rt.reindex_options, report)
        if job.state == "done":
            report(1.0, "done")
    if job.state != "done":
        fail(f"job {job.id} failed: {job.error}")
    return job


def build_cmd(
    ctx: typer.Context,
    bundle: Path | None = typer.Option(None, help="Model bundle folder (default: the newest)."),
    factory: str | None = typer.Option(None, help="FAISS factory string (env AUDIOTAG_INDEX_FACTORY)."),
    shard_size: int | None = typer.Option(None, min=1, help="Sounds per shard (resume granularity)."),
    publish: bool = typer.Option(True, "--publish/--no-publish", help="Serve the new version at once."),
    ray: str | None = typer.Option(
        None,
        help="Decode and embed on a Ray cluster: auto (the one `ray start` runs here) or HOST:PORT "
        "(env AUDIOTAG_RAY_ADDRESS).",
    ),  # fmt: skip
) -> None:
    """Embed every sound with a model bundle and write a new index version (resumes a killed build)."""
    build_index(ctx.obj, bundle, factory, shard_size, publish, ray)


def build_index(
    rt: Runtime,
    bundle: Path | None = None,
    factory: str | None = None,
    shard_size: int | None = None,
    publish: bool = True,
    ray: str | None = None,
) -> None:
    """Build an index version with `bundle` (default: the newest) and print what the job did; unset
    arguments come from the settings."""
    if bundle is not None and not (bundle / "manifest.json").is_file():
        fail(f"not a model bundle (no manifest.json): {bundle}")
    job = _run(rt, "build", bundle=str(bundle) if bundle else None, factory=factory,
               shard_size=shard_size, publish=publish, ray=ray)  # fmt: skip
    _print_result(job)


def update_cmd(
    ctx: typer.Context,
    publish: bool = typer.Option(True, "--publish/--no-publish", help="Serve the new version at once."),
) -> None:
    """Add sounds ingested since the served index was built and drop deleted ones, without a rebuild."""
    update_index(ctx.obj, publish)


def update_index(rt: Runtime, publish: bool = True) -> None:
    """Bring the served index up to date with the catalogue and print what changed."""
    if versions.current_version(rt.settings.indices_dir) is None:
        fail("no index is published: run `audiotag index build` first")
    job = _run(rt, "update", publish=publish)
    if job.result and job.result.get("version") is None:
        console.print("the index is up to date: nothing added or removed")
        return
    _print_result(job)


def _print_result(job: JobView) -> None:
    r = job.result or {}
    table = Table(title=f"job {job.id}", show_header=False)
    for key in ("version", "published", "bundle", "added", "removed", "shards", "shards_reused",
                "audio_seconds", "read_s", "embed_s", "build_s"):  # fmt: skip
        if key in r:
            table.add_row(key, str(r[key]))
    if job.seconds:
        table.add_row("seconds", f"{job.seconds:.1f}")
        if r.get("audio_seconds"):
            table.add_row("× real time", f"{r['audio_seconds'] / job.seconds:,.0f}")
    console.print(table)
    if r.get("undecodable"):
        console.print(f"[yellow]{r['undecodable']} sounds left out: they do not decode[/yellow]")
        for line in r.get("undecodable_examples", []):
            console.print(f"  {line}")


def list_cmd(ctx: typer.Context) -> None:
    """Index versions on disk; the served one is marked."""
    rt: Runtime = ctx.obj
    found = versions.list_versions(rt.settings.indices_dir)
    if not found:
        console.print("no index version yet: run `audiotag index build`")
        return
    table = Table(title="index versions")
    for col in ("version", "served", "sounds", "tags", "factory", "bundle", "built"):
        table.add_column(col)
    for v in found:
        table.add_row(
            v["version"], "yes" if v["current"] else "", str(v["counts"]["sounds"]), str(v["counts"]["tags"]),
            " / ".join(dict.fromkeys(v["factory"].values())), v["bundle_version"], v["built_at"],
        )  # fmt: skip
    console.print(table)


def publish_cmd(
    ctx: typer.Context, version: str = typer.Argument(..., help="An index version (index list).")
) -> None:
    """Serve another index version (one atomic switch); the one served before stays on disk."""
    rt: Runtime = ctx.obj
    try:
        previous = versions.publish(rt.settings.indices_dir, version)
    except versions.IndexVersionError as err:
        fail(str(err))
    console.print(f"serving {version} (was {previous or 'nothing'})")


def jobs_list_cmd(
    ctx: typer.Context,
    state: str | None = typer.Option(None, help="queued, running, done or failed."),
    limit: int = typer.Option(20, min=1),
) -> None:
    """Recent jobs, newest first."""
    rt: Runtime = ctx.obj
    if state and state not in ("queued", "running", "done", "failed"):
        fail(f"unknown state {state!r}: queued, running, done or failed")
    rt.jobs.reap_stale()
    table = Table(title="jobs")
    for col in ("id", "kind", "state", "progress", "created", "seconds", "message / error"):
        table.add_column(col)
    for j in rt.jobs.list(limit, state):
        table.add_row(
            str(j.id), f"{j.kind} {j.params.get('mode', '')}".strip(), j.state, f"{100 * j.progress:.0f} %",
            f"{j.created_at:%Y-%m-%d %H:%M:%S}", f"{j.seconds:.1f}" if j.seconds else "",
            j.error or j.message or "",
        )  # fmt: skip
    console.print(table)


def jobs_show_cmd(
    ctx: typer.Context, job_id: int = typer.Argument(..., help="A job id (jobs list).")
) -> None:
    """Everything about one job."""
    from index.jobs import JobError

    rt: Runtime = ctx.obj
    rt.jobs.reap_stale()
    try:
        job = rt.jobs.get(job_id)
    except JobError as err:
        fail(str(err))
    table = Table(title=f"job {job.id}", show_header=False)
    for key, value in job.to_dict().items():
        table.add_row(key, str(value))
    console.print(table)


def delete_cmd(
    ctx: typer.Context,
    sound: str = typer.Argument(..., help="The sound's id or uid (source:id)."),
) -> None:
    """Delete a sound from the catalogue: searches stop returning it at once; `index update` drops it."""
    from index.catalogue.queries import DeleteError, delete_sound

    rt: Runtime = ctx.obj
    try:
        sid, uid = delete_sound(rt.catalogue, sound)
    except DeleteError as err:
        fail(str(err))
    versions.note_catalogue_change(rt.settings.indices_dir)  # servers drop it from results at once
    console.print(f"deleted sound {sid} ({uid})")


def register(app: typer.Typer) -> None:
    index_app.command("build")(build_cmd)
    index_app.command("update")(update_cmd)
    index_app.command("list")(list_cmd)
    index_app.command("publish")(publish_cmd)
    jobs_app.command("list")(jobs_list_cmd)
    jobs_app.command("show")(jobs_show_cmd)
    app.add_typer(index_app, name="index")
    app.add_typer(jobs_app, name="jobs")
    app.command("delete")(delete_cmd)
    app.command("search")(search_cmd)


def open_served_index(rt: Runtime) -> SearchIndex:
    """The published index with the bundle it was built with; one red line when there is none."""
    from index.versions import IndexMismatchError
    from model.bundle import BundleError

    try:
        return rt.search_index(versions.current_dir(rt.settings.indices_dir))
    except (versions.IndexVersionError, BundleError, IndexMismatchError) as err:
        fail(str(err))


def search_cmd(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., help="Free text, e.g. dog bark"),
    k: int = typer.Option(10, min=1, max=1000, help="How many sounds."),
    license: str | None = typer.Option(None, help="Keep licences containing this (cc0, by-sa, gpl)."),
    min_duration: float | None = typer.Option(None, min=0.0, help="Seconds."),
    max_duration: float | None = typer.Option(None, min=0.0, help="Seconds."),
    tag: str | None = typer.Option(
        None, help="Keep sounds whose tags hold this tag's words (normalised: Dogs finds dog)."
    ),
    mode: str = typer.Option("hybrid", help="hybrid (words and sound), text (words only) or sound."),
) -> None:
    """Text → sounds in the served index, by their words, their sound, or both (the default)."""
    from index.hybrid import MODES
    from index.search import Filters, NoQueryWordsError
    from model.bundle import UnknownTagsError

    if mode not in MODES:
        fail(f"unknown mode {mode!r}: choose {', '.join(MODES)}")
    rt: Runtime = ctx.obj
    index = open_served_index(rt)
    try:
        matches, used = index.search(
            " ".join(query), k, 0, Filters(license, min_duration, max_duration, tag), mode
        )
    except (NoQueryWordsError, UnknownTagsError) as err:
        fail(str(err))
    if used.unknown:
        console.print(
            f"words the model does not know (the sound part leaves them out): {', '.join(used.unknown)}"
        )
    sounds = index.metadata()
    table = Table(title=f"{' '.join(used.words)} — {mode}, index {index.version}")
    for col in ("#", "id", "name", "score", "text/sound", "matched", "tags", "licence", "s"):
        table.add_column(col)
    for rank, m in enumerate(matches, 1):
        x = sounds[m.sound_id]
        shares = f"{m.text_share:.0%}/{m.sound_share:.0%}"
        table.add_row(str(rank), str(x.id), x.name, f"{m.score:.4g}", shares, " ".join(m.words),
                      " ".join(x.tag_names)[:50], (x.license or "")[:40], f"{x.duration:.1f}")  # fmt: skip
    console.print(table)
