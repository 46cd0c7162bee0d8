"""Shared fixtures: real audio files the tests make, in every supported format, and a data dir."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.ports import free_port
from bench.signals import FORMATS, tone, write_audio  # noqa: F401  (the tests' audio makers)

pytest_plugins = ["tests.api"]  # the API modules' shared `data` and `client` fixtures


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("AUDIOTAG_DATA_DIR", str(d))
    monkeypatch.delenv("AUDIOTAG_DATABASE_URL", raising=False)
    return d


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A root with 24 ingested clips (8 tag words, each on 3 clips) and their features in `data/`."""
    from index.catalogue.db import Catalogue
    from index.ingest import ingest
    from model.cache import FeatureCache

    root = tmp_path_factory.mktemp("corpus")
    records = make_corpus(root / "audio", n=24)
    cat = Catalogue(f"sqlite:///{root / 'data' / 'catalogue.db'}")
    ingest(
        cat,
        root / "audio",
        write_jsonl(root / "m.jsonl", records),
        FeatureCache(root / "data/cache/features"),
        progress=False,
    )
    cat.close()
    return root


def make_corpus(folder: Path, n: int = 6, fmt: str = "wav") -> list[dict]:
    """n distinct tonal clips with Freesound-shaped records; files named by id."""
    folder.mkdir(parents=True, exist_ok=True)
    words = ["dog bark", "glass", "bass", "footsteps", "rain", "engine", "birds", "door"]
    records = []
    for i in range(n):
        sid = 1000 + i
        write_audio(
            folder / f"{sid}.{FORMATS[fmt][0]}", tone(200 + 97 * i, 0.8 + 0.1 * i, seed=i), 22050, fmt
        )
        records.append(
            {
                "id": sid,
                "name": f"clip {i}",
                "tags": [words[i % len(words)], "field-recording"],
                "description": f"test clip {i}",
                "license": "http://creativecommons.org/publicdomain/zero/1.0/",
                "username": "tester",
                "duration": 0.8 + 0.1 * i,
                "previews": {"preview-hq-ogg": f"https://example.invalid/{sid}.ogg"},
            }
        )
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed `audiotag` command (or `python -m app`) in a real subprocess."""
    script = Path(sys.executable).parent / "audiotag"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def make_deb(
    where: Path, package: str, files: dict[str, bytes], version: str = "1.0-1", compression: str = "xz"
) -> Path:
    """A real .deb built with dpkg-deb, named as in a Debian pool (the epoch's ':' as %3a)."""
    pkg = where / f"{package}-root"
    for rel, data in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(data)
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN/control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: t <t@example.invalid>\nDescription: test package\n"
    )
    deb = where / f"{package}_{version.replace(':', '%3a')}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(pkg), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


@pytest.fixture(scope="session")
def trained_data_dir(tmp_path_factory) -> Path:
    """A data dir with 24 ingested clips and a model bundle trained on them for 2 epochs (read-only:
    tests that change it work on a copy)."""
    from index.catalogue.db import Catalogue
    from index.ingest import ingest
    from model.cache import FeatureCache
    from trainer.bundle_writer import write_training_bundle
    from trainer.config import TrainConfig
    from trainer.data import load_training_data
    from trainer.loop import train

    root = tmp_path_factory.mktemp("trained")
    data = root / "data"
    records = make_corpus(root / "audio", n=24)
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    cache = FeatureCache(data / "cache/features")
    ingest(cat, root / "audio", write_jsonl(root / "m.jsonl", records), cache, progress=False)
    cfg = TrainConfig(epochs=2, batch_size=8, word_vector_epochs=5, val_fraction=0.3)
    training = load_training_data(cat, cache, val_fraction=cfg.val_fraction)
    result = train(training, cfg, data / "runs" / cfg.variant)
    write_training_bundle(data / "bundles", cfg, result, cache.config)
    cat.close()
    return data


def indexed_copy(trained: Path, folder: Path) -> Path:
    """A copy of the trained data dir under `folder`, with a published index."""
    from index import versions
    from index.catalogue.db import Catalogue
    from index.indexer import Corpus, build_version
    from model.bundle import Bundle
    from model.bundles import latest_bundle
    from model.cache import FeatureCache

    data = Path(shutil.copytree(trained, folder / "data"))
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    corpus = Corpus(cat, FeatureCache(data / "cache/features"))
    versions.publish(data / "indices", build_version(bundle, corpus, data / "indices")[0])
    cat.close()
    return data


def server_log(data: Path, port: int) -> Path:
    """Where `running_server` writes the output of the server on `port` over `data`."""
    return data.parent / f"serve-{port}.log"


@contextmanager
def running_server(data: Path, ready_path: str = "/api/v1/ready", **env: str) -> Iterator[str]:
    """`audiotag serve` (uvicorn) on a free loopback port over `data`, with AUDIOTAG_* `env`
    overrides; yields its base URL once `ready_path` answers 200 (/health for a server that has
    no index to serve), stops it after."""
    import httpx

    port = free_port()
    script = Path(sys.executable).parent / "audiotag"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    env = {
        **os.environ,
        "AUDIOTAG_DATA_DIR": str(data),
        "AUDIOTAG_DEVICE": "cpu",
        "AUDIOTAG_RATE_LIMIT_PER_MINUTE": "0",
        "AUDIOTAG_SERVE_WORKERS": "1",  # tests of several processes say so
        **{f"AUDIOTAG_{k.upper()}": v for k, v in env.items()},
    }
    # stdout to a file, not a pipe: a pipe nobody reads fills up and blocks the server
    log_path = server_log(data, port)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*cmd, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{base}{ready_path}", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    pytest.fail("the server did not become ready")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def table_value(text: str, key: str) -> str:
    """The value beside `key` in a two-column table the CLI printed ("│ sounds │ 3 │" → "3")."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        cells = [c for c in cells if c]
        if len(cells) == 2 and cells[0] == key:
            return cells[1]
    raise AssertionError(f"no row {key!r} in:\n{text}")
