"""Schemathesis hooks (``schemathesis.toml`` loads them): what a JSON Schema cannot say about STT Studio's API.

An upload's ``file`` must be audio that FFmpeg decodes; the server checks that before it creates a job and answers
400 otherwise. JSON Schema has no keyword for "decodable audio": ``format: binary`` admits any bytes, so the files
schemathesis draws for it (a PNG, a ZIP, random bytes) are schema-valid and rightly refused, and its check that
schema-valid requests are accepted would fail on every upload. Here ``binary`` draws short WAV files instead,
silence or a tone of a second or less: every check still runs unchanged, and each accepted upload is a real job
that the worker finishes in milliseconds (no speech, so no decoding by the model).
"""

from __future__ import annotations

import io
import math
import re
import struct
import time
import uuid
import wave
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, HookContext

from stt_studio.api.routers.openai_compat import OpenAITranscriptionForm
from stt_studio.api.uploads import SubmitForm, SyncSubmitForm
from stt_studio.engine.translation import translation_refusal


def wav(seconds: float, rate: int = 16000, frequency: float = 0.0) -> bytes:
    """A mono 16-bit WAV file: silence, or a sine tone at ``frequency`` Hz."""
    samples = int(seconds * rate)
    level = 8000 if frequency else 0
    frames = b"".join(
        struct.pack("<h", int(level * math.sin(2 * math.pi * frequency * i / rate))) for i in range(samples)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


AUDIO_FILES = (wav(1.0), wav(0.5, 8000, 440.0), wav(0.25, 44100))

schemathesis.openapi.format("binary", st.sampled_from(AUDIO_FILES))


# --- rules between fields: JSON Schema states each field, not how two relate ------------------------------------
# Each is stated in the document's prose; here a positive (schema-valid) case is made to follow it, so that the
# check "schema-valid requests are accepted" tests what the API promises. Negative cases are left as drawn.


def _fresh_idempotency_key(case: Case[Any]) -> None:
    """A key names one submission: reused with another file or options it is refused (422, as the IETF draft
    says). Drawn keys repeat ("0"), so each positive request gets its own."""
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


def _follows_body_rules(body: dict[str, Any]) -> bool:
    """min_speakers must not be above max_speakers; a callback_url must be a URL the server may call
    (STT_WEBHOOK_ALLOWED_HOSTS), which no drawn string is. (Cases are dropped rather than mended: after a change
    to a multipart body with a file in it, schemathesis counts the case as schema-violating.)"""
    low, high = body.get("min_speakers"), body.get("max_speakers")
    exact_and_range = body.get("num_speakers") is not None and (low is not None or high is not None)
    return (
        not (isinstance(low, int) and isinstance(high, int) and low > high)
        and "callback_url" not in body
        and not exact_and_range  # POST /jobs/{job_id}/rediarize: exactly N or a range, not both (400)
    )


SERVER_MODEL = "tiny.en"
"""The model of the servers the runs are against (tests.live.service_env): English-only, it cannot translate."""


def _translation_possible(case: Case[Any], body: dict[str, Any]) -> bool:
    """A translation (``task=translate``, or the translations route) must run on a model that can translate: the
    server refuses one on tiny.en with 400, as the document says in prose."""
    translating = case.operation.path.endswith("/audio/translations") or body.get("task") == "translate"
    model = body.get("model") or SERVER_MODEL
    return not translating or translation_refusal(SERVER_MODEL if model == "whisper-1" else str(model)) is None


def _one_cursor(query: dict[str, Any]) -> None:
    """GET /jobs takes before or after, not both."""
    if "before" in query and "after" in query:
        del query["after"]


def _export_options_agree(query: dict[str, Any]) -> None:
    """export: max_line_count only with max_line_width; the subtitle rules only where they do not contradict each
    other (ExportOptions.conflicts: 400)."""
    if "max_line_count" in query and "max_line_width" not in query:
        del query["max_line_count"]
    if query.get("subtitle_guideline") in (True, "true"):
        query.pop("max_line_count", None)  # the guideline's dash needs 2 lines or more
        query.pop("min_cue_seconds", None)  # and its 5/6 to 7 s must not cross what is given
        query.pop("max_cue_seconds", None)
    if query.get("balance_lines") in (True, "true") and "max_line_width" not in query:
        del query["balance_lines"]
    dash_room = query.get("include_speakers") not in (False, "false") and int(query.get("max_line_count") or 0) >= 2
    if query.get("speaker_dash") in (True, "true") and not dash_room:
        del query["speaker_dash"]
    low, high = query.get("min_cue_seconds"), query.get("max_cue_seconds")
    if low is not None and high is not None and float(low) > float(high):
        del query["min_cue_seconds"]


def _current_version(case: Case[Any]) -> None:
    """A transcript write names the version it replaces (If-Match); a drawn ETag is never the current one."""
    if case.headers and "If-Match" in case.headers:  # case-insensitive: the document names it if-match
        case.headers["If-Match"] = "*"


_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # lone surrogates too (never drawn: hypothesis leaves them out)


def _plain(value: Any) -> Any:
    """``value`` with every control character of its strings and keys made a space."""
    if isinstance(value, str):
        return _CONTROL.sub(" ", value)
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _plain_text(case: Case[Any]) -> None:
    """PUT /jobs/{job_id}/transcript: no string of a transcript may hold a line break or another control
    character (DOCX exports are XML, SRT and RTTM are lines): the description says so, a schema's `string` does
    not. A space replaces each one drawn in a positive body; the rest of each string stays as drawn."""
    if isinstance(case.body, dict):
        case.body = _plain(case.body)


_AUDIO_BOUND = ("duration", "segments", "speakers", "speaker_turns", "speaker_names")
"""The fields of a transcript that must fit its job's audio (PUT /jobs/{job_id}/transcript's description)."""


def _fits_the_audio(case: Case[Any]) -> None:
    """A transcript written with PUT /jobs/{job_id}/transcript must fit its job's audio: the duration stays the
    audio's length, times lie inside it, in order, scores between 0 and 1 (the operation's description). That is a
    rule between the body and the job, beyond what a schema can say: drawn bodies are schema-valid and rightly
    refused (422). So when the job has a transcript, a positive body takes those fields from it (GET, with the
    run's own headers) and keeps what was drawn for all others (language, model, text, warnings, extra fields):
    the server still parses, stores and serves drawn values. A job still queued or running is waited for first
    (jobs here take milliseconds): one that ended between this read and the PUT would meet a body drawn blind.
    Without a transcript (no such job, or it failed) the body stays as drawn, and the server's 404 or 409 comes
    before the body's fit is looked at."""
    if not isinstance(case.body, dict) or not case.path_parameters:
        return
    schema = case.operation.schema
    job_url = f"{schema.get_base_url().rstrip('/')}/jobs/{case.path_parameters['job_id']}"
    with httpx.Client(headers=schema.config.headers_for(operation=case.operation), timeout=30) as client:
        try:
            _until_ended(client, job_url)
            current = client.get(f"{job_url}/transcript")
        except httpx.HTTPError:
            return  # the PUT itself will meet whatever went wrong
    if current.status_code == 200:
        transcript = current.json()
        case.body = {**case.body, **{name: transcript[name] for name in _AUDIO_BOUND if name in transcript}}


_JOB_WAIT_SECONDS = 30.0


def _until_ended(client: httpx.Client, job_url: str) -> None:
    """Wait (at most _JOB_WAIT_SECONDS) for a job that is still queued or running to end."""
    deadline = time.monotonic() + _JOB_WAIT_SECONDS
    while time.monotonic() < deadline:
        job = client.get(job_url)
        if job.status_code != 200 or job.json()["status"] not in ("queued", "processing"):
            return
        time.sleep(0.05)


# --- DELETE /jobs/{job_id}/transcript is left out of the stateful phase (schemathesis.toml) ---------------------
# It deletes the review, not the transcript: the engine's transcript becomes current again, and GET
# /jobs/{job_id}/transcript answers it (200), as the DELETE's own answer does. That is the design (the operation's
# description says so; a remote desktop reverts this way, via stt_studio.client). Schemathesis's use-after-free check
# (ST301) holds that after a successful DELETE of a path, that path and every path below it answer 404; its
# stateful phase chains POST /transcribe/async -> DELETE /jobs/{id}/transcript -> GET /jobs/{id}/transcript and
# reports the 200. (This was the one ST301 seen: it comes whenever the job has finished before the DELETE.) No
# OpenAPI keyword says "this DELETE resets rather than removes", and a link cannot tell the check either: it looks
# at every request of the scenario, not only along links. So this operation is not chained in the stateful phase;
# every check stays on, and for every other DELETE (DELETE /jobs/{job_id} -> GET /jobs/{job_id}/...: 404)
# ST301 still applies. The operation still runs in the coverage and fuzzing phases (428 without If-Match, 404, the
# error bodies), and tests/test_review_api.py reverts real reviewed jobs and reads the transcript afterwards.


_BOOLEAN_FORM_FIELDS = frozenset(
    field.alias or name
    for form in (SubmitForm, SyncSubmitForm, OpenAITranscriptionForm)
    for name, field in form.model_fields.items()
    if field.annotation in (bool, bool | None)
)


_TEXT_FORM_FIELDS = frozenset(
    field.alias or name
    for form in (SubmitForm, SyncSubmitForm, OpenAITranscriptionForm)
    for name, field in form.model_fields.items()
    if field.annotation in (str, str | None)
)
"""Form fields that take any text (within a length): prompt, model, language, callback_url, chunking_strategy."""


def _wire_can_tell(body: dict[str, Any]) -> bool:
    """A multipart form has parts, not types. An empty list is sent as no part at all, exactly like an optional
    field left out; and a list field (our list fields end in []) is its name repeated once per item, so one string
    in its place is one part, exactly a list of that one item. A "negative" case that makes a field an empty list,
    or a list field a string, is on the wire a valid request (the string's value is still checked as an item).
    A boolean is sent as its text, "true" or "false": a case that turns a field's string into a boolean (seen:
    enable_diarization's string branch) is the same request as that string, so the wire cannot tell it either;
    a boolean where a number belongs is still drawn as its text, a string, and checked. A boolean field takes 0
    and 1 too (documented as such: a branch of its anyOf): a case that "turns its boolean branch into an integer"
    and draws 0 or 1 is a valid request (seen: identify_speakers=0, ST201). Likewise any value in a field that takes
    any text: an object, a list, a number or null is sent as its JSON text, which is a valid value of the field
    (seen: an object as the prompt, ST201); the server still checks that text as it checks any other."""
    for name, value in body.items():
        if isinstance(value, bool):
            return False
        if name in _TEXT_FORM_FIELDS and not isinstance(value, str):
            return False
        if name in _BOOLEAN_FORM_FIELDS and type(value) is int and value in (0, 1):
            return False
        if name.endswith("[]") and isinstance(value, str):
            return False
        if not name.endswith("[]") and value == []:
            return False
    return True


def _one_voice_source(case: Case[Any], body: dict[str, Any]) -> bool:
    """Enrolling a voice (POST /voices, POST /voices/{voice_id}/samples) takes a job's speaker (job_id and speaker)
    or a clip (file), not both, as the operations say in prose. A clip must hold 5 s or more of one voice's speech,
    which no drawn file does (they are short silent WAV files: 422 saying so, as documented), so positive cases
    with a file are dropped: tests/test_voice_clips_api.py sends real speech clips."""
    if not case.operation.path.startswith("/voices") or case.method.upper() != "POST":
        return True
    return "file" not in body and "job_id" in body and "speaker" in body


def _no_speaker_references(body: dict[str, Any]) -> bool:
    """known_speaker_references[] must be data URLs of 2-10 s of one voice each, one per known_speaker_names[]
    entry (the operation's description): no drawn string is such a clip, so positive cases that send either list
    are dropped (a 400 names the problem, as documented); tests/test_openai_speaker_references.py sends real
    ones."""
    return not body.get("known_speaker_names[]") and not body.get("known_speaker_references[]")


@schemathesis.hook
def filter_case(context: HookContext, case: Case[Any]) -> bool:
    if case.meta is None or not isinstance(case.body, dict):
        return True
    if case.meta.generation.mode.is_positive:
        return (
            _follows_body_rules(case.body)
            and _translation_possible(case, case.body)
            and _one_voice_source(case, case.body)
            and _no_speaker_references(case.body)
        )
    return case.media_type != "multipart/form-data" or _wire_can_tell(case.body)


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    _fresh_idempotency_key(case)
    _current_version(case)
    if case.operation.path == "/jobs/{job_id}/transcript" and case.method.upper() == "PUT":
        _plain_text(case)
        _fits_the_audio(case)
    if case.query:
        if case.operation.path == "/jobs":
            _one_cursor(case.query)
        if case.operation.path == "/jobs/{job_id}/export":
            _export_options_agree(case.query)
