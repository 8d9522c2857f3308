"""The ``stt-studio transcribe`` command, run as a user runs it (a subprocess), on real speech."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speech import (
    SHORT_CLIP_WER_BOUND,
    SHORT_TEXT,
    VOCABULARY,
    VOCABULARY_SENTENCES,
    speech_clip,
    vocabulary_found,
    wer,
)

pytestmark = pytest.mark.slow


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stt_studio", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "WHISPER_DEVICE": "cpu", **(env or {})},
        timeout=600,
    )


def test_one_file_prints_json(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "--model", "tiny.en")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert wer(SHORT_TEXT, result["text"]) <= SHORT_CLIP_WER_BOUND
    assert result["segments"][0]["words"]
    assert "100%" in proc.stderr  # the progress bar reached the end


def test_many_files_to_output_dir_as_srt(short_wav: Path, tmp_path: Path) -> None:
    bad = tmp_path / ("folder-" * 12) / "notes.txt"  # a path longer than a line: written whole, never folded
    bad.parent.mkdir()
    bad.write_text("hello")
    out = tmp_path / "out"
    proc = run_cli("transcribe", str(short_wav), str(bad), "--model", "tiny.en", "--format", "srt", "-o", str(out))
    assert proc.returncode == 1  # one file failed
    assert f"{bad}: Failed to load audio: not an audio or video file" in " ".join(proc.stderr.split())
    srt = (out / "short.srt").read_text()
    assert srt.startswith("1\n00:00:00,")
    assert "-->" in srt and "office tomorrow morning" in srt.lower()


def test_vtt_and_txt(short_wav: Path, tmp_path: Path) -> None:
    for fmt, marker in (("vtt", "WEBVTT"), ("txt", "office")):
        proc = run_cli("transcribe", str(short_wav), "--model", "tiny.en", "-f", fmt)
        assert proc.returncode == 0, proc.stderr
        assert marker in proc.stdout


def test_a_prompt_and_a_bad_one(audio_dir: Path) -> None:
    clip = speech_clip(audio_dir / "vocabulary", VOCABULARY_SENTENCES, "vocabulary")
    proc = run_cli("transcribe", str(clip), "--model", "tiny.en", "-f", "txt", "--prompt", ", ".join(VOCABULARY) + ".")
    assert proc.returncode == 0, proc.stderr
    assert len(vocabulary_found(proc.stdout)) >= 2, proc.stdout
    proc = run_cli("transcribe", str(clip), "--model", "tiny.en", "--prompt", "Siobhan\x07")
    assert proc.returncode == 2
    assert "The prompt contains control characters" in " ".join(proc.stderr.split())


def test_bad_language_is_a_usage_error(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "--model", "tiny.en", "--language", "zz")
    assert proc.returncode == 2
    assert "Unknown language code 'zz'" in proc.stderr


def test_bad_speaker_range_is_a_usage_error(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "--diarize", "--min-speakers", "3", "--max-speakers", "2")
    assert proc.returncode == 2
    assert "min_speakers must not be larger than max_speakers" in " ".join(proc.stderr.split())


def test_rttm_needs_diarize(short_wav: Path) -> None:
    proc = run_cli("transcribe", str(short_wav), "-f", "rttm")
    assert proc.returncode == 2
    assert "needs --diarize" in proc.stderr


def test_files_without_a_command_open_the_desktop_app_with_them(tmp_path: Path) -> None:
    """`stt-studio talk.wav` answered "No such command"; files alone mean `gui` with them."""
    from stt_studio.cli import files_mean_gui

    talk = tmp_path / "talk.wav"
    talk.write_bytes(b"")
    assert files_mean_gui([str(talk), str(tmp_path)]) == ["gui", str(talk), str(tmp_path)]
    assert files_mean_gui(["serve", "--port", "9000"]) == ["serve", "--port", "9000"]  # commands stay commands
    assert files_mean_gui(["webhook-worker"]) == ["webhook-worker"]
    assert files_mean_gui([str(tmp_path / "missing.wav")]) == [str(tmp_path / "missing.wav")]  # typer says why
    assert files_mean_gui(["--help"]) == ["--help"] and files_mean_gui([]) == []
