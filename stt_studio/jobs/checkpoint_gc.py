"""``stt-studio gc``: finished jobs older than ``Settings.checkpoint_retention_days`` give up what they keep to run a
stage again (checkpoints, an upload's decoded audio). Their transcripts and records stay; finding their speakers
again then answers 409 saying that nothing was kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.models import LibraryEntry
from stt_studio.jobs.store import JobStore


@dataclass(frozen=True)
class Collected:
    jobs: int
    freed_bytes: int


def expired(entries: Iterable[LibraryEntry], now: datetime, days: float) -> list[str]:
    """The finished jobs that ended more than ``days`` before ``now`` (one without an end time is left alone)."""
    cutoff = now - timedelta(days=days)
    return [e.job_id for e in entries if e.status.is_final and e.completed_at is not None and e.completed_at < cutoff]


def collect(store: JobStore, now: datetime, days: float) -> Collected:
    jobs, freed = 0, 0
    for job_id in expired(store.library(), now, days):
        checkpoints = JobCheckpoints.of_job(store.job_dir(job_id))
        size = checkpoints.disk_bytes()
        if size or checkpoints.folder.exists():
            checkpoints.remove()
            jobs, freed = jobs + 1, freed + size
    return Collected(jobs, freed)
