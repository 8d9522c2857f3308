"""The desktop app's own settings, kept as JSON in the user's config dir and applied over the one ``Settings``.

The Hugging Face token is never part of this file: it lives in the ``TokenStore`` (``stt_studio.ui.secrets``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stt_studio.atomic_files import write_text_atomically
from stt_studio.exports.options import ExportOptions
from stt_studio.jobs.models import JobOptions
from stt_studio.review.words import DEFAULT_LOW_CONFIDENCE
from stt_studio.settings import APP_NAME, Settings

log = logging.getLogger(__name__)

PREFERENCES_FILE = "desktop.json"
MAX_WORKERS = 4


SpeakerMode = Literal["any number", "exactly", "between"]


class NewFilesChoice(BaseModel):
    """What the "New files" bar was last set to, so the next start offers the same."""

    model_config = ConfigDict(extra="ignore")

    model: str
    diarize: bool = False
    speaker_mode: SpeakerMode = "any number"
    speakers_min: int = Field(default=2, ge=1, le=20)
    speakers_max: int = Field(default=4, ge=1, le=20)


def default_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


class Preferences(BaseModel):
    # A file written by a newer version may carry fields this one does not know: they are dropped, not fatal.
    model_config = ConfigDict(extra="ignore")

    model: str = "large-v3"
    """A hub model name or a local CTranslate2 model folder."""
    device: Literal["cuda", "cpu"] = "cuda"
    compute_type: str | None = None
    """None: the engine's default for the device."""
    default_language: str | None = None
    """None: detect the language."""
    diarize_by_default: bool = False
    workers: int = Field(default=1, ge=1, le=MAX_WORKERS)
    data_dir: Path | None = None
    """None: the default platformdirs data dir (or ``STT_DATA_DIR``)."""
    watched_folder: Path | None = None
    cpu_notice_shown: bool = False
    welcome_shown: bool = True
    """Whether the welcome step (hardware, a recommended model, its download) was seen. A first start sets it to
    False (``app.load_preferences``); a file from a version without it means the app was set up before: True."""
    low_confidence_threshold: float = Field(default=DEFAULT_LOW_CONFIDENCE, ge=0.0, le=1.0)
    """Words the engine scored under this are marked for checking in the transcript."""
    group_by_turn: bool = True
    """The transcript reads as a conversation: consecutive segments of one speaker in one row (View menu)."""
    share_at_start: bool = False
    """Share this machine (serve the REST API, behind its key) whenever the app starts. Off by default: exposing the
    queue to the network is otherwise chosen each time (the ``sharing`` of older files is not read)."""
    sharing_host: str = "0.0.0.0"
    sharing_port: int = Field(default=8000, ge=1, le=65535)
    export_formats: list[str] = Field(default_factory=lambda: ["txt", "srt"])
    """The formats ticked in the export dialog, as last exported."""
    export_folder: Path | None = None
    """Where the last export went; None: the recording's own folder."""
    export_options: ExportOptions | None = None
    """The export's options as last chosen (timestamps, speakers, line width and count, the subtitle rules); None:
    the defaults."""
    new_files: NewFilesChoice | None = None
    """The "New files" bar as last set; None: the defaults above (model, diarize_by_default)."""
    identify_known_voices: bool = True
    """Name the speakers a job finds from the voice library (it does something once the library has a voice)."""
    name_automatically: bool = True
    """A clear match names the speaker at once; off: every match is a suggestion to accept."""

    # --- persistence -----------------------------------------------------------------------------------------
    @classmethod
    def load(cls, config_dir: Path) -> Preferences:
        """The saved preferences; defaults when there are none. A file that can't be read is kept aside."""
        path = config_dir / PREFERENCES_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            log.warning("Could not read %s (%s); using default preferences", path, exc)
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            bad = path.with_name(PREFERENCES_FILE + ".bad")
            log.warning(
                "%s is not valid (%d errors); kept it as %s and using default preferences",
                path,
                exc.error_count(),
                bad.name,
            )
            try:
                path.replace(bad)
            except OSError as move_error:
                log.warning("Could not keep %s aside: %s", path, move_error)
            return cls()

    def save(self, config_dir: Path) -> None:
        """Write the file atomically: a crash mid-write leaves the previous preferences, never half a file."""
        config_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomically(config_dir / PREFERENCES_FILE, self.model_dump_json(indent=2))

    # --- applying them ---------------------------------------------------------------------------------------
    def settings(self, base: Settings, token: str | None = None) -> Settings:
        """``base`` with these preferences applied. ``token`` is the token store's; without one the base's
        ``HF_TOKEN`` (from the environment) stays."""
        update: dict[str, object] = {
            "whisper_model_size": self.model,
            "whisper_device": self.device,
            "compute_type": self.compute_type,
        }
        if self.data_dir is not None:
            update["data_dir"] = self.data_dir
        if token:
            update["hf_token"] = token
        return base.model_copy(update=update)

    def job_options(self) -> JobOptions:
        """The options of jobs queued without asking (the watched folder)."""
        return self.with_voice_choices(
            JobOptions(language=self.default_language, enable_diarization=self.diarize_by_default)
        )

    def with_voice_choices(self, options: JobOptions) -> JobOptions:
        """``options`` with what these preferences say of naming speakers from the voice library."""
        update = {
            "identify_speakers": self.identify_known_voices,
            "name_speakers_automatically": self.name_automatically,
        }
        return options.model_copy(update=update)

    def worker_env(self, token: str | None) -> dict[str, str]:
        """The environment variables a worker process needs on top of the app's own environment."""
        env = {"WHISPER_MODEL_SIZE": self.model, "WHISPER_DEVICE": self.device}
        if self.compute_type:
            env["STT_COMPUTE_TYPE"] = self.compute_type
        if self.data_dir is not None:
            env["STT_DATA_DIR"] = str(self.data_dir)
        if token:
            env["HF_TOKEN"] = token
        return env


def restart_needed(old: Preferences, new: Preferences, *, token_changed: bool = False) -> bool:
    """Whether the running workers must be replaced for ``new`` to take effect.

    The data dir counts too: workers write transcripts there, so old workers would put them where the app no
    longer looks.
    """
    fields = ("model", "device", "compute_type", "workers", "data_dir")
    return token_changed or any(getattr(old, name) != getattr(new, name) for name in fields)
