"""Share this machine…: where to listen, and once shared, what another machine needs (URL, key, a curl line),
each with a copy button. Starting and stopping are the window's (they run off the GUI thread)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stt_studio.ui.sharing import ShareInfo

HOSTS = (("All networks (other machines can connect)", "0.0.0.0"), ("This machine only", "127.0.0.1"))


class SharingDialog(QDialog):
    start_requested = Signal(str, int)
    """Host and port to listen on."""
    stop_requested = Signal()
    share_at_start_changed = Signal(bool)

    def __init__(
        self,
        host: str,
        port: int,
        info: ShareInfo | None,
        parent: QWidget | None = None,
        *,
        share_at_start: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Share this machine")
        self.setMinimumWidth(680)
        intro = QLabel(
            "Other machines (scripts, another STT Studio) can send work to this computer's queue over the REST "
            "API. Every request needs the API key below; jobs they send appear in your queue marked as remote."
        )
        intro.setWordWrap(True)
        self.host_combo = QComboBox()
        for label, value in HOSTS:
            self.host_combo.addItem(label, value)
        index = self.host_combo.findData(host)
        if index < 0:
            self.host_combo.addItem(host, host)
            index = self.host_combo.count() - 1
        self.host_combo.setCurrentIndex(index)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1024, 65535)
        self.port_spin.setValue(port)
        self.toggle_button = QPushButton()
        self.toggle_button.clicked.connect(self._toggle)
        self.at_start_check = QCheckBox("Share whenever STT Studio starts")
        self.at_start_check.setToolTip("Off: each start keeps the queue to this window until you share it here")
        self.at_start_check.setChecked(share_at_start)
        self.at_start_check.toggled.connect(self.share_at_start_changed)
        where = QFormLayout()
        where.addRow("Listen on", self.host_combo)
        where.addRow("Port", self.port_spin)
        where.addRow("", self.toggle_button)
        where.addRow("", self.at_start_check)

        self.state = QLabel()
        self.state.setWordWrap(True)
        self.url_edit, self.key_edit, self.curl_edit = QLineEdit(), QLineEdit(), QLineEdit()
        self.copy_buttons: dict[str, QPushButton] = {}
        details = QGroupBox("For the other machine")
        grid = QGridLayout(details)
        for row, (label, edit) in enumerate(
            (("URL", self.url_edit), ("API key", self.key_edit), ("Try it", self.curl_edit))
        ):
            edit.setReadOnly(True)
            button = QPushButton("Copy")
            button.clicked.connect(lambda _=False, e=edit: QGuiApplication.clipboard().setText(e.text()))
            self.copy_buttons[label] = button
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(button, row, 2)
        self.details = details

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(where)
        layout.addWidget(self.state)
        layout.addWidget(details)
        layout.addWidget(buttons)
        self.show_state(info)

    def _toggle(self) -> None:
        self.toggle_button.setEnabled(False)
        if self._shared:
            self.stop_requested.emit()
        else:
            self.start_requested.emit(str(self.host_combo.currentData()), self.port_spin.value())

    def show_state(self, info: ShareInfo | None, error: str | None = None) -> None:
        """What the window reports back: shared (``info``), not shared, or a start that failed (``error``)."""
        self._shared = info is not None
        self.toggle_button.setEnabled(True)
        self.toggle_button.setText("Stop sharing" if info else "Start sharing")
        self.host_combo.setEnabled(info is None)
        self.port_spin.setEnabled(info is None)
        self.details.setEnabled(info is not None)
        self.url_edit.setText(info.url if info else "")
        self.key_edit.setText(info.api_key if info else "")
        self.curl_edit.setText(info.curl_example if info else "")
        self.curl_edit.setCursorPosition(0)
        if error:
            self.state.setText(f"✗ Could not share: {error}")
        elif info is not None:
            self.state.setText(f"✓ Shared: listening on {info.host}:{info.port}")
        else:
            self.state.setText("Not shared: only this window uses the queue.")
