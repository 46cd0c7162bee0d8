"""Training data from the catalogue: one max-energy patch and up to 10 vocabulary tags per clip."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from index.catalogue.db import Catalogue
from index.catalogue.models import Sound
from model.cache import FeatureCache
from model.features import FeatureConfig, Scaler, best_patch
from model.tags import Vocabulary, normalise_tags


class DataError(ValueError):
    """The catalogue cannot make a training set; the message says what is missing."""


@dataclass
class Clips:
    """Clips as the trainer sees them, in catalogue order."""

    uids: list[str]
    patches: np.ndarray  # (N, M, P) float16, scaled to [0, 1]
    tags: list[list[str]]  # vocabulary words, most frequent first, at most max_tags

    def __len__(self) -> int:
        return len(self.uids)

    def subset(self, idx: np.ndarray) -> Clips:
        return Clips([self.uids[i] for i in idx], self.patches[idx], [self.tags[i] for i in idx])


@dataclass
class TrainingData:
    train: Clips
    val: Clips
    vocabulary: Vocabulary
    scaler: Scaler
    all_train_tags: list[list[str]]  # every normalised word of the training clips, for word vectors
    summary: dict


def split_position(uid: str, seed: int) -> float:
    """Where a sound falls in [0, 1) by hash of its id: the same place every run, whatever is added."""
    return int(hashlib.sha1(f"{seed}:{uid}".encode()).hexdigest()[:8], 16) / 2**32


def validation_mask(uids: list[str], fraction: float, seed: int, minimum: int = 2) -> np.ndarray:
    """The clips whose position is under `fraction`; at least `minimum` on corpora of 10 clips or more."""
    pos = np.array([split_position(u, seed) for u in uids])
    mask = pos < fraction
    if mask.sum() < minimum and len(uids) >= 10 and fraction > 0:
        mask = pos <= np.sort(pos)[minimum - 1]
    return mask


def live_sounds_with_words(catalogue: Catalogue) -> list[tuple[str, str, list[str]]]:
    """(uid, content hash, normalised tag words) of every live sound, in catalogue order."""
    with catalogue.session() as s:
        sounds = s.scalars(
            select(Sound)
            .where(Sound.deleted_at.is_(None))
            .options(selectinload(Sound.tags))
            .order_by(Sound.id)
        ).all()
        return [(x.uid, x.content_hash, normalise_tags(x.tag_names)) for x in sounds]


def load_training_data(
    catalogue: Catalogue,
    cache: FeatureCache,
    *,
    vocab_size: int = 1000,
    max_tags: int = 10,
    val_fraction: float = 0.1,
    split_seed: int = 0,
) -> TrainingData:
    """Read live sounds with cached features, normalise tags, fit vocabulary and scaler on training clips."""
    cfg: FeatureConfig = cache.config
    rows_all = live_sounds_with_words(catalogue)
    no_features = sum(1 for _, h, _ in rows_all if h not in cache)
    rows = [r for r in rows_all if r[1] in cache and r[2]]
    if len(rows) < 4:
        raise DataError(
            f"only {len(rows)} sounds with tags and features in the catalogue: ingest a corpus first "
            "(audiotag corpus build, or audiotag ingest)"
        )
    is_val = validation_mask([uid for uid, _, _ in rows], val_fraction, split_seed)
    train_words = [words for (_, _, words), v in zip(rows, is_val, strict=True) if not v]
    vocab = Vocabulary.fit(train_words, size=vocab_size, max_tags=max_tags)
    if len(vocab) == 0:
        raise DataError("no tag is on at least 2 training clips: the corpus is too small or untagged")
    selected = [vocab.select(words) for _, _, words in rows]
    keep = np.array([bool(t) for t in selected])
    patches = np.stack([best_patch(cache.get(h), cfg) for (_, h, _), k in zip(rows, keep, strict=True) if k])
    uids = [r[0] for r, k in zip(rows, keep, strict=True) if k]
    tags = [t for t in selected if t]
    is_val = is_val[keep]
    scaler = Scaler.fit(patches[~is_val], cfg)
    clips = Clips(uids, scaler(patches).astype(np.float16), tags)
    train, val = clips.subset(np.flatnonzero(~is_val)), clips.subset(np.flatnonzero(is_val))
    summary = {
        "sounds": len(rows_all),
        "without_features": no_features,
        "without_vocabulary_tags": int((~keep).sum()),
        "train_clips": len(train),
        "val_clips": len(val),
        "vocabulary": len(vocab),
        "mean_tags_per_clip": round(float(np.mean([len(t) for t in tags])), 2),
    }
    return TrainingData(train, val, vocab, scaler, train_words, summary)
