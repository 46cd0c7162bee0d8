"""The service under load, from this separate process over loopback: latency and throughput.

    python -m bench.serve --data-dir DIR [--sounds 100000] [--requests 400] [--seconds 30]

Starts `audiotag serve` on a scratch copy of DIR (a data dir with a trained bundle: `audiotag demo`)
whose catalogue is padded with synthetic sounds up to `--sounds`, indexed with synthetic clustered
vectors (real FAISS, real SQLite, the `auto` index types), and a bare FastAPI endpoint as the floor.
Then, for 1 and 32 concurrent clients: p50/p99 of client latency and of server time (the
Server-Timing header), and requests/s, for GET /search, POST /tags with a 10 s clip, GET /ping.
Each run stops after `--requests` requests or `--seconds` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf
from sqlalchemy import func, insert, select

from bench.index import clustered
from bench.report import markdown_table, show, write_section
from index import vector_index, versions
from index.catalogue.db import Catalogue
from index.catalogue.models import Sound
from index.centres import Centres
from index.indexer import SPACES
from index.scoring import single_word_tags
from model.bundle import Bundle, latest_bundle

NOTE = (
    "\n\n{sounds:,} sounds in the catalogue (the demo corpus padded with synthetic rows) and in the index "
    "(synthetic clustered vectors, `auto` types: HNSW32 for φ_a, IVF-SQ8 for z_a). One client: httpx "
    "from another process over loopback; 32 connections: `wrk -t1` (Debian's wrk: one thread of C, so "
    "the load generator takes little of the server's cores; httpx where wrk is missing). p50/p99 are "
    "client latencies, server p50/p99 the service's own time (Server-Timing header: routing, decoding, "
    "inference, FAISS). The bare FastAPI endpoint is the floor of this machine's HTTP stack. /search "
    "rotates 10 queries, so after the first round each query's φ_w comes from the service's query cache."
)
QUERIES = [
    "footsteps",
    "explosion",
    "door",
    "water splash",
    "engine",
    "bird",
    "glass",
    "metal hit",
    "drum",
    "wind",
]
BARE_APP = """\
from fastapi import FastAPI
app = FastAPI()
@app.get('/ping')
async def ping():
    return {'ok': True}
