"""The transcription result: exactly the contract's ``result`` object, plus additive fields.

API responses, the GUI and the exporters all read this one model.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from stt_studio.engine.options import Task

_SPEAKER_LABEL = re.compile(r"^SPEAKER_(\d+)$")

StageSeconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Word(BaseModel):
    word: str
    start: float
    end: float
    score: float | None = Field(description="Alignment score or word probability, 0..1; null for an edited word")
    speaker: str | None = None
    edited: bool = Field(default=False, description="Changed or inserted in review: timing spread, no score")
    checked: bool = Field(default=False, description="Confirmed by a reviewer in the low-confidence pass")
    speaker_uncertain: bool = Field(
        default=False, description="Who said it is in doubt (voices overlapping, a very short turn): worth a check"
    )


class Segment(BaseModel):
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    speaker: str | None = None


MatchStatus = Literal["auto", "suggested", "unknown", "accepted"]
NAMED_MATCHES: frozenset[str] = frozenset({"auto", "accepted"})
"""Matches whose voice name is the speaker's name (view and exports); a suggestion waits for the user."""


class VoiceCandidate(BaseModel):
    voice_id: str
    name: str
    score: float = Field(description="Cosine similarity of the speaker's voice with this library voice, -1..1")


IDENTITY_FIELDS = (
    "name",
    "voice_id",
    "match",
    "score",
    "margin",
    "candidates",
    "also_sounds_like",
    "rejected_voices",
)
"""What the voice library says of a speaker: kept as speaking times are counted again."""


class SpeakerSummary(BaseModel):
    speaker: str
    speaking_time: float = Field(description="Seconds attributed to this speaker")
    name: str | None = Field(
        default=None, description="The voice library's name for this speaker (match auto or suggested), else null"
    )
    voice_id: str | None = Field(default=None, description="The library voice behind `name`")
    match: MatchStatus | None = Field(
        default=None,
        description="auto: named, the match is clear; suggested: a name to confirm; accepted: a suggestion the user "
        "accepted; unknown: no voice close enough (or too little speech, or the user rejected it); null: not "
        "compared (no voice library)",
    )
    score: float | None = Field(default=None, description="Cosine similarity with the named voice")
    margin: float | None = Field(default=None, description="`score` minus the next closest voice's")
    candidates: list[VoiceCandidate] | None = Field(default=None, description="The closest library voices, best first")
    also_sounds_like: VoiceCandidate | None = Field(
        default=None, description="A voice named on another speaker that this one resembles too (merge them?)"
    )
    rejected_voices: list[str] = Field(
        default_factory=list,
        description="Library voices (ids) the user said this speaker is not: never proposed for it again",
    )


def with_identities(summaries: list[SpeakerSummary], before: list[SpeakerSummary] | None) -> list[SpeakerSummary]:
    """``summaries`` with what ``before`` said of each speaker's identity (speaking times counted again keep it)."""
    known = {s.speaker: s for s in before or ()}
    return [
        s.model_copy(update={f: getattr(known[s.speaker], f) for f in IDENTITY_FIELDS}) if s.speaker in known else s
        for s in summaries
    ]


class SpeakerTurn(BaseModel):
    start: float
    end: float
    speaker: str


class TranscriptionResult(BaseModel):
    # The contract's fields.
    text: str
    language: str
    duration: float
    segments: list[Segment]
    processing_time: float
    # Additions.
    task: Task = Field(
        default="transcribe",
        description="transcribe, or translate: the text is English and `language` is the language spoken",
    )
    model: str = Field(description="The Whisper model that produced this result")
    device: str = Field(description="cuda or cpu")
    compute_type: str | None = Field(default=None, description="CTranslate2's compute type: float16, int8, …")
    word_timestamps: str = Field(
        description="How word times were found: 'wav2vec2' (WhisperX alignment) or 'whisper' (cross-attention)"
    )
    speakers: list[SpeakerSummary] | None = None
    speaker_turns: list[SpeakerTurn] | None = Field(
        default=None, description="The diarization itself: who spoke when, overlaps included"
    )
    speaker_count_note: str | None = Field(
        default=None,
        description="Set when the number of speakers found is uncertain (a voice heard only briefly, voices that "
        "sound alike, a count asked for that the voices do not suggest): why, and how to find speakers again",
    )
    warnings: list[str] = Field(default_factory=list, description="Fallbacks taken while producing the result")
    stage_seconds: dict[str, StageSeconds] = Field(
        default_factory=dict,
        description="Seconds per stage of the run that produced this result (decoding, vad, language, transcribing, "
        "aligning, diarizing); a stage read back from its checkpoint counts the time to read it",
    )
    speaker_names: dict[str, str] = Field(
        default_factory=dict, description="Names given in review, by speaker label (SPEAKER_00 → 'Dr. Chen')"
    )

    def given_name(self, label: str) -> str | None:
        """The speaker's name, if it has one: the name typed in review, else the voice library's when its match is
        automatic or accepted (a pending suggestion is no name yet)."""
        if name := self.speaker_names.get(label):
            return name
        for summary in self.speakers or ():
            if summary.speaker == label and summary.match in NAMED_MATCHES and summary.name:
                return summary.name
        return None

    def speaker_name(self, label: str | None) -> str:
        """What people read: the name given in review or accepted from the voice library (``given_name``), else
        "Speaker 1" for SPEAKER_00, other labels as they are."""
        if label is None:
            return ""
        if name := self.given_name(label):
            return name
        match = _SPEAKER_LABEL.match(label)
        return f"Speaker {int(match.group(1)) + 1}" if match else label
