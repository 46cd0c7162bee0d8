"""The service under load, against its floors measured in the same run: latency, throughput, hot swap.

    python -m bench.serve --data-dir DIR [--sounds 100000] [--seconds 10] [--workers N]

Starts `audiotag serve` on a scratch copy of DIR (a data dir with a trained bundle: `audiotag demo`)
whose catalogue is padded with synthetic sounds up to `--sounds`, indexed with synthetic clustered
vectors (real FAISS, real SQLite, the `auto` index types), and a bare FastAPI endpoint in the same
venv as the floor of this machine's HTTP stack. Load comes from `wrk -t1` (one thread of C, Debian's
`wrk`), never from Python on the server's cores: 1 connection (client latency, and the service's own
time from its Server-Timing header) and 32 connections (requests/s, p99) for the bare route,
/api/v1/health (the middleware's cost), /api/v1/search and POST /api/v1/tags with a 10 s clip. The
floor of /tags is the same clip's decode, log-mel and encoder run alone in this process, under the
server's thread settings (one BLAS thread: `app.api.main.serving_policy`). Last, the
hot swap: 32 connections of /search while a new index version is built and published; every worker
must swap to it and no request may fail.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, insert, select

from app.api.main import serving_policy
from app.api.uploads import decode_upload
from app.cli_serve import default_workers
from bench.index import clustered
from bench.ports import free_port
from bench.report import markdown_table, show, write_section
from bench.signals import tone, write_audio
from bench.wrk import wrk_load
from index import hubness, tag_votes, text_index, vector_index, versions
from index.catalogue.db import Catalogue
from index.catalogue.models import Sound
from index.catalogue.queries import live_metadata
from index.centres import Centres
from index.indexer import SPACES
from index.scoring import single_word_tags
from index.search import HYBRID_SOUNDS
from model.audio import AudioLimits
from model.bundle import Bundle
from model.bundles import default_bundle

NOTE = (
    "\n\n{sounds:,} sounds in the catalogue (the demo corpus padded with synthetic rows) and in the index "
    "(synthetic clustered vectors, `auto` types: HNSW32 for φ_a, IVF-SQ8 for z_a), served by `audiotag "
    "serve --workers {workers}`. Load: `wrk -t1` over loopback. p50/p99 are client latencies; server "
    "p50 is the service's own time (Server-Timing: routing, decoding, inference, FAISS), at 1 connection. "
    "/search draws each request's query from {queries:,} distinct three-word queries of the model's "
    "vocabulary tags (mode=hybrid, the default: the text index's first {words} matches and the first "
    "{sounds_fused} sounds by sound fused), so the query cache answers few of them. The floors are "
    "measured in the same run: the bare FastAPI route "
    "(same venv, one process) and, for /tags, the clip's decode + log-mel + encoder alone in the "
    "benchmark's process."
)

N_QUERIES = 50_000


def distinct_queries(bundle: Bundle, n: int = N_QUERIES, seed: int = 0) -> list[str]:
    """n distinct three-word queries drawn from the model's single-word vocabulary tags."""
    words = single_word_tags(bundle)
    rng = np.random.default_rng(seed)
    out: set[str] = set()
    while len(out) < n:
        out.add(" ".join(words[i] for i in rng.choice(len(words), 3, replace=False)))
    return sorted(out)


BARE_APP = """\
from fastapi import FastAPI
app = FastAPI()
@app.get('/ping')
async def ping():
    return {'ok': True}
"""
GOAL_SEARCH_OVER_BARE_MS = 1.5
GOAL_SEARCH_RPS_RATIO = 0.25
GOAL_SEARCH_P99_MS = 25.0
GOAL_TAGS_RATIO = 1.3
GOAL_MIDDLEWARE_MS = 0.2