"""


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


def synthetic_index(data: Path, bundle: Bundle) -> None:
    """A published index of every catalogue sound with clustered synthetic vectors."""
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    with cat.session() as s:
        ids = np.array(s.scalars(select(Sound.id).order_by(Sound.id)).all(), np.int64)
    cat.close()
    root = data / "indices"
    version = versions.new_version_id()
    phi, z = clustered(len(ids), bundle.config.word_dim, 1), clustered(len(ids), bundle.config.latent_dim, 2)
    factories = {space: vector_index.resolve_factory("auto", len(ids), space) for space in SPACES}
    with versions.staging(root, version) as staging:
        vector_index.write(vector_index.build(phi, ids, factories["audio"]), staging / versions.AUDIO)
        vector_index.write(vector_index.build(z, ids, factories["similar"]), staging / versions.SIMILAR)
        centres = Centres(
            np.zeros(phi.shape[1], np.float32),
            np.zeros(phi.shape[1], np.float32),
            np.zeros(z.shape[1], np.float32),
        )
        n_tags = len(single_word_tags(bundle))
        centres.save(staging)
        np.save(staging / versions.IDS, ids)
    manifest = {
        "bundle_version": bundle.version,
        "factory": factories,
        "built_at": version,
        "counts": {"sounds": len(ids), "tags": n_tags},
        "synthetic": True,
    }
    versions.commit_version(root, staging, version, manifest)
    versions.publish(root, version)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict, url: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server at {url} did not start")


def ten_second_clip() -> bytes:
    t = np.arange(10 * 22050) / 22050
    wave = 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    buf = io.BytesIO()
    sf.write(buf, wave.astype(np.float32), 22050, format="WAV")
    return buf.getvalue()


async def load(url: str, method: str, clients: int, requests: int, seconds: float, clip: bytes) -> dict:
    """Client latencies, server times (ms) and requests/s of one run."""
    latencies, server, errors = [], [], 0
    stop_at = time.perf_counter() + seconds
    sent = 0

    async def worker(c: httpx.AsyncClient, k: int) -> None:
        nonlocal sent, errors
        while sent < requests and time.perf_counter() < stop_at:
            sent += 1
            t = time.perf_counter()
            if method == "tags":
                r = await c.post(url, files={"file": ("clip.wav", clip)})
            else:
                params = {"q": QUERIES[(k + sent) % len(QUERIES)]} if method == "search" else None
                r = await c.get(url, params=params)
            latencies.append(1000 * (time.perf_counter() - t))
            errors += r.status_code != 200
            timing = r.headers.get("server-timing", "")
            if "dur=" in timing:
                server.append(float(timing.split("dur=")[1]))

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as c:
        await asyncio.gather(*(worker(c, k) for k in range(clients)))
    wall = time.perf_counter() - start
    return {
        "n": len(latencies),
        "errors": errors,
        "rps": len(latencies) / wall,
        "lat": latencies,
        "server": server,
    }


WRK_SEARCH = """\
local queries = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "%s?q=" .. queries[i %% #queries + 1])
end
"""
WRK_UPLOAD = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=wrkboundary"
local f = io.open("%s", "rb")
local clip = f:read("*a")
f:close()
wrk.body = "--wrkboundary\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"clip.wav\\"\\r\\n"
  .. "Content-Type: audio/wav\\r\\n\\r\\n" .. clip .. "\\r\\n--wrkboundary--\\r\\n"
"""


def wrk_load(url: str, method: str, connections: int, seconds: float, clip_path: Path, tmp: Path) -> dict:
    """`wrk -t1` (one thread of C: the load costs the server's cores little) for `seconds`:
    latency p50/p99 (ms), requests/s and non-2xx answers."""
    script = tmp / f"{method}.lua"
    path = "/" + url.split("/", 3)[3]
    if method == "search":
        script.write_text(WRK_SEARCH % (", ".join(f'"{q.replace(" ", "+")}"' for q in QUERIES), path))
    elif method == "tags":
        script.write_text(WRK_UPLOAD % clip_path)
    else:
        script.write_text("")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script),
         url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    unit_ms = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    found = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", out, re.M)
    lat = {q: float(v) * unit_ms[u] for q, v, u in found}
    n = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "n": n,
        "errors": int(bad.group(1)) if bad else 0,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": lat.get("50"),
        "p99": lat.get("99"),
    }


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.1f}" if values else "–"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("AUDIOTAG_DATA_DIR", "")))
    parser.add_argument("--sounds", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    bundle_dir = latest_bundle(args.data_dir / "bundles")
    if bundle_dir is None or not (args.data_dir / "catalogue.db").is_file():
        raise SystemExit(f"{args.data_dir} has no catalogue and bundle: run `audiotag demo` first")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        shutil.copy2(args.data_dir / "catalogue.db", data / "catalogue.db")
        shutil.copytree(bundle_dir, data / "bundles" / bundle_dir.name)
        pad_catalogue(data, args.sounds)
        synthetic_index(data, Bundle(bundle_dir, "cpu"))
        port, bare_port = free_port(), free_port()
        env = {**os.environ, "AUDIOTAG_DATA_DIR": str(data), "AUDIOTAG_RATE_LIMIT_PER_MINUTE": "0"}
        script = Path(sys.executable).parent / "audiotag"
        api = start([str(script), "serve", "--port", str(port)], env, f"http://127.0.0.1:{port}/api/v1/ready")
        (Path(tmp) / "bare_app.py").write_text(BARE_APP)
        bare = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            {**os.environ, "PYTHONPATH": tmp},
            f"http://127.0.0.1:{bare_port}/ping",
        )
        clip = ten_second_clip()
        rows = []
        try:
            targets = [
                ("GET /search", "search", f"http://127.0.0.1:{port}/api/v1/search"),
                ("POST /tags (10 s clip)", "tags", f"http://127.0.0.1:{port}/api/v1/tags"),
                ("GET /ping (bare FastAPI)", "ping", f"http://127.0.0.1:{bare_port}/ping"),
            ]
            clip_path = Path(tmp) / "clip.wav"
            clip_path.write_bytes(clip)
            for label, method, url in targets:
                r = asyncio.run(load(url, method, 1, args.requests, args.seconds, clip))
                rows.append(
                    [label, "1", "httpx", str(r["n"]), str(r["errors"]), pct(r["lat"], 50), pct(r["lat"], 99),
                     pct(r["server"], 50), pct(r["server"], 99), f"{r['rps']:.0f}"]
                )  # fmt: skip
                if shutil.which("wrk"):
                    w = wrk_load(url, method, 32, args.seconds, clip_path, Path(tmp))
                    rows.append(
                        [label, "32", "wrk -t1", str(w["n"]), str(w["errors"]), f"{w['p50']:.1f}",
                         f"{w['p99']:.1f}", "–", "–", f"{w['rps']:.0f}"]
                    )  # fmt: skip
                else:
                    r = asyncio.run(load(url, method, 32, args.requests, args.seconds, clip))
                    rows.append(
                        [label, "32", "httpx", str(r["n"]), str(r["errors"]), pct(r["lat"], 50),
                         pct(r["lat"], 99), pct(r["server"], 50), pct(r["server"], 99), f"{r['rps']:.0f}"]
                    )  # fmt: skip
        finally:
            api.terminate()
            bare.terminate()
    cols = [
        "endpoint",
        "clients",
        "load",
        "requests",
        "errors",
        "p50 ms",
        "p99 ms",
        "server p50",
        "server p99",
        "req/s",
    ]
    show(f"service under load, {args.sounds:,} sounds", cols, rows)
    write_section(
        "Service under load",
        markdown_table(cols, rows) + NOTE.format(sounds=args.sounds),
    )


if __name__ == "__main__":
    main()
