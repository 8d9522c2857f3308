"""Waiting for a job inside a request: ``POST /transcribe`` and ``POST /v1/audio/transcriptions`` answer when their
job ends (same queue, same worker as ``POST /transcribe/async``)."""

from __future__ import annotations

import asyncio
import time
from functools import partial

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.store import JobStore

POLL_SECONDS = 0.05
"""One Redis read per waiting request: cheap, and adds at most 50 ms to the answer."""
STILL_RUNNING = "The transcription did not finish in time; it goes on: poll GET /jobs/{job_id}"


async def wait_for_job(store: JobStore, job_id: str, timeout: float) -> JobView | JSONResponse:
    """The completed job (read without its transcript); otherwise the answer to give: 422 when the job failed or
    was canceled, 504 when it is still queued or running after ``timeout`` seconds (the job goes on)."""
    deadline = time.monotonic() + timeout
    while True:
        view = await run_in_threadpool(partial(store.get, job_id, with_result=False))
        if view.status == JobStatus.COMPLETED:
            return view
        if view.status.is_final:
            return JSONResponse(
                {"detail": view.error or f"The job was {view.status.value}", "job_id": view.job_id}, status_code=422
            )
        if time.monotonic() >= deadline:
            return JSONResponse(
                {
                    "detail": STILL_RUNNING,
                    "job_id": view.job_id,
                    "status": view.status.value,
                    "progress": view.progress,
                },
                status_code=504,
            )
        await asyncio.sleep(POLL_SECONDS)
