"""An uploaded clip offered for the catalogue, with the tags its uploader confirmed.

The file is kept under DATA_DIR/uploads/ (named by its content hash) and ingested as a sound of the
`uploads` source; its tags are recorded as confirmed by the uploader, and the index update the
request queues embeds it (features go into the shared cache there, in the one job worker).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, UploadFile

from app.api.deps import ServiceDep, require_token
from app.api.errors import ApiError, error_responses
from app.api.results import sound_tags_body
from app.api.schemas import SoundTagsResponse
from app.api.uploads import decode_upload, read_upload
from index.catalogue.queries import live_ids_by_uid, record_verdicts
from index.ingest import clean_tags, ingest
from index.metadata import SoundRecord
from model.cache import FeatureCache
from model.files import write_atomic
from model.tags import normalise_tag

router = APIRouter(tags=["tags"])
SOURCE = "uploads"


@router.post(
    "/sounds",
    status_code=201,
    response_model=SoundTagsResponse,
    dependencies=[Depends(require_token)],
    responses=error_responses(401, 403, 409, 413, 415, 422),
    summary="Add an uploaded clip to the catalogue with the tags you confirm (bearer token)",
    description="`tags`: comma-separated, recorded as confirmed by `by`. The sound is searchable once the "
    "index update the request queues has run (`reindex_job`). 409 when the same audio is in the "
    "catalogue already.",
)
def add_sound(
    service: ServiceDep,
    file: UploadFile | None = File(None, description="Audio: WAV, FLAC, Ogg, Opus, MP3, AIFF."),
    tags: str = Form(..., max_length=2000, examples=["dog, bark"]),
    name: str | None = Form(None, max_length=300),
    license: str | None = Form(None, max_length=200),
    by: str | None = Form(None, max_length=200),
) -> SoundTagsResponse:
    confirmed = clean_tags(tags.split(","))
    if not confirmed or not all(normalise_tag(t) for t in confirmed):
        raise ApiError(422, "no_words", "give the tags as words, comma-separated: dog, bark")
    data = read_upload(file, service.settings.upload_max_bytes)
    decode_upload(data, service.limits)  # 413 / 415 / 422 before anything is kept
    content_hash = hashlib.sha256(data).hexdigest()
    folder = service.settings.data_dir / SOURCE
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(file.filename or "").suffix.lower()[:8] or ".audio"
    record_id = content_hash[:16]
    kept = folder / f"{record_id}{suffix}"
    if f"{SOURCE}:{record_id}" in live_ids_by_uid(service.catalogue):
        raise ApiError(409, "duplicate", "this clip was added already")
    write_atomic(kept, lambda f: f.write(data))
    title = (name or Path(file.filename or record_id).stem).strip() or record_id
    record = SoundRecord(record_id, title, tags=confirmed, license=license, username=by, file=kept.name)
    with tempfile.TemporaryDirectory() as scratch:  # features are cached by the job worker, not here
        summary = ingest(service.catalogue, folder, [record], FeatureCache(Path(scratch)), source_name=SOURCE,
                         source_kind="upload", limits=service.rt.limits, progress=False)  # fmt: skip
    if summary.rejected:
        kept.unlink(missing_ok=True)
        reason = summary.rejected[0][1]
        if reason.startswith("duplicate"):
            raise ApiError(409, "duplicate", f"the same audio is in the catalogue already ({reason})")
        raise ApiError(422, "not_ingested", reason)
    sound_id = live_ids_by_uid(service.catalogue)[f"{SOURCE}:{record_id}"]
    record_verdicts(service.catalogue, sound_id, dict.fromkeys(confirmed, "confirmed"), by)
    return sound_tags_body(service.catalogue, sound_id, service.catalogue_changed())
