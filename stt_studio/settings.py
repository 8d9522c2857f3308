"""One typed settings object for the whole app.

The contract's variables (``REDIS_HOST``, ``WHISPER_MODEL_SIZE``, ``HF_TOKEN``, …) are read under their exact
names; everything STT Studio adds is read with the ``STT_`` prefix (``STT_DATA_DIR``, ``STT_VAD``, …).
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import AliasChoices, Field, PositiveFloat, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_NAME = "stt-studio"

VadMethod = Literal["pyannote", "silero"]
DiarizationBackend = Literal["auto", "hub", "local"]
DeviceName = Literal["cuda", "cpu"]
RequireApiKey = Literal["auto", "always", "never"]


def _contract(name: str) -> AliasChoices:
    """Read a contract variable by its exact name (also accepted with the ``STT_`` prefix)."""
    return AliasChoices(name, f"STT_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STT_", populate_by_name=True, extra="ignore")

    # --- the contract's environment variables ---------------------------------------------------------------
    redis_host: str | None = Field(default=None, validation_alias=_contract("REDIS_HOST"))
    redis_port: int = Field(default=6379, validation_alias=_contract("REDIS_PORT"))
    redis_password: str | None = Field(default=None, validation_alias=_contract("REDIS_PASSWORD"))
    whisper_model_size: str = Field(default="large-v3", validation_alias=_contract("WHISPER_MODEL_SIZE"))
    whisper_device: DeviceName = Field(default="cuda", validation_alias=_contract("WHISPER_DEVICE"))
    hf_token: str | None = Field(default=None, validation_alias=_contract("HF_TOKEN"))

    # --- additions (STT_ prefix) ---------------------------------------------------------------------------
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "STT_REDIS_URL"))
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    config_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_config_dir(APP_NAME)))
    """The desktop app's preferences (and its token file when there is no OS keyring)."""
    models_dir: Path | None = None
    """Where downloaded and unpacked models live; defaults to ``<cache dir>/models``."""
    compute_type: str | None = None
    """CTranslate2 compute type; default float16 on a GPU that has it (else int8_float32, else float32), int8 on the
    CPU. A type the device does not support is refused with a notice and the default is used."""
    batch_size: PositiveInt | None = None
    """Chunks decoded together; default 16 on CUDA (less when the GPU's free memory needs it: docs/gpu.md), 4 on the
    CPU (see benchmarks/engine.py)."""
    gpus: Annotated[list[int] | None, NoDecode] = None
    """The GPUs workers are placed on (comma-separated CUDA indexes, ``STT_GPUS=0,1``); default: every visible one."""
    worker_gpu: int | None = None
    """Set by the supervisor in a worker it pinned to one GPU (CUDA_VISIBLE_DEVICES): that GPU's index, reported."""
    cuda_cache_dir: Path | None = None
    """Where the driver keeps the GPU kernels it compiled (CUDA_CACHE_PATH); default ``<cache dir>/cuda``; in
    containers the models volume (docker-compose.yml)."""
    cpu_threads: PositiveInt | None = None
    """Threads for the ASR model on the CPU; default: all cores."""
    live_model: str | None = None
    """The model of live transcription (``stt-studio live``); default: the main model on a GPU, tiny.en on the CPU
    (base when a language other than English is asked for): it decodes the last seconds again every second."""
    live_max_sessions: PositiveInt = 2
    """The most WebSocket ``/live`` connections served at once (each runs its own live worker, a model in memory);
    one more is closed with 1013 (try again later)."""
    live_recording_retention_hours: float = Field(default=24.0, ge=0)
    """How long the server keeps a ``/live`` recording that was not queued (0: deleted when its connection closes);
    a queued one belongs to its job and goes with it."""
    vad: VadMethod | None = None
    """Voice activity detection: WhisperX's pyannote model or the silero-vad package (default on CPU)."""
    align_model: str | None = None
    """A wav2vec2 alignment model name or local directory; default: WhisperX's choice for the language."""
    diarization_backend: DiarizationBackend = "auto"
    """hub: pyannote's gated pipeline (needs HF_TOKEN); local: bundled models, no token; auto: hub iff HF_TOKEN."""
    diarization_model: str = "pyannote/speaker-diarization-community-1"
    """The hub backend's pipeline."""
    diarization_embedding_stride: PositiveInt = 5
    """The local backend embeds the speakers of every n-th 1 s segmentation window; those in between borrow the
    matching speaker's embedding when the match is clear (engine/diarization/anchors.py). 1 embeds every window, as
    pyannote does, for the same DER on real speech at more CPU time (README, ``benchmarks.diarization --tradeoff``)."""
    max_audio_seconds: PositiveFloat = 6 * 3600.0
    max_upload_mb: PositiveFloat = 2048.0
    """Largest upload the API accepts."""
    sync_timeout_seconds: PositiveFloat = 600.0
    """How long POST /transcribe waits for its job before answering 504 (the job goes on)."""
    openai_max_speaker_references: int = Field(default=4, ge=0, le=20)
    """Most ``known_speaker_references[]`` one OpenAI-compatible request may send (OpenAI's limit: 4); each is
    embedded by the speaker model in the API process before the job is queued."""
    worker_nice: int = Field(default=10, ge=0, le=19)
    """CPU priority of worker processes (Unix nice): the API stays responsive while a job uses every core."""
    worker_memory_limit_mb: PositiveFloat | None = None
    """The most memory a worker may allocate (its data segment: RLIMIT_DATA, enforced on Linux). A job that needs
    more fails with "ran out of memory" and the worker is started afresh, instead of the machine going into swap.
    Mind the baseline: an idle CPU worker with tiny.en already counts about 1.6 GB this way. None: no limit."""
    request_idle_timeout_seconds: PositiveFloat = 60.0
    """A request whose headers or upload send nothing for this long is answered 408 and cut off: a stalled or
    slow-loris client does not hold a connection (and an upload's open file and job folder) for ever."""
    keep_uploads: bool = False
    """Keep uploaded audio after its job ends (the transcript is always kept)."""
    keep_audio_to_find_speakers_again: bool = True
    """A completed upload's audio is deleted, but its decoded 16 kHz mono copy stays as FLAC (about 40 MB an hour)
    beside its checkpoints, so that its speakers can be found again (POST /jobs/{id}/rediarize)."""
    checkpoint_retention_days: PositiveFloat = 30.0
    """``stt-studio gc`` removes what completed jobs keep to run a stage again (checkpoints, decoded audio) once they
    are this many days old; their transcripts stay."""
    offline: bool = Field(default=False, validation_alias=AliasChoices("STT_OFFLINE", "HF_HUB_OFFLINE"))
    """Never try to download models (they must be local or bundled). ``HF_HUB_OFFLINE=1`` also sets it."""
    require_api_key: RequireApiKey = "auto"
    """auto: the REST API needs a key unless it listens on a loopback address only; always; never."""
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """Extra accepted API keys (comma-separated in ``STT_API_KEYS``), e.g. for containers; never shown."""
    metrics_public: bool = False
    """Serve /metrics without a key even when keys are required."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins allowed to call the API from a browser (comma-separated); none by default."""
    webhook_secret: SecretStr | None = None
    """Signs webhook deliveries (HMAC-SHA256); default: one generated in the data dir (stt-studio webhook-secret)."""
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Callback hosts or networks (comma-separated names, IPs or CIDRs) allowed although they are not public."""
    webhook_retry_seconds: Annotated[list[PositiveFloat], NoDecode] = Field(
        default_factory=lambda: [10.0, 30.0, 90.0, 270.0, 810.0]
    )
    """Waits before each retry of a failed webhook delivery (comma-separated); the default spans 20 minutes."""
    webhook_timeout_seconds: PositiveFloat = 10.0
    """How long one webhook delivery may take (connecting, sending, the receiver's answer)."""
    fault_injection_dir: Path | None = None
    """For the test suite only: a folder whose files make a worker die or wait as a job enters a pipeline stage
    (stt_studio/jobs/fault_injection.py). Unset (the default), nothing of the kind happens."""

    @field_validator("gpus", mode="before")
    @classmethod
    def _split_gpus(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()] or None
        return value

    @field_validator("api_keys", "cors_origins", "webhook_allowed_hosts", "webhook_retry_seconds", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=False)  # a ValueError names the bad entry
        return value

    @cached_property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or Path(platformdirs.user_cache_dir(APP_NAME)) / "models"

    @cached_property
    def resolved_cuda_cache_dir(self) -> Path:
        return self.cuda_cache_dir or Path(platformdirs.user_cache_dir(APP_NAME)) / "cuda"
