"""A finished recording becomes an ordinary job: the queue's submission path, as for the desktop's own files."""

from __future__ import annotations

from stt_studio.engine.audio import probe_audio
from stt_studio.jobs.models import JobOptions
from stt_studio.jobs.store import JobStore
from stt_studio.live.recording import RecordingInfo


def submit_recording(store: JobStore, info: RecordingInfo, options: JobOptions, max_audio_seconds: float) -> str:
    """Queue ``info``'s audio (kept: it is the job's source) with ``options``; the job's id."""
    job_id, _ = store.new_job_dir()
    store.submit(
        job_id,
        info.path,
        options,
        filename=info.path.name,
        delete_audio_after=False,
        audio_seconds=probe_audio(info.path, max_audio_seconds),
    )
    return job_id
