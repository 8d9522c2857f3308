"""What the desktop needs of JobStore, on a real Valkey with a real worker: the library read from disk, delete,
retry with the same file and options, a per-job model, the workers' self-reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stt_studio.engine.audio import probe_audio
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore
from stt_studio.settings import Settings
from tests import live
from tests.speech import SENTENCES, SHORT_CLIP_WER_BOUND, SHORT_TEXT, speech_clip, wer

pytestmark = pytest.mark.slow


def _run_worker(store: JobStore, settings: Settings) -> None:
    env = live.service_env(store.jobs_dir.parent, settings.resolved_models_dir)
    subprocess.run([sys.executable, "-m", "stt_studio", "worker", "--burst"], env=env, check=True, timeout=600)


def _submit(store: JobStore, audio: Path, options: JobOptions | None = None) -> str:
    job_id, _ = store.new_job_dir()
    view = store.submit(job_id, audio, options or JobOptions(), filename=audio.name, delete_audio_after=False,
                        audio_seconds=probe_audio(audio))  # fmt: skip
    return view.job_id


def test_library_delete_and_retry(store: JobStore, settings: Settings, short_wav: Path, tmp_path: Path) -> None:
    done = _submit(store, short_wav, JobOptions(language="en"))
    doomed = _submit(store, short_wav)
    store.cancel(doomed)
    assert store.source_path(done) == short_wav  # the user's own file: played and retried from there
    _run_worker(store, settings)

    entries = {e.job_id: e for e in store.library()}
    assert entries[done].status == JobStatus.COMPLETED and entries[doomed].status == JobStatus.CANCELED
    assert entries[done].language == "en" and entries[done].audio_seconds == pytest.approx(probe_audio(short_wav), 0.05)
    assert wer(SHORT_TEXT, store.transcript_text(done)) <= SHORT_CLIP_WER_BOUND
    assert entries[done].preview and entries[done].preview in store.transcript_text(done)

    with pytest.raises(JobConflictError):
        store.retry(done)  # only failed or canceled jobs run again
    again = store.retry(doomed)
    assert again.job_id != doomed and again.options == JobOptions() and again.status == JobStatus.QUEUED
    with pytest.raises(JobNotFoundError):
        store.get(doomed)
    _run_worker(store, settings)
    assert store.get(again.job_id).status == JobStatus.COMPLETED

    store.delete(done)
    assert not store.job_dir(done).exists()
    assert done not in {e.job_id for e in store.library()}
    with pytest.raises(JobNotFoundError):
        store.get(done)
    assert short_wav.exists()  # deleting a job never touches the user's audio


def test_delete_refuses_an_unfinished_job(store: JobStore, short_wav: Path) -> None:
    queued = _submit(store, short_wav)
    with pytest.raises(JobConflictError, match="cancel it first"):
        store.delete(queued)


def test_retry_needs_the_audio(store: JobStore, short_wav: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone.wav"
    gone.write_bytes(short_wav.read_bytes())
    job_id = _submit(store, gone)
    store.cancel(job_id)
    gone.unlink()
    with pytest.raises(JobConflictError, match="not kept"):
        store.retry(job_id)


def test_a_job_can_ask_for_another_model(store: JobStore, settings: Settings, audio_dir: Path) -> None:
    """The worker's model is tiny.en; a job asking for the bundled multilingual base gets base, the next job
    without a model gets tiny.en again, and the workers report which model they hold."""
    clip = speech_clip(audio_dir / "models", SENTENCES[4:6], "models")
    with_base = _submit(store, clip, JobOptions(model="base", language="en"))
    default = _submit(store, clip)
    _run_worker(store, settings)
    base_result, default_result = store.load_result(with_base), store.load_result(default)
    assert base_result is not None and default_result is not None
    assert Path(base_result.model).name == "base" or base_result.model == "base", base_result.model
    assert "tiny" in default_result.model, default_result.model
    # The job itself says which model produced its result (the API's job JSON and the desktop's queue row), also
    # once Redis has forgotten it (read from its record).
    assert store.get(with_base, with_result=False).to_response()["model"] == "base"
    assert store.finished_view(default).model == "tiny.en"
    infos = store.worker_infos()
    assert infos and infos[0].device == "cpu" and infos[0].compute_type == "int8"
    text = " ".join(SENTENCES[4:6])
    assert wer(text, base_result.text) <= SHORT_CLIP_WER_BOUND and wer(text, default_result.text) <= 0.3
