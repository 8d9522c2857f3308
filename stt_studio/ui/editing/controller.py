"""The review of the transcript shown: its actions turned into undoable edits, speakers, the low-confidence pass,
autosave with its conflicts, and reverting to the engine's output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from stt_studio.engine.result import TranscriptionResult
from stt_studio.review.editing import EditError
from stt_studio.review.words import DEFAULT_LOW_CONFIDENCE, WordRef
from stt_studio.ui.editing import commands
from stt_studio.ui.editing.actions import ReviewActions
from stt_studio.ui.editing.autosave import AutoSaver, SaveState, Spawn, TranscriptStorage
from stt_studio.ui.editing.document import ReviewDocument
from stt_studio.ui.editing.speaker_dialogs import AddSpeakerDialog, MergeSpeakersDialog, RenameSpeakerDialog
from stt_studio.ui.views.player import SKIP_SECONDS

if TYPE_CHECKING:
    from stt_studio.ui.views.transcript_view import TranscriptView

CHECK_LEAD_SECONDS = 0.3
"""A word to check plays from a little before it to a little after it: a word alone is hard to make out."""
CHECK_TAIL_SECONDS = 0.3
CHECK_HOLD_SECONDS = 0.5
"""The player stops a little after the span's end (it reports positions every few tens of ms): the word to check
stays highlighted this long past it."""
VISIT_REACH_SECONDS = 2.0
"""F3 goes on from the word visited last while the player is still about there; from the player's position else."""


