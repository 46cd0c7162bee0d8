"""Fill the feature cache for catalogue sounds that are not in it yet (`audiotag features`)."""

from __future__ import annotations

from index.catalogue.db import Catalogue
from index.catalogue.queries import live_sound_files
from index.decode import fill_cache
from model.audio import AudioLimits
from model.cache import FeatureCache


def build_features(
    catalogue: Catalogue, cache: FeatureCache, limits: AudioLimits, workers: int = 1, progress: bool = True
) -> tuple[int, list[tuple[str, str]]]:
    """Decode what the cache lacks, in parallel. Returns (computed, [(uid, reason) of failures])."""
    return fill_cache(live_sound_files(catalogue), cache, limits, workers, progress)
