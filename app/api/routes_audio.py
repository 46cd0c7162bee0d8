"""Uploaded clips: suggested tags, similar sounds, zero-shot classification with the caller's labels.

Each is one call of the engine (app/api/engine.py) with the clip that ClipDep read and decoded in the
thread pool: the encoder pass is shared with concurrent uploads, the rest runs on the inference thread.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import ClipDep, IndexDep, ServiceDep, TagMethod, TopK
from app.api.errors import ApiError, error_responses
from app.api.pictures import spectrogram_png
from app.api.results import as_json
from app.api.schemas import ClassifyResponse, SimilarResponse, TagsResponse
from index.scoring import DEFAULT_TAG_METHOD

router = APIRouter(tags=["audio"])
MAX_LABELS = 100
UPLOAD_ERRORS = error_responses(413, 415, 422, 503)


@router.post(
    "/tags",
    response_model=TagsResponse,
    responses=UPLOAD_ERRORS,
    summary="Suggest tags for an uploaded clip",
    description="`fusion` (default): the mean of the two below. `neighbours`: the tags of the 10 catalogue "
    "sounds most similar to the clip (cosine of z_a), each voting with its similarity; a score is the "
    "tag's share of the votes. `embedding`: the vocabulary tags whose vector (in the catalogue's tag "
    "contexts) is nearest the clip's φ_a, a softmax of cosine / τ (the model's training temperature, "
    "0.1 for the shipped one). On sounds from sources the model "
    "never trained on, fusion suggested one of the clip's own tags among its 5 for 39.8 % of clips, "
    "neighbours 37.6 %, embedding 26.6 %. Each tag says its `source`. Where no neighbour has tags, "
    "every method answers as `embedding`.",
)
async def tags(
    service: ServiceDep,
    index: IndexDep,
    clip: ClipDep,
    k: TopK = 10,
    method: TagMethod = DEFAULT_TAG_METHOD,
) -> Response:
    return as_json(await service.engine.suggest_tags(index, clip, k, method))


@router.post(
    "/similar",
    response_model=SimilarResponse,
    responses=UPLOAD_ERRORS,
    summary="Catalogue sounds that sound like a clip",
)
async def similar(service: ServiceDep, index: IndexDep, clip: ClipDep, k: TopK = 10) -> Response:
    return as_json(await service.engine.similar_to_clip(index, clip, k))


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    responses=UPLOAD_ERRORS,
    summary="Zero-shot scores of a clip for labels you name",
    description="Each label is split into words and embedded as a tag query in the catalogue's tag "
    "contexts (its φ_w plus those of the catalogue tag sets that hold all its words); the clip's φ_a is "
    "compared with each by cosine (both centred with the catalogue's means), and the scores are a softmax "
    "of cosine / τ (the model's training temperature) over the labels the model knows words of. "
    "Give labels as repeated `labels` fields "
    "or one comma-separated field.",
)
async def classify(
    service: ServiceDep,
    index: IndexDep,
    clip: ClipDep,
    labels: list[str] = Form(..., description="e.g. dog, rain, car engine"),
) -> Response:
    names = list(dict.fromkeys(x.strip() for item in labels for x in item.split(",") if x.strip()))
    if not names:
        raise ApiError(422, "no_labels", "give at least one label")
    if len(names) > MAX_LABELS:
        raise ApiError(422, "too_many_labels", f"at most {MAX_LABELS} labels")
    return as_json(await service.engine.classify(index, clip, names))


@router.post(
    "/spectrogram.png",
    summary="The spectrogram of an uploaded clip",
    description="The clip's log-mel spectrogram as the model hears it (its sample rate and mel bands), "
    "drawn as `GET /sounds/{id}/spectrogram.png` draws a catalogue sound.",
    response_class=Response,
    responses={200: {"description": "A PNG spectrogram.", "content": {"image/png": {}}}, **UPLOAD_ERRORS},
)
async def clip_spectrogram(clip: ClipDep) -> Response:
    png = await run_in_threadpool(spectrogram_png, clip.logmel)
    return Response(png, media_type="image/png")
