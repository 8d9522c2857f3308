"""A typed client for STT Studio's REST API: what the desktop's remote mode (and scripts) use to drive a server.

Synchronous on purpose: the desktop calls it from executor threads (the GUI thread never waits on the network),
and a script can use it as it is. Every failure is one of the ``ClientError`` kinds below, each with a sentence
a person can act on; httpx's exceptions never leave this module.
"""

from __future__ import annotations

import mimetypes
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
from httpx_sse import ServerSentEvent, connect_sse

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.models import JobOptions, JobStatus, JobView, QueueStats
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.voices.summary import (
    ClipSpeakerSummary,
    EnrollOutcome,
    RefreshOutcome,
    VoiceListing,
    VoiceSummary,
)

API_MAJOR_VERSION = 0
"""Servers whose version has another major number speak another API (0.x: any 0.x)."""
_UPLOAD_CHUNK = 256 * 1024
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ClientError(Exception):
    """Anything that went wrong talking to the server; ``str()`` is a sentence for the user."""


class ServerUnreachableError(ClientError):
    """No answer: the server is down, restarting, or the network is gone. Worth retrying."""


class AuthenticationError(ClientError):
    pass


class IncompatibleServerError(ClientError):
    pass


class UploadCanceledError(ClientError):
    pass


class TranscriptVersionConflictError(ClientError):
    """The transcript was saved by someone else since ``etag`` was read."""

    def __init__(self, message: str, current_etag: str | None) -> None:
        super().__init__(message)
        self.current_etag = current_etag


