"""What the API answers: a job as the contract's JSON (the hot path), the error bodies, and the OpenAPI document
that describes both truthfully (every status an operation can answer, with its body)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field
from starlette.routing import compile_path

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore


def job_response(store: JobStore, view: JobView) -> Response:
    """``view`` (read without its transcript) with the current transcript embedded unparsed when completed: the
    reviewed one when there is one, ``reviewed`` and ``reviewed_at`` read together with it."""
    stored: bytes | None = None
    if view.status == JobStatus.COMPLETED:
        try:
            snapshot = store.transcript_snapshot(view.job_id)
        except (JobNotFoundError, JobConflictError):
            snapshot = None  # its files are gone: the job without a result, as before
        if snapshot is not None:
            stored = snapshot.data
            view = view.model_copy(update={"reviewed": snapshot.reviewed, "reviewed_at": snapshot.reviewed_at})
    return Response(view.to_json(stored), media_type="application/json")


# --- error bodies ------------------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    """Every error answer: one plain sentence that says what is wrong (validation errors name the field)."""

    detail: str


class FailedJobDetail(ErrorDetail):
    job_id: str | None = Field(
        default=None, description="The job, when the request was accepted and its job then failed"
    )


class UnfinishedJobDetail(ErrorDetail):
    job_id: str
    status: JobStatus
    progress: int


def error(description: str, model: type[BaseModel] = ErrorDetail) -> dict[str, Any]:
    """One entry of a route's ``responses=``: an error status with its body."""
    return {"model": model, "description": description}


NO_SUCH_JOB = error("No job with this id (never created, deleted, or expired)")
INVALID_REQUEST = error("A parameter or form field is missing or invalid; detail names it")
QUEUE_UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: error("The job queue (Redis) is unavailable")}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error(
        "The form is malformed, the file is empty or not decodable audio, an option is not valid (e.g. "
        "min_speakers above max_speakers), or the Idempotency-Key header is blank or too long"
    ),
    409: error("A request with this Idempotency-Key is still being processed"),
    413: error("The file is over the upload limit (STT_MAX_UPLOAD_MB) or the audio over STT_MAX_AUDIO_SECONDS"),
    422: error(
        "A form field is missing or invalid, the body is not multipart/form-data, or the Idempotency-Key was first "
        "used with another file or options"
    ),
    **QUEUE_UNAVAILABLE,
}
WAIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **UPLOAD_ERRORS,
    422: error(f"{UPLOAD_ERRORS[422]['description']}; or the transcription failed or was canceled", FailedJobDetail),
    504: error("Still queued or running at timeout; the job goes on (poll GET /jobs/{job_id})", UnfinishedJobDetail),
}
"""The answers of an upload that waits for its job (``waiting.wait_for_job``)."""


def describe_validation_errors(errors: Iterable[Any]) -> str:
    """Pydantic's error list as one line: ``field: message; other: message``."""
    parts = []
    for item in errors:
        location = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{location}: {item.get('msg')}" if location else str(item.get("msg")))
    return "; ".join(parts)


# --- the OpenAPI document ----------------------------------------------------------------------------------------
UNAUTHORIZED = {
    "description": "A valid API key is required (Authorization: Bearer <key>, or X-API-Key)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
}
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key (stt-studio keys create)"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
_MALFORMED_JSON = {"description": "The body is not valid JSON", "content": _ERROR_CONTENT}
_MALFORMED_FORM = {"description": "The body is not valid multipart/form-data", "content": _ERROR_CONTENT}
_CONTRACT_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
    "description": "UTC, to the second, without an offset (the contract's form: 2025-01-06T10:30:00)",
}


def truthful_openapi(document: dict[str, Any], *, keys_required: bool, open_paths: Iterable[str]) -> dict[str, Any]:
    """FastAPI's document corrected to what the server does: 422 bodies are ``{"detail": str}`` (our handler's),
    not FastAPI's error list; a JSON or multipart body that does not parse is a 400; an optional form field has no
    null branch (it is left out, never sent as null); a job's times are the contract's (no offset, not RFC 3339
    date-times); and when this server requires API keys, every operation outside ``open_paths`` states its
    security and its 401."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", ErrorDetail.model_json_schema())
    validation_ref = "#/components/schemas/HTTPValidationError"
    open_paths = set(open_paths)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            invalid = responses.get("422")
            if invalid is not None and _refers_to(invalid, validation_ref):
                responses["422"] = {"description": INVALID_REQUEST["description"], "content": _ERROR_CONTENT}
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                responses.setdefault("400", _MALFORMED_JSON)
            if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
                responses.setdefault("400", _MALFORMED_FORM)
            if keys_required:
                if path in open_paths:
                    operation["security"] = []
                else:
                    responses.setdefault("401", UNAUTHORIZED)
    for name in _multipart_bodies(document):
        _without_null_branches(schemas.get(name, {}))
    for name in ("created_at", "started_at", "completed_at", "reviewed_at"):  # JobView.to_response writes them
        if name in schemas.get("JobView", {}).get("properties", {}):
            schemas["JobView"]["properties"][name]["anyOf"] = [_CONTRACT_TIME, {"type": "null"}]
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if not _refers_to(document.get("paths", {}), f"#/components/schemas/{name}"):
            schemas.pop(name, None)
    if keys_required:
        components["securitySchemes"] = _SECURITY_SCHEMES
        document["security"] = [{name: []} for name in _SECURITY_SCHEMES]
    return document


def _multipart_bodies(document: dict[str, Any]) -> set[str]:
    """The component schemas of the multipart/form-data bodies FastAPI reads itself (Form and File parameters)."""
    names: set[str] = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data", {})
            ref = form.get("schema", {}).get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                names.add(ref.removeprefix("#/components/schemas/"))
    return names


def _without_null_branches(schema: dict[str, Any]) -> None:
    """A form field is left out, never sent as null (a part "null" is the text null, or for a file no file at all):
    an optional field's ``anyOf: [X, null]`` is documented as X."""
    for field in schema.get("properties", {}).values():
        branches = field.get("anyOf")
        if branches is not None and {"type": "null"} in branches:
            others = [branch for branch in branches if branch != {"type": "null"}]
            del field["anyOf"]
            if len(others) == 1:
                field.update(others[0])
            else:
                field["anyOf"] = others


def _refers_to(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_refers_to(value, ref) for value in node.values())
    if isinstance(node, list):
        return any(_refers_to(value, ref) for value in node)
    return False


def allowed_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods the document gives the request's path, for a 405's Allow: Starlette names only the methods of
    the first route that matched the path (``GET /jobs/{id}`` and ``DELETE /jobs/{id}`` are two routes)."""
    methods: set[str] = set()
    for template, operations in document.get("paths", {}).items():
        if compile_path(template)[0].match(path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)
