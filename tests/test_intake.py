"""What the window does with dropped files and folders: the API's checks, folders searched, nothing dropped
silently."""

from __future__ import annotations

from pathlib import Path

from stt_studio.ui.intake import take_in
from tests.speech import convert


def test_folders_files_and_bad_files(tmp_path: Path, short_wav: Path) -> None:
    folder = tmp_path / "recordings"
    (folder / "deeper").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    good = folder / "a.wav"
    good.write_bytes(short_wav.read_bytes())
    mp3 = convert(short_wav, folder / "deeper" / "b.mp3")
    (folder / ".hidden" / "c.wav").write_bytes(short_wav.read_bytes())  # hidden: skipped
    (folder / "notes.txt").write_text("hello")
    fake = folder / "fake.wav"
    fake.write_text("this is text, not audio")
    empty = tmp_path / "empty.m4a"
    empty.touch()
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(short_wav.read_bytes()[: len(short_wav.read_bytes()) // 3])

    report = take_in([folder, empty, truncated, tmp_path / "missing.wav", good], 3600, known_sources=set())

    assert sorted(f.path.name for f in report.accepted) == ["a.wav", "b.mp3"]  # a.wav once, though named twice
    assert all(f.audio_seconds and f.audio_seconds > 2 for f in report.accepted)
    reasons = {r.path.name: r.reason for r in report.rejected}
    assert set(reasons) == {"notes.txt", "fake.wav", "empty.m4a", "cut.wav", "missing.wav"}
    assert "not an audio" in reasons["notes.txt"] and "not an audio" in reasons["fake.wav"]
    assert "empty" in reasons["empty.m4a"]
    assert "truncated" in reasons["cut.wav"]
    assert "not found" in reasons["missing.wav"]
    assert mp3.exists()


def test_files_added_before_are_set_aside(tmp_path: Path, short_wav: Path) -> None:
    copy = tmp_path / "again.wav"
    copy.write_bytes(short_wav.read_bytes())
    report = take_in([copy, short_wav], 3600, known_sources={copy.resolve()})
    assert [f.path for f in report.already_added] == [copy.resolve()]
    assert [f.path for f in report.accepted] == [short_wav.resolve()]


def test_too_long(tmp_path: Path, short_wav: Path) -> None:
    report = take_in([short_wav], max_seconds=1.0, known_sources=set())
    assert not report.accepted and "limit" in report.rejected[0].reason
