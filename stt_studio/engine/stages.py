"""The pipeline's stages as data: what each needs and produces, and the fingerprint its checkpoint is kept under.

A stage's fingerprint hashes everything its output depends on: its own options and the fingerprints of the stages
it reads. A checkpoint is used only when the fingerprint it was written with is the one the run computes now, so
another model, language, prompt or option (or other audio) never gets an earlier run's output.

Pure: no I/O, no models. The engine computes the fingerprints as it goes (``stt_studio.engine.pipeline``); the
worker stores the checkpoints (``stt_studio.jobs.checkpoints``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

FINGERPRINT_VERSION = 1
"""Raised when a stage's stored output changes shape: every older checkpoint then stops matching."""


class StageName(str, Enum):
    DECODING = "decoding"
    VAD = "vad"
    LANGUAGE = "language"
    TRANSCRIBING = "transcribing"
    ALIGNING = "aligning"
    DIARIZING = "diarizing"


@dataclass(frozen=True)
class StageSpec:
    name: StageName
    needs: tuple[StageName, ...]
    """The stages whose output it reads (its fingerprint includes theirs)."""
    options: tuple[str, ...]
    """The settings of its own that its output depends on."""
    produces: str
    checkpointed: bool = True


STAGES: Mapping[StageName, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec(
            StageName.DECODING,
            (),
            ("audio_sha256", "max_audio_seconds"),
            "the audio as 16 kHz mono samples; not kept while a job runs (230 MB an hour; decoding again takes "
            "seconds); a completed upload keeps it as FLAC (jobs.kept_audio) to find speakers again",
            checkpointed=False,
        ),
        StageSpec(StageName.VAD, (StageName.DECODING,), ("vad_method",), "speech regions merged into ≤ 30 s chunks"),
        StageSpec(
            StageName.LANGUAGE,
            (StageName.VAD,),
            ("model", "compute_type", "requested"),
            "the language spoken (detected on the first 30 s of speech, or the one asked for)",
        ),
        StageSpec(
            StageName.TRANSCRIBING,
            (StageName.LANGUAGE,),
            ("model", "compute_type", "task", "language", "prompt", "batch_size", "word_source"),
            "Whisper's segments (and its own word times), one checkpoint per batch of chunks",
        ),
        StageSpec(
            StageName.ALIGNING,
            (StageName.TRANSCRIBING,),
            ("word_source",),
            "the transcript's segments with word times (the prompt's second pass included)",
        ),
        StageSpec(
            StageName.DIARIZING,
            (StageName.DECODING,),
            ("backend", "model", "num_speakers", "min_speakers", "max_speakers"),
            "speaker turns, each speaker's embedding and the count note (words get their speakers again from the "
            "turns: cheap)",
        ),
    )
}

KEPT_AFTER_COMPLETION = frozenset({StageName.DECODING, StageName.VAD, StageName.ALIGNING, StageName.DIARIZING})
"""What a finished job keeps: enough to find speakers again (aligned words, turns, and an upload's decoded audio)
or transcribe again with another model (speech regions). The per-batch transcription checkpoints are in the aligned
words already. ``stt-studio gc`` removes it after ``Settings.checkpoint_retention_days``."""


class StageOptionsError(ValueError):
    """A fingerprint was asked with options or parents other than the stage's spec names (a programming error)."""


