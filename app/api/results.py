"""Response bodies from the index's answers: sound rows, scored hits, search matches, label scores."""

from __future__ import annotations

import numpy as np

from app.api.schemas import HowMatched, LabelScore, ScoredSound, SearchResult, Sound, TagVerdictBody
from index.catalogue.db import Catalogue
from index.catalogue.models import Sound as SoundRow
from index.catalogue.queries import SoundMeta, tag_verdicts
from index.hybrid import Match, relevance
from index.scoring import LabelSet
from index.search import Hit, SearchIndex

API = "/api/v1"


def sound_body(row: SoundRow | SoundMeta) -> dict:
    return Sound(
        id=row.id, name=row.name, tags=row.tag_names, license=row.license, username=row.username,
        duration=row.duration, description=row.description, audio_url=f"{API}/sounds/{row.id}/audio",
    ).model_dump()  # fmt: skip


def scored(index: SearchIndex, hits: list[Hit]) -> list[ScoredSound]:
    """Hits with their metadata (held by the index: no SQL), in rank order."""
    rows = index.metadata()
    return [
        ScoredSound(
            **sound_body(rows[h.sound_id]),
            score=round(h.score, 4),
            relevance=relevance(Match(h.sound_id, h.score), "sound", 0),
        )
        for h in hits
        if h.sound_id in rows
    ]


def matched(index: SearchIndex, matches: list[Match], mode: str, n_words: int) -> list[SearchResult]:
    """Search matches with their metadata and how each matched, in rank order (`n_words`: the query's)."""
    rows = index.metadata()
    return [
        SearchResult(
            **sound_body(rows[m.sound_id]),
            score=round(m.score, 6),
            relevance=relevance(m, mode, n_words),
            match=HowMatched(words=list(m.words), text=round(m.text_share, 3), sound=round(m.sound_share, 3)),
        )
        for m in matches
        if m.sound_id in rows
    ]


def label_scores(labels: LabelSet, p: np.ndarray) -> list[LabelScore]:
    """The scored labels, most probable first."""
    ranked = sorted(range(len(p)), key=lambda i: -p[i])
    return [
        LabelScore(
            label=labels.names[i],
            score=round(float(p[i]), 4),
            words=labels.words[i],
            unknown=labels.unknown[i],
        )
        for i in ranked
    ]


def verdict_bodies(catalogue: Catalogue, sound_id: int) -> list[TagVerdictBody]:
    """The verdicts people gave on a sound's tags (SQL: call it from the pool)."""
    return [TagVerdictBody(**vars(v)) for v in tag_verdicts(catalogue, sound_id)]
