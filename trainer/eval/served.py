"""The shell the catalogue evaluations share (trainer.eval.hybrid, trainer.eval.relevance): a data
dir with a published index in, markdown tables out (printed, and written with --out)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from index import versions

if TYPE_CHECKING:
    from app.runtime import Runtime
    from index.search import SearchIndex


def arguments(doc: str) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """`--data-dir` and `--out`, described by the module's docstring's first line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="A data dir with a published index.")
    parser.add_argument("--out", type=Path, help="Write the tables here (markdown) too.")
    return parser, parser.parse_args()


def served_index(data_dir: Path) -> tuple[Runtime, SearchIndex]:
    """(the data dir's Runtime, its served SearchIndex)."""
    from app.runtime import Runtime
    from app.settings import Settings

    rt = Runtime(Settings(data_dir=data_dir))
    return rt, rt.search_index(versions.current_dir(rt.settings.indices_dir))


def emit(text: str, out: Path | None) -> None:
    print(text)
    if out:
        out.write_text(text)
