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


@app.callback()
def _root() -> None:
    """STT Studio: WhisperX speech-to-text on your own GPU (or CPU)."""


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=stderr, show_path=False)],
    )


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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step")] = False,
) -> None:
    """Transcribe files in this process (no queue) and write the results."""
    _setup_logging(verbose)
    from stt_studio.engine.errors import EngineError
    from stt_studio.engine.pipeline import Engine, TranscribeOptions
    from stt_studio.engine.progress import ProgressUpdate
    from stt_studio.exports import export

    engine = Engine(Settings(), model=model, device=device, vad=vad)
    options = TranscribeOptions(language=language)
    try:
        engine.validate(options)
    except EngineError as exc:
        raise typer.BadParameter(str(exc), param_hint="--language") from exc
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
