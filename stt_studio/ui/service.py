"""The one interface the desktop's views use for jobs, and its local implementation.

Views never talk to Redis, the disk or HTTP: they call the ``JobService``'s coroutines (which do the blocking
work on executor threads) and listen to its signals. ``LocalJobService`` runs this machine's queue: the embedded
Valkey (or the configured Redis), supervised worker processes (or those of an STT Studio already running on the
same data dir), and a poll of the job state that turns changes into signals.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import redis
from PySide6.QtCore import QObject, Signal

from stt_studio.engine.audio import MEDIA_EXTENSIONS
from stt_studio.engine.result import TranscriptionResult
from stt_studio.exports import ExportItem, ExportOptions, ExportSummary, export_jobs
from stt_studio.jobs import events
from stt_studio.jobs.connection import connect, embedded_server
from stt_studio.jobs.model_downloads import ModelDownloads
from stt_studio.jobs.models import (
    JobOptions,
    JobStatus,
    JobView,
    LibraryEntry,
    ModelDownload,
    PartialTranscript,
    WorkerInfo,
)
from stt_studio.jobs.new_transcription import NewTranscription
from stt_studio.jobs.rediarize import rediarize
from stt_studio.jobs.redis_server import EmbeddedRedis
from stt_studio.jobs.retranscribe import RetranscribeRequestError, retranscribe
from stt_studio.jobs.review import StoredTranscript
from stt_studio.jobs.speaker_counts import SpeakerCounts
from stt_studio.jobs.speaker_decisions import SpeakerDecisions
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore
from stt_studio.live.session import LiveTranscriber, LiveWorkerProcess, worker_config
from stt_studio.settings import Settings
from stt_studio.supervisor import WorkerSupervisor
from stt_studio.ui import intake
from stt_studio.ui.intake import CheckedFile, IntakeReport
from stt_studio.ui.watch_folder import FolderWatch
from stt_studio.voices.library import VoiceLibrary, VoiceLibraryError

log = logging.getLogger(__name__)
T = TypeVar("T")

ACTIVE_POLL_SECONDS = 0.5
IDLE_POLL_SECONDS = 2.0
WATCH_SECONDS = 3.0
_UNTIL_JOB_ENDS = 24 * 3600.0


@dataclass(frozen=True)
class ServiceStatus:
    redis_ok: bool
    redis_label: str
    workers: int
    queued: int
    processing: int
    worker_infos: list[WorkerInfo] = field(default_factory=list)
    downloads: list[ModelDownload] = field(default_factory=list)
    """Models the workers are downloading now (a worker's start-up model: no worker takes jobs until it has it)."""
    attached: bool = False
    """Using the workers of an STT Studio that was already running (this app started none)."""


class RediarizeRefusedError(Exception):
    """Finding speakers again was refused: the job runs, kept nothing, or is gone (the message says which)."""


class IdentifyRefusedError(Exception):
    """A job's speakers cannot be identified again; the message says why (a sentence for the window)."""


class RetranscribeRefusedError(Exception):
    """Transcribing again was refused: nothing would change, the job runs, kept no audio, is reviewed, or is gone
    (the message says which)."""


class JobService(QObject):
    """What the views need of a queue. Coroutines run their blocking work off the GUI thread."""

    jobs_updated = Signal(list)
    """JobViews that are new or changed since the last update."""
    job_finished = Signal(object)
    """A JobView that has just become completed, failed or canceled."""
    status_updated = Signal(object)
    """ServiceStatus."""
    library_changed = Signal()
    watched_files_queued = Signal(list)
    """JobViews queued from the watched folder."""
    problem = Signal(str)
    """A background step failed; the text says what and why."""

    status: ServiceStatus
    """The queue's health and size as last read (``status_updated`` signals each new one)."""

    def __init__(self) -> None:
        super().__init__()
        self._tracked: dict[str, JobView] = {}
        self._texts: dict[str, str] = {}
        """Finished jobs' transcripts, casefolded, as the library search read them (dropped when one is saved)."""

    def tracked(self) -> list[JobView]:
        """The jobs this service follows (queued, running, and those that ended while followed)."""
        return list(self._tracked.values())

    def _matching(self, needle: str, job_ids: Iterable[str], read_text: Callable[[str], str]) -> set[str]:
        """Of ``job_ids``, those whose transcript (``read_text``, read once per job) contains ``needle``."""
        matches = set()
        for job_id in job_ids:
            text = self._texts.get(job_id)
            if text is None:
                text = self._texts[job_id] = read_text(job_id).casefold()
            if needle in text:
                matches.add(job_id)
        return matches

    def _absorb(self, views: list[JobView]) -> None:
        """Take in the latest state of ``views``: signal what changed, and the jobs that have just ended."""
        changed = []
        finished = []
        for view in views:
            before = self._tracked.get(view.job_id)
            if before == view:
                continue
            self._tracked[view.job_id] = view
            changed.append(view)
            if view.status.is_final and (before is None or not before.status.is_final):
                finished.append(view)
        if changed:
            self.jobs_updated.emit(changed)
        for view in finished:
            self.job_finished.emit(view)
        if finished:
            self.library_changed.emit()

    async def start(self) -> None:
        raise NotImplementedError

    async def shutdown(self, *, after_current_job: bool) -> None:
        raise NotImplementedError

    async def take_in(self, paths: Iterable[Path]) -> IntakeReport:
        raise NotImplementedError

    async def submit(self, files: list[CheckedFile], options: JobOptions) -> list[JobView]:
        raise NotImplementedError

    async def cancel(self, job_ids: list[str]) -> None:
        raise NotImplementedError

    async def retry(self, job_ids: list[str]) -> list[JobView]:
        raise NotImplementedError

    async def remove(self, job_ids: list[str]) -> None:
        raise NotImplementedError

    async def rediarize(self, job_id: str, counts: SpeakerCounts, *, keep_review: bool) -> JobView:
        """Find speakers again in a completed job (``jobs.rediarize``); RediarizeRefusedError says why not."""
        raise NotImplementedError

    async def retranscribe(self, job_id: str, change: NewTranscription, *, discard_review: bool) -> JobView:
        """Transcribe a completed job again with another model, language or task (``jobs.retranscribe``);
        RetranscribeRefusedError says why not."""
        raise NotImplementedError

    async def identified_speakers(self, job_id: str, result: TranscriptionResult) -> TranscriptionResult:
        """``result`` (the review's transcript of job ``job_id``) with its speakers identified again against the
        voice library beside the queue, from the voice prints kept with the job: not saved, so that the review
        can make it one step of its undo history. IdentifyRefusedError says why not."""
        raise NotImplementedError

    async def result(self, job_id: str) -> TranscriptionResult | None:
        raise NotImplementedError

    async def job(self, job_id: str) -> JobView:
        """The job without its transcript; JobNotFoundError when the queue has no such job (anymore)."""
        raise NotImplementedError

    async def media_path(self, job_id: str) -> Path | None:
        raise NotImplementedError

    async def partial(self, job_id: str, after: int = 0) -> PartialTranscript | None:
        """A running job's transcript so far, its segments from id ``after`` on; None when it has none (not
        running, or no batch decoded yet)."""
        raise NotImplementedError

    async def transcript(self, job_id: str) -> StoredTranscript:
        """The job's current transcript (reviewed, else the engine's) and its version (ETag)."""
        raise NotImplementedError

    async def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str:
        """Store ``result`` as the job's reviewed transcript if ``etag`` still names the current version (None:
        whatever it is); returns the new version. TranscriptVersionError when it was saved by someone else since."""
        raise NotImplementedError

    async def revert_transcript(self, job_id: str, etag: str | None) -> StoredTranscript:
        """Make the engine's transcript current again (the reviewed one is kept aside); returns it."""
        raise NotImplementedError

    async def library(self) -> list[LibraryEntry]:
        raise NotImplementedError

    async def search(self, query: str) -> set[str]:
        raise NotImplementedError

    async def export(
        self, job_ids: list[str], folder: Path, formats: list[str], options: ExportOptions
    ) -> ExportSummary:
        raise NotImplementedError

    def open_live_stream(self, language: str | None, prompt: str | None) -> LiveTranscriber:
        """Where a recording's audio goes for its live text (blocking: called on the recording's thread). Its
        ``done`` event's ``job_id``, when there is one, is the job this queue made of the recording itself; without
        one the caller queues the recording. Raises OSError (or ValueError) when it cannot start."""
        raise NotImplementedError

    async def follow_recording_job(self, job_id: str, recording: Path) -> JobView:
        """The job a live stream made of ``recording`` (``open_live_stream``): followed like one submitted here."""
        raise NotImplementedError


class LocalJobService(JobService):
    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 1,
        worker_env: dict[str, str] | None = None,
        default_options: JobOptions | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._worker_count = workers
        self._worker_env = worker_env or {}
        self.default_options = default_options or JobOptions()
        self._io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stt-io")
        # Valkey is tied (PR_SET_PDEATHSIG) to the thread that starts it: a thread that lives as long as the app.
        self._services = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt-services")
        self._server: EmbeddedRedis | None = None
        self._supervisor: WorkerSupervisor | None = None
        self._webhooks: WorkerSupervisor | None = None
        self._store: JobStore | None = None
        self._heard: set[str] = set()
        """Jobs announced on the event channel since the last poll: one queued and finished in between (a fast job
        sent by another machine to a shared desktop) still reaches the queue view."""
        self._heard_lock = threading.Lock()
        self._listening = threading.Event()
        self._library_ids: list[str] | None = None
        """The job ids of the last library listing, which the transcript search goes through."""
        self._watch: FolderWatch | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.status = ServiceStatus(False, "", 0, 0, 0)

    # --- plumbing --------------------------------------------------------------------------------------------
    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run a small blocking step of the window's (saving preferences, the keyring) off the GUI thread."""
        return await self._run(fn)

    @property
    def store(self) -> JobStore:
        if self._store is None:
            raise RuntimeError("The job service has not started")
        return self._store

    @property
    def attached(self) -> bool:
        return self._store is not None and self._supervisor is None

    def _redis_label(self) -> str:
        if self._server is not None:
            return "embedded Valkey"
        if self.settings.redis_url:
            return self.settings.redis_url.split("@")[-1]  # never show a password
        return f"Redis {self.settings.redis_host}:{self.settings.redis_port}"

    # --- life cycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._store = await loop.run_in_executor(self._services, self._start_services)
        await self._poll_once()
        self._tasks.append(asyncio.ensure_future(self._poll_forever()))
        self._listening.set()
        threading.Thread(target=self._listen, name="stt-job-events", daemon=True).start()

    def _start_services(self) -> JobStore:
        data_dir = self.settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(data_dir, os.W_OK):
            raise PermissionError(f"The data folder {data_dir} is not writable")
        self._server = embedded_server(self.settings)
        if self._server is not None:
            self._server.ensure_running(tied_to_this_thread=True)
        store = JobStore(connect(self.settings), data_dir)
        if store.live_local_worker_pids():
            log.info("Using the workers of the STT Studio already running on %s", data_dir)
        else:
            # It also starts the embedded Valkey again should it die (as serve's does).
            started_here = self._server if self._server is not None and self._server.started_here else None
            self._supervisor = WorkerSupervisor(self._worker_count, env=self._worker_env, redis_server=started_here,
                                                nice=self.settings.worker_nice)  # fmt: skip
            self._supervisor.start()
            # Jobs sent to a shared desktop may carry a callback_url: their webhooks go out from here.
            self._webhooks = WorkerSupervisor(1, command="webhook-worker", env=self._worker_env,
                                             nice=self.settings.worker_nice)  # fmt: skip
            self._webhooks.start()
        return store

    async def apply_settings(self, settings: Settings, *, workers: int, worker_env: dict[str, str]) -> None:
        """New model, device, token or worker count: workers restart after their current job."""
        self.settings = settings
        self._worker_count = workers
        self._worker_env = worker_env
        if self._supervisor is not None:
            supervisor = self._supervisor
            await self._run(lambda: supervisor.restart_after_current_job(env=worker_env, count=workers))

    async def drain_workers(self) -> bool:
        """Let this app's workers finish their current job and exit without taking the next (a quit after the
        current job that may still be called off); False when this app runs no workers (it uses another's)."""
        supervisor = self._supervisor
        if supervisor is None:
            return False
        await asyncio.get_running_loop().run_in_executor(self._services, supervisor.drain)
        return True

    async def resume_workers(self) -> None:
        """Call off ``drain_workers``: the workers take jobs again (those that exited are started again)."""
        supervisor = self._supervisor
        if supervisor is not None:
            await asyncio.get_running_loop().run_in_executor(self._services, supervisor.resume)

    def workers_drained(self) -> bool:
        """After ``drain_workers``: every worker of this app has finished its job and exited."""
        return self._supervisor is None or self._supervisor.drained

    async def shutdown(self, *, after_current_job: bool) -> None:
        """Stop the workers (now, or once their current job is done) and the Valkey this app started. Queued
        jobs stay queued for the next start; a job cut off is run again then."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._listening.clear()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._services, self._stop_services, after_current_job)
        self._io.shutdown(wait=False, cancel_futures=True)
        self._services.shutdown(wait=False)

    def _stop_services(self, after_current_job: bool) -> None:
        if self._webhooks is not None:
            self._webhooks.stop()
            self._webhooks = None
        if self._supervisor is not None:
            self._supervisor.stop(grace_seconds=_UNTIL_JOB_ENDS if after_current_job else 5.0)
            self._supervisor = None
        if self._server is not None and self._server.started_here:
            self._server.stop()

    # --- watching --------------------------------------------------------------------------------------------
    def set_watched_folder(self, folder: Path | None) -> None:
        self._watch = (
            FolderWatch(folder, self.settings.data_dir / "watched-folder.json", MEDIA_EXTENSIONS)
            if folder is not None
            else None
        )

    async def _scan_watched_folder(self) -> None:
        watch = self._watch
        if watch is None:
            return
        new_files = await self._run(watch.scan)
        if not new_files:
            return
        report = await self.take_in(new_files)
        views = await self.submit([*report.accepted, *report.already_added], self.default_options)
        for rejected in report.rejected:
            self.problem.emit(f"Watched folder: {rejected.path.name}: {rejected.reason}")
        if views:
            self.watched_files_queued.emit(views)

    # --- polling ---------------------------------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        last_watch = 0.0
        loop = asyncio.get_running_loop()
        while True:
            busy = self.status.queued + self.status.processing > 0
            await asyncio.sleep(ACTIVE_POLL_SECONDS if busy else IDLE_POLL_SECONDS)
            try:
                await self._poll_once()
                if loop.time() - last_watch >= WATCH_SECONDS:
                    last_watch = loop.time()
                    await self._scan_watched_folder()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep polling: Redis may be restarting
                log.warning("Polling the queue failed: %s", exc)

    def _snapshot(self) -> tuple[list[JobView], ServiceStatus]:
        store = self.store
        try:
            active = store.list(JobStatus.QUEUED, limit=10_000) + store.list(JobStatus.PROCESSING, limit=1_000)
            seen = {v.job_id for v in active}
            ended = []
            with self._heard_lock:
                heard, self._heard = self._heard, set()
            for job_id in heard - seen - self._tracked.keys():
                try:
                    ended.append(store.get(job_id, with_result=False))
                except JobNotFoundError:
                    continue
            for job_id, view in list(self._tracked.items()):
                if job_id not in seen and not view.status.is_final:
                    try:
                        ended.append(store.get(job_id, with_result=False))
                    except JobNotFoundError:
                        continue
            stats = store.stats()
            infos = store.worker_infos()
            downloads = ModelDownloads(store.redis).current()
        except redis.RedisError:
            return [], ServiceStatus(False, self._redis_label(), 0, 0, 0, attached=self.attached)
        status = ServiceStatus(
            redis_ok=stats.redis_healthy,
            redis_label=self._redis_label(),
            workers=stats.workers,
            queued=stats.queue_length,
            processing=stats.processing,
            worker_infos=infos,
            downloads=downloads,
            attached=self.attached,
        )
        return active + ended, status

    def _listen(self) -> None:
        """Note every job announced on the event channel (see ``_heard``); reconnects when Redis restarts."""
        while self._listening.is_set():
            try:
                pubsub = self.store.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(events.CHANNEL)
                while self._listening.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        job_id = events.JobEvent.model_validate_json(message["data"]).job_id
                        with self._heard_lock:
                            self._heard.add(job_id)
                pubsub.close()
            except Exception as exc:  # Redis restarting: listen again shortly
                log.debug("Job events: %s", exc)
                time.sleep(1.0)

    async def _poll_once(self) -> None:
        views, status = await self._run(self._snapshot)
        self._absorb(views)
        self.status = status
        self.status_updated.emit(status)

    # --- adding work -----------------------------------------------------------------------------------------
    async def take_in(self, paths: Iterable[Path]) -> IntakeReport:
        paths = list(paths)
        return await self._run(lambda: intake.take_in(paths, self.settings.max_audio_seconds, self._known_sources()))

    def _known_sources(self) -> set[Path]:
        store = self.store
        sources = {Path(e.source_path) for e in store.library() if e.source_path}
        for view in self._tracked.values():
            if not view.status.is_final and (source := store.source_path(view.job_id)) is not None:
                sources.add(source)
        return sources

    async def submit(self, files: list[CheckedFile], options: JobOptions) -> list[JobView]:
        def submit_all() -> list[JobView]:
            store = self.store
            views = []
            for file in files:
                job_id, _ = store.new_job_dir()
                views.append(
                    store.submit(
                        job_id,
                        file.path,
                        options,
                        filename=file.path.name,
                        delete_audio_after=False,
                        audio_seconds=file.audio_seconds,
                    )
                )
            return views

        views = await self._run(submit_all)
        self._absorb(views)
        return views

    # --- job control -----------------------------------------------------------------------------------------
    async def cancel(self, job_ids: list[str]) -> None:
        views = await self._run(lambda: [self.store.cancel(i) for i in job_ids])
        self._absorb(views)

    async def retry(self, job_ids: list[str]) -> list[JobView]:
        views = await self._run(lambda: [self.store.retry(i) for i in job_ids])
        self._forget(job_ids)
        self._absorb(views)
        return views

    async def rediarize(self, job_id: str, counts: SpeakerCounts, *, keep_review: bool) -> JobView:
        try:
            view = await self._run(lambda: rediarize(self.store, job_id, counts, keep_review=keep_review))
        except JobNotFoundError as exc:
            raise RediarizeRefusedError(exc.message) from exc
        except JobConflictError as exc:
            raise RediarizeRefusedError(str(exc)) from exc
        self._absorb([view])
        return view

    async def identified_speakers(self, job_id: str, result: TranscriptionResult) -> TranscriptionResult:
        decisions = SpeakerDecisions(self.store, VoiceLibrary.in_data_dir(self.settings.data_dir))
        try:
            return await self._run(lambda: decisions.identified(job_id, result))
        except JobNotFoundError as exc:
            raise IdentifyRefusedError(exc.message) from exc
        except (JobConflictError, VoiceLibraryError) as exc:
            raise IdentifyRefusedError(str(exc)) from exc

    async def retranscribe(self, job_id: str, change: NewTranscription, *, discard_review: bool) -> JobView:
        worker_model = self.settings.whisper_model_size
        try:
            view = await self._run(
                lambda: retranscribe(self.store, job_id, change, worker_model, discard_review=discard_review)
            )
        except JobNotFoundError as exc:
            raise RetranscribeRefusedError(exc.message) from exc
        except (JobConflictError, RetranscribeRequestError) as exc:
            raise RetranscribeRefusedError(str(exc)) from exc
        self._absorb([view])
        return view

    async def remove(self, job_ids: list[str]) -> None:
        def delete_all() -> None:
            for job_id in job_ids:
                self.store.delete(job_id)

        await self._run(delete_all)
        self._forget(job_ids)
        self.library_changed.emit()

    def _forget(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self._tracked.pop(job_id, None)
            self._texts.pop(job_id, None)

    # --- reading ---------------------------------------------------------------------------------------------
    async def result(self, job_id: str) -> TranscriptionResult | None:
        return await self._run(lambda: self.store.load_result(job_id))

    async def media_path(self, job_id: str) -> Path | None:
        def find() -> Path | None:
            source = self.store.source_path(job_id)
            return source if source is not None and source.is_file() else None

        return await self._run(find)

    async def transcript(self, job_id: str) -> StoredTranscript:
        return await self._run(lambda: self.store.transcript(job_id))

    async def partial(self, job_id: str, after: int = 0) -> PartialTranscript | None:
        return await self._run(lambda: self.store.partials.read(job_id, after))

    async def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str:
        saved = await self._run(lambda: self.store.save_transcript(job_id, result, if_match=etag))
        self._texts.pop(job_id, None)  # the library search reads the new text
        return saved

    async def revert_transcript(self, job_id: str, etag: str | None) -> StoredTranscript:
        def revert() -> StoredTranscript:
            original_etag = self.store.revert_transcript(job_id, if_match=etag)
            return StoredTranscript(self.store.original_result(job_id), original_etag, reviewed=False, reviewed_at=None)

        reverted = await self._run(revert)
        self._texts.pop(job_id, None)
        return reverted

    async def job(self, job_id: str) -> JobView:
        return await self._run(lambda: self.store.get(job_id, with_result=False))

    def open_live_stream(self, language: str | None, prompt: str | None) -> LiveTranscriber:
        """A live worker process of this computer (Settings' live model); the recording is queued by the caller."""
        return LiveWorkerProcess(worker_config(self.settings, model=None, language=language, prompt=prompt))

    async def follow_recording_job(self, job_id: str, recording: Path) -> JobView:
        return await self.job(job_id)

    async def library(self) -> list[LibraryEntry]:
        entries = await self._run(self.store.library)
        self._library_ids = [entry.job_id for entry in entries]
        return entries

    async def search(self, query: str) -> set[str]:
        """Ids of finished jobs whose transcript contains ``query`` (case-insensitive): of the library last listed
        (a job that finishes lists it again), not read again from disk per keystroke: 500 records took the GIL
        for ~100 ms while the window was answering the typing (issue 27)."""
        needle = query.casefold()
        listed = self._library_ids

        def scan() -> set[str]:
            job_ids = listed if listed is not None else [e.job_id for e in self.store.library()]
            return self._matching(needle, job_ids, self.store.transcript_text)

        return await self._run(scan) if needle else set()

    async def export(
        self, job_ids: list[str], folder: Path, formats: list[str], options: ExportOptions
    ) -> ExportSummary:
        def write() -> ExportSummary:
            items = []
            for job_id in job_ids:
                result = self.store.load_result(job_id)
                if result is not None:
                    view = self.store.get(job_id, with_result=False)
                    items.append(ExportItem(view.filename or job_id, result, view.completed_at))
            return export_jobs(items, folder, formats, options)

        return await self._run(write)
