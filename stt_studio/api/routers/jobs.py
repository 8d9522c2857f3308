"""GET /jobs/{job_id}, GET /jobs, and the additions: cancel, delete, retry and export."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, status
from fastapi.responses import PlainTextResponse, Response
from pydantic.json_schema import SkipJsonSchema

from stt_studio.api.deps import SettingsDep, StoreDep
from stt_studio.api.responses import INVALID_REQUEST, NO_SUCH_JOB, QUEUE_UNAVAILABLE, error, job_response
from stt_studio.api.routers.transcribe import SUBMITTED_MESSAGE
from stt_studio.api.served_models import job_model
from stt_studio.api.subtitle_rules_query import SubtitleRulesQuery
from stt_studio.api.uploads import MAX_MODEL_CHARS
from stt_studio.engine.options import Task, known_languages
from stt_studio.exports import (
    BINARY_FORMATS,
    FORMATS,
    MEDIA_TYPES,
    ExportFormat,
    ExportOptions,
    ExportOptionsError,
    NotDiarizedError,
    export,
    render,
    safe_stem,
)
from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.new_transcription import AUTO, NewTranscription
from stt_studio.jobs.rediarize import rediarize
from stt_studio.jobs.retranscribe import RetranscribeRequestError, retranscribe
from stt_studio.jobs.speaker_counts import MAX_SPEAKERS, SpeakerCountError, SpeakerCounts
from stt_studio.jobs.store import JobNotFoundError

router = APIRouter(tags=["jobs"])
_NO_RULES = SubtitleRulesQuery()


@router.get(
    "/jobs/{job_id}",
    summary="Status, progress and (when completed) the result of one job",
    response_class=Response,
    responses={200: {"model": JobView, "content": {"application/json": {}}}, 404: NO_SUCH_JOB, **QUEUE_UNAVAILABLE},
)
def get_job(
    job_id: str,
    store: StoreDep,
    partial_after: Annotated[
        int,
        Query(
            ge=0,
            description="Addition: `partial` has only the segments from this id on (those a client has not). Ids count "
            "from 0 again once `partial.words_aligned` is true: a client that has decoded segments then asks from 0",
        ),
    ] = 0,
) -> Response:
    view = store.get(job_id, with_result=False, with_partial=True, partial_after=partial_after)
    return job_response(store, view)


@router.get(
    "/jobs",
    summary="Recent jobs, newest first (without transcripts)",
    responses={
        400: error("Both before and after were given"),
        404: error("The cursor (before or after) is not a job"),
        **QUEUE_UNAVAILABLE,
    },
)
def list_jobs(
    store: StoreDep,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[str | None, Query(description="Only jobs older than this job id (the next page)")] = None,
    after: Annotated[str | None, Query(description="Only jobs newer than this job id (the previous page)")] = None,
) -> dict[str, Any]:
    if before is not None and after is not None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Give either before or after, not both")
    try:
        page = store.page(status_filter, limit, before=before, after=after)
    except JobNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Unknown cursor: {exc.message}") from exc
    jobs = [view.to_response(include_result=False) for view in page.jobs]
    return {
        "jobs": jobs,
        "count": len(jobs),
        "next_before": page.jobs[-1].job_id if page.jobs and page.older else None,
        "next_after": page.jobs[0].job_id if page.jobs and page.newer else None,
    }


@router.post(
    "/jobs/{job_id}/cancel",
    summary="Cancel a queued or running job",
    responses={404: NO_SUCH_JOB, 409: error("The job has already ended"), **QUEUE_UNAVAILABLE},
)
def cancel_job(job_id: str, store: StoreDep) -> dict[str, Any]:
    return store.cancel(job_id).to_response(include_result=False)


@router.delete(
    "/jobs/{job_id}",
    summary="Delete a job, its upload and its transcript (a queued or running job is canceled first)",
    responses={404: NO_SUCH_JOB, 409: error("A running job did not stop in time"), **QUEUE_UNAVAILABLE},
)
def delete_job(job_id: str, store: StoreDep) -> dict[str, Any]:
    store.discard(job_id)  # a plain def: the wait for a running job to stop blocks a pool thread, not the loop
    return {"job_id": job_id, "deleted": True}


@router.post(
    "/jobs/{job_id}/retry",
    summary="Run a failed or canceled job again as a new job (same file and options; the old job is removed)",
    responses={
        404: NO_SUCH_JOB,
        409: error("The job is not failed or canceled, or its file was not kept"),
        **QUEUE_UNAVAILABLE,
    },
)
def retry_job(job_id: str, store: StoreDep) -> dict[str, Any]:
    view = store.retry(job_id)
    return {
        "job_id": view.job_id,
        "status": view.status.value,
        "message": SUBMITTED_MESSAGE,
        "retry_of": job_id,
    }


_Count = Annotated[
    int | SkipJsonSchema[None],  # a form field is left out, never sent as null: the document says integer
    # documented, checked by SpeakerCounts: out of range is a 400 with the reason, as the other count rules
    Form(description=f"1 to {MAX_SPEAKERS}", json_schema_extra={"minimum": 1, "maximum": MAX_SPEAKERS}),
]


@router.post(
    "/jobs/{job_id}/rediarize",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Find speakers again in a completed job with other speaker counts, without transcribing again",
    description="Form fields: num_speakers (exactly N) or min_speakers/max_speakers (a range; none: the diarizer "
    "decides), and keep_review. num_speakers with min_speakers or max_speakers, or min_speakers above max_speakers, "
    "is a 400. The "
    "job runs again from its diarization stage (its transcription stages show reused: true in stages). A reviewed "
    "transcript needs keep_review=true: its text edits stay, the new speakers go on its words by their times, and "
    "names given to speakers carry over to the new speakers that are clearly the same.",
    responses={
        400: error("Speaker counts that contradict each other or lie outside 1..20 (detail says which)"),
        404: NO_SUCH_JOB,
        409: error(
            "The job is queued or running, did not complete, kept nothing to find speakers from, or its transcript "
            "was reviewed and keep_review was not true (detail says which)"
        ),
        422: INVALID_REQUEST,
        **QUEUE_UNAVAILABLE,
    },
)
def rediarize_job(
    job_id: str,
    store: StoreDep,
    num_speakers: _Count = None,
    min_speakers: _Count = None,
    max_speakers: _Count = None,
    keep_review: Annotated[
        bool, Form(description="On a reviewed transcript: keep its edits and put the new speakers on its words")
    ] = False,
) -> dict[str, Any]:
    store.get(job_id, with_result=False)  # an unknown job is a 404 whatever the counts
    try:
        counts = SpeakerCounts(num_speakers, min_speakers, max_speakers)
    except SpeakerCountError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    view = rediarize(store, job_id, counts, keep_review=keep_review)
    return {"job_id": view.job_id, "status": view.status.value, "message": "Finding speakers again"}


def document_served_models(document: dict[str, Any], models: list[str]) -> None:
    """The retranscribe form's ``model`` lists this server's models, as the submit forms' do (the route is one for
    every server; the document is built per server): a name not listed is a 400."""
    schema = document["paths"]["/jobs/{job_id}/retranscribe"]["post"]["requestBody"]["content"]
    ref = schema["application/x-www-form-urlencoded"]["schema"]["$ref"]
    form = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    form["properties"]["model"]["enum"] = ["", *models]  # empty: the server's model


@router.post(
    "/jobs/{job_id}/retranscribe",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Transcribe a completed job again with another model, language or task, keeping its speech regions",
    description="Form fields: model (a model this server has, as at submit), language (a code, or auto), task "
    "(transcribe or translate), discard_review; at least one of model, language and task must differ from the "
    "job's (else 409: the same form is right for another job). The job runs again under its own id: its speech "
    "regions are read back (vad, and diarizing for a diarized job, show reused: true in stages), transcription "
    "and alignment run again. A reviewed "
    "transcript needs discard_review=true: the text changes, so the review is discarded (kept in its history).",
    responses={
        400: error("An unknown model or language, or a translation asked of a named model that cannot do it"),
        404: NO_SUCH_JOB,
        409: error(
            "Nothing would change for this job, or its own model cannot translate; the job is queued or running, did "
            "not complete, kept no audio to transcribe again, or its transcript was reviewed and discard_review was "
            "not true (detail says which)"
        ),
        422: INVALID_REQUEST,
        **QUEUE_UNAVAILABLE,
    },
)
def retranscribe_job(
    job_id: str,
    store: StoreDep,
    settings: SettingsDep,
    model: Annotated[
        str | SkipJsonSchema[None],
        Form(max_length=MAX_MODEL_CHARS, description="A Whisper model by name (GET /v1/models); default: the job's"),
    ] = None,
    language: Annotated[
        str | SkipJsonSchema[None],
        Form(
            description=f"A language code (e.g. en), or {AUTO} to detect it; default: the job's",
            json_schema_extra={"enum": ["", AUTO, *sorted(known_languages())]},  # as at submit
        ),
    ] = None,
    task: Annotated[
        Task | SkipJsonSchema[None], Form(description="transcribe or translate; default: the job's")
    ] = None,
    discard_review: Annotated[
        bool, Form(description="On a reviewed transcript: discard the review (the text is transcribed anew)")
    ] = False,
) -> dict[str, Any]:
    store.get(job_id, with_result=False)  # an unknown job is a 404 whatever the form
    requested = (model or "").strip()
    served = (job_model(requested, settings) or "") if requested else None  # 400 for a model not served here
    change = NewTranscription(model=served, language=language, task=task)
    try:
        view = retranscribe(store, job_id, change, settings.whisper_model_size, discard_review=discard_review)
    except RetranscribeRequestError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    return {"job_id": view.job_id, "status": view.status.value, "message": "Transcribing again"}


def _attachment(stem: str, extension: str) -> str:
    """A Content-Disposition naming the download: an ASCII ``filename`` for every client, ``filename*`` (RFC 6266)
    keeping the real name when it is not ASCII."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in ascii_stem).strip() or "transcript"
    filename = f"{stem}.{extension}"
    disposition = f'attachment; filename="{ascii_stem}.{extension}"'
    return disposition if ascii_stem == stem else f"{disposition}; filename*=UTF-8''{quote(filename)}"


