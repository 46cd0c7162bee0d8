"""The `audiotag` command in real subprocesses: summaries, settings, and clean errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import make_corpus, run_cli, table_value, write_jsonl


def _assert_clean_failure(proc) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_ingest_then_stats(tmp_path: Path, data_dir: Path) -> None:
    meta = write_jsonl(tmp_path / "m.jsonl", make_corpus(tmp_path / "audio", n=3))
    (tmp_path / "audio" / "junk.wav").write_text("junk")
    with open(meta, "a") as f:
        f.write('{"id": "junk", "name": "junk", "file": "junk.wav"}\n')
    proc = run_cli("ingest", str(tmp_path / "audio"), "--metadata", str(meta))
    assert proc.returncode == 0, proc.stderr
    assert table_value(proc.stdout, "added") == "3" and table_value(proc.stdout, "rejected") == "1"
    assert "rejected junk: not_audio" in proc.stdout
    assert (data_dir / "catalogue.db").exists()
    again = run_cli("ingest", str(tmp_path / "audio"), "--metadata", str(meta))
    assert "unchanged" in again.stdout
    stats = run_cli("stats")
    assert stats.returncode == 0
    assert table_value(stats.stdout, "sounds") == "3"
    assert table_value(stats.stdout, "rejected files") == "1"


def test_data_dir_flag_overrides_environment(tmp_path: Path, data_dir: Path) -> None:
    meta = write_jsonl(tmp_path / "m.jsonl", make_corpus(tmp_path / "audio", n=1))
    other = tmp_path / "other"
    proc = run_cli("--data-dir", str(other), "ingest", str(tmp_path / "audio"), "-m", str(meta))
    assert proc.returncode == 0, proc.stderr
    assert (other / "catalogue.db").exists() and not data_dir.exists()


def test_bad_arguments_fail_cleanly(tmp_path: Path, data_dir: Path) -> None:
    _assert_clean_failure(run_cli("ingest", str(tmp_path / "nowhere"), "-m", str(tmp_path / "m.jsonl")))
    (tmp_path / "audio").mkdir()
    proc = run_cli("ingest", str(tmp_path / "audio"), "-m", str(tmp_path / "m.jsonl"))
    _assert_clean_failure(proc)
    assert "metadata file not found" in proc.stdout + proc.stderr
    (tmp_path / "m.xml").write_text("<x/>")
    proc = run_cli("ingest", str(tmp_path / "audio"), "-m", str(tmp_path / "m.xml"))
    _assert_clean_failure(proc)
    assert "unknown metadata format" in proc.stdout + proc.stderr
    proc = run_cli("corpus", "build", "--preset", "nonsense")
    _assert_clean_failure(proc)
    assert "unknown preset" in proc.stdout + proc.stderr
    proc = run_cli("corpus", "build", "--packages", "scratch")
    _assert_clean_failure(proc)
    assert "reserved" in proc.stdout + proc.stderr


def test_bad_settings_fail_cleanly(tmp_path: Path, data_dir: Path) -> None:
    proc = run_cli("stats", env={"AUDIOTAG_WORKERS": "many"})
    _assert_clean_failure(proc)
    assert "workers" in proc.stdout + proc.stderr


def test_help_lists_every_step() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("ingest", "features", "stats", "corpus"):
        assert command in proc.stdout


def test_serve_runs_one_app_or_several_worker_processes(monkeypatch, tmp_path: Path) -> None:
    import uvicorn

    from app import cli_serve, processes
    from app.settings import Settings

    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.setattr(
        processes, "run_processes", lambda config: calls.append(((config.app,), vars(config)))
    )
    monkeypatch.setenv("AUDIOTAG_DATA_DIR", "restored after the test")  # serve() writes it
    settings = Settings(data_dir=tmp_path / "d", port=8123)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # one core: one process by default
    cli_serve.serve(settings)  # what `audiotag demo` calls at its end
    (app,), kw = calls[-1]
    assert app.title == "audiotag" and kw["port"] == 8123 and "workers" not in kw
    assert kw["access_log"] is False  # /metrics counts requests; a log line each costs a seventh
    cli_serve.serve(settings, workers=3)
    (target,), kw = calls[-1]
    assert target == "app.api.main:create_app" and kw["factory"] and kw["workers"] == 3
    assert kw["access_log"] is False
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    cli_serve.serve(settings)
    assert calls[-1][1]["workers"] == cli_serve.MAX_DEFAULT_WORKERS  # one per core, at most 4
    assert os.environ["AUDIOTAG_DATA_DIR"] == str(tmp_path / "d")  # the processes get the settings


def test_server_processes_each_listen_on_their_own_socket_of_one_port() -> None:
    import socket

    from app.processes import PortInUseError, check_port_free, own_socket

    first = own_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = own_socket("127.0.0.1", port)  # SO_REUSEPORT: the kernel spreads connections over both
    try:
        first.listen()
        second.listen()
        with pytest.raises(PortInUseError, match=f"cannot listen on 127.0.0.1:{port}"):
            check_port_free("127.0.0.1", port)  # a second `audiotag serve` there is refused
    finally:
        first.close()
        second.close()
    check_port_free("127.0.0.1", port)
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        with pytest.raises(PortInUseError):
            check_port_free("127.0.0.1", plain.getsockname()[1])
