"""Tags people confirm: suggestions for a catalogue sound, and the verdicts on them.

A confirmed tag joins the sound's tags (marked with who and when), so tag filters, tag suggestion
and the next training run read it at once, and text search after the index update the request
queues; a rejected suggestion is never offered for that sound again.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import IndexDep, ServiceDep, SoundDep, TagMethod, TopK, require_token, sound_logmel
from app.api.engine import Clip
from app.api.errors import ApiError, error_responses
from app.api.results import as_json, sound_tags_body
from app.api.schemas import SoundTagsResponse, TagsResponse, TagVerdictsRequest
from index.catalogue.queries import record_verdicts, tag_verdicts
from index.ingest import clean_tags
from index.scoring import DEFAULT_TAG_METHOD
from model.tags import normalise_tag, normalise_tags

router = APIRouter(tags=["tags"])


@router.get(
    "/sounds/{sound_id}/tags",
    response_model=TagsResponse,
    responses=error_responses(404, 503),
    summary="Tags to suggest for a catalogue sound",
    description="As `POST /tags` for the sound's own audio, leaving out the tags it has, those people "
    "rejected on it, and its own vote among its neighbours.",
)
async def suggestions(
    service: ServiceDep,
    index: IndexDep,
    row: SoundDep,
    k: TopK = 10,
    method: TagMethod = DEFAULT_TAG_METHOD,
) -> Response:
    clip = Clip(await run_in_threadpool(sound_logmel, service, row, index.bundle.features))
    verdicts = await run_in_threadpool(tag_verdicts, service.catalogue, row.id)
    rejected = [v.tag for v in verdicts if v.verdict == "rejected"]
    skip = frozenset(normalise_tags([*row.tag_names, *rejected]))
    return as_json(await service.engine.suggest_tags(index, clip, k, method, skip, row.id))


@router.post(
    "/sounds/{sound_id}/tags",
    response_model=SoundTagsResponse,
    dependencies=[Depends(require_token)],
    responses=error_responses(401, 403, 404, 422),
    summary="Confirm or reject tags of a catalogue sound (bearer token)",
    description="`confirm`: tags the sound carries from now on (kept when its source is ingested "
    "again); `reject`: suggestions not to offer again (a tag someone confirmed before leaves the "
    "sound). Each verdict keeps `by` and the time; the latest verdict on a tag wins.",
)
def post_verdicts(service: ServiceDep, row: SoundDep, body: TagVerdictsRequest) -> SoundTagsResponse:
    confirm, reject = clean_tags(body.confirm), clean_tags(body.reject)
    if not confirm and not reject:
        raise ApiError(422, "no_tags", "give at least one tag to confirm or reject")
    if both := sorted(set(confirm) & set(reject)):
        raise ApiError(422, "conflicting_tags", f"both confirmed and rejected: {', '.join(both)}")
    if wordless := [t for t in confirm + reject if not normalise_tag(t)]:
        raise ApiError(422, "no_words", f"no word left after normalising: {', '.join(wordless)}")
    by = body.by.strip() if body.by and body.by.strip() else None
    record_verdicts(service.catalogue, row.id, {**dict.fromkeys(confirm, "confirmed"),
                                                **dict.fromkeys(reject, "rejected")}, by)  # fmt: skip
    return sound_tags_body(service.catalogue, row.id, service.catalogue_changed())
