"""Uploaded clips: suggested tags, similar sounds, zero-shot classification with the caller's labels.

Plain `def` routes: FastAPI runs them in its worker threads, where the upload is read and decoded;
only the encoder pass goes back to the event loop's shared batch (Service.embed_upload).
"""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Query, UploadFile

from app.api.deps import IndexDep, ServiceDep, scored
from app.api.errors import ApiError, error_responses
from app.api.schemas import ClassifyResponse, LabelScore, SimilarResponse, TagScore, TagsResponse
from index.scoring import DEFAULT_TAG_METHOD, TAG_METHODS

router = APIRouter(tags=["audio"])
MAX_LABELS = 100
UPLOAD_ERRORS = error_responses(413, 415, 422, 503)
AUDIO_FILE = File(None, description="Audio: WAV, FLAC, Ogg, Opus, MP3, AIFF.")


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
def tags(
    service: ServiceDep,
    index: IndexDep,
    file: UploadFile | None = AUDIO_FILE,
    k: int = Query(10, ge=1, le=100),
    method: str = Query(DEFAULT_TAG_METHOD, pattern=f"^({'|'.join(TAG_METHODS)})$"),
) -> TagsResponse:
    z, phi = service.embed_upload(index, file)
    found = index.suggest_tags(z, phi, k, method)
    return TagsResponse(
        method=method, tags=[TagScore(tag=t, score=round(s, 4), source=src) for t, s, src in found]
    )


@router.post(
    "/similar",
    response_model=SimilarResponse,
    responses=UPLOAD_ERRORS,
    summary="Catalogue sounds that sound like a clip",
)
def similar(
    service: ServiceDep,
    index: IndexDep,
    file: UploadFile | None = AUDIO_FILE,
    k: int = Query(10, ge=1, le=100),
) -> SimilarResponse:
    z, _ = service.embed_upload(index, file)
    return SimilarResponse(index_version=index.version, results=scored(index, index.similar_to_clip(z, k)))


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
def classify(
    service: ServiceDep,
    index: IndexDep,
    file: UploadFile | None = AUDIO_FILE,
    labels: list[str] = Form(..., description="e.g. dog, rain, car engine"),
) -> ClassifyResponse:
    names = list(dict.fromkeys(x.strip() for item in labels for x in item.split(",") if x.strip()))
    if not names:
        raise ApiError(422, "no_labels", "give at least one label")
    if len(names) > MAX_LABELS:
        raise ApiError(422, "too_many_labels", f"at most {MAX_LABELS} labels")
    label_set = index.labels(names)
    if not label_set.names:
        raise ApiError(422, "unknown_labels", f"no word of any label has a vector: {', '.join(names)}")
    _, phi_a = service.embed_upload(index, file)
    p = index.classify(phi_a, label_set)
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
