"""Hybrid ranking: a sound's words (the text index) and its sound (the audio index) in one list.

Weighted reciprocal-rank fusion: a sound ranked r_t by its words and r_s by its sound scores
w / (K + r_t) + (1 − w) / (K + r_s), a list it is missing from adding nothing. Ranks, not raw
scores, are fused because BM25 and cosine live on unrelated scales that move with every query and
catalogue. Sounds with equal text scores (the same words) share a rank, so their sound decides
between them. `TEXT_WEIGHT` and `K` were chosen on measured data (docs/hybrid-search.md): on the
demo catalogue with its tags the words lead (hybrid level with text on one-word and own-tag
queries); with half its sounds' words stripped hybrid beats both parts (one-word recall@10 0.739
against 0.582 and 0.544); with no words the sound list passes through unchanged, so a sound with no
words is still found by its sound.
"""

from __future__ import annotations

from typing import NamedTuple

from index.text_index import TextHit

MODES = ("hybrid", "text", "sound")
DEFAULT_MODE = "hybrid"
TEXT_WEIGHT = 0.9
K = 10


class Match(NamedTuple):  # a tuple, as `search.Hit`: a search makes one for each sound it ranks
    """One ranked sound and how it matched."""

    sound_id: int
    score: float  # fused (hybrid), BM25 (text) or cosine (sound)
    words: tuple[str, ...] = ()  # the query's words its name, tags or description hold
    text_share: float = 0.0  # share of the score from its words, in [0, 1]
    sound_share: float = 0.0  # share from its sound; the two add up to 1
    cosine: float | None = None  # its sound's cosine to the query, where the sound list holds it


def shared_ranks(scores: list[float]) -> list[int]:
    """1-based ranks of scores sorted best first; equal scores share the best rank among them."""
    ranks, previous = [], None
    for position, score in enumerate(scores, 1):
        if previous is None or score != previous[0]:
            previous = (score, position)
        ranks.append(previous[1])
    return ranks


def fuse(
    text_hits: list[TextHit],
    sound_hits: list[tuple[int, float]],
    text_weight: float = TEXT_WEIGHT,
    k: int = K,
    limit: int | None = None,
) -> list[Match]:
    """Both lists (each best first; sound hits as (sound id, cosine)) fused, best first; equal
    fused scores in the sound list's order, then by id. `limit`: only the first so many."""
    ranks = shared_ranks([h.score for h in text_hits])
    if limit is not None and 0 < limit < len(text_hits):
        # The first `limit` word matches score at least `floor` from their words alone; a later one
        # whose words and the best sound rank together score less is never among the first `limit`.
        floor = text_weight / (k + ranks[limit - 1])
        best_sound = (1 - text_weight) / (k + 1)
        kept = next((j for j, r in enumerate(ranks) if text_weight / (k + r) + best_sound < floor), None)
        text_hits, ranks = text_hits[:kept], ranks[:kept]
    text_rank = dict(zip((h.sound_id for h in text_hits), ranks, strict=True))
    sound_rank = {sound_id: r for r, (sound_id, _) in enumerate(sound_hits, 1)}
    last = len(sound_rank) + 1
    from_text = {i: text_weight / (k + r) for i, r in text_rank.items()}
    # (−fused score, sound rank, id): the order; equal scores by sound rank, then id
    ranked = [(-from_text.get(i, 0.0) - (1 - text_weight) / (k + r), r, i) for i, r in sound_rank.items()]
    ranked += [(-t, last, i) for i, t in from_text.items() if i not in sound_rank]
    ranked.sort()
    words = {h.sound_id: h.words for h in text_hits}
    cosine = dict(sound_hits)
    matches = []
    for neg, _, i in ranked[:limit]:
        share = from_text.get(i, 0.0) / -neg
        matches.append(Match(i, -neg, words.get(i, ()), share, 1 - share, cosine.get(i)))
    return matches


def text_only(text_hits: list[TextHit]) -> list[Match]:
    return [Match(h.sound_id, h.score, h.words, 1.0, 0.0) for h in text_hits]


def sound_only(sound_hits: list[tuple[int, float]]) -> list[Match]:
    return [Match(sound_id, score, (), 0.0, 1.0, score) for sound_id, score in sound_hits]
