"""A running job's progress as its worker records it: the engine's reports, and between them, once a second,
where the expected pace says the work stands and how long it has left (``stt_studio.engine.pace``).

Written to the job's meta (``progress``, ``stage``, ``remaining_seconds``), which ``JobStore`` reads, and
published as a :class:`JobEvent` at each new stage or whole percent. The overall percentage never goes down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from rq.job import Job

from stt_studio.engine.pace import Pace, StagePosition, estimate
from stt_studio.engine.progress import ProgressUpdate
from stt_studio.jobs.events import JobEvent, publish
from stt_studio.jobs.models import JobStatus, ModelDownload

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
"""How often the estimate is brought up to date between the engine's reports."""


class JobProgress:
    """Called by the engine with each :class:`ProgressUpdate`; keeps per-stage wall times for the metrics and
    the pace."""

    def __init__(
        self,
        job: Job,
        pace: Pace,
        audio_seconds: float | None = None,
        *,
        on_stage: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.job = job
        self._on_stage = on_stage
        """Told the name of each stage as the run enters it, once it is recorded."""
        self.pace = pace
        self._header_seconds = audio_seconds
        """The audio's length from its header, until the engine has decoded it."""
        self._clock = clock
        self._lock = threading.Lock()
        self._update: ProgressUpdate | None = None
        self._position: StagePosition | None = None
        self._percent = 0.0
        self._stage: str | None = None
        self._stage_started = clock()
        self.stage_seconds: dict[str, float] = {}
        self._published: tuple[str, int, int | None] | None = None
        self._write_failed = False

    def __call__(self, update: ProgressUpdate) -> None:
        with self._lock:
            now = self._clock()
            entered = update.stage.value != self._stage
            if entered:
                self._close_stage(now)
                self._stage = update.stage.value
            self._update = update
            self._position = StagePosition(update.stage, update.fraction, now - self._stage_started, update.piece_end)
            self._record(now)
        if entered and self._on_stage is not None:
            self._on_stage(update.stage.value)

    def tick(self) -> None:
        """Bring the shown progress and time left up to date (from the ticking thread)."""
        with self._lock:
            if self._update is not None and self._stage is not None:
                self._record(self._clock())

    @contextmanager
    def ticking(self) -> Iterator[None]:
        """Tick every TICK_SECONDS while the body runs (the engine's run); stopped before the job's end is written."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(TICK_SECONDS):
                try:
                    self.tick()
                except Exception as exc:  # news, not state: never end a job over it
                    log.debug("Progress tick failed: %s", exc)

        thread = threading.Thread(target=run, name="stt-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def finish(self) -> dict[str, float]:
        """The wall seconds of each stage that ran."""
        with self._lock:
            self._close_stage(self._clock())
            self._stage = None
            return dict(self.stage_seconds)

    # --- inside the lock ----------------------------------------------------------------------------------------
    def _close_stage(self, now: float) -> None:
        if self._stage is not None:
            self.stage_seconds[self._stage] = now - self._stage_started
        self._stage_started = now

    def _record(self, now: float) -> None:
        update, position = self._update, self._position
        assert update is not None and position is not None
        percent = update.percent
        remaining: int | None = None
        audio_seconds = update.audio_seconds or self._header_seconds
        if audio_seconds:
            shown = estimate(position, now - self._stage_started, update.later, audio_seconds, self.pace)
            percent = max(percent, min(update.percent_at(shown.fraction), 100.0))
            remaining = math.ceil(shown.remaining_seconds)
        self._percent = max(self._percent, percent)
        download = ModelDownload.of(update.download) if update.download is not None else None
        state = (update.stage.value, int(self._percent), int(download.fraction * 100) if download else None)
        self.job.meta["progress"] = state[1]
        self.job.meta["stage"] = state[0]
        self.job.meta["remaining_seconds"] = remaining
        self.job.meta["download"] = download.model_dump() if download is not None else None
        try:
            self.job.save_meta()
            if state != self._published:  # listeners hear of each stage and whole percent (of a download too)
                self._published = state
                event = JobEvent(
                    job_id=self.job.id,
                    status=JobStatus.PROCESSING,
                    stage=state[0],
                    progress=state[1],
                    remaining_seconds=remaining,
                    download=download,
                )
                publish(self.job.connection, event)
        except redis.RedisError as exc:  # progress is news, not state: a full disk (MISCONF) must not end the job
            if not self._write_failed:
                log.warning("Could not record the progress of job %s: %s", self.job.id, exc)
            self._write_failed = True
