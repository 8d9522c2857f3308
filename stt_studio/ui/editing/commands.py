"""One undo command per kind of edit. Each keeps the transcript before and after it: the pure edits share what
they leave alone between the two (unchanged segments and word lists), so a step of a 2-hour transcript's history
costs about what the edit changed (figures in benchmarks/review.py)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoCommand

from stt_studio.engine import speakers
from stt_studio.engine.result import TranscriptionResult
from stt_studio.review import editing


class Shows(Protocol):
    """What a command changes: the document whose transcript it sets."""

    def show(self, result: TranscriptionResult) -> None: ...


class TranscriptCommand(QUndoCommand):
    """An edit as the transcript before it and after it."""

    def __init__(self, target: Shows, before: TranscriptionResult, after: TranscriptionResult, text: str) -> None:
        super().__init__(text)
        self._target = target
        self.before = before
        self.after = after

    def redo(self) -> None:
        self._target.show(self.after)

    def undo(self) -> None:
        self._target.show(self.before)


class EditText(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, row: int, text: str) -> None:
        super().__init__(target, before, editing.edit_segment_text(before, row, text), f"Edit segment {row + 1}")


class SplitSegment(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, row: int, word: int) -> None:
        super().__init__(target, before, editing.split_segment(before, row, word), f"Split segment {row + 1}")


class MergeSegments(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, row: int) -> None:
        after = editing.merge_with_next(before, row)
        super().__init__(target, before, after, f"Merge segments {row + 1} and {row + 2}")


class DeleteSegment(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, row: int) -> None:
        super().__init__(target, before, editing.delete_segment(before, row), f"Delete segment {row + 1}")


class ReplaceAll(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, find: str, replacement: str) -> None:
        after, self.count = editing.find_replace(before, find, replacement)
        super().__init__(target, before, after, f"Replace “{find}” with “{replacement}”")


class MarkChecked(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, row: int, word: int) -> None:
        after = editing.set_word_checked(before, row, word)
        super().__init__(target, before, after, f"Mark “{before.segments[row].words[word].word}” checked")


class SetSpeaker(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, row: int, label: str) -> None:
        after = speakers.assign_speaker(before, row, label)
        super().__init__(target, before, after, f"Segment {row + 1} to {before.speaker_name(label)}")


class RenameSpeaker(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, label: str, name: str) -> None:
        after = speakers.rename_speaker(before, label, name)
        super().__init__(target, before, after, f"Rename {before.speaker_name(label)} to {name.strip() or label}")


class MergeSpeakers(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, source: str, into: str) -> None:
        after = speakers.merge_speakers(before, source, into)
        text = f"Merge {before.speaker_name(source)} into {before.speaker_name(into)}"
        super().__init__(target, before, after, text)


class AddSpeaker(TranscriptCommand):
    def __init__(self, target: Shows, before: TranscriptionResult, name: str) -> None:
        after, self.label = speakers.add_speaker(before, name)
        super().__init__(target, before, after, f"Add speaker {name.strip()}")
