"""The main window's reactions that need no worker: the status bar, the one-time CPU notice, and a queue that moves on
while the window waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import PySide6
import pytest
from PySide6.QtCore import QObject, QUrl, Slot, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from stt_studio.exports import ExportItem, ExportOptions, ExportSummary, export_jobs
from stt_studio.jobs.models import JobOptions, JobStatus, JobView, LibraryEntry, ModelDownload, WorkerInfo
from stt_studio.settings import Settings
from stt_studio.ui.app import build_window
from stt_studio.ui.closing import KEEP_TEXT, QUIT_NOW_TEXT, STOP_TEXT
from stt_studio.ui.help_menu import COPIED
from stt_studio.ui.intake import CheckedFile
from stt_studio.ui.preferences import NewFilesChoice, Preferences
from stt_studio.ui.service import JobService, ServiceStatus
from stt_studio.ui.views.main_window import MainWindow, batch_outcome
from tests.desktop import desktop_app, desktop_env, placeholder_shortfall, qasync_loop, release_loop, wait_until
from tests.test_exports import make_result


@pytest.fixture
def window(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[MainWindow]:
    base = desktop_env(monkeypatch, tmp_path, settings.resolved_models_dir)
    monkeypatch.setenv("WHISPER_DEVICE", "cuda")  # what a user without a GPU has by default
    loop = qasync_loop(desktop_app(qapp))
    window = build_window(Settings())
    assert base.config_dir == Settings().config_dir
    yield window
    window.deleteLater()
    release_loop(loop)


def _status(info: WorkerInfo) -> ServiceStatus:
    return ServiceStatus(True, "embedded Valkey", 1, 0, 0, worker_infos=[info])


def test_cpu_notice_once_and_remembered(window: MainWindow, qapp: QApplication) -> None:
    cpu = WorkerInfo(name="w", pid=1, model="large-v3", device="cpu", compute_type="int8")
    window._on_status(_status(cpu))
    window._on_status(_status(cpu))
    notices = [n for n in window.notices.notices if n.title == "Running on the CPU"]
    assert len(notices) == 1 and "real time" in notices[0].details[0]
    assert window.device_label.text() == "Device: CPU (int8)" and window.model_label.text() == "Model: large-v3"
    wait_until(qapp, lambda: Preferences.load(window.config_dir).cpu_notice_shown, 10, "the preference saved")


def test_the_status_bar_says_while_a_worker_downloads_its_model(window: MainWindow) -> None:
    """Jobs queued while the worker fetches its start-up model do not wait silently: no worker reports yet, the
    download does."""
    download = ModelDownload(model="large-v3", fraction=0.4512, done_bytes=1_393_000_000, total_bytes=3_087_000_000,
                             bytes_per_second=52_000_000)  # fmt: skip
    window._on_status(ServiceStatus(True, "embedded Valkey", 0, 3, 0, downloads=[download]))
    assert window.model_label.text() == "Downloading large-v3 45 %"
    assert window.model_label.toolTip() == "Downloading large-v3 from the Hugging Face hub: 1393 of 3087 MB, 52.0 MB/s"
    window._on_status(_status(WorkerInfo(name="w", pid=1, model="large-v3", device="cpu", compute_type="int8")))
    assert window.model_label.text() == "Model: large-v3" and window.model_label.toolTip() == ""


def test_gpu_in_the_status_bar(window: MainWindow) -> None:
    gpu = WorkerInfo(name="w", pid=1, model="large-v3", device="cuda", compute_type="float16",
                     gpu_name="NVIDIA RTX 4090", gpu_memory_used_mb=5222.4, gpu_memory_total_mb=24564.0)  # fmt: skip
    window._on_status(_status(gpu))
    assert window.device_label.text() == "GPU: float16 · 5.1/24 GB"
    assert window.device_label.toolTip() == "GPU 0: NVIDIA RTX 4090, float16, 5.1 of 24 GB used"
    assert not window.notices.notices
    pascal = WorkerInfo(name="a", pid=1, model="large-v3", device="cuda", compute_type="int8_float32", gpu_index=0,
                        gpu_name="GTX 1080", torch_device="cpu", notices=["VAD, alignment and diarization run on the "
                        "CPU: this torch has no kernels for compute capability 6.1"])  # fmt: skip
    second = gpu.model_copy(update={"name": "b", "gpu_index": 1})
    window._on_status(ServiceStatus(True, "embedded Valkey", 2, 0, 0, worker_infos=[pascal, second]))
    assert window.device_label.text() == "2 GPUs: int8_float32/float16 · 5.1/24 GB"  # the first's memory unknown
    assert window.device_label.toolTip().splitlines() == [
        "GPU 0: GTX 1080, int8_float32; VAD, alignment and diarization on the CPU",
        "GPU 1: NVIDIA RTX 4090, float16, 5.1 of 24 GB used",
        "VAD, alignment and diarization run on the CPU: this torch has no kernels for compute capability 6.1",
    ]


class _RacingService(JobService):
    """A queue whose job starts running while the upload call is still returning (a remote server does this)."""

    def __init__(self) -> None:
        super().__init__()
        self.status = ServiceStatus(True, "test", 1, 0, 0)

    async def submit(self, files: list[CheckedFile], options: JobOptions) -> list[JobView]:
        queued = JobView(job_id="j1", status=JobStatus.QUEUED, filename=files[0].path.name)
        self._absorb([queued])
        self._absorb([queued.model_copy(update={"status": JobStatus.PROCESSING, "progress": 12})])  # its events
        return [queued]  # what the upload answered, before

    async def retry(self, job_ids: list[str]) -> list[JobView]:
        queued = JobView(job_id="j2", status=JobStatus.QUEUED, filename="talk.wav")
        self._absorb([queued, queued.model_copy(update={"status": JobStatus.PROCESSING, "progress": 3})])
        return [queued]

    async def library(self) -> list[LibraryEntry]:
        return []


def test_the_queue_never_shows_a_job_going_back_to_queued(window: MainWindow, tmp_path: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    service = _RacingService()
    window.use_service(service, "racing")
    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"")
    done = window.spawn(window._queue([CheckedFile(audio, 1.0)], JobOptions()))
    wait_until(app, done.done, 10, "the upload")
    job = window.queue_model.job_by_id("j1")
    assert job is not None and (job.status, job.progress) == (JobStatus.PROCESSING, 12)
    done = window.spawn(window._retry(["j1"]))
    wait_until(app, done.done, 10, "the retry")
    job = window.queue_model.job_by_id("j2")
    assert job is not None and (job.status, job.progress) == (JobStatus.PROCESSING, 3)


def test_the_connect_dialog_shows_the_whole_hint_of_every_field(window: MainWindow, qapp: QApplication) -> None:
    window.server.connect_action.trigger()
    dialog = window.server.connect_dialog
    assert dialog is not None
    wait_until(qapp, dialog.isVisible, 5, "the dialog")
    qapp.processEvents()
    shortfalls = {e.placeholderText(): placeholder_shortfall(e) for e in (dialog.name_edit, dialog.url_edit,
                                                                          dialog.key_edit)}  # fmt: skip
    assert shortfalls == dict.fromkeys(shortfalls, 0)
    dialog.reject()


def _one_job_running(window: MainWindow) -> None:
    window.queue_model.upsert([JobView(job_id="r1", status=JobStatus.PROCESSING, filename="talk.wav", progress=12)])


def _quit_buttons(window: MainWindow) -> set[str]:
    window.request_quit()
    box = window.closing.box
    assert box is not None
    texts = {b.text() for b in box.buttons()}
    box.reject()
    return texts


def test_background_is_offered_only_with_a_tray(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a system tray a hidden window leaves nothing to come back by: no "keep transcribing" then."""
    assert window.tray is None  # offscreen: no tray, as on a desktop without one
    _one_job_running(window)
    assert _quit_buttons(window) == {STOP_TEXT, QUIT_NOW_TEXT, "Cancel"}
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    with_tray = build_window(Settings())
    try:
        assert with_tray.tray is not None
        _one_job_running(with_tray)
        assert _quit_buttons(with_tray) == {STOP_TEXT, QUIT_NOW_TEXT, KEEP_TEXT, "Cancel"}
    finally:
        with_tray.tray.hide()  # type: ignore[union-attr]
        with_tray.deleteLater()


