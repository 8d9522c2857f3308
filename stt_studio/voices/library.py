"""The voice library on disk: ``<data dir>/voices/``, one JSON file per voice (``voices/<id>.json``) and the speech
clips its samples came from (``clips/``). Every file is replaced whole (``atomic_files``), changes happen under one
lock (another process, the API beside the window, waits for it), and a damaged voice file is named and skipped
while the other voices load. Export and import move the whole library as one zip archive.

A sample keeps the fingerprint of the model that embedded it: after a model change the voice "needs refresh"
(its clips embedded again) and matching uses only its samples of the current model.
"""

from __future__ import annotations

import math
import re
import secrets
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from stt_studio.atomic_files import write_text_atomically
from stt_studio.voices.matching import KnownVoice

FOLDER = "voices"
LOCK_TIMEOUT_SECONDS = 10.0
_ID = re.compile(r"^[a-z]_[0-9a-f]{12}$")
_CLIP = re.compile(r"^s_[0-9a-f]{12}\.[a-z0-9]{1,5}$")
NAME_MAX = 100


class VoiceLibraryError(ValueError):
    """Something asked of the library that it cannot do; the message says what and why."""


class VoiceNotFoundError(VoiceLibraryError):
    pass


class DuplicateVoiceError(VoiceLibraryError):
    pass


class LibraryBusyError(VoiceLibraryError):
    pass


class DamagedVoiceError(VoiceLibraryError):
    """A voice's file cannot be read; the message names it."""


class Sample(BaseModel):
    """One recording of a voice: its embedding, the clip it came from, where that came from, when, and consent."""

    id: str
    embedding: list[float] = Field(repr=False)
    model: str
    """Fingerprint of the model that made ``embedding``."""
    clip: str
    """The clip's file name under ``clips/``."""
    speech_seconds: float = Field(ge=0)
    source: str
    """The job (``job:<id> speaker SPEAKER_00``) or file the clip came from."""
    created: datetime
    consent: str = Field(min_length=1)
    """The consent the person gave to have their voice stored, as recorded when enrolling."""

    @field_validator("id")
    @classmethod
    def _sample_id(cls, value: str) -> str:
        if not _ID.match(value) or not value.startswith("s_"):
            raise ValueError(f"not a sample id: {value!r}")
        return value

    @field_validator("clip")
    @classmethod
    def _clip_name(cls, value: str) -> str:
        if not _CLIP.match(value):  # a plain name: never a path out of the clips folder
            raise ValueError(f"not a clip file name: {value!r}")
        return value

    @field_validator("embedding")
    @classmethod
    def _finite(cls, value: list[float]) -> list[float]:
        if not value or any(x != x or x in (float("inf"), float("-inf")) for x in value):
            raise ValueError("the embedding is empty or not finite")
        return value


class Voice(BaseModel):
    id: str
    name: str = Field(min_length=1, max_length=NAME_MAX)
    created: datetime
    samples: list[Sample]

    @field_validator("id")
    @classmethod
    def _voice_id(cls, value: str) -> str:
        if not _ID.match(value) or not value.startswith("v_"):
            raise ValueError(f"not a voice id: {value!r}")
        return value

    @model_validator(mode="after")
    def _one_size_per_model(self) -> Voice:
        sizes: dict[str, int] = {}
        for sample in self.samples:
            if sizes.setdefault(sample.model, len(sample.embedding)) != len(sample.embedding):
                raise ValueError(
                    f"sample {sample.id}'s embedding has {len(sample.embedding)} numbers, not {sizes[sample.model]}"
                )
        return self

    def needs_refresh(self, model: str) -> bool:
        """Some samples were embedded by another model than ``model``: their clips need embedding again."""
        return any(s.model != model for s in self.samples)

    def speech_seconds(self) -> float:
        return round(sum(s.speech_seconds for s in self.samples), 3)

    def known(self, model: str) -> KnownVoice:
        """What matching compares: only the samples of ``model``."""
        return KnownVoice(self.id, self.name, tuple(tuple(s.embedding) for s in self.samples if s.model == model))


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: samples embedded again, samples left as they were, and why (one line each)."""

    samples: int
    left: int
    problems: list[str]


@dataclass(frozen=True)
class NewSample:
    """A sample to enroll: the clip is copied into the library."""

    embedding: tuple[float, ...]
    model: str
    clip: Path
    speech_seconds: float
    source: str
    consent: str


@dataclass(frozen=True)
class LibraryContents:
    voices: list[Voice]
    problems: list[str]
    """One plain sentence per voice file that could not be read, naming the file; those voices are left out."""


def _new_id(kind: str) -> str:
    return f"{kind}_{secrets.token_hex(6)}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def clean_name(name: str) -> str:
    """``name`` as the library keeps it (spaces folded); VoiceLibraryError when it is blank or too long."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise VoiceLibraryError("A voice needs a name")
    if len(cleaned) > NAME_MAX:
        raise VoiceLibraryError(f"A voice's name has at most {NAME_MAX} characters")
    return cleaned


