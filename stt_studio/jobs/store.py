"""The one owner of job state. The API, the worker and the desktop app all go through JobStore.

Live state is an RQ job in Redis (status, timestamps, ``meta`` with progress and stage). What must outlive Redis
— the transcript and the final outcome — is written to ``<data dir>/jobs/<job id>/`` by the worker, so a finished
job is still there after restarts and after RQ's result TTL.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
from rq import Queue, Retry, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import (
    CanceledJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from stt_studio.atomic_files import write_text_atomically
from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.result import TranscriptionResult
from stt_studio.engine.speakers import speaker_count
from stt_studio.jobs import review
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.events import JobEvent, publish
from stt_studio.jobs.models import (
    JobOptions,
    JobStatus,
    JobView,
    LibraryEntry,
    QueueStats,
    WebhookDelivery,
    WorkerInfo,
)
from stt_studio.jobs.partial import PartialTranscripts
from stt_studio.jobs.review import StoredTranscript, TranscriptSnapshot
from stt_studio.webhooks import queue as webhooks

QUEUE_NAME = "stt-transcription"
JOB_FUNCTION = "stt_studio.jobs.worker.transcribe_job"
MAX_RERUNS = 2
"""How often a job is run again after the worker running it died (killed, out of memory, power loss)."""
KEEP_SECONDS = 7 * 24 * 3600
WEBHOOK_FILE = "webhook.json"
"""How long Redis keeps finished jobs; their transcripts stay on disk after that."""
STOP_TIMEOUT_SECONDS = 30.0
"""How long ``discard`` waits for a running job's worker to stop it (it checks every half second)."""
_STOP_POLL_SECONDS = 0.1

_STATUS = {
    RQStatus.QUEUED: JobStatus.QUEUED,
    RQStatus.CREATED: JobStatus.QUEUED,
    RQStatus.SCHEDULED: JobStatus.QUEUED,  # waiting to run again after its worker died
    RQStatus.DEFERRED: JobStatus.QUEUED,
    RQStatus.STARTED: JobStatus.PROCESSING,
    RQStatus.FINISHED: JobStatus.COMPLETED,
    RQStatus.FAILED: JobStatus.FAILED,
    RQStatus.STOPPED: JobStatus.FAILED,
    RQStatus.CANCELED: JobStatus.CANCELED,
}


class JobNotFoundError(KeyError):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.message = f"Job not found: {job_id}"


class JobConflictError(RuntimeError):
    pass


class TranscriptNotReadyError(JobConflictError):
    """The job has no transcript: it has not finished, or it failed or was canceled."""


@dataclass
class JobPage:
    """One page of a listing, newest first, and whether jobs (of the same filter) lie beyond either end."""

    jobs: builtins.list[JobView]
    older: bool
    newer: bool


_OLDEST = datetime.min.replace(tzinfo=timezone.utc)


def _newest_first_key(view: JobView) -> tuple[datetime, str]:
    return view.created_at or _OLDEST, view.job_id


def _count_newer(views: builtins.list[JobView], cursor: tuple[datetime, str], *, inclusive: bool) -> int:
    """How many of ``views`` (newest first) are newer than ``cursor`` (or as new, when ``inclusive``)."""
    for index, view in enumerate(views):
        key = _newest_first_key(view)
        if key < cursor or (key == cursor and not inclusive):
            return index
    return len(views)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cancel_key(job_id: str) -> str:
    return f"stt:cancel:{job_id}"


_WORKER_INFO_PREFIX = "stt:worker-info:"
_PREVIEW_CHARS = 240


def _summary(result: TranscriptionResult) -> dict[str, Any]:
    """What the library lists of a transcript; written again when a review changes it."""
    return {
        "speakers": speaker_count(result),
        "preview": result.text.strip()[:_PREVIEW_CHARS],
    }


