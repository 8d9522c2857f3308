"""The job as the API and the GUI see it: the contract's fields and statuses, plus additions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.engine.model_catalog import public_name
from stt_studio.engine.options import MAX_PROMPT_CHARS, Task
from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.engine.stages import StageRun


class JobStatus(str, Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)


class JobOptions(BaseModel):
    model: str | None = Field(default=None, description="Whisper model for this job; default: the worker's")
    language: str | None = None
    enable_diarization: bool = False
    num_speakers: int | None = Field(default=None, ge=1, le=20)
    min_speakers: int | None = Field(default=None, ge=1, le=20)
    max_speakers: int | None = Field(default=None, ge=1, le=20)
    prompt: str | None = Field(
        default=None,
        max_length=MAX_PROMPT_CHARS,
        description="Text that comes before the audio (Whisper's initial prompt): names and terms spelled as wanted",
    )
    task: Task = Field(
        default="transcribe",
        description="transcribe, or translate: English text whatever the language spoken (the result's `language` "
        "is the language spoken)",
    )
    identify_speakers: bool = Field(
        default=True,
        description="Match the speakers found against the voice library (only with diarization, and only when the "
        "library has voices); false: leave them unnamed",
    )
    name_speakers_automatically: bool = Field(
        default=True,
        description="A clear match names the speaker at once (match auto); false: every match is a suggestion",
    )


WebhookState = Literal["pending", "retrying", "delivered", "failed"]


class WebhookDelivery(BaseModel):
    """Where the job's ending is POSTed (the ``callback_url`` it was submitted with) and how that went."""

    url: str
    state: WebhookState = Field(
        default="pending",
        description="pending: the job has not ended or the first try is queued; retrying: a try failed and the "
        "next is scheduled; delivered: the receiver answered 2xx; failed: given up",
    )
    attempts: int = Field(default=0, description="Deliveries tried so far")
    last_status: int | None = Field(default=None, description="HTTP status of the last try's answer")
    last_error: str | None = Field(default=None, description="Why the last try failed, when it did")
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class PartialTranscript(BaseModel):
    """A running job's transcript so far (``stt_studio.jobs.partial``)."""

    segments: list[Segment] = Field(
        description="The segments decoded so far, as the result's segments but without words and speakers (those "
        "come with the later stages); ids are their place in the whole transcript. Once words_aligned, the aligned "
        "segments instead, with their words"
    )
    until: float = Field(description="The audio time in seconds up to which the transcription has got")
    words_aligned: bool = Field(
        default=False,
        description="The alignment stage has finished: the segments are the aligned ones, with words and word times "
        "(speakers still come at the end). They replace the decoded ones and are numbered from 0 again (alignment "
        "may split segments differently): a reader that kept decoded segments drops them and reads from id 0",
    )


class ModelDownload(BaseModel):
    """A Whisper model a worker is downloading from the Hugging Face hub, and how far it has got."""

    model: str = Field(description="The model as asked for: a name such as large-v3, or a hub id")
    fraction: float = Field(ge=0, le=1, description="Share downloaded, 0..1")
    done_bytes: int
    total_bytes: int
    bytes_per_second: float = Field(default=0.0, description="Over the last few seconds")

    @classmethod
    def of(cls, progress: DownloadProgress) -> ModelDownload:
        return cls(
            model=progress.model,
            fraction=round(progress.fraction, 4),
            done_bytes=progress.done_bytes,
            total_bytes=progress.total_bytes,
            bytes_per_second=round(progress.bytes_per_second),
        )


