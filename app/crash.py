"""What a command shows when it fails in a way nobody foresaw: one red line, the traceback in a file.

A foreseen failure is `fail()`'s one line (app/console.py). Anything else escapes the command: its
traceback goes to a log file in DATA_DIR/logs, and the user sees what failed and where that file is.
`--debug` (or AUDIOTAG_DEBUG=1) lets the traceback through instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.markup import escape

from app.console import errors
from model.files import write_text_atomic

EXIT_STATUS = 2


@dataclass
class CrashPolicy:
    """Where a command's unexpected failure is logged, and whether it is shown whole instead."""

    log_dir: Path | None = None  # set once the settings are read; the temp folder before that
    debug: bool = False
    command: str = ""  # "index build": what the user ran, without its options


policy = CrashPolicy()


def write_crash_log(err: BaseException, argv: list[str], log_dir: Path | None) -> Path:
    """The traceback of `err` and the command line in a new file of `log_dir` (the temp folder where
    that cannot be written)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    text = f"audiotag {' '.join(argv)}\n{datetime.now(UTC).isoformat()}\n\n" + "".join(
        traceback.format_exception(err)
    )
    for folder in (log_dir, Path(tempfile.gettempdir())):
        if folder is None:
            continue
        path = Path(folder) / f"crash-{stamp}-{os.getpid()}.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
            return path
        except OSError:
            continue
    raise err


def report_crash(err: BaseException, argv: list[str] | None = None) -> int:
    """Log `err`, print one red line naming the failure and the log, and return the exit status."""
    from model.audio import first_line

    argv = sys.argv[1:] if argv is None else argv
    path = write_crash_log(err, argv, policy.log_dir)
    what, reason = f"audiotag {policy.command}".strip(), first_line(err)
    if reason != type(err).__name__:
        reason = f"{type(err).__name__}: {reason}"
    errors.print(
        f"[red]error:[/red] {escape(what)} failed unexpectedly: {escape(reason)} "
        f"(the traceback is in {escape(str(path))}; --debug shows it here)",
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_STATUS
