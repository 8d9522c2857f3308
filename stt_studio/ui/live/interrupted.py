"""At the window's start, recordings that a crash or kill interrupted are offered once each, as a notice:
"12 min from 14:02 — transcribe it?" with Transcribe (kept and queued), Keep (kept, not queued) and Discard."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from stt_studio.live.recording import InterruptedRecording, interrupted_recordings, recordings_dir, recover
from stt_studio.ui.live.controller import queue_recordings
from stt_studio.ui.views.notices import Notice, Tone

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

TRANSCRIBE, KEEP, DISCARD = "Transcribe", "Keep", "Discard"


def offer_title(recording: InterruptedRecording) -> str:
    return f"An interrupted recording: {recording.describe()} — transcribe it?"


class InterruptedRecordings:
    def __init__(self, window: MainWindow, data_dir: Path) -> None:
        self.window = window
        self.data_dir = data_dir
        self.notices: dict[str, Notice] = {}
        """The offer shown for each recording, by its id (tests read them)."""

    async def offer(self) -> None:
        found = await asyncio.get_running_loop().run_in_executor(None, interrupted_recordings, self.data_dir)
        for recording in found:
            rid = recording.info.id
            self.notices[rid] = self.window.notices.show_notice(
                offer_title(recording),
                [f"Kept in {recording.info.path} (from {recording.info.source}); the app stopped while it recorded."],
                Tone.INFO,
                [
                    (TRANSCRIBE, partial(self._act, recording, transcribe=True)),
                    (KEEP, partial(self._act, recording, transcribe=False)),
                    (DISCARD, partial(self._discard, recording)),
                ],
            )

    def _act(self, recording: InterruptedRecording, *, transcribe: bool) -> None:
        self._close(recording)
        self.window.spawn(self._keep(recording, transcribe=transcribe))

    async def _keep(self, recording: InterruptedRecording, *, transcribe: bool) -> None:
        info = await asyncio.get_running_loop().run_in_executor(None, recover, self.data_dir, recording)
        if transcribe:
            await queue_recordings(self.window, [info.path])
        else:
            self.window.statusBar().showMessage(f"Kept {info.path}", 8000)

    def _discard(self, recording: InterruptedRecording) -> None:
        self._close(recording)
        folder = recordings_dir(self.data_dir)
        for path in (recording.info.path, folder / f"{recording.info.id}.json", folder / f"{recording.info.id}.lock"):
            path.unlink(missing_ok=True)
        self.window.statusBar().showMessage(f"Discarded the recording of {recording.describe()}", 8000)

    def _close(self, recording: InterruptedRecording) -> None:
        self.notices.pop(recording.info.id, None)  # the notice closes itself after its button's action
