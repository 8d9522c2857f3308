"""Enrolling a voice from a finished, diarized job's speaker, with no model run: the job's kept voice print of that
speaker is the sample's embedding, and the speaker's clean turns (no one else talking, each at least 1.5 s, the
longest first, about a minute in all) are cut from the job's audio into the sample's clip (16 kHz mono FLAC).

Refused, with the reason: a job that is unknown, unfinished or not diarized, a speaker it does not have, prints it
did not keep or that another embedding model made than the library's, audio no longer there, under 5 s of clean
speech, or no consent. Under 10 s is taken with a warning.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
from stt_studio.engine.diarization.library_prints import MIN_TURN_SECONDS as _MIN_TURN_SECONDS
from stt_studio.engine.diarization.library_prints import PRINT_SECONDS, clean_stretches
from stt_studio.engine.errors import AudioError
from stt_studio.engine.result import SpeakerTurn, TranscriptionResult
from stt_studio.jobs.checkpoints import JobCheckpoints
from stt_studio.jobs.kept_audio import kept_audio, write_mono_flac
from stt_studio.jobs.store import JobStore
from stt_studio.voices.library import NewSample, Voice, VoiceLibrary, VoiceLibraryError
from stt_studio.voices.prints import VOICE_PRINTS_KEY, JobVoicePrints, SpeakerPrint, VoicePrintsError

MIN_TURN_SECONDS = _MIN_TURN_SECONDS
"""A shorter clean stretch is left out of the clip: too short to tell much of a voice (as out of a hub speaker's
re-embedded print: the same clean speech)."""
CLIP_SECONDS = PRINT_SECONDS
"""About this much clean speech goes into the clip, the longest turns first."""
MIN_SECONDS = 5.0
"""Less clean speech than this is refused."""
WARN_SECONDS = 10.0
"""Less than this is taken, with a warning: the voice may name its speaker less surely."""


class EnrollmentRefusedError(VoiceLibraryError):
    """The speaker cannot be enrolled; the message says why."""


class NotEnrollableError(EnrollmentRefusedError):
    """The job is not one to enroll from: not diarized, no prints kept, no audio left (a conflict with its state)."""


class OtherModelError(EnrollmentRefusedError):
    """The job's voice prints were made by another embedding model than the library's current one."""


class NoSuchSpeakerError(EnrollmentRefusedError):
    pass


class TooLittleSpeechError(EnrollmentRefusedError):
    pass


@dataclass(frozen=True)
class SpeakerSpeech:
    """What enrolling a speaker would take: its clean turns (start, end) in the clip's order, and their seconds."""

    label: str
    turns: tuple[tuple[float, float], ...]

    @property
    def seconds(self) -> float:
        return round(sum(end - start for start, end in self.turns), 3)


@dataclass(frozen=True)
class Enrolled:
    voice: Voice
    added_to_existing: bool
    """The sample went to a voice already in the library (same name, or the voice asked for)."""
    speech_seconds: float
    warning: str | None


def clean_turns(turns: list[SpeakerTurn], label: str) -> SpeakerSpeech:
    """``label``'s turns with every other speaker's time taken out, the stretches of at least ``MIN_TURN_SECONDS``,
    longest first, up to about ``CLIP_SECONDS`` (the last one cut short to fit)."""
    return SpeakerSpeech(label, clean_stretches(((t.start, t.end, t.speaker) for t in turns), label))


def speaker_speech(result: TranscriptionResult, label: str, job_id: str) -> SpeakerSpeech:
    """The clean speech ``clean_turns`` finds for ``label`` in a diarized ``result``."""
    if result.speaker_turns is None or not result.speakers:
        raise NotEnrollableError(f"Job {job_id} was transcribed without finding speakers: there is no voice to save")
    known = sorted({s.speaker for s in result.speakers} | {t.speaker for t in result.speaker_turns})
    if label not in known:
        raise NoSuchSpeakerError(f"Job {job_id} has no speaker {label!r} (its speakers: {', '.join(known)})")
    return clean_turns(result.speaker_turns, label)


def job_speaker_speech(store: JobStore, job_id: str, label: str) -> SpeakerSpeech:
    """``speaker_speech`` of the job's current transcript (JobNotFoundError, TranscriptNotReadyError if none)."""
    return speaker_speech(store.transcript(job_id).result, label, job_id)


