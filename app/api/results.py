"""Response bodies from the index's answers: sound rows, scored hits, search matches, label scores."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from starlette.responses import Response

from app.api.schemas import (
    LabelScore,
    SoundTagsResponse,
    TagVerdictBody,
)
from index.catalogue.db import Catalogue
from index.catalogue.models import Sound as SoundRow
from index.catalogue.queries import SoundMeta, sounds_with_tags, tag_verdicts
from index.hybrid import Match
from index.scoring import LabelSet
from index.search import Hit, SearchIndex

API = "/api/v1"


def as_json(body: BaseModel) -> Response:
    """A finished response body as JSON, dumped once by pydantic: returned as a model, FastAPI would
    dump it to Python, validate it again and encode it with the json module (about 0.2 ms a search).
    The route's `response_model` still documents it."""
    return Response(body.model_dump_json(), media_type="application/json")


def sound_body(row: SoundRow | SoundMeta) -> dict:
    """The fields of a `Sound` body (a dict: the models that hold it validate it once)."""
    return {
        "id": row.id, "name": row.name, "tags": list(row.tag_names), "license": row.license,
        "username": row.username, "duration": row.duration, "description": row.description,
        "audio_url": f"{API}/sounds/{row.id}/audio",
    }  # fmt: skip


def scored(index: SearchIndex, hits: list[Hit]) -> list[dict]:
    """Hits with their metadata (held by the index: no SQL), in rank order: `ScoredSound` bodies."""
    rows = index.metadata()
    return [
        {
            **sound_body(rows[h.sound_id]),
            "score": round(h.score, 4),
            "relevance": index.relevance.of("similar", h.score),
        }
        for h in hits
        if h.sound_id in rows
    ]


def matched(index: SearchIndex, matches: list[Match], mode: str, n_words: int) -> list[dict]:
    """Search matches with their metadata and how each matched, in rank order (`n_words`: the
    query's): `SearchResult` bodies, validated by the response that holds them (one call of
    pydantic's validator for the whole answer takes half the time of one per result)."""
    rows = index.metadata()
    results = []
    for m in matches:
        if (row := rows.get(m.sound_id)) is None:
            continue
        how = {"words": list(m.words), "text": round(m.text_share, 3), "sound": round(m.sound_share, 3)}
        relevance = index.relevance.of_match(m, mode, n_words, bool(row.tag_words))
        results.append({**sound_body(row), "score": round(m.score, 6), "relevance": relevance, "match": how})
    return results


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


def sound_tags_body(catalogue: Catalogue, sound_id: int, reindex_job: int | None) -> SoundTagsResponse:
    """A sound's tags and verdicts as they are after a write (SQL: call it from the pool)."""
    row = sounds_with_tags(catalogue, [sound_id])[sound_id]
    verdicts = verdict_bodies(catalogue, sound_id)
    return SoundTagsResponse(id=sound_id, tags=row.tag_names, verdicts=verdicts, reindex_job=reindex_job)
