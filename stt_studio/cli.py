"""The ``stt-studio`` command."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from stt_studio.engine.cpu import configure_process_environment
from stt_studio.engine.options import Task
from stt_studio.exports import BINARY_FORMATS, EXTENSIONS, ExportFormat, ExportOptions, render
from stt_studio.settings import DeviceName, Settings, VadMethod

if TYPE_CHECKING:
    from stt_studio.api_keys import ApiKeyStore

app = typer.Typer(
    help="STT Studio: WhisperX speech-to-text on your own GPU (or CPU). Without a command: the desktop app.",
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """STT Studio: WhisperX speech-to-text on your own GPU (or CPU). Without a command: the desktop app."""
    if ctx.invoked_subcommand is None:
        gui(None)


@app.command()
def gui(
    files: Annotated[list[Path] | None, typer.Argument(help="Audio or video files or folders to queue")] = None,
) -> None:
    """Open the desktop app: drop audio files on it, watch them transcribe, read and export the transcripts."""
    from stt_studio.system_check import preflight

    problem, note = preflight()  # before Qt is imported: a missing library is a sentence, not an abort
    if problem:
        _say_error(problem)
    if note:
        stderr.print(note, soft_wrap=True, markup=False, highlight=False)
    from stt_studio.ui.app import run_desktop

    raise typer.Exit(run_desktop(_service_settings(), files or []))


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
    _require_writable(settings.data_dir)
    _setup_logging(True, settings.data_dir / "logs" / "stt-studio.log")
    return settings


def _require_writable(folder: Path) -> None:
    """Stop at once, with a plain message, when the data folder cannot be written (rather than a traceback, or a
    service that starts and then fails every job)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        stderr.print(
            f"[red]The data folder {folder} cannot be written to ({exc.strerror or exc}). "
            "Set STT_DATA_DIR to a folder this user can write to.",
            highlight=False,
        )
        raise typer.Exit(code=2) from None


def _run_api(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from stt_studio.api.app import create_app
    from stt_studio.api.auth import ensure_key

    secret = ensure_key(settings, host)
    if secret is not None:
        # stdout only, never the log: the secret must not end up in a file.
        print(f"Created API key {secret} — it is shown only this once (list or revoke: stt-studio keys)", flush=True)
    from stt_studio.api.http_limits import bounded_http_protocol

    http = bounded_http_protocol(settings.request_idle_timeout_seconds) or "auto"  # bounds on request heads
    app = create_app(settings, host=host)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, http=http)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


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
    from stt_studio.worker_placement import place_worker_processes

    settings = _service_settings()
    log = logging.getLogger("stt_studio.serve")
    placement = place_worker_processes(settings, workers)
    if placement.notice:
        log.warning("%s", placement.notice)
    if workers and not placement.count:
        stderr.print(f"[red]{placement.notice}[/red]")
        raise typer.Exit(2)
    workers = placement.count
    server = embedded_server(settings)
    if server is not None:
        server.ensure_running(tied_to_this_thread=True)
    # also restarts a Valkey that died
    supervisor = WorkerSupervisor(workers, redis_server=server, nice=settings.worker_nice,
                                  slot_envs=placement.slot_envs)  # fmt: skip
    supervisor.start()
    webhook_worker = WorkerSupervisor(1, command="webhook-worker", nice=settings.worker_nice)  # light: no model
    webhook_worker.start()
    log.info("API on http://%s:%d (docs: /docs); %d worker(s); data in %s", host, port, workers, settings.data_dir)
    # uvicorn handles SIGTERM itself, then raises it again once it has shut down; with the default action that
    # would end this process before the cleanup below. As SystemExit it runs the cleanup.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _run_api(settings, host, port)
    finally:
        log.info("Stopping workers")
        webhook_worker.stop()
        supervisor.stop()
        if server is not None and server.started_here:
            log.info("Stopping the embedded Redis")
            server.stop()