def pad_catalogue(data: Path, n: int) -> None:
    """Add synthetic sounds (one real audio file behind all) until the catalogue has n."""
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    with cat.session() as s, s.begin():
        have = s.scalar(select(func.count(Sound.id)))
        template = s.scalars(select(Sound).limit(1)).one()
        rows = [
            dict(
                uid=f"synthetic:{i}",
                name=f"synthetic {i}",
                license="CC0",
                duration=1.0 + i % 20,
                sample_rate=22050,
                channels=1,
                file_path=template.file_path,
                file_format=template.file_format,
                file_bytes=1,
                content_hash=f"synthetic{i:058d}",
            )
            for i in range(max(0, n - have))
        ]
        for k in range(0, len(rows), 20000):
            s.execute(insert(Sound), rows[k : k + 20000])
    cat.close()


def synthetic_index(data: Path, bundle: Bundle, seed: int = 1, publish: bool = True) -> str:
    """Write (and publish) an index of every catalogue sound with clustered synthetic vectors; its version."""
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    with cat.session() as s:
        ids = np.array(s.scalars(select(Sound.id).order_by(Sound.id)).all(), np.int64)
    root = data / "indices"
    version = versions.new_version_id()
    phi = clustered(len(ids), bundle.config.word_dim, seed)
    z = clustered(len(ids), bundle.config.latent_dim, seed + 1)
    factories = {space: vector_index.resolve_factory("auto", len(ids), space) for space in SPACES}
    with versions.staging(root, version) as staging:
        searchable = hubness.searchable(phi, np.zeros(len(ids), np.float32))  # as served: one more dimension
        similar = vector_index.build(z, ids, factories["similar"])
        vector_index.write(vector_index.build(searchable, ids, factories["audio"]), staging / versions.AUDIO)
        vector_index.write(similar, staging / versions.SIMILAR)
        meta = live_metadata(cat, ids.tolist())
        covariance = tag_votes.searched_covariance(searchable)
        tag_votes.index_votes(similar, ids, z, meta, single_word_tags(bundle), covariance).save(staging)
        centres = Centres(
            np.zeros(phi.shape[1], np.float32),
            np.zeros(phi.shape[1], np.float32),
            np.zeros(z.shape[1], np.float32),
        )
        n_tags = len(single_word_tags(bundle))
        centres.save(staging)
        text_index.write(staging, text_index.text_rows(meta.values()))
        np.save(staging / versions.IDS, ids)
    cat.close()
    manifest = {
        "bundle_version": bundle.version,
        "factory": factories,
        "built_at": version,
        "counts": {"sounds": len(ids), "tags": n_tags},
        "synthetic": True,
        "hubness": hubness.MANIFEST,
        "votes": tag_votes.MANIFEST,
    }
    versions.commit_version(root, staging, version, manifest)
    if publish:
        versions.publish(root, version)
    return version


def start(cmd: list[str], env: dict, url: str, log: Path) -> subprocess.Popen:
    """Start a server (its output to `log`) and wait until `url` answers 200."""
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server at {url} did not start:\n{log.read_text()[-2000:]}")


def tags_floor(bundle: Bundle, clip: bytes, runs: int = 20) -> float:
    """p50 ms of the clip's decode + log-mel + encoder alone, the work /tags cannot avoid."""

    def once() -> None:
        wave, sr = decode_upload(clip, AudioLimits())
        bundle.embed_logmels([bundle.logmel(wave, sr)])

    once()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def ready_versions(ready_url: str) -> tuple[int, str | None]:
    """(the answering worker's pid, its served index version), over a fresh connection."""
    r = httpx.get(ready_url, timeout=30, headers={"Connection": "close"})
    body = r.json()
    return body.get("worker"), body.get("index_version")


