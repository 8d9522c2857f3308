"""The worker process: loads the engine once and runs transcription jobs one at a time.

RQ's SimpleWorker runs each job in this process rather than in a fork, so the model stays loaded (and CUDA, which
does not survive fork, keeps working). SimpleWorker does not refresh its heartbeat while a job runs, so a thread
does; with a short heartbeat TTL and frequent registry maintenance a job whose worker was killed is found and run
again within about 30-40 s (RQ's defaults take a quarter of an hour).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from rq import Queue, SimpleWorker, get_current_job
from rq.job import Job

from stt_studio.engine.cuda_faults import CudaFault, classify, first_line
from stt_studio.engine.errors import AudioError, CancelledError, EngineError
from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.model_holder import ModelHolder
from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
from stt_studio.engine.pipeline import Engine
from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.engine.stages import KEPT_AFTER_COMPLETION, StageClock, StageRun, merged_runs
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.connection import connect
from stt_studio.jobs.cuda_recovery import device_out_of_memory_message, sticky_fault_message
from stt_studio.jobs.events import JobEvent, SegmentsNotice, publish, publish_segments
from stt_studio.jobs.fault_injection import StageFaults
from stt_studio.jobs.job_progress import JobProgress
from stt_studio.jobs.kept_audio import keep_decoded_audio, kept_audio
from stt_studio.jobs.metrics import JobMetricsRecorder
from stt_studio.jobs.model_downloads import ModelDownloads
from stt_studio.jobs.models import JobOptions, JobStatus, WorkerInfo
from stt_studio.jobs.pace_store import PaceStore
from stt_studio.jobs.resources import (
    DISK_FULL_MESSAGE,
    apply_memory_limit,
    is_disk_full,
    is_out_of_memory,
    out_of_memory_message,
    when_space_allows,
)
from stt_studio.jobs.review import TranscriptInvalidError, TranscriptVersionError
from stt_studio.jobs.store import JobNotFoundError, JobStore, TranscriptNotReadyError
from stt_studio.processes import at_least_nice, session_at_least_nice, watch_parent_from_env
from stt_studio.review.new_speakers import carry_review
from stt_studio.settings import Settings
from stt_studio.voices.prints import VOICE_PRINTS_KEY

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL = 20
"""A job whose worker has not beaten for this long is taken as abandoned and run again."""
MAINTENANCE_SECONDS = 10
WORKER_TTL = 25
"""Also bounds how long an idle worker blocks on the queue before its next maintenance round (TTL - 15 s)."""
CANCEL_POLL_SECONDS = 0.5
INFO_SECONDS = 10


class JobFailedError(Exception):
    """A job failed for a reason that another attempt would not fix (bad audio, bad option)."""


@dataclass
class WorkerContext:
    engine: Engine
    """The configured model's engine, loaded at start."""
    store: JobStore
    metrics: JobMetricsRecorder
    faults: StageFaults | None = None
    """The test suite's fault injection (Settings.fault_injection_dir); None outside tests."""
    restart_reason: str | None = None
    """Set when the process must not take another job (out of memory, a sticky CUDA fault): it ends after this one
    and the supervisor starts a fresh one."""
    models: ModelHolder = field(init=False)
    """The default engine and at most one other that a job asked for (the desktop's per-batch model)."""

    def __post_init__(self) -> None:
        self.models = ModelHolder(self.engine)

    def info(self, name: str) -> WorkerInfo:
        engine = self.models.current
        loaded = engine.loaded_model
        info = WorkerInfo(
            name=name,
            pid=os.getpid(),
            model=loaded.name if loaded is not None else engine.model_spec,
            device=engine.device,
            compute_type=engine.compute_type,
            requested_model=loaded.requested if loaded is not None else None,
            unavailable_reason=loaded.unavailable_reason if loaded is not None else None,
            requested_device=engine.requested_device,
            torch_device=engine.parts.torch,
            gpu_index=engine.settings.worker_gpu if engine.device == "cuda" else None,
            notices=engine.notices,
            supported_compute_types=sorted(engine.setup.supported_compute_types),
        )
        if engine.device == "cuda":
            gpu = engine.setup.gpu
            info.gpu_name = gpu.name if gpu is not None else None
            if engine.parts.torch == "cuda":  # a CPU-only torch can't tell the memory
                import torch

                free, total = torch.cuda.mem_get_info()
                info.gpu_memory_used_mb = (total - free) / 2**20
                info.gpu_memory_total_mb = total / 2**20
        return info


_context: ContextVar[WorkerContext] = ContextVar("stt_worker_context")