class JobView(BaseModel):
    job_id: str
    status: JobStatus
    progress: int = 0
    stage: str | None = None
    remaining_seconds: int | None = Field(
        default=None,
        ge=1,
        description="While processing: the estimated time left in seconds, from this machine's measured speed per "
        "stage and how far the running stage has got; at least 1 until the job ends; null otherwise",
    )
    download: ModelDownload | None = Field(
        default=None,
        description="Stage downloading_model: the model the job waits for, and how far its download has got",
    )
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    filename: str | None = None
    attempts: int = Field(default=0, description="Times a worker started this job (more than 1 after a worker died)")
    audio_seconds: float | None = Field(default=None, description="Length of the audio when its header says")
    options: JobOptions | None = Field(default=None, description="What was asked for this job")
    error: str | None = None
    result: TranscriptionResult | None = None
    reviewed: bool = Field(
        default=False,
        description="The result is the reviewed transcript (edited in the desktop app or with "
        "PUT /jobs/{job_id}/transcript); the engine's own stays at GET /jobs/{job_id}/transcript/original",
    )
    reviewed_at: datetime | None = Field(default=None, description="When the reviewed transcript was last saved")
    webhook: WebhookDelivery | None = Field(default=None, description="Only for jobs submitted with a callback_url")
    uploaded: bool = Field(
        default=False, description="Sent over the REST API (its audio was uploaded), not added from local files"
    )
    model: str | None = Field(
        default=None,
        description="Completed jobs: the Whisper model that produced the result (the bundled base when the model "
        "asked for could not be had, as the result's warnings say)",
    )

    stages: list[StageRun] = Field(
        default_factory=list,
        description="Each stage of each attempt as it ran: name, attempt, started_at, finished_at, seconds, and "
        "reused (true when an earlier attempt's checkpoint was read instead of running it)",
    )

    partial: PartialTranscript | None = Field(
        default=None,
        description="While processing, once the first batch is decoded (GET /jobs/{job_id} only): the transcript "
        "so far; absent otherwise",
    )

    def to_response(self, *, include_result: bool = True) -> dict[str, Any]:
        """The contract's JSON: ``error`` and ``result`` (and the additions ``webhook``, ``model`` and ``partial``)
        appear only when they have a value."""
        exclude = {name for name in ("error", "result", "webhook", "model", "partial") if getattr(self, name) is None}
        if not include_result:
            exclude.add("result")
        data = self.model_dump(mode="json", exclude=exclude)
        for key in ("created_at", "started_at", "completed_at", "reviewed_at"):
            value = getattr(self, key)
            data[key] = value.replace(tzinfo=None).isoformat(timespec="seconds") if value else None
        return data

    def to_json(self, stored_result: bytes | None = None) -> bytes:
        """``to_response()`` as JSON bytes. A transcript read from disk (``JobStore.result_json``) is embedded
        as it is: parsing and re-encoding a long one cost tens of milliseconds on every status poll."""
        data: dict[str, Any] = self.to_response(include_result=stored_result is None)
        if stored_result is not None:
            data["result"] = orjson.Fragment(stored_result)
        return orjson.dumps(data)


class WorkerModel(BaseModel):
    """What a worker runs: the model it loaded and its device (``GET /queue/stats``, the status bars)."""

    model: str = Field(
        description="The Whisper model it loaded: the bundled base when the one asked for could not be had"
    )
    device: str = Field(description="cuda or cpu: where it runs (cpu when CUDA was asked for and there is no GPU)")
    compute_type: str
    requested_model: str | None = Field(default=None, description="The model asked for, when another stands in")
    unavailable_reason: str | None = Field(
        default=None, description="Why the model asked for is not the one loaded: 'large-v3 is not available offline'"
    )
    requested_device: str | None = None
    torch_device: str | None = Field(
        default=None, description="Where VAD, alignment and diarization run: cpu when torch cannot use this GPU"
    )
    gpu_index: int | None = Field(default=None, description="The GPU this worker is pinned to (STT_GPUS numbering)")
    notices: list[str] = Field(
        default_factory=list, description="Why a part runs on the CPU, a compute type was refused, or memory is short"
    )
    supported_compute_types: list[str] | None = Field(
        default=None,
        description="The compute types its device supports (CTranslate2's list for this GPU, or the CPU's); None "
        "from a worker that does not say",
    )
    gpu_name: str | None = None
    gpu_memory_used_mb: float | None = None
    gpu_memory_total_mb: float | None = None


class QueueStats(BaseModel):
    queue_length: int
    redis_healthy: bool
    processing: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0
    workers: int = 0
    worker_models: list[WorkerModel] = Field(
        default_factory=list, description="GET /queue/stats: what each worker runs (the model it loaded, its device)"
    )
    model_downloads: list[ModelDownload] = Field(
        default_factory=list,
        description="Models workers are downloading now (a worker's start-up model: jobs wait for it; a job's model: "
        "that job's stage is downloading_model)",
    )


class LibraryEntry(BaseModel):
    """A finished job as the desktop's library lists it, read from the data dir (outlives Redis)."""

    job_id: str
    status: JobStatus
    filename: str
    created_at: datetime | None = None
    completed_at: datetime | None = None
    audio_seconds: float | None = None
    language: str | None = None
    speakers: int | None = None
    model: str | None = None
    preview: str = ""
    error: str | None = None
    source_path: str | None = None


class WorkerInfo(WorkerModel):
    """What a worker process reports about itself (the desktop's status bar shows it)."""

    name: str
    pid: int
    """0: a server's worker (the remote desktop), whose process this app cannot see."""

    def public(self) -> WorkerModel:
        """As API clients may see it: a local model folder by its name, never its path on this machine."""
        fields = self.model_dump(include=set(WorkerModel.model_fields))
        requested = self.requested_model
        return WorkerModel.model_validate(
            fields | {"model": public_name(self.model), "requested_model": requested and public_name(requested)}
        )
