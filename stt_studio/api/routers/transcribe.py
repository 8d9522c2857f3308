"""POST /transcribe/async and POST /transcribe (the contract's two ways in)."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.responses import job_response
from stt_studio.api.uploads import accept_upload
from stt_studio.jobs.models import JobOptions, JobStatus

router = APIRouter(tags=["transcription"])

_POLL_SECONDS = 0.05  # one Redis read per waiting request: cheap, and adds at most 50 ms to the answer
_SpeakerCount = Annotated[int | None, Form(ge=1, le=20, description="Speaker count hint (diarization)")]


async def form_options(
    enable_diarization: Annotated[bool, Form(description="Label segments and words with speakers")] = False,
    language: Annotated[str | None, Form(description="Language code (e.g. en); detected when empty")] = None,
    num_speakers: _SpeakerCount = None,
    min_speakers: _SpeakerCount = None,
    max_speakers: _SpeakerCount = None,
) -> JobOptions:
    language = (language or "").strip().lower() or None
    return JobOptions(
        language=None if language == "auto" else language,
        enable_diarization=enable_diarization,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )


OptionsDep = Annotated[JobOptions, Depends(form_options)]
AudioFile = Annotated[UploadFile, File(description="Audio or video file (anything FFmpeg decodes)")]


@router.post("/transcribe/async", summary="Submit audio; returns a job id at once")
def transcribe_async(file: AudioFile, options: OptionsDep, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    view = accept_upload(file, options, store, settings)
    return {
        "job_id": view.job_id,
        "status": view.status.value,
        "message": "Job created successfully. Use GET /jobs/{job_id} to check status.",
    }


@router.post(
    "/transcribe",
    summary="Submit audio and wait for the transcript (same queue and worker)",
    responses={422: {"description": "The transcription failed"}, 504: {"description": "Still running at timeout"}},
)
async def transcribe_sync(
    file: AudioFile,
    options: OptionsDep,
    store: StoreDep,
    settings: SettingsDep,
    timeout: Annotated[float | None, Form(gt=0, le=24 * 3600, description="Seconds to wait")] = None,
) -> Any:
    view = await run_in_threadpool(accept_upload, file, options, store, settings)
    deadline = time.monotonic() + (timeout or settings.sync_timeout_seconds)
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
