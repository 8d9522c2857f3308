"""The main window: queue and library on the left, the selected transcript on the right.

Every action that needs Redis, the disk or the workers awaits a ``JobService`` coroutine (its blocking part runs
on an executor thread), so the GUI thread never waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStyle,
    QSystemTrayIcon,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stt_studio.jobs.models import JobOptions, JobStatus, JobView, LibraryEntry
from stt_studio.jobs.store import JobNotFoundError
from stt_studio.settings import Settings
from stt_studio.ui.closing import QuitController
from stt_studio.ui.exporting import ExportController
from stt_studio.ui.find_speakers_again import FindSpeakersAgain
from stt_studio.ui.growing.controller import GrowingTranscript
from stt_studio.ui.help_menu import HelpMenu
from stt_studio.ui.intake import CheckedFile, IntakeReport
from stt_studio.ui.live.controller import LiveRecording
from stt_studio.ui.live.interrupted import InterruptedRecordings
from stt_studio.ui.model_downloads.window_models import WindowModels
from stt_studio.ui.model_in_use import ModelInUse, ModelsInUse, downloads_label, status_bar_device
from stt_studio.ui.models.queue_model import QueueTableModel
from stt_studio.ui.new_files_memory import NewFilesMemory
from stt_studio.ui.preferences import Preferences, restart_needed
from stt_studio.ui.secrets import TokenStore
from stt_studio.ui.server_controls import ServerControls
from stt_studio.ui.service import JobService, LocalJobService, ServiceStatus
from stt_studio.ui.speaker_counts import SpeakerCounts
from stt_studio.ui.transcribe_again import TranscribeAgain
from stt_studio.ui.views.batch_options import MODEL_CHOICES, BatchOptionsBar
from stt_studio.ui.views.confirmations import Confirmations
from stt_studio.ui.views.library_view import LibraryView
from stt_studio.ui.views.notices import NoticeArea, Tone
from stt_studio.ui.views.queue_view import QueueView
from stt_studio.ui.views.settings_dialog import SettingsChoice, SettingsDialog
from stt_studio.ui.views.transcript_view import TranscriptView
from stt_studio.ui.views.turns import GroupByTurn
from stt_studio.ui.voices.menu import VoiceLibraryMenu

log = logging.getLogger(__name__)

CPU_NOTICE = (
    "No CUDA GPU was found: STT Studio transcribes on the CPU. Expect about 0.1–0.3× real time with the small "
    "models (tiny, base: a 10-minute recording in 1–3 minutes on 4 cores) and several times real time with "
    "large-v3. Speaker detection adds about as much again."
)


class MainWindow(QMainWindow):
    quit_finished = Signal()

    def __init__(
        self,
        service: LocalJobService,
        preferences: Preferences,
        config_dir: Path,
        tokens: TokenStore,
        base_settings: Settings,
    ) -> None:
        super().__init__()
        self.service: JobService = service
        self._local = service
        self.preferences = preferences
        self.config_dir = config_dir
        self.tokens = tokens
        self.base_settings = base_settings
        self._tasks: set[asyncio.Future[Any]] = set()
        self._quitting = False
        self.unsaved_box: QMessageBox | None = None
        """The question about edits that could not be saved, while one is asked."""
        self.has_quit = False
        self._shown_job: str | None = None
        self._batch: set[str] = set()
        """The jobs queued since the queue was last empty: when they have all ended, the window says how."""
        self._library_entries: dict[str, LibraryEntry] = {}
        self.setWindowTitle("STT Studio")
        self.setWindowIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolume))
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.queue_model = QueueTableModel(service.settings.whisper_model_size, self)
        self.queue_view = QueueView(self.queue_model)
        self.library_view = LibraryView()
        self.transcript_view = TranscriptView()
        self.transcript_view.review.set_storage(service, self.spawn)
        self.transcript_view.review.set_threshold(preferences.low_confidence_threshold)
        self.batch_options = BatchOptionsBar()
        self.models_in_use = ModelsInUse(service.settings.resolved_models_dir, offline=service.settings.offline)
        self.queue_model.models_in_use = self.batch_options.models_in_use = self.models_in_use
        self.batch_options.set_defaults(preferences.model, preferences.default_language, preferences.diarize_by_default)
        self.notices = NoticeArea()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.queue_view, "Queue")
        self.tabs.addTab(self.library_view, "Library")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        left_layout.addWidget(self.batch_options)
        left_layout.addWidget(self.tabs, 1)
        hint = QLabel("Drop audio or video files or folders anywhere on this window, or use File → Add files.")
        hint.setWordWrap(True)
        hint.setEnabled(False)
        left_layout.addWidget(hint)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        self.growing = GrowingTranscript(self.transcript_view, self.queue_view, lambda: self.service, self.spawn)
        splitter.addWidget(self.growing.panel)  # the transcript view, or a running job's transcript growing there
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([770, 510])
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.addWidget(self.notices)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self._make_status_bar()
        self.server = ServerControls(self, service, config_dir)  # its permanent widgets first, before any other
        self.confirmations = Confirmations(self.statusBar())
        self.exports = ExportController(self)
        self.speaker_counts = SpeakerCounts(self)
        self._make_actions()
        self.tray = self._make_tray()
        self.closing = QuitController(self)
        self.new_files_memory = NewFilesMemory(self)
        self.models = WindowModels(self)  # Settings → Models and the welcome step
        self._connect()
        self._clock = QTimer(self)
        self._clock.timeout.connect(self.queue_model.tick)
        self._clock.start(1000)

    # --- set-up ----------------------------------------------------------------------------------------------
    def _action(
        self,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
        slot: Any,
        icon: QIcon | None = None,
        *,
        fallback: str | None = None,
    ) -> QAction:
        """``fallback``: the shortcut where the platform has none for a standard key (Quit and Preferences on
        Linux desktops other than KDE and GNOME)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if action.shortcut().isEmpty() and fallback is not None:
            action.setShortcut(QKeySequence(fallback))
        if icon is not None:
            action.setIcon(icon)
        action.triggered.connect(slot)
        return action

    def _make_actions(self) -> None:
        icon = self.style().standardIcon
        sp = QStyle.StandardPixmap
        self.add_files_action = self._action("&Add files…", QKeySequence.StandardKey.Open, self.choose_files,
                                             icon(sp.SP_FileIcon))  # fmt: skip
        self.add_folder_action = self._action("Add &folder…", "Ctrl+Shift+O", self.choose_folder, icon(sp.SP_DirIcon))
        self.paste_action = self._action("&Paste paths", QKeySequence.StandardKey.Paste, self.paste_paths)
        self.export_action = self._action("&Export…", "Ctrl+E", self.export_selected, icon(sp.SP_DialogSaveButton))
        self.settings_action = self._action("&Settings…", QKeySequence.StandardKey.Preferences, self.open_settings,
                                            fallback="Ctrl+,")  # fmt: skip
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.request_quit, fallback="Ctrl+Q")
        self.cancel_action = self._action("&Cancel job", "Ctrl+.", self.cancel_selected,
                                          icon(sp.SP_MediaStop))  # fmt: skip
        self.retry_action = self._action("&Retry", "Ctrl+R", self.retry_selected, icon(sp.SP_BrowserReload))
        self.remove_action = self._action("Re&move", QKeySequence.StandardKey.Delete, self.remove_selected,
                                          icon(sp.SP_TrashIcon))  # fmt: skip
        self.open_action = self._action("&Open transcript", "Return", self.open_selected)
        self.reveal_action = self._action("Show file in &folder", "Ctrl+Alt+R", self.reveal_selected)
        self.live = LiveRecording(self, self._local)  # Record (Ctrl+Shift+R): in the Jobs menu and the toolbar
        for job_action in (self.cancel_action, self.retry_action, self.remove_action, self.open_action,
                           self.reveal_action):  # fmt: skip
            job_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.queue_view.table.addAction(job_action)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.add_files_action, self.add_folder_action, self.paste_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        jobs_menu = menu.addMenu("&Jobs")
        jobs_menu.addAction(self.live.action)
        jobs_menu.addSeparator()
        for item in (self.open_action, self.reveal_action, None, self.cancel_action, self.retry_action,
                     self.remove_action):  # fmt: skip
            if item is None:
                jobs_menu.addSeparator()
            else:
                jobs_menu.addAction(item)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self._action("&Queue", "Ctrl+1", lambda: self.tabs.setCurrentIndex(0)))
        view_menu.addAction(self._action("&Library", "Ctrl+2", lambda: self.tabs.setCurrentIndex(1)))
        self.group_by_turn = GroupByTurn(self, view_menu)
        self.server.fill_menu(menu.addMenu("&Server"))
        self.review_menu = menu.addMenu("&Review")
        self.transcript_view.review_actions.fill_menu(self.review_menu)
        self.find_speakers = FindSpeakersAgain(self)  # its item ends the Review menu and opens the transcript's menu
        self.transcribe_again = TranscribeAgain(self)  # beside it
        self.voice_library = VoiceLibraryMenu(self)  # ends the Review menu
        self.help = HelpMenu(self)
        self.help.fill_menu(menu.addMenu("&Help"))
        context_menu = [self.open_action, self.reveal_action, None, self.cancel_action, self.retry_action,
                        self.remove_action, None, self.export_action]  # fmt: skip
        self.queue_view.set_menu_actions(context_menu)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for item in (self.add_files_action, self.add_folder_action, self.live.action, None, self.cancel_action,
                     self.retry_action, self.remove_action, None, self.export_action):  # fmt: skip
            if item is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(item)
        settings_button = toolbar.addAction(icon(sp.SP_FileDialogDetailedView), "Settings")
        settings_button.triggered.connect(self.open_settings)
        self.server.share_action.setIcon(icon(sp.SP_DriveNetIcon))
        toolbar.addAction(self.server.share_action)
        self._update_actions()

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.redis_label = QLabel("Queue: starting…")
        self.workers_label = QLabel("Workers: —")
        self.device_label = QLabel("Device: —")
        self.model_label = QLabel("Model: —")
        for label in (self.redis_label, self.workers_label, self.device_label, self.model_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def _make_tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(self.windowIcon(), self)
        menu = QMenu(self)
        menu.addAction("Open STT Studio", self.bring_to_front)
        menu.addAction("Quit", self.quit_now)
        tray.setContextMenu(menu)
        tray.activated.connect(lambda reason: self.bring_to_front())
        tray.setToolTip("STT Studio")
        tray.show()
        return tray

    def _connect(self) -> None:
        self._connect_service(self.service)
        self.queue_view.selection_changed.connect(self._on_queue_selection)
        self.library_view.table.selectionModel().selectionChanged.connect(lambda *_: self._on_library_selection())
        self.queue_view.open_requested.connect(self.open_job)
        self.library_view.open_requested.connect(self.open_job)
        self.library_view.search_changed.connect(self._search_library)
        self.library_view.delete_requested.connect(self.delete_jobs)
        self.library_view.export_requested.connect(self.export_jobs)
        self.library_view.reveal_requested.connect(lambda job_id: self.spawn(self._reveal(job_id)))
        self.tabs.currentChanged.connect(lambda _: self._update_actions())

    def _connect_service(self, service: JobService) -> None:
        service.jobs_updated.connect(self._on_jobs_updated)
        service.job_finished.connect(self._on_job_finished)
        service.status_updated.connect(self._on_status)
        service.library_changed.connect(self.refresh_library)
        service.watched_files_queued.connect(self._on_watched_files)
        service.problem.connect(self._on_problem)

    def _disconnect_service(self, service: JobService) -> None:
        for signal, slot in (
            (service.jobs_updated, self._on_jobs_updated),
            (service.job_finished, self._on_job_finished),
            (service.status_updated, self._on_status),
            (service.library_changed, self.refresh_library),
            (service.watched_files_queued, self._on_watched_files),
            (service.problem, self._on_problem),
        ):
            signal.disconnect(slot)

    def _on_problem(self, text: str) -> None:
        self.notices.show_notice(text, tone=Tone.WARNING)

    def use_service(self, service: JobService, name: str) -> None:
        """Show another queue (this computer's or a server's): every view follows ``service`` from now on."""
        if service is self.service:
            return
        self.queue_view.table.clearSelection()  # before the jobs go: no selection change opens one of them
        self.library_view.table.clearSelection()
        self._disconnect_service(self.service)
        self.service = service
        self._connect_service(service)
        self.queue_model.remove([j.job_id for j in self.queue_model.jobs()])
        self.queue_model.mark_uploads = service is self._local
        self.queue_model.upsert(service.tracked())
        self._shown_job = None
        self.transcript_view.clear()
        self.transcript_view.review.set_storage(service, self.spawn)
        self.setWindowTitle("STT Studio" if service is self._local else f"STT Studio — {name}")
        self.live.follow_service(service is self._local)
        self.device_label.setText("Device: —")
        self.model_label.setText("Model: —")
        self.models_in_use.forecast_from(self._local.settings.resolved_models_dir if service is self._local else None)
        self.refresh_library()
        self._update_actions()

    # --- running coroutines from slots -----------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """Run ``coro`` on the Qt event loop; an error becomes a notice rather than a lost traceback."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                log.error("Background step failed", exc_info=exc)
                message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                self.notices.show_notice("That did not work", [message], Tone.ERROR)

        task.add_done_callback(done)
        return task

    async def start(self, files: list[Path] | None = None) -> None:
        """Start the queue and workers, show what is there, then queue ``files`` (from the command line)."""
        self.redis_label.setText("Queue: starting…")
        await self._local.start()
        self._local.set_watched_folder(self.preferences.watched_folder)
        self.queue_model.upsert(self._local.tracked())
        await self._reload_library()
        await self.server.start()
        await InterruptedRecordings(self, self._local.settings.data_dir).offer()
        if files:
            await self._add_paths(files, self.batch_options.options())

    # --- adding work -----------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def choose_files(self) -> None:
        dialog = QFileDialog(self, "Add audio or video files")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.add_paths([Path(f) for f in files]))
        dialog.open()

    def choose_folder(self) -> None:
        dialog = QFileDialog(self, "Add a folder of recordings")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.fileSelected.connect(lambda folder: self.add_paths([Path(folder)]))
        dialog.open()

    def paste_paths(self) -> None:
        mime = QApplication.clipboard().mimeData()
        paths = _local_paths(mime) or [Path(line.strip()) for line in mime.text().splitlines() if line.strip()]
        if paths:
            self.add_paths(paths)

    def add_paths(self, paths: list[Path]) -> asyncio.Future[Any]:
        """Check the files (off the GUI thread), queue the good ones with the batch options, report the rest."""
        options = self.batch_options.options()
        return self.spawn(self._add_paths(paths, options))

    async def _add_paths(self, paths: list[Path], options: JobOptions) -> None:
        self.statusBar().showMessage(f"Checking {len(paths)} item(s)…")
        report = await self.service.take_in(paths)
        self.statusBar().clearMessage()
        self._report_rejected(report)
        if report.accepted:
            await self._queue(report.accepted, options)
        if report.already_added:
            files = report.already_added
            self.notices.show_notice(
                f"{len(files)} file(s) were added before. Add them again?",
                [str(f.path) for f in files],
                Tone.INFO,
                [("Add again", lambda: self._queue_later(files, options))],
            )

    def _queue_later(self, files: list[CheckedFile], options: JobOptions) -> None:
        self.spawn(self._queue(files, options))

    async def _queue(self, files: list[CheckedFile], options: JobOptions) -> None:
        service = self.service
        views = await service.submit(files, self.preferences.with_voice_choices(options))
        if service is not self.service:  # the window moved to another queue during the uploads
            return
        self._batch.update(view.job_id for view in views)
        self.queue_model.upsert(self._latest(views))
        self.tabs.setCurrentWidget(self.queue_view)
        self.statusBar().showMessage(f"Queued {len(views)} file(s)", 5000)

    def _report_rejected(self, report: IntakeReport) -> None:
        if report.rejected:
            self.notices.show_notice(
                f"{len(report.rejected)} file(s) could not be added",
                [f"{r.path.name}: {r.reason}" for r in report.rejected],
                Tone.WARNING,
            )

    def _on_watched_files(self, views: list[JobView]) -> None:
        self._batch.update(view.job_id for view in views)
        self.queue_model.upsert(views)
        self.statusBar().showMessage(f"Queued {len(views)} new file(s) from the watched folder", 5000)

    # --- live state ------------------------------------------------------------------------------------------
    def _latest(self, views: list[JobView]) -> list[JobView]:
        """``views`` as the service knows them now: jobs it was given back (a long upload, a retry) may have moved
        on since, and the queue must not show them going back (seen: a running remote job shown queued again)."""
        current = {view.job_id: view for view in self.service.tracked()}
        return [current.get(view.job_id, view) for view in views]

    def _on_jobs_updated(self, views: list[JobView]) -> None:
        self.queue_model.upsert(views)
        self.server.update_sharing_label()
        self._update_actions()
        self._update_tray()

    def _on_job_finished(self, view: JobView) -> None:
        if view.status == JobStatus.FAILED:
            self.notify("Transcription failed", f"{view.filename}: {view.error or 'unknown error'}")
        active = [j for j in self.queue_model.jobs() if not j.status.is_final]
        if not active and self._batch:
            ended = [job for job_id in self._batch if (job := self.queue_model.job_by_id(job_id)) is not None]
            self._batch = set()
            if ended:
                self.notify(*batch_outcome(ended))
        if view.job_id == self._selected_queue_job() and view.status == JobStatus.COMPLETED:
            self.open_job(view.job_id)

    def notify(self, title: str, text: str) -> None:
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)
        else:
            QApplication.alert(self)
        self.statusBar().showMessage(f"{title}: {text}", 10000)

    def _on_status(self, status: ServiceStatus) -> None:
        state = "ready" if status.redis_ok else "unreachable"
        self.redis_label.setText(f"Queue: {state} ({status.redis_label})")
        suffix = " (another STT Studio's)" if status.attached else ""
        self.workers_label.setText(f"Workers: {status.workers}{suffix}")
        infos = status.worker_infos
        if infos:
            info = infos[0]
            device, details = status_bar_device(infos)
            self.device_label.setText(device)
            self.device_label.setToolTip(details)
            if info.device != "cuda" and self.service is self._local:  # a server's CPU is the server's business
                self._maybe_show_cpu_notice(requested=self.preferences.device)
            self.model_label.setText(f"Model: {ModelInUse.of(info).label}")
            self.model_label.setToolTip("")
        downloading = downloads_label(status.downloads)
        if downloading is not None:  # until it is loaded, the model in use is not the news
            self.model_label.setText(downloading[0])
            self.model_label.setToolTip(downloading[1])
        if self.models_in_use.use_reports(infos):
            self.queue_model.models_changed()
            self.batch_options.show_model_in_use()
        self._update_tray()

    def _maybe_show_cpu_notice(self, requested: str) -> None:
        if self.preferences.cpu_notice_shown or requested != "cuda":
            return
        self.preferences.cpu_notice_shown = True
        self.notices.show_notice("Running on the CPU", [CPU_NOTICE], Tone.INFO)
        prefs, config_dir = self.preferences, self.config_dir

        async def save() -> None:
            await self._local.run_blocking(lambda: prefs.save(config_dir))

        self.spawn(save())

    def _update_tray(self) -> None:
        if self.tray is not None:
            active = sum(1 for j in self.queue_model.jobs() if not j.status.is_final)
            self.tray.setToolTip(f"STT Studio — {active} job(s) queued or running" if active else "STT Studio")

    # --- selection and actions -------------------------------------------------------------------------------
    def _selected_queue_job(self) -> str | None:
        ids = self.queue_view.selected_job_ids()
        return ids[0] if len(ids) == 1 else None

    def _selected_jobs(self) -> list[JobView]:
        if self.tabs.currentWidget() is self.library_view:
            return [v for i in self.library_view.selected_job_ids() if (v := self._library_view_of(i)) is not None]
        return [j for i in self.queue_view.selected_job_ids() if (j := self.queue_model.job_by_id(i)) is not None]

    def _library_view_of(self, job_id: str) -> JobView | None:
        entry = self._library_entries.get(job_id)
        if entry is None:
            return None
        return JobView(job_id=job_id, status=entry.status, filename=entry.filename)

    def _on_queue_selection(self) -> None:
        self._update_actions()
        job_id = self._selected_queue_job()
        job = self.queue_model.job_by_id(job_id) if job_id else None
        if job is not None and job.status == JobStatus.COMPLETED:
            self.open_job(job.job_id)

    def _on_library_selection(self) -> None:
        self._update_actions()
        ids = self.library_view.selected_job_ids()
        entry = self._library_entries.get(ids[0]) if len(ids) == 1 else None
        if entry is not None and entry.status == JobStatus.COMPLETED:
            self.open_job(entry.job_id)

    def _update_actions(self) -> None:
        jobs = self._selected_jobs()
        statuses = {j.status for j in jobs}
        in_queue = self.tabs.currentWidget() is self.queue_view
        self.cancel_action.setEnabled(in_queue and bool(statuses & {JobStatus.QUEUED, JobStatus.PROCESSING}))
        self.retry_action.setEnabled(bool(statuses & {JobStatus.FAILED, JobStatus.CANCELED}))
        self.remove_action.setEnabled(any(s.is_final for s in statuses))
        self.open_action.setEnabled(JobStatus.COMPLETED in statuses)
        self.reveal_action.setEnabled(bool(jobs))
        self.export_action.setEnabled(JobStatus.COMPLETED in statuses)

    def cancel_selected(self) -> None:
        ids = [j.job_id for j in self._selected_jobs() if not j.status.is_final]
        if ids:
            self.spawn(self.service.cancel(ids))

    def retry_selected(self) -> None:
        ids = [j.job_id for j in self._selected_jobs() if j.status in (JobStatus.FAILED, JobStatus.CANCELED)]
        if ids:
            self.spawn(self._retry(ids))

    async def _retry(self, ids: list[str]) -> None:
        service = self.service
        views = await service.retry(ids)
        if service is not self.service:
            return
        self.queue_model.remove(ids)
        self._batch.update(view.job_id for view in views)
        self.queue_model.upsert(self._latest(views))
        await self._reload_library()

    def remove_selected(self) -> None:
        jobs = self._selected_jobs()
        final = [j.job_id for j in jobs if j.status.is_final]
        if len(final) < len(jobs):
            self.notices.show_notice("Jobs that are queued or running can't be removed: cancel them first.")
        if final:
            self.delete_jobs(final)

    def delete_jobs(self, job_ids: list[str]) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove jobs",
            f"Remove {len(job_ids)} job(s) and delete their transcripts? The audio files are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.accepted.connect(lambda: self.spawn(self._delete(job_ids)))
        box.open()
        self._confirm_box = box  # tests answer it

    async def _delete(self, job_ids: list[str]) -> None:
        await self.service.remove(job_ids)
        self.queue_model.remove(job_ids)
        if self._shown_job in job_ids:
            self.transcript_view.clear()
            self._shown_job = None
        await self._reload_library()

    def open_selected(self) -> None:
        completed = [j for j in self._selected_jobs() if j.status == JobStatus.COMPLETED]
        if completed:
            self.open_job(completed[0].job_id)

    def open_job(self, job_id: str) -> asyncio.Future[Any]:
        return self.spawn(self._open_job(job_id, self.service))

    async def _open_job(self, job_id: str, service: JobService) -> None:
        """Show ``job_id`` of ``service``'s queue, unless the window has moved to another queue since it was asked
        (a selection change while switching) or the job is gone."""
        if self._shown_job == job_id or service is not self.service:
            return
        try:
            job = await service.job(job_id)
        except JobNotFoundError:
            self.statusBar().showMessage("That job no longer exists", 5000)
            return
        if service is not self.service:
            return
        if job.status != JobStatus.COMPLETED:
            self.statusBar().showMessage(f"{job.filename}: no transcript ({job.status.value})", 5000)
            return
        review = self.transcript_view.review
        await review.flush()  # the edits of the transcript shown so far
        if review.unsaved_reason() is not None:  # never dropped without asking by showing another transcript
            name = job.filename or job_id
            self.ask_about_unsaved(f"Open {name} without them", lambda: self.open_job(job_id))
            return
        stored = await service.transcript(job_id)
        media = await service.media_path(job_id)
        if service is not self.service:
            return
        self._shown_job = job_id
        self.transcript_view.show_transcript(job, stored.result, media, etag=stored.etag, reviewed=stored.reviewed)

    def reveal_selected(self) -> None:
        jobs = self._selected_jobs()
        if jobs:
            self.spawn(self._reveal(jobs[0].job_id))

    async def _reveal(self, job_id: str) -> None:
        media = await self.service.media_path(job_id)
        if media is None:
            self.notices.show_notice("The audio file of this job is no longer where it was.", tone=Tone.WARNING)
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(media.parent)))

    # --- export ----------------------------------------------------------------------------------------------
    def export_selected(self) -> None:
        ids = [j.job_id for j in self._selected_jobs() if j.status == JobStatus.COMPLETED]
        if ids:
            self.export_jobs(ids)

    def export_jobs(self, job_ids: list[str]) -> None:
        self.exports.open(job_ids)

    # --- library ---------------------------------------------------------------------------------------------
    def refresh_library(self) -> None:
        self.spawn(self._reload_library())

    async def _reload_library(self) -> None:
        entries = self.speaker_counts.library_loaded(await self.service.library())
        self._library_entries = {e.job_id: e for e in entries}
        self.library_view.set_entries(entries)

    def _search_library(self, query: str) -> None:
        async def search() -> None:
            self.library_view.show_matches(query, await self.service.search(query))

        if query.strip():
            self.spawn(search())

    # --- settings --------------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        dialog = SettingsDialog(
            self.preferences,
            self.tokens.get(),
            MODEL_CHOICES,
            token_location=self.tokens.where(),
            in_use=next(iter(self._local.status.worker_infos), None),
            offline=self._local.settings.offline,
            open_models=self.models.open_models,
            parent=self,
        )
        dialog.accepted.connect(lambda: self.spawn(self.apply_choice(dialog.chosen())))
        dialog.open()
        self.settings_dialog = dialog

    async def apply_choice(self, choice: SettingsChoice) -> None:
        old = self.preferences
        new = choice.preferences
        run = self._local.run_blocking
        if choice.token_changed:
            token_value = choice.token if isinstance(choice.token, str) else None
            await run(lambda: self.tokens.set(token_value))
        await run(lambda: new.save(self.config_dir))
        self.preferences = new
        self.transcript_view.review.set_threshold(new.low_confidence_threshold)
        self.batch_options.set_defaults(new.model, new.default_language, new.diarize_by_default)
        self.queue_model.default_model = new.model
        self._local.set_watched_folder(new.watched_folder)
        self._local.default_options = new.job_options()
        # The queue and the transcripts of this run stay where they are; a new data folder is used from the next
        # start (workers must write where this app reads).
        running = new.model_copy(update={"data_dir": old.data_dir})
        if old.data_dir != new.data_dir:
            self.notices.show_notice("The new data folder is used from the next start of STT Studio.")
        if restart_needed(old, running, token_changed=choice.token_changed):
            token = await run(self.tokens.get)
            settings = running.settings(self.base_settings, token)
            await self._local.apply_settings(settings, workers=running.workers, worker_env=running.worker_env(token))
            self.notices.show_notice(
                f"The workers restart with model {new.model} on {new.device} after their current job.",
            )

    # --- closing ---------------------------------------------------------------------------------------------
    def activate_with(self, files: list[Path]) -> None:
        """Another ``stt-studio`` was started: come to the front and queue what it was given."""
        self.bring_to_front()
        if files:
            self.add_paths(files)

    def bring_to_front(self) -> None:
        self.closing.reopened()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._quitting:
            event.accept()
            return
        event.ignore()
        self.request_quit()

    def _shown_name(self) -> str:
        job = self.transcript_view.job()
        return (job.filename or job.job_id) if job is not None else "this transcript"

    def request_quit(self) -> None:
        """Quit at once when nothing is queued; otherwise ask whether to finish the current job first or keep
        transcribing in the background. Edits that could not be saved are asked about first."""
        if self.transcript_view.review.unsaved_reason() is None:
            self._quit_or_ask_about_jobs()
        else:
            self.ask_about_unsaved("Quit without them", self._quit_or_ask_about_jobs)

    def ask_about_unsaved(self, discard_text: str, then: Callable[[], object]) -> None:
        """The shown transcript's edits could not be saved (a conflict not decided, a server out of reach): go on
        without them (``then``), or stay, and for a conflict, be asked again which version to keep."""
        review = self.transcript_view.review
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Edits not saved")
        box.setText(f"Your latest edits to {self._shown_name()} are not saved.")
        box.setInformativeText(review.unsaved_reason() or "")
        discard = box.addButton(discard_text, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)

        def chosen() -> None:
            if box.clickedButton() is discard:
                review.discard_unsaved()
                then()
            else:
                review.resolve_unsaved()

        box.finished.connect(lambda _: chosen())
        box.open()
        self.unsaved_box = box

    def _quit_or_ask_about_jobs(self) -> None:
        self.closing.ask_about_jobs()

    def quit_now(self, *, after_current_job: bool = False) -> asyncio.Future[Any]:
        self._quitting = True
        self.hide()
        if self.tray is not None:
            self.tray.hide()
        return self.spawn(self._shutdown(after_current_job))

    async def _shutdown(self, after_current_job: bool) -> None:
        try:
            await self.live.keep_for_quit()  # a recording running: stopped, kept, and queued
            await self.transcript_view.review.flush()
            await self.server.shutdown()
            await self._local.shutdown(after_current_job=after_current_job)
        finally:
            self.transcript_view.clear()
            self.close()
            self.has_quit = True
            self.quit_finished.emit()


def batch_outcome(jobs: list[JobView]) -> tuple[str, str]:
    """The title and text of the word that a batch has ended: how many were done, failed and canceled."""
    counts = Counter(job.status for job in jobs)
    parts = [f"{counts[status]} {word}" for status, word in _OUTCOME_WORDS if counts[status]]
    title = "Transcription finished" if counts[JobStatus.COMPLETED] else "Transcription stopped"
    return title, ", ".join(parts)


_OUTCOME_WORDS = ((JobStatus.COMPLETED, "done"), (JobStatus.FAILED, "failed"), (JobStatus.CANCELED, "canceled"))


def _local_paths(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