class ApiError(ClientError):
    """The server refused the request (4xx/5xx) and said why."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code


class SeveralVoicesInClipError(ApiError):
    """A clip sent to be a voice holds several (409): ``speakers`` lists them, most speech first."""

    def __init__(self, detail: str, speakers: tuple[ClipSpeakerSummary, ...]) -> None:
        super().__init__(409, detail)
        self.speakers = speakers


@dataclass(frozen=True)
class ServerInfo:
    url: str
    version: str
    workers: int
    redis_healthy: bool


@dataclass(frozen=True)
class RemoteTranscript:
    result: TranscriptionResult
    etag: str | None
    reviewed: bool


@dataclass(frozen=True)
class JobPageResult:
    jobs: list[JobView]
    next_before: str | None
    next_after: str | None


class _ProgressReader:
    """The upload's file as httpx reads it: counts bytes for a progress bar and stops when canceled."""

    def __init__(
        self,
        file: IO[bytes],
        total: int,
        on_progress: Callable[[int, int], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        self._file = file
        self._total = total
        self._sent = 0
        self._on_progress = on_progress
        self._cancel = cancel

    def read(self, size: int = -1) -> bytes:
        if self._cancel is not None and self._cancel.is_set():
            raise UploadCanceledError("The upload was canceled")
        chunk = self._file.read(_UPLOAD_CHUNK if size < 0 else min(size, _UPLOAD_CHUNK))
        self._sent += len(chunk)
        if self._on_progress is not None and chunk:
            self._on_progress(self._sent, self._total)
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(_UPLOAD_CHUNK):
            yield chunk


def _json_field(response: httpx.Response, name: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    return f"HTTP {response.status_code}"


def check_compatible(version: str) -> None:
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) != API_MAJOR_VERSION:
        raise IncompatibleServerError(
            f"The server runs STT Studio {version}, which this app ({API_MAJOR_VERSION}.x) cannot drive: "
            "update the app or the server so that both have the same major version."
        )


class StudioClient:
    """One server: ``url`` like ``http://gpu-box:8000``, ``api_key`` when it asks for one."""

    def __init__(self, url: str, api_key: str | None = None, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=_TIMEOUT, transport=transport, follow_redirects=False
        )
        self._event_sockets: set[socket.socket] = set()
        self._event_sockets_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def interrupt_events(self) -> None:
        """End this client's event streams now, from any thread: a read blocked on one returns at once. Closing the
        client alone does not wake such a read, which would wait for the server's next keep-alive (15 s)."""
        with self._event_sockets_lock:
            sockets = list(self._event_sockets)
        for sock in sockets:
            with suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> StudioClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except UploadCanceledError:
            raise
        except httpx.TimeoutException as exc:
            raise ServerUnreachableError(f"{self.url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise ServerUnreachableError(f"Cannot reach {self.url}: {_reason(exc)}") from exc
        self._raise_for(response)
        return response

    def _raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        if response.status_code == 401:
            if "authorization" in self._http.headers:
                raise AuthenticationError(f"{self.url} refused the API key: check it, or create a new one there")
            raise AuthenticationError(f"{self.url} needs an API key (create one there with: stt-studio keys create)")
        if response.status_code == 412:
            raise TranscriptVersionConflictError(_detail(response), response.headers.get("etag"))
        raise ApiError(response.status_code, _detail(response))

    # --- the server ---------------------------------------------------------------------------------------------
    def server_info(self) -> ServerInfo:
        """Checks that the server answers, accepts the key and speaks this API version."""
        try:
            response = self._http.get("/health")
        except httpx.TransportError as exc:
            raise ServerUnreachableError(f"Cannot reach {self.url}: {_reason(exc)}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "version" not in body:
            raise IncompatibleServerError(f"{self.url} does not answer like an STT Studio server")
        check_compatible(str(body["version"]))
        self._request("GET", "/queue/stats")  # /health is open: this one proves the key
        return ServerInfo(self.url, str(body["version"]), int(body.get("workers", 0)), bool(body["redis_healthy"]))

    def queue_stats(self) -> QueueStats:
        return QueueStats.model_validate(self._request("GET", "/queue/stats").json())

    # --- jobs ---------------------------------------------------------------------------------------------------
    def submit(
        self,
        path: Path,
        options: JobOptions,
        *,
        idempotency_key: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> JobView:
        """Upload ``path`` as a new job. Sending it again with the same ``idempotency_key`` (e.g. after the
        connection dropped mid-upload) never makes a second job."""
        form: dict[str, str] = {"enable_diarization": str(options.enable_diarization).lower()}
        for name in ("language", "num_speakers", "min_speakers", "max_speakers", "prompt"):
            value = getattr(options, name)
            if value is not None:
                form[name] = str(value)
        if options.task != "transcribe":
            form["task"] = options.task
        for name in ("identify_speakers", "name_speakers_automatically"):  # sent only when not the default
            if not getattr(options, name):
                form[name] = "false"
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with path.open("rb") as file:
            reader = _ProgressReader(file, path.stat().st_size, on_progress, cancel)
            response = self._request(
                "POST",
                "/transcribe/async",
                data=form,
                files={"file": (path.name, reader, mime)},  # type: ignore[dict-item]
                headers=headers,
                timeout=httpx.Timeout(None, connect=10.0),
            )
        return self.job(str(response.json()["job_id"]), with_result=False)

    def job(self, job_id: str, *, with_result: bool = True, partial_after: int = 0) -> JobView:
        """``partial_after``: of a running job's transcript so far, only the segments from this id on (ids count from
        0 again once ``partial.words_aligned``: the aligned segments replace the decoded ones)."""
        params = {"partial_after": partial_after} if partial_after else None
        view = JobView.model_validate(self._request("GET", f"/jobs/{job_id}", params=params).json())
        return view if with_result else view.model_copy(update={"result": None})

    def jobs(
        self, status: JobStatus | None = None, limit: int = 100, *, before: str | None = None, after: str | None = None
    ) -> JobPageResult:
        params: dict[str, str | int] = {"limit": limit}
        if status is not None:
            params["status"] = status.value
        if before is not None:
            params["before"] = before
        if after is not None:
            params["after"] = after
        body = self._request("GET", "/jobs", params=params).json()
        return JobPageResult(
            [JobView.model_validate(j) for j in body["jobs"]], body.get("next_before"), body.get("next_after")
        )

    def all_jobs(self, status: JobStatus | None = None) -> list[JobView]:
        jobs: list[JobView] = []
        cursor: str | None = None
        while True:
            page = self.jobs(status, 1000, before=cursor)
            jobs.extend(page.jobs)
            if page.next_before is None:
                return jobs
            cursor = page.next_before

    def cancel(self, job_id: str) -> None:
        self._request("POST", f"/jobs/{job_id}/cancel")

    def delete(self, job_id: str) -> None:
        self._request("DELETE", f"/jobs/{job_id}", timeout=httpx.Timeout(60.0, connect=10.0))

    def rediarize(self, job_id: str, counts: SpeakerCounts, *, keep_review: bool = False) -> None:
        """Find speakers again in a completed job (POST /jobs/{id}/rediarize); ApiError 409 while it runs, when it
        kept nothing, or when its transcript was reviewed and ``keep_review`` is False."""
        form = {k: str(v) for k, v in vars(counts).items() if v is not None}
        self._request("POST", f"/jobs/{job_id}/rediarize", data={**form, "keep_review": str(keep_review).lower()})

    def identified_speakers(self, job_id: str) -> TranscriptionResult:
        """The job's current transcript with its speakers identified again against the server's voice library, not
        saved (POST /jobs/{id}/identify?save=false); ApiError 409 when it was not diarized, kept no voice prints or
        the library has no voices of its speaker model."""
        response = self._request("POST", f"/jobs/{job_id}/identify", params={"save": "false"})
        return TranscriptionResult.model_validate_json(response.content)

    def retranscribe(self, job_id: str, change: NewTranscription, *, discard_review: bool = False) -> None:
        """Transcribe a completed job again with another model, language or task (POST /jobs/{id}/retranscribe);
        ApiError 409 when nothing would change, while it runs, when it kept no audio, or when its transcript was
        reviewed and ``discard_review`` is False."""
        form = {k: v for k, v in vars(change).items() if v is not None}
        form["discard_review"] = str(discard_review).lower()
        self._request("POST", f"/jobs/{job_id}/retranscribe", data=form)

    def retry(self, job_id: str) -> str:
        return str(self._request("POST", f"/jobs/{job_id}/retry").json()["job_id"])

    # --- transcripts -------------------------------------------------------------------------------------------
    def transcript(self, job_id: str) -> RemoteTranscript:
        response = self._request("GET", f"/jobs/{job_id}/transcript")
        return RemoteTranscript(
            TranscriptionResult.model_validate_json(response.content),
            response.headers.get("etag"),
            response.headers.get("x-transcript-reviewed", "").lower() == "true",
        )

    def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str | None:
        headers = {"Content-Type": "application/json"}
        if etag is not None:
            headers["If-Match"] = etag
        response = self._request("PUT", f"/jobs/{job_id}/transcript", content=result.model_dump_json(), headers=headers)
        etag_now: str | None = response.headers.get("etag")
        return etag_now

    def revert_transcript(self, job_id: str, etag: str | None) -> None:
        self._request("DELETE", f"/jobs/{job_id}/transcript", headers={"If-Match": etag} if etag else {})

    def export(self, job_id: str, fmt: str, **options: str | int | bool) -> bytes:
        params = {"format": fmt, **{k: str(v).lower() if isinstance(v, bool) else v for k, v in options.items()}}
        return self._request("GET", f"/jobs/{job_id}/export", params=params).content

    def download_audio(self, job_id: str, destination: Path) -> Path:
        """The job's uploaded audio (kept by the server while the job is not deleted), written to ``destination``."""
        return self._download(f"/jobs/{job_id}/audio", destination)

    def _download(self, path: str, destination: Path) -> Path:
        try:
            with self._http.stream("GET", path) as response:
                if not response.is_success:
                    response.read()
                    self._raise_for(response)
                partial = destination.with_name(destination.name + ".part")
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes(_UPLOAD_CHUNK):
                        out.write(chunk)
                partial.replace(destination)
        except httpx.TransportError as exc:
            raise ServerUnreachableError(f"Cannot reach {self.url}: {_reason(exc)}") from exc
        return destination

    # --- the voice library ----------------------------------------------------------------------------------------
    def voices(self) -> VoiceListing:
        """The server's voice library (``GET /voices``), without voice vectors; damaged voice files in ``problems``."""
        body = self._request("GET", "/voices").json()
        return VoiceListing([VoiceSummary.from_json(v) for v in body["voices"]], [str(p) for p in body["problems"]])

    def rename_voice(self, voice_id: str, name: str) -> VoiceSummary:
        """ApiError 409 when another voice has the name, 404 when the voice is gone."""
        return VoiceSummary.from_json(self._request("PATCH", f"/voices/{voice_id}", json={"name": name}).json())

    def delete_voice(self, voice_id: str) -> None:
        self._request("DELETE", f"/voices/{voice_id}")

    def refresh_voices(self) -> RefreshOutcome:
        """``POST /voice-library/refresh``: the samples of another speaker model embedded again on the server
        (seconds per clip)."""
        body = self._request("POST", "/voice-library/refresh", timeout=httpx.Timeout(600.0)).json()
        return RefreshOutcome(int(body["refreshed"]), [str(p) for p in body["problems"]])

    def voice(self, voice_id: str) -> VoiceSummary:
        """One voice of the server's library (``GET /voices/{id}``); ApiError 404 when it is gone."""
        return VoiceSummary.from_json(self._request("GET", f"/voices/{voice_id}").json())

    def download_voice_sample(self, voice_id: str, sample_id: str, destination: Path) -> Path:
        """The speech clip of a voice's sample (``GET /voices/{id}/samples/{sample_id}/audio``), written to
        ``destination``; ApiError 404 when the voice, the sample or its clip is gone."""
        return self._download(f"/voices/{voice_id}/samples/{sample_id}/audio", destination)

    def delete_voice_sample(self, voice_id: str, sample_id: str) -> bool:
        """Whether the voice went too (it was its last sample)."""
        return bool(self._request("DELETE", f"/voices/{voice_id}/samples/{sample_id}").json()["voice_deleted"])

    def enroll_voice(self, name: str, job_id: str, speaker: str, consent_note: str | None = None) -> EnrollOutcome:
        """Save ``speaker`` of the finished, diarized job ``job_id`` as the voice ``name`` (``POST /voices``; a
        sample of the voice of that name if the server has one). The caller states that the person agreed to have
        their voice stored. ApiError 404 (no such job or speaker) or 409 (not diarized, too little speech, …)."""
        form = {"name": name, "job_id": job_id, "speaker": speaker, "consent": "true"}
        return EnrollOutcome.from_json(self._request("POST", "/voices", data=_with_note(form, consent_note)).json())

    def enroll_voice_clip(
        self, name: str, clip: Path, consent_note: str | None = None, speaker: str | None = None
    ) -> EnrollOutcome:
        """Save the voice in ``clip`` (an audio file) as the voice ``name`` (``POST /voices`` with a file); the
        caller states that the person agreed. A clip of several voices without ``speaker``:
        SeveralVoicesInClipError listing them; ApiError 422 for a clip that gives no voice (the detail says why)."""
        form = _with_note({"name": name, "consent": "true"}, consent_note)
        if speaker is not None:
            form["speaker"] = speaker
        with clip.open("rb") as audio:
            try:
                response = self._http.request(
                    "POST", "/voices", data=form, files={"file": (clip.name, audio)}, timeout=httpx.Timeout(300.0)
                )
            except httpx.TimeoutException as exc:
                raise ServerUnreachableError(f"{self.url} did not answer in time") from exc
            except httpx.TransportError as exc:
                raise ServerUnreachableError(f"Cannot reach {self.url}: {_reason(exc)}") from exc
        if response.status_code == 409 and isinstance(speakers := _json_field(response, "speakers"), list):
            choices = tuple(ClipSpeakerSummary.from_json(s) for s in speakers)
            raise SeveralVoicesInClipError(_detail(response), choices)
        self._raise_for(response)
        return EnrollOutcome.from_json(response.json())

    def add_voice_sample(
        self, voice_id: str, job_id: str, speaker: str, consent_note: str | None = None
    ) -> EnrollOutcome:
        """``speaker`` of job ``job_id`` as another sample of voice ``voice_id`` (``POST /voices/{id}/samples``)."""
        form = {"job_id": job_id, "speaker": speaker, "consent": "true"}
        path = f"/voices/{voice_id}/samples"
        return EnrollOutcome.from_json(self._request("POST", path, data=_with_note(form, consent_note)).json())

    # --- push ---------------------------------------------------------------------------------------------------
    @contextmanager
    def events(self, last_event_id: str | None = None) -> Iterator[Iterator[dict[str, Any]]]:
        """Every job's events (``GET /events``) as dicts with ``event``, ``id`` and the decoded ``data``. The
        stream has no read timeout (the server sends keep-alives); closing the context ends it."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        try:
            with connect_sse(
                self._http, "GET", "/events", headers=headers, timeout=httpx.Timeout(None, connect=10.0)
            ) as source:
                if not source.response.is_success:
                    source.response.read()
                    self._raise_for(source.response)
                sockets = {sock} if (sock := _socket_of(source.response)) is not None else set()
                with self._event_sockets_lock:
                    self._event_sockets |= sockets
                try:
                    yield (_decoded(event) for event in source.iter_sse())
                finally:
                    with self._event_sockets_lock:
                        self._event_sockets -= sockets
        except httpx.TransportError as exc:
            raise ServerUnreachableError(f"Lost the connection to {self.url}: {_reason(exc)}") from exc


def _socket_of(response: httpx.Response) -> socket.socket | None:
    """The connection's socket under a streamed response (httpcore's ``network_stream``), where it has one."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None


def _decoded(event: ServerSentEvent) -> dict[str, Any]:
    try:
        data = orjson.loads(event.data) if event.data else None
    except orjson.JSONDecodeError:
        data = event.data
    return {"event": event.event, "id": event.id, "data": data}


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    if isinstance(exc, httpx.ConnectError) and ("refused" in text.lower() or "errno 111" in text.lower()):
        return "connection refused (is the server running, and is the port right?)"
    return text or type(exc).__name__


def _with_note(form: dict[str, str], consent_note: str | None) -> dict[str, str]:
    return {**form, "consent_note": consent_note} if consent_note else form
