"""What the user decides about the voice library's verdict on a speaker (pure: a result in, a new result out, so
that each decision is one step on the review's undo stack).

- ``accept``: the suggested voice's name becomes the speaker's name (``match`` "accepted"); exports show it.
- ``reject``: "not Diane": the speaker's match is cleared to unknown and the voice goes on its ``rejected_voices``,
  kept with the transcript, so that identifying again never proposes that voice for that speaker. Also clears an
  "also sounds like Diane" hint the same way.
- ``merge``: for "also sounds like Diane": the speaker is merged into the speaker named with that voice
  (``engine.speakers.merge_speakers``).

A name typed in review (``speaker_names``) is never changed: it keeps winning over the library's name.
"""

from __future__ import annotations

from typing import Literal, get_args

from stt_studio.engine.result import SpeakerSummary, TranscriptionResult
from stt_studio.engine.speakers import UnknownSpeakerError, merge_speakers

Decision = Literal["accept", "reject", "merge"]
DECISIONS: tuple[str, ...] = get_args(Decision)

_PROPOSED = ("auto", "suggested", "accepted")
"""Matches that pair the speaker with a voice."""


class NothingToDecideError(ValueError):
    """The speaker has no suggestion of the kind the decision answers; the message says what it has."""


def decide(result: TranscriptionResult, label: str, decision: Decision) -> TranscriptionResult:
    """``result`` after ``decision`` on speaker ``label``. UnknownSpeakerError when the result has no such speaker,
    NothingToDecideError when there is nothing of that kind to decide for it."""
    if decision == "accept":
        return accept(result, label)
    if decision == "reject":
        return reject(result, label)
    if decision == "merge":
        return merge(result, label)
    raise ValueError(f"Unknown decision {decision!r}: one of {', '.join(DECISIONS)}")


def summary_of(result: TranscriptionResult, label: str) -> SpeakerSummary:
    for summary in result.speakers or ():
        if summary.speaker == label:
            return summary
    known = ", ".join(s.speaker for s in result.speakers or ()) or "none"
    raise UnknownSpeakerError(f"Unknown speaker '{label}'; this transcript's speakers: {known}")


def accept(result: TranscriptionResult, label: str) -> TranscriptionResult:
    summary = summary_of(result, label)
    if summary.match != "suggested" or not summary.name:
        raise NothingToDecideError(f"{label} has no suggested name to accept ({_state(summary)})")
    return _with_summary(result, summary.model_copy(update={"match": "accepted"}))


def reject(result: TranscriptionResult, label: str) -> TranscriptionResult:
    summary = summary_of(result, label)
    if summary.match in _PROPOSED and summary.voice_id:
        voice_id = summary.voice_id
    elif summary.also_sounds_like is not None:
        voice_id = summary.also_sounds_like.voice_id
    else:
        raise NothingToDecideError(f"{label} has no voice to reject ({_state(summary)})")
    rejected = [*summary.rejected_voices, *([voice_id] if voice_id not in summary.rejected_voices else [])]
    cleared = summary.model_copy(
        update={
            "name": None,
            "voice_id": None,
            "match": "unknown",
            "score": None,
            "margin": None,
            "also_sounds_like": None,
            "candidates": [c for c in summary.candidates or () if c.voice_id != voice_id],
            "rejected_voices": rejected,
        }
    )
    return _with_summary(result, cleared)


def merge_target(result: TranscriptionResult, label: str) -> str | None:
    """The speaker that ``label``'s "also sounds like" voice is named on, if there is one."""
    hint = summary_of(result, label).also_sounds_like
    if hint is None:
        return None
    return next(
        (
            s.speaker
            for s in result.speakers or ()
            if s.speaker != label and s.voice_id == hint.voice_id and s.match in _PROPOSED
        ),
        None,
    )


def merge(result: TranscriptionResult, label: str) -> TranscriptionResult:
    summary = summary_of(result, label)
    into = merge_target(result, label)
    if into is None:
        hint = summary.also_sounds_like
        why = f"no speaker is named {hint.name} any more" if hint else _state(summary)
        raise NothingToDecideError(f"{label} has nobody to merge into ({why})")
    return merge_speakers(result, label, into)


def suggested(result: TranscriptionResult) -> list[str]:
    """The speakers with a suggestion waiting (no typed name hides it), in the result's order."""
    return [
        s.speaker
        for s in result.speakers or ()
        if s.match == "suggested" and s.name and not result.speaker_names.get(s.speaker)
    ]


def accept_all(result: TranscriptionResult) -> TranscriptionResult:
    """Every waiting suggestion accepted. NothingToDecideError when there is none."""
    labels = suggested(result)
    if not labels:
        raise NothingToDecideError("No speaker has a suggested name waiting")
    for label in labels:
        result = accept(result, label)
    return result


def _with_summary(result: TranscriptionResult, summary: SpeakerSummary) -> TranscriptionResult:
    speakers = [summary if s.speaker == summary.speaker else s for s in result.speakers or ()]
    return result.model_copy(update={"speakers": speakers})


def _state(summary: SpeakerSummary) -> str:
    if summary.match is None:
        return "not compared with the voice library"
    if summary.match in _PROPOSED and summary.name:
        return f"{summary.match} as {summary.name}"
    return summary.match
