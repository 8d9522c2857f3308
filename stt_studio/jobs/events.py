"""Job events: what a job's state changes publish on Redis, for the API's Server-Sent Events.

Whoever changes a job's state (the worker as it runs and ends a job, the store as it queues, cancels or deletes
one) publishes a :class:`JobEvent` on :data:`CHANNEL` once; each API process holds one subscription and fans the
events out to its SSE clients. Every event carries the whole live state (status, stage, progress), never a
delta, so a listener that misses some loses nothing but the intermediate steps.
"""

from __future__ import annotations

from functools import cached_property

import redis
from pydantic import BaseModel, Field

from stt_studio.engine.result import Segment
from stt_studio.jobs.models import JobStatus, JobView, ModelDownload

CHANNEL = "stt:job-events"
SEGMENTS_CHANNEL = "stt:job-segments"
"""Where a worker says that its job's transcript so far has grown (:class:`SegmentsNotice`)."""


class JobEvent(BaseModel):
    job_id: str
    status: JobStatus | None = None
    """None once the job is deleted."""
    stage: str | None = None
    progress: int = 0
    remaining_seconds: int | None = None
    """While processing: the estimated time left (``JobView.remaining_seconds``)."""
    download: ModelDownload | None = None
    """Stage downloading_model: how far the model's download has got (``JobView.download``)."""
    deleted: bool = False
    """The job is gone: DELETE /jobs/{id}, or a retry replaced it with a new job."""

    @classmethod
    def of(cls, view: JobView) -> JobEvent:
        return cls(
            job_id=view.job_id,
            status=view.status,
            stage=view.stage,
            progress=view.progress,
            remaining_seconds=view.remaining_seconds,
            download=view.download,
        )

    @classmethod
    def gone(cls, job_id: str) -> JobEvent:
        return cls(job_id=job_id, deleted=True)

    @cached_property
    def public_json(self) -> str:
        """What SSE clients see: the job's id, and its status, stage and progress unless deleted (and the time left
        while there is an estimate). Encoded once for all the clients an event goes to."""
        if self.deleted:
            return self.model_dump_json(include={"job_id"})
        fields = {"job_id", "status", "stage", "progress"}
        if self.remaining_seconds is not None:
            fields.add("remaining_seconds")
        if self.download is not None:
            fields.add("download")
        return self.model_dump_json(include=fields)

    @property
    def ends_job(self) -> bool:
        """Nothing follows this event for its job."""
        return self.deleted or (self.status is not None and self.status.is_final)


class SegmentsNotice(BaseModel):
    """A running job's transcript so far has grown by ``segments`` to ``count`` segments (``stt_studio.jobs.partial``
    keeps them all): a listener that missed a notice reads the ones it lacks from there, and one that has all before
    this batch takes it from the notice (the last batch's may be gone from the store by then: the job ended).

    ``words_aligned``: the aligned segments (``count`` of them) have replaced the decoded ones; the notice carries
    none (they have words: the store has them, read once per API process)."""

    job_id: str
    count: int
    segments: list[Segment] = Field(default_factory=list)
    until: float = 0.0
    words_aligned: bool = False

    @property
    def ends_job(self) -> bool:
        return False


def publish_segments(connection: redis.Redis, notice: SegmentsNotice) -> None:
    connection.publish(SEGMENTS_CHANNEL, notice.model_dump_json())


def publish(connection: redis.Redis, event: JobEvent) -> None:
    """One PUBLISH: costs the same whether no API or many API processes listen."""
    connection.publish(CHANNEL, event.model_dump_json())
