"""Voices from audio clips: a clip decoded as the engine decodes audio, its speakers found by the diarization the
jobs use (so that a clip's voice vectors are of the library's embedding model: CAM++ on the no-token backend), and
each speaker's vector, its clean speech and its turns. Enrolling a voice from a clip (``enroll_from_clip``) and a
one-request reference voice (``reference_voice``, the OpenAI endpoint's ``known_speaker_references[]``) both start
here.

Refused, with the reason: not audio, no speech, too short, several speakers where one is needed (the speakers found
are given so that a caller can pick one).
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
from stt_studio.engine.diarization import PyannoteDiarizer
from stt_studio.engine.errors import AudioError, AudioTooLongError
from stt_studio.engine.options import DiarizationOptions
from stt_studio.jobs.kept_audio import write_mono_flac
from stt_studio.settings import Settings
from stt_studio.voices.enroll import CLIP_SECONDS, MIN_SECONDS, Enrolled, TooLittleSpeechError, save_sample
from stt_studio.voices.library import NewSample, VoiceLibrary, VoiceLibraryError
from stt_studio.voices.matching import KnownVoice
from stt_studio.voices.prints import speech_seconds

MAX_CLIP_SECONDS = 600.0
"""A longer clip is refused before its speakers are looked for: a voice needs a minute at most."""
MIN_SPEAKER_SECONDS = 1.0
"""A speaker the diarization finds with less speech than this in a clip is not counted as another voice (a cough,
a stray second of a cluster): its time is left out of the others' speech all the same."""
REFERENCE_MIN_SECONDS = 2.0
REFERENCE_MAX_SECONDS = 10.0
"""A reference clip's length (OpenAI's rule for ``known_speaker_references[]``)."""


class ClipRefusedError(VoiceLibraryError):
    """The clip cannot give a voice; the message says why."""


class NotAudioClipError(ClipRefusedError):
    pass


class NoSpeechError(ClipRefusedError):
    pass


class ClipLengthError(ClipRefusedError):
    """Too short or too long a clip (or too little speech in it)."""


class NoSuchClipSpeakerError(ClipRefusedError):
    pass


@dataclass(frozen=True)
class ClipSpeaker:
    label: str
    vector: tuple[float, ...] = field(repr=False)
    speech_seconds: float
    """Seconds this speaker talks alone in the clip."""
    turns: tuple[tuple[float, float], ...]
    """Where it talks alone (start, end), in time order."""


class SeveralSpeakersError(ClipRefusedError):
    """The clip holds several voices and none was picked: ``speakers`` are the ones found, most speech first."""

    def __init__(self, message: str, speakers: tuple[ClipSpeaker, ...]) -> None:
        super().__init__(message)
        self.speakers = speakers


@dataclass(frozen=True)
class ClipVoices:
    """The speakers found in a clip, most speech first."""

    model: str
    """Fingerprint of the embedding model the vectors come from."""
    duration: float
    speakers: tuple[ClipSpeaker, ...]
    samples: npt.NDArray[np.float32] = field(repr=False)

    def one_speaker(self, label: str | None = None) -> ClipSpeaker:
        """The speaker labelled ``label``, or the clip's only one; SeveralSpeakersError when there are several and
        none is named, NoSpeechError when there is none."""
        if not self.speakers:
            raise NoSpeechError(f"No speech was found in the clip ({self.duration:.1f} s of audio)")
        if label is not None:
            found = next((s for s in self.speakers if s.label == label), None)
            if found is None:
                raise NoSuchClipSpeakerError(
                    f"The clip has no speaker {label!r} (its speakers: {', '.join(s.label for s in self.speakers)})"
                )
            return found
        if len(self.speakers) > 1:
            raise SeveralSpeakersError(
                f"The clip holds {len(self.speakers)} voices ({describe(self.speakers)}): pick one", self.speakers
            )
        return self.speakers[0]

    def speech_of(self, speaker: ClipSpeaker, limit: float = CLIP_SECONDS) -> npt.NDArray[np.float32]:
        """The speaker's turns cut from the clip and joined, in time order, up to ``limit`` seconds."""
        pieces: list[npt.NDArray[np.float32]] = []
        left = int(limit * SAMPLE_RATE)
        for start, end in speaker.turns:
            piece = self.samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)][:left]
            pieces.append(piece)
            left -= len(piece)
            if left <= 0:
                break
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def describe(speakers: tuple[ClipSpeaker, ...]) -> str:
    """Each speaker's label, speech and first turn ("SPEAKER_00: 6.1 s of speech, first at 0.3 s, …"), for a
    message that lets a person pick one."""
    return ", ".join(
        f"{s.label}: {s.speech_seconds:.1f} s of speech, first at {s.turns[0][0]:.1f} s" if s.turns else s.label
        for s in speakers
    )