def hot_swap(
    data: Path,
    bundle: Bundle,
    urls: dict[str, str],
    workers: int,
    seconds: float,
    tmp: Path,
    queries: list[str],
) -> dict:
    """32 connections of /search for `seconds` while a new index version (built before) is published,
    as a reindex job does: failed requests, and how long after the publish every worker answered
    /ready with it (each worker's pid is in /ready; fresh connections reach them all)."""
    new = synthetic_index(data, bundle, seed=7, publish=False)
    load: dict = {}
    search = urls["search"]
    runner = threading.Thread(
        target=lambda: load.update(wrk_load(search, "search", 32, seconds, tmp, queries=queries))
    )
    runner.start()
    time.sleep(min(2.0, seconds / 4))
    versions.publish(data / "indices", new)
    published = time.monotonic()
    latest: dict[int, str | None] = {}
    while time.monotonic() < published + seconds + 60:
        pid, version = ready_versions(urls["ready"])
        latest[pid] = version
        if len(latest) >= workers and all(v == new for v in latest.values()):
            break
        time.sleep(0.05)
    swapped_after = time.monotonic() - published
    during_load = runner.is_alive()
    runner.join()
    return {
        **load,
        "swapped": sum(v == new for v in latest.values()),
        "swapped_after_s": swapped_after,
        "during_load": during_load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("AUDIOTAG_DATA_DIR", "")))
    parser.add_argument("--sounds", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="server processes (default: serve's)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench.serve needs wrk, a load generator in C (Debian: apt-get install wrk)")
    bundle_dir = default_bundle(args.data_dir / "bundles")  # the newest trained one, else the shipped one
    if bundle_dir is None or not (args.data_dir / "catalogue.db").is_file():
        raise SystemExit(f"{args.data_dir} has no catalogue: run `audiotag demo` first")
    bundle = Bundle(bundle_dir, "cpu")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        data = tmp / "data"
        data.mkdir()
        shutil.copy2(args.data_dir / "catalogue.db", data / "catalogue.db")
        shutil.copytree(bundle_dir, data / "bundles" / bundle_dir.name)
        pad_catalogue(data, args.sounds)
        synthetic_index(data, bundle)
        clip_path = write_audio(tmp / "clip.wav", tone(330.0, 10.0), 22050)
        serving_policy()  # the floor with the server's threads and memory (app/api/main.py)
        floor_tags = tags_floor(bundle, clip_path.read_bytes())
        port, bare_port = free_port(), free_port()
        env = {**os.environ, "AUDIOTAG_DATA_DIR": str(data), "AUDIOTAG_RATE_LIMIT_PER_MINUTE": "0"}
        cmd = [str(Path(sys.executable).parent / "audiotag"), "serve", "--port", str(port)]
        cmd += ["--workers", str(args.workers)] if args.workers else []
        api = start(cmd, env, f"http://127.0.0.1:{port}/api/v1/ready", tmp / "serve.log")
        (tmp / "bare_app.py").write_text(BARE_APP)
        bare_cmd = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port)]
        bare = start([*bare_cmd, "--log-level", "warning"], {**os.environ, "PYTHONPATH": folder},
                     f"http://127.0.0.1:{bare_port}/ping", tmp / "bare.log")  # fmt: skip
        base = f"http://127.0.0.1:{port}/api/v1"
        urls = {
            "ping": f"http://127.0.0.1:{bare_port}/ping",
            "health": f"{base}/health",
            "search": f"{base}/search",
            "tags": f"{base}/tags",
            "ready": f"{base}/ready",
        }
        workers = args.workers or int(os.environ.get("AUDIOTAG_SERVE_WORKERS", "0")) or default_workers()
        runs: dict[str, dict[int, dict]] = {}
        queries = distinct_queries(bundle)
        try:
            for method in ("ping", "health", "search", "tags"):
                runs[method] = {
                    c: wrk_load(urls[method], method, c, args.seconds, tmp, clip_path, queries)
                    for c in (1, 32)
                }
            swap = hot_swap(data, bundle, urls, workers, 2 * args.seconds, tmp, queries)
            if api.poll() is not None:
                raise SystemExit(f"audiotag serve stopped:\n{(tmp / 'serve.log').read_text()[-3000:]}")
        finally:
            api.terminate()
            bare.terminate()
    labels = {
        "ping": "GET /ping (bare FastAPI: the floor)",
        "health": "GET /api/v1/health",
        "search": "GET /api/v1/search",
        "tags": "POST /api/v1/tags (10 s clip)",
    }
    cols = ["endpoint", "connections", "requests", "failed", "p50 ms", "p99 ms", "server p50 ms", "req/s"]
    rows = [
        [labels[m], str(c), f"{r['n']:,}", str(r["errors"]), f"{r['p50']:.2f}", f"{r['p99']:.2f}",
         f"{r['server_p50']:.2f}" if r["server_p50"] is not None else "–", f"{r['rps']:,.0f}"]
        for m, by_c in runs.items() for c, r in by_c.items()
    ]  # fmt: skip
    rows.append(
        ["GET /api/v1/search during a hot swap", "32", f"{swap['n']:,}", str(swap["errors"]),
         f"{swap['p50']:.2f}", f"{swap['p99']:.2f}", "–", f"{swap['rps']:,.0f}"]
    )  # fmt: skip
    goals = goal_rows(runs, floor_tags, swap, workers)
    show(f"service under load, {args.sounds:,} sounds, {workers} worker(s)", cols, rows)
    goal_cols = ["figure", "measured", "floor (same run)", "against the floor", "goal", "met"]
    show("against the floors", goal_cols, goals)
    write_section(
        "Service under load",
        markdown_table(cols, rows)
        + NOTE.format(
            sounds=args.sounds,
            workers=workers,
            queries=len(queries),
            words=text_index.MAX_HITS,
            sounds_fused=HYBRID_SOUNDS,
        )
        + "\n\n"
        + markdown_table(goal_cols, goals),
    )


