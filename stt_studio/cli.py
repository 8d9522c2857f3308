"""The ``stt-studio`` command."""

from __future__ import annotations

import contextlib
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from stt_studio.engine.cpu import configure_process_environment
from stt_studio.settings import DeviceName, Settings, VadMethod

app = typer.Typer(
    help="STT Studio: WhisperX speech-to-text on your own GPU (or CPU).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


class Format(str, Enum):
    json = "json"
    txt = "txt"
    srt = "srt"
    vtt = "vtt"
    tsv = "tsv"
    rttm = "rttm"


@app.callback()
def _root() -> None:
    """STT Studio: WhisperX speech-to-text on your own GPU (or CPU)."""


def _setup_logging(verbose: bool, log_file: Path | None = None) -> None:
    handlers: list[logging.Handler] = [RichHandler(console=stderr, show_path=False)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
        handlers.append(file_handler)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s", handlers=handlers)


def _service_settings() -> Settings:
    """Settings for the long-running commands, which log to the console and to the data dir's log file."""
    settings = Settings()
    _setup_logging(True, settings.data_dir / "logs" / "stt-studio.log")
    return settings


def _run_api(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from stt_studio.api.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


Host = Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 exposes the API to other machines)")]
Port = Annotated[int, typer.Option(help="TCP port of the REST API")]


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(min=0, help="Worker processes (each holds its own model)")] = 1,
) -> None:
    """Run headless: Redis (embedded unless configured), the REST API and supervised workers. Ctrl-C stops all."""
    from stt_studio.jobs.connection import embedded_server
    from stt_studio.supervisor import WorkerSupervisor

    settings = _service_settings()
    log = logging.getLogger("stt_studio.serve")
    server = embedded_server(settings)
    if server is not None:
        server.ensure_running()
    supervisor = WorkerSupervisor(workers)
    supervisor.start()
    log.info("API on http://%s:%d (docs: /docs); %d worker(s); data in %s", host, port, workers, settings.data_dir)
    try:
        _run_api(settings, host, port)
    finally:
        log.info("Stopping workers")
        supervisor.stop()
        if server is not None and server.started_here:
            log.info("Stopping the embedded Redis")
            server.stop()


@app.command()
def api(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run only the REST API (workers run elsewhere, e.g. in docker compose)."""
    _run_api(_service_settings(), host, port)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty")] = False,
) -> None:
    """Run one worker: load the model, then transcribe queued jobs one at a time."""
    from stt_studio.jobs.worker import run_worker

    run_worker(_service_settings(), burst=burst)


@app.command()
def transcribe(
    files: Annotated[list[Path], typer.Argument(help="Audio or video files", exists=False)],
    model: Annotated[
        str | None,
        typer.Option(help="Model name (tiny.en, base, large-v3, …) or a local CTranslate2 directory"),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language code; detected when omitted")] = None,
    device: Annotated[DeviceName | None, typer.Option(help="cuda or cpu (falls back to cpu without CUDA)")] = None,
    vad: Annotated[VadMethod | None, typer.Option(help="Voice activity detection backend")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format")] = Format.json,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Directory for results; one file alone goes to stdout without it"),
    ] = None,
    diarize: Annotated[bool, typer.Option("--diarize", help="Label segments and words with speakers")] = False,
    num_speakers: Annotated[int | None, typer.Option(min=1, max=20, help="Exact number of speakers")] = None,
    min_speakers: Annotated[int | None, typer.Option(min=1, max=20)] = None,
    max_speakers: Annotated[int | None, typer.Option(min=1, max=20)] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step")] = False,
) -> None:
    """Transcribe files in this process (no queue) and write the results."""
    _setup_logging(verbose)
    from stt_studio.engine.errors import EngineError
    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.engine.progress import ProgressUpdate
    from stt_studio.exports import export

    engine = Engine(Settings(), model=model, device=device, vad=vad)
    speakers_wanted = diarize or any(n is not None for n in (num_speakers, min_speakers, max_speakers))
    if fmt == Format.rttm and not speakers_wanted:
        raise typer.BadParameter("the rttm format needs --diarize", param_hint="--format")
    diarization = DiarizationOptions(num_speakers, min_speakers, max_speakers) if speakers_wanted else None
    options = TranscribeOptions(language=language, diarization=diarization)
    try:
        engine.validate(options)
    except EngineError as exc:
        raise typer.BadParameter(str(exc)) from exc
    to_stdout = output is None and len(files) == 1
    out_dir = output or Path.cwd()
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)

    failures = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=stderr,
    ) as bars:
        for path in files:
            task = bars.add_task(path.name, total=100, stage="")

            def show(update: ProgressUpdate, task: TaskID = task) -> None:
                bars.update(task, completed=update.percent, stage=update.stage.label)

            try:
                # Libraries print notices (torch.hub downloads, …) to stdout; keep stdout for results.
                with contextlib.redirect_stdout(sys.stderr):
                    result = engine.transcribe(path, options, on_progress=show)
            except EngineError as exc:
                failures += 1
                bars.update(task, stage="[red]failed")
                stderr.print(f"[red]{path}: {exc}")
                continue
            bars.update(task, completed=100, stage=f"done in {result.processing_time:.1f} s")
            for warning in result.warnings:
                stderr.print(f"[yellow]{path.name}: {warning}")
            text = export(result, fmt.value)
            if to_stdout:
                sys.stdout.write(text)
            else:
                (out_dir / f"{path.stem}.{fmt.value}").write_text(text, encoding="utf-8")
    if failures:
        raise typer.Exit(code=1)


def main() -> None:
    configure_process_environment()
    app()
