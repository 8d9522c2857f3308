"""POST /transcribe/async and POST /transcribe (the contract's two ways in)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.responses import UPLOAD_ERRORS, WAIT_ERRORS, job_response
from stt_studio.api.served_models import WHISPER_1, served_models
from stt_studio.api.uploads import SubmitForm, SyncSubmitForm, accept_upload, multipart_body
from stt_studio.api.waiting import wait_for_job
from stt_studio.jobs.models import JobView
from stt_studio.settings import Settings

SUBMITTED_MESSAGE = "Job created successfully. Use GET /jobs/{job_id} to check status."


class SubmittedJob(BaseModel):
    job_id: str
    status: str
    message: str


def _request_body(form: type[SubmitForm], models: list[str]) -> dict[str, Any]:
    body = multipart_body(form)
    properties = body["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    properties["model"]["enum"] = ["", *models]  # empty: not sent (the server's model)
    return body


def router_for(settings: Settings) -> APIRouter:
    """The routes, for a server with these settings (the models a job may ask for, as its document lists them)."""
    models = [name for name in served_models(settings) if name != WHISPER_1]
    router = APIRouter(tags=["transcription"])

    @router.post(
        "/transcribe/async",
        summary="Submit audio; returns a job id at once",
        openapi_extra=_request_body(SubmitForm, models),
        responses={200: {"model": SubmittedJob}, **UPLOAD_ERRORS},
    )
    async def transcribe_async(request: Request, store: StoreDep, settings: SettingsDep) -> JSONResponse:
        _, view = await accept_upload(request, SubmitForm, store, settings)
        return JSONResponse({"job_id": view.job_id, "status": view.status.value, "message": SUBMITTED_MESSAGE})

    @router.post(
        "/transcribe",
        summary="Submit audio and wait for the transcript (same queue and worker)",
        openapi_extra=_request_body(SyncSubmitForm, models),
        responses={
            200: {"model": JobView},
            **WAIT_ERRORS,
        },
    )
    async def transcribe_sync(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
        form, view = await accept_upload(request, SyncSubmitForm, store, settings)
        outcome = await wait_for_job(store, view.job_id, form.timeout or settings.sync_timeout_seconds)
        if isinstance(outcome, JSONResponse):
            return outcome
        return await run_in_threadpool(job_response, store, outcome)

    return router
