"""Shared output of the benchmarks: a rich table on screen, a section of docs/benchmarks.md on disk."""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.floors import cpu_extensions, cpu_info

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nMeasured figures, each section written by the benchmark named in it.\n"


def machine() -> str:
    """CPU model (with its family and model numbers: a virtual CPU is often named only "AMD EPYC"),
    its vector extensions, cores and the torch build, in one line."""
    info = cpu_info()
    cpu, numbers = info.get("model name") or platform.processor() or platform.machine(), ""
    if "cpu family" in info and "model" in info:
        numbers = f"family {info['cpu family']} model {info['model']}: "
    import torch

    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    extensions = ", ".join(cpu_extensions()) or "no vector extension reported"
    return (
        f"{cpu} ({numbers}{extensions}), {os.cpu_count()} cores{gpu}; "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def show(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """The table on screen, under the machine it was measured on."""
    table = Table(title=title, caption=machine())
    for c in columns:
        table.add_column(c, justify="right" if c != columns[0] else "left")
    for r in rows:
        table.add_row(*r)
    Console().print(table)


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md, stamped with machine and command."""
    args = sys.argv[1:]
    command = "python -m " + " ".join(
        [_module(), *(_portable(arg, args[i - 1] if i else "") for i, arg in enumerate(args))]
    )
    section = (
        f"<!-- {name} -->\n## {name}\n\n"
        f"Machine: {machine()}. Date: {date.today().isoformat()}.\n"
        f"Command: `{command}`\n\n{body.strip()}\n<!-- /{name} -->"
    )
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text.rstrip() + "\n")


def _portable(arg: str, flag: str = "") -> str:
    """An argument as a reader can retype it, with no path of this machine: the data dir (given or
    from the environment) as $AUDIOTAG_DATA_DIR, any other absolute path as <path>."""
    data_dir = arg if flag == "--data-dir" else os.environ.get("AUDIOTAG_DATA_DIR")
    if data_dir and arg.rstrip("/") == data_dir.rstrip("/"):
        return "$AUDIOTAG_DATA_DIR"
    if data_dir and arg.startswith(data_dir.rstrip("/") + "/"):
        return "$AUDIOTAG_DATA_DIR/" + arg[len(data_dir.rstrip("/")) + 1 :]
    if arg.startswith("/"):
        return "<path>"
    return shlex.quote(arg)


def _module() -> str:
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    return spec.name if spec else Path(sys.argv[0]).stem
