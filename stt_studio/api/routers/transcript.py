"""The reviewed transcript: read it with its version (ETag), replace it (If-Match), revert it; the engine's original
stays readable. Additions to the contract."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import JSONResponse, Response
from pydantic import BeforeValidator

from stt_studio.api.deps import StoreDep
from stt_studio.api.responses import NO_SUCH_JOB, ErrorDetail, error
from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.review import (
    TranscriptBusyError,
    TranscriptInvalidError,
    TranscriptSnapshot,
    TranscriptVersionError,
    etag_matches,
    normalized,
    stored_bytes,
)

router = APIRouter(tags=["transcript"])


class StaleVersion(ErrorDetail):
    etag: str


REVIEWED_HEADER = "X-Transcript-Reviewed"
"""``true`` when the transcript sent is the reviewed one, ``false`` for the engine's."""


_PRECONDITION_REQUIRED = (
    "Send If-Match with the transcript's ETag (from GET /jobs/{job_id}/transcript), or If-Match: * to replace "
    "whatever version is stored"
)
_TRANSCRIPT: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TranscriptionResult,
        "description": f"The transcript; its version is the ETag header, and {REVIEWED_HEADER} says whether it is "
        "the reviewed one",
    },
}
_READ_ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "If-None-Match names the current version"},
    404: NO_SUCH_JOB,
    409: error("The job has no transcript: it has not finished, or it failed or was canceled"),
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: NO_SUCH_JOB,
    409: _READ_ERRORS[409],
    412: error("If-Match does not name the current version (which the body and the ETag header give)", StaleVersion),
    428: error("If-Match is missing or blank"),
    503: error("Another writer has held the transcript's lock for too long"),
}


def _transcript(data: bytes, etag: str, *, reviewed: bool) -> Response:
    headers = {"ETag": etag, REVIEWED_HEADER: "true" if reviewed else "false"}
    return Response(data, media_type="application/json", headers=headers)


def _read(snapshot: TranscriptSnapshot, if_none_match: str | None) -> Response:
    if if_none_match is not None and etag_matches(if_none_match, snapshot.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": snapshot.etag})
    return _transcript(snapshot.data, snapshot.etag, reviewed=snapshot.reviewed)


def _stale(error: TranscriptVersionError) -> JSONResponse:
    detail = (
        f"The transcript has changed since you read it: the current version is {error.current_etag}. "
        "Read it again and apply your change to that."
    )
    return JSONResponse(
        {"detail": detail, "etag": error.current_etag},
        status_code=status.HTTP_412_PRECONDITION_FAILED,
        headers={"ETag": error.current_etag},
    )


def _precondition(if_match: str | None) -> str | None:
    """The store's condition from a required If-Match: None (any version) for ``*``."""
    if if_match is None or not if_match.strip():
        raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED, _PRECONDITION_REQUIRED)
    return None if if_match.strip() == "*" else if_match


# Required, yet declared optional: without it the answer is 428 Precondition Required (RFC 6585), not the 422 of a
# missing parameter. The document states it as required (an ETag or *; blank counts as missing), in _NEEDS_IF_MATCH.
IfMatch = Annotated[str | None, Header(include_in_schema=False)]
_NEEDS_IF_MATCH: dict[str, Any] = {
    "parameters": [
        {
            "name": "if-match",
            "in": "header",
            "required": True,
            "description": "The ETag the change is based on (from GET), or * for any version; missing or blank: 428",
            "schema": {"type": "string", "pattern": r"\S", "title": "If-Match"},
        }
    ]
}


def _strictly(value: Any) -> Any:
    """Every field of the JSON types its schema states: lax parsing would take `false` or "1.5" for a number."""
    return TranscriptionResult.model_validate(value, strict=True) if isinstance(value, dict) else value


TranscriptBody = Annotated[TranscriptionResult, BeforeValidator(_strictly)]

_UNWRITABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
"""Control characters (line breaks too) and lone surrogates (JSON escapes can carry them; UTF-8 cannot)."""


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode()


