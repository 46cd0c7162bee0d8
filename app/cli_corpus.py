"""`audiotag corpus`: the built-in Debian corpus and the Freesound client."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli_data import report_ingest
from app.console import console, fail
from app.runtime import Runtime
from index.corpus.presets import PRESETS

app = typer.Typer(help="Build or download corpora of tagged sounds.", no_args_is_help=True)


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    preset: str = typer.Option("demo", help=f"Which packages: {', '.join(PRESETS)}."),
    packages: str | None = typer.Option(None, help="Comma-separated Debian packages instead of a preset."),
    ingest_too: bool = typer.Option(
        True, "--ingest/--no-ingest", help="Ingest the clips into the catalogue."
    ),
    keep_debs: bool = typer.Option(False, help="Keep the downloaded .deb files."),
) -> None:
    """Build the built-in corpus from Debian packages and ingest it."""
    build_corpus(ctx.obj, preset, packages, ingest_too, keep_debs)


def build_corpus(
    rt: Runtime,
    preset: str = "demo",
    packages: str | None = None,
    ingest_too: bool = True,
    keep_debs: bool = False,
) -> None:
    """The clips of a preset (or of comma-separated `packages`) in the corpus folder, ingested."""
    from index.corpus.build import build_packages
    from index.corpus.credits import write_credits, write_metadata
    from index.corpus.debian import CorpusError
    from index.ingest import IngestSummary, ingest
    from index.metadata import record_from_dict

    if packages is None and preset not in PRESETS:
        fail(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    names = [p.strip() for p in packages.split(",") if p.strip()] if packages else PRESETS[preset]
    out = rt.settings.corpus_dir / "debian"
    try:
        results = build_packages(names, out, mirror=rt.settings.debian_mirror, keep_debs=keep_debs)
    except CorpusError as err:
        fail(str(err))
    n = write_metadata(results, out / "metadata.jsonl")
    write_credits(results, out / "CREDITS.md")
    console.print(f"corpus: {n} clips from {len(results)} packages in {out} (credits: {out / 'CREDITS.md'})")
    if not ingest_too:
        return
    total = IngestSummary()
    for r in results:
        records = [record_from_dict(rec) for rec in r.records]
        s = ingest(
            rt.catalogue,
            out / "audio" / r.package,
            records,
            rt.feature_cache,
            source_name=f"debian:{r.package}",
            source_kind="debian",
            source_version=r.version,
            limits=rt.limits,
            workers=rt.settings.workers,
            progress=True,
        )
        total.added += s.added
        total.updated += s.updated
        total.unchanged += s.unchanged
        total.rejected += [(f"{r.package}:{k}", reason) for k, reason in s.rejected]
    report_ingest(rt, total, title="ingest of the built-in corpus")


@app.command("freesound")
def freesound_cmd(
    ctx: typer.Context,
    token: str = typer.Option(..., envvar="AUDIOTAG_FREESOUND_TOKEN", help="Freesound API token."),
    query: str = typer.Option("", help="Text query, as on freesound.org."),
    filter: str | None = typer.Option(
        None, "--filter", help="Freesound filter, e.g. 'duration:[0.3 TO 30]'."
    ),
    max_sounds: int = typer.Option(100, "--max", min=1, help="How many sounds to fetch at most."),
    out: Path | None = typer.Option(None, help="Folder for previews and metadata.jsonl."),
    ingest_too: bool = typer.Option(False, "--ingest/--no-ingest", help="Ingest what was downloaded."),
) -> None:
    """Download sounds (previews and metadata) from the Freesound API into the ingest shape."""
    from index.freesound import FreesoundClient, FreesoundError
    from index.ingest import ingest

    rt: Runtime = ctx.obj
    out = out or rt.settings.corpus_dir / "freesound"
    try:
        client = FreesoundClient(token, base_url=rt.settings.freesound_api_url)
        n = client.download(query, out, max_sounds=max_sounds, filter=filter)
    except FreesoundError as err:
        fail(str(err))
    console.print(f"freesound: {n} sounds in {out}")
    if ingest_too:
        summary = ingest(
            rt.catalogue,
            out,
            out / "metadata.jsonl",
            rt.feature_cache,
            source_name="freesound",
            source_kind="freesound",
            limits=rt.limits,
            workers=rt.settings.workers,
        )
        report_ingest(rt, summary)