def _cancel_poller(store: JobStore, job_id: str) -> Any:
    last = 0.0
    requested = False

    def should_cancel() -> bool:
        nonlocal last, requested
        now = time.monotonic()
        if not requested and now - last >= CANCEL_POLL_SECONDS:
            last = now
            requested = store.cancel_requested(job_id)
        return requested

    return should_cancel


def transcribe_job(
    audio_path: str,
    options: dict[str, Any],
    delete_audio_after: bool,
    audio_sha256: str | None = None,
    keep_review: bool = False,
    discard_review: bool = False,
) -> dict[str, Any]:
    """The RQ job function. Runs inside TranscriptionWorker, whose context holds the loaded engine.

    ``audio_sha256`` and ``keep_review``: a completed job run again to find its speakers again
    (``jobs.rediarize``): the hash of the upload ``audio_path``'s decoded copy came from, and whether its reviewed
    transcript gets the new speakers. ``discard_review``: a job transcribed again (``jobs.retranscribe``): its review,
    of the old text, goes to the history once the new transcript is saved."""
    ctx = _context.get()
    job = get_current_job()
    assert job is not None
    opts = JobOptions.model_validate(options)
    diarization = (
        DiarizationOptions(opts.num_speakers, opts.min_speakers, opts.max_speakers) if opts.enable_diarization else None
    )
    job.meta["attempts"] = int(job.meta.get("attempts", 0)) + 1
    job.meta["stages"] = list(job.meta.get("stages") or [])  # before the progress thread saves the meta
    checkpoints = JobCheckpoints.of_job(ctx.store.job_dir(job.id))
    clock = StageClock(job.meta["attempts"], _stage_recorder(job))
    engine = ctx.models.engine_for(opts.model)
    paces = PaceStore(ctx.store.redis)
    faults = ctx.faults
    progress = JobProgress(
        job,
        paces.load(engine.model_spec, engine.device),
        job.meta.get("audio_seconds"),
        on_stage=(lambda stage: faults.entered(stage, job.id)) if faults is not None else None,
    )
    started = time.perf_counter()

    def finish_without_retry(outcome: JobStatus, error: str) -> None:
        job.retries_left = 0  # deterministic: another attempt would fail the same way
        job.meta["error"] = error
        job.meta["canceled"] = outcome == JobStatus.CANCELED
        seconds = time.perf_counter() - started
        when_space_allows(job.save_meta, f"the end of job {job.id}")
        if outcome == JobStatus.CANCELED:
            checkpoints.remove()
        when_space_allows(lambda: ctx.store.save_ending(job.id, outcome, error, job.started_at), "its record")
        when_space_allows(lambda: ctx.metrics.job_finished(outcome, seconds, 0.0, progress.finish()), "its metrics")
        if delete_audio_after:
            # for a retry; it goes when the job is deleted
            when_space_allows(lambda: ctx.store.keep_upload(job.id, Path(audio_path)), "its upload")

    def run(batch_size: int | None) -> TranscriptionResult:
        ctx.store.partials.remove(job.id)  # each run tells its batches from the first (read back or decoded)
        return engine.transcribe(
            audio_path,
            TranscribeOptions(
                language=opts.language,
                diarization=diarization,
                prompt=opts.prompt,
                batch_size=batch_size,
                task=opts.task,
                identify_speakers=opts.identify_speakers,
                name_speakers_automatically=opts.name_speakers_automatically,
            ),
            on_progress=progress,
            should_cancel=_cancel_poller(ctx.store, job.id),
            stage_weights=progress.pace.weights(job.meta.get("audio_seconds") or 60.0),
            checkpoints=checkpoints,
            clock=clock,
            audio_sha256=audio_sha256,
            on_segments=_partial_teller(ctx.store, job.id),
            on_aligned=_aligned_teller(ctx.store, job.id),
        )

    try:
        with progress.ticking():
            result = halving_batch_on_oom(run, engine, job, ctx.models.after_job)
    except CancelledError as exc:
        finish_without_retry(JobStatus.CANCELED, str(exc))
        raise
    except EngineError as exc:
        finish_without_retry(JobStatus.FAILED, str(exc))
        raise JobFailedError(str(exc)) from exc
    except Exception as exc:
        fault = classify(exc)
        if fault is CudaFault.OUT_OF_MEMORY:  # at half the batch too: halving_batch_on_oom tried that
            message = out_of_memory_failure(engine, job)
            finish_without_retry(JobStatus.FAILED, message)
            raise JobFailedError(message) from exc
        if fault is CudaFault.STICKY:
            _after_sticky_fault(ctx, engine, job, exc, finish_without_retry)
            raise  # RQ queues it again; this process ends after it and a fresh one runs it
        if not is_out_of_memory(exc):
            raise
        ctx.restart_reason = "it ran out of memory"  # a fresh process rather than one whose memory is in pieces
        message = out_of_memory_message(ctx.engine.settings.worker_memory_limit_mb)
        finish_without_retry(JobStatus.FAILED, message)
        raise JobFailedError(message) from exc
    job.meta["model"] = public_name(result.model)  # what produced the result, for the job's row
    try:
        job.save_meta()
    except redis.RedisError as exc:  # news, not state: the record on disk has it too
        log.warning("Could not record the model of job %s: %s", job.id, exc)
    try:
        ctx.store.save_result(job.id, result, job.started_at)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        finish_without_retry(JobStatus.FAILED, DISK_FULL_MESSAGE)
        raise JobFailedError(DISK_FULL_MESSAGE) from exc
    if keep_review:
        _put_new_speakers_on_review(ctx.store, job.id, result)
    if discard_review:
        ctx.store.revert_transcript(job.id, if_match=None)
    stage_seconds = progress.finish()
    ctx.metrics.job_finished(JobStatus.COMPLETED, time.perf_counter() - started, result.duration, stage_seconds)
    if not any(run.reused for run in clock.runs):  # stages read back from checkpoints say nothing of the pace
        paces.record(engine.model_spec, engine.device, stage_seconds, result.duration)
    _keep_what_finished_jobs_need(ctx.store, job, checkpoints)
    if delete_audio_after:
        if ctx.engine.settings.keep_audio_to_find_speakers_again:
            _keep_decoded_upload(Path(audio_path), checkpoints, ctx.engine.settings.max_audio_seconds)
        Path(audio_path).unlink(missing_ok=True)
    return {"duration": result.duration, "segments": len(result.segments)}


