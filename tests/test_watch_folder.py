from __future__ import annotations

import json
import os
from pathlib import Path

from stt_studio.engine.audio import MEDIA_EXTENSIONS
from stt_studio.ui.watch_folder import FolderWatch


def _write(path: Path, size: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def _watch(folder: Path, state: Path) -> FolderWatch:
    return FolderWatch(folder, state, MEDIA_EXTENSIONS)


def _settled(watch: FolderWatch) -> list[Path]:
    """Two scans: the first sees the files, the second finds them unchanged."""
    return watch.scan() + watch.scan()


def test_each_file_is_returned_exactly_once(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    audio = _write(folder / "talk.wav")
    watch = _watch(folder, tmp_path / "state.json")
    assert watch.scan() == []  # seen once: maybe still being copied
    assert watch.scan() == [audio.resolve()]
    assert watch.scan() == []
    assert watch.scan() == []


def test_a_restart_does_not_return_a_file_again(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _write(folder / "a.mp3")
    assert len(_settled(_watch(folder, tmp_path / "state.json"))) == 1
    restarted = _watch(folder, tmp_path / "state.json")
    assert _settled(restarted) == []
    new = _write(folder / "b.mp3")
    assert _settled(restarted) == [new.resolve()]


def test_a_file_not_yet_returned_before_a_restart_is_not_lost(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    audio = _write(folder / "a.mp3")
    assert _watch(folder, tmp_path / "state.json").scan() == []
    assert _settled(_watch(folder, tmp_path / "state.json")) == [audio.resolve()]


def test_a_growing_file_waits_until_it_is_stable(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    audio = _write(folder / "long.m4a", 10)
    watch = _watch(folder, tmp_path / "state.json")
    assert watch.scan() == []
    with audio.open("ab") as f:
        f.write(b"y" * 10)
    assert watch.scan() == []  # changed since the last scan
    with audio.open("ab") as f:
        f.write(b"z" * 10)
    assert watch.scan() == []
    assert watch.scan() == [audio.resolve()]


def test_an_empty_file_waits_for_its_content(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    audio = _write(folder / "a.wav", 0)
    watch = _watch(folder, tmp_path / "state.json")
    assert _settled(watch) == []
    _write(audio, 50)
    assert _settled(watch) == [audio.resolve()]


def test_only_media_files_are_returned(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for name in ("notes.txt", "cover.jpg", "talk", "report.pdf"):
        _write(folder / name)
    video = _write(folder / "Lecture.MP4")
    assert _settled(_watch(folder, tmp_path / "state.json")) == [video.resolve()]


def test_subfolders_are_watched(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    files = [_write(folder / "top.flac"), _write(folder / "2024" / "03" / "deep.ogg")]
    assert _settled(_watch(folder, tmp_path / "state.json")) == sorted(f.resolve() for f in files)


def test_hidden_and_temporary_files_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for name in (".hidden.wav", "talk.wav.part", "talk.mp3.crdownload", "talk.wav~", ".cache/inside.wav"):
        _write(folder / name)
    real = _write(folder / "real.wav")
    assert _settled(_watch(folder, tmp_path / "state.json")) == [real.resolve()]


def test_a_replaced_file_is_not_queued_again(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    audio = _write(folder / "talk.wav", 100)
    watch = _watch(folder, tmp_path / "state.json")
    assert _settled(watch) == [audio.resolve()]
    _write(audio, 300)
    os.utime(audio, ns=(10**18, 10**18))
    assert _settled(watch) == []
    assert _settled(_watch(folder, tmp_path / "state.json")) == []


def test_each_folder_has_its_own_seen_set(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first, second = tmp_path / "first", tmp_path / "second"
    a = _write(first / "a.wav")
    b = _write(second / "b.wav")
    assert _settled(_watch(first, state)) == [a.resolve()]
    assert _settled(_watch(second, state)) == [b.resolve()]
    assert _settled(_watch(first, state)) == []  # back to the first folder: its set was kept
    assert set(json.loads(state.read_text())) == {str(first.resolve()), str(second.resolve())}


def test_a_missing_folder_returns_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet"
    watch = _watch(folder, tmp_path / "state.json")
    assert _settled(watch) == []
    assert not (tmp_path / "state.json").exists()
    audio = _write(folder / "a.wav")  # the folder appears later (a drive mounted, a sync finished)
    assert _settled(watch) == [audio.resolve()]


def test_a_corrupt_state_file_starts_fresh(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{broken")
    audio = _write(tmp_path / "in" / "a.wav")
    watch = _watch(tmp_path / "in", state)
    assert _settled(watch) == [audio.resolve()]
    assert json.loads(state.read_text()) == {str((tmp_path / "in").resolve()): [str(audio.resolve())]}