def test_quit_now_quits_without_waiting_for_the_job(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """The running job is cut off (it goes on from its checkpoints at the next start: the reliability suite's
    restarts); the question's third way out, beside stopping after the job and cancel."""
    quits: list[bool] = []
    monkeypatch.setattr(window, "quit_now", lambda *, after_current_job=False: quits.append(after_current_job))
    _one_job_running(window)
    window.request_quit()
    box = window.closing.box
    assert box is not None and "goes on from its last finished step" in box.informativeText()
    next(b for b in box.buttons() if b.text() == QUIT_NOW_TEXT).click()
    assert quits == [False] and not window.closing.pending


def test_the_new_files_bar_remembers_its_choices(window: MainWindow, qapp: QApplication) -> None:
    bar = window.batch_options
    bar.model_combo.setCurrentText("base")
    bar.diarize_check.setChecked(True)
    bar.speaker_mode.setCurrentText("exactly")
    bar.speakers_min.setValue(3)
    wanted = NewFilesChoice(model="base", diarize=True, speaker_mode="exactly", speakers_min=3, speakers_max=4)
    wait_until(qapp, lambda: Preferences.load(window.config_dir).new_files == wanted, 10, "the choice saved")

    restarted = build_window(Settings())  # the next start
    try:
        options = restarted.batch_options.options()
        assert (options.model, options.enable_diarization, options.num_speakers) == ("base", True, 3)
        assert restarted.preferences.model == window.preferences.model  # the workers' model is another setting
    finally:
        restarted.deleteLater()


def test_help_shortcuts_are_read_from_the_actions(window: MainWindow) -> None:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert isinstance(help_menu, QMenu)
    names = [a.text() for a in help_menu.actions() if not a.isSeparator()]
    assert names == ["&Keyboard shortcuts", "&Documentation", "Copy &diagnostics", "&About STT Studio"]
    window.help.shortcuts_action.trigger()
    dialog = window.help.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    rows = dialog.rows()
    native = QKeySequence.SequenceFormat.NativeText
    expected = {
        ("File", "Add files", QKeySequence(QKeySequence.StandardKey.Open).toString(native)),
        ("File", "Paste paths", QKeySequence(QKeySequence.StandardKey.Paste).toString(native)),
        ("Server", "Connect to server", "Ctrl+Shift+K"),
        ("Review", "Next word to check", "F3"),
        ("Help", "Keyboard shortcuts", "Ctrl+/"),
        ("Elsewhere", "Find in the transcript", "Ctrl+F"),
    }
    assert expected <= set(rows), rows
    dialog.adjustSize()  # at its own size hint (as a window manager may show it), every text reads whole
    table, metrics = dialog.table, dialog.table.fontMetrics()
    cut = [text for r, row in enumerate(rows) for c, text in enumerate(row)
           if metrics.horizontalAdvance(text) + 8 > table.columnWidth(c)]  # fmt: skip
    assert not cut and table.viewport().width() >= sum(table.columnWidth(c) for c in range(3)), cut
    # Quit and Settings have a key where the platform's standard one is empty (Linux outside KDE and GNOME)
    standard = QKeySequence(QKeySequence.StandardKey.Quit).toString(native)
    assert ("File", "Quit", standard or "Ctrl+Q") in rows, rows
    # every action with a shortcut, and nothing else
    bound = {a.text().replace("&", "").rstrip("…") for a in window.findChildren(QAction) if not a.shortcut().isEmpty()}
    assert {name for _, name, _ in rows} - {"Find in the transcript", "Play the selected segment"} == bound
    window.server.connect_action.setShortcut(QKeySequence("Ctrl+Alt+J"))  # a changed binding shows as it is now
    dialog.reject()
    window.help.shortcuts_action.trigger()
    again = window.help.shortcuts_dialog
    assert again is not None and ("Server", "Connect to server", "Ctrl+Alt+J") in again.rows()
    again.reject()


def test_about_shows_what_the_workers_report(window: MainWindow) -> None:
    cpu = WorkerInfo(name="w", pid=1, model="base", device="cpu", compute_type="int8", requested_model="large-v3",
                     unavailable_reason="large-v3 is not available offline", requested_device="cuda")  # fmt: skip
    report = _status(cpu)
    window._local.status = report  # as the service's poll does: keep the report, then signal it
    window._local.status_updated.emit(report)
    shown = "base — large-v3 is not available offline"
    assert shown in window.model_label.text()  # what the status bar says, About says too
    window.help.about_action.trigger()
    box = window.help.about_box
    assert box is not None
    about = box.informativeText()
    for fact in ("0.1.0", shown, "CPU, int8 — no CUDA GPU was found", qVersion(), PySide6.__version__):
        assert fact in about, (fact, about)
    box.reject()


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_documentation_opens_the_readme(window: MainWindow, qapp: QApplication) -> None:
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")  # type: ignore[arg-type]
    try:
        window.help.docs_action.trigger()
        wait_until(qapp, lambda: bool(catcher.urls), 10, "the documentation to open")
    finally:
        QDesktopServices.unsetUrlHandler("file")
    readme = Path(catcher.urls[0].toLocalFile())
    assert readme.name == "README.md" and readme.read_text(encoding="utf-8").startswith("# STT Studio")


def test_copy_diagnostics_puts_the_doctor_report_on_the_clipboard(window: MainWindow, qapp: QApplication) -> None:
    QApplication.clipboard().clear()
    window.help.diagnostics_action.trigger()
    task = window.help.diagnostics_task
    assert task is not None and not task.done()  # the checks run off the GUI thread, which goes on
    wait_until(qapp, task.done, 120, "the diagnostics")
    task.result()
    text = QApplication.clipboard().text()
    assert text.startswith("STT Studio  0.1.0")
    for line in ("Qt ", "$ stt-studio doctor", "Python", "FFmpeg (PyAV)", "Data folder", "Redis"):
        assert line in text, (line, text)
    assert window.statusBar().currentMessage() == COPIED


def test_one_notice_shows_at_a_time_and_the_same_notice_again_is_not_added(
    window: MainWindow, qapp: QApplication
) -> None:
    window.show()
    cpu = WorkerInfo(name="w", pid=1, model="base", device="cpu", compute_type="int8")
    window._on_status(_status(cpu))
    area = window.notices
    for _ in range(2):
        area.show_notice("2 files could not be added", ["notes.txt: not an audio or video file"])
        area.show_notice("The new data folder is used from the next start of STT Studio.")
    qapp.processEvents()
    titles = [n.title for n in area.notices]
    assert sorted(titles) == sorted(set(titles)) and len(titles) == 3, titles
    front = area.notices[-1]
    assert [n for n in area.notices if n.isVisible()] == [front]
    assert area.sizeHint().height() <= front.sizeHint().height() + 2  # one banner's height, not three
    assert front.buttons["Dismiss"].text() == "Dismiss · 2 more"
    front.buttons["Dismiss"].click()
    qapp.processEvents()
    assert [n.title for n in area.notices if n.isVisible()] == ["2 files could not be added"]
    # the same title about other files is another notice: it waits behind, neither is lost
    area.show_notice("2 files could not be added", ["b1.mp3: not an audio or video file"])
    assert [n.details for n in area.notices if n.title == "2 files could not be added"] == [
        ["notes.txt: not an audio or video file"], ["b1.mp3: not an audio or video file"]
    ]


def test_a_batch_says_how_its_jobs_ended() -> None:
    def job(status: JobStatus) -> JobView:
        return JobView(job_id=str(status.value), status=status)

    done, canceled, failed = job(JobStatus.COMPLETED), job(JobStatus.CANCELED), job(JobStatus.FAILED)
    assert batch_outcome([done, done, canceled]) == ("Transcription finished", "2 done, 1 canceled")
    assert batch_outcome([canceled]) == ("Transcription stopped", "1 canceled")  # was: "1 job(s) done"
    assert batch_outcome([failed, canceled]) == ("Transcription stopped", "1 failed, 1 canceled")


class _FinishedJobService(JobService):
    """A queue with one finished recording, ``talk.wav`` in ``folder``, whose transcript exports for real."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.status = ServiceStatus(True, "test", 1, 0, 0)
        self.entry = LibraryEntry(job_id="j1", status=JobStatus.COMPLETED, filename="talk.wav", speakers=2,
                                  source_path=str(folder / "talk.wav"))  # fmt: skip

    async def library(self) -> list[LibraryEntry]:
        return [self.entry]

    async def export(
        self, job_ids: list[str], folder: Path, formats: list[str], options: ExportOptions
    ) -> ExportSummary:
        return export_jobs([ExportItem("talk.wav", make_result(), None)], folder, formats, options)


def test_exports_start_from_the_recordings_folder_remember_the_last_choice_and_confirm_in_the_status_bar(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    recordings, out = tmp_path / "recordings", tmp_path / "out"
    window.use_service(_FinishedJobService(recordings), "finished")
    wait_until(qapp, lambda: "j1" in window._library_entries, 10, "the library")

    window.export_jobs(["j1"])
    dialog = window.exports.dialog
    assert dialog is not None
    assert dialog.chosen_formats() == ["txt", "srt"] and Path(dialog.folder_edit.text()) == recordings
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt in ("txt", "docx"))
    dialog.folder_edit.setText(str(out))
    dialog.timestamps_box.setChecked(False)
    dialog.line_width_spin.setValue(32)
    dialog.ok_button.click()
    wait_until(qapp, lambda: bool(window.confirmations.text()), 10, "the confirmation")
    assert window.confirmations.text() == f"Exported 2 file(s) to {out}"
    assert not window.notices.notices  # a confirmation takes no room above the work
    assert sorted(p.name for p in out.iterdir()) == ["talk.docx", "talk.txt"]

    def remembered() -> bool:
        saved = Preferences.load(window.config_dir)
        options = saved.export_options
        chosen_options = options is not None and (options.max_line_width, options.include_timestamps) == (32, False)
        return saved.export_formats == ["txt", "docx"] and saved.export_folder == out and chosen_options

    wait_until(qapp, remembered, 10, "the choice saved in the preferences (options too, for the next start)")
    window.confirmations.duration_ms = 50
    window.export_jobs(["j1"])
    again = window.exports.dialog
    assert again is not None and again is not dialog
    assert again.chosen_formats() == ["txt", "docx"] and Path(again.folder_edit.text()) == out
    assert again.line_width_spin.value() == 32 and not again.timestamps_box.isChecked()
    again.ok_button.click()
    wait_until(qapp, lambda: "Exported 2 file(s)" in window.confirmations.text(), 10, "the second confirmation")
    wait_until(qapp, lambda: not window.confirmations.text(), 10, "the confirmation to go away")
    assert not window.notices.notices


def test_the_window_exports_for_analysis_tools_and_subtitles_under_the_guideline(
    window: MainWindow, qapp: QApplication, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    window.use_service(_FinishedJobService(tmp_path), "finished")
    wait_until(qapp, lambda: "j1" in window._library_entries, 10, "the library")
    window.export_jobs(["j1"])
    dialog = window.exports.dialog
    assert dialog is not None
    for fmt, box in dialog.format_boxes.items():
        box.setChecked(fmt in ("nvivo", "srt"))
    dialog.folder_edit.setText(str(out))
    dialog.rules_box.guideline_button.click()
    dialog.speakers_box.setChecked(False)  # the dash needs speakers: the dialog says so and waits
    assert not dialog.ok_button.isEnabled() and "“Speaker dash” needs “Include speakers”" in dialog.problem_label.text()
    dialog.speakers_box.setChecked(True)
    dialog.ok_button.click()
    wait_until(qapp, lambda: "Exported 2 file(s)" in window.confirmations.text(), 10, "the confirmation")
    assert sorted(p.name for p in out.iterdir()) == ["talk.nvivo.txt", "talk.srt"]
    assert (out / "talk.nvivo.txt").read_text().startswith("Timespan\tSpeaker\tContent\n00:00:00.0-")
    lines = [line for line in (out / "talk.srt").read_text().splitlines() if line and "-->" not in line]
    assert all(len(line) <= 42 for line in lines if not line.isdigit()), lines


def test_where_the_window_works_leads_the_status_bar(window: MainWindow, qapp: QApplication) -> None:
    """The connection and sharing labels come first among the status bar's lasting labels (a passing message
    such as an export's confirmation takes the room left of them)."""
    window.server.connection_label.setText("Connected to a server")
    window.server.connection_label.show()
    qapp.processEvents()
    lasting = [window.server.connection_label, window.redis_label, window.device_label, window.model_label]
    assert [w.x() for w in lasting] == sorted(w.x() for w in lasting)
    assert window.confirmations.label.x() < window.server.connection_label.x()


def test_every_queue_column_shows_in_the_default_window(window: MainWindow, qapp: QApplication) -> None:
    """At the default 1280 × 800 the queue's columns all fit its pane, Speakers too (no sideways scrolling)."""
    window.resize(1280, 800)
    window.show()
    qapp.processEvents()
    table = window.queue_view.table
    assert table.horizontalScrollBar().maximum() == 0
    assert table.horizontalHeader().length() <= table.viewport().width()


def test_a_confirmation_is_never_drawn_over_a_passing_message(window: MainWindow, qapp: QApplication) -> None:
    """'Transcription finished' and an export's confirmation at once were drawn on top of each other."""
    window.show()
    bar = window.statusBar()
    bar.showMessage("Transcription finished: 3 done", 10000)
    window.confirmations.show("Exported 3 file(s) to /tmp/out")
    qapp.processEvents()
    assert window.confirmations.label.isVisible() and bar.currentMessage() == ""
    bar.showMessage("Queued 1 file(s)", 10000)  # a later message hides the confirmation while it shows
    qapp.processEvents()
    assert not window.confirmations.label.isVisible()
