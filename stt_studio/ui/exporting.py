"""Export from the window: the dialog opens with the last formats, folder and options (kept in the preferences; at
first the recording's own folder and the default options), the files are written off the GUI thread, and the result
is confirmed in the status bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from stt_studio.exports import FORMATS, ExportOptions, ExportRequest
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.views.export_dialog import ExportDialog
from stt_studio.ui.views.notices import Tone

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


def initial_request(preferences: Preferences, recording_folder: Path | None) -> ExportRequest:
    """What the export dialog starts from: the formats, folder and options chosen last, else the recording's folder
    (the home folder when that is not known). A format this version does not know is left out."""
    folder = preferences.export_folder or recording_folder or Path.home()
    formats: list[str] = [fmt for fmt in preferences.export_formats if fmt in FORMATS]
    return ExportRequest(folder, formats, preferences.export_options or ExportOptions())


class ExportController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: ExportDialog | None = None
        """The dialog open now or last (tests fill it in)."""

    def open(self, job_ids: list[str]) -> None:
        window = self.window
        request = initial_request(window.preferences, self._recording_folder(job_ids))
        dialog = ExportDialog(
            len(job_ids), request.folder, any_diarized=self._any_diarized(job_ids), parent=window, initial=request
        )
        dialog.accepted.connect(lambda: self._export(job_ids, dialog.chosen()))
        dialog.open()
        self.dialog = dialog

    def _recording_folder(self, job_ids: list[str]) -> Path | None:
        entries = self.window._library_entries
        for job_id in job_ids:
            entry = entries.get(job_id)
            if entry is not None and entry.source_path:
                return Path(entry.source_path).parent
        return None

    def _any_diarized(self, job_ids: list[str]) -> bool:
        window = self.window
        for job_id in job_ids:
            entry = window._library_entries.get(job_id)
            job = window.queue_model.job_by_id(job_id)
            if (entry is not None and entry.speakers) or (job and job.options and job.options.enable_diarization):
                return True
        return False

    def _export(self, job_ids: list[str], request: ExportRequest) -> None:
        window = self.window
        chosen = {
            "export_formats": list(request.formats),
            "export_folder": request.folder,
            "export_options": request.options,
        }
        window.preferences = preferences = window.preferences.model_copy(update=chosen)
        config_dir = window.config_dir
        window.spawn(window._local.run_blocking(lambda: preferences.save(config_dir)))
        window.spawn(self._write(job_ids, request))

    async def _write(self, job_ids: list[str], request: ExportRequest) -> None:
        window = self.window
        summary = await window.service.export(job_ids, request.folder, request.formats, request.options)
        folder = request.folder
        window.confirmations.show(f"Exported {len(summary.written)} file(s) to {folder}", folder)
        if summary.skipped:
            window.notices.show_notice(
                f"Some exports were skipped ({len(summary.skipped)})",
                [f"{name}: {why}" for name, why in summary.skipped],
                Tone.WARNING,
            )
