"""Save voice to library…, in the transcript's context menu and the Review menu: opens ``SaveVoiceDialog`` on the
speakers of the finished, diarized transcript shown (the selected segment's speaker chosen) and saves the one
asked for through the window's ``VoiceService`` (this computer's library off the GUI thread, or the server's)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.models import JobStatus
from stt_studio.ui.voices.save_dialog import CONSENT_NOTE, SaveVoiceDialog, SpeakerChoice
from stt_studio.ui.voices.service import VoiceRefusedError, VoiceService
from stt_studio.ui.voices.window_service import voice_service_of
from stt_studio.voices.enroll import clean_turns

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


class SaveVoiceToLibrary(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction("Save voice to library…", window)
        self.action.setToolTip("Keep a speaker's voice, so that their name comes up in other recordings")
        self.action.triggered.connect(lambda: self.open())
        self.dialog: SaveVoiceDialog | None = None
        self.last_task: asyncio.Future[Any] | None = None
        """The save in flight or done last (tests wait for it)."""
        window.review_menu.addAction(self.action)
        window.find_speakers.context_actions.append(self.action)
        window.transcript_view.document.loaded.connect(lambda _result: self._enable())
        self._enable()

    def _shown(self) -> tuple[str, TranscriptionResult] | None:
        """The job id and transcript shown, if it is a finished one with speakers found."""
        view = self.window.transcript_view
        job, result = view.job(), view.result()
        if job is None or result is None or job.status != JobStatus.COMPLETED or not result.speaker_turns:
            return None
        return job.job_id, result

    def _enable(self) -> None:
        self.action.setEnabled(self._shown() is not None)

    def _choices(self, result: TranscriptionResult) -> list[SpeakerChoice]:
        palette = self.window.transcript_view.speakers
        matched = {s.speaker: s.name for s in result.speakers or () if s.name}
        turns = result.speaker_turns or []
        found = {t.speaker for t in turns}
        return [
            SpeakerChoice(
                label,
                palette.display_name(label),
                result.speaker_names.get(label) or matched.get(label) or "",
                clean_turns(turns, label).seconds,
            )
            for label in palette.present(result)
            if label in found
        ]

    def open(self, speaker: str | None = None) -> SaveVoiceDialog | None:
        """The dialog on ``speaker`` (a label), else the selected segment's."""
        shown = self._shown()
        if shown is None:
            return None
        job_id, result = shown
        view = self.window.transcript_view
        row = view.current_row()
        current = speaker or (view.segments_model.segment(row).speaker if row is not None else None)
        service, where = voice_service_of(self.window)
        job = view.job()
        source = job.filename if job is not None and job.filename else job_id
        library = where.split(" (", 1)[0]  # its folder or address in the tooltip: a long path would wrap mid-word
        into = f"From “{source}” into {library[0].lower()}{library[1:]}"
        dialog = SaveVoiceDialog(into, self._choices(result), current, self.window)
        dialog.where_label.setToolTip(where)
        dialog.save_requested.connect(lambda label, name: self._save(service, dialog, job_id, label, name))
        dialog.finished.connect(lambda _result: service.close())
        self.dialog = dialog
        dialog.open()
        return dialog

    def _save(self, service: VoiceService, dialog: SaveVoiceDialog, job_id: str, label: str, name: str) -> None:
        async def save() -> None:
            dialog.set_busy(True)
            try:
                outcome = await service.enroll(job_id, label, name, CONSENT_NOTE)
            except VoiceRefusedError as exc:
                dialog.show_refused(str(exc))
            else:
                dialog.show_saved(outcome)
            finally:
                dialog.set_busy(False)

        self.last_task = self.window.spawn(save())
