"""Training data from the catalogue: one max-energy patch and up to 10 vocabulary tags per clip."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from index.catalogue.db import Catalogue
from index.catalogue.queries import live_sounds_with_words
from index.corpus.heldout import is_out_of_source
from model.cache import FeatureCache
from model.features import FeatureConfig, Scaler, best_patch, crop_region
from model.tags import Vocabulary


class DataError(ValueError):
    """The catalogue cannot make a training set; the message says what is missing."""


@dataclass
class Clips:
    """Clips as the trainer sees them, in catalogue order."""

    uids: list[str]
    patches: np.ndarray  # (N, M, P) float16, scaled to [0, 1]: the max-energy patch (the paper's view)
    tags: list[list[str]]  # vocabulary words, most frequent first, at most max_tags
    regions: np.ndarray  # (N, M, R) float16, scaled: where random crops are drawn from
    lengths: np.ndarray  # (N,) int: real frames of each region (the rest is padding)

    def __len__(self) -> int:
        return len(self.uids)

    def subset(self, idx: np.ndarray) -> Clips:
        return Clips(
            [self.uids[i] for i in idx],
            self.patches[idx],
            [self.tags[i] for i in idx],
            self.regions[idx],
            self.lengths[idx],
        )

    def keep_words(self, keep: set[str]) -> Clips:
        """Only the tags in `keep`; clips left without any are dropped."""
        tags = [[t for t in ts if t in keep] for ts in self.tags]
        sub = self.subset(np.flatnonzero([bool(t) for t in tags]))
        sub.tags = [t for t in tags if t]
        return sub


@dataclass
class TrainingData:
    train: Clips
    val: Clips
    vocabulary: Vocabulary
    scaler: Scaler
    all_train_tags: list[list[str]]  # every normalised word of the training clips, for word vectors
    summary: dict

    def keep_words(self, keep: set[str]) -> TrainingData:
        """The same data with the vocabulary restricted to `keep` (words that have a pretrained vector)."""
        train, val = self.train.keep_words(keep), self.val.keep_words(keep)
        vocabulary = self.vocabulary.restricted(keep)
        summary = {
            **self.summary,
            "train_clips": len(train),
            "val_clips": len(val),
            "val_split": split_name(val),
            "vocabulary": len(vocabulary),
        }
        return replace(self, train=train, val=val, vocabulary=vocabulary, summary=summary)


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


def split_name(val: Clips) -> str:
    """ "sources" when the validation clips are the out-of-source packages', else "hash"."""
    return "sources" if len(val) and all(map(is_out_of_source, val.uids)) else "hash"


def heldout_mask(uids: list[str], split: str, fraction: float, seed: int, minimum: int = 2) -> np.ndarray:
    """The clips a model is validated (and evaluated) on: the out-of-source packages' when the split is
    "sources" and the catalogue holds at least `minimum` of them, else the hash split's."""
    if split == "sources":
        mask = np.array([is_out_of_source(u) for u in uids], dtype=bool)
        if mask.sum() >= minimum and not mask.all():
            return mask
    return validation_mask(uids, fraction, seed, minimum)