class JobStore:
    def __init__(self, connection: redis.Redis, data_dir: Path) -> None:
        self.redis = connection
        self.queue = Queue(QUEUE_NAME, connection=connection)
        self.jobs_dir = data_dir / "jobs"
        self.partials = PartialTranscripts(connection)
        """Running jobs' segments so far (written by their workers)."""

    # --- files ---------------------------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        try:
            canonical = str(uuid.UUID(job_id))
        except ValueError:
            raise JobNotFoundError(job_id) from None  # never build paths from arbitrary ids
        return self.jobs_dir / canonical

    def new_job_dir(self) -> tuple[str, Path]:
        """A fresh job id and its directory (uploads are streamed straight into it)."""
        job_id = str(uuid.uuid4())
        path = self.job_dir(job_id)
        path.mkdir(parents=True)
        return job_id, path

    def _write_record(self, job_id: str, **fields: Any) -> None:
        path = self.job_dir(job_id) / "record.json"
        record = self._read_record(job_id) or {}
        record.update(fields)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, json.dumps(record, default=str))

    def _read_record(self, job_id: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.job_dir(job_id) / "record.json").read_text())
            return data
        except (OSError, ValueError):
            return None

    def save_result(self, job_id: str, result: TranscriptionResult, started_at: datetime | None) -> None:
        write_text_atomically(self.job_dir(job_id) / review.ORIGINAL_FILE, result.model_dump_json())
        summary = {
            "audio_seconds": result.duration,
            "language": result.language,
            "model": result.model,
            **_summary(result),
        }
        self._write_outcome(job_id, JobStatus.COMPLETED, started_at, **summary)

    def save_stages(self, job_id: str, stages: builtins.list[dict[str, Any]]) -> None:
        """The job's ``stages`` (its worker's record of each stage and attempt), kept for when Redis forgets it."""
        self._write_record(job_id, stages=stages)

    def result_json(self, job_id: str) -> bytes | None:
        """The current transcript (the reviewed one if there is one, else the engine's) as JSON bytes, unparsed
        (the API embeds it as is)."""
        snapshot = review.read_current(self.job_dir(job_id))
        return snapshot.data if snapshot is not None else None

    def load_result(self, job_id: str) -> TranscriptionResult | None:
        """The current transcript: reviewed if it was, else the engine's (``original_result``)."""
        stored = self.result_json(job_id)
        return TranscriptionResult.model_validate_json(stored) if stored is not None else None

    def save_ending(self, job_id: str, status: JobStatus, error: str, started_at: datetime | None) -> None:
        """Record a job that ended without a transcript (failed or canceled)."""
        self._write_outcome(job_id, status, started_at, error=error)

    def _write_outcome(self, job_id: str, status: JobStatus, started_at: datetime | None, **fields: Any) -> None:
        self._write_record(
            job_id,
            status=status.value,
            started_at=started_at.isoformat() if started_at else None,
            completed_at=utcnow().isoformat(),
            **fields,
        )
        if (self._read_record(job_id) or {}).get("callback_url"):
            webhooks.queue_first_delivery(self.redis, job_id)

    # --- submitting ----------------------------------------------------------------------------------------
    def submit(
        self,
        job_id: str,
        audio: Path,
        options: JobOptions,
        *,
        filename: str,
        delete_audio_after: bool,
        audio_seconds: float | None = None,
        callback_url: str | None = None,
        uploaded: bool = False,
    ) -> JobView:
        """Queue a transcription of ``audio`` (already checked to be decodable) under ``job_id``. Audio that is
        not deleted after the job (the desktop's own files) is recorded as the job's source: the player plays it
        and a retry uses it. A ``callback_url`` (already checked) gets the job's JSON when it ends. ``uploaded``: sent
        over the REST API (the desktop marks such jobs as remote)."""
        created = utcnow()
        self._write_record(
            job_id,
            filename=filename,
            options=options.model_dump(),
            created_at=created.isoformat(),
            audio_seconds=audio_seconds,
            source_path=None if delete_audio_after else str(audio),
            delete_audio_after=delete_audio_after,
            callback_url=callback_url,
            uploaded=uploaded,
        )
        if callback_url is not None:
            self.save_webhook_state(job_id, WebhookDelivery(url=callback_url))
        return self._enqueue(
            job_id,
            {"audio_path": str(audio), "options": options.model_dump(), "delete_audio_after": delete_audio_after},
            {
                "progress": 0,
                "stage": None,
                "filename": filename,
                "audio_seconds": audio_seconds,
                "options": options.model_dump(exclude_defaults=True),
                **({"callback_url": callback_url} if callback_url is not None else {}),
                **({"uploaded": True} if uploaded else {}),
            },
            description=f"transcribe {filename}",
        )

    def run_again(self, job_id: str, kwargs: dict[str, Any], options: JobOptions, description: str) -> JobView:
        """Queue a finished job's function again under its own id with ``kwargs`` (``jobs.rediarize``): the job
        keeps its record, transcript and stages so far (the new attempt's stages are added to them)."""
        view = self.get(job_id, with_result=False)
        record = self._read_record(job_id) or {}
        self._write_record(job_id, options=options.model_dump())
        with contextlib.suppress(NoSuchJobError):
            Job.fetch(job_id, connection=self.redis).delete()
        self.redis.delete(_cancel_key(job_id))
        meta: dict[str, Any] = {
            "progress": 0,
            "stage": None,
            "filename": view.filename,
            "audio_seconds": view.audio_seconds,
            "options": options.model_dump(exclude_defaults=True),
            "attempts": max([view.attempts, *(stage.attempt for stage in view.stages)]),  # from disk: 0
            "stages": [stage.model_dump(mode="json") for stage in view.stages],
            **({"callback_url": record["callback_url"]} if record.get("callback_url") else {}),
            **({"uploaded": True} if view.uploaded else {}),
        }
        return self._enqueue(job_id, kwargs, meta, description=description)

    def _enqueue(self, job_id: str, kwargs: dict[str, Any], meta: dict[str, Any], *, description: str) -> JobView:
        pipe = self.redis.pipeline()  # one round trip to Redis instead of RQ's two
        job = self.queue.enqueue(
            JOB_FUNCTION,
            kwargs=kwargs,
            job_id=job_id,
            retry=Retry(max=MAX_RERUNS),
            job_timeout=-1,  # hour-long files are normal; a dead worker is found by its heartbeat instead
            result_ttl=KEEP_SECONDS,
            failure_ttl=KEEP_SECONDS,
            meta=meta,
            description=description,
            pipeline=pipe,
        )
        view = self._view(job)
        publish(pipe, JobEvent.of(view))  # in the same transaction: no listener hears of a job before it exists
        pipe.execute()
        return view

    # --- reading -------------------------------------------------------------------------------------------
    def get(
        self, job_id: str, *, with_result: bool = True, with_partial: bool = False, partial_after: int = 0
    ) -> JobView:
        """``with_partial``: a running job's transcript so far too, its segments from id ``partial_after`` on (one
        more Redis read; listings never have it)."""
        self.job_dir(job_id)  # rejects ids that are not ours
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return self._view_from_disk(job_id, with_result=with_result)
        view = self._view(job, with_result=with_result)
        if with_partial and view.status == JobStatus.PROCESSING:
            view.partial = self.partials.read(job_id, partial_after)
        return view

    def _view(self, job: Job, *, with_result: bool = True) -> JobView:
        status = _STATUS.get(job.get_status(refresh=False) or RQStatus.QUEUED, JobStatus.QUEUED)
        meta = job.meta or {}
        error: str | None = None
        result: TranscriptionResult | None = None
        if status == JobStatus.FAILED:
            error = meta.get("error") or self._abandoned_error(job)
        if status == JobStatus.COMPLETED and with_result:
            result = self.load_result(job.id)
        reviewed_at = review.reviewed_at(self.job_dir(job.id)) if status == JobStatus.COMPLETED else None
        queued = status == JobStatus.QUEUED
        return JobView(
            job_id=job.id,
            status=status,
            progress=100 if status == JobStatus.COMPLETED else 0 if queued else int(meta.get("progress", 0)),
            stage=None if queued or status.is_final else meta.get("stage"),
            remaining_seconds=_remaining_seconds(meta) if status == JobStatus.PROCESSING else None,
            download=meta.get("download") if status == JobStatus.PROCESSING else None,
            created_at=job.created_at,
            started_at=None if queued else job.started_at,
            completed_at=job.ended_at if status.is_final else None,
            filename=meta.get("filename"),
            attempts=int(meta.get("attempts", 0)),
            audio_seconds=meta.get("audio_seconds"),
            options=JobOptions.model_validate(meta["options"]) if "options" in meta else None,
            error=error,
            result=result,
            reviewed=reviewed_at is not None,
            reviewed_at=reviewed_at,
            webhook=self.webhook_state(job.id) if "callback_url" in meta else None,
            uploaded=bool(meta.get("uploaded")),
            model=(meta.get("model") or self._result_model(job.id)) if status == JobStatus.COMPLETED else None,
            stages=meta.get("stages") or [],
        )

    def _result_model(self, job_id: str, record: dict[str, Any] | None = None) -> str | None:
        """The model that produced the job's result, as its record has it (a local folder by its name)."""
        record = record if record is not None else self._read_record(job_id)
        model = record.get("model") if record is not None else None
        return public_name(model) if isinstance(model, str) else None

    @staticmethod
    def _abandoned_error(job: Job) -> str:
        """The error of a job that failed outside our job function (its worker died every time)."""
        latest = job.latest_result()
        lines = (latest.exc_string or "").strip().splitlines() if latest is not None else []
        last = lines[-1] if lines else ""
        if "AbandonedJobError" in last or "Moved to FailedJobRegistry" in last:
            return f"The worker stopped unexpectedly while processing this job ({MAX_RERUNS + 1} attempts)"
        return last or "Transcription failed"

    def finished_view(self, job_id: str) -> JobView:
        """A finished job as its record in the data dir has it, without Redis (the CLI's export reads it)."""
        return self._view_from_disk(job_id, with_result=False)

    def _view_from_disk(self, job_id: str, *, with_result: bool) -> JobView:
        record = self._read_record(job_id)
        if record is None or record.get("status") not in {s.value for s in JobStatus if s.is_final}:
            raise JobNotFoundError(job_id)
        status = JobStatus(record["status"])
        reviewed_at = review.reviewed_at(self.job_dir(job_id)) if status == JobStatus.COMPLETED else None
        return JobView(
            job_id=job_id,
            status=status,
            progress=100 if status == JobStatus.COMPLETED else 0,
            created_at=record.get("created_at"),
            started_at=record.get("started_at"),
            completed_at=record.get("completed_at"),
            filename=record.get("filename"),
            audio_seconds=record.get("audio_seconds"),
            options=JobOptions.model_validate(record["options"]) if "options" in record else None,
            error=record.get("error"),
            result=self.load_result(job_id) if status == JobStatus.COMPLETED and with_result else None,
            reviewed=reviewed_at is not None,
            reviewed_at=reviewed_at,
            webhook=self.webhook_state(job_id) if record.get("callback_url") else None,
            uploaded=bool(record.get("uploaded")),
            model=self._result_model(job_id, record) if status == JobStatus.COMPLETED else None,
            stages=record.get("stages") or [],
        )

    def ended_view(self, job_id: str) -> JobView:
        """How the job ended, from its record: final as soon as its worker wrote it, which is before RQ marks the
        job finished (the webhook's body). JobNotFoundError while it has not ended."""
        view = self._view_from_disk(job_id, with_result=False)
        with contextlib.suppress(NoSuchJobError):
            view.attempts = int((Job.fetch(job_id, connection=self.redis).meta or {}).get("attempts", 0))
        return view

    # --- webhooks: the delivery state, written at submission and then only by the webhook worker --------------
    def webhook_state(self, job_id: str) -> WebhookDelivery | None:
        try:
            return WebhookDelivery.model_validate_json((self.job_dir(job_id) / WEBHOOK_FILE).read_bytes())
        except (OSError, ValueError):
            return None

    def save_webhook_state(self, job_id: str, state: WebhookDelivery) -> None:
        """JobNotFoundError when the job has been deleted meanwhile (its directory is not made again)."""
        try:
            write_text_atomically(self.job_dir(job_id) / WEBHOOK_FILE, state.model_dump_json())
        except FileNotFoundError:
            raise JobNotFoundError(job_id) from None

    def _ids(self, status: JobStatus) -> list[str]:
        q = self.queue
        if status == JobStatus.QUEUED:
            return [*q.get_job_ids(), *ScheduledJobRegistry(queue=q).get_job_ids()]
        registry = {
            JobStatus.PROCESSING: StartedJobRegistry,
            JobStatus.COMPLETED: FinishedJobRegistry,
            JobStatus.FAILED: FailedJobRegistry,
            JobStatus.CANCELED: CanceledJobRegistry,
        }[status]
        return list(registry(queue=q).get_job_ids())

    def list(self, status: JobStatus | None = None, limit: int = 50) -> list[JobView]:
        """Most recent first. Listings leave out the transcript; GET one job for it."""
        return self.page(status, limit).jobs

    def page(
        self, status: JobStatus | None = None, limit: int = 50, *, before: str | None = None, after: str | None = None
    ) -> JobPage:
        """Up to ``limit`` jobs, newest first: the newest ones, or those just older than the job ``before``, or
        those just newer than the job ``after``. A cursor job is found even when it no longer matches ``status``
        (it may have finished meanwhile); an unknown one raises JobNotFoundError."""
        views = self._newest_first(status)
        if before is not None:
            start = _count_newer(views, self._cursor_key(before), inclusive=True)
            end = min(start + limit, len(views))
        elif after is not None:
            end = _count_newer(views, self._cursor_key(after), inclusive=False)
            start = max(0, end - limit)
        else:
            start, end = 0, min(limit, len(views))
        return JobPage(jobs=views[start:end], older=end < len(views), newer=start > 0)

    def _newest_first(self, status: JobStatus | None) -> builtins.list[JobView]:
        statuses: Iterable[JobStatus] = [status] if status is not None else builtins.list(JobStatus)
        ids = builtins.list(dict.fromkeys(i for s in statuses for i in self._ids(s)))
        jobs = [j for j in Job.fetch_many(ids, connection=self.redis) if j is not None]
        views = [self._view(j, with_result=False) for j in jobs]
        if status is not None:
            views = [v for v in views if v.status == status]
        views.sort(key=_newest_first_key, reverse=True)
        return views

    def _cursor_key(self, job_id: str) -> tuple[datetime, str]:
        return _newest_first_key(self.get(job_id, with_result=False))

    def stats(self) -> QueueStats:
        try:
            q = self.queue
            return QueueStats(
                queue_length=len(q) + ScheduledJobRegistry(queue=q).count,
                redis_healthy=bool(self.redis.ping()),
                processing=StartedJobRegistry(queue=q).count,
                completed=FinishedJobRegistry(queue=q).count,
                failed=FailedJobRegistry(queue=q).count,
                canceled=CanceledJobRegistry(queue=q).count,
                workers=Worker.count(queue=q),
            )
        except redis.RedisError:
            return QueueStats(queue_length=0, redis_healthy=False)

    # --- cancelling ----------------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobView:
        """Cancel a queued job at once; ask a running job's worker to stop (it does within seconds)."""
        self.job_dir(job_id)  # rejects ids that are not ours (RQ raises ValueError for some)
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            raise JobNotFoundError(job_id) from None
        view = self._view(job, with_result=False)
        if view.status.is_final:
            raise JobConflictError(f"Job {job_id} is already {view.status.value}")
        if view.status == JobStatus.QUEUED:
            try:
                job.cancel()
            except InvalidJobOperation as exc:
                raise JobConflictError(str(exc)) from exc
            self.save_ending(job_id, JobStatus.CANCELED, "Canceled before it started", None)
            JobCheckpoints.of_job(self.job_dir(job_id)).remove()  # queued again after its worker died, perhaps
            self.partials.remove(job_id)
            if job.kwargs.get("delete_audio_after"):
                self.keep_upload(job_id, Path(job.kwargs["audio_path"]))
        self.redis.set(_cancel_key(job_id), 1, ex=KEEP_SECONDS)
        view = self.get(job_id, with_result=False)
        if view.status.is_final:  # canceled here; a running job's worker publishes how it ended
            publish(self.redis, JobEvent.of(view))
        return view

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(_cancel_key(job_id)))

    def keep_upload(self, job_id: str, upload: Path) -> None:
        """An upload that goes after its job completes stays when the job fails or is canceled: recorded as the
        job's source, a retry runs it again; deleting the job deletes it."""
        self._write_record(job_id, source_path=str(upload))

    # --- the desktop's library and job control ----------------------------------------------------------------
    def library(self) -> builtins.list[LibraryEntry]:
        """Every finished job in the data dir, newest first (read from disk: it outlives Redis's retention)."""
        finals = {s.value for s in JobStatus if s.is_final}
        entries: builtins.list[LibraryEntry] = []
        if not self.jobs_dir.is_dir():
            return entries
        for path in self.jobs_dir.iterdir():
            record = self._read_record(path.name)
            if record is None or record.get("status") not in finals:
                continue
            entries.append(
                LibraryEntry(
                    job_id=path.name,
                    status=JobStatus(record["status"]),
                    filename=record.get("filename") or "upload",
                    created_at=record.get("created_at"),
                    completed_at=record.get("completed_at"),
                    audio_seconds=record.get("audio_seconds"),
                    language=record.get("language"),
                    speakers=record.get("speakers"),
                    model=record.get("model") or (record.get("options") or {}).get("model"),
                    preview=record.get("preview") or "",
                    error=record.get("error"),
                    source_path=record.get("source_path"),
                )
            )
        entries.sort(key=lambda e: e.created_at or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
        return entries

    def transcript_text(self, job_id: str) -> str:
        """The whole transcript's text ('' when there is none), for searching."""
        stored = self.result_json(job_id)
        if stored is None:
            return ""
        text = json.loads(stored).get("text", "")
        return text if isinstance(text, str) else ""

    def source_path(self, job_id: str) -> Path | None:
        """The user's own audio file this job transcribed (desktop jobs), if recorded."""
        record = self._read_record(job_id) or {}
        source = record.get("source_path")
        return Path(source) if source else None

    def delete(self, job_id: str) -> None:
        """Remove a finished job: its Redis keys and its directory (transcript, record, kept upload)."""
        try:
            job: Job | None = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            job = None
        if job is not None:
            status = self._view(job, with_result=False).status
            if not status.is_final:
                raise JobConflictError(f"Job {job_id} is {status.value}; cancel it first")
            job.delete()
            self.redis.delete(_cancel_key(job_id))
            self.partials.remove(job_id)  # a worker that died mid-job leaves them until they expire
        directory = self.job_dir(job_id)
        if job is None and not directory.exists():
            raise JobNotFoundError(job_id)
        shutil.rmtree(directory, ignore_errors=True)
        publish(self.redis, JobEvent.gone(job_id))

    def discard(self, job_id: str, stop_timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Delete a job in any state: a queued or running one is canceled first (a running one once its worker has
        stopped it). Blocks up to ``stop_timeout`` seconds; JobConflictError if the worker has not stopped by then."""
        if not self.get(job_id, with_result=False).status.is_final:
            self._stop(job_id, stop_timeout)
        self.delete(job_id)

    def _stop(self, job_id: str, timeout: float) -> None:
        self.redis.set(_cancel_key(job_id), 1, ex=KEEP_SECONDS)  # heard by the worker even if it starts it just now
        with contextlib.suppress(JobConflictError):  # it ended (or started) meanwhile: the wait below sees which
            self.cancel(job_id)
        deadline = time.monotonic() + timeout
        while not self._settled(job_id):
            if time.monotonic() >= deadline:
                raise JobConflictError(f"Job {job_id} did not stop within {timeout:g} s; try again")
            time.sleep(_STOP_POLL_SECONDS)

    def _settled(self, job_id: str) -> bool:
        """Final, and the worker has written its last word: a canceled run is "failed" for a moment before the
        worker marks it canceled, and deleting it in between would leave a stray key behind."""
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return True
        status = self._view(job, with_result=False).status
        return status.is_final and not (status == JobStatus.FAILED and (job.meta or {}).get("canceled"))

    def retry(self, job_id: str) -> JobView:
        """Queue a failed or canceled job again, with the same audio and options, as a new job (the old one is
        removed)."""
        view = self.get(job_id, with_result=False)
        if view.status not in (JobStatus.FAILED, JobStatus.CANCELED):
            raise JobConflictError(f"Job {job_id} is {view.status.value}; only failed or canceled jobs are retried")
        if not self._settled(job_id):
            raise JobConflictError(f"Job {job_id} is still being stopped; try again in a moment")
        source = self.source_path(job_id)
        if source is None or not source.is_file():
            raise JobConflictError(f"The audio of job {job_id} was not kept, so it cannot be run again")
        record = self._read_record(job_id) or {}
        new_id, new_dir = self.new_job_dir()
        if source.parent == self.job_dir(job_id):  # an upload kept in the old job's directory moves with it
            source = source.rename(new_dir / source.name)
        new_view = self.submit(
            new_id,
            source,
            view.options or JobOptions(),
            filename=view.filename or source.name,
            delete_audio_after=bool(record.get("delete_audio_after", False)),
            audio_seconds=record.get("audio_seconds"),
            callback_url=record.get("callback_url"),  # the new job's ending is reported to the same receiver
            uploaded=bool(record.get("uploaded")),
        )
        self.delete(job_id)
        return new_view

    # --- the reviewed transcript (files and versions: review.py) ----------------------------------------------
    def transcript(self, job_id: str) -> StoredTranscript:
        """The current transcript and its version: the reviewed one if there is one, else the engine's. Reads
        files only (works without Redis). TranscriptNotReadyError when the job has no transcript."""
        return self.transcript_snapshot(job_id).parsed()

    def transcript_snapshot(self, job_id: str) -> TranscriptSnapshot:
        """``transcript`` unparsed: its bytes, as the API sends them."""
        snapshot = review.read_current(self.job_dir(job_id))
        if snapshot is None:
            raise self._no_transcript(job_id)
        return snapshot

    def original_snapshot(self, job_id: str) -> TranscriptSnapshot:
        """The engine's output, unparsed; never modified by a review."""
        snapshot = review.read_original(self.job_dir(job_id))
        if snapshot is None:
            raise self._no_transcript(job_id)
        return snapshot

    def original_result(self, job_id: str) -> TranscriptionResult:
        return TranscriptionResult.model_validate_json(self.original_snapshot(job_id).data)

    def save_transcript(self, job_id: str, result: TranscriptionResult, *, if_match: str | None) -> str:
        """Store ``result`` as the job's reviewed transcript if ``if_match`` (an ETag, an If-Match list or ``*``;
        None: unconditionally) names the current version. Returns the new ETag. TranscriptVersionError when the
        version is stale, TranscriptInvalidError when ``result`` does not fit the audio (review.check)."""
        try:
            return review.save(self.job_dir(job_id), result, if_match, self._record_summary(job_id))
        except review.NoTranscriptError:
            raise self._no_transcript(job_id) from None

    def revert_transcript(self, job_id: str, *, if_match: str | None) -> str:
        """Make the engine's transcript current again; returns its ETag. TranscriptVersionError when stale."""
        try:
            return review.revert(self.job_dir(job_id), if_match, self._record_summary(job_id))
        except review.NoTranscriptError:
            raise self._no_transcript(job_id) from None

    def _record_summary(self, job_id: str) -> review.Listener:
        """Keeps the library's preview and speaker count those of the current transcript."""
        return lambda result: self._write_record(job_id, **_summary(result))

    def _no_transcript(self, job_id: str) -> JobNotFoundError | TranscriptNotReadyError:
        record = self._read_record(job_id)
        if record is None:
            return JobNotFoundError(job_id)
        status = record.get("status")
        if status is None:  # written when the job ends
            return TranscriptNotReadyError(f"Job {job_id} has not finished; only completed jobs have a transcript")
        return TranscriptNotReadyError(f"Job {job_id} is {status}; only completed jobs have a transcript")

    # --- workers -------------------------------------------------------------------------------------------
    def publish_worker_info(self, info: WorkerInfo, ttl_seconds: int) -> None:
        self.redis.set(f"{_WORKER_INFO_PREFIX}{info.name}", info.model_dump_json(), ex=ttl_seconds)

    def live_local_worker_pids(self) -> builtins.list[int]:
        """Pids of workers of this queue that run on this machine and are alive (another STT Studio's, when this
        process has started none): registrations of killed workers linger in Redis until their TTL."""
        host = socket.gethostname()
        pids = []
        for worker in Worker.all(queue=self.queue):
            if worker.hostname == host and worker.pid is not None and _pid_alive(worker.pid):
                pids.append(worker.pid)
        return pids

    def worker_infos(self) -> builtins.list[WorkerInfo]:
        keys = sorted(self.redis.scan_iter(match=f"{_WORKER_INFO_PREFIX}*", count=100))
        values = self.redis.mget(keys) if keys else []
        return [WorkerInfo.model_validate_json(v) for v in values if v is not None]


def _remaining_seconds(meta: dict[str, Any]) -> int | None:
    """The worker's estimate of a running job's time left (``jobs.job_progress``): never under a second."""
    value = meta.get("remaining_seconds")
    return max(1, int(value)) if isinstance(value, int | float) else None
