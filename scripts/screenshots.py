"""Render the desktop app's main views at 1280×800 with real data, light and dark, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Runs the real window (its own embedded Valkey and a tiny.en worker on the CPU) on a private data and config dir in
a temporary folder, queues real audio (pyannote.audio's two-speaker sample with speaker detection, espeak-ng
clips, one longer clip), captures the queue mid-run, a two-speaker transcript, its review (named speakers, words
to check, the word being said mid-playback, a segment being edited, the Review menu), the library and the export
and settings dialogs, then the two server roles: this machine shared (the sharing dialog, a remote job in the
queue, the status bar) and the window connected to a second STT Studio (``serve`` with a key: the connect dialog,
the remote queue mid-run), each in Fusion's light palette and in a dark one, then quits the app and its
processes.

    .venv/bin/python scripts/screenshots.py --playback-off

renders only the player bar as it is where QtMultimedia can't load (no libpulse.so.0): as root, the script runs
itself again in a private mount namespace where that library reads as empty (tests/hidden_libraries.py).

    .venv/bin/python scripts/screenshots.py --batch-options

renders only the "New files" bar with "Translate to English" on (for base, and for tiny.en with its notice).

    .venv/bin/python scripts/screenshots.py --settings

renders only the Settings dialog, with a CPU worker's report and with a GeForce GTX 1080's (float16 saved).

    .venv/bin/python scripts/screenshots.py --find-speakers

renders only the run-again dialogs, "Find speakers again" and "Transcribe again" (the full run renders them over the
window too).

    .venv/bin/python scripts/screenshots.py --growing

renders only a running job's transcript growing where the transcript goes (the full run shoots it too, on its long
clip): the window and its worker on nine espeak-ng sentences 24 s apart, three batches of chunks; and, the job
finding speakers, the same once the aligned segments (word times) have replaced the rows (only here:
transcript-growing-aligned).

    .venv/bin/python scripts/screenshots.py --review

renders only the two-speaker transcript (a row per speaker turn) and its review on pyannote.audio's sample: transcript,
review-playback and review-playback-segments (the same moment a row per segment), review-editing, review-menu.

    .venv/bin/python scripts/screenshots.py --live

renders only the recording panel (Record): its source picker open, and recording a private PulseAudio's null-sink
monitor while espeak-ng sentences play into it, with the live text (final words, the provisional ones greyed); and
the window around it: the live draft in the transcript's place while recording (live-draft), after Stop while the
recording's job runs (live-draft-queued), and the job's transcript that replaced it (live-draft-replaced); then the
same connected to a server (a keyed serve here), its /live sending the live text (live-*-remote).

    .venv/bin/python scripts/screenshots.py --voices

renders only the Voice library dialog on a library of three voices, one of them enrolled under an older speaker
model (the full run opens it from the window's Review menu on the same three), the Save voice to library dialog
after a speaker of an interview was added to a voice already there, Add voice… on a file of two voices, and the
speaker chips under a transcript's header with the menu of a suggested name and the player of a voice's enrolled
sample (voice-chips, voice-chip-menu, voice-sample-player).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the tests package holds the desktop and speech helpers

from PySide6.QtCore import QItemSelectionModel  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog, QStyleFactory, QTableView, QWidget  # noqa: E402

from stt_studio.engine.cpu import configure_process_environment  # noqa: E402
from stt_studio.jobs.models import JobStatus, JobView, WorkerInfo  # noqa: E402
from stt_studio.settings import Settings  # noqa: E402
from stt_studio.ui.connections import Profile  # noqa: E402
from stt_studio.ui.models.job_table import JOB_ID_ROLE  # noqa: E402
from stt_studio.ui.preferences import Preferences  # noqa: E402
from stt_studio.ui.service import ServiceStatus  # noqa: E402
from stt_studio.ui.views.batch_options import MODEL_CHOICES, BatchOptionsBar  # noqa: E402
from stt_studio.ui.views.find_speakers_dialog import FindSpeakersDialog  # noqa: E402
from stt_studio.ui.views.main_window import MainWindow  # noqa: E402
from stt_studio.ui.views.settings_dialog import SettingsDialog  # noqa: E402
from stt_studio.ui.views.transcribe_again_dialog import TranscribeAgainDialog  # noqa: E402
from stt_studio.ui.voices.add_dialog import AddVoiceDialog  # noqa: E402
from stt_studio.ui.voices.dialog import VoiceLibraryDialog  # noqa: E402
from stt_studio.ui.voices.save_dialog import SaveVoiceDialog, SpeakerChoice  # noqa: E402
from stt_studio.voices.embedding_model import current_embedding_model  # noqa: E402
from stt_studio.voices.enroll import WARN_SECONDS  # noqa: E402
from stt_studio.voices.library import NewSample, VoiceLibrary  # noqa: E402
from stt_studio.voices.summary import (  # noqa: E402
    ClipSpeakerSummary,
    EnrollOutcome,
    SampleSummary,
    VoiceListing,
    VoiceSummary,
)
from tests import live  # noqa: E402
from tests.desktop import Desktop, wait_until  # noqa: E402
from tests.hidden_libraries import without  # noqa: E402
from tests.speech import SENTENCES, VOCABULARY, VOCABULARY_SENTENCES, sparse_clip, speech_clip  # noqa: E402

SIZE = (1280, 800)
SEEK_SECONDS = 10.0
LONG_CLIP_SECONDS = 240.0  # tiny.en does 60 s in about 3 s here: long enough to catch it part-way
SHORT_CLIPS = {
    "weather-report": SENTENCES[3:5],
    "directions": SENTENCES[11:12] + SENTENCES[6:7],
    "office-voicemail": SENTENCES[1:3],
    "team-update": SENTENCES[2:3] + SENTENCES[10:11],
}
Capture = Callable[[], QWidget]


# --- environment -------------------------------------------------------------------------------------------------
def private_environment(root: Path) -> Settings:
    """Like tests.desktop.desktop_env, without pytest: a private data and config dir, tiny.en on the CPU, offline.
    The workers the app spawns inherit this environment."""
    configure_process_environment()
    for key in list(os.environ):
        if key.startswith(("REDIS_", "STT_", "HF_TOKEN")):
            del os.environ[key]
    models_dir = Settings().resolved_models_dir
    os.environ.update(live.service_env(root / "data", models_dir))
    os.environ["STT_CONFIG_DIR"] = str(root / "config")
    return Settings()


def pyannote_sample(target: Path) -> Path:
    """pyannote.audio's own two-speaker sample (30 s), copied so the job gets a telling name."""
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pyannote.audio is not installed")
    sample = Path(next(iter(spec.submodule_search_locations))) / "sample" / "sample.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(sample, target))


