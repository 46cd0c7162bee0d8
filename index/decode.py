"""The decode stage of a build: catalogue files → log-mel features, one implementation.

`decode_missing` decodes, in order, the first file of each content the caller does not have yet,
and says for each why it cannot be used when it cannot (it does not decode, or it changed since it
was ingested). The feature cache fill (`fill_cache`), the single-machine build's shards
(index/indexer.py) and a Ray task's shard (index/ray_build.py) all decode through it.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from index.catalogue.queries import SoundFile
from model.analysis import analyse_many, why_not_usable
from model.audio import AudioLimits
from model.cache import FeatureCache
from model.features import FeatureConfig


@dataclass(frozen=True)
class Decoded:
    content_hash: str
    logmel: np.ndarray | None  # (n_mels, T) float32; None when it cannot be used
    reason: str | None = None  # why not


def decode_missing(
    hashes: Sequence[str],
    paths: Sequence[str],
    have: Container[str],
    limits: AudioLimits,
    features: FeatureConfig,
    workers: int = 1,
) -> Iterator[Decoded]:
    """Decode the first file of each content hash not in `have`, in the order given, lazily: with
    several `workers` processes decode ahead of the consumer (model.analysis.analyse_many), so what
    the consumer does with each overlaps the decoding."""
    scheduled: dict[str, str] = {}
    for h, path in zip(hashes, paths, strict=True):
        if h not in have and h not in scheduled:
            scheduled[h] = path
    results = analyse_many(list(scheduled.values()), limits, features, workers)
    for h, result in zip(scheduled, results, strict=True):
        reason = why_not_usable(result, h)
        yield Decoded(h, None if reason else result.logmel, reason)


def fill_cache(
    files: list[SoundFile], cache: FeatureCache, limits: AudioLimits, workers: int = 1, progress: bool = True
) -> tuple[int, list[tuple[str, str]]]:
    """Decode the files whose features the cache lacks into it. (computed, [(uid, reason) of the
    sounds left out])."""
    hashes, paths = [f.content_hash for f in files], [f.file_path for f in files]
    decoded = decode_missing(hashes, paths, cache, limits, cache.config, workers)
    todo = len({f.content_hash for f in files if f.content_hash not in cache})
    why: dict[str, str] = {}
    done = 0
    for d in tqdm(decoded, total=todo, desc="features", disable=not progress):
        if d.reason:
            why[d.content_hash] = d.reason
        else:
            cache.add(d.content_hash, d.logmel)
            done += 1
    cache.flush()
    return done, [(f.uid, why[f.content_hash]) for f in files if f.content_hash in why]
