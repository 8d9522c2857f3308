"""What the Voice library dialog does: each request goes to the window's ``VoiceService`` (this machine's
library or the connected server's) off the GUI thread, and the dialog shows the outcome: the library read again,
a refused name under the name field, anything else refused in its status line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from stt_studio.ui.voices.add_dialog import CONSENT_NOTE, AddVoiceDialog
from stt_studio.ui.voices.dialog import VoiceLibraryDialog
from stt_studio.ui.voices.service import SeveralVoicesError, VoiceNameError, VoiceRefusedError, VoiceService

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


def _voices(count: int) -> str:
    return f"{count} voice{'s' if count != 1 else ''}"


class VoiceLibraryController(QObject):
    def __init__(self, service: VoiceService, dialog: VoiceLibraryDialog, spawn: Spawn) -> None:
        super().__init__(dialog)
        self.service = service
        self.dialog = dialog
        self._spawn = spawn
        self.last_task: asyncio.Future[Any] | None = None
        """The request in flight or done last (tests wait for it)."""
        dialog.rename_requested.connect(lambda voice_id, name: self._do(self._rename(voice_id, name)))
        dialog.delete_voice_requested.connect(lambda voice_id: self._do(self._delete_voice(voice_id)))
        dialog.delete_sample_requested.connect(lambda v, s: self._do(self._delete_sample(v, s)))
        dialog.export_requested.connect(lambda target: self._do(self._export(target)))
        dialog.import_requested.connect(lambda source: self._do(self._import(source)))
        dialog.add_voice_requested.connect(self.open_add_voice)
        dialog.refresh_requested.connect(lambda: self._do(self._refresh_voices()))
        self.add_dialog: AddVoiceDialog | None = None
        """Add voice… open now or last (tests drive it)."""
        dialog.finished.connect(lambda _result: service.close())

    def idle(self) -> bool:
        return self.last_task is None or self.last_task.done()

    def refresh(self) -> asyncio.Future[Any]:
        return self._do(self._show_listing())

    def _do(self, step: Coroutine[Any, Any, None]) -> asyncio.Future[Any]:
        async def guarded() -> None:
            self.dialog.set_busy(True)
            try:
                await step
            except VoiceRefusedError as exc:
                self.dialog.show_status(str(exc), problem=True)
            finally:
                self.dialog.set_busy(False)

        self.last_task = self._spawn(guarded())
        return self.last_task

    def open_add_voice(self) -> AddVoiceDialog:
        add = AddVoiceDialog(self.dialog)
        add.add_requested.connect(lambda clip, name, speaker: self._do(self._add_voice(add, clip, name, speaker)))
        self.add_dialog = add
        add.open()
        return add

    async def _add_voice(self, add: AddVoiceDialog, clip: Path, name: str, speaker: str | None) -> None:
        add.set_busy(True)
        try:
            outcome = await self.service.enroll_clip(clip, name, CONSENT_NOTE, speaker)
        except SeveralVoicesError as exc:
            add.show_speakers(exc.speakers)
            return
        except VoiceRefusedError as exc:
            add.show_refused(str(exc))
            return
        finally:
            add.set_busy(False)
        add.show_added(outcome)
        await self._show_listing()
        self.dialog.show_status(f"Voice “{outcome.voice.name}” added from {clip.name}")

    async def _show_listing(self) -> None:
        self.dialog.show_listing(await self.service.listing())

    async def _rename(self, voice_id: str, name: str) -> None:
        try:
            voice = await self.service.rename(voice_id, name)
        except VoiceNameError as exc:
            self.dialog.show_name_error(str(exc))
            return
        await self._show_listing()
        self.dialog.show_status(f"Renamed to “{voice.name}”")

    async def _delete_voice(self, voice_id: str) -> None:
        await self.service.delete_voice(voice_id)
        await self._show_listing()
        self.dialog.show_status("Voice deleted")

    async def _delete_sample(self, voice_id: str, sample_id: str) -> None:
        voice_went = await self.service.delete_sample(voice_id, sample_id)
        await self._show_listing()
        self.dialog.show_status("Sample and voice deleted (it was the last sample)" if voice_went else "Sample deleted")

    async def _refresh_voices(self) -> None:
        self.dialog.show_status("Embedding the older samples' clips again…")
        outcome = await self.service.refresh_voices()
        await self._show_listing()
        samples = f"{outcome.refreshed} sample{'s' if outcome.refreshed != 1 else ''}"
        said = f"Refreshed {samples} with the speaker model in use now"
        self.dialog.show_status(" ".join([said + ".", *outcome.problems]), problem=bool(outcome.problems))

    async def _export(self, target: Path) -> None:
        count = await self.service.export_archive(target)
        self.dialog.show_status(f"Exported {_voices(count)} to {target}")

    async def _import(self, source: Path) -> None:
        count = await self.service.import_archive(source)
        await self._show_listing()
        self.dialog.show_status(
            f"Imported {_voices(count)} from {source.name}" if count else f"{source.name} holds nothing new"
        )