def long_clip(directory: Path, seconds: float) -> Path:
    """About ``seconds`` of espeak-ng speech: every sentence of SENTENCES (about 50 s), repeated with sox."""
    once = speech_clip(directory, SENTENCES, "once")
    repeats = max(0, round(seconds / 50) - 1)
    out = directory / "lecture-recording.wav"
    subprocess.run(["sox", str(once), str(out), "repeat", str(repeats)], check=True, capture_output=True)
    return out


def video_clip(directory: Path, name: str) -> Path:
    """A 640×360 video (FFmpeg's Mandelbrot zoom) with espeak-ng speech of ``VOCABULARY_SENTENCES``: names Whisper
    gets right only with the vocabulary."""
    speech = speech_clip(directory, VOCABULARY_SENTENCES, "speech")
    out = directory / f"{name}.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "mandelbrot=s=640x360:rate=25", "-i", str(speech),
         "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


# --- palettes ----------------------------------------------------------------------------------------------------
def dark_palette() -> QPalette:
    palette = QPalette()
    g = QPalette.ColorGroup
    r = QPalette.ColorRole
    colors = {
        r.Window: "#2d2d30",
        r.WindowText: "#e8e8e8",
        r.Base: "#1e1e20",
        r.AlternateBase: "#28282b",
        r.ToolTipBase: "#3c3c40",
        r.ToolTipText: "#e8e8e8",
        r.PlaceholderText: "#8e8e93",
        r.Text: "#e8e8e8",
        r.Button: "#38383c",
        r.ButtonText: "#e8e8e8",
        r.BrightText: "#ff6b6b",
        r.Light: "#55555a",
        r.Midlight: "#434347",
        r.Mid: "#2a2a2d",
        r.Dark: "#1b1b1d",
        r.Shadow: "#000000",
        r.Highlight: "#3d7bd9",
        r.HighlightedText: "#ffffff",
        r.Link: "#6cb1ff",
        r.LinkVisited: "#b99cff",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role in (r.WindowText, r.Text, r.ButtonText):
        palette.setColor(g.Disabled, role, QColor("#85858a"))
    palette.setColor(g.Disabled, r.Highlight, QColor("#4a4a4f"))
    palette.setColor(g.Disabled, r.HighlightedText, QColor("#b0b0b5"))
    palette.setColor(g.Disabled, r.Base, QColor("#262628"))
    palette.setColor(g.Disabled, r.Button, QColor("#303033"))
    return palette


class Themes:
    """Switches the whole application between Fusion's light palette and a dark one."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        style = QStyleFactory.create("Fusion")
        if style is None:
            raise SystemExit("Qt has no Fusion style")
        app.setStyle(style)
        self.light = style.standardPalette()
        self.dark = dark_palette()

    def apply(self, name: str) -> None:
        self.app.setPalette(self.light if name == "light" else self.dark)
        settle(self.app)
        # Widgets that compute colors from the palette recompute them on their PaletteChange; repaint all.
        for widget in self.app.allWidgets():
            widget.update()
        settle(self.app)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Let layouts, repaints and queued signals run."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


# --- the job helpers -----------------------------------------------------------------------------------------------
def jobs(window: MainWindow) -> dict[str, JobView]:
    return {job.filename or job.job_id: job for job in window.queue_model.jobs()}


def wait_done(app: QApplication, window: MainWindow, names: list[str], timeout: float) -> None:
    def done() -> bool:
        current = jobs(window)
        failed = [n for n in names if n in current and current[n].status in (JobStatus.FAILED, JobStatus.CANCELED)]
        if failed:
            raise SystemExit(f"jobs failed: {[(n, current[n].error) for n in failed]}")
        return all(n in current and current[n].status == JobStatus.COMPLETED for n in names)

    wait_until(app, done, timeout, f"{names} to finish")


def show_job(app: QApplication, window: MainWindow, name: str) -> None:
    """Select the finished job ``name`` in the queue, as a click does, and wait for its transcript."""
    job_id = jobs(window)[name].job_id
    window.tabs.setCurrentWidget(window.queue_view)
    window.queue_view.select_jobs([job_id])
    table = window.queue_view.table
    table.setFocus()
    set_current_row(table, job_id, JOB_ID_ROLE)
    wait_until(app, lambda: window._shown_job == job_id, 60, f"the transcript of {name}")


def growing_transcript(
    app: QApplication, window: MainWindow, shooter: Shooter, name: str, *, aligned_too: bool = False
) -> None:
    """The running job ``name`` selected in the queue: its transcript so far, growing where the transcript goes;
    ``aligned_too`` (a job that finds speakers): then its aligned segments, in place of the rows."""
    job_id = jobs(window)[name].job_id
    window.tabs.setCurrentWidget(window.queue_view)
    window.queue_view.select_jobs([job_id])
    set_current_row(window.queue_view.table, job_id, JOB_ID_ROLE)
    growing = window.growing

    def grown() -> bool:
        job = jobs(window)[name]
        if job.status.is_final:
            raise SystemExit(f"{name} was {job.status.value} before its transcript so far could be captured")
        return growing.showing and growing.view.model.rowCount() > 0

    wait_until(app, grown, 600, f"the transcript so far of {name}")
    growing.view.table.selectRow(1)
    settle(app)
    shooter.both("transcript-growing", lambda: window)
    if aligned_too:
        wait_until(app, lambda: growing.view.words_aligned, 600, f"the aligned segments of {name}")
        settle(app)
        shooter.both("transcript-growing-aligned", lambda: window)


def set_current_row(table: QTableView, job_id: str, id_role: int) -> None:
    """Move the keyboard focus frame onto the selected row, where a click would have put it."""
    model = table.model()
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if index.data(id_role) == job_id:
            table.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)


# --- capturing ---------------------------------------------------------------------------------------------------
class Shooter:
    def __init__(self, app: QApplication, themes: Themes, out: Path) -> None:
        self.app = app
        self.themes = themes
        self.out = out
        self.written: list[Path] = []

    def both(self, name: str, target: Capture) -> None:
        """Grab ``target()`` in the light palette, then at once in the dark one; end in light."""
        for theme in ("light", "dark"):
            self.themes.apply(theme)
            widget = target()
            path = self.out / f"{name}-{theme}.png"
            if not widget.grab().save(str(path)):
                raise SystemExit(f"could not write {path}")
            self.written.append(path)
            print(f"wrote {path} ({widget.width()}×{widget.height()})", flush=True)
        self.themes.apply("light")


def review(app: QApplication, window: MainWindow, shooter: Shooter) -> None:
    """The transcript under review: speakers named after what they say, the words left to check marked, the
    word being said highlighted mid-playback (also a row per segment); then a turn's later sentence being edited,
    and the Review menu."""
    view = window.transcript_view
    result = view.result()
    assert result is not None
    names: dict[str, str] = {}
    for wanted in ("Diane", "Sheila"):
        said_by = next((s.speaker for s in result.segments if wanted in s.text and s.speaker), None)
        if said_by is not None and said_by not in names:
            names[said_by] = wanted
    for label, fallback in zip(view.speakers.present(result), ("Dr. Chen", "Alex Moreau"), strict=False):
        view.review.rename_speaker(label, names.get(label, fallback))
    print(f"speakers named {view.review.speakers()}, {len(view.review.to_check())} words to check", flush=True)

    long_ones = [s for s in result.segments if s.end - s.start >= 2.0 and len(s.words) >= 5] or result.segments
    segment = next((s for s in long_ones if s.start >= SEEK_SECONDS), long_ones[0])
    stop_at = segment.start + 0.45 * (segment.end - segment.start)  # mid-sentence
    view.player.play_from(segment.start)
    wait_until(app, lambda: view.player.is_playing() and view.player.position_seconds() >= stop_at, 30, "playback")
    view.player.pause()
    wait_until(app, lambda: not view.player.is_playing() and view.playing_word() is not None, 10, "a word playing")
    shooter.both("review-playback", lambda: window)
    window.group_by_turn.action.setChecked(False)  # the same moment a row per segment, as before turns
    settle(app, 0.3)
    shooter.both("review-playback-segments", lambda: window)
    window.group_by_turn.action.setChecked(True)
    settle(app, 0.3)

    model = view.segments_model
    playing = model.playing_row or 0
    # a turn's later sentence, near the playing one: it is edited over its own lines, the turn's others in sight
    later = [seg for seg in range(model.segment_count()) if model.segments_of(model.row_of(seg))[0] != seg]
    row = min(later, key=lambda seg: abs(seg - playing)) if later else playing
    view.show_row(row)
    view.segments_view.setFocus()
    view.review_actions.edit_segment.trigger()
    editor = view.open_editor()
    assert editor is not None
    cursor = editor.textCursor()
    cursor.setPosition(len(editor.toPlainText()) // 2)
    editor.setTextCursor(cursor)
    shooter.both("review-editing", lambda: window)
    view.text_delegate.discard(editor)

    menu = window.review_menu

    def grab_menu() -> QWidget:
        menu.ensurePolished()
        menu.adjustSize()
        settle(app, 0.2)
        return menu

    shooter.both("review-menu", grab_menu)
    settle(app)


def dialog_target(app: QApplication, dialog: QDialog) -> Capture:
    def grab() -> QWidget:
        dialog.adjustSize()
        settle(app, 0.2)
        return dialog

    return grab


def help_dialogs(app: QApplication, window: MainWindow, shooter: Shooter) -> None:
    """Help → Keyboard shortcuts (read from the actions) and Help → About (the model and device the workers report)."""
    window.help.shortcuts_action.trigger()
    shortcuts = window.help.shortcuts_dialog
    assert shortcuts is not None
    shooter.both("help-shortcuts", dialog_target(app, shortcuts))
    shortcuts.reject()
    window.help.about_action.trigger()
    about = window.help.about_box
    assert about is not None
    shooter.both("help-about", dialog_target(app, about))
    about.reject()
    settle(app)


def gpu_status_bar(window: MainWindow, shooter: Shooter) -> None:
    """The status bar as two GPU workers report themselves (made-up reports: these machines have no GPU): each GPU
    with its compute type and memory; on the Pascal card VAD and alignment run on the CPU."""
    pascal = WorkerInfo(name="a", pid=0, model="large-v3", device="cuda", compute_type="int8_float32", gpu_index=0,
                        gpu_name="GeForce GTX 1080", torch_device="cpu", gpu_memory_used_mb=5_800,
                        gpu_memory_total_mb=8_192)  # fmt: skip
    rtx = WorkerInfo(name="b", pid=0, model="large-v3", device="cuda", compute_type="float16", gpu_index=1,
                     gpu_name="GeForce RTX 3060", torch_device="cuda", gpu_memory_used_mb=9_400,
                     gpu_memory_total_mb=12_288)  # fmt: skip
    status = ServiceStatus(True, "embedded Valkey", 2, 0, 0, worker_infos=[pascal, rtx])

    def reported() -> QWidget:
        window._on_status(status)
        QApplication.processEvents()  # the status bar's layout follows the new texts
        window._on_status(status)  # again right before each grab: the service's own poll says "CPU" here
        return window

    shooter.both("status-bar-gpus", reported)


def server_roles(app: QApplication, window: MainWindow, shooter: Shooter, root: Path, clips: list[Path]) -> None:
    """Share this machine (a job sent with the shown key lands in the queue, marked remote), then drive another
    STT Studio: the connect dialog and that server's queue mid-run."""
    import httpx

    started = window.spawn(window.server.start_sharing("0.0.0.0", live.free_port()))
    wait_until(app, started.done, 30, "sharing to start")
    info = window.server.sharing.info
    assert info is not None
    with clips[0].open("rb") as audio:
        httpx.post(
            f"http://127.0.0.1:{info.port}/transcribe/async",
            files={"file": ("from-the-laptop.wav", audio)},
            headers={"Authorization": f"Bearer {info.api_key}"},
            timeout=60,
        ).raise_for_status()
    wait_until(app, lambda: "from-the-laptop.wav" in jobs(window), 30, "the remote job in the queue")
    window.tabs.setCurrentWidget(window.queue_view)
    settle(app, 0.5)
    shooter.both("sharing-status", lambda: window)
    window.server.open_sharing_dialog()
    dialog = window.server.sharing_dialog
    assert dialog is not None
    shooter.both("sharing-dialog", dialog_target(app, dialog))
    dialog.reject()
    stopped = window.spawn(window.server.stop_sharing())
    wait_until(app, stopped.done, 30, "sharing to stop")

    server = live.RemoteServer(root / "remote", window._local.settings.resolved_models_dir)
    try:
        window.server.connections.save(Profile(name="Vast.ai 4090", url=server.url), live.KEY)
        window.server._refresh_profiles()
        window.server.open_connect_dialog()
        connect = window.server.connect_dialog
        assert connect is not None
        connect.name_edit.setText("Vast.ai 4090")
        connect.url_edit.setText(server.url)
        connect.key_edit.setText(live.KEY)
        tested = connect.test_connection()
        assert tested is not None
        wait_until(app, tested.done, 30, "the connection test")
        shooter.both("connect-dialog", dialog_target(app, connect))
        connect.reject()
        switched = window.spawn(window.server.switch_to("Vast.ai 4090"))
        wait_until(app, switched.done, 60, "the remote queue")
        window.add_paths(clips)

        def running() -> bool:
            return any(j.status == JobStatus.PROCESSING for j in window.queue_model.jobs())

        wait_until(app, running, 300, "a remote job to run")
        shooter.both("remote-queue", lambda: window)
        wait_until(app, lambda: all(j.status.is_final for j in window.queue_model.jobs()), 300, "the remote jobs")
        back = window.spawn(window.server.switch_to("This computer"))
        wait_until(app, back.done, 60, "this computer's queue")
    finally:
        live.stop(server.process)


def transcript_and_review(app: QApplication, window: MainWindow, shooter: Shooter, name: str) -> None:
    """The two-speaker transcript (a row per speaker turn) played to about 10 s, then its review."""
    show_job(app, window, name)
    view = window.transcript_view
    wait_until(app, lambda: view.player.duration_seconds() > 0, 30, "the player to load the audio")
    result = view.result()
    assert result is not None
    speakers = {s.speaker for s in result.segments if s.speaker}
    rows = view.segments_model.rowCount()
    print(f"transcript: {len(result.segments)} segments in {rows} turns, speakers {sorted(speakers)}", flush=True)
    seek = next((s.start + 0.3 for s in result.segments if s.end > SEEK_SECONDS + 0.3), SEEK_SECONDS)
    seek = SEEK_SECONDS if any(s.start <= SEEK_SECONDS < s.end for s in result.segments) else seek
    view.player.seek(seek)
    wait_until(app, lambda: abs(view.player.position_seconds() - seek) < 0.3, 10, f"the player at {seek:.1f} s")
    shooter.both("transcript", lambda: window)
    review(app, window, shooter)


def review_only(out: Path, root: Path) -> list[Path]:
    """``transcript_and_review`` on a job of its own: the window, its worker and pyannote's two-speaker sample."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    base = private_environment(root)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    shooter = Shooter(app, Themes(app), out)
    sample = pyannote_sample(root / "audio" / "interview-two-speakers.wav")
    desktop = Desktop(app, base)
    try:
        window = desktop.open()
        window.resize(*SIZE)
        wait_until(app, lambda: window._local.status.workers >= 1, 300, "a worker")
        window.batch_options.diarize_check.setChecked(True)
        window.add_paths([sample])
        wait_until(app, lambda: sample.name in jobs(window), 60, "the sample to be queued")
        window.batch_options.diarize_check.setChecked(False)  # as the full run leaves it
        wait_done(app, window, [sample.name], 900)
        transcript_and_review(app, window, shooter, sample.name)
    finally:
        desktop.close()
    return shooter.written


def run(out: Path, root: Path) -> list[Path]:
    base = private_environment(root)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("STT Studio")
    app.setQuitOnLastWindowClosed(False)
    themes = Themes(app)
    themes.apply("light")
    shooter = Shooter(app, themes, out)

    audio = root / "audio"
    print("making audio…", flush=True)
    sample = pyannote_sample(audio / "interview-two-speakers.wav")
    clips = {name: speech_clip(audio / name, sentences, name) for name, sentences in SHORT_CLIPS.items()}
    lecture = long_clip(audio / "lecture", LONG_CLIP_SECONDS)
    visit = video_clip(audio / "visit", "clinic-visit")

    desktop = Desktop(app, base)
    try:
        window = desktop.open()
        window.resize(*SIZE)
        print("waiting for a worker…", flush=True)
        wait_until(app, lambda: window._local.status.workers >= 1, 300, "a worker")

        # --- first batch: the two-speaker sample with speaker detection, two short clips without ----------------
        window.batch_options.diarize_check.setChecked(True)
        window.add_paths([sample])
        wait_until(app, lambda: sample.name in jobs(window), 60, "the sample to be queued")
        window.batch_options.diarize_check.setChecked(False)
        first = [clips["weather-report"], clips["directions"]]
        window.add_paths(first)
        window.batch_options.prompt_edit.setText(", ".join(VOCABULARY))  # the vocabulary, for the video only
        window.add_paths([visit])
        wait_until(app, lambda: visit.name in jobs(window), 60, "the video to be queued")
        window.batch_options.prompt_edit.clear()
        names = [sample.name, *(p.name for p in first), visit.name]
        print("transcribing the first batch…", flush=True)
        wait_done(app, window, names, 900)
        translation_option(app, window.batch_options, shooter)

        # a finished job's transcript on the right while the next batch runs
        show_job(app, window, "weather-report.wav")

        # --- second batch: a long clip and two short ones queued behind it: the queue mid-run ---------------------
        second = [lecture, clips["office-voicemail"], clips["team-update"]]
        window.add_paths(second)
        window.tabs.setCurrentWidget(window.queue_view)

        def mid_run() -> bool:
            job = jobs(window).get(lecture.name)
            if job is not None and job.status.is_final:
                raise SystemExit(f"{lecture.name} was {job.status.value} before it could be captured part-way")
            return job is not None and job.status == JobStatus.PROCESSING and 15 <= job.progress <= 85

        wait_until(app, mid_run, 600, "the long clip to be part-way")
        shooter.both("queue-running", lambda: window)
        growing_transcript(app, window, shooter, lecture.name)
        wait_done(app, window, [*names, *(p.name for p in second)], 900)

        # --- the two-speaker transcript, played to about 10 s -------------------------------------------------
        transcript_and_review(app, window, shooter, sample.name)
        view = window.transcript_view

        # --- a video under review: its picture above the timeline, mid-playback ---------------------------------
        show_job(app, window, visit.name)
        wait_until(app, lambda: view.player.is_loaded() and view.player.video.isVisible(), 30, "the video to load")
        view.player.play_from(2.0)
        wait_until(app, lambda: view.player.position_seconds() >= 3.2, 30, "the video to play")
        view.player.pause()
        settle(app, 0.5)
        shooter.both("review-video", lambda: window)

        # --- the library with every finished job -------------------------------------------------------------
        window.tabs.setCurrentWidget(window.library_view)
        expected = set(jobs(window))
        wait_until(
            app,
            lambda: (
                {window.library_view.model.entry(r).filename for r in range(window.library_view.model.rowCount())}
                >= expected
            ),
            60,
            "the library to list every job",
        )
        library = window.library_view
        library.table.setFocus()
        sample_id = jobs(window)[sample.name].job_id
        set_current_row(library.table, sample_id, JOB_ID_ROLE)
        library.table.selectionModel().select(
            library.table.currentIndex(),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        shooter.both("library", lambda: window)

        # --- the export dialog for two jobs, the settings dialog -----------------------------------------------
        window.export_jobs([jobs(window)[sample.name].job_id, jobs(window)[lecture.name].job_id])
        export = window.exports.dialog
        assert export is not None
        for fmt, box in export.format_boxes.items():
            box.setChecked(fmt in ("srt", "docx", "nvivo", "html"))
        export.rules_box.guideline_button.click()  # the subtitle rules filled in from Netflix's guideline
        export.folder_edit.setText(str(Path.home() / "Documents" / "Transcripts"))
        shooter.both("export-dialog", dialog_target(app, export))
        export.reject()

        find_speakers_dialog(app, shooter, window)
        transcribe_again_dialog(app, shooter, window)

        window.open_settings()
        settings = window.settings_dialog
        shooter.both("settings", dialog_target(app, settings))
        settings.reject()
        settle(app)
        help_dialogs(app, window, shooter)
        voice_library_dialog(app, window, shooter, root / "voice-clips")
        save_voice_dialog(app, shooter, window)
        add_voice_dialog(app, shooter, window)
        gpu_status_bar(window, shooter)
        server_roles(app, window, shooter, root, [clips["directions"], clips["team-update"], lecture])
    finally:
        print("quitting…", flush=True)
        desktop.close()
    return shooter.written


def translation_option(app: QApplication, bar: BatchOptionsBar, shooter: Shooter) -> None:
    """The "New files" bar with "Translate to English" on: for base, then for tiny.en with its notice."""
    model = bar.model_combo.currentText()
    bar.translate_check.setChecked(True)
    for chosen in ("base", "tiny.en"):
        bar.model_combo.setCurrentText(chosen)
        settle(app)
        shooter.both(f"batch-options-translate-{chosen}", lambda: bar)
    bar.translate_check.setChecked(False)
    bar.model_combo.setCurrentText(model)


def find_speakers_dialog(app: QApplication, shooter: Shooter, parent: QWidget | None) -> None:
    """Find speakers again on the two-speaker sample found with three: a range of 2 to 3 asked."""
    dialog = FindSpeakersDialog("interview-two-speakers.wav", 3, parent)
    dialog.range_button.setChecked(True)
    dialog.min_spin.setValue(2)
    dialog.max_spin.setValue(3)
    dialog.show()
    shooter.both("find-speakers-dialog", dialog_target(app, dialog))
    dialog.reject()


def transcribe_again_dialog(app: QApplication, shooter: Shooter, parent: QWidget | None) -> None:
    """Transcribe again: a tiny.en job, base chosen (its language left to detect)."""
    dialog = TranscribeAgainDialog("interview-two-speakers.wav", "tiny.en", None, parent)
    dialog.model_combo.setCurrentText("base")
    dialog.show()
    shooter.both("transcribe-again-dialog", dialog_target(app, dialog))
    dialog.reject()


VOICES = {
    "Diane Okafor": [
        (14.2, "job:6f1c2a9e0b47 speaker SPEAKER_00", "agreed in person, 2026-11-30"),
        (9.6, "job:a83d51c07e22 speaker SPEAKER_01", "agreed in person, 2026-11-30"),
    ],
    "Sheila Moreau": [(21.0, "sheila-introduction.wav", "signed form, 2026-12-02")],
    "Dr. Chen": [(11.4, "job:0c9e7b13d5f8 speaker SPEAKER_00", "agreed by email, 2026-10-14")],
}
OLDER_SPEAKER_MODEL = "campplus-192:5d0e1f77a2c3b904"
"""Dr. Chen was enrolled under this one: the dialog marks the voice as needing a refresh."""


def seed_voices(library: VoiceLibrary, current_model: str, clips: Path) -> None:
    """``VOICES`` as enrolling leaves them (vectors made up: the dialog never shows them)."""
    clips.mkdir(parents=True, exist_ok=True)
    for n, (name, samples) in enumerate(VOICES.items()):
        model = OLDER_SPEAKER_MODEL if name == "Dr. Chen" else current_model
        voice_id: str | None = None
        for i, (seconds, source, consent) in enumerate(samples):
            clip = clips / f"{n}-{i}.wav"
            clip.write_bytes(b"RIFF")
            sample = NewSample((1.0, float(n), float(i)), model, clip, seconds, source, consent)
            if voice_id is None:
                voice_id = library.add_voice(name, sample).id
            else:
                library.add_sample(voice_id, sample)


def choose_voice(dialog: VoiceLibraryDialog, name: str) -> None:
    names = [
        item.text() if (item := dialog.voices_table.item(r, 0)) else "" for r in range(dialog.voices_table.rowCount())
    ]
    dialog.voices_table.selectRow(names.index(name))


def voice_library_target(app: QApplication, dialog: QDialog) -> Capture:
    """At the dialog's own size (``dialog_target``'s adjustSize stops at two thirds of the offscreen screen)."""

    def grab() -> QWidget:
        dialog.resize(dialog.sizeHint())
        settle(app, 0.2)
        return dialog

    return grab


def voice_library_dialog(app: QApplication, window: MainWindow, shooter: Shooter, clips: Path) -> None:
    """Review → Voice library… on this computer's library: three voices, Diane's two samples shown."""
    settings = window._local.settings
    seed_voices(VoiceLibrary.in_data_dir(settings.data_dir), current_embedding_model(settings) or "", clips)
    controller = window.voice_library.open()
    task = controller.last_task
    assert task is not None
    wait_until(app, task.done, 30, "the voice library to load")
    choose_voice(controller.dialog, "Diane Okafor")
    shooter.both("voice-library", voice_library_target(app, controller.dialog))
    controller.dialog.reject()
    settle(app)


def save_voice_dialog(app: QApplication, shooter: Shooter, parent: QWidget | None) -> None:
    """Save voice to library on an interview: the second speaker, named Diane Okafor in review, added to her voice
    (the first speaker has under 10 s of clean speech: choosing it would show the caution)."""
    where = "From “interview-two-speakers.wav” into this computer's voice library"
    speakers = [
        SpeakerChoice("SPEAKER_00", "Speaker 1", "", 9.2),
        SpeakerChoice("SPEAKER_01", "Diane Okafor", "Diane Okafor", 16.8),
    ]
    assert speakers[0].seconds < WARN_SECONDS <= speakers[1].seconds
    dialog = SaveVoiceDialog(where, speakers, "SPEAKER_01", parent)
    dialog.show()
    settle(app)
    dialog.consent_check.setChecked(True)
    seconds = 14.2, 9.6, 16.8
    samples = tuple(
        SampleSummary(f"s_{i:012x}", f"job:{i:012x} speaker SPEAKER_01", datetime.now(timezone.utc), "agreed", s)
        for i, s in enumerate(seconds)
    )
    voice = VoiceSummary("v_000000000001", "Diane Okafor", sum(seconds), False, samples)
    dialog.show_saved(EnrollOutcome(voice, True, 16.8, None))
    shooter.both("save-voice", voice_library_target(app, dialog))
    dialog.reject()


def voice_chips(app: QApplication, shooter: Shooter) -> None:
    """The speaker chips under a transcript's header (named ✓, a suggestion, sounds like — merge?, unknown), and the
    menu of the suggested one (Accept / Not Robert)."""
    from stt_studio.engine.result import Segment, SpeakerSummary, TranscriptionResult, VoiceCandidate
    from stt_studio.ui.speakers import SpeakerPalette
    from stt_studio.ui.views.transcript_view import TranscriptHeader
    from stt_studio.ui.voices.chips import SpeakerChips

    diane = VoiceCandidate(voice_id="v_1", name="Diane Okafor", score=0.91)
    summaries = [
        SpeakerSummary(speaker="SPEAKER_00", speaking_time=312.0, name="Diane Okafor", voice_id="v_1", match="auto",
                       score=0.91, margin=0.3, candidates=[diane]),
        SpeakerSummary(speaker="SPEAKER_01", speaking_time=280.0, name="Robert Lindqvist", voice_id="v_2",
                       match="suggested", score=0.72, margin=0.1),
        SpeakerSummary(speaker="SPEAKER_02", speaking_time=41.0, match="unknown",
                       also_sounds_like=diane.model_copy(update={"score": 0.74})),
        SpeakerSummary(speaker="SPEAKER_03", speaking_time=12.0, match="unknown"),
    ]  # fmt: skip
    segments = [Segment(id=i, start=i * 5.0, end=i * 5.0 + 4.0, text="…", speaker=s.speaker)
                for i, s in enumerate(summaries)]  # fmt: skip
    result = TranscriptionResult(text="…", language="en", duration=645.0, segments=segments, processing_time=61.2,
                                 model="large-v3", device="cuda", compute_type="float16", word_timestamps="wav2vec2",
                                 speakers=summaries)  # fmt: skip
    job = JobView(job_id="j", status=JobStatus.COMPLETED, filename="interview-four-speakers.wav",
                  completed_at=datetime.now(timezone.utc))  # fmt: skip
    header = TranscriptHeader()
    header.show_job(job, result, 4)
    chips = SpeakerChips(header)
    layout = header.layout()
    assert layout is not None
    layout.addWidget(chips)
    chips.show_result(result, SpeakerPalette.for_result(result))
    header.resize(900, header.sizeHint().height())
    header.show()
    settle(app)

    def grab_header() -> QWidget:
        header.apply_colors()
        header.resize(900, header.sizeHint().height())
        settle(app, 0.2)
        return header

    shooter.both("voice-chips", grab_header)
    menu = chips.open_chip("SPEAKER_01")
    assert menu is not None

    def grab_menu() -> QWidget:
        menu.ensurePolished()
        menu.adjustSize()
        settle(app, 0.2)
        return menu

    shooter.both("voice-chip-menu", grab_menu)
    menu.close()

    # "Play Robert Lindqvist's sample": the player bar under the chips, on a real clip, paused two seconds in
    from stt_studio.ui.views.player import PlayerBar
    from stt_studio.ui.voices.sample_player import VoiceSamplePlayer
    from tests.sample_clips import SPEAKER91_LONG, cut

    with tempfile.TemporaryDirectory(prefix="stt-sample-") as folder:
        transcript_player = PlayerBar()
        sample_player = VoiceSamplePlayer(transcript_player, header)
        layout.addWidget(sample_player)
        sample_player.play("Robert Lindqvist", cut(Path(folder) / "sample.flac", SPEAKER91_LONG))
        wait_until(app, sample_player.player.is_playing, 30, "the sample to play")
        settle(app, 2.0)
        sample_player.player.pause()
        shooter.both("voice-sample-player", grab_header)
        sample_player.stop()
        transcript_player.close()
    header.close()


def add_voice_dialog(app: QApplication, shooter: Shooter, parent: QWidget | None) -> None:
    """Voice library → Add voice… on a file of two voices: the choice of them, after the first Add."""
    dialog = AddVoiceDialog(parent)
    dialog.show()
    settle(app)
    dialog.set_clip(Path("/home/me/Recordings/panel-excerpt.m4a"))
    dialog.name_edit.setText("Diane Okafor")
    dialog.consent_check.setChecked(True)
    dialog.show_speakers((ClipSpeakerSummary("SPEAKER_01", 8.4, 0.0), ClipSpeakerSummary("SPEAKER_00", 4.6, 1.7)))
    shooter.both("add-voice", voice_library_target(app, dialog))
    dialog.reject()


def voices_only(out: Path, root: Path) -> list[Path]:
    """The Voice library dialog alone, on a library folder of ``VOICES`` (no window, no worker: seconds)."""
    base = private_environment(root)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    shooter = Shooter(app, Themes(app), out)
    library = VoiceLibrary.in_data_dir(base.data_dir)
    model = current_embedding_model(base)
    seed_voices(library, model or "", root / "clips")
    dialog = VoiceLibraryDialog(f"This computer's voice library ({library.folder})", moves_archives=True)
    dialog.show_listing(VoiceListing([VoiceSummary.of(v, model) for v in library.voices()], []))
    dialog.show()
    choose_voice(dialog, "Diane Okafor")
    shooter.both("voice-library", voice_library_target(app, dialog))
    dialog.reject()
    save_voice_dialog(app, shooter, None)
    voice_chips(app, shooter)
    add_voice_dialog(app, shooter, None)
    return shooter.written


def find_speakers_only(out: Path) -> list[Path]:
    """``find_speakers_dialog`` and ``transcribe_again_dialog`` alone (no worker, no audio: seconds)."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    shooter = Shooter(app, Themes(app), out)
    find_speakers_dialog(app, shooter, None)
    transcribe_again_dialog(app, shooter, None)
    return shooter.written