class ReviewController(QObject):
    def __init__(self, view: TranscriptView) -> None:
        super().__init__(view)
        self._view = view
        self.document = ReviewDocument(self)
        self.actions = ReviewActions(view)
        stack = self.document.undo_stack
        self.actions.set_undo_actions(stack.createUndoAction(self, "&Undo"), stack.createRedoAction(self, "&Redo"))
        self._threshold = DEFAULT_LOW_CONFIDENCE
        self._visited: WordRef | None = None
        self._saver: AutoSaver | None = None
        self._spawn: Spawn | None = None
        self._job_id: str | None = None
        self._etag: str | None = None
        self._reviewed = False
        self.speaker_dialog: RenameSpeakerDialog | MergeSpeakersDialog | AddSpeakerDialog | None = None
        self.conflict_box: QMessageBox | None = None
        self.revert_box: QMessageBox | None = None
        self._connect_actions()
        self.document.changed.connect(self._on_changed)
        view.review_bar.set_revert_action(self.actions.revert)
        view.text_delegate.text_committed.connect(self.edit_text)
        view.find_bar.replace_all_requested.connect(self.replace_all)
        self.refresh()

    def _connect_actions(self) -> None:
        view, a = self._view, self.actions
        player = view.player
        a.play_pause.triggered.connect(player.toggle_playback)
        a.back.triggered.connect(lambda: player.skip(-SKIP_SECONDS))
        a.forward.triggered.connect(lambda: player.skip(SKIP_SECONDS))
        a.replay_segment.triggered.connect(self.replay_segment)
        a.slower.triggered.connect(lambda: player.step_rate(-1))
        a.faster.triggered.connect(lambda: player.step_rate(1))
        a.edit_segment.triggered.connect(self.edit_current)
        a.split.triggered.connect(self.split_at_cursor)
        a.merge.triggered.connect(self.merge_with_next)
        a.delete.triggered.connect(self.delete_segment)
        a.replace.triggered.connect(view.find_bar.show_replace)
        a.rename_speaker.triggered.connect(self.ask_rename_speaker)
        a.merge_speakers.triggered.connect(self.ask_merge_speakers)
        a.add_speaker.triggered.connect(self.ask_add_speaker)
        a.next_check.triggered.connect(lambda: self.step_check(1))
        a.previous_check.triggered.connect(lambda: self.step_check(-1))
        a.mark_checked.triggered.connect(self.mark_checked)
        a.revert.triggered.connect(self.ask_revert)

    # --- storage -------------------------------------------------------------------------------------------------
    def set_storage(self, storage: TranscriptStorage, spawn: Spawn) -> None:
        """Save edits (and revert) through ``storage``, running its coroutines with ``spawn``."""
        self._spawn = spawn
        self._saver = AutoSaver(storage, spawn, parent=self)
        self._saver.state_changed.connect(self._on_save_state)
        self._saver.conflict.connect(self._on_conflict)
        self._saver.failed.connect(lambda why: self._view.review_bar.show_message(f"Not saved: {why}"))
        self._saver.attach(self._job_id, self._etag, reviewed=self._reviewed)

    @property
    def saver(self) -> AutoSaver | None:
        return self._saver

    def attach(self, job_id: str | None, etag: str | None, *, reviewed: bool) -> None:
        self._job_id, self._etag, self._reviewed = job_id, etag, reviewed
        self._visited = None
        if self._saver is not None:
            self._saver.attach(job_id, etag, reviewed=reviewed)
        self._on_save_state(SaveState.SAVED if reviewed else SaveState.ORIGINAL)

    async def flush(self) -> None:
        """Save the edits not saved yet (the editor's too)."""
        self.commit_editor()
        if self._saver is not None:
            await self._saver.flush()

    def unsaved_reason(self) -> str | None:
        """Why the edits of the transcript shown are not stored after a ``flush`` (None: they are)."""
        saver = self._saver
        if saver is None or not saver.unsaved:
            return None
        if saver.conflict_etag is not None:
            return "It was saved from somewhere else while you edited it; choose which version to keep."
        return f"Saving failed: {saver.failure or 'not saved yet'}"

    def discard_unsaved(self) -> None:
        """Give up the edits that could not be saved (the user said so)."""
        if self._saver is not None:
            self._saver.discard()

    def resolve_unsaved(self) -> None:
        """Ask again what to do with edits held back by a conflict (the question was canceled)."""
        saver = self._saver
        asking = self.conflict_box is not None and self.conflict_box.isVisible()
        if saver is not None and saver.conflict_etag is not None and not asking:
            self._on_conflict(saver.conflict_etag)

    def _on_save_state(self, state: SaveState) -> None:
        self._view.review_bar.set_state(state)
        self.actions.revert.setEnabled(self._saver is not None and state != SaveState.ORIGINAL)

    def _on_conflict(self, current_etag: str) -> None:
        box = QMessageBox(self._view)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Transcript changed elsewhere")
        box.setText("This transcript was saved from somewhere else (the API or another window) while you edited it.")
        box.setInformativeText(
            "Load the saved version to see it (your edits since the last save are dropped), or keep your "
            "version (it replaces the one saved elsewhere). Until then your edits are not saved."
        )
        load = box.addButton("Load saved version", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep my version", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)

        def chosen() -> None:
            if box.clickedButton() is load:
                self._run(self._reload())
            elif box.clickedButton() is keep and self._saver is not None:
                self._run(self._saver.overwrite(current_etag))

        box.finished.connect(lambda _: chosen())
        box.open()
        self.conflict_box = box

    async def _reload(self) -> None:
        if self._saver is None:
            return
        stored = await self._saver.reload()
        if stored is not None:
            self._reviewed = stored.reviewed
            self.document.load(stored.result)

    def ask_revert(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Revert to original",
            "Show the transcript as the engine wrote it? Your reviewed version is kept aside, not deleted, and "
            "the undo history of this session is cleared.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self._view,
        )
        box.accepted.connect(lambda: self._run(self._revert()))
        box.open()
        self.revert_box = box

    async def _revert(self) -> None:
        if self._saver is None:
            return
        self.commit_editor(discard=True)
        stored = await self._saver.revert()
        if stored is not None:
            self._reviewed = False
            self.document.load(stored.result)

    def _run(self, coro: Any) -> None:
        if self._spawn is not None:
            self._spawn(coro)
        else:
            coro.close()

    # --- edits ---------------------------------------------------------------------------------------------------
    def _push(self, make: Any, *args: Any) -> bool:
        """Make the command (the edit is worked out there) and apply it; an edit that does not apply is said."""
        result = self.document.result
        if result is None:
            return False
        try:
            return self.document.push(make(self.document, result, *args))
        except (EditError, ValueError, IndexError) as error:
            self._view.review_bar.show_message(str(error))
            return False

    def edit(self, make: Any, *args: Any) -> bool:
        """An edit asked for outside the transcript (the voice library's speaker chips): one undo step like the
        others; one that does not apply is said in the review line."""
        return self._push(make, *args)

    def edit_text(self, row: int, text: str) -> None:
        if text.split():
            self._push(commands.EditText, row, text)
        else:
            self._push(commands.DeleteSegment, row)

    def edit_current(self) -> None:
        row = self._view.current_row()
        if row is not None:
            self._view.edit_segment(row)

    def commit_editor(self, *, discard: bool = False) -> int | None:
        """Take the open editor's text as an edit (or drop it) and close it; the row it edited."""
        editor = self._view.open_editor()
        if editor is None:
            return None
        row = editor.row
        if discard:
            self._view.text_delegate.discard(editor)
        else:
            self._view.text_delegate.commit(editor)
        return row

    def split_at_cursor(self) -> None:
        """In the editor: where its cursor is (its text taken first, as one undo step with the split); else
        before the word visited or playing in the selected segment."""
        result = self.document.result
        editor = self._view.open_editor()
        if result is None:
            return
        if editor is not None:
            row, text = editor.row, editor.toPlainText()
            at = editor.word_index_at_cursor(result.language)
            self._view.text_delegate.discard(editor)
            stack = self.document.undo_stack
            stack.beginMacro(f"Split segment {row + 1}")
            if text.split() != result.segments[row].text.split():
                self._push(commands.EditText, row, text)
            self._push(commands.SplitSegment, row, at)
            stack.endMacro()
            return
        word = self._word_here()
        if word is None or word.row != self._view.current_row():
            self._view.review_bar.show_message("To split, edit the segment (F2) and put the cursor where it splits")
            return
        self._push(commands.SplitSegment, word.row, word.word)

    def merge_with_next(self) -> None:
        self.commit_editor()
        row = self._view.current_row()
        if row is not None:
            self._push(commands.MergeSegments, row)

    def delete_segment(self) -> None:
        edited = self.commit_editor(discard=True)
        row = edited if edited is not None else self._view.current_row()
        if row is not None:
            self._push(commands.DeleteSegment, row)

    def replace_all(self, find: str, replacement: str) -> None:
        self.commit_editor()
        result = self.document.result
        if result is None:
            return
        command = commands.ReplaceAll(self.document, result, find, replacement)
        if self.document.push(command):
            self._view.review_bar.show_message(f"Replaced {command.count} time{'s' if command.count != 1 else ''}")
        else:
            self._view.review_bar.show_message(f"“{find}” is not in the transcript")

    # --- speakers ------------------------------------------------------------------------------------------------
    def speakers(self) -> list[tuple[str, str]]:
        """(label, name) of every speaker the transcript has now, in color order."""
        result = self.document.result
        if result is None:
            return []
        palette = self._view.speakers
        return [(label, palette.display_name(label)) for label in palette.present(result)]

    def set_speaker(self, label: str) -> None:
        self.commit_editor()
        row = self._view.current_row()
        if row is not None:
            self._push(commands.SetSpeaker, row, label)

    def rename_speaker(self, label: str, name: str) -> None:
        self._push(commands.RenameSpeaker, label, name)

    def merge_speakers(self, source: str, into: str) -> None:
        self._push(commands.MergeSpeakers, source, into)

    def add_speaker(self, name: str, assign_row: int | None) -> None:
        result = self.document.result
        if result is None:
            return
        stack = self.document.undo_stack
        stack.beginMacro(f"Add speaker {name}")
        try:
            command = commands.AddSpeaker(self.document, result, name)
            self.document.push(command)
            if assign_row is not None:
                self._push(commands.SetSpeaker, assign_row, command.label)
        except ValueError as error:
            self._view.review_bar.show_message(str(error))
        finally:
            stack.endMacro()

    def _current_speaker(self) -> str | None:
        row = self._view.current_row()
        return self._view.segments_model.segment(row).speaker if row is not None else None

    def ask_rename_speaker(self) -> None:
        dialog = RenameSpeakerDialog(self.speakers(), self._current_speaker(), self._view)
        dialog.accepted.connect(lambda: self.rename_speaker(*dialog.chosen()))
        self._open(dialog)

    def ask_merge_speakers(self) -> None:
        dialog = MergeSpeakersDialog(self.speakers(), self._current_speaker(), self._view)
        dialog.accepted.connect(lambda: self.merge_speakers(*dialog.chosen()))
        self._open(dialog)

    def ask_add_speaker(self) -> None:
        row = self._view.current_row()
        dialog = AddSpeakerDialog(row is not None, self._view)

        def add() -> None:
            name, assign = dialog.chosen()
            self.add_speaker(name, row if assign else None)

        dialog.accepted.connect(add)
        self._open(dialog)

    def _open(self, dialog: RenameSpeakerDialog | MergeSpeakersDialog | AddSpeakerDialog) -> None:
        self.commit_editor()
        dialog.open()
        self.speaker_dialog = dialog  # tests fill it in

    # --- the low-confidence pass ---------------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        return self._threshold

    def set_threshold(self, threshold: float) -> None:
        self._threshold = threshold
        self._view.segments_model.set_threshold(threshold)
        self.refresh()

    def visit(self, ref: WordRef | None) -> None:
        """``ref`` is the word the user is on (clicked, or reached with F3)."""
        self._visited = ref
        self._show_count()

    def _show_count(self) -> None:
        """How many words are left to check, and which of them is the one visited ("3 of 9")."""
        if self.document.result is None:
            self._view.review_bar.set_to_check(0)
            return
        refs = self.to_check()
        visited = self._visited
        self._view.review_bar.set_to_check(len(refs), refs.index(visited) + 1 if visited in refs else None)

    def visited(self) -> WordRef | None:
        return self._visited

    def to_check(self) -> list[WordRef]:
        return self._view.words.to_check(self._threshold)

    def step_check(self, step: int) -> None:
        """The next (``step`` 1) or previous (-1) word left to check, in time order from the word visited last or
        the player's position: selected, kept in view and played. Wraps around at either end."""
        words = self._view.words
        position = self._view.player.position_seconds()
        current = self._word_here(position)
        if step > 0:
            ref = words.next_to_check(self._threshold, position, current) or words.next_to_check(self._threshold, -1.0)
        else:
            ref = words.previous_to_check(self._threshold, position, current) or words.previous_to_check(
                self._threshold, float("inf")
            )
        if ref is None:
            self._view.review_bar.show_message("No words left to check")
            return
        self.visit(ref)
        word = words.word(ref)
        self._view.show_row(ref.row, center=True)
        start, end = max(0.0, word.start - CHECK_LEAD_SECONDS), word.end + CHECK_TAIL_SECONDS
        self._view.player.play_span(start, end)
        self._view.hold_word(ref, start - CHECK_HOLD_SECONDS, end + CHECK_HOLD_SECONDS)

    def _word_here(self, position: float | None = None) -> WordRef | None:
        """The word visited last while the player is about there, else the one playing."""
        position = self._view.player.position_seconds() if position is None else position
        visited = self._visited
        if visited is not None:
            try:
                word = self._view.words.word(visited)
            except IndexError:
                word = None
            if word is not None and word.start - VISIT_REACH_SECONDS <= position <= word.end + VISIT_REACH_SECONDS:
                return visited
        return self._view.playing_word()

    def mark_checked(self) -> None:
        ref = self._word_here()
        if ref is None:
            self._view.review_bar.show_message("Go to a word first (F3, or click it)")
            return
        self._push(commands.MarkChecked, ref.row, ref.word)

    def replay_segment(self) -> None:
        row = self._view.segments_model.playing_row
        row = row if row is not None else self._view.current_row()
        if row is not None:
            self._view.player.play_from(self._view.segments_model.segment(row).start)

    # --- after every change ----------------------------------------------------------------------------------------
    def _on_changed(self, _before: TranscriptionResult | None, after: TranscriptionResult) -> None:
        if self._saver is not None:
            self._saver.schedule(after)

    def refresh(self) -> None:
        """Called by the view once it shows a new or changed transcript: actions, speakers, the count to check."""
        shown = self.document.result is not None
        for action in self.actions.editing():
            action.setEnabled(shown)
        self.actions.revert.setEnabled(shown and self._saver is not None and self._saver.state != SaveState.ORIGINAL)
        for action in self.actions.playback():
            action.setEnabled(shown)
        self.actions.set_speakers(self.speakers(), self.set_speaker)
        self._show_count()
