"""Settings → Models: every model STT Studio knows, its download size and what this machine has of it (size on
disk), with Download (progress, speed, time left, Cancel) and Remove (after a question)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from stt_studio.engine.download_plan import discard_partial, partial_bytes
from stt_studio.engine.model_catalog import (
    KNOWN_MODELS,
    ModelCatalogError,
    ModelStatus,
    human_size,
    list_models,
    remove,
)
from stt_studio.ui.model_downloads.downloader import ModelDownloader
from stt_studio.ui.model_downloads.progress_box import DownloadProgressBox

Confirm = Callable[[QWidget, str], bool]
HEADERS = ("Model", "Download size", "On this machine", "", "")


def ask(parent: QWidget, question: str) -> bool:
    answer = QMessageBox.question(parent, "Remove model", question)
    return answer == QMessageBox.StandardButton.Yes


def on_disk_text(status: ModelStatus, partial: int) -> str:
    if status.bundled:
        return f"Bundled ({human_size(status.size_on_disk)})"
    if status.available:
        return f"Downloaded ({human_size(status.size_on_disk)})"
    if partial or status.cached:
        return f"Partly downloaded ({human_size(partial + status.size_on_disk)})"
    return "—"


class ModelRow:
    """The widgets of one model in the grid."""

    def __init__(self, name: str, downloader: ModelDownloader) -> None:
        self.name = name
        self.name_label = QLabel(name)
        self.size_label = QLabel()
        self.on_disk_label = QLabel()
        self.progress = DownloadProgressBox(name, downloader)
        self.download_button = QPushButton("Download")
        self.remove_button = QPushButton("Remove…")

    def show(self, status: ModelStatus, partial: int, *, running: bool, configured: str) -> None:
        self.name_label.setText(f"<b>{self.name}</b>" if status.name == configured else self.name)
        self.name_label.setToolTip("The model in use" if status.name == configured else "")
        self.size_label.setText(human_size(status.download_mb * 1_000_000) if status.download_mb else "—")
        self.on_disk_label.setText("Downloading…" if running else on_disk_text(status, partial))
        resumable = partial > 0 or (status.cached and not status.available)
        self.download_button.setText("Resume" if resumable else "Download")
        self.download_button.setVisible(not status.available and not status.bundled and not running)
        self.remove_button.setVisible((status.cached or partial > 0) and not running)


class ModelsDialog(QDialog):
    def __init__(
        self,
        downloader: ModelDownloader,
        configured: str,
        *,
        remote_note: str | None = None,
        confirm: Confirm = ask,
        parent: QWidget | None = None,
    ) -> None:
        """``configured``: the model in use (marked bold); ``remote_note``: said above the list while the window
        works with another machine's queue (whose models are that machine's); ``confirm``: asks before Remove."""
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setMinimumWidth(820)
        self.downloader = downloader
        self.configured = configured
        self.confirm = confirm
        folder = downloader.models_dir / "hub"
        intro = QLabel(
            f"Whisper models on this machine, in {folder}. Bigger models are more accurate and slower; each is "
            "downloaded once from the Hugging Face hub and then works offline. Choose the one to use in Settings."
        )
        intro.setWordWrap(True)
        self.remote_label = QLabel(remote_note or "")
        self.remote_label.setWordWrap(True)
        self.remote_label.setVisible(bool(remote_note))
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setColumnStretch(3, 1)
        grid.setHorizontalSpacing(18)
        for column, title in enumerate(HEADERS):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        self.rows: dict[str, ModelRow] = {}
        for index, model in enumerate(KNOWN_MODELS, start=1):
            row = ModelRow(model.name, downloader)
            row.download_button.clicked.connect(lambda _=False, n=model.name: self.download(n))
            row.remove_button.clicked.connect(lambda _=False, n=model.name: self.remove(n))
            buttons = QWidget()
            button_layout = QVBoxLayout(buttons)
            button_layout.setContentsMargins(0, 0, 0, 0)
            button_layout.addWidget(row.download_button)
            button_layout.addWidget(row.remove_button)
            for column, widget in enumerate((row.name_label, row.size_label, row.on_disk_label, row.progress, buttons)):
                grid.addWidget(widget, index, column, Qt.AlignmentFlag.AlignVCenter)
            self.rows[model.name] = row
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_widget)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.remote_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message_label)
        layout.addWidget(close)
        self.resize(880, 620)

        for signal in (downloader.started, downloader.finished, downloader.failed, downloader.cancelled):
            signal.connect(self.refresh)  # a bound method: Qt drops it with the dialog
        self.refresh()

    def refresh(self, *_news: object) -> None:
        """Read again what is on disk (after a download or a removal)."""
        statuses = {s.name: s for s in list_models(self.downloader.models_dir, self.configured)}
        for name, row in self.rows.items():
            status = statuses[name]
            partial = partial_bytes(status.repo_id, self.downloader.models_dir) if status.repo_id else 0
            row.show(status, partial, running=self.downloader.is_running(name), configured=self.configured)

    def download(self, name: str) -> None:
        self.message_label.clear()
        self.downloader.start(name)

    def remove(self, name: str) -> None:
        statuses = {s.name: s for s in list_models(self.downloader.models_dir, self.configured)}
        status = statuses[name]
        in_use = " It is the model in use: the next job downloads it again." if status.configured else ""
        if not self.confirm(self, f"Remove {name} from this machine?{in_use}"):
            return
        try:
            if status.available:
                freed = remove(name, self.downloader.models_dir).freed
            else:  # an unfinished download: its partial files
                freed = discard_partial(status.repo_id or name, self.downloader.models_dir)
            self.message_label.setText(f"Removed {name} ({human_size(freed)} freed).")
        except (ModelCatalogError, OSError) as exc:
            self.message_label.setText(str(exc))
        self.refresh()
