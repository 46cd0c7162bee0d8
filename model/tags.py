"""Tag normalisation and the tag vocabulary (the paper's preprocessing, with the reference bugs fixed)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from model.singular import singularise

# English function words (the NLTK list's content): they carry no sound.
STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that
    these those am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here
    there when where why how all any both each few more most other some such no nor not only own
    same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn
    doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn
    """.split()
)

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_LETTERS = re.compile(r"[^a-z]+")


def split_words(text: str) -> list[str]:
    """Lower-case letter runs of a tag or a free-text query; camelCase and separators split words."""
    return [w for w in _NON_LETTERS.split(_CAMEL.sub(" ", text).lower()) if w]


def normalise_tag(tag: str) -> list[str]:
    """One raw tag -> its normalised words (a multi-word tag like "dog-bark" gives two)."""
    return [singularise(w) for w in split_words(tag) if len(w) > 1 and w not in STOP_WORDS]


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Raw tags of one clip -> normalised, de-duplicated words, first occurrence first."""
    return list(dict.fromkeys(w for t in tags for w in normalise_tag(t)))


@dataclass
class Vocabulary:
    """The tags kept for training: frequent enough, not on most clips, ranked by clip count."""

    counts: dict[str, int]  # word -> number of clips carrying it, most frequent first
    n_clips: int
    max_tags: int = 10
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.counts)}

    @classmethod
    def fit(
        cls,
        tag_sets: Sequence[Sequence[str]],
        *,
        size: int = 1000,
        max_fraction: float = 0.7,
        min_count: int = 2,
        max_tags: int = 10,
    ) -> Vocabulary:
        """From normalised tag sets: drop words on > max_fraction of clips, keep the `size` most frequent."""
        n = len(tag_sets)
        df = Counter(w for tags in tag_sets for w in set(tags))
        kept = [(w, c) for w, c in df.items() if c >= min_count and c <= max_fraction * n]
        kept.sort(key=lambda wc: (-wc[1], wc[0]))  # ties by name: the same vocabulary every run
        return cls(counts=dict(kept[:size]), n_clips=n, max_tags=max_tags)

    def __len__(self) -> int:
        return len(self.counts)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def words(self) -> list[str]:
        return list(self.counts)

    def restricted(self, keep: set[str]) -> Vocabulary:
        """The same vocabulary without the words outside `keep`."""
        counts = {w: c for w, c in self.counts.items() if w in keep}
        return Vocabulary(counts=counts, n_clips=self.n_clips, max_tags=self.max_tags)

    def select(self, tags: Iterable[str]) -> list[str]:
        """A clip's tags in the vocabulary: the `max_tags` most frequent in the corpus."""
        known = {t for t in tags if t in self.index}
        return sorted(known, key=self.index.__getitem__)[: self.max_tags]

    def to_dict(self) -> dict:
        return {"counts": self.counts, "n_clips": self.n_clips, "max_tags": self.max_tags}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(counts=dict(d["counts"]), n_clips=int(d["n_clips"]), max_tags=int(d["max_tags"]))
