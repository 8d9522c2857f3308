"""Accept an uploaded file: stream it to the job's directory, check it is audio, then create the job."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import HTTPException, UploadFile, status

from stt_studio.engine.audio import probe_audio
from stt_studio.engine.errors import AudioError, AudioTooLongError
from stt_studio.engine.options import InvalidOptionError, check_language, check_speaker_range
from stt_studio.jobs.models import JobOptions, JobView
from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings

_COPY_CHUNK = 1024 * 1024


def upload_too_large(limit_mb: float) -> str:
    return f"The file is larger than the upload limit of {limit_mb:g} MB (STT_MAX_UPLOAD_MB)"


def validate_options(options: JobOptions) -> None:
    try:
        check_language(options.language)
        check_speaker_range(options.min_speakers, options.max_speakers)
    except InvalidOptionError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _safe_name(upload: UploadFile) -> str:
    return Path(upload.filename or "upload").name or "upload"


def accept_upload(upload: UploadFile, options: JobOptions, store: JobStore, settings: Settings) -> JobView:
    """Blocking (runs in the threadpool): copy in 1 MiB chunks, enforce the size limit, probe, enqueue."""
    validate_options(options)
    limit = int(settings.max_upload_mb * 1024 * 1024)
    filename = _safe_name(upload)
    job_id, job_dir = store.new_job_dir()
    target = job_dir / f"upload{Path(filename).suffix.lower()[:16]}"
    try:
        size = 0
        with target.open("wb") as out:
            while chunk := upload.file.read(_COPY_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, upload_too_large(settings.max_upload_mb)
                    )
                out.write(chunk)
        if size == 0:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Failed to load audio: '{filename}' is empty (0 bytes)")
        try:
            probe_audio(target, settings.max_audio_seconds)
        except AudioTooLongError as exc:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, str(exc)) from exc
        except AudioError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{exc} ('{filename}')") from exc
        return store.submit(job_id, target, options, filename=filename, delete_audio_after=not settings.keep_uploads)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
