"""The plan stage of a build: where sounds and their features come from, and every live sound a
build indexes (index/catalogue/queries.py holds the query), in id order, before anything is decoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from index.catalogue.db import Catalogue
from index.catalogue.queries import live_sound_files
from model.audio import AudioLimits
from model.cache import FeatureCache

Report = Callable[[float, str], None]  # (progress 0..1, message)


def quiet(progress: float, message: str) -> None:
    pass


@dataclass
class Corpus:
    """Where sounds and their features come from."""

    catalogue: Catalogue
    cache: FeatureCache
    limits: AudioLimits = field(default_factory=AudioLimits)
    workers: int = 1


@dataclass
class Plan:
    """Every live sound a build indexes, in id order, before anything is decoded."""

    ids: np.ndarray  # (N,) int64, ascending
    hashes: list[str]
    paths: list[str]
    uids: list[str]
    durations: np.ndarray  # (N,) seconds


def live_plan(catalogue: Catalogue) -> Plan:
    rows = live_sound_files(catalogue)
    return Plan(
        np.array([r.id for r in rows], np.int64),
        [r.content_hash for r in rows],
        [r.file_path for r in rows],
        [r.uid for r in rows],
        np.array([r.duration for r in rows], np.float64),
    )
