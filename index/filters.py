"""Search filters (licence, duration, tag), one sound at a time or over the whole index at once.

`Filters.admit` checks one sound; `FilterArrays` holds the indexed sounds' metadata as arrays and an
inverted tag index, so `FilterArrays.select` finds every sound a filter admits in vectorised numpy
(about a millisecond at 100k sounds). The index uses it to push selective filters into FAISS as an
ID selector (index/vector_index.AllowedSearch) instead of over-fetching hits and dropping most.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from index.catalogue.queries import SoundMeta
from model.tags import normalise_tag


@dataclass(frozen=True)
class Filters:
    license: str | None = None  # a case-insensitive part of the licence: "cc0", "by-sa", "gpl"
    min_duration: float | None = None  # seconds
    max_duration: float | None = None
    tag: str | None = None  # words the sound's tags must hold, by the tokenizer queries use: dogs → dog

    @cached_property
    def empty(self) -> bool:
        bounds = (self.min_duration, self.max_duration)
        return self.license is None and self.tag is None and bounds == (None, None)

    @cached_property
    def tag_words(self) -> frozenset[str]:
        """The tag filter's words through the one tokenizer (model/tags): "Dogs" → {dog},
        "hi-hat" → {hi, hat}; a sound passes when its tags hold all of them."""
        return frozenset(normalise_tag(self.tag)) if self.tag else frozenset()

    def admit(self, sound: SoundMeta) -> bool:
        if self.license and self.license.lower() not in (sound.license or "").lower():
            return False
        if self.min_duration is not None and sound.duration < self.min_duration:
            return False
        if self.max_duration is not None and sound.duration > self.max_duration:
            return False
        return not self.tag or bool(self.tag_words) and self.tag_words <= set(sound.tag_words)


class FilterArrays:
    """The sounds' ids, durations, licences and tags as arrays, for `select`."""

    def __init__(self, sounds: dict[int, SoundMeta]) -> None:
        rows = sorted(sounds.values(), key=lambda m: m.id)
        self.ids = np.array([m.id for m in rows], np.int64)  # ascending
        self.durations = np.array([m.duration for m in rows], np.float64)
        self.licenses = sorted({(m.license or "").lower() for m in rows})
        code = {lic: i for i, lic in enumerate(self.licenses)}
        self.license_codes = np.array([code[(m.license or "").lower()] for m in rows], np.int32)
        tagged: dict[str, list[int]] = {}
        for m in rows:
            for w in set(m.tag_words):
                tagged.setdefault(w, []).append(m.id)
        self.tagged = {t: np.array(ids, np.int64) for t, ids in tagged.items()}  # ascending ids

    def select(self, filters: Filters) -> np.ndarray:
        """The ids (ascending) of the sounds the filters admit: the same answer as `admit`."""
        keep = np.ones(len(self.ids), bool)
        if filters.license:
            part = filters.license.lower()
            matching = np.array([part in lic for lic in self.licenses], bool)
            keep &= matching[self.license_codes] if len(self.licenses) else keep
        if filters.min_duration is not None:
            keep &= self.durations >= filters.min_duration
        if filters.max_duration is not None:
            keep &= self.durations <= filters.max_duration
        ids = self.ids[keep]
        if filters.tag and not filters.tag_words:
            return ids[:0]  # a tag filter without a word admits nothing, as `admit` says
        for word in filters.tag_words:
            ids = np.intersect1d(ids, self.tagged.get(word, ids[:0]), assume_unique=True)
        return ids
