"""A finished recording becomes an ordinary job: the queue's submission path, as for the desktop's own files."""

from __future__ import annotations

from stt_studio.engine.audio import probe_audio
from stt_studio.jobs.models import JobOptions
from stt_studio.jobs.store import JobStore
from stt_studio.live.recording import RecordingInfo
from stt_studio.live.retention import forget
from stt_studio.settings import Settings


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


def hand_to_job(store: JobStore, info: RecordingInfo, options: JobOptions, settings: Settings) -> str:
    """Queue a recording made through the API as an upload: its audio moves into the job's folder (the job owns
    it: deleted after the job unless uploads are kept, and with the job in any case), its bookkeeping goes."""
    seconds = probe_audio(info.path, settings.max_audio_seconds)
    job_id, job_dir = store.new_job_dir()
    audio = info.path.rename(job_dir / info.path.name)
    forget(settings.data_dir, info)
    store.submit(
        job_id,
        audio,
        options,
        filename=info.path.name,
        delete_audio_after=not settings.keep_uploads,
        audio_seconds=seconds,
        uploaded=True,
    )
    return job_id