def enroll_from_job(
    store: JobStore,
    library: VoiceLibrary,
    job_id: str,
    label: str,
    *,
    consent: str,
    library_model: str | None,
    name: str | None = None,
    voice_id: str | None = None,
) -> Enrolled:
    """Save speaker ``label`` of job ``job_id`` to ``library``: as a sample of voice ``voice_id``, else of the voice
    named ``name`` (a new one when the library has none of that name, case-insensitive). ``library_model``: the
    embedding model's fingerprint (``voices/embedding_model.py``)."""
    if not consent.strip():
        raise EnrollmentRefusedError("A voice is stored only with the person's consent: confirm they agreed")
    if (name is None) == (voice_id is None):
        raise ValueError("enroll_from_job takes a name or a voice id")
    if voice_id is not None:
        library.get(voice_id)  # an unknown voice is refused before any work
    speech = job_speaker_speech(store, job_id, label)
    speaker, model = _speaker_print(store, job_id, label, library_model)
    if speech.seconds < MIN_SECONDS:
        raise TooLittleSpeechError(
            f"{label} of job {job_id} speaks alone for {speech.seconds:.1f} s in turns of {MIN_TURN_SECONDS:g} s or "
            f"longer; a voice needs at least {MIN_SECONDS:g} s"
        )
    with tempfile.TemporaryDirectory(prefix="stt-enroll-") as folder:
        clip = Path(folder) / "clip.flac"
        _cut(_audio_path(store, job_id), speech, clip)
        sample = NewSample(
            embedding=speaker.vector,
            model=model,
            clip=clip,
            speech_seconds=speech.seconds,
            source=f"job {job_id} speaker {label}",
            consent=consent,
        )
        return save_sample(library, sample, name=name, voice_id=voice_id, what="clean speech")


def save_sample(library: VoiceLibrary, sample: NewSample, *, name: str | None, voice_id: str | None,
                what: str) -> Enrolled:  # fmt: skip
    """``sample`` added to voice ``voice_id``, else to the voice named ``name`` (a new one when the library has none
    of that name); under ``WARN_SECONDS`` of ``what`` (its speech) it is saved with a warning."""
    seconds = sample.speech_seconds
    warning = (
        f"Only {seconds:.1f} s of {what}: the voice may name this person less surely than with {WARN_SECONDS:g} s "
        "or more (add another sample later)"
        if seconds < WARN_SECONDS
        else None
    )
    if voice_id is not None:
        voice, existed = library.add_sample(voice_id, sample), True
    else:
        assert name is not None
        voice, existed = library.add_voice_or_sample(name, sample)
    return Enrolled(voice, existed, seconds, warning)


def kept_voice_prints(store: JobStore, job_id: str) -> JobVoicePrints:
    """The voice prints the job kept (NotEnrollableError when it kept none or they cannot be read)."""
    return _prints(store, job_id)


def _prints(store: JobStore, job_id: str) -> JobVoicePrints:
    path = JobCheckpoints.of_job(store.job_dir(job_id)).folder / f"{VOICE_PRINTS_KEY}.json"
    try:
        return JobVoicePrints.from_json(json.loads(path.read_text(encoding="utf-8"))["data"])
    except FileNotFoundError:
        raise NotEnrollableError(
            f"Job {job_id} kept no voice prints (it was diarized before they were kept, or by a diarizer that gives "
            "none): find its speakers again first"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, VoicePrintsError) as exc:
        raise NotEnrollableError(f"Job {job_id}'s voice prints cannot be read ({exc})") from exc


def _speaker_print(store: JobStore, job_id: str, label: str, library_model: str | None) -> tuple[SpeakerPrint, str]:
    """The speaker's kept print and the model that made it (the library's)."""
    prints = _prints(store, job_id)
    if library_model is None:
        raise OtherModelError("The voice library's embedding model cannot be named (its weights are missing)")
    if prints.model != library_model:
        raise OtherModelError(
            f"Job {job_id}'s voice prints were made by the embedding model {prints.model}, the library's is "
            f"{library_model}: find the job's speakers again to save this voice"
        )
    speaker = next((s for s in prints.speakers if s.label == label), None)
    if speaker is None:
        raise NoSuchSpeakerError(f"Job {job_id} kept no voice print of {label} (its vector was not usable)")
    return speaker, prints.model


def _audio_path(store: JobStore, job_id: str) -> Path:
    """The job's audio: the decoded copy a finished upload keeps, else a desktop job's own file."""
    kept = kept_audio(JobCheckpoints.of_job(store.job_dir(job_id)))
    if kept is not None:
        return kept.path
    source = store.source_path(job_id)
    if source is not None and source.is_file():
        return source
    where = f" ({source} is gone)" if source is not None else ""
    raise NotEnrollableError(f"Job {job_id}'s audio was not kept{where}: its speakers' speech cannot be cut")


def _cut(audio: Path, speech: SpeakerSpeech, target: Path) -> None:
    try:
        samples = decode_audio(audio).samples
    except AudioError as exc:
        raise NotEnrollableError(f"The job's audio {audio.name} cannot be read: {exc}") from exc
    pieces = [samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)] for start, end in speech.turns]
    write_mono_flac(np.concatenate(pieces), target)
