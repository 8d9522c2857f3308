"""The voice library's files: round trip, atomic writes, the lock, deletion, one-archive export and import, a damaged
file, a model change."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from stt_studio.voices import library as library_module
from stt_studio.voices.library import (
    DuplicateVoiceError,
    LibraryBusyError,
    NewSample,
    VoiceLibrary,
    VoiceLibraryError,
    VoiceNotFoundError,
)

MODEL = "campplus-192:test"


@pytest.fixture
def lib(tmp_path: Path) -> VoiceLibrary:
    return VoiceLibrary.in_data_dir(tmp_path / "data")


def sample(tmp_path: Path, content: bytes = b"RIFF-diane", vector: tuple[float, ...] = (1.0, 0.0, 0.0)) -> NewSample:
    clip = tmp_path / f"clip-{abs(hash(content))}.wav"
    clip.write_bytes(content)
    return NewSample(vector, MODEL, clip, 12.5, "job:abc speaker SPEAKER_00", "agreed in person, 2026-12-07")


def test_a_voice_round_trips_with_its_sample_clip_source_date_and_consent(lib: VoiceLibrary, tmp_path: Path) -> None:
    voice = lib.add_voice("  Diane   Okafor ", sample(tmp_path))
    again = lib.get(voice.id)
    assert again == voice and again.name == "Diane Okafor"
    (s,) = again.samples
    assert (s.embedding, s.model, s.speech_seconds) == ([1.0, 0.0, 0.0], MODEL, 12.5)
    assert (s.source, s.consent) == ("job:abc speaker SPEAKER_00", "agreed in person, 2026-12-07")
    assert lib.clip_path(s).read_bytes() == b"RIFF-diane" and lib.clip_path(s).parent == lib.folder / "clips"
    assert lib.folder == tmp_path / "data" / "voices"
    grown = lib.add_sample(voice.id, sample(tmp_path, b"more", (0.0, 1.0, 0.0)))
    assert len(grown.samples) == 2 and grown.speech_seconds() == 25.0
    assert [(k.name, len(k.samples)) for k in lib.known_voices(MODEL)] == [("Diane Okafor", 2)]


def test_bad_input_is_refused_plainly(lib: VoiceLibrary, tmp_path: Path) -> None:
    voice = lib.add_voice("Diane", sample(tmp_path))
    with pytest.raises(DuplicateVoiceError, match="'Diane' is already in the library"):
        lib.add_voice("diane", sample(tmp_path))
    other = lib.add_voice("Bob", sample(tmp_path, b"bob"))
    with pytest.raises(DuplicateVoiceError):
        lib.rename(other.id, "DIANE")
    with pytest.raises(VoiceLibraryError, match="needs a name"):
        lib.add_voice("   ", sample(tmp_path))
    no_consent = NewSample((1.0, 0.0, 0.0), MODEL, tmp_path / "x.wav", 5.0, "file", " ")
    with pytest.raises(VoiceLibraryError, match="consent"):
        lib.add_voice("Carol", no_consent)
    with pytest.raises(VoiceLibraryError, match="2 numbers, the voice's 3"):
        lib.add_sample(voice.id, sample(tmp_path, b"short", (1.0, 0.0)))
    with pytest.raises(VoiceNotFoundError):
        lib.get("v_000000000000")
    with pytest.raises(VoiceNotFoundError):
        lib.get("../../etc/passwd")
    assert [v.name for v in lib.voices()] == ["Bob", "Diane"]


def test_a_write_that_fails_midway_leaves_the_previous_file(
    lib: VoiceLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = lib.add_voice("Diane", sample(tmp_path))
    real_write_text = Path.write_text

    def half_then_disk_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
        real_write_text(self, text[: len(text) // 2], encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_disk_full)
    with pytest.raises(OSError, match="No space"):
        lib.rename(voice.id, "Diane K")
    monkeypatch.undo()
    assert lib.get(voice.id).name == "Diane"
    assert lib.contents().problems == []
    assert not list((lib.folder / "voices").glob("*.tmp"))


def test_another_writer_holding_the_lock_makes_a_change_wait_then_fail_plainly(
    lib: VoiceLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib.add_voice("Diane", sample(tmp_path))
    monkeypatch.setattr(library_module, "LOCK_TIMEOUT_SECONDS", 0.2)
    with FileLock(lib.folder / ".lock"), pytest.raises(LibraryBusyError, match="being changed by another program"):
        lib.add_voice("Bob", sample(tmp_path, b"bob"))
    assert [v.name for v in lib.voices()] == ["Diane"]


def test_delete_removes_the_clip_files(lib: VoiceLibrary, tmp_path: Path) -> None:
    voice = lib.add_voice("Diane", sample(tmp_path))
    voice = lib.add_sample(voice.id, sample(tmp_path, b"second"))
    first, second = (lib.clip_path(s) for s in voice.samples)
    kept = lib.delete_sample(voice.id, voice.samples[0].id)
    assert kept is not None and not first.exists() and second.exists()
    bob = lib.add_voice("Bob", sample(tmp_path, b"bob"))
    bob_clip = lib.clip_path(bob.samples[0])
    lib.delete_voice(bob.id)
    assert not bob_clip.exists() and not (lib.folder / "voices" / f"{bob.id}.json").exists()
    assert lib.delete_sample(voice.id, voice.samples[1].id) is None  # the last sample: the voice goes too
    assert lib.voices() == [] and list((lib.folder / "clips").iterdir()) == []


def test_export_and_import_move_the_whole_library_as_one_archive(lib: VoiceLibrary, tmp_path: Path) -> None:
    diane = lib.add_voice("Diane", sample(tmp_path))
    lib.add_voice("Bob", sample(tmp_path, b"bob", (0.0, 0.0, 1.0)))
    archive = tmp_path / "voices.zip"
    assert lib.export_archive(archive) == 2
    other = VoiceLibrary(tmp_path / "elsewhere")
    other.add_voice("Diane", sample(tmp_path, b"diane-here"))  # a name already there gets the samples it lacks
    changed = other.import_archive(archive)
    assert sorted(v.name for v in changed) == ["Bob", "Diane"]
    by_name = {v.name: v for v in other.voices()}
    assert len(by_name["Diane"].samples) == 2 and len(by_name["Bob"].samples) == 1
    imported = next(s for s in by_name["Diane"].samples if s.id == diane.samples[0].id)
    assert imported.embedding == [1.0, 0.0, 0.0] and other.clip_path(imported).read_bytes() == b"RIFF-diane"
    assert other.import_archive(archive) == []  # twice: nothing new


def test_an_archive_that_is_not_one_is_refused_by_name(lib: VoiceLibrary, tmp_path: Path) -> None:
    junk = tmp_path / "notes.zip"
    junk.write_text("hello")
    with pytest.raises(VoiceLibraryError, match=r"notes\.zip is not a voice library archive"):
        lib.import_archive(junk)
    sneaky = tmp_path / "sneaky.zip"
    with zipfile.ZipFile(sneaky, "w") as z:
        voice = lib.add_voice("Eve", sample(tmp_path)).model_dump(mode="json")
        voice["samples"][0]["clip"] = "../../escape.wav"
        z.writestr(f"voices/{voice['id']}.json", json.dumps(voice))
        z.writestr("clips/../../escape.wav", b"x")
    with pytest.raises(VoiceLibraryError, match=r"is damaged.*not a clip file name"):
        VoiceLibrary(tmp_path / "fresh").import_archive(sneaky)
    assert not (tmp_path / "escape.wav").exists()


def test_a_damaged_voice_file_is_named_and_the_other_voices_still_load(lib: VoiceLibrary, tmp_path: Path) -> None:
    lib.add_voice("Diane", sample(tmp_path))
    bob = lib.add_voice("Bob", sample(tmp_path, b"bob"))
    damaged = lib.folder / "voices" / f"{bob.id}.json"
    damaged.write_text('{"id": "' + bob.id + '", "name": "Bob", "samp')
    contents = lib.contents()
    assert [v.name for v in contents.voices] == ["Diane"]
    (problem,) = contents.problems
    assert str(damaged) in problem and "damaged" in problem
    assert [k.name for k in lib.known_voices(MODEL)] == ["Diane"]
    with pytest.raises(VoiceLibraryError, match=re.escape(str(damaged))):
        lib.get(bob.id)


def test_after_a_model_change_a_voice_needs_refresh_and_matching_uses_only_current_samples(
    lib: VoiceLibrary, tmp_path: Path
) -> None:
    voice = lib.add_voice("Diane", sample(tmp_path))
    newer = "campplus-192:newer"
    assert not voice.needs_refresh(MODEL) and voice.needs_refresh(newer)
    assert lib.known_voices(newer) == []
    refreshed = NewSample((0.0, 1.0), newer, tmp_path / "clip-x.wav", 9.0, "refresh", "agreed")
    (tmp_path / "clip-x.wav").write_bytes(b"x")
    lib.add_sample(voice.id, refreshed)  # another model's vector may have another size
    (known,) = lib.known_voices(newer)
    assert known.samples == ((0.0, 1.0),)


def test_a_refresh_embeds_the_older_samples_clips_again_and_keeps_what_it_cannot(
    lib: VoiceLibrary, tmp_path: Path
) -> None:
    diane = lib.add_voice("Diane", sample(tmp_path, b"RIFF-diane"))
    bob = lib.add_voice("Bob", sample(tmp_path, b"RIFF-bob", (0.0, 1.0, 0.0)))
    newer = "campplus-256:newer"
    (tmp_path / "clip-x.wav").write_bytes(b"x")
    lib.add_sample(bob.id, NewSample((0.0, 0.0, 0.0, 1.0), newer, tmp_path / "clip-x.wav", 9.0, "x", "agreed"))
    lib.clip_path(lib.get(bob.id).samples[0]).unlink()  # Bob's older clip is gone
    embedded: list[bytes] = []

    def embed(clip: Path) -> tuple[float, ...]:
        embedded.append(clip.read_bytes())  # a missing clip raises FileNotFoundError, an OSError
        return (0.5, 0.5, 0.5, 0.5)

    done = lib.refresh(newer, embed)
    assert (done.samples, done.left) == (1, 1) and embedded == [b"RIFF-diane"]  # only the older samples' clips
    (problem,) = done.problems
    assert problem.startswith("Bob: the sample from job:abc speaker SPEAKER_00 could not be embedded again")
    (refreshed,) = lib.get(diane.id).samples
    assert (refreshed.model, refreshed.embedding) == (newer, [0.5, 0.5, 0.5, 0.5])
    assert refreshed.source == "job:abc speaker SPEAKER_00" and refreshed.speech_seconds == 12.5  # the rest kept
    assert not lib.get(diane.id).needs_refresh(newer) and lib.get(bob.id).needs_refresh(newer)
    assert [k.name for k in lib.known_voices(newer)] == ["Bob", "Diane"]
    assert lib.refresh(newer, embed).samples == 0 and len(embedded) == 1  # nothing more to do for Diane


def test_an_archive_with_a_damaged_member_is_refused_as_damaged(lib: VoiceLibrary, tmp_path: Path) -> None:
    lib.add_voice("Diane", sample(tmp_path, b"RIFF-" + b"diane" * 40))
    archive = tmp_path / "voices.zip"
    lib.export_archive(archive)
    with zipfile.ZipFile(archive) as z:
        clip = next(info for info in z.infolist() if info.filename.startswith("clips/"))
    data = bytearray(archive.read_bytes())
    at = clip.header_offset + 30 + len(clip.filename) + len(clip.extra) + clip.compress_size // 2
    data[at] ^= 0xFF  # one byte of the clip's compressed data: its CRC (or its deflate stream) no longer holds
    archive.write_bytes(bytes(data))
    fresh = VoiceLibrary(tmp_path / "fresh")
    with pytest.raises(VoiceLibraryError, match=r"voices\.zip is damaged"):
        fresh.import_archive(archive)