def fingerprint(stage: StageName, options: Mapping[str, Any], parents: Mapping[StageName, str]) -> str:
    """The hash of ``stage``'s own ``options`` and its parents' fingerprints; exactly the spec's keys."""
    spec = STAGES[stage]
    if set(options) != set(spec.options) or set(parents) != set(spec.needs):
        raise StageOptionsError(
            f"{stage.value}: options {sorted(options)} and parents {sorted(p.value for p in parents)} are not "
            f"{sorted(spec.options)} and {sorted(p.value for p in spec.needs)}"
        )
    payload = {
        "version": FINGERPRINT_VERSION,
        "stage": stage.value,
        "options": dict(options),
        "needs": {p.value: parents[p] for p in spec.needs},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def batch_fingerprint(transcribing: str, index: int, clips: Sequence[tuple[float, float]]) -> str:
    """One batch of chunks of the transcription: the stage's fingerprint, where the batch lies and what it covers."""
    payload = {"transcribing": transcribing, "index": index, "clips": [list(c) for c in clips]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def batch_key(index: int) -> str:
    return f"{StageName.TRANSCRIBING.value}-{index:05d}"


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    """The audio file's hash, the root of every fingerprint (reading, not decoding: a second an hour of MP3)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


# --- what the job's JSON shows ----------------------------------------------------------------------------------


class StageRun(BaseModel):
    """One stage in one attempt of a job."""

    name: str
    attempt: int = Field(description="The job's attempt (1, then 2 after its worker died, …)")
    started_at: datetime
    finished_at: datetime | None = Field(default=None, description="null while it runs, or when its worker died in it")
    seconds: float | None = None
    reused: bool = Field(default=False, description="Its checkpoint was used instead of running it")
    chunks: int | None = Field(default=None, description="transcribing: the batches of speech chunks it decoded")
    reused_chunks: int | None = Field(
        default=None, description="transcribing: the batches read back from an earlier attempt's checkpoints"
    )


class CheckpointStore(Protocol):
    """Where a run's stage outputs are kept (``stt_studio.jobs.checkpoints.JobCheckpoints``)."""

    def load(self, key: str, fingerprint: str) -> Any | None:
        """The data saved under ``key`` with exactly this fingerprint, else None."""

    def save(self, key: str, fingerprint: str, data: Any) -> None:
        """Keep ``data`` (JSON-able) under ``key``."""


class StageClock:
    """Times the stages of one attempt and tells ``listener`` of each as it starts and as it ends."""

    def __init__(
        self,
        attempt: int = 1,
        listener: Callable[[StageRun], None] | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        seconds: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.attempt = attempt
        self.runs: list[StageRun] = []
        self._listener = listener
        self._now = now
        self._seconds = seconds

    @contextmanager
    def stage(self, name: StageName) -> Iterator[StageRun]:
        """Time the body as stage ``name``; the body sets ``reused`` on what it yields when it used a checkpoint.
        A body that raises leaves the run unfinished (as a worker that died in it does)."""
        run = StageRun(name=name.value, attempt=self.attempt, started_at=self._now())
        self.runs.append(run)
        self._tell(run)
        began = self._seconds()
        yield run
        run.seconds = round(self._seconds() - began, 3)
        run.finished_at = self._now()
        self._tell(run)

    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage that finished in this attempt (a reused one: the time to read its checkpoint)."""
        return {run.name: run.seconds for run in self.runs if run.seconds is not None}

    def _tell(self, run: StageRun) -> None:
        if self._listener is not None:
            self._listener(run)


def merged_runs(earlier: Sequence[Mapping[str, Any]], run: StageRun) -> list[dict[str, Any]]:
    """The job's ``stages`` with ``run`` added, or updated in place when it is the same stage and attempt."""
    entry = run.model_dump(mode="json")
    out = [dict(e) for e in earlier]
    for i, existing in enumerate(out):
        if (existing.get("name"), existing.get("attempt")) == (run.name, run.attempt):
            out[i] = entry
            return out
    out.append(entry)
    return out


_T = TypeVar("_T")


class StageOutputs:
    """A run's checkpoints, or none (a run outside the job queue), read and written so that they never end the run:
    a damaged one is ignored with a warning, one that cannot be written costs only the resume."""

    def __init__(self, store: CheckpointStore | None) -> None:
        self.store = store

    def load(self, key: str, fp: str, from_json: Callable[[Any], _T]) -> _T | None:
        if self.store is None:
            return None
        data = self.store.load(key, fp)
        if data is None:
            return None
        try:
            return from_json(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("Checkpoint %s is damaged (%s); running that stage again", key, exc)
            return None

    def save(self, key: str, fp: str, data: Any) -> None:
        if self.store is None:
            return
        try:
            self.store.save(key, fp, data)
        except OSError as exc:  # a full disk costs the resume, not the job
            log.warning("Could not keep the checkpoint %s: %s", key, exc)

    def value(
        self,
        run: StageRun,
        key: str,
        fp: str,
        compute: Callable[[], _T],
        to_json: Callable[[_T], Any],
        from_json: Callable[[Any], _T],
    ) -> _T:
        """The stage's output: its checkpoint's when there is one (``run`` marked reused), else computed and kept."""
        stored = self.load(key, fp, from_json)
        if stored is not None:
            run.reused = True
            return stored
        value = compute()
        self.save(key, fp, to_json(value))
        return value
