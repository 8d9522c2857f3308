"""The window's model downloads: each one a child process (``engine.download_child``) driven by a ``QProcess``,
so nothing blocks the GUI thread and Cancel ends the download at once (the child is killed; huggingface_hub's
``.incomplete`` files stay for the next Download to resume from)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from stt_studio.engine.download_plan import DiskFree, DownloadPlan, plan_download
from stt_studio.engine.download_progress import DownloadProgress
from stt_studio.engine.model_catalog import ModelCatalogError, free_space
from stt_studio.processes import HELPER_PARENT_PID_ENV


@dataclass
class _Running:
    plan: DownloadPlan
    process: QProcess
    buffer: bytes = b""
    last: DownloadProgress | None = None
    outcome: dict[str, str] = field(default_factory=dict)
    cancelled: bool = False


class ModelDownloader(QObject):
    """Downloads models into ``models_dir``; tells each one's progress and end by the model's name."""

    started = Signal(str)
    progressed = Signal(str, object)  # name, DownloadProgress
    finished = Signal(str, str)  # name, the model's folder
    failed = Signal(str, str)  # name, one plain sentence
    cancelled = Signal(str)

    def __init__(
        self,
        models_dir: Path,
        *,
        offline: bool,
        token: str | None = None,
        disk_free: DiskFree = free_space,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.models_dir = models_dir
        self.offline = offline
        self.token = token
        self.disk_free = disk_free
        self._running: dict[str, _Running] = {}

    def is_running(self, name: str) -> bool:
        return name in self._running

    def last_progress(self, name: str) -> DownloadProgress | None:
        running = self._running.get(name)
        return running.last if running else None

    def running_names(self) -> list[str]:
        return list(self._running)

    def start(self, name: str) -> bool:
        """Start downloading ``name``; False (and ``failed`` told) when it can't start: offline, too little disk,
        nothing to download."""
        if name in self._running:
            return True
        try:
            plan = plan_download(name, self.models_dir, offline=self.offline, disk_free=self.disk_free)
        except ModelCatalogError as exc:
            self.failed.emit(name, str(exc))
            return False
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        env.insert(HELPER_PARENT_PID_ENV, str(os.getpid()))  # the child ends when the window's process does
        env.remove("HF_TOKEN")
        if self.token:
            env.insert("HF_TOKEN", self.token)
        process.setProcessEnvironment(env)
        running = _Running(plan, process)
        self._running[plan.name] = running
        process.readyReadStandardOutput.connect(lambda: self._read_safely(plan.name))
        process.finished.connect(lambda code, _status: self._ended(plan.name, code))
        process.errorOccurred.connect(lambda error: self._not_started(plan.name, error))
        process.start(sys.executable, ["-m", "stt_studio.engine.download_child", plan.name, str(self.models_dir)])
        self.started.emit(plan.name)
        if plan.resumed_bytes:  # say at once where it resumes from, before the child's first report
            self._tell(running, DownloadProgress(plan.name, plan.resumed_bytes, plan.download_bytes))
        return True

    def cancel(self, name: str) -> None:
        running = self._running.get(name)
        if running is not None:
            running.cancelled = True
            running.process.kill()

    def cancel_all(self) -> None:
        """End every download now (the window quits); each resumes when started again."""
        for name in list(self._running):
            running = self._running[name]
            running.cancelled = True
            running.process.kill()
            running.process.waitForFinished(5000)

    # --- the child's reports ---------------------------------------------------------------------------------
    def _read_safely(self, name: str) -> None:
        with contextlib.suppress(RuntimeError):  # as in _ended: the process object is being destroyed
            self._read(name)

    def _read(self, name: str) -> None:
        running = self._running.get(name)
        if running is None:
            return
        running.buffer += bytes(running.process.readAllStandardOutput().data())
        *lines, running.buffer = running.buffer.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "done" in message:
                progress = DownloadProgress(name, int(message["done"]), int(message["total"]), float(message["speed"]))
                self._tell(running, progress)
            else:
                running.outcome = {k: str(v) for k, v in message.items()}

    def _tell(self, running: _Running, progress: DownloadProgress) -> None:
        running.last = progress
        self.progressed.emit(running.plan.name, progress)

    def _ended(self, name: str, exit_code: int) -> None:
        try:
            self._read(name)
        except RuntimeError:  # the downloader and its processes are being destroyed (the window went)
            self._running.pop(name, None)
            return
        running = self._running.pop(name, None)
        if running is None:
            return
        running.process.deleteLater()
        if running.cancelled:
            self.cancelled.emit(name)
        elif "finished" in running.outcome:
            self.finished.emit(name, running.outcome["finished"])
        elif "error" in running.outcome:
            self.failed.emit(name, running.outcome["error"])
        else:
            detail = bytes(running.process.readAllStandardError().data()).decode(errors="replace").strip()
            last = detail.splitlines()[-1] if detail else f"exit status {exit_code}"
            self.failed.emit(name, f"The download of {name} stopped unexpectedly ({last}). Download again to resume.")

    def _not_started(self, name: str, error: QProcess.ProcessError) -> None:
        if error != QProcess.ProcessError.FailedToStart:
            return  # a crash or a kill ends in finished, which tells it
        running = self._running.pop(name, None)
        if running is not None:
            running.process.deleteLater()
            self.failed.emit(name, f"Could not start the download of {name}: {running.process.errorString()}")
