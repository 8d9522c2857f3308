"""The live draft in the transcript's place: the live text of the recording (and, once it has stopped, while its job
runs) under a line that says what it is; the job's transcript takes the place back when it is done."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from stt_studio.ui.live.live_text import LiveTextView

RECORDING = "Live draft — recording. When it stops, the recording is transcribed as a job that replaces this draft."
QUEUED = "Live draft — the recording's job is transcribing; its transcript replaces this draft when it is done."
FAILED = "Live draft — the recording's job did not finish ({reason}); this draft is all there is for now."


class LiveDraft(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(RECORDING)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = LiveTextView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)

    def show_recording(self) -> None:
        self.text.clear_text()
        self.title.setText(RECORDING)

    def show_queued(self) -> None:
        self.title.setText(QUEUED)

    def show_failed(self, reason: str) -> None:
        self.title.setText(FAILED.format(reason=reason))
