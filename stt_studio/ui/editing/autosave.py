"""Saving the transcript under review: shortly after the last edit, as the job's reviewed transcript, on the
condition that nobody else saved it meanwhile (the version read, its ETag, is sent along)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from enum import Enum
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.review import StoredTranscript, TranscriptInvalidError, TranscriptVersionError

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 1500
"""After the last edit: a burst of edits (typing, F3 and marking words) is one save."""

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Future[Any]"]


class TranscriptStorage(Protocol):
    """Where reviewed transcripts are kept: the JobService."""

    async def transcript(self, job_id: str) -> StoredTranscript: ...

    async def save_transcript(self, job_id: str, result: TranscriptionResult, etag: str | None) -> str: ...

    async def revert_transcript(self, job_id: str, etag: str | None) -> StoredTranscript: ...


class SaveState(Enum):
    ORIGINAL = "Engine output"
    SAVED = "Reviewed · all changes saved"
    PENDING = "Edited · saving shortly"
    SAVING = "Saving…"
    CONFLICT = "Not saved: changed elsewhere"
    FAILED = "Not saved"


class AutoSaver(QObject):
    state_changed = Signal(object)
    """A SaveState."""
    conflict = Signal(str)
    """Someone else saved this transcript since it was read: the version now stored. Nothing more is saved until
    ``overwrite`` or a reload (``attach``)."""
    failed = Signal(str)
    """The transcript could not be saved: why."""

    def __init__(
        self, storage: TranscriptStorage, spawn: Spawn, delay_ms: int = AUTOSAVE_DELAY_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._storage = storage
        self._spawn = spawn
        self._job_id: str | None = None
        self._etag: str | None = None
        self._pending: TranscriptionResult | None = None
        self._state = SaveState.ORIGINAL
        self._lock = asyncio.Lock()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(lambda: self._spawn(self._save_pending()))

    @property
    def state(self) -> SaveState:
        return self._state

    @property
    def etag(self) -> str | None:
        return self._etag

    @property
    def job_id(self) -> str | None:
        return self._job_id

    def attach(self, job_id: str | None, etag: str | None, *, reviewed: bool) -> None:
        """A transcript was opened (or reloaded, or reverted): version ``etag``, nothing left to save."""
        self._timer.stop()
        self._job_id, self._etag, self._pending = job_id, etag, None
        self._set_state(SaveState.SAVED if reviewed else SaveState.ORIGINAL)

    def schedule(self, result: TranscriptionResult) -> None:
        """``result`` is the transcript now: save it once the edits pause."""
        if self._job_id is None:
            return
        self._pending = result
        if self._state != SaveState.CONFLICT:  # the user decides first: reload or overwrite
            self._set_state(SaveState.PENDING)
            self._timer.start()

    async def flush(self) -> None:
        """Save now whatever is waiting (before another transcript is shown, before quitting)."""
        self._timer.stop()
        if self._state != SaveState.CONFLICT:
            await self._save_pending()

    async def overwrite(self, current_etag: str) -> None:
        """After a conflict: store this version over the one saved elsewhere."""
        self._etag = current_etag
        self._set_state(SaveState.PENDING)
        await self._save_pending()

    async def reload(self) -> StoredTranscript | None:
        """After a conflict: the version stored now (this one's edits are dropped)."""
        if self._job_id is None:
            return None
        stored = await self._storage.transcript(self._job_id)
        self.attach(self._job_id, stored.etag, reviewed=stored.reviewed)
        return stored

    async def revert(self) -> StoredTranscript | None:
        """Make the engine's transcript current again; edits not yet saved are dropped."""
        if self._job_id is None:
            return None
        self._timer.stop()
        self._pending = None
        async with self._lock:
            stored = await self._storage.revert_transcript(self._job_id, self._etag)
        self.attach(self._job_id, stored.etag, reviewed=False)
        return stored

    async def _save_pending(self) -> None:
        async with self._lock:  # one save at a time, in order; a save waiting here takes what is pending then
            while self._pending is not None and self._job_id is not None and self._state != SaveState.CONFLICT:
                job_id, result, self._pending = self._job_id, self._pending, None
                self._set_state(SaveState.SAVING)
                try:
                    etag = await self._storage.save_transcript(job_id, result, self._etag)
                except TranscriptVersionError as error:
                    if self._pending is None:
                        self._pending = result
                    self._set_state(SaveState.CONFLICT)
                    self.conflict.emit(error.current_etag)
                    return
                except TranscriptInvalidError as error:  # the store's checks: the message says what
                    self._fail(job_id, str(error))
                    return
                except Exception as error:  # a background save reports, it does not crash
                    log.exception("Saving the transcript of %s failed", job_id)
                    self._fail(job_id, str(error) or type(error).__name__)
                    return
                if job_id == self._job_id:
                    self._etag = etag
            if self._state == SaveState.SAVING:
                self._set_state(SaveState.SAVED)

    def _fail(self, job_id: str, why: str) -> None:
        log.warning("Saving the transcript of %s failed: %s", job_id, why)
        self._set_state(SaveState.FAILED)
        self.failed.emit(why)

    def _set_state(self, state: SaveState) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
