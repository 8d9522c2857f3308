"""A job as the contract's JSON, rendered for the hot path: clients poll GET /jobs/{job_id} while they wait."""

from __future__ import annotations

from fastapi import Response

from stt_studio.jobs.models import JobStatus, JobView
from stt_studio.jobs.store import JobStore


def job_response(store: JobStore, view: JobView) -> Response:
    """``view`` (read without its transcript) with the stored transcript embedded unparsed when completed."""
    stored = store.result_json(view.job_id) if view.status == JobStatus.COMPLETED else None
    return Response(view.to_json(stored), media_type="application/json")
