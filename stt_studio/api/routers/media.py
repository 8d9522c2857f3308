"""GET /jobs/{job_id}/audio: the uploaded audio, for a remote desktop that plays a transcript it did not upload."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import av
from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from stt_studio.api.deps import StoreDep
from stt_studio.api.responses import NO_SUCH_JOB, QUEUE_UNAVAILABLE, error
from stt_studio.exports import safe_stem

router = APIRouter(tags=["jobs"])

NOT_KEPT = (
    "The audio of this job is not on the server: an upload is deleted once its job completes, unless the server "
    "runs with STT_KEEP_UPLOADS=true (failed and canceled jobs keep theirs until deleted)"
)
_SERVED_KINDS = ("audio/", "video/")
"""FFmpeg reads the sound of video files too. Any other type a name suggests (text/html for "x.html") is not
what the file is, and not one a browser should be told."""
_FILE = {"schema": {"type": "string", "format": "binary"}}


def _media_type(source: Path) -> str:
    """The upload's type from its name, else from the container FFmpeg finds in it (an upload named without an
    extension); application/octet-stream when neither tells."""
    guessed = mimetypes.guess_type(source.name)[0]
    if guessed is None or not guessed.startswith(_SERVED_KINDS):
        try:
            with av.open(str(source)) as container:
                guessed = mimetypes.guess_type(f"upload.{container.format.name.split(',')[0]}")[0]
        except (av.error.FFmpegError, OSError):
            guessed = None
    return guessed if guessed is not None and guessed.startswith(_SERVED_KINDS) else "application/octet-stream"


@router.get(
    "/jobs/{job_id}/audio",
    summary="The job's uploaded audio (while the server keeps it)",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file as it was uploaded; Range requests work. Its type comes from its name or, "
            "failing that, its content: audio/*, video/* (a video's sound track was transcribed), or "
            "application/octet-stream when neither says",
            "content": {"audio/*": _FILE, "video/*": _FILE, "application/octet-stream": _FILE},
        },
        404: error(f"{NO_SUCH_JOB['description']}; or: {NOT_KEPT}"),
        **QUEUE_UNAVAILABLE,
    },
)
async def job_audio(job_id: str, store: StoreDep) -> FileResponse:
    view = await run_in_threadpool(store.get, job_id, with_result=False)
    source = await run_in_threadpool(store.source_path, job_id)
    job_dir = store.job_dir(job_id).resolve()
    # Only uploads (which live in the job's folder): a desktop job's source is the user's own file, not ours to serve.
    if source is None or not source.resolve().is_relative_to(job_dir) or not source.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_KEPT)
    media_type = await run_in_threadpool(_media_type, source)
    filename = f"{safe_stem(view.filename)}{source.suffix}"
    return FileResponse(source, media_type=media_type, filename=filename)
