"""Fill the feature cache for catalogue sounds that are not in it yet."""

from __future__ import annotations

from sqlalchemy import select
from tqdm import tqdm

from index.catalogue.db import Catalogue
from index.catalogue.models import Sound
from model.analysis import analyse_many, why_not_usable
from model.audio import AudioLimits
from model.cache import FeatureCache


def build_features(
    catalogue: Catalogue, cache: FeatureCache, limits: AudioLimits, workers: int = 1, progress: bool = True
) -> tuple[int, list[tuple[str, str]]]:
    """Decode what the cache lacks, in parallel. Returns (computed, [(uid, reason) of failures])."""
    with catalogue.session() as s:
        rows = s.execute(
            select(Sound.uid, Sound.file_path, Sound.content_hash).where(Sound.deleted_at.is_(None))
        ).all()
    todo = [r for r in rows if r.content_hash not in cache]
    failed: list[tuple[str, str]] = []
    done = 0
    results = analyse_many([r.file_path for r in todo], limits, cache.config, workers)
    for row, res in tqdm(
        zip(todo, results, strict=True), total=len(todo), desc="features", disable=not progress
    ):
        reason = why_not_usable(res, row.content_hash)
        if reason:
            failed.append((row.uid, reason))
        else:
            cache.add(row.content_hash, res.logmel)
            done += 1
    cache.flush()
    return done, failed