def batch_options_only(out: Path) -> list[Path]:
    """``translation_option`` on the bar alone, at the window's width (no worker, no audio: seconds)."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    shooter = Shooter(app, Themes(app), out)
    bar = BatchOptionsBar()
    bar.resize(SIZE[0], bar.sizeHint().height())
    bar.show()
    translation_option(app, bar, shooter)
    return shooter.written


def settings_only(out: Path, root: Path) -> list[Path]:
    """The settings dialog alone (seconds): with the report a tiny.en worker on this CPU gives (the same as the full
    run's), and with a made-up GeForce GTX 1080 worker's report while float16, which that card lacks, is saved."""
    import ctranslate2

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    shooter = Shooter(app, Themes(app), out)
    token_location = f"file {root / 'config' / 'hf_token'}"
    cpu = WorkerInfo(name="w", pid=0, model="tiny.en", device="cpu", compute_type="int8", requested_device="cpu",
                     supported_compute_types=sorted(ctranslate2.get_supported_compute_types("cpu")))  # fmt: skip
    pascal = WorkerInfo(name="w", pid=0, model="tiny.en", device="cuda", compute_type="int8_float32",
                        requested_device="cuda", gpu_name="GeForce GTX 1080", torch_device="cpu",
                        supported_compute_types=["float32", "int8", "int8_float32"])  # fmt: skip
    shots = (
        ("settings", Preferences(model="tiny.en", device="cpu"), cpu),
        ("settings-compute-type-unavailable", Preferences(model="tiny.en", compute_type="float16"), pascal),
    )
    for name, preferences, report in shots:  # fmt: skip
        dialog = SettingsDialog(preferences, None, MODEL_CHOICES, token_location=token_location, in_use=report)
        dialog.show()
        shooter.both(name, dialog_target(app, dialog))
        dialog.reject()
    return shooter.written


def growing_only(out: Path, root: Path) -> list[Path]:
    """``growing_transcript`` on a job of its own: the window, its worker and one sparse clip (about a minute)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    base = private_environment(root)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    shooter = Shooter(app, Themes(app), out)
    clip = sparse_clip(root / "audio" / "sparse", SENTENCES[1:10], "meeting-notes")
    desktop = Desktop(app, base)
    try:
        window = desktop.open()
        window.resize(*SIZE)
        wait_until(app, lambda: window._local.status.workers >= 1, 300, "a worker")
        window.batch_options.diarize_check.setChecked(True)  # the aligned rows show while the speakers are found
        window.add_paths([clip])
        wait_until(app, lambda: clip.name in jobs(window), 60, "the clip to be queued")
        growing_transcript(app, window, shooter, clip.name, aligned_too=True)
    finally:
        desktop.close()
    return shooter.written


def playback_off(out: Path) -> list[Path]:
    """The transcript view's player bar on a system without the PulseAudio client: its few words (the whole
    reason and the install command in its tooltip) instead of working controls."""
    from stt_studio.ui.views.player import PlayerBar

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    shooter = Shooter(app, Themes(app), out)
    strip = QWidget()
    bar = PlayerBar(strip)
    if not bar.playback_off:
        raise SystemExit("QtMultimedia loaded: run this where libpulse.so.0 is missing (see --playback-off)")
    bar.load(None)
    bar.setGeometry(8, 8, SIZE[0] - 16, bar.sizeHint().height())
    strip.resize(SIZE[0], bar.height() + 16)
    strip.show()
    shooter.both("player-playback-off", lambda: strip)
    return shooter.written


def playback_off_in_namespace(out: Path) -> None:
    """Run ``--playback-off`` again where libpulse.so.0 is hidden (this process has QtMultimedia's libraries)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--playback-off", "--out", str(out), "--hidden"]
    subprocess.run(without(["libpulse.so.0"], command), check=True)


def welcome_only(out: Path, root: Path) -> list[Path]:
    """The first-run welcome step with this machine's real speed probe, then its download of a model in progress,
    and Settings → Models during that download: the real download child against the stand-in hub (tests/hub_server)
    serving the real tiny weights as 'small', padded to small's size (about a minute in all)."""
    import json

    from stt_studio.engine.model_catalog import known_model
    from stt_studio.engine.models import bundled_files
    from stt_studio.engine.speed_probe import report_from_json
    from stt_studio.ui.model_downloads.dialog import ModelsDialog
    from stt_studio.ui.model_downloads.downloader import ModelDownloader
    from stt_studio.ui.welcome.dialog import WelcomeDialog
    from tests.hub_server import FakeHub, running

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    shooter = Shooter(app, Themes(app), out)
    probe = subprocess.run([sys.executable, "-m", "stt_studio.engine.speed_probe"], capture_output=True, text=True,
                           check=True, timeout=300).stdout  # fmt: skip
    report = report_from_json(json.loads(probe.splitlines()[-1]))
    weights = {p.name: p.read_bytes() for p in bundled_files("tiny.en")}
    # padded to small's real size, so the bytes the dialog shows are small's (the download is cancelled before its
    # end: nothing reads the padding)
    small = known_model("small")
    assert small is not None
    weights["model.bin"] += bytes(small.download_mb * 1_000_000 - sum(len(data) for data in weights.values()))
    with running(FakeHub({small.repo_id: weights}, bytes_per_second=40_000_000)) as hub:
        os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0")  # the download child inherits them
        downloader = ModelDownloader(root / "models", offline=False)
        welcome = WelcomeDialog(downloader, report=report)
        welcome.show()
        shooter.both("welcome", dialog_target(app, welcome))
        welcome.radios["small"].setChecked(True)
        welcome.choose_button.click()
        box = welcome.progress_box
        assert box is not None
        wait_until(app, lambda: 0.25 < box.fraction < 0.6 and "left" in box.text_label.text(), 120, "the download")
        shooter.both("welcome-download", dialog_target(app, welcome))
        models = ModelsDialog(downloader, "base")
        models.show()
        shooter.both("models-download", lambda: models)
        downloader.cancel_all()
        welcome.reject()
        models.reject()
    return shooter.written


def live_only(out: Path, root: Path) -> list[Path]:
    """The recording panel (Record, Ctrl+Shift+R) on a private PulseAudio (tests/pulse.py): its source picker open,
    then recording the null sink's monitor while espeak-ng sentences play into the sink, with the live text of the
    live worker (tiny.en on the CPU): final words, and the provisional ones greyed (about a minute)."""
    from PySide6.QtGui import QPainter, QPixmap

    from tests.pulse import MONITOR, SINK, private_pulseaudio

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    base = private_environment(root)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    shooter = Shooter(app, Themes(app), out)
    clip = speech_clip(root / "audio" / "live", SENTENCES[:5], "live")
    with private_pulseaudio(root / "pulse") as pulse:
        for key in ("XDG_RUNTIME_DIR", "HOME"):
            os.environ[key] = pulse[key]
        os.environ.pop("PULSE_SERVER", None)
        desktop = Desktop(app, base)
        try:
            window = desktop.open()
            window.resize(*SIZE)
            window.live.action.trigger()
            panel = window.live.panel
            assert panel is not None
            wait_until(app, lambda: panel.source_combo.count() > 0, 30, "the sources")
            combo = panel.source_combo
            combo.setCurrentIndex(combo.findData(MONITOR))
            for theme in ("light", "dark"):
                shooter.themes.apply(theme)
                combo.showPopup()
                settle(app, 0.5)
                popup = combo.view().window()
                at = panel.mapFromGlobal(popup.mapToGlobal(popup.rect().topLeft()))
                area = panel.rect().united(popup.rect().translated(at))  # Fusion opens it over the combo, upwards
                picture = QPixmap(area.size())
                picture.fill(panel.palette().color(QPalette.ColorRole.Window))
                painter = QPainter(picture)
                painter.drawPixmap(-area.topLeft(), panel.grab())
                painter.drawPixmap(at - area.topLeft(), popup.grab())
                painter.end()
                combo.hidePopup()
                path = out / f"live-sources-{theme}.png"
                if not picture.save(str(path)):
                    raise SystemExit(f"could not write {path}")
                shooter.written.append(path)
            shooter.themes.apply("light")
            panel.record_button.click()
            wait_until(app, lambda: panel.status.text().startswith("Recording to "), 60, "the recording")
            player = subprocess.Popen(["paplay", "-d", SINK, str(clip)], env=pulse)
            text = panel.live_text
            wait_until(app, lambda: text.final_text.count(".") >= 3 and bool(text.provisional_text), 180, "live text")
            runner = window.live.runner
            assert runner is not None
            runner.blockSignals(True)  # the same text in both palettes
            shooter.both("live-recording", lambda: panel)
            shooter.both("live-draft", lambda: window)  # the live draft in the transcript's place
            runner.blockSignals(False)
            player.wait(60)
            panel.stop_button.click()
            wait_until(app, lambda: bool(window.live.queued_job_ids), 300, "the recording queued")
            panel.hide()
            shooter.both("live-draft-queued", lambda: window)  # the draft stays while the job runs
            job_id = window.live.queued_job_ids[0]
            view = window.transcript_view
            wait_until(app, lambda: (job := view.job()) is not None and job.job_id == job_id, 300, "its transcript")
            settle(app, 1.0)
            shooter.both("live-draft-replaced", lambda: window)  # the job's transcript has replaced the draft
            _live_remote(shooter, window, root, pulse, clip)
        finally:
            desktop.close()
    return shooter.written


def _live_remote(shooter: Shooter, window: MainWindow, root: Path, pulse: dict[str, str], clip: Path) -> None:
    """Recording in remote mode: the panel says the live text comes from the server, whose /live sends it."""
    from tests.pulse import SINK

    app = shooter.app
    server = live.RemoteServer(root / "remote-live", window._local.settings.resolved_models_dir)
    try:
        window.server.connections.save(Profile(name="Vast.ai 4090", url=server.url), live.KEY)
        switched = window.spawn(window.server.switch_to("Vast.ai 4090"))
        wait_until(app, switched.done, 60, "the remote queue")
        panel = window.live.panel
        assert panel is not None
        panel.show()
        panel.record_button.click()
        wait_until(app, lambda: panel.status.text().endswith("(live text from the server)"), 120, "the stream")
        player = subprocess.Popen(["paplay", "-d", SINK, str(clip)], env=pulse)
        text = panel.live_text
        wait_until(app, lambda: text.final_text.count(".") >= 3 and bool(text.provisional_text), 180, "live text")
        runner = window.live.runner
        assert runner is not None
        runner.blockSignals(True)
        shooter.both("live-recording-remote", lambda: panel)
        shooter.both("live-draft-remote", lambda: window)
        runner.blockSignals(False)
        player.wait(60)
        queued = len(window.live.queued_job_ids)
        panel.stop_button.click()
        wait_until(app, lambda: len(window.live.queued_job_ids) > queued, 300, "the server's job")
        back = window.spawn(window.server.switch_to("This computer"))
        wait_until(app, back.done, 60, "this computer's queue")
    finally:
        live.stop(server.process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir (its path is printed)")
    parser.add_argument("--playback-off", action="store_true", help="only the player bar without libpulse.so.0")
    parser.add_argument("--batch-options", action="store_true", help="only the New files bar with translation on")
    parser.add_argument("--find-speakers", action="store_true", help="only the run-again dialogs")
    parser.add_argument("--growing", action="store_true", help="only a running job's transcript growing")
    parser.add_argument("--review", action="store_true", help="only the two-speaker transcript and its review")
    parser.add_argument(
        "--voices", action="store_true", help="only the voice dialogs and the speaker chips"
    )
    parser.add_argument("--settings", action="store_true", help="only the Settings dialog (made-up worker reports)")
    parser.add_argument("--welcome", action="store_true", help="only the welcome step and a download")
    parser.add_argument("--live", action="store_true", help="only the recording panel (a private PulseAudio)")
    parser.add_argument("--hidden", action="store_true", help=argparse.SUPPRESS)  # already without libpulse.so.0
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.batch_options or args.find_speakers:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        for path in batch_options_only(out) if args.batch_options else find_speakers_only(out):
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size:,} bytes")
        return 0
    if args.playback_off and not args.hidden:
        playback_off_in_namespace(out)
        return 0
    if args.playback_off:
        for path in playback_off(out):
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size:,} bytes")
        return 0
    root = Path(tempfile.mkdtemp(prefix="stt-screenshots-"))
    print(f"data and config in {root}", flush=True)
    try:
        if args.welcome:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            written = welcome_only(out, root)
        elif args.live:
            written = live_only(out, root)
        elif args.review:
            written = review_only(out, root)
        elif args.voices or args.settings:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            written = voices_only(out, root) if args.voices else settings_only(out, root)
        else:
            written = growing_only(out, root) if args.growing else run(out, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for path in written:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
