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
RETRY_DELAY_MS = 5000
"""After a save failed (a server restarting, a full disk): tried again this much later, until it works."""

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
    """The transcript could not be saved: why. The edits are kept and saved at the next try."""

    def __init__(
        self,
        storage: TranscriptStorage,
        spawn: Spawn,
        delay_ms: int = AUTOSAVE_DELAY_MS,
        retry_ms: int = RETRY_DELAY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._storage = storage
        self._spawn = spawn
        self._delay_ms = delay_ms
        self._retry_ms = retry_ms
        self._job_id: str | None = None
        self._etag: str | None = None
        self._pending: TranscriptionResult | None = None
        self._state = SaveState.ORIGINAL
        self._conflict_etag: str | None = None
        self._failure: str | None = None
        self._lock = asyncio.Lock()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
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

    @property
    def unsaved(self) -> bool:
        """Edits are not stored yet (waiting for the pause, for the user's choice after a conflict, or for the
        next try after a failed save)."""
        return self._pending is not None

    @property
    def conflict_etag(self) -> str | None:
        """In a conflict: the version stored elsewhere (what ``overwrite`` replaces)."""
        return self._conflict_etag if self._state == SaveState.CONFLICT else None

    @property
    def failure(self) -> str | None:
        """After a failed save: why."""
        return self._failure if self._state == SaveState.FAILED else None

    def attach(self, job_id: str | None, etag: str | None, *, reviewed: bool) -> None:
        """A transcript was opened (or reloaded, or reverted): version ``etag``, nothing left to save."""
        self._timer.stop()
        self._job_id, self._etag, self._pending = job_id, etag, None
        self._conflict_etag = self._failure = None
        self._set_state(SaveState.SAVED if reviewed else SaveState.ORIGINAL)

    def schedule(self, result: TranscriptionResult) -> None:
        """``result`` is the transcript now: save it once the edits pause."""
        if self._job_id is None:
            return
        self._pending = result
        if self._state != SaveState.CONFLICT:  # the user decides first: reload or overwrite
            self._set_state(SaveState.PENDING)
            self._timer.start(self._delay_ms)

    async def flush(self) -> None:
        """Save now whatever is waiting (before another transcript is shown, before quitting)."""
        self._timer.stop()
        if self._state != SaveState.CONFLICT:
            await self._save_pending()

    def discard(self) -> None:
        """Drop the edits not stored (after a conflict or a failed save); nothing more is saved until new ones."""
        self._timer.stop()
        self._pending = None
        self._conflict_etag = self._failure = None

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
                    self._keep(job_id, result)
                    self._conflict_etag = error.current_etag
                    self._set_state(SaveState.CONFLICT)
                    self.conflict.emit(error.current_etag)
                    return
                except TranscriptInvalidError as error:  # the store's checks: the next edit may fix it
                    self._fail(job_id, result, str(error), retry=False)
                    return
                except Exception as error:  # a background save reports and tries again, it does not crash
                    log.exception("Saving the transcript of %s failed", job_id)
                    self._fail(job_id, result, str(error) or type(error).__name__, retry=True)
                    return
                if job_id == self._job_id:
                    self._etag = etag
            if self._state == SaveState.SAVING:
                self._set_state(SaveState.SAVED)

    def _keep(self, job_id: str, result: TranscriptionResult) -> None:
        """A save that did not happen: its edits wait for the next one (unless newer ones already do)."""
        if self._pending is None and job_id == self._job_id:
            self._pending = result

    def _fail(self, job_id: str, result: TranscriptionResult, why: str, *, retry: bool) -> None:
        log.warning("Saving the transcript of %s failed: %s", job_id, why)
        self._keep(job_id, result)
        self._failure = why
        self._set_state(SaveState.FAILED)
        self.failed.emit(why)
        if retry and self._pending is not None:
            self._timer.start(self._retry_ms)

    def _set_state(self, state: SaveState) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
