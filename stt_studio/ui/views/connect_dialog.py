"""Connect to server…: a named profile (URL and API key), tested before it is saved.

The test runs on a worker thread; the dialog only shows its outcome. The caller saves the profile and switches the
window to it.
"""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stt_studio.client import ClientError, ServerInfo, StudioClient
from stt_studio.ui.connections import Profile, normalized_url
from stt_studio.ui.views.text_fit import fit_placeholder

URL_PLACEHOLDER = "http://gpu-box:8000"


def _check(url: str, key: str | None) -> ServerInfo:
    with StudioClient(url, key) as client:
        return client.server_info()


class ConnectDialog(QDialog):
    def __init__(self, profile: Profile | None = None, api_key: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connect to server")
        self.setMinimumWidth(460)
        intro = QLabel(
            "Drive another STT Studio (started with <code>stt-studio serve --host 0.0.0.0</code>, or a shared "
            "desktop): its queue, library and transcripts show in this window."
        )
        intro.setWordWrap(True)
        self.name_edit = QLineEdit(profile.name if profile else "")
        self.name_edit.setPlaceholderText("Vast.ai 4090")
        self.url_edit = QLineEdit(profile.url if profile else "")
        self.url_edit.setPlaceholderText(URL_PLACEHOLDER)
        self.key_edit = QLineEdit(api_key or "")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("printed by the server, or: stt-studio keys create")
        for edit in (self.name_edit, self.url_edit, self.key_edit):
            fit_placeholder(edit)
        self.show_key = QPushButton("Show")
        self.show_key.setCheckable(True)
        self.show_key.toggled.connect(self._toggle_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key)

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Server URL", self.url_edit)
        form.addRow("API key", key_row)

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.outcome, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.buttons)
        self._test: asyncio.Future[ServerInfo] | None = None

    def _toggle_key(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key.setText("Hide" if shown else "Show")

    def chosen(self) -> tuple[Profile, str | None]:
        """The profile as entered; ValueError (a sentence) when it is not valid."""
        profile = Profile.model_validate({"name": self.name_edit.text(), "url": self.url_edit.text()})
        return profile, self.key_edit.text().strip() or None

    def _say(self, text: str, *, ok: bool | None) -> None:
        """``ok`` None: under way."""
        self.outcome.setText(text if ok is None else ("✓ " if ok else "✗ ") + text)

    def _accept_if_valid(self) -> None:
        try:
            self.chosen()
        except ValueError as exc:
            self._say(_first_reason(exc), ok=False)
            return
        self.accept()

    def test_connection(self) -> asyncio.Future[ServerInfo] | None:
        """Checks URL, key and version off the GUI thread; the outcome appears next to the button."""
        try:
            url = normalized_url(self.url_edit.text())
        except ValueError as exc:
            self._say(str(exc), ok=False)
            return None
        key = self.key_edit.text().strip() or None
        self.test_button.setEnabled(False)
        self._say("Connecting…", ok=None)
        self._test = asyncio.ensure_future(asyncio.get_running_loop().run_in_executor(None, _check, url, key))
        self._test.add_done_callback(self._tested)
        return self._test

    def _tested(self, future: asyncio.Future[ServerInfo]) -> None:
        self.test_button.setEnabled(True)
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, ClientError):
            self._say(str(exc), ok=False)
        elif exc is not None:
            self._say(f"Unexpected error: {exc}", ok=False)
        else:
            info = future.result()
            self._say(f"Connected: STT Studio {info.version}, {info.workers} worker(s)", ok=True)


def _first_reason(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