def _unwritable_text(value: Any, where: str = "") -> str | None:
    """Where in a dumped result a string (or a speaker label used as a key) holds a character that no export can
    write: DOCX is XML, SRT and RTTM are lines, every file UTF-8. The store checks texts and names against the
    audio; this covers every other string (language, model, speaker labels, ...). None when there is none."""
    if isinstance(value, str):
        return where if _UNWRITABLE.search(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        name = _UNWRITABLE.sub(_escaped, key) if isinstance(key, str) else key  # a key may be the culprit
        at = f"{where}[{name}]" if isinstance(key, int) else f"{where}.{name}" if where else str(name)
        found = (_unwritable_text(key, at) if isinstance(key, str) else None) or _unwritable_text(item, at)
        if found is not None:
            return found
    return None


IfNoneMatch = Annotated[str | None, Header(description="An ETag already held: 304 when it is still current")]


@router.get(
    "/jobs/{job_id}/transcript",
    summary="The current transcript: the reviewed one if the job was reviewed, else the engine's",
    response_class=Response,
    responses={**_TRANSCRIPT, **_READ_ERRORS},
)
def get_transcript(job_id: str, store: StoreDep, if_none_match: IfNoneMatch = None) -> Response:
    return _read(store.transcript_snapshot(job_id), if_none_match)


@router.get(
    "/jobs/{job_id}/transcript/original",
    summary="The engine's transcript as it was produced, whatever review changed since",
    response_class=Response,
    responses={**_TRANSCRIPT, **_READ_ERRORS},
)
def get_original_transcript(job_id: str, store: StoreDep, if_none_match: IfNoneMatch = None) -> Response:
    return _read(store.original_snapshot(job_id), if_none_match)


@router.put(
    "/jobs/{job_id}/transcript",
    summary="Replace the reviewed transcript (the engine's original is kept); needs If-Match",
    description="The body is a result object, as GET returns it. It must fit the audio: `duration` stays the one "
    "GET gives (the audio's length), times inside it, start ≤ end, segments and their words in time order, scores "
    "between 0 and 1. No string may hold a line break or another control character. A schema-valid body that "
    "breaks these rules is a 422. The whole `text` is rebuilt from the segments. Speaker names go in `speaker_names` "
    '(`{"SPEAKER_00": "Dr. Chen"}`) and appear in every export.',
    response_class=Response,
    openapi_extra=_NEEDS_IF_MATCH,
    responses={
        **_TRANSCRIPT,
        **_WRITE_ERRORS,
        422: error("The body is not a result object, or it does not fit the audio; detail says where"),
    },
)
def put_transcript(job_id: str, result: TranscriptBody, store: StoreDep, if_match: IfMatch = None) -> Response:
    condition = _precondition(if_match)
    if (where := _unwritable_text(result.model_dump())) is not None:
        detail = f"{where}: contains a line break, another control character or a lone surrogate"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    try:
        etag = store.save_transcript(job_id, result, if_match=condition)
    except TranscriptVersionError as exc:
        return _stale(exc)
    except TranscriptInvalidError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except TranscriptBusyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    # What was stored, not a re-read: another PUT may already have replaced it.
    return _transcript(stored_bytes(normalized(result)), etag, reviewed=True)


@router.delete(
    "/jobs/{job_id}/transcript",
    summary="Revert to the engine's transcript (the reviewed one is set aside in the job's history); needs If-Match",
    description="Deletes the review, not the transcript: GET /jobs/{job_id}/transcript then answers the engine's "
    "transcript (200), as this answer does.",
    response_class=Response,
    openapi_extra=_NEEDS_IF_MATCH,
    responses={**_TRANSCRIPT, **_WRITE_ERRORS},
)
def revert_transcript(job_id: str, store: StoreDep, if_match: IfMatch = None) -> Response:
    condition = _precondition(if_match)
    try:
        store.revert_transcript(job_id, if_match=condition)
    except TranscriptVersionError as exc:
        return _stale(exc)
    except TranscriptBusyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    original = store.original_snapshot(job_id)
    return _transcript(original.data, original.etag, reviewed=False)