def goal_rows(runs: dict, floor_tags: float, swap: dict, workers: int) -> list[list[str]]:
    """Each of the issue's figures beside its same-run floor."""
    bare1, bare32 = runs["ping"][1], runs["ping"][32]
    search1, search32 = runs["search"][1], runs["search"][32]
    tags_p50 = runs["tags"][1]["server_p50"] or runs["tags"][1]["p50"]
    over = search1["p50"] - bare1["p50"]
    middleware = runs["health"][1]["p50"] - bare1["p50"]
    ratio = search32["rps"] / bare32["rps"]
    yes = {True: "yes", False: "**no**"}
    return [
        ["/search p50, 1 connection", f"{search1['p50']:.2f} ms", f"bare route {bare1['p50']:.2f} ms",
         f"{over:+.2f} ms", f"≤ +{GOAL_SEARCH_OVER_BARE_MS} ms", yes[over <= GOAL_SEARCH_OVER_BARE_MS]],
        ["/search, 32 connections", f"{search32['rps']:,.0f} req/s, p99 {search32['p99']:.1f} ms",
         f"bare route {bare32['rps']:,.0f} req/s", f"{ratio:.3f}×",
         f"≥ {GOAL_SEARCH_RPS_RATIO}×, p99 ≤ {GOAL_SEARCH_P99_MS:.0f} ms",
         yes[ratio >= GOAL_SEARCH_RPS_RATIO and search32["p99"] <= GOAL_SEARCH_P99_MS]],
        ["/tags server p50, 10 s clip", f"{tags_p50:.1f} ms",
         f"decode + log-mel + encoder {floor_tags:.1f} ms", f"{tags_p50 / floor_tags:.2f}×",
         f"≤ {GOAL_TAGS_RATIO}×", yes[tags_p50 <= GOAL_TAGS_RATIO * floor_tags]],
        ["middleware: /health p50 over the bare route", f"{runs['health'][1]['p50']:.2f} ms",
         f"bare route {bare1['p50']:.2f} ms", f"{middleware:+.2f} ms", f"< {GOAL_MIDDLEWARE_MS} ms",
         yes[middleware < GOAL_MIDDLEWARE_MS]],
        [f"hot swap under 32 connections, {workers} worker(s)",
         f"{swap['errors']} failed of {swap['n']:,}; {swap['swapped']} of {workers} workers swapped "
         f"{swap['swapped_after_s']:.1f} s after the publish"
         + ("" if swap["during_load"] else " (after the load ended)"),
         "–", "–", "0 failed, every worker",
         yes[swap["errors"] == 0 and swap["swapped"] == workers and swap["during_load"]]],
    ]  # fmt: skip


if __name__ == "__main__":
    main()