def load_training_data(
    catalogue: Catalogue,
    cache: FeatureCache,
    *,
    vocab_size: int = 1000,
    max_tags: int = 10,
    val_split: str = "sources",
    val_fraction: float = 0.1,
    split_seed: int = 0,
    region_frames: int = 192,
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
    is_val = heldout_mask([uid for uid, _, _ in rows], val_split, val_fraction, split_seed)
    train_words = [words for (_, _, words), v in zip(rows, is_val, strict=True) if not v]
    vocab = Vocabulary.fit(train_words, size=vocab_size, max_tags=max_tags)
    if len(vocab) == 0:
        raise DataError("no tag is on at least 2 training clips: the corpus is too small or untagged")
    selected = [vocab.select(words) for _, _, words in rows]
    keep = np.array([bool(t) for t in selected])
    kept_rows = [r for r, k in zip(rows, keep, strict=True) if k]
    patches, regions, lengths = clip_views(
        (cache.get(h) for _, h, _ in kept_rows), len(kept_rows), region_frames, cfg
    )
    uids = [r[0] for r in kept_rows]
    tags = [t for t in selected if t]
    is_val = is_val[keep]
    scaler = Scaler.fit(patches[~is_val], cfg)
    scale_regions(regions, scaler)
    clips = Clips(uids, scaler(patches).astype(np.float16), tags, regions, lengths)
    train, val = clips.subset(np.flatnonzero(~is_val)), clips.subset(np.flatnonzero(is_val))
    summary = {
        "sounds": len(rows_all),
        "without_features": no_features,
        "without_vocabulary_tags": int((~keep).sum()),
        "train_clips": len(train),
        "val_clips": len(val),
        "val_split": split_name(val),
        "vocabulary": len(vocab),
        "mean_tags_per_clip": round(float(np.mean([len(t) for t in tags])), 2),
    }
    return TrainingData(train, val, vocab, scaler, train_words, summary)


def clip_views(
    logmels: Iterable[np.ndarray], n: int, region_frames: int, cfg: FeatureConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each of `n` log-mels' max-energy patch (n, M, P) float32 and crop region (n, M, R) float16 with
    its real frames (n,), unscaled; the log-mels are read one at a time."""
    patches = np.empty((n, cfg.n_mels, cfg.patch_frames), np.float32)
    regions = np.empty((n, cfg.n_mels, max(region_frames, cfg.patch_frames)), np.float16)
    lengths = np.empty(n, np.int64)
    for i, logmel in enumerate(logmels):
        patches[i] = best_patch(logmel, cfg)
        regions[i], lengths[i] = crop_region(logmel, regions.shape[2], cfg)
    return patches, regions, lengths


def scale_regions(regions: np.ndarray, scaler: Scaler) -> None:
    """Regions (N, M, R) scaled in place, one at a time (the float32 copy of all would be large)."""
    for i in range(len(regions)):
        regions[i] = scaler(regions[i].astype(np.float32))


@dataclass
class Unlabelled:
    """Clips for pre-training: crop regions without tags, scaled, split as training splits them."""

    train_regions: np.ndarray  # (N, M, R) float16
    train_lengths: np.ndarray  # (N,)
    val_regions: np.ndarray  # the held-out clips (the out-of-source packages by default)
    val_lengths: np.ndarray
    scaler: Scaler
    summary: dict


def load_unlabelled(
    catalogue: Catalogue,
    cache: FeatureCache,
    extra: list[np.ndarray] = (),
    *,
    val_split: str = "sources",
    val_fraction: float = 0.1,
    split_seed: int = 0,
    region_frames: int = 192,
) -> Unlabelled:
    """Every live catalogue sound with cached features, tagged or not, held out as training holds
    it out, plus the log-mels of `extra` audio (training only)."""
    cfg: FeatureConfig = cache.config
    rows = [(uid, h) for uid, h, _ in live_sounds_with_words(catalogue) if h in cache]
    if len(rows) + len(extra) < 4:
        raise DataError(f"only {len(rows) + len(extra)} clips with features: ingest a corpus or name audio")
    is_val = np.zeros(len(rows) + len(extra), bool)  # extra audio only ever trains
    if rows:
        is_val[: len(rows)] = heldout_mask([uid for uid, _ in rows], val_split, val_fraction, split_seed)
    patches, regions, lengths = clip_views(
        itertools.chain((cache.get(h) for _, h in rows), extra), len(rows) + len(extra), region_frames, cfg
    )
    scaler = Scaler.fit(patches[~is_val], cfg)
    scale_regions(regions, scaler)
    summary = {
        "catalogue_clips": len(rows),
        "extra_clips": len(extra),
        "train_clips": int((~is_val).sum()),
        "val_clips": int(is_val.sum()),
    }
    return Unlabelled(regions[~is_val], lengths[~is_val], regions[is_val], lengths[is_val], scaler, summary)
