"""`audiotag eval`: the MFCC baseline and each bundle on each task; a report with tables and figures."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from app.console import console, fail
from app.runtime import Runtime
from index.corpus.debian import CorpusError
from model.bundles import default_bundle
from trainer.eval.builtin import BUILTIN_TASKS, builtin_task

if TYPE_CHECKING:
    from model.bundle import Bundle
    from trainer.eval.datasets import Task
    from trainer.eval.run import EvalResult

CATALOGUE = "catalogue"
DEFAULT_TASKS = [*BUILTIN_TASKS, CATALOGUE]
DATASET_KINDS = ("urbansound8k", "gtzan", "nsynth", "folder", "csv")
TASK_HELP = (
    f"Repeatable. Built-in: {', '.join(BUILTIN_TASKS)}; '{CATALOGUE}' (retrieval and tag suggestion on "
    "held-out catalogue clips); or a dataset you have: urbansound8k:DIR, gtzan:DIR (with "
    "train_filtered.txt and test_filtered.txt), nsynth:DIR, folder:DIR (a folder per class), "
    "csv:FILE (path,label[,fold][,tags]). "
    "Default: every built-in task and the catalogue."
)


def dataset_task(spec: str) -> Task:
    """A `kind:PATH` task spec → the loaded task."""
    from trainer.eval.datasets import (
        DatasetError,
        load_csv_manifest,
        load_folder_per_class,
        load_gtzan,
        load_nsynth,
        load_urbansound8k,
    )

    kind, _, where = spec.partition(":")
    path = Path(where).expanduser()
    if kind not in DATASET_KINDS or not where:
        raise DatasetError(
            f"unknown task {spec!r}: use {', '.join(DEFAULT_TASKS)}, or one of "
            f"{', '.join(k + ':PATH' for k in DATASET_KINDS)}"
        )
    if kind == "urbansound8k":
        return load_urbansound8k(path)
    if kind == "gtzan":
        return load_gtzan(path, path / "train_filtered.txt", path / "test_filtered.txt")
    if kind == "nsynth":
        return load_nsynth(path)
    if kind == "folder":
        return load_folder_per_class(path)
    return load_csv_manifest(path)


def _load_bundles(paths: list[Path], rt: Runtime) -> dict[str, Bundle]:
    from model.bundle import Bundle

    if not paths:
        latest = default_bundle(rt.settings.bundles_dir)
        if latest is None:
            fail("no model bundle: train one first (audiotag train), or name one with --bundle")
        paths = [latest]
    bundles = {}
    for p in paths:
        b = Bundle(p, rt.settings.device)
        bundles[b.version] = b
    if len({b.features for b in bundles.values()}) > 1:
        fail("the bundles use different feature settings: evaluate them one at a time")
    return bundles


def eval_cmd(
    ctx: typer.Context,
    bundle: list[Path] = typer.Option([], help="A model bundle folder; repeatable. Default: the newest."),
    task: list[str] = typer.Option([], help=TASK_HELP),
    repeats: int = typer.Option(10, min=1, help="Classifier seeds per task (the paper: 10)."),
    out: Path | None = typer.Option(None, help="Report folder (default: DATA_DIR/eval/<time>)."),
    rebuild_tasks: bool = typer.Option(False, "--rebuild-tasks", help="Build the built-in tasks again."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw the PNG figures."),
) -> None:
    """Evaluate model bundles the paper's way and beyond, and write a markdown report with figures."""
    from index.catalogue.queries import catalogue_hashes, live_sound_names
    from index.scoring import Scorer
    from model.bundle import BundleError
    from model.cache import FeatureCache
    from trainer.eval.catalogue import catalogue_figures, embed_catalogue
    from trainer.eval.datasets import DatasetError
    from trainer.eval.figures import task_figures
    from trainer.eval.outofsource import out_of_source_figures
    from trainer.eval.report import write_report
    from trainer.eval.run import EvalResult, evaluate_task

    rt: Runtime = ctx.obj
    names = task or DEFAULT_TASKS
    try:
        bundles = _load_bundles(bundle, rt)
        cache = FeatureCache(rt.settings.cache_dir / "features", next(iter(bundles.values())).features)
        tasks, abouts = [], {}
        for spec in names:
            if spec in BUILTIN_TASKS:
                t, abouts[spec] = builtin_task(
                    spec, rt.settings.data_dir / "tasks", rt.settings.debian_mirror, rebuild=rebuild_tasks
                )
                tasks.append(t)
            elif spec != CATALOGUE:
                tasks.append(dataset_task(spec))
        _unique_names(tasks)
        result = EvalResult(list(bundles))
        trained_on = catalogue_hashes(rt.catalogue)
        console.print("embedding the catalogue's clips (held-out figures and the centres of the scores)")
        clips = {n: embed_catalogue(b, rt.catalogue, rt.feature_cache) for n, b in bundles.items()}
        scorers = {
            n: Scorer(b, clips[n].centres, clips[n].contexts) if clips[n] else Scorer(b)
            for n, b in bundles.items()
        }
        for t in tasks:
            console.print(f"[bold]{t.name}[/bold]: {len(t.clips)} clips, {len(t.classes)} classes")
            result.tasks.append(
                evaluate_task(
                    t,
                    bundles,
                    cache,
                    rt.limits,
                    repeats,
                    rt.settings.workers,
                    exclude_hashes=trained_on,
                    scorers=scorers,
                )
            )
        if CATALOGUE in names:
            sound_names = live_sound_names(rt.catalogue)
            for name in bundles:
                result.catalogue[name] = (
                    catalogue_figures(clips[name], scorers[name]) if clips[name] else None
                )
                result.out_of_source[name] = (
                    out_of_source_figures(clips[name], sound_names, scorers[name]) if clips[name] else None
                )
    except (BundleError, DatasetError, CorpusError) as err:
        fail(str(err))
    folder = out or rt.settings.data_dir / "eval" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    pictures = {t.name: task_figures(t, folder / "figures") for t in result.tasks} if figures else {}
    command = "audiotag eval " + " ".join(
        [f"--bundle {shlex.quote(p.name)}" for p in bundle]  # names only: no path of this machine
        + [f"--task {shlex.quote(n)}" for n in task]
        + ([f"--repeats {repeats}"] if repeats != 10 else [])
    )
    report = write_report(result, bundles, folder, pictures, abouts, command.strip(), repeats)
    _print_summary(result)
    console.print(f"report: {report}")


def _unique_names(tasks: list[Task]) -> None:
    """Two tasks from folders of the same name get `-2`, `-3`: reports and figures are per name."""
    seen: dict[str, int] = {}
    for t in tasks:
        seen[t.name] = seen.get(t.name, 0) + 1
        if seen[t.name] > 1:
            t.name = f"{t.name}-{seen[t.name]}"


def _print_summary(result: EvalResult) -> None:
    from trainer.eval.report import classification_table, out_of_source_tables

    if result.tasks:
        _print_markdown_table("downstream accuracy, % (mean ± std)", classification_table(result))
    if any(result.out_of_source.values()):
        lines = out_of_source_tables(result)
        _print_markdown_table("out of source", [line for line in lines if line.startswith("|")])


def _print_markdown_table(title: str, lines: list[str]) -> None:
    """A markdown table (header, rule, rows) as a rich table."""
    table = Table(title=title)
    for cell in lines[0].strip("|").split("|"):
        table.add_column(cell.strip())
    for line in lines[2:]:
        table.add_row(*[c.strip() for c in line.strip("|").split("|")])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
