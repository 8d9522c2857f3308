"""POST /transcribe/async and POST /transcribe (the contract's two ways in)."""

from __future__ import annotations

import asyncio
import time
from functools import partial

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.responses import job_response
from stt_studio.api.uploads import SubmitForm, SyncSubmitForm, accept_upload, multipart_body
from stt_studio.jobs.models import JobStatus, JobView

SUBMITTED_MESSAGE = "Job created successfully. Use GET /jobs/{job_id} to check status."

router = APIRouter(tags=["transcription"])

_POLL_SECONDS = 0.05  # one Redis read per waiting request: cheap, and adds at most 50 ms to the answer


class SubmittedJob(BaseModel):
    job_id: str
    status: str
    message: str


@router.post(
    "/transcribe/async",
    summary="Submit audio; returns a job id at once",
    openapi_extra=multipart_body(SubmitForm),
    responses={200: {"model": SubmittedJob}},
)
async def transcribe_async(request: Request, store: StoreDep, settings: SettingsDep) -> JSONResponse:
    _, view = await accept_upload(request, SubmitForm, store, settings)
    return JSONResponse({"job_id": view.job_id, "status": view.status.value, "message": SUBMITTED_MESSAGE})


@router.post(
    "/transcribe",
    summary="Submit audio and wait for the transcript (same queue and worker)",
    openapi_extra=multipart_body(SyncSubmitForm),
    responses={
        200: {"model": JobView},
        422: {"description": "The transcription failed"},
        504: {"description": "Still running at timeout"},
    },
)
async def transcribe_sync(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    form, view = await accept_upload(request, SyncSubmitForm, store, settings)
    deadline = time.monotonic() + (form.timeout or settings.sync_timeout_seconds)
    while True:
        view = await run_in_threadpool(partial(store.get, view.job_id, with_result=False))
        if view.status == JobStatus.COMPLETED:
            return await run_in_threadpool(job_response, store, view)
        if view.status.is_final:
            return JSONResponse(
                {"detail": view.error or f"The job was {view.status.value}", "job_id": view.job_id}, status_code=422
            )
        if time.monotonic() >= deadline:
            return JSONResponse(
                {
                    "detail": "The transcription did not finish in time; it goes on: poll GET /jobs/{job_id}",
                    "job_id": view.job_id,
                    "status": view.status.value,
                    "progress": view.progress,
                },
                status_code=504,
            )
        await asyncio.sleep(_POLL_SECONDS)
