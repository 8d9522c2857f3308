"""The job service of a remote STT Studio (a GPU box, a Vast.ai instance): the same interface the views use for
this machine's queue, over the REST API.

Uploads run one at a time on their own thread (progress and cancel per file; each carries an Idempotency-Key, so
a retry after a dropped connection never makes a second job). Job changes arrive by Server-Sent Events on a
listener thread that reconnects by itself; while it cannot, ``connection_changed`` says "reconnecting…". Every
other call runs on an executor thread: the GUI thread never waits on the network.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal

from stt_studio.atomic_files import write_text_atomically
from stt_studio.client import (
    ApiError,
    ClientError,
    ServerUnreachableError,
    StudioClient,
    TranscriptVersionConflictError,
)
from stt_studio.engine.result import TranscriptionResult, with_identities
from stt_studio.exports import ExportItem, ExportOptions, ExportSummary, export_jobs
from stt_studio.jobs.models import JobOptions, JobStatus, JobView, LibraryEntry, PartialTranscript, WorkerInfo
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.jobs.review import StoredTranscript, TranscriptVersionError
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.jobs.store import JobNotFoundError
from stt_studio.live.session import LiveTranscriber
from stt_studio.live_client import RemoteLiveStream
from stt_studio.ui import intake
from stt_studio.ui.intake import CheckedFile, IntakeReport
from stt_studio.ui.service import (
    IdentifyRefusedError,
    JobService,
    RediarizeRefusedError,
    RetranscribeRefusedError,
    ServiceStatus,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

STATS_SECONDS = 5.0
RECONNECT_SECONDS = (1.0, 2.0, 5.0, 10.0)
UPLOAD_ATTEMPTS = 3
LISTENER_JOIN_SECONDS = 10.0
DEFAULT_MAX_AUDIO_SECONDS = 6 * 3600.0
SOURCES_FILE = "uploaded-sources.json"


@dataclass(frozen=True)
class RemoteProfile:
    name: str
    url: str


class RemoteJobService(JobService):
    connection_changed = Signal(str)
    """"connected", "reconnecting…" (with the reason), or a plain message when the server can't be used."""
    upload_progress = Signal(str, int, int)
    """Path of the file being uploaded, bytes sent, bytes in all."""
    _event = Signal(object)
    """From the listener thread to the GUI thread."""

    def __init__(self, profile: RemoteProfile, api_key: str | None, cache_dir: Path) -> None:
        super().__init__()
        self.profile = profile
        self.client = StudioClient(profile.url, api_key)
        self._api_key = api_key
        self._events_client = StudioClient(profile.url, api_key)
        """The listener thread's own connection: closing it is what ends a stream blocked in a read."""
        self.cache_dir = cache_dir
        self.status = ServiceStatus(False, profile.url, 0, 0, 0)
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stt-remote")
        self._uploads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt-upload")
        self._sources: dict[str, Path] = {}
        """Local files uploaded from this machine, by job id: played from here instead of being downloaded (kept
        in ``SOURCES_FILE`` in the cache dir, so they still are after a restart)."""
        self._cancels: dict[Path, threading.Event] = {}
        self._states_heard: dict[str, int] = {}
        """State events received per job: a job read over HTTP meanwhile may be older than the last of them."""
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None
        self._tasks: list[asyncio.Future[Any]] = []
        self._event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    # --- life cycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Raises ClientError (unreachable, wrong key, incompatible version) with the sentence to show."""
        await self._run(self.client.server_info)
        self._sources.update(await self._run(self._read_sources))
        await self._resync()
        self._listener = threading.Thread(target=self._listen, name="stt-remote-events", daemon=True)
        self._listener.start()
        self._tasks.append(asyncio.ensure_future(self._poll_stats()))
        self.connection_changed.emit("connected")

    async def shutdown(self, *, after_current_job: bool) -> None:
        """Closes the connection; the server's jobs go on. Returns once the listener thread has ended, so no event
        of this service reaches the window afterwards."""
        self._stopping.set()
        self._event.disconnect(self._on_event)
        for cancel in self._cancels.values():
            cancel.set()
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._uploads.shutdown(wait=False, cancel_futures=True)
        listener = self._listener

        def close() -> None:
            self._events_client.interrupt_events()
            self._events_client.close()
            if listener is not None:
                listener.join(LISTENER_JOIN_SECONDS)
            self.client.close()

        await self._run(close)
        self._io.shutdown(wait=False, cancel_futures=True)

    async def _resync(self) -> None:
        """Everything that may have changed while not listening: queued and running jobs, and those we follow."""

        def fetch() -> list[JobView]:
            views = self.client.all_jobs(JobStatus.QUEUED) + self.client.all_jobs(JobStatus.PROCESSING)
            seen = {v.job_id for v in views}
            for job_id, view in list(self._tracked.items()):
                if job_id not in seen and not view.status.is_final:
                    try:
                        views.append(self.client.job(job_id, with_result=False))
                    except ClientError:
                        continue
            return views

        self._absorb(await self._run(fetch))

    async def _poll_stats(self) -> None:
        while True:
            try:
                stats = await self._run(self.client.queue_stats)
                reports = [WorkerInfo(name=self.profile.url, pid=0, **m.model_dump()) for m in stats.worker_models]
                self.status = ServiceStatus(
                    redis_ok=stats.redis_healthy,
                    redis_label=self.profile.url,
                    workers=stats.workers,
                    queued=stats.queue_length,
                    processing=stats.processing,
                    worker_infos=reports,
                    downloads=stats.model_downloads,
                )
            except ClientError as exc:
                self.status = ServiceStatus(False, f"{self.profile.url}: {exc}", 0, 0, 0)
            self.status_updated.emit(self.status)
            await asyncio.sleep(STATS_SECONDS)

    # --- push ---------------------------------------------------------------------------------------------------
    def _listen(self) -> None:
        attempt = 0
        last_id: str | None = None
        while not self._stopping.is_set():
            try:
                with self._events_client.events(last_id) as events:
                    if attempt:
                        self._event.emit({"event": "reconnected"})
                    attempt = 0
                    for event in events:
                        if self._stopping.is_set():
                            return
                        last_id = event["id"] or last_id
                        self._event.emit(event)
                reason = "the server ended the event stream"
            except Exception as exc:  # the connection closed at shutdown included: never end with a traceback
                reason = str(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"
            if self._stopping.is_set():
                return
            self._event.emit({"event": "lost", "data": reason})
            if self._stopping.wait(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]):
                return
            attempt += 1

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        data = event.get("data")
        if kind == "lost":
            self.connection_changed.emit(f"reconnecting… ({data})")
        elif kind == "reconnected":
            self.connection_changed.emit("connected")
            self._tasks.append(asyncio.ensure_future(self._resync()))
        elif kind == "deleted" and isinstance(data, dict):
            self._tracked.pop(str(data["job_id"]), None)
            self.library_changed.emit()
        elif kind == "state" and isinstance(data, dict):
            self._on_state(data)

    def _on_state(self, data: dict[str, Any]) -> None:
        job_id = str(data["job_id"])
        self._states_heard[job_id] = self._states_heard.get(job_id, 0) + 1
        before = self._tracked.get(job_id)
        status = JobStatus(data["status"])
        if before is None or status.is_final:
            heard = self._states_heard[job_id]
            self._tasks.append(asyncio.ensure_future(self._refresh(job_id, heard)))  # the whole job, once
            return
        self._absorb([before.model_copy(update={"status": status, "stage": data.get("stage"),
                                                 "progress": int(data.get("progress") or 0),
                                                 "remaining_seconds": data.get("remaining_seconds")})])  # fmt: skip

    async def _refresh(self, job_id: str, heard: int) -> None:
        """Read the whole job (filename, options, …), asked for after the ``heard``-th state event of it. Its live
        state is taken only if no event came since: an event is newer than what the read saw (seen in a test:
        progress 4 → 0 → 4 without this)."""
        try:
            view = await self._run(lambda: self.client.job(job_id, with_result=False))
        except ClientError as exc:
            log.info("Could not read job %s: %s", job_id, exc)
            return
        current = self._tracked.get(job_id)
        if current is not None and not view.status.is_final and self._states_heard.get(job_id, 0) != heard:
            view = view.model_copy(update={"status": current.status, "stage": current.stage,
                                           "progress": current.progress,
                                           "remaining_seconds": current.remaining_seconds})  # fmt: skip
        self._absorb([view])

    # --- adding work --------------------------------------------------------------------------------------------
    async def take_in(self, paths: Iterable[Path]) -> IntakeReport:
        paths = list(paths)
        known = {p for job_id, p in self._sources.items() if job_id in self._tracked}
        return await self._run(lambda: intake.take_in(paths, DEFAULT_MAX_AUDIO_SECONDS, known))

    async def submit(self, files: list[CheckedFile], options: JobOptions) -> list[JobView]:
        """Uploads the files one after another; returns the jobs created (a canceled or failed upload makes
        none: ``problem`` says why)."""
        loop = asyncio.get_running_loop()
        views: list[JobView] = []
        for file in files:
            cancel = self._cancels.setdefault(file.path, threading.Event())
            try:
                view = await loop.run_in_executor(self._uploads, self._upload, file.path, options, cancel)
            except ClientError as exc:
                self.problem.emit(f"{file.path.name}: {exc}")
                continue
            finally:
                self._cancels.pop(file.path, None)
            self._sources[view.job_id] = file.path
            views.append(view)
            if view.job_id not in self._tracked:  # else the server's events already told a later state
                self._absorb([view])
        await self._write_sources()
        return views

    def _upload(self, path: Path, options: JobOptions, cancel: threading.Event) -> JobView:
        key = str(uuid.uuid4())  # the same for every attempt: the server makes one job of them
        total = path.stat().st_size
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                return self.client.submit(
                    path,
                    options,
                    idempotency_key=key,
                    on_progress=lambda sent, _t: self.upload_progress.emit(str(path), sent, total),
                    cancel=cancel,
                )
            except ServerUnreachableError as exc:
                if attempt == UPLOAD_ATTEMPTS or cancel.is_set():
                    raise
                self.problem.emit(f"{path.name}: the upload was cut off ({exc}); trying again")
                time.sleep(RECONNECT_SECONDS[attempt - 1])
        raise AssertionError("unreachable")

    def cancel_upload(self, path: Path) -> None:
        if (cancel := self._cancels.get(path)) is not None:
            cancel.set()

    def _read_sources(self) -> dict[str, Path]:
        """The uploads remembered from earlier sessions whose file is still there."""
        try:
            data = json.loads((self.cache_dir / SOURCES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(job_id): Path(p) for job_id, p in data.items() if isinstance(p, str) and Path(p).is_file()}

    async def _write_sources(self) -> None:
        text = json.dumps({job_id: str(path) for job_id, path in self._sources.items()}, indent=1)

        def write() -> None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                write_text_atomically(self.cache_dir / SOURCES_FILE, text)
            except OSError as exc:  # only costs a download later
                log.warning("Could not remember the uploaded files in %s: %s", self.cache_dir, exc)

        await self._run(write)

    # --- job control ---------------------------------------------------------------------------------------------
    async def cancel(self, job_ids: list[str]) -> None:
        def cancel_all() -> None:
            for job_id in job_ids:
                self.client.cancel(job_id)

        await self._run(cancel_all)

    async def rediarize(self, job_id: str, counts: SpeakerCounts, *, keep_review: bool) -> JobView:
        def ask() -> JobView:
            try:
                self.client.rediarize(job_id, counts, keep_review=keep_review)
            except ApiError as exc:
                raise RediarizeRefusedError(str(exc)) from exc
            return self.client.job(job_id, with_result=False)

        view = await self._run(ask)
        self._absorb([view])
        return view

    async def identified_speakers(self, job_id: str, result: TranscriptionResult) -> TranscriptionResult:
        """The server identifies the speakers of its stored transcript (the review's, once saved); its verdicts are
        put on ``result``'s speakers, whose own decisions (accepted, rejected) the server's copy holds once saved."""

        def ask() -> TranscriptionResult:
            try:
                return self.client.identified_speakers(job_id)
            except ApiError as exc:
                raise IdentifyRefusedError(str(exc)) from exc

        identified = await self._run(ask)
        return result.model_copy(update={"speakers": with_identities(list(result.speakers or ()), identified.speakers)})

    async def retranscribe(self, job_id: str, change: NewTranscription, *, discard_review: bool) -> JobView:
        def ask() -> JobView:
            try:
                self.client.retranscribe(job_id, change, discard_review=discard_review)
            except ApiError as exc:
                raise RetranscribeRefusedError(str(exc)) from exc
            return self.client.job(job_id, with_result=False)

        view = await self._run(ask)
        self._absorb([view])
        return view

    async def retry(self, job_ids: list[str]) -> list[JobView]:
        def retry_all() -> list[JobView]:
            return [self.client.job(self.client.retry(i), with_result=False) for i in job_ids]

        views = await self._run(retry_all)
        for job_id, view in zip(job_ids, views, strict=True):
            self._tracked.pop(job_id, None)
            if (source := self._sources.get(job_id)) is not None:
                self._sources[view.job_id] = source  # the same file
        await self._write_sources()
        self._absorb(views)
        return views

    async def remove(self, job_ids: list[str]) -> None:
        def delete_all() -> None:
            for job_id in job_ids:
                self.client.delete(job_id)

        await self._run(delete_all)
        for job_id in job_ids:
            self._tracked.pop(job_id, None)
            self._sources.pop(job_id, None)
        await self._write_sources()
        self.library_changed.emit()

    # --- reading ------------------------------------------------------------------------------------------------
    async def job(self, job_id: str) -> JobView:
        try:
            return await self._run(lambda: self.client.job(job_id, with_result=False))
        except ApiError as exc:
            if exc.status_code == 404:
                raise JobNotFoundError(job_id) from exc
            raise

    async def result(self, job_id: str) -> TranscriptionResult | None:
        return (await self.transcript(job_id)).result

    async def partial(self, job_id: str, after: int = 0) -> PartialTranscript | None:
        """GET /jobs/{job_id}'s ``partial``, only the segments this window has not shown yet."""
        try:
            view = await self._run(lambda: self.client.job(job_id, with_result=False, partial_after=after))
        except ApiError as exc:
            if exc.status_code == 404:
                raise JobNotFoundError(job_id) from exc
            raise
        return view.partial

    async def media_path(self, job_id: str) -> Path | None:
        """The file this window uploaded, when it is still there; else the server's copy, fetched once."""
        local = self._sources.get(job_id)
        if local is not None and local.is_file():
            return local
        cached = self.cache_dir / f"{job_id}.audio"

        def fetch() -> Path | None:
            if cached.is_file():
                return cached
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            try:
                return self.client.download_audio(job_id, cached)
            except ClientError as exc:
                log.info("No audio for %s from the server: %s", job_id, exc)
                return None

        return await self._run(fetch)

    async def transcript(self, job_id: str) -> StoredTranscript:
        remote = await self._run(lambda: self.client.transcript(job_id))
        return StoredTranscript(remote.result, remote.etag or "", reviewed=remote.reviewed, reviewed_at=None)

    async def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str:
        try:
            saved = await self._run(lambda: self.client.save_transcript(job_id, result, etag))
        except TranscriptVersionConflictError as exc:
            raise TranscriptVersionError(exc.current_etag or "") from exc
        self._texts.pop(job_id, None)
        return saved or ""

    async def revert_transcript(self, job_id: str, etag: str | None) -> StoredTranscript:
        await self._run(lambda: self.client.revert_transcript(job_id, etag))
        self._texts.pop(job_id, None)
        return await self.transcript(job_id)

    def open_live_stream(self, language: str | None, prompt: str | None) -> LiveTranscriber:
        """The server's ``/live`` with ``queue=true``: it sends the live text and makes the recording's job."""
        return RemoteLiveStream(self.profile.url, self._api_key, language=language, prompt=prompt, queue=True)

    async def follow_recording_job(self, job_id: str, recording: Path) -> JobView:
        """The server's job of a recording streamed from here: played from the local recording, like an upload."""
        view = await self._run(lambda: self.client.job(job_id, with_result=False))
        self._sources[job_id] = recording
        await self._write_sources()
        if job_id not in self._tracked:  # else the server's events already told a later state
            self._absorb([view])
        return self._tracked.get(job_id, view)

    async def library(self) -> list[LibraryEntry]:
        def fetch() -> list[LibraryEntry]:
            entries = []
            for status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED):
                for view in self.client.all_jobs(status):
                    entries.append(_library_entry(view, self._sources.get(view.job_id)))
            return entries

        return await self._run(fetch)

    async def search(self, query: str) -> set[str]:
        needle = query.casefold()

        def scan() -> set[str]:
            finished = (v.job_id for v in self.client.all_jobs(JobStatus.COMPLETED))
            return self._matching(needle, finished, lambda job_id: self.client.transcript(job_id).result.text)

        return await self._run(scan) if needle else set()

    async def export(
        self, job_ids: list[str], folder: Path, formats: list[str], options: ExportOptions
    ) -> ExportSummary:
        """Written here, from the server's current (reviewed) transcripts."""

        def write() -> ExportSummary:
            items = []
            for job_id in job_ids:
                view = self.client.job(job_id, with_result=False)
                result = self.client.transcript(job_id).result
                items.append(ExportItem(view.filename or job_id, result, view.completed_at))
            return export_jobs(items, folder, formats, options)

        return await self._run(write)


def _library_entry(view: JobView, source: Path | None) -> LibraryEntry:
    return LibraryEntry(
        job_id=view.job_id,
        status=view.status,
        filename=view.filename or view.job_id,
        created_at=view.created_at,
        completed_at=view.completed_at,
        audio_seconds=view.audio_seconds,
        language=view.options.language if view.options else None,
        error=view.error,
        source_path=str(source) if source is not None else None,
    )