class ClipEmbedder:
    """Finds the speakers of clips with the jobs' diarization (built from the settings on first use, then kept);
    one clip at a time, from any thread."""

    def __init__(self, settings: Settings, device: str = "cpu") -> None:
        self._diarizer = PyannoteDiarizer(settings, device)
        self._lock = threading.Lock()

    def voices(self, clip: Path, *, shortest: float = 0.0, longest: float = MAX_CLIP_SECONDS) -> ClipVoices:
        """The clip's speakers; a clip shorter than ``shortest`` or longer than ``longest`` seconds is refused
        (ClipLengthError) before any model runs, saying why."""
        try:
            samples = decode_audio(clip, longest + 1.0).samples
        except AudioTooLongError as exc:
            raise ClipLengthError(f"The clip is longer than {longest:g} s; it may be at most {longest:g} s") from exc
        except AudioError as exc:
            raise NotAudioClipError(f"The clip cannot be used as audio: {exc}") from exc
        duration = len(samples) / SAMPLE_RATE
        if duration < shortest - 0.05:
            raise ClipLengthError(f"The clip is {duration:.1f} s long; it needs at least {shortest:g} s")
        if duration > longest + 0.05:
            raise ClipLengthError(f"The clip is {duration:.1f} s long; it may be at most {longest:g} s")
        with self._lock:
            model = self._diarizer.embedding_model()
            found = self._diarizer.find_turns(samples, DiarizationOptions(), lambda _done, _end: None)
        turns = found.exclusive_turns if found.exclusive_turns is not None else found.raw_turns
        seconds = speech_seconds(turns)
        speakers = [
            ClipSpeaker(
                label,
                tuple(float(x) for x in vector),
                round(seconds.get(label, 0.0), 3),
                tuple((round(a, 3), round(b, 3)) for a, b, who in sorted(turns) if who == label and b > a),
            )
            for label, vector in found.embeddings.items()
            if vector and all(math.isfinite(x) for x in vector)
        ]
        counted = [s for s in speakers if s.speech_seconds >= MIN_SPEAKER_SECONDS]
        counted.sort(key=lambda s: -s.speech_seconds)
        return ClipVoices(model, round(len(samples) / SAMPLE_RATE, 3), tuple(counted), samples)


def embedder_of_clips(embedder: ClipEmbedder) -> Callable[[Path], tuple[float, ...]]:
    """A saved sample's clip (one person's speech) embedded again: the vector of the speaker with the most speech
    in it (NoSpeechError, a ValueError, when it holds none)."""

    def embed(clip: Path) -> tuple[float, ...]:
        if not clip.is_file():
            raise FileNotFoundError(f"the clip {clip.name} is missing")
        found = embedder.voices(clip)
        if not found.speakers:
            raise NoSpeechError("no speech found in the clip")
        return found.speakers[0].vector

    return embed


def enroll_from_clip(
    library: VoiceLibrary,
    clip: ClipVoices,
    *,
    consent: str,
    source: str,
    speaker: str | None = None,
    name: str | None = None,
    voice_id: str | None = None,
) -> Enrolled:
    """Save the clip's one speaker (or the one labelled ``speaker``) to ``library``: as a sample of voice
    ``voice_id``, else of the voice named ``name`` (a new one when none has that name, case-insensitive). Its
    turns, joined, are the sample's clip (16 kHz mono FLAC, up to about a minute); the diarization's vector of it
    is the sample's voice vector. Under ``MIN_SECONDS`` of speech is refused, under ``WARN_SECONDS`` saved with a
    warning, as when saving a job's speaker."""
    if not consent.strip():
        raise ClipRefusedError("A voice is stored only with the person's consent: confirm they agreed")
    if (name is None) == (voice_id is None):
        raise ValueError("enroll_from_clip takes a name or a voice id")
    chosen = clip.one_speaker(speaker)
    audio = clip.speech_of(chosen)
    seconds = round(len(audio) / SAMPLE_RATE, 3)
    if chosen.speech_seconds < MIN_SECONDS:
        raise TooLittleSpeechError(
            f"The clip holds {chosen.speech_seconds:.1f} s of {_whose(clip, chosen)} speech; a voice needs at least "
            f"{MIN_SECONDS:g} s"
        )
    with tempfile.TemporaryDirectory(prefix="stt-clip-") as folder:
        saved = Path(folder) / "clip.flac"
        write_mono_flac(audio, saved)
        sample = NewSample(
            embedding=chosen.vector,
            model=clip.model,
            clip=saved,
            speech_seconds=seconds,
            source=source if len(clip.speakers) == 1 else f"{source} ({chosen.label})",
            consent=consent,
        )
        return save_sample(library, sample, name=name, voice_id=voice_id, what="speech")


def _whose(clip: ClipVoices, speaker: ClipSpeaker) -> str:
    return f"{speaker.label}'s" if len(clip.speakers) > 1 else "the speaker's"


def reference_voice(clip: ClipVoices, name: str, key: str) -> KnownVoice:
    """A voice for one request's matching from a reference clip that holds one speaker (its length is checked by
    ``ClipEmbedder.voices``: ``REFERENCE_MIN_SECONDS`` to ``REFERENCE_MAX_SECONDS``); ``key`` identifies it among
    the request's references."""
    if not clip.speakers:
        raise NoSpeechError(f"No speech was found in the clip ({clip.duration:.1f} s of audio)")
    if len(clip.speakers) > 1:
        raise SeveralSpeakersError(
            f"The clip holds {len(clip.speakers)} voices ({describe(clip.speakers)}); a reference must hold one",
            clip.speakers,
        )
    return KnownVoice(key, name, (clip.speakers[0].vector,))
