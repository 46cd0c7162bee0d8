"""One pass over an audio file: hash, decode, check, log-mel. Runs in worker processes."""

from __future__ import annotations

import hashlib
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

from model.audio import AudioError, AudioInfo, AudioLimits, decode, resample
from model.features import FeatureConfig, log_mel


@dataclass
class Analysis:
    path: str
    content_hash: str | None = None
    file_bytes: int = 0
    info: AudioInfo | None = None
    logmel: np.ndarray | None = None  # (n_mels, T) float32
    error: str | None = None  # why the file was rejected
    error_code: str | None = None


def why_not_usable(result: Analysis, expected_hash: str) -> str | None:
    """Why a catalogue sound's analysis cannot fill the feature cache, or None when it can."""
    if result.error:
        return result.error
    if result.content_hash != expected_hash:
        return "the file changed since it was ingested: ingest it again"
    return None


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def analyse_file(path: str, limits: AudioLimits, cfg: FeatureConfig) -> Analysis:
    """Never raises for bad audio: the reason lands in `error`."""
    p = Path(path)
    result = Analysis(path=path)
    try:
        result.file_bytes = p.stat().st_size
        result.content_hash = file_hash(p)
        mono, result.info = decode(p, limits)
        result.logmel = log_mel(resample(mono, result.info.sample_rate, cfg.sample_rate), cfg)
    except AudioError as err:
        result.error, result.error_code = str(err), err.code
    except OSError as err:
        result.error, result.error_code = f"cannot read the file: {err.strerror or err}", "unreadable"
    return result


def init_worker() -> None:
    """Worker processes run one BLAS thread each: the pool provides the parallelism.

    libmpg123 prints a line to stderr for every damaged MP3 frame it skips; the reasons that
    matter come back as `Analysis.error`, so the workers' C-level stderr is silenced.
    """
    threadpool_limits(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


CHUNK = 4  # files per task sent to a worker process
AHEAD_PER_WORKER = 16  # tasks in flight per worker: how far decoding runs ahead of the consumer


def analyse_chunk(paths: list[str], limits: AudioLimits, cfg: FeatureConfig) -> list[Analysis]:
    return [analyse_file(p, limits, cfg) for p in paths]


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Spawned workers started in this block do not import the parent's main module.

    A spawned process imports its parent's `__main__` first: for `audiotag` that is the whole
    application (torch, FAISS, FastAPI; 4 s of a core), where a decoding worker needs only this
    module (numpy, soundfile, soxr: 0.3 s). A main module with neither a spec nor a file is skipped.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def analyse_many(
    paths: list[str], limits: AudioLimits, cfg: FeatureConfig, workers: int
) -> Iterator[Analysis]:
    """Analyse files in order, in `workers` processes (in this one for a single worker or a few
    files). The processes work ahead of the consumer by at most `AHEAD_PER_WORKER` tasks each, so a
    consumer that does its own work on each result (the indexer embeds) overlaps with the decoding
    and memory stays bounded however many files there are."""
    if workers <= 1 or len(paths) < 8:
        yield from (analyse_file(p, limits, cfg) for p in paths)
        return
    chunks = iter([paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)])
    fn = partial(analyse_chunk, limits=limits, cfg=cfg)
    # spawn: forked children of a process that already ran torch threads can deadlock
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=init_worker) as pool:
        with _main_module_hidden():  # the workers start on the first submits
            pending = deque(pool.submit(fn, c) for c in islice(chunks, AHEAD_PER_WORKER * workers))
        while pending:
            done = pending.popleft().result()
            following = next(chunks, None)
            if following is not None:
                pending.append(pool.submit(fn, following))
            yield from done