@router.get(
    "/jobs/{job_id}/export",
    summary=f"The transcript as {', '.join(FORMATS)} (rttm: diarized jobs only)",
    response_model=None,
    responses={
        200: {"content": {media_type: {} for media_type in MEDIA_TYPES.values()}},
        404: NO_SUCH_JOB,
        400: error("Subtitle rules that contradict each other (detail says which), e.g. speaker_dash without speakers"),
        409: error("The job has not completed, or rttm was asked of a job that was not diarized"),
        422: INVALID_REQUEST,
        **QUEUE_UNAVAILABLE,
    },
)
def export_job(
    job_id: str,
    store: StoreDep,
    fmt: Annotated[ExportFormat, Query(alias="format")],
    include_speakers: Annotated[
        bool, Query(description="Speaker labels in txt, srt, vtt, docx and the tool formats")
    ] = True,
    include_timestamps: Annotated[bool, Query(description="Times in txt and docx")] = True,
    max_line_width: Annotated[
        int | None, Query(ge=1, description="srt/vtt: wrap lines at this many characters")
    ] = None,
    max_line_count: Annotated[
        int | None, Query(ge=1, description="srt/vtt: at most this many lines per cue (needs max_line_width)")
    ] = None,
    rules: Annotated[SubtitleRulesQuery, Depends()] = _NO_RULES,
) -> Response:
    try:
        options = ExportOptions(include_speakers, include_timestamps, max_line_width, max_line_count)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    try:
        options = rules.applied_to(options)
    except ExportOptionsError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    view = store.get(job_id)
    if view.result is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"Job {job_id} is {view.status.value}; only completed jobs export"
        )
    try:
        if fmt in BINARY_FORMATS:
            data = render(view.result, fmt, options, title=view.filename, date=view.completed_at)
            headers = {"Content-Disposition": _attachment(safe_stem(view.filename or job_id), fmt)}
            return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)
        text = export(view.result, fmt, options, title=view.filename)
        return PlainTextResponse(text, media_type=MEDIA_TYPES[fmt])
    except NotDiarizedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
