"""The CLI starts at once: commands that need no model import none of its heavy libraries, and a
failure nobody foresaw is one red line with its traceback in a log file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

HEAVY = ("torch", "faiss", "gensim", "matplotlib")

# Runs one command in-process, then names the heavy modules it left loaded.
PROBE = """
import json, sys
from app.cli import app
try:
    app(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
""" % (HEAVY,)  # noqa: UP031 (the probe is source text)


def loaded_by(args: list[str], data_dir: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["stats"],
        ["jobs", "list"],
        ["index", "list"],
        *[[name, "--help"] for name in ("demo", "train", "eval", "serve", "search", "ingest", "worker")],
        ["index", "build", "--help"],
        ["corpus", "build", "--help"],
    ],
    ids=" ".join,
)
def test_light_commands_import_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    result = loaded_by(args, tmp_path / "data")
    assert result["code"] in (0, None), result
    assert result["loaded"] == [], f"audiotag {' '.join(args)} imported {result['loaded']}"


def test_unexpected_failure_is_one_line_and_a_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalogue.db").write_bytes(b"this is not an SQLite database, whatever its name says" * 40)
    proc = run_cli("--data-dir", str(data), "jobs", "list")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: audiotag jobs list failed unexpectedly: DatabaseError:")
    logs = list((data / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "jobs list" in text.splitlines()[0]

    shown = run_cli("--data-dir", str(data), "--debug", "jobs", "list")
    assert shown.returncode != 0 and "Traceback (most recent call last)" in shown.stderr
    by_env = run_cli("--data-dir", str(data), "stats", env={"AUDIOTAG_DEBUG": "1"})
    assert "Traceback (most recent call last)" in by_env.stderr


def test_step_functions_have_real_defaults() -> None:
    """The demo calls these directly: a typer option object as a default would leak into a job's
    parameters (as `ray` once did into every fresh demo's index build)."""
    import inspect

    from app.cli_corpus import build_corpus
    from app.cli_data import print_stats
    from app.cli_demo import run_demo
    from app.cli_index import build_index, update_index
    from app.cli_serve import serve

    for step in (build_corpus, print_stats, build_index, update_index, serve, run_demo):
        for p in inspect.signature(step).parameters.values():
            assert p.default is inspect.Parameter.empty or type(p.default).__module__.split(".")[0] != "typer"
