"""One model's download as a row of widgets: a progress bar, what it has done (bytes, speed, time left) or why it
stopped, and Cancel. Settings → Models has one per model; the welcome step one for the model it downloads."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from stt_studio.engine.download_plan import progress_text
from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.ui.model_downloads.downloader import ModelDownloader

BAR_STEPS = 1000


class DownloadProgressBox(QWidget):
    def __init__(self, name: str, downloader: ModelDownloader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.downloader = downloader
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setTextVisible(True)
        self.bar.setFormat("%p %")
        self.text_label = QLabel()
        self.text_label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the download; Download again resumes where it stopped")
        self.cancel_button.clicked.connect(lambda: downloader.cancel(name))
        bar_row = QHBoxLayout()
        bar_row.setContentsMargins(0, 0, 0, 0)
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar_row)
        layout.addWidget(self.text_label)
        downloader.started.connect(self._on_started)
        downloader.progressed.connect(self._on_progress)
        # Bound methods, not lambdas: Qt drops them when this widget goes while the downloader lives on.
        downloader.finished.connect(self._on_finished)
        downloader.failed.connect(self._on_end)
        downloader.cancelled.connect(self._on_cancelled)
        running = downloader.is_running(name)
        self._show_running(running)
        last = downloader.last_progress(name)
        if last is not None:
            self._on_progress(name, last)

    @property
    def fraction(self) -> float:
        return self.bar.value() / BAR_STEPS

    def _show_running(self, running: bool) -> None:
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)

    def _on_started(self, name: str) -> None:
        if name == self.name:
            self.bar.setValue(0)
            self.text_label.setText("Starting the download…")
            self._show_running(True)

    def _on_progress(self, name: str, progress: DownloadProgress) -> None:
        if name == self.name:
            self.bar.setValue(round(progress.fraction * BAR_STEPS))
            self.text_label.setText(progress_text(progress))

    def _on_finished(self, name: str, _path: str) -> None:
        self._on_end(name, f"{name} is downloaded and ready.")

    def _on_cancelled(self, name: str) -> None:
        self._on_end(name, "Cancelled: Resume continues where it stopped.")

    def _on_end(self, name: str, text: str) -> None:
        if name == self.name:
            self._show_running(False)
            self.text_label.setText(text)
