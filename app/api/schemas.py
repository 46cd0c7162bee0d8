"""Response bodies, as documented in the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field


class Sound(BaseModel):
    id: int = Field(examples=[42])
    name: str = Field(examples=["dog bark 3"])
    tags: list[str] = Field(examples=[["dog", "bark"]])
    license: str | None = Field(examples=["CC0-1.0"])
    username: str | None = None
    duration: float = Field(description="Seconds.", examples=[2.4])
    description: str | None = None
    audio_url: str = Field(examples=["/api/v1/sounds/42/audio"])


class ScoredSound(Sound):
    score: float = Field(description="Cosine similarity in the index's centred space.", examples=[0.61])
    relevance: int = Field(
        description="0–100: how often a sound this close (its z_a cosine) shares the tags of the sound "
        "asked about, from a curve fitted on the catalogue's tags when the index was built "
        "(docs/relevance.md); 100 × the cosine where the catalogue had too few tagged sounds to fit it.",
        examples=[31],
    )


class HowMatched(BaseModel):
    words: list[str] = Field(description="The query's words this sound's name, tags or description hold.")
    text: float = Field(description="Share of the score from the sound's words, 0 to 1.", examples=[0.7])
    sound: float = Field(description="Share of the score from its sound, 0 to 1.", examples=[0.3])


class SearchResult(Sound):
    score: float = Field(
        description="`hybrid`: the fused reciprocal-rank score, w / (K + text rank) + (1 − w) / (K + "
        "sound rank, its sound ranking lifted by its nearest sounds' tags where they carry the query's "
        "words); `text`: BM25 of its words; `sound`: cosine similarity in the index's centred space less "
        "the sound's hubness offset (README, Indexing). Higher is better within one answer.",
        examples=[0.061],
    )
    relevance: int = Field(
        description="0–100: the expected share of the query's words that a result like this one carries "
        "as tags, read from curves fitted on the catalogue's own tags when the index was built (isotonic "
        "regression; checked on held-out words, docs/relevance.md). A result that matched words (`text`, "
        "and `hybrid`) is read by the share of the query's words it holds, one found by its sound "
        "(`sound`, and `hybrid` without words) by its cosine. Where the catalogue had too few tagged "
        "sounds for a curve: the word share, or the cosine, × 100.",
        examples=[74],
    )
    match: HowMatched


class QueryWords(BaseModel):
    words: list[str] = Field(description="Normalised words used for the query.", examples=[["dog", "bark"]])
    unknown: list[str] = Field(
        description="Words without a vector: left out of the sound part (the words part reads them).",
        examples=[["qwzx"]],
    )


class SearchResponse(BaseModel):
    query: QueryWords
    mode: str = Field(description="hybrid, text or sound.", examples=["hybrid"])
    page: int
    k: int
    index_version: str
    results: list[SearchResult]


class SimilarResponse(BaseModel):
    index_version: str
    results: list[ScoredSound]


class TagScore(BaseModel):
    tag: str = Field(examples=["footstep"])
    score: float = Field(examples=[0.42])
    source: str = Field(
        examples=["neighbours"],
        description="Where the tag came from: `neighbours` (the tags of similar catalogue sounds) or "
        "`model` (the audio–tag embedding), whichever gave it more of its score.",
    )


class TagsResponse(BaseModel):
    method: str = Field(description="neighbours, fusion or embedding (see the endpoint's description).")
    tags: list[TagScore]


class LabelScore(BaseModel):
    label: str
    score: float = Field(
        description="Softmax over the labels of cosine / τ, the model's training temperature "
        "(its manifest's `tau`)."
    )
    words: list[str]
    unknown: list[str]


class ClassifyResponse(BaseModel):
    labels: list[LabelScore]
    unscored: list[str] = Field(description="Labels none of whose words has a vector.")


class Job(BaseModel):
    id: int
    kind: str
    state: str
    params: dict
    progress: float
    message: str | None
    error: str | None
    result: dict | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    worker: str | None = Field(None, description="The process that ran it: host name and pid.")


class TagVerdictBody(BaseModel):
    tag: str = Field(examples=["dog"])
    verdict: str = Field(description="confirmed or rejected.", examples=["confirmed"])
    by: str | None = Field(None, description="Who gave it, as they said.", examples=["ana"])
    at: datetime


class SoundDetail(Sound):
    verdicts: list[TagVerdictBody] = Field(
        default_factory=list, description="Tags people confirmed (now among `tags`) or rejected."
    )


class TagVerdictsRequest(BaseModel):
    model_config = {"extra": "forbid"}

    confirm: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, examples=[["dog", "bark"]]
    )
    reject: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, examples=[["cat"]]
    )
    by: str | None = Field(None, max_length=200, description="Who confirms (kept with each verdict).")


class SoundTagsResponse(BaseModel):
    id: int
    tags: list[str] = Field(description="The sound's tags now, confirmed ones included.")
    verdicts: list[TagVerdictBody]
    reindex_job: int | None = Field(
        None,
        description="The index update queued so text search reads the new tags (filters and "
        "tag suggestion read them at once).",
    )