class VoiceLibrary:
    """The voices in ``folder`` (``<data dir>/voices``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> VoiceLibrary:
        return cls(data_dir / FOLDER)

    @property
    def _voices_dir(self) -> Path:
        return self.folder / "voices"

    @property
    def _clips_dir(self) -> Path:
        return self.folder / "clips"

    def clip_path(self, sample: Sample) -> Path:
        return self._clips_dir / sample.clip

    # --- reading ------------------------------------------------------------------------------------------------
    def contents(self) -> LibraryContents:
        voices: list[Voice] = []
        problems: list[str] = []
        if self._voices_dir.is_dir():
            for path in sorted(self._voices_dir.glob("v_*.json")):
                try:
                    voices.append(Voice.model_validate_json(path.read_bytes()))
                except (OSError, ValidationError) as exc:
                    problems.append(f"The voice file {path} is damaged and was left out ({_first_problem(exc)})")
        voices.sort(key=lambda v: (v.name.casefold(), v.created))
        return LibraryContents(voices, problems)

    def voices(self) -> list[Voice]:
        return self.contents().voices

    def get(self, voice_id: str) -> Voice:
        path = self._voice_path(voice_id)
        try:
            return Voice.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            raise VoiceNotFoundError(f"No voice {voice_id!r} in the library") from None
        except (OSError, ValidationError) as exc:
            raise DamagedVoiceError(f"The voice file {path} is damaged ({_first_problem(exc)})") from exc

    def sample_clip(self, voice_id: str, sample_id: str | None = None) -> tuple[Voice, Path]:
        """The voice and the clip file of its sample ``sample_id`` (of its longest sample when None);
        VoiceNotFoundError when there is no such voice or sample, or the clip file is gone."""
        voice = self.get(voice_id)
        if sample_id is None:
            sample = max(voice.samples, key=lambda s: s.speech_seconds, default=None)
        else:
            sample = next((s for s in voice.samples if s.id == sample_id), None)
        if sample is None:
            raise VoiceNotFoundError(f"Voice {voice.name!r} has no sample {sample_id!r}")
        path = self.clip_path(sample)
        if not path.is_file():
            raise VoiceNotFoundError(
                f"The clip of sample {sample.id!r} of voice {voice.name!r} is missing from the library"
            )
        return voice, path

    def known_voices(self, model: str) -> list[KnownVoice]:
        """The voices matching compares, with their samples of ``model`` (a voice with none is left out)."""
        return [known for v in self.voices() if (known := v.known(model)).samples]

    # --- changes --------------------------------------------------------------------------------------------------
    def add_voice(self, name: str, sample: NewSample) -> Voice:
        """A new voice from its first sample; a name already in the library is refused (add a sample to it)."""
        name = clean_name(name)
        with self._locked():
            if existing := self._named(name):
                raise DuplicateVoiceError(
                    f"A voice named {existing.name!r} is already in the library (id {existing.id}): add a sample to it"
                )
            voice = Voice(id=_new_id("v"), name=name, created=_now(), samples=[self._store_sample(sample)])
            self._write(voice)
            return voice

    def add_voice_or_sample(self, name: str, sample: NewSample) -> tuple[Voice, bool]:
        """A new voice named ``name``, or the sample added to the voice of that name (case-insensitive) if there is
        one: the voice, and whether it existed."""
        name = clean_name(name)
        with self._locked():
            if existing := self._named(name):
                return self._with_sample(existing, sample), True
            voice = Voice(id=_new_id("v"), name=name, created=_now(), samples=[self._store_sample(sample)])
            self._write(voice)
            return voice, False

    def add_sample(self, voice_id: str, sample: NewSample) -> Voice:
        with self._locked():
            return self._with_sample(self.get(voice_id), sample)

    def refresh(self, model: str, embed: Callable[[Path], Sequence[float]]) -> Refreshed:
        """Every sample embedded by another model than ``model``: its clip embedded again by ``embed`` (which runs
        ``model``, outside the lock: seconds per clip) and the sample's vector and model replaced. A clip that can't
        be embedded (gone, no speech: ``embed`` raises ValueError or OSError) leaves its sample as it was, named in
        ``Refreshed.problems``; a sample changed or deleted meanwhile is left to the change."""
        stale = [(voice, sample) for voice in self.voices() for sample in voice.samples if sample.model != model]
        vectors: dict[str, list[float]] = {}
        problems: list[str] = []
        for voice, sample in stale:
            try:
                vector = [float(x) for x in embed(self.clip_path(sample))]
            except (ValueError, OSError) as exc:
                problems.append(f"{voice.name}: the sample from {sample.source} could not be embedded again ({exc})")
                continue
            if not vector or not all(math.isfinite(x) for x in vector):
                problems.append(f"{voice.name}: the sample from {sample.source} gave no usable vector")
                continue
            vectors[sample.id] = vector
        refreshed = 0
        with self._locked():
            for voice_id in dict.fromkeys(voice.id for voice, _ in stale):
                try:
                    voice = self.get(voice_id)
                except VoiceNotFoundError:
                    continue
                changed = False
                for sample in voice.samples:
                    if sample.id in vectors and sample.model != model:
                        sample.embedding, sample.model = vectors[sample.id], model
                        changed = True
                        refreshed += 1
                if changed:
                    self._write(Voice.model_validate(voice.model_dump()))  # the sizes checked again
        return Refreshed(refreshed, len(stale) - refreshed, problems)

    def _with_sample(self, voice: Voice, sample: NewSample) -> Voice:
        """``voice`` with ``sample`` added, written (under the lock)."""
        sizes = {len(s.embedding) for s in voice.samples if s.model == sample.model}
        if sizes and len(sample.embedding) not in sizes:
            raise VoiceLibraryError(
                f"The new sample's vector has {len(sample.embedding)} numbers, the voice's {sizes.pop()}"
            )
        voice.samples.append(self._store_sample(sample))
        self._write(voice)
        return voice

    def rename(self, voice_id: str, name: str) -> Voice:
        name = clean_name(name)
        with self._locked():
            voice = self.get(voice_id)
            if (existing := self._named(name)) and existing.id != voice_id:
                raise DuplicateVoiceError(f"A voice named {existing.name!r} is already in the library")
            voice.name = name
            self._write(voice)
            return voice

    def delete_voice(self, voice_id: str) -> None:
        """The voice and every clip of it."""
        with self._locked():
            voice = self.get(voice_id)
            self._voice_path(voice_id).unlink()
            for sample in voice.samples:
                self.clip_path(sample).unlink(missing_ok=True)

    def delete_sample(self, voice_id: str, sample_id: str) -> Voice | None:
        """The sample and its clip; the voice goes too when it was its last sample (then None)."""
        with self._locked():
            voice = self.get(voice_id)
            sample = next((s for s in voice.samples if s.id == sample_id), None)
            if sample is None:
                raise VoiceNotFoundError(f"Voice {voice.name!r} has no sample {sample_id!r}")
            voice.samples.remove(sample)
            if voice.samples:
                self._write(voice)
            else:
                self._voice_path(voice_id).unlink()
            self.clip_path(sample).unlink(missing_ok=True)
            return voice if voice.samples else None

    # --- one archive ------------------------------------------------------------------------------------------------
    def export_archive(self, target: Path) -> int:
        """Every readable voice and its clips in one zip file at ``target``; the number of voices."""
        voices = self.voices()
        tmp = target.with_name(f"{target.name}.tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for voice in voices:
                archive.writestr(f"voices/{voice.id}.json", voice.model_dump_json(indent=1))
                for sample in voice.samples:
                    if self.clip_path(sample).is_file():
                        archive.write(self.clip_path(sample), f"clips/{sample.clip}")
        tmp.replace(target)
        return len(voices)

    def import_archive(self, source: Path) -> list[Voice]:
        """The voices of an exported archive, added to this library: a voice whose name is here already gets the
        samples it lacks; the voices changed or added."""
        try:
            archive = zipfile.ZipFile(source)
        except (OSError, zipfile.BadZipFile) as exc:
            raise VoiceLibraryError(f"{source} is not a voice library archive ({exc})") from exc
        changed: list[Voice] = []
        with archive, self._locked(), _refused_when_damaged(source):
            names = set(archive.namelist())
            entries = sorted(n for n in names if n.startswith("voices/") and n.endswith(".json"))
            if not entries:
                raise VoiceLibraryError(f"{source} is not a voice library archive (it holds no voices)")
            for entry in entries:
                try:
                    incoming = Voice.model_validate_json(archive.read(entry))
                except ValidationError as exc:
                    raise VoiceLibraryError(f"{entry} in {source} is damaged ({_first_problem(exc)})") from exc
                missing = [s.clip for s in incoming.samples if f"clips/{s.clip}" not in names]
                if missing:
                    raise VoiceLibraryError(f"{entry} in {source} names clips the archive lacks: {', '.join(missing)}")
                voice = (
                    self._by_id(incoming.id)
                    or self._named(incoming.name)
                    or incoming.model_copy(update={"samples": []})
                )
                known = {s.id for s in voice.samples}
                new = [s for s in incoming.samples if s.id not in known]
                self._clips_dir.mkdir(parents=True, exist_ok=True)
                for sample in new:
                    self._write_clip_bytes(sample.clip, archive.read(f"clips/{sample.clip}"))
                voice.samples.extend(new)
                if new:
                    self._write(voice)
                    changed.append(voice)
        return changed

    # --- files ----------------------------------------------------------------------------------------------------
    def _voice_path(self, voice_id: str) -> Path:
        if not _ID.match(voice_id) or not voice_id.startswith("v_"):
            raise VoiceNotFoundError(f"No voice {voice_id!r} in the library")
        return self._voices_dir / f"{voice_id}.json"

    def _by_id(self, voice_id: str) -> Voice | None:
        return next((v for v in self.voices() if v.id == voice_id), None)

    def _named(self, name: str) -> Voice | None:
        wanted = name.casefold()
        return next((v for v in self.voices() if v.name.casefold() == wanted), None)

    def _write(self, voice: Voice) -> None:
        self._voices_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self._voice_path(voice.id), voice.model_dump_json(indent=1))

    def _store_sample(self, new: NewSample) -> Sample:
        if not new.consent.strip():
            raise VoiceLibraryError("A voice is stored only with the person's consent: record it when enrolling")
        sample_id = _new_id("s")
        suffix = (new.clip.suffix.lower().lstrip(".") or "wav")[:5]
        clip = f"{sample_id}.{suffix if suffix.isalnum() else 'wav'}"
        self._clips_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._clips_dir / f".{clip}.tmp"
        shutil.copyfile(new.clip, tmp)
        tmp.replace(self._clips_dir / clip)
        return Sample(
            id=sample_id,
            embedding=list(new.embedding),
            model=new.model,
            clip=clip,
            speech_seconds=round(new.speech_seconds, 3),
            source=new.source,
            created=_now(),
            consent=new.consent.strip(),
        )

    def _write_clip_bytes(self, clip: str, data: bytes) -> None:
        tmp = self._clips_dir / f".{clip}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self._clips_dir / clip)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.folder / ".lock", timeout=LOCK_TIMEOUT_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise LibraryBusyError(
                f"The voice library is being changed by another program ({LOCK_TIMEOUT_SECONDS:g} s)"
            ) from None
        try:
            yield
        finally:
            lock.release()


@contextmanager
def _refused_when_damaged(source: Path) -> Iterator[None]:
    """A member's data damaged (a bad CRC, broken deflate data, cut off) refused as the archive being damaged."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise VoiceLibraryError(f"{source} is damaged: {exc}") from exc


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        return f"{where}: {error['msg']}" if where else str(error["msg"])
    return str(exc)
