"""Reindex jobs: started over HTTP (bearer token), run by the worker, never inside the request."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from app.api.deps import ServiceDep, require_token
from app.api.errors import ApiError, error_responses
from app.api.schemas import Job
from index.jobs import JobError, JobView
from index.reindex import ReindexError, new_reindex_job

router = APIRouter(tags=["jobs"])


class ReindexRequest(BaseModel):
    mode: str = Field("build", pattern="^(build|update)$", description="build: everything; update: changes.")
    factory: str | None = Field(None, max_length=100, examples=["HNSW32"])


def job_body(job: JobView) -> Job:
    d = job.to_dict()
    return Job(**{k: d[k] for k in Job.model_fields})


@router.post(
    "/jobs/reindex",
    response_model=Job,
    status_code=202,
    dependencies=[Depends(require_token)],
    responses=error_responses(401, 403, 422),
    summary="Queue a reindex job (bearer token)",
)
def reindex(service: ServiceDep, body: ReindexRequest | None = None) -> Job:
    body = body or ReindexRequest()
    try:
        job_id = new_reindex_job(service.jobs, body.mode, factory=body.factory)
    except ReindexError as err:
        raise ApiError(422, "invalid_job", str(err)) from None
    service.submit(job_id)
    return job_body(service.jobs.get(job_id))


@router.get("/jobs", response_model=list[Job], summary="Recent jobs, newest first")
def jobs(
    service: ServiceDep,
    state: str | None = Query(None, pattern="^(queued|running|done|failed)$"),
    limit: int = Query(20, ge=1, le=200),
) -> list[Job]:
    return [job_body(j) for j in service.jobs.list(limit, state)]


@router.get("/jobs/{job_id}", response_model=Job, responses=error_responses(404), summary="One job")
def job(service: ServiceDep, job_id: int = Path(..., ge=1, le=2**62)) -> Job:
    try:
        return job_body(service.jobs.get(job_id))
    except JobError as err:
        raise ApiError(404, "not_found", str(err)) from None
