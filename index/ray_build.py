"""The embed stage of an index build on a Ray cluster (`audiotag index build --ray auto|ADDRESS`).

One Ray **task per shard**: it decodes the shard's clips the feature cache lacks (the cached ones
travel with the task, as the float16 log-mels the cache holds), embeds them all and returns the
shard's vectors with the new features; the driver writes the shard with the same writer as the
single-machine build (`shards.write_shard`) and adds the features to its cache. So resume, publish
and the jobs table work unchanged, and a build can be resumed on one machine or the other.

Why tasks rather than actors or Ray Data: a shard is already the unit of work and of resume, and a
task that dies with its node is retried by Ray wherever a CPU is free, where a restarted actor needs
a slot of its own that a fully used cluster never frees. The model is still loaded once per Ray
worker process (`_bundle` keeps it across the tasks that process runs), not once per shard.

Every node must see the catalogue's audio files and the bundle at the paths the driver sees (a
shared file system); on GPU nodes each task takes one GPU.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.decode import decode_missing
from index.plan import Corpus, Plan, Report
from index.shards import shard_layout, write_shard
from model.audio import AudioLimits, first_line
from model.bundle import Bundle
from model.features import FeatureConfig
from model.memory import keep_freed_memory

MAX_RETRIES = 3  # Ray reruns a shard whose worker or node died this many times
PROBE_TIMEOUT_S = 5.0
IN_FLIGHT_PER_SLOT = 2  # shards queued per CPU (or GPU) slot: memory stays bounded on the driver


class RayBuildError(RuntimeError):
    """Ray is not installed, the cluster cannot be reached, or a shard failed on it."""


@dataclass
class ShardTask:
    """What one task needs: a shard's sounds, each with its cached features or its file to decode."""

    bundle: str
    device: str
    limits: AudioLimits
    features: FeatureConfig
    hashes: list[str]
    paths: list[str]
    uids: list[str]
    cached: dict[str, np.ndarray]  # content hash → (T, M) float16 log-mel, from the driver's cache


@dataclass
class ShardResult:
    keep: list[int]  # positions in the shard of the sounds embedded, in order
    z: np.ndarray  # (n, V) L2-normalised
    phi: np.ndarray  # (n, F) L2-normalised
    decoded: dict[str, np.ndarray]  # content hash → (T, M) float16 log-mel, for the driver's cache
    left_out: list[tuple[str, str]]  # (uid, why)


_BUNDLES: dict[tuple[str, str], Bundle] = {}  # per Ray worker process: loaded once, kept across tasks


def _bundle(path: str, device: str) -> Bundle:
    if (path, device) not in _BUNDLES:
        keep_freed_memory()  # a Ray worker process is batch work, as `audiotag index build` is
        _BUNDLES.clear()
        _BUNDLES[path, device] = Bundle(Path(path), device)
    return _BUNDLES[path, device]


def embed_shard(task: ShardTask) -> ShardResult:
    """Runs on a Ray worker. Features go through float16 as the cache stores them, so a sound's
    vectors are those the single-machine build computes from its cache."""
    features = dict(task.cached)
    decoded: dict[str, np.ndarray] = {}
    why: dict[str, str] = {}
    for d in decode_missing(task.hashes, task.paths, features, task.limits, task.features):
        if d.reason:
            why[d.content_hash] = d.reason
        else:
            features[d.content_hash] = decoded[d.content_hash] = np.ascontiguousarray(d.logmel.T, np.float16)
    keep = [i for i, h in enumerate(task.hashes) if h in features]
    bundle = _bundle(task.bundle, task.device)
    z, phi = bundle.embed_logmels([features[task.hashes[i]].T.astype(np.float32) for i in keep])
    left_out = [(u, why[h]) for u, h in zip(task.uids, task.hashes, strict=True) if h in why]
    return ShardResult(keep, z, phi, decoded, left_out)


def _check_reachable(address: str) -> None:
    """Fail at once where nothing listens at HOST:PORT: `ray.init` would wait there for many minutes."""
    host, _, port = address.rpartition(":")
    if address == "auto" or not port.isdigit():
        return  # "auto" (Ray finds the local cluster or says there is none) and ray:// URLs
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as err:
        raise RayBuildError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None


def connect(address: str):
    """The `ray` module, connected to the cluster at `address` ("auto": the one `ray start` runs here)."""
    try:
        import ray
    except ImportError:
        raise RayBuildError("Ray is not installed: pip install 'audiotag[ray]'") from None
    if not ray.is_initialized():
        _check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level="warning")
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise RayBuildError(f"cannot reach the Ray cluster at {address}: {err}") from None
    return ray


def embed_shards_on_ray(
    bundle: Bundle, corpus: Corpus, plan: Plan, work: Path, shard_size: int, report: Report, address: str
) -> tuple[list[Path], int]:
    """`indexer.embed_shards` with the decoding and embedding done by Ray tasks. (paths, reused)."""
    ray = connect(address)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    slots = gpus or max(1, int(resources.get("CPU", 1)))
    remote = ray.remote(num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0, max_retries=MAX_RETRIES)(
        embed_shard
    )
    device = "cuda" if gpus else "cpu"
    work.mkdir(parents=True, exist_ok=True)
    layout = shard_layout(plan, work, shard_size)
    todo = [k for k, (path, _) in enumerate(layout) if not path.exists()]
    reused = len(layout) - len(todo)

    def submit(k: int):
        span = layout[k][1]
        hashes = [plan.hashes[i] for i in span]
        cached = {
            h: np.ascontiguousarray(corpus.cache.get(h).T, np.float16)
            for h in set(hashes)
            if h in corpus.cache
        }
        task = ShardTask(
            str(bundle.path), device, corpus.limits, corpus.cache.config, hashes,
            [plan.paths[i] for i in span], [plan.uids[i] for i in span], cached,
        )  # fmt: skip
        return remote.remote(task)

    pending = {submit(k): k for k in todo[: IN_FLIGHT_PER_SLOT * slots]}
    queue = iter(todo[IN_FLIGHT_PER_SLOT * slots :])
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        k = pending.pop(ready[0])
        try:
            result: ShardResult = ray.get(ready[0])
        except ray.exceptions.RayError as err:
            cause = getattr(err, "cause", None) or err  # a task's own exception, not Ray's traceback
            raise RayBuildError(
                f"shard {k + 1}/{len(layout)} failed on the Ray cluster: "
                f"{type(cause).__name__}: {first_line(cause)}"
            ) from None
        for h, logmel in result.decoded.items():
            corpus.cache.add(h, logmel.T)
        corpus.cache.flush()
        path, span = layout[k]
        write_shard(path, plan.ids[span][result.keep], result.z, result.phi, result.left_out)
        done += 1
        report(
            0.05 + 0.85 * (reused + done) / len(layout),
            f"embedded shard {k + 1}/{len(layout)} on Ray ({done}/{len(todo)}, {slots} {device} slots)",
        )
        following = next(queue, None)
        if following is not None:
            pending[submit(following)] = following
    return [path for path, _ in layout], reused