def out_of_memory_failure(engine: Engine, job: Job) -> str:
    """The job's plain failure once half the batch ran out of memory too: the model, the batch sizes, free memory."""
    return device_out_of_memory_message(engine, job.meta.get("batch_sizes", [engine.batch_size]))


def halving_batch_on_oom(
    run: Callable[[int | None], TranscriptionResult], engine: Engine, job: Job, release: Callable[[], None]
) -> TranscriptionResult:
    """Run the job; when the GPU runs out of memory, once more in this process with half the batch size. The CUDA
    context survives an out-of-memory error, and most of what the job needs beyond the model is the batch."""
    try:
        return run(None)
    except Exception as exc:
        if classify(exc) is not CudaFault.OUT_OF_MEMORY:
            raise
        log.warning("Job %s ran out of memory at batch size %d: %s", job.id, engine.batch_size, first_line(exc))
    # out of the except block: the first try's traceback (and the tensors its frames hold) is gone
    half = max(1, engine.batch_size // 2)
    job.meta["batch_sizes"] = [engine.batch_size, half]
    release()
    log.warning("Running job %s again in this worker with batch size %d", job.id, half)
    return run(half)


def _after_sticky_fault(
    ctx: WorkerContext, engine: Engine, job: Job, exc: BaseException, fail: Callable[[JobStatus, str], None]
) -> None:
    """A sticky CUDA fault broke this process's CUDA context: record it on the job, end the process after the job,
    and let the job run once more in the fresh process the supervisor starts; a second fault fails it for good."""
    faults = [*job.meta.get("cuda_faults", []), first_line(exc)]
    job.meta["cuda_faults"] = faults
    ctx.restart_reason = f"a CUDA fault ({first_line(exc)})"
    log.error("Job %s met a sticky CUDA fault (%d so far): %s", job.id, len(faults), first_line(exc))
    if len(faults) > 1 or not job.retries_left:
        message = sticky_fault_message(engine, faults)
        fail(JobStatus.FAILED, message)
        raise JobFailedError(message) from exc
    when_space_allows(job.save_meta, f"the CUDA fault of job {job.id}")  # RQ runs it again (one of its reruns)


def _partial_teller(store: JobStore, job_id: str) -> Callable[[list[Segment], float], None]:
    """Keeps each batch of the transcript as it is made and tells the API's listeners that it grew."""

    def tell(segments: list[Segment], until: float) -> None:
        try:
            count = store.partials.append(job_id, segments, until)
            notice = SegmentsNotice(job_id=job_id, count=count, segments=segments, until=until)
            publish_segments(store.redis, notice)
        except redis.RedisError as exc:  # news, not state: the result has every segment
            log.warning("Could not keep the transcript so far of job %s: %s", job_id, exc)

    return tell


def _aligned_teller(store: JobStore, job_id: str) -> Callable[[list[Segment], float], None]:
    """Puts the aligned segments in place of the decoded ones in the transcript so far and tells the listeners."""

    def tell(segments: list[Segment], until: float) -> None:
        try:
            count = store.partials.replace_with_aligned(job_id, segments, until)
            publish_segments(store.redis, SegmentsNotice(job_id=job_id, count=count, until=until, words_aligned=True))
        except redis.RedisError as exc:  # news, not state: the result has every segment
            log.warning("Could not keep the aligned transcript so far of job %s: %s", job_id, exc)

    return tell


def _stage_recorder(job: Job) -> Callable[[StageRun], None]:
    """Writes each stage of this attempt into the job's ``stages`` as it starts and as it ends."""

    def record(run: StageRun) -> None:
        job.meta["stages"] = merged_runs(job.meta.get("stages") or [], run)
        try:
            job.save_meta()
        except redis.RedisError as exc:  # news, not state: the job goes on
            log.warning("Could not record stage %s of job %s: %s", run.name, job.id, exc)

    return record


def _keep_what_finished_jobs_need(store: JobStore, job: Job, checkpoints: JobCheckpoints) -> None:
    """A completed job keeps its stages in its record and only the checkpoints that running one stage again needs."""
    try:
        store.save_stages(job.id, job.meta.get("stages") or [])
        checkpoints.keep_only([*(stage.value for stage in KEPT_AFTER_COMPLETION), VOICE_PRINTS_KEY])
    except OSError as exc:  # the transcript is saved; this is housekeeping
        log.warning("Could not tidy the checkpoints of job %s: %s", job.id, exc)


def _keep_decoded_upload(upload: Path, checkpoints: JobCheckpoints, max_seconds: float) -> None:
    """An upload is deleted once its job completes; its decoded audio stays, for finding speakers again."""
    if kept_audio(checkpoints) is not None:
        return  # kept by an earlier run of this job
    try:
        keep_decoded_audio(upload, checkpoints, max_seconds)
    except (OSError, AudioError) as exc:  # the transcript is saved: this costs only finding speakers again
        log.warning("Could not keep the audio of %s to find speakers again: %s", upload.name, exc)


def _put_new_speakers_on_review(store: JobStore, job_id: str, result: TranscriptionResult) -> None:
    """The reviewed transcript keeps its text and gets ``result``'s speakers (``review.new_speakers``); a review
    saved meanwhile is read again, never overwritten."""
    for _ in range(3):
        try:
            current = store.transcript(job_id)
        except TranscriptNotReadyError:
            return
        if not current.reviewed:
            return
        carried = carry_review(current.result, result)
        if carried.dropped_names:
            log.info("Job %s: names not carried to the new speakers: %s", job_id, ", ".join(carried.dropped_names))
        try:
            store.save_transcript(job_id, carried.result, if_match=current.etag)
            return
        except TranscriptVersionError:
            continue
        except TranscriptInvalidError as exc:  # the new transcript is saved: the review stays as it was
            log.warning("Job %s: the new speakers could not be put on the review: %s", job_id, exc)
            return
    log.warning("Job %s: the review kept changing; the new speakers were not put on it", job_id)


class TranscriptionWorker(SimpleWorker):
    def __init__(self, queues: list[Queue], context: WorkerContext, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
        super().__init__(queues, connection=context.store.redis, **kwargs)
        self.context = context
        self.push_exc_handler(self._record_final_failure)  # type: ignore[no-untyped-call]

    def _record_final_failure(
        self, job: Job, exc_type: type[BaseException], exc_value: BaseException, _traceback: Any
    ) -> bool:
        """A job that fails for good outside the engine's own errors (its worker died on every attempt, or an
        unexpected exception): write its ending to the data dir as the engine's failures are, so the library, the
        webhook and the API read it after Redis has forgotten the job. Also called by RQ's registry cleanup."""
        if job.retries_left or job.meta.get("canceled"):
            return True  # it runs again, or it was canceled (recorded as such already)
        try:
            self.context.store.ended_view(job.id)
            return True  # the job function recorded it
        except JobNotFoundError:
            pass
        if exc_type.__name__ == "AbandonedJobError":
            attempts = job.meta.get("attempts", 1)
            error = f"The worker stopped unexpectedly while processing this job ({attempts} attempts)"
        else:
            error = f"Transcription failed: {str(exc_value) or exc_type.__name__}"
        try:
            self.context.store.save_ending(job.id, JobStatus.FAILED, error, job.started_at)
        except Exception as exc:  # never let the record keep RQ from moving the job to its failed registry
            log.warning("Could not record the failure of job %s: %s", job.id, exc)
        return True

    def get_heartbeat_ttl(self, job: Job) -> int:
        return HEARTBEAT_TTL

    def execute_job(self, job: Job, queue: Queue) -> None:
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    self.maintain_heartbeats(job)
                except Exception as exc:  # Redis restarting: the next beat retries
                    log.warning("Heartbeat failed: %s", exc)

        beater = threading.Thread(target=beat, name="stt-heartbeat", daemon=True)
        beater.start()
        token = _context.set(self.context)
        try:
            super().execute_job(job, queue)
        finally:
            _context.reset(token)
            stop.set()
            beater.join()
            self._forget_partial(job.id)
            self._publish_ending(job.id)
            if self.context.restart_reason is None:  # a broken CUDA context is left alone: the process ends
                self._release_memory()
        if self.context.restart_reason is not None:
            log.warning(
                "Ending this worker after job %s: %s; the supervisor starts a new one",
                job.id,
                self.context.restart_reason,
            )
            # The worker is idle now, so this raises StopRequested, which ends RQ's work loop.
            self.request_stop(signal.SIGTERM, None)  # type: ignore[no-untyped-call]

    def _release_memory(self) -> None:
        try:
            self.context.models.after_job()
        except Exception as exc:  # a failed release must not end the worker: the next job may still fit
            log.warning("Could not release memory after the job: %s", exc)

    def _forget_partial(self, job_id: str) -> None:
        """The job is not running now (ended, or queued for another attempt): its transcript so far goes."""
        try:
            self.context.store.partials.remove(job_id)
        except redis.RedisError as exc:  # they expire on their own
            log.warning("Could not remove the transcript so far of job %s: %s", job_id, exc)

    def _publish_ending(self, job_id: str) -> None:
        """Publish how the job stands now that RQ has recorded its end: completed, failed, canceled, or queued
        again for another attempt. Not earlier: a listener that hears "completed" reads the job at once."""
        try:
            publish(self.connection, JobEvent.of(self.context.store.get(job_id, with_result=False)))
        except JobNotFoundError:
            pass  # deleted meanwhile; the store published that
        except Exception as exc:  # Redis restarting: the API's periodic re-read catches up
            log.warning("Could not publish the end of job %s: %s", job_id, exc)

    def handle_job_failure(
        self, job: Job, queue: Queue, started_job_registry: Any = None, exc_string: str = ""
    ) -> None:
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        if job.meta.get("canceled"):
            job.cancel()  # a cancelled run ends as "canceled", not "failed"


def _publish_info(context: WorkerContext, name: str) -> None:
    """Tell the desktop (status bar) which model and device this worker uses, refreshed until the process ends."""

    def publish() -> None:
        while True:
            try:
                context.store.publish_worker_info(context.info(name), ttl_seconds=3 * INFO_SECONDS)
            except Exception as exc:  # Redis restarting: try again next round
                log.debug("Could not publish worker info: %s", exc)
            time.sleep(INFO_SECONDS)

    threading.Thread(target=publish, name="stt-worker-info", daemon=True).start()


def run_worker(settings: Settings, *, burst: bool = False, engine: Engine | None = None) -> None:
    """Load the model, then take jobs until stopped (SIGTERM/SIGINT: finish the current job first)."""
    watch_parent_from_env()
    if hasattr(os, "setpriority"):
        at_least_nice(settings.worker_nice)  # a supervisor started it so already; a worker started by hand too
        session_at_least_nice(settings.worker_nice)
    apply_memory_limit(settings.worker_memory_limit_mb)
    store = JobStore(connect(settings, patient=True), settings.data_dir)
    engine = engine or Engine(settings)
    engine.download_listener = ModelDownloads(store.redis).tell  # start-up's model, and any a job asks for
    resolved = engine.load()
    gpu = f" (GPU {settings.worker_gpu})" if engine.device == "cuda" and settings.worker_gpu is not None else ""
    log.info("Worker ready: model %s on %s%s, %s", resolved.name, engine.device, gpu, engine.compute_type)
    context = WorkerContext(
        engine=engine, store=store, metrics=JobMetricsRecorder(store.redis), faults=StageFaults.configured(settings)
    )
    worker = TranscriptionWorker([store.queue], context)
    _publish_info(context, worker.name)
    worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
