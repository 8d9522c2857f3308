"""The Server menu: which queue the window shows (this computer's, or a remote STT Studio's by its connection
profile), and sharing this computer's queue with other machines.

It owns the remote job service while one is in use and hands the window the service to show; the window never
learns whether a service is local or remote beyond the title and the status bar.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QProgressBar, QPushButton

from stt_studio.api.server_thread import AddressUnavailableError
from stt_studio.client import ClientError
from stt_studio.settings import APP_NAME
from stt_studio.ui.connections import THIS_COMPUTER, Connections, Profile
from stt_studio.ui.remote_service import RemoteJobService, RemoteProfile
from stt_studio.ui.service import LocalJobService
from stt_studio.ui.sharing import Sharing
from stt_studio.ui.views.connect_dialog import ConnectDialog
from stt_studio.ui.views.notices import Tone
from stt_studio.ui.views.sharing_dialog import SharingDialog

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

log = logging.getLogger(__name__)


class ServerControls(QObject):
    def __init__(self, window: MainWindow, local: LocalJobService, config_dir: Path) -> None:
        super().__init__(window)
        self.window = window
        self.local = local
        self.config_dir = config_dir
        self.connections = Connections(config_dir)
        self.sharing = Sharing(local.settings, config_dir)
        self.remote: RemoteJobService | None = None
        self.current = THIS_COMPUTER
        self.sharing_dialog: SharingDialog | None = None
        self.connect_dialog: ConnectDialog | None = None

        self.connect_action = QAction("&Connect to server…", window)
        self.connect_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.connect_action.triggered.connect(self.open_connect_dialog)
        self.share_action = QAction("&Share this machine…", window)
        self.share_action.setToolTip("Let other machines send work to this computer's queue (REST API with a key)")
        self.share_action.triggered.connect(self.open_sharing_dialog)
        self.forget_action = QAction("&Forget this connection", window)
        self.forget_action.triggered.connect(self.forget_current)
        self.profiles_menu = QMenu("Switch &to")
        self._profile_group = QActionGroup(self)

        bar = window.statusBar()
        self.connection_label = QLabel()
        self.sharing_label = QLabel()
        self.upload_bar = QProgressBar()
        self.upload_bar.setMaximumWidth(160)
        self.upload_cancel = QPushButton("Cancel upload")
        self.upload_cancel.clicked.connect(self._cancel_upload)
        # Permanent widgets: a passing status message must not hide where the window is connected or shared.
        widgets = (self.connection_label, self.sharing_label, self.upload_bar, self.upload_cancel)
        for index, widget in enumerate(widgets):
            bar.insertPermanentWidget(index, widget)
            widget.hide()
        self._uploading: str | None = None

    def fill_menu(self, menu: QMenu) -> None:
        menu.addAction(self.connect_action)
        menu.addMenu(self.profiles_menu)
        menu.addAction(self.forget_action)
        menu.addSeparator()
        menu.addAction(self.share_action)
        self._refresh_profiles()

    def _refresh_profiles(self) -> None:
        self.profiles_menu.clear()
        for action in self._profile_group.actions():
            self._profile_group.removeAction(action)
        for name in self.connections.names():
            action = self.profiles_menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == self.current)
            action.triggered.connect(lambda _=False, n=name: self.window.spawn(self.switch_to(n)))
            self._profile_group.addAction(action)
        self.forget_action.setEnabled(self.current != THIS_COMPUTER)
        self.share_action.setEnabled(self.current == THIS_COMPUTER)

    # --- start and stop --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """After the local queue has started: share this machine only when set to share at every start (and say
        so), and go back to the last connection."""
        preferences = self.window.preferences
        if preferences.share_at_start and await self.start_sharing(preferences.sharing_host, preferences.sharing_port):
            self._say_shared_at_start()
        if self.connections.current != THIS_COMPUTER:
            await self.switch_to(self.connections.current)

    async def shutdown(self) -> None:
        if self.remote is not None:
            await self.remote.shutdown(after_current_job=False)
            self.remote = None
        if self.sharing.active:
            await self.local.run_blocking(self.sharing.stop)

    # --- connections -----------------------------------------------------------------------------------------
    def open_connect_dialog(self) -> None:
        profile = self.connections.get(self.current)
        dialog = ConnectDialog(profile, None, self.window)
        dialog.accepted.connect(lambda: self.window.spawn(self._connect_chosen(dialog)))
        dialog.open()
        self.connect_dialog = dialog

    async def _connect_chosen(self, dialog: ConnectDialog) -> None:
        profile, key = dialog.chosen()
        await self.local.run_blocking(lambda: self.connections.save(profile, key))
        await self.switch_to(profile.name)

    async def switch_to(self, name: str) -> bool:
        """Show ``name``'s queue; on failure the window stays where it was and says why."""
        if name == self.current:
            return True
        review = self.window.transcript_view.review
        await review.flush()  # the transcript shown goes with the queue it belongs to
        if review.unsaved_reason() is not None:
            self.window.ask_about_unsaved(
                f"Switch to {name} without them", lambda: self.window.spawn(self.switch_to(name))
            )
            return False
        if name == THIS_COMPUTER:
            await self._leave_remote()
            self.window.use_service(self.local, THIS_COMPUTER)
            self.connection_label.hide()
        else:
            profile = self.connections.get(name)
            if profile is None:
                return False
            if not await self._use_remote(profile):
                self._refresh_profiles()
                return False
        self.current = name
        await self.local.run_blocking(lambda: self.connections.set_current(name))
        self._refresh_profiles()
        return True

    async def _use_remote(self, profile: Profile) -> bool:
        key = await self.local.run_blocking(lambda: self.connections.api_key(profile.name))
        cache = Path(platformdirs.user_cache_dir(APP_NAME)) / "remote-audio"
        service = RemoteJobService(RemoteProfile(profile.name, profile.url), key, cache)
        self._show_connection(f"Connecting to {profile.name}…")
        try:
            await service.start()
        except ClientError as exc:
            await service.shutdown(after_current_job=False)
            self._show_connection(None)
            self.window.notices.show_notice(f"Could not connect to {profile.name}", [str(exc)], Tone.ERROR)
            return False
        await self._leave_remote()
        self.remote = service
        service.connection_changed.connect(lambda state: self._show_connection(f"{profile.name}: {state}"))
        service.upload_progress.connect(self._on_upload_progress)
        self._show_connection(f"{profile.name}: connected")
        self.window.use_service(service, profile.name)
        return True

    async def _leave_remote(self) -> None:
        if self.remote is not None:
            remote, self.remote = self.remote, None
            await remote.shutdown(after_current_job=False)

    def forget_current(self) -> None:
        name = self.current

        async def forget() -> None:
            await self.switch_to(THIS_COMPUTER)
            await self.local.run_blocking(lambda: self.connections.remove(name))
            self._refresh_profiles()

        if name != THIS_COMPUTER:
            self.window.spawn(forget())

    def _show_connection(self, text: str | None) -> None:
        self.connection_label.setText(text or "")
        self.connection_label.setVisible(bool(text))

    # --- uploads (remote mode) -------------------------------------------------------------------------------
    def _on_upload_progress(self, path: str, sent: int, total: int) -> None:
        self._uploading = path if sent < total else None
        self.upload_bar.setVisible(sent < total)
        self.upload_cancel.setVisible(sent < total)
        self.upload_bar.setFormat(f"{Path(path).name}: %p %")
        self.upload_bar.setValue(int(100 * sent / total) if total else 100)

    def _cancel_upload(self) -> None:
        if self.remote is not None and self._uploading is not None:
            self.remote.cancel_upload(Path(self._uploading))

    # --- sharing this machine --------------------------------------------------------------------------------
    def open_sharing_dialog(self) -> None:
        prefs = self.window.preferences
        dialog = SharingDialog(prefs.sharing_host, prefs.sharing_port, self.sharing.info, self.window,
                               share_at_start=prefs.share_at_start)  # fmt: skip
        dialog.start_requested.connect(lambda host, port: self.window.spawn(self.start_sharing(host, port)))
        dialog.stop_requested.connect(lambda: self.window.spawn(self.stop_sharing()))
        dialog.share_at_start_changed.connect(lambda on: self.window.spawn(self._remember({"share_at_start": on})))
        dialog.open()
        self.sharing_dialog = dialog

    async def start_sharing(self, host: str, port: int) -> bool:
        try:
            info = await self.local.run_blocking(lambda: self.sharing.start(self.local.store, host, port))
        except AddressUnavailableError as exc:
            if self.sharing_dialog is not None:
                self.sharing_dialog.show_state(None, str(exc))
            else:
                self.window.notices.show_notice("Could not share this machine", [str(exc)], Tone.ERROR)
            return False
        if self.sharing_dialog is not None:
            self.sharing_dialog.show_state(info)
        await self._remember({"sharing_host": host, "sharing_port": port})  # offered the next time
        self.update_sharing_label()
        return True

    def _say_shared_at_start(self) -> None:
        info = self.sharing.info
        if info is None:
            return
        self.window.notices.show_notice(
            f"This machine is shared at {info.url}",
            [
                "Other machines with the API key can send work to this queue. STT Studio is set to share whenever "
                "it starts (Server → Share this machine…)."
            ],
            Tone.INFO,
            [("Stop sharing", self._stop_sharing_soon)],
        )

    def _stop_sharing_soon(self) -> None:
        self.window.spawn(self.stop_sharing())

    async def stop_sharing(self) -> None:
        await self.local.run_blocking(self.sharing.stop)
        if self.sharing_dialog is not None:
            self.sharing_dialog.show_state(None)
        self.update_sharing_label()

    async def _remember(self, update: dict[str, object]) -> None:
        self.window.preferences = prefs = self.window.preferences.model_copy(update=update)
        await self.local.run_blocking(lambda: prefs.save(self.config_dir))

    def update_sharing_label(self) -> None:
        """ "Shared at URL · N remote jobs queued" while shared."""
        info = self.sharing.info
        self.share_action.setText("&Sharing this machine…" if info else "&Share this machine…")
        if info is None:
            self.sharing_label.hide()
            return
        remote = [j for j in self.local.tracked() if j.uploaded and not j.status.is_final]
        queued = f" · {len(remote)} remote job(s) queued or running" if remote else ""
        self.sharing_label.setText(f"Shared at {info.url}{queued}")
        self.sharing_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sharing_label.show()
