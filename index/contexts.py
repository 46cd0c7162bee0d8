"""Tag contexts: a query word means what the catalogue's tag sets that hold it mean.

The tag encoder learnt whole tag sets ("drum kick acoustic"), and a bare word is ambiguous to it:
alone, `kick` sits near a kick of a ball, `crash` near a car crash, `tom` near a name. So every text
query (a search, a zero-shot label, a suggested tag) is contextualised by the catalogue: its vector
is the sum of its own φ_w and the φ_w of every catalogue tag set that holds all of its words,
L2-normalised. A word in no tag set (`puppy` in a catalogue without one) keeps its own φ_w; a query
in a thousand sets becomes their mean. The query's own φ_w weighs as one tag set, so a query held by
one sound's tags lands halfway between its own meaning and that sound's.

Measured on the shipped model's held-out clips, contexts drawn from the training clips only
(`audiotag eval`, docs/eval-shipped): one-word searches mAP 0.216 → 0.527; zero-shot instruments
23.5 → 36.4 %, drums 24.9 → 60.5 %, sound-events 33.1 → 43.4 %; whole-tag-set searches unchanged
(recall@10 0.677 → 0.671); tag suggestion by embedding P@5 0.100 → 0.221.

Each index version stores the contexts of its catalogue (`contexts.npz`): the distinct tag sets of
the live sounds, how many sounds carry each, and their φ_w. Their weighted mean is the centre of φ_w
(index/centres.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.arrays import load_arrays
from model.bundle import Bundle
from model.files import write_atomic

FILE = "contexts.npz"


@dataclass
class TagContexts:
    """The distinct tag sets of a catalogue: words, how many sounds carry each set, their φ_w."""

    words: list[str]  # every word in some set
    members: list[np.ndarray]  # per set: sorted indices into `words`
    counts: np.ndarray  # (S,) sounds carrying each set
    vectors: np.ndarray  # (S, F) L2-normalised φ_w of each set
    audio: np.ndarray | None = None  # (S, F) mean φ_a of each set's indexed sounds (zero row: none)
    _holding: dict[str, np.ndarray] = field(init=False, repr=False)  # word → sorted set indices

    def __post_init__(self) -> None:
        if self.audio is None:
            self.audio = np.zeros_like(self.vectors)
        holding: dict[int, list[int]] = {}
        for s, member in enumerate(self.members):
            for w in member.tolist():
                holding.setdefault(w, []).append(s)
        self._holding = {self.words[w]: np.array(sets, np.int64) for w, sets in holding.items()}

    @classmethod
    def empty(cls, dim: int) -> TagContexts:
        """No catalogue context: every query keeps its own φ_w."""
        return cls([], [], np.zeros(0, np.int64), np.zeros((0, dim), np.float32))

    @classmethod
    def of(
        cls,
        bundle: Bundle,
        tag_sets: list[list[str]],
        phi_a: list[np.ndarray | None] | None = None,
        before: TagContexts | None = None,
    ) -> TagContexts:
        """The contexts of sounds' known-word tag sets (empty sets are left out). `phi_a`: each
        sound's φ_a (F,), None where the caller has none; such a sound's share of its set's audio
        comes from `before` (the contexts of the version an update starts from) where it has the set."""
        keys = [tuple(sorted(set(t))) for t in tag_sets]
        distinct = Counter(k for k in keys if k)
        if not distinct:
            return cls.empty(bundle.config.word_dim)
        sets = list(distinct)
        words = sorted({w for s in sets for w in s})
        position = {w: i for i, w in enumerate(words)}
        members = [np.array([position[w] for w in s], np.int32) for s in sets]
        vectors = bundle.embed_tag_sets([list(s) for s in sets])
        counts = np.array([distinct[s] for s in sets], np.int64)
        audio = _set_audio(sets, keys, phi_a, before, vectors.shape[1])
        return cls(words, members, counts, vectors, audio)

    @property
    def centre(self) -> np.ndarray | None:
        """(F,) mean φ_w over the sounds' tag sets; None without sets."""
        if not len(self.counts):
            return None
        return (self.counts[:, None] * self.vectors).sum(axis=0) / self.counts.sum()

    def sets_holding(self, words: list[str]) -> np.ndarray:
        """Indices of the sets that hold every one of `words`."""
        found = [self._holding.get(w) for w in dict.fromkeys(words)]
        if not found or any(f is None for f in found):
            return np.zeros(0, np.int64)
        found.sort(key=len)
        held = found[0]
        for more in found[1:]:
            held = np.intersect1d(held, more, assume_unique=True)
        return held

    def contextualise(self, words: list[str], own: np.ndarray) -> np.ndarray:
        """(F,) the query's own φ_w plus those of the sets holding all its words, L2-normalised."""
        held = self.sets_holding(words)
        vector = np.asarray(own, np.float32) + (self.counts[held, None] * self.vectors[held]).sum(axis=0)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    def contextualise_many(self, word_lists: list[list[str]], own: np.ndarray) -> np.ndarray:
        """(N, F) for N queries with their own φ_w (N, F)."""
        if not len(word_lists):
            return np.zeros((0, own.shape[-1]), np.float32)
        return np.stack([self.contextualise(w, v) for w, v in zip(word_lists, own, strict=True)])

    # --- on disk ------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        lengths = np.array([len(m) for m in self.members], np.int64)
        arrays = {
            "words": np.array(self.words, dtype=str),
            "members": np.concatenate(self.members) if self.members else np.zeros(0, np.int32),
            "lengths": lengths,
            "counts": self.counts,
            "vectors": self.vectors.astype(np.float32),
            "audio": self.audio.astype(np.float32),
        }
        write_atomic(Path(folder) / FILE, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, folder: Path, dim: int) -> TagContexts:
        """The version's contexts; empty (no context) for versions written without them."""
        path = Path(folder) / FILE
        if not path.is_file():
            return cls.empty(dim)
        d = load_arrays(path)
        members = np.split(d["members"], np.cumsum(d["lengths"])[:-1]) if len(d["lengths"]) else []
        audio = d.get("audio")  # None: a version written before search by example
        return cls([str(w) for w in d["words"]], list(members), d["counts"], d["vectors"], audio)

    def audio_of(self, key: tuple[str, ...]) -> np.ndarray | None:
        """(F,) the mean φ_a of the sounds of the set of exactly these words; None if none is known."""
        held = self.sets_holding(list(key))
        for s in held.tolist():
            if len(self.members[s]) == len(key) and np.any(self.audio[s]):
                return self.audio[s]
        return None


def _set_audio(
    sets: list[tuple[str, ...]],
    keys: list[tuple[str, ...]],
    phi_a: list[np.ndarray | None] | None,
    before: TagContexts | None,
    dim: int,
) -> np.ndarray:
    """(S, F) the mean φ_a of each set's sounds: those with a vector, and for the others the set's
    mean in `before`; a zero row where neither is known."""
    row = {s: i for i, s in enumerate(sets)}
    total = np.zeros((len(sets), dim), np.float64)
    weight = np.zeros(len(sets), np.float64)
    missing = Counter()
    for key, vector in zip(keys, phi_a or [None] * len(keys), strict=True):
        if not key:
            continue
        if vector is None:
            missing[key] += 1
        else:
            total[row[key]] += vector
            weight[row[key]] += 1
    for key, n in missing.items():
        old = before.audio_of(key) if before is not None else None
        if old is not None:
            total[row[key]] += n * old
            weight[row[key]] += n
    return (total / np.maximum(weight, 1)[:, None]).astype(np.float32)
