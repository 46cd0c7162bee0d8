"""Catalogue commands: ingest, features, stats."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from app.console import console, fail
from app.runtime import Runtime
from index import versions

if TYPE_CHECKING:
    from index.ingest import IngestSummary


def report_ingest(rt: Runtime, summary: IngestSummary, title: str = "ingest") -> None:
    """Print what an ingest did; when it changed indexed sounds, tell the servers (index/search.py)."""
    if summary.updated:
        versions.note_catalogue_change(rt.settings.indices_dir)
    print_summary(summary, title)


def print_summary(summary: IngestSummary, title: str = "ingest") -> None:
    table = Table(title=title, show_header=False)
    table.add_row("added", str(summary.added))
    table.add_row("updated", str(summary.updated))
    table.add_row("unchanged", str(summary.unchanged))
    table.add_row("rejected", str(len(summary.rejected)))
    for reason, n in summary.reasons().most_common():
        table.add_row(f"  {reason}", str(n))
    console.print(table)
    for key, reason in summary.rejected[:20]:
        console.print(f"  rejected {key}: {reason}", highlight=False, markup=False)
    if len(summary.rejected) > 20:
        console.print(f"  … and {len(summary.rejected) - 20} more (see the rejections table)")


def ingest_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Folder holding the audio files."),
    metadata: Path = typer.Option(
        ..., "--metadata", "-m", help="Freesound-shaped metadata: .jsonl, .json or .csv"
    ),
    source: str | None = typer.Option(
        None, help="Name of this corpus in the catalogue (default: folder name)."
    ),
) -> None:
    """Ingest a folder of audio plus Freesound-style metadata into the catalogue."""
    from index.ingest import ingest
    from index.metadata import MetadataError

    rt: Runtime = ctx.obj
    if not path.is_dir():
        fail(f"not a folder: {path}")
    try:
        summary = ingest(
            rt.catalogue,
            path,
            metadata,
            rt.feature_cache,
            source_name=source,
            limits=rt.limits,
            workers=rt.settings.workers,
        )
    except MetadataError as err:
        fail(str(err))
    report_ingest(rt, summary)


def features_cmd(ctx: typer.Context) -> None:
    """Compute log-mel features of catalogue sounds missing from the feature cache."""
    from index.features import build_features

    rt: Runtime = ctx.obj
    done, failed = build_features(rt.catalogue, rt.feature_cache, rt.limits, rt.settings.workers)
    console.print(f"features: {done} computed, {len(rt.feature_cache)} in the cache, {len(failed)} failed")
    for uid, reason in failed[:20]:
        console.print(f"  {uid}: {reason}", markup=False)


def stats_cmd(ctx: typer.Context) -> None:
    """Summarise the catalogue: sounds, hours, tags, rejections."""
    print_stats(ctx.obj)


def print_stats(rt: Runtime) -> None:
    """The catalogue's counts and its coverage of sound categories, as tables."""
    from index.catalogue.queries import catalogue_counts, live_sounds_with_words
    from index.corpus.coverage import coverage

    c = catalogue_counts(rt.catalogue)
    table = Table(title="catalogue", show_header=False)
    table.add_row("database", rt.settings.catalogue_url)
    table.add_row("sounds", str(c.sounds))
    table.add_row("hours", f"{c.seconds / 3600:.2f}")
    table.add_row("distinct tags", f"{c.tags_used} used ({c.tags_known} known)")
    table.add_row("rejected files", str(c.rejected))
    table.add_row("cached features", str(len(rt.feature_cache)))
    console.print(table)
    by_category = coverage(words for _, _, words in live_sounds_with_words(rt.catalogue))
    if by_category:
        cov = Table(title="coverage (clips per category, by tag words)")
        cov.add_column("category")
        cov.add_column("clips", justify="right")
        for name, count in by_category.most_common():
            cov.add_row(name, str(count))
        console.print(cov)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("features")(features_cmd)
    app.command("stats")(stats_cmd)