@app.command()
def api(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run only the REST API (workers run elsewhere, e.g. in docker compose)."""
    _run_api(_service_settings(), host, port)


keys_app = typer.Typer(help="API keys for the REST API (stored hashed in <data dir>/api-keys.json).")
app.add_typer(keys_app, name="keys")


def _key_store() -> ApiKeyStore:
    from stt_studio.api_keys import ApiKeyStore, keys_file

    return ApiKeyStore(keys_file(Settings().data_dir))


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="A label to tell keys apart")] = "") -> None:
    """Create a key and print it: it is shown only this once."""
    record, secret = _key_store().create(name)
    stderr.print(f"Created API key {record.id}{f' ({name})' if name else ''}; it is shown only this once:")
    print(secret)


@keys_app.command("list")
def keys_list() -> None:
    """The keys: id, name, when created and their last 4 characters."""
    records = _key_store().records()
    if not records:
        stderr.print("No API keys (STT_API_KEYS is not listed here)")
    for record in records:
        print(f"{record.id}  {record.created}  …{record.last4}  {record.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (see keys list)")]) -> None:
    """Revoke a key; a running server stops accepting it within a second."""
    if not _key_store().revoke(key_id):
        stderr.print(f"[red]No API key with id {key_id}")
        raise typer.Exit(code=1)
    stderr.print(f"Revoked API key {key_id}")


models_app = typer.Typer(help="Whisper models: bundled with the install, downloaded to the models folder, configured.")
app.add_typer(models_app, name="models")
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout")]
ModelName = Annotated[str, typer.Argument(metavar="NAME", help="A model name (see models list) or a hub id (org/name)")]


def _say_error(message: str) -> NoReturn:
    """One plain line on stderr (no wrapping, no traceback), exit status 1."""
    stderr.print(f"[red]{escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=1)


@models_app.command("list")
def models_list(as_json: JsonFlag = False) -> None:
    """The known models and any downloaded ones: bundled, cached (downloaded), configured; size on disk."""
    import json

    from rich.table import Table

    from stt_studio.engine.model_catalog import hub_cache_dir, human_size, list_models

    settings = Settings()
    statuses = list_models(settings.resolved_models_dir, settings.whisper_model_size)
    if as_json:
        print(json.dumps([s.as_dict() for s in statuses], indent=2))
        return
    table = Table("NAME", "ON THIS MACHINE", "ON DISK", "DOWNLOAD", box=None, pad_edge=False)
    for s in statuses:
        marks = ", ".join(s.marks) or "-"
        if s.problem:
            marks += f" [red]({s.problem})[/]"
        size = human_size(s.size_on_disk) if s.size_on_disk else "-"
        download = f"≈{human_size(s.download_mb * 1_000_000)}" if s.download_mb else "-"
        table.add_row(s.name, marks, size, download)
    Console().print(table)
    stderr.print(f"Downloads go to {hub_cache_dir(settings.resolved_models_dir)} (STT_MODELS_DIR moves them).")


@models_app.command("download")
def models_download(name: ModelName) -> None:
    """Download a model from the Hugging Face hub into the models folder (with HF_TOKEN when it is set)."""
    from stt_studio.engine.model_catalog import ModelCatalogError, download, model_status

    settings = Settings()
    if model_status(name, settings.resolved_models_dir).bundled:
        stderr.print(f"{name} ships with STT Studio (bundled): nothing to download.")
        return
    try:
        path = download(name, settings.resolved_models_dir, token=settings.hf_token, offline=settings.offline)
    except ModelCatalogError as exc:
        _say_error(str(exc))
    stderr.print(f"Downloaded {name} into {path}", soft_wrap=True)


@models_app.command("remove")
def models_remove(name: ModelName) -> None:
    """Delete a downloaded model from the models folder (bundled models stay: they belong to their packages)."""
    from stt_studio.engine.model_catalog import ModelCatalogError, human_size, remove

    try:
        removal = remove(name, Settings().resolved_models_dir)
    except ModelCatalogError as exc:
        _say_error(str(exc))
    kept = "; the bundled copy stays" if removal.bundled_kept else ""
    stderr.print(f"Removed {removal.repo_id} ({human_size(removal.freed)} freed){kept}", soft_wrap=True)


@app.command()
def doctor(host: Host = "127.0.0.1", port: Port = 8000, as_json: JsonFlag = False) -> None:
    """Check this machine and explain each finding with a fix; exit status 1 when something blocks transcription."""
    from pydantic import ValidationError

    from stt_studio.doctor import DoctorContext, blocking, configuration_errors, render, results_json, run_checks

    try:
        results = run_checks(DoctorContext(Settings(), host=host, port=port))
    except ValidationError as exc:  # the environment holds a value the settings can't take
        results = configuration_errors(exc)
    if as_json:
        print(results_json(results))
    else:
        render(results, Console())
    if blocking(results):
        raise typer.Exit(code=1)


desktop_app = typer.Typer(help="The desktop entry (applications menu item and icon) of this user, on Linux.")
app.add_typer(desktop_app, name="desktop-entry")


@desktop_app.command("install")
def desktop_entry_install() -> None:
    """Add STT Studio to the applications menu: a .desktop file and an icon under $XDG_DATA_HOME."""
    from stt_studio.desktop_install import DesktopInstallError, install

    try:
        written = install()
    except DesktopInstallError as exc:
        _say_error(str(exc))
    for path in written:
        stderr.print(f"Wrote {path}", soft_wrap=True)


@desktop_app.command("remove")
def desktop_entry_remove() -> None:
    """Remove the menu entry and the icon that desktop-entry install wrote."""
    from stt_studio.desktop_install import remove

    removed = remove()
    for path in removed:
        stderr.print(f"Removed {path}", soft_wrap=True)
    if not removed:
        stderr.print("No desktop entry was installed.")


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty")] = False,
) -> None:
    """Run one worker: load the model, then transcribe queued jobs one at a time."""
    from stt_studio.jobs.worker import run_worker

    run_worker(_service_settings(), burst=burst)


@app.command("webhook-worker")
def webhook_worker() -> None:
    """Deliver webhooks (jobs submitted with a callback_url); serve runs one, docker compose a service of its own."""
    from stt_studio.webhooks.worker import run_webhook_worker

    run_webhook_worker(_service_settings())


@app.command("webhook-secret")
def webhook_secret() -> None:
    """Print the secret that signs webhooks: STT_WEBHOOK_SECRET, or the one generated in the data dir."""
    from stt_studio.webhooks.signing import webhook_secret as current_secret

    settings = Settings()
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        stderr.print("From STT_WEBHOOK_SECRET:")
    print(current_secret(settings))


SpeakersOption = Annotated[
    bool, typer.Option("--speakers/--no-speakers", help="Speaker names in txt, srt, vtt and docx")
]
TimestampsOption = Annotated[bool, typer.Option("--timestamps/--no-timestamps", help="Times in txt and docx")]
LineWidthOption = Annotated[int | None, typer.Option(min=1, metavar="N", help="srt/vtt: wrap lines at N characters")]
LineCountOption = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="srt/vtt: at most N lines per cue (needs --max-line-width)")
]


_RULES = "srt/vtt subtitle rules"
MinDurationOption = Annotated[
    float | None,
    typer.Option(
        "--min-duration", min=0.001, metavar="SECONDS", help="Show each cue this long at least", rich_help_panel=_RULES
    ),
]
MaxDurationOption = Annotated[
    float | None,
    typer.Option(
        "--max-duration", min=0.001, metavar="SECONDS", help="No cue longer than this", rich_help_panel=_RULES
    ),
]
MaxCpsOption = Annotated[
    float | None,
    typer.Option(
        "--max-cps", min=0.001, metavar="N", help="Reading speed: at most N characters a second", rich_help_panel=_RULES
    ),
]
BalanceLinesOption = Annotated[
    bool,
    typer.Option(
        "--balance-lines", help="Lines of about equal length (needs --max-line-width)", rich_help_panel=_RULES
    ),
]
SplitSentencesOption = Annotated[
    bool, typer.Option("--split-sentences", help="A new sentence starts a new cue", rich_help_panel=_RULES)
]
SpeakerDashOption = Annotated[
    bool,
    typer.Option(
        "--speaker-dash", help='Two speakers share a cue, one line each opened by "- "', rich_help_panel=_RULES
    ),
]
MaxSilenceOption = Annotated[
    float | None,
    typer.Option(
        "--max-silence",
        min=0.001,
        metavar="SECONDS",
        help="No cue over a pause longer than this",
        rich_help_panel=_RULES,
    ),
]
GuidelineOption = Annotated[
    bool,
    typer.Option(
        "--subtitle-guideline",
        help="Every rule not given takes Netflix's Timed Text Style Guide value (docs/exports.md)",
        rich_help_panel=_RULES,
    ),
]


def _export_options(guideline: bool, **values: Any) -> ExportOptions:
    """The export options given on the command line (with the guideline's where asked); a usage error that says
    which options contradict each other."""
    from stt_studio.exports.options import guideline_values

    try:
        return ExportOptions(**(guideline_values(values) if guideline else values))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def transcribe(
    files: Annotated[list[Path], typer.Argument(help="Audio or video files", exists=False)],
    model: Annotated[
        str | None,
        typer.Option(help="Model name (tiny.en, base, large-v3, …) or a local CTranslate2 directory"),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language code; detected when omitted")] = None,
    whisper_task: Annotated[
        Task,
        typer.Option("--task", help="translate: English text whatever the language spoken (a multilingual model)"),
    ] = "transcribe",
    device: Annotated[DeviceName | None, typer.Option(help="cuda or cpu (falls back to cpu without CUDA)")] = None,
    vad: Annotated[VadMethod | None, typer.Option(help="Voice activity detection backend")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format")] = "json",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Directory for results; one file alone goes to stdout without it"),
    ] = None,
    diarize: Annotated[bool, typer.Option("--diarize", help="Label segments and words with speakers")] = False,
    num_speakers: Annotated[int | None, typer.Option(min=1, max=20, help="Exact number of speakers")] = None,
    min_speakers: Annotated[int | None, typer.Option(min=1, max=20)] = None,
    max_speakers: Annotated[int | None, typer.Option(min=1, max=20)] = None,
    prompt: Annotated[
        str | None, typer.Option(help="Text before the audio: names and terms spelled as they should be")
    ] = None,
    speakers: Annotated[
        bool, typer.Option("--speakers/--no-speakers", help="Speaker labels in txt, srt, vtt and docx")
    ] = True,
    timestamps: Annotated[bool, typer.Option("--timestamps/--no-timestamps", help="Times in txt and docx")] = True,
    max_line_width: LineWidthOption = None,
    max_line_count: LineCountOption = None,
    min_duration: MinDurationOption = None,
    max_duration: MaxDurationOption = None,
    max_cps: MaxCpsOption = None,
    balance_lines: BalanceLinesOption = False,
    split_sentences: SplitSentencesOption = False,
    speaker_dash: SpeakerDashOption = False,
    max_silence: MaxSilenceOption = None,
    guideline: GuidelineOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step")] = False,
) -> None:
    """Transcribe files in this process (no queue) and write the results."""
    _setup_logging(verbose)
    from stt_studio.engine.errors import EngineError
    from stt_studio.engine.options import DiarizationOptions, TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.engine.progress import ProgressUpdate

    engine = Engine(Settings(), model=model, device=device, vad=vad)
    speakers_wanted = diarize or any(n is not None for n in (num_speakers, min_speakers, max_speakers))
    if fmt == "rttm" and not speakers_wanted:
        raise typer.BadParameter("the rttm format needs --diarize", param_hint="--format")
    export_options = _export_options(
        guideline,
        include_speakers=speakers,
        include_timestamps=timestamps,
        max_line_width=max_line_width,
        max_line_count=max_line_count,
        min_cue_seconds=min_duration,
        max_cue_seconds=max_duration,
        max_chars_per_second=max_cps,
        balance_lines=balance_lines,
        split_sentences=split_sentences,
        speaker_dash=speaker_dash,
        max_silence_seconds=max_silence,
    )
    diarization = DiarizationOptions(num_speakers, min_speakers, max_speakers) if speakers_wanted else None
    options = TranscribeOptions(language=language, diarization=diarization, prompt=prompt, task=whisper_task)
    try:
        engine.validate(options)
    except EngineError as exc:
        raise typer.BadParameter(str(exc)) from exc
    to_stdout = output is None and len(files) == 1
    if to_stdout and fmt in BINARY_FORMATS and sys.stdout.isatty():
        raise typer.BadParameter(
            f"{fmt} is a binary format: give a directory with -o (or redirect stdout to a file)", param_hint="--output"
        )
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
                stderr.print(f"[red]{escape(str(path))}: {escape(str(exc))}", soft_wrap=True)
                continue
            bars.update(task, completed=100, stage=f"done in {result.processing_time:.1f} s")
            for warning in result.warnings:
                stderr.print(f"[yellow]{escape(path.name)}: {escape(warning)}", soft_wrap=True)
            data = render(result, fmt, export_options, title=path.name)
            if to_stdout:
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                (out_dir / f"{path.stem}.{EXTENSIONS[fmt]}").write_bytes(data)
    if failures:
        raise typer.Exit(code=1)


@app.command("export")
def export_job(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="A finished job (GET /jobs; the desktop's library)")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format")] = "json",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write, or a directory for <file name>.<format>; else stdout"),
    ] = None,
    original: Annotated[bool, typer.Option("--original", help="The engine's transcript, not the reviewed one")] = False,
    speakers: SpeakersOption = True,
    timestamps: TimestampsOption = True,
    max_line_width: LineWidthOption = None,
    max_line_count: LineCountOption = None,
    min_duration: MinDurationOption = None,
    max_duration: MaxDurationOption = None,
    max_cps: MaxCpsOption = None,
    balance_lines: BalanceLinesOption = False,
    split_sentences: SplitSentencesOption = False,
    speaker_dash: SpeakerDashOption = False,
    max_silence: MaxSilenceOption = None,
    guideline: GuidelineOption = False,
) -> None:
    """Export a finished job's transcript (the reviewed one, with its speaker names) from the data dir.

    Reads the job's files only: works whether or not the service is running.
    """
    from stt_studio.exports import NotDiarizedError, safe_stem
    from stt_studio.jobs.connection import connect, embedded_server
    from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore

    export_options = _export_options(
        guideline,
        include_speakers=speakers,
        include_timestamps=timestamps,
        max_line_width=max_line_width,
        max_line_count=max_line_count,
        min_cue_seconds=min_duration,
        max_cue_seconds=max_duration,
        max_chars_per_second=max_cps,
        balance_lines=balance_lines,
        split_sentences=split_sentences,
        speaker_dash=speaker_dash,
        max_silence_seconds=max_silence,
    )
    if output is None and fmt in BINARY_FORMATS and sys.stdout.isatty():
        message = f"{fmt} is a binary format: give a file with -o (or redirect stdout)"
        raise typer.BadParameter(message, param_hint="--output")
    settings = Settings()
    server = embedded_server(settings)
    # A client that is never used: the transcripts and records read here are files (no Redis is started).
    store = JobStore(server.client() if server is not None else connect(settings), settings.data_dir)
    try:
        result = store.original_result(job_id) if original else store.transcript(job_id).result
        job = store.finished_view(job_id)
        data = render(result, fmt, export_options, title=job.filename, date=job.completed_at)
    except JobNotFoundError as exc:
        _say_error(f"{exc.message} (in {settings.data_dir})")
    except (JobConflictError, NotDiarizedError) as exc:
        _say_error(str(exc))
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = output / f"{safe_stem(job.filename or job_id)}.{EXTENSIONS[fmt]}" if output.is_dir() else output
    try:
        target.write_bytes(data)
    except OSError as exc:
        _say_error(f"Cannot write {target}: {exc.strerror or exc}")
    stderr.print(f"Wrote {target}", highlight=False, soft_wrap=True, markup=False)


@app.command()
def gc(
    days: Annotated[
        float | None,
        typer.Option(min=0, help="Age in days of the finished jobs cleaned (default: STT_CHECKPOINT_RETENTION_DAYS)"),
    ] = None,
) -> None:
    """Remove what finished jobs keep to run a stage again (checkpoints, decoded audio; transcripts stay), and the
    recordings streamed to /live that were not queued, once older than STT_LIVE_RECORDING_RETENTION_HOURS."""
    from stt_studio.jobs.checkpoint_gc import collect
    from stt_studio.jobs.connection import connect, embedded_server
    from stt_studio.jobs.store import JobStore, utcnow
    from stt_studio.live.retention import remove_expired

    settings = Settings()
    server = embedded_server(settings)
    # A client that is never used: checkpoints and records are files (no Redis is started).
    store = JobStore(server.client() if server is not None else connect(settings), settings.data_dir)
    age = settings.checkpoint_retention_days if days is None else days
    done = collect(store, utcnow(), age)
    stderr.print(
        f"Removed the checkpoints of {done.jobs} finished jobs older than {age:g} days "
        f"({done.freed_bytes / 1e6:.1f} MB); their transcripts stay",
        highlight=False,
    )
    hours = settings.live_recording_retention_hours
    removed = remove_expired(settings.data_dir, hours * 3600.0)
    stderr.print(f"Removed {len(removed)} /live recording(s) not queued and older than {hours:g} h", highlight=False)


@app.command()
def rediarize(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="A completed job")],
    speakers: Annotated[int | None, typer.Option("--speakers", help="Exactly this many speakers")] = None,
    min_speakers: Annotated[int | None, typer.Option(help="At least this many speakers")] = None,
    max_speakers: Annotated[int | None, typer.Option(help="At most this many speakers")] = None,
    keep_review: Annotated[
        bool, typer.Option("--keep-review", help="On a reviewed transcript: keep its edits, new speakers on its words")
    ] = False,
    url: Annotated[str, typer.Option(help="The STT Studio server", envvar="STT_URL")] = "http://127.0.0.1:8000",
    api_key: Annotated[str | None, typer.Option(help="Its API key", envvar="STT_API_KEY")] = None,
) -> None:
    """Find speakers again in a completed job with another number of speakers, without transcribing again."""
    from stt_studio.client import ApiError, ClientError, StudioClient
    from stt_studio.jobs.speaker_counts import SpeakerCountError, SpeakerCounts

    try:
        counts = SpeakerCounts(speakers, min_speakers, max_speakers)
    except SpeakerCountError as exc:
        raise typer.BadParameter(str(exc).replace("num_speakers", "--speakers").replace("_", "-")) from exc
    with StudioClient(url, api_key) as client:
        try:
            client.rediarize(job_id, counts, keep_review=keep_review)
        except ApiError as exc:
            _say_error(str(exc).replace("send keep_review=true", "pass --keep-review"))
        except ClientError as exc:
            _say_error(str(exc))
    stderr.print(f"Finding speakers again in job {job_id} (stt-studio export {job_id} once it has finished)")


@app.command()
def retranscribe(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="A completed job")],
    model: Annotated[str | None, typer.Option(help="Another Whisper model the server has (e.g. base)")] = None,
    language: Annotated[str | None, typer.Option(help="Another language code (e.g. de), or auto")] = None,
    task: Annotated[str | None, typer.Option(help="transcribe, or translate into English")] = None,
    discard_review: Annotated[
        bool, typer.Option("--discard-review", help="On a reviewed transcript: discard the review (text changes)")
    ] = False,
    url: Annotated[str, typer.Option(help="The STT Studio server", envvar="STT_URL")] = "http://127.0.0.1:8000",
    api_key: Annotated[str | None, typer.Option(help="Its API key", envvar="STT_API_KEY")] = None,
) -> None:
    """Transcribe a completed job again with another model, language or task; its speech regions are kept."""
    from stt_studio.client import ApiError, ClientError, StudioClient
    from stt_studio.engine.translation import TASKS
    from stt_studio.jobs.new_transcription import NewTranscription

    if model is None and language is None and task is None:
        raise typer.BadParameter("give --model, --language or --task (what to transcribe differently)")
    if task is not None and task not in TASKS:
        raise typer.BadParameter(f"Unknown task '{task}' (use {' or '.join(TASKS)})", param_hint="--task")
    change = NewTranscription(model=model, language=language, task="translate" if task == "translate" else task)
    with StudioClient(url, api_key) as client:
        try:
            client.retranscribe(job_id, change, discard_review=discard_review)
        except ApiError as exc:
            _say_error(str(exc).replace("send discard_review=true", "pass --discard-review"))
        except ClientError as exc:
            _say_error(str(exc))
    stderr.print(f"Transcribing job {job_id} again (stt-studio export {job_id} once it has finished)")


@app.command()
def live(
    list_sources: Annotated[bool, typer.Option("--list-sources", help="List the sources (* default), exit")] = False,
    source: Annotated[
        str | None,
        typer.Option(help="A source's name (see --list-sources), A+B to mix two (a call); default: the default input"),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Live model; default: STT_LIVE_MODEL, else by device")] = None,
    language: Annotated[str | None, typer.Option(help="Language code; detected when omitted")] = None,
    prompt: Annotated[str | None, typer.Option(help="Vocabulary: names and terms spelled as they should be")] = None,
    save: Annotated[
        Path | None, typer.Option(help="Write the recording (WAV) here; default: the data folder's recordings")
    ] = None,
    duration: Annotated[float | None, typer.Option(min=0.1, help="Stop after this many seconds")] = None,
    queue: Annotated[bool, typer.Option("--queue", help="Queue the recording as a job at the end")] = False,
    recover: Annotated[
        bool, typer.Option("--recover", help="Keep the interrupted recordings (with --queue: queue them) and exit")
    ] = False,
) -> None:
    """Record a microphone or this computer's sound: final text on stdout as it is decided, the recording kept.

    Ctrl+C stops. kill -USR1 PID pauses (the audio until then is neither kept nor transcribed), kill -USR2 PID
    resumes; the PID is in the "Recording …" line."""
    from stt_studio.engine.errors import EngineError
    from stt_studio.engine.options import check_language, check_prompt
    from stt_studio.live import command

    settings = Settings()
    _require_writable(settings.data_dir)
    try:
        check_language(language)
        check_prompt(prompt)
    except EngineError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if save is not None and save.is_dir():
        raise typer.BadParameter(f"{save} is a folder: give a file name", param_hint="--save")
    from stt_studio.live.capture import CaptureError

    try:
        if list_sources:
            command.print_sources(command.say_to_stdout)
            return
        if recover:
            raise typer.Exit(command.recover_all(settings, queue, command.say_to_stderr, command.say_to_stdout))
        request = command.LiveRequest(source, model, language, prompt, save, duration, queue)
        code = command.run_live(settings, request, command.say_to_stderr, command.say_to_stdout)
    except CaptureError as exc:
        stderr.print(f"[red]{escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(command.EXIT_NO_DEVICE) from None
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    configure_process_environment()
    app(args=files_mean_gui(sys.argv[1:] if argv is None else argv))


def _command_name(command: typer.models.CommandInfo) -> str:
    if command.name:
        return command.name
    return command.callback.__name__.replace("_", "-") if command.callback is not None else ""


def files_mean_gui(args: list[str]) -> list[str]:
    """``stt-studio talk.wav``: files without a command open the desktop app with them (as ``gui talk.wav``)."""
    commands = {_command_name(command) for command in app.registered_commands}
    if args and args[0] not in commands and not args[0].startswith("-") and Path(args[0]).exists():
        return ["gui", *args]
    return args
