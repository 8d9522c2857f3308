"""The review's undo steps for the voice library's verdicts on speakers: accept, reject or merge one, accept every
suggestion, identify the speakers again (``voices/decisions.py`` works each out)."""

from __future__ import annotations

from stt_studio.engine.result import TranscriptionResult
from stt_studio.ui.editing.commands import Shows, TranscriptCommand
from stt_studio.voices.decisions import Decision, accept_all, decide, merge_target, summary_of


class DecideSpeaker(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, label: str, decision: Decision) -> None:
        after = decide(before, label, decision)
        speaker = before.speaker_name(label)
        summary = summary_of(before, label)
        voice = summary.name or (summary.also_sounds_like.name if summary.also_sounds_like else "")
        if decision == "accept":
            text = f"Accept {voice} for {speaker}"
        elif decision == "reject":
            text = f"{speaker} is not {voice}"
        else:
            text = f"Merge {speaker} into {before.speaker_name(merge_target(before, label))}"
        super().__init__(target, before, after, text)


class AcceptAllSuggestions(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult) -> None:
        super().__init__(target, before, accept_all(before), "Accept all suggested names")


class IdentifyAgain(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, after: TranscriptionResult) -> None:
        super().__init__(target, before, after, "Identify speakers again")
