"""GET /jobs/{job_id}, GET /jobs, and the additions: cancel and export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import PlainTextResponse, Response

from stt_studio.api.deps import StoreDep
from stt_studio.api.responses import job_response
from stt_studio.exports import MEDIA_TYPES, export
from stt_studio.jobs.models import JobStatus, JobView

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}",
    summary="Status, progress and (when completed) the result of one job",
    response_class=Response,
    responses={200: {"model": JobView, "content": {"application/json": {}}}},
)
def get_job(job_id: str, store: StoreDep) -> Response:
    return job_response(store, store.get(job_id, with_result=False))


@router.get("/jobs", summary="Recent jobs, newest first (without transcripts)")
def list_jobs(
    store: StoreDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    jobs = [view.to_response(include_result=False) for view in store.list(status_filter, limit)]
    return {"jobs": jobs, "count": len(jobs)}


@router.post("/jobs/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel_job(job_id: str, store: StoreDep) -> dict[str, Any]:
    return store.cancel(job_id).to_response(include_result=False)


@router.get(
    "/jobs/{job_id}/export",
    summary="The transcript as json, txt, srt, vtt, tsv or rttm (diarized jobs)",
    response_model=None,
)
def export_job(
    job_id: str,
    store: StoreDep,
    fmt: Annotated[Literal["json", "txt", "srt", "vtt", "tsv", "rttm"], Query(alias="format")],
) -> PlainTextResponse:
    view = store.get(job_id)
    if view.result is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"Job {job_id} is {view.status.value}; only completed jobs export"
        )
    try:
        text = export(view.result, fmt)
    except ValueError as exc:  # rttm of a job that was not diarized
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return PlainTextResponse(text, media_type=MEDIA_TYPES[fmt])
