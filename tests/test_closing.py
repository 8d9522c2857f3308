"""Closing is honest (issue 26): "Stop after current job" waits for the job with the app alive, and starting
``stt-studio`` meanwhile (the single-instance hand-over calls ``activate_with``) calls the quit off and brings back
a live window whose workers take jobs again, on the real window with a real worker and real speech."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stt_studio.jobs.models import JobStatus
from stt_studio.ui.closing import CALLED_OFF, STOP_TEXT
from tests.desktop import Desktop, statuses, wait_until
from tests.modes import open_window

pytestmark = [pytest.mark.slow]


def test_opening_again_calls_off_a_quit_after_the_current_job(
    desktop: Desktop, tmp_path: Path, sentences_wav: Path, short_wav: Path
) -> None:
    app = desktop.app
    window = open_window(desktop, "local", None)
    running = Path(shutil.copy(sentences_wav, tmp_path / "running.wav"))
    waiting = Path(shutil.copy(short_wav, tmp_path / "waiting.wav"))
    window.add_paths([running, waiting])
    wait_until(app, lambda: statuses(window).get("running.wav") == JobStatus.PROCESSING, 180, "the first job to run")
    supervisor = window._local._supervisor
    assert supervisor is not None
    first_workers = set(supervisor.pids)

    window.request_quit()
    box = window.closing.box
    assert box is not None
    next(b for b in box.buttons() if b.text() == STOP_TEXT).click()
    assert not window.isVisible() and window.closing.pending and not window.has_quit

    window.activate_with([])  # `stt-studio` started again while the job runs
    assert window.isVisible() and not window.closing.pending
    assert any(n.title == CALLED_OFF for n in window.notices.notices)

    # the window is live (the queue moves on) and the workers take the next job: nothing was shut down
    wait_until(app, lambda: statuses(window).get("waiting.wav") == JobStatus.COMPLETED, 300,
               f"both jobs to be transcribed: {statuses(window)}")  # fmt: skip
    assert statuses(window)["running.wav"] == JobStatus.COMPLETED
    assert set(supervisor.pids) and not set(supervisor.pids) & first_workers  # the drained worker was replaced
    assert window.isVisible() and not window.has_quit
