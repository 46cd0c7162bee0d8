"""Uploaded clips: suggested tags, similar sounds, zero-shot classification with the caller's labels."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from app.api.deps import scored, served_index, state
from app.api.errors import ApiError
from app.api.schemas import ClassifyResponse, LabelScore, SimilarResponse, TagScore, TagsResponse
from app.api.uploads import decode_upload, read_upload
from index.scoring import DEFAULT_TAG_METHOD, TAG_METHODS
from index.search import SearchIndex

router = APIRouter(tags=["audio"])
MAX_LABELS = 100


async def _embed(
    request: Request, index: SearchIndex, file: UploadFile | None
) -> tuple[np.ndarray, np.ndarray]:
    """The upload's (z_a, φ_a): decoded and turned into a log-mel in a thread, encoded in a shared batch."""
    st = state(request)
    data = await read_upload(file, st.settings.upload_max_bytes)
    logmel = await run_in_threadpool(_logmel, data, st.limits, index.bundle)
    return await st.batcher.embed(index.bundle, logmel)


def _logmel(data: bytes, limits, bundle) -> np.ndarray:
    wave, sr = decode_upload(data, limits)
    return bundle.logmel(wave, sr)


@router.post(
    "/tags",
    response_model=TagsResponse,
    summary="Suggest tags for an uploaded clip",
    description="`neighbours` (default): the tags of the 10 catalogue sounds most similar to the clip "
    "(cosine of z_a), each voting with its similarity; a score is the tag's share of the votes. "
    "`embedding`: the vocabulary tags whose φ_w is nearest the clip's φ_a, a softmax of cosine / 0.1. "
    "`fusion`: the mean of the two. On held-out clips `neighbours` measured best (precision@5 0.434, "
    "fusion 0.433, embedding 0.107: docs/evaluation.md). Where no neighbour has tags, every method "
    "answers as `embedding`.",
)
async def tags(
    request: Request,
    file: UploadFile | None = File(None, description="Audio: WAV, FLAC, Ogg, Opus, MP3, AIFF."),
    k: int = Query(10, ge=1, le=100),
    method: str = Query(DEFAULT_TAG_METHOD, pattern=f"^({'|'.join(TAG_METHODS)})$"),
) -> TagsResponse:
    index = served_index(request)
    z, phi = await _embed(request, index, file)
    found = await run_in_threadpool(index.suggest_tags, z, phi, k, method)
    return TagsResponse(method=method, tags=[TagScore(tag=t, score=round(s, 4)) for t, s in found])


@router.post("/similar", response_model=SimilarResponse, summary="Catalogue sounds that sound like a clip")
async def similar(
    request: Request,
    file: UploadFile | None = File(None),
    k: int = Query(10, ge=1, le=100),
) -> SimilarResponse:
    index = served_index(request)
    z, _ = await _embed(request, index, file)
    hits = await run_in_threadpool(index.similar_to_clip, z, k)
    return SimilarResponse(
        index_version=index.version, results=await run_in_threadpool(scored, state(request), hits)
    )


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    summary="Zero-shot scores of a clip for labels you name",
    description="Each label is split into words and embedded as a tag query (φ_w); the clip's φ_a is "
    "compared with each by cosine (both centred with the catalogue's means), and the scores are a softmax "
    "of cosine / 0.1 over the labels the model "
    "knows words of. Give labels as repeated `labels` fields or one comma-separated field.",
)
async def classify(
    request: Request,
    file: UploadFile | None = File(None),
    labels: list[str] = Form(..., description="e.g. dog, rain, car engine"),
) -> ClassifyResponse:
    index = served_index(request)
    names = list(dict.fromkeys(x.strip() for item in labels for x in item.split(",") if x.strip()))
    if not names:
        raise ApiError(422, "no_labels", "give at least one label")
    if len(names) > MAX_LABELS:
        raise ApiError(422, "too_many_labels", f"at most {MAX_LABELS} labels")
    label_set = index.labels(names)
    if not label_set.names:
        raise ApiError(422, "unknown_labels", f"no word of any label has a vector: {', '.join(names)}")
    _, phi_a = await _embed(request, index, file)
    p = await run_in_threadpool(index.classify, phi_a, label_set)
    ranked = sorted(range(len(p)), key=lambda i: -p[i])
    return ClassifyResponse(
        labels=[
            LabelScore(
                label=label_set.names[i],
                score=round(float(p[i]), 4),
                words=label_set.words[i],
                unknown=label_set.unknown[i],
            )
            for i in ranked
        ],
        unscored=label_set.unscored,
    )
