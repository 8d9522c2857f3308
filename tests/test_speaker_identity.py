"""The voice library's names on a diarized result's speakers (the engine's last diarization step), on a real library
folder and constructed vectors; a review that counts speaking times again keeps them."""

from __future__ import annotations

from pathlib import Path

from stt_studio.engine.result import Segment, SpeakerSummary, TranscriptionResult
from stt_studio.engine.speaker_identity import identify_speakers
from stt_studio.review.editing import set_segment_speaker
from stt_studio.voices.library import NewSample, VoiceLibrary
from stt_studio.voices.prints import JobVoicePrints, SpeakerPrint

MODEL = "campplus-192:test"
DIANE, BOB = (1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0)
SPEAKERS = [
    SpeakerSummary(speaker="SPEAKER_00", speaking_time=20.0),
    SpeakerSummary(speaker="SPEAKER_01", speaking_time=15.0),
]
PRINTS = JobVoicePrints(
    MODEL,
    (SpeakerPrint("SPEAKER_00", (0.1, 0.95, 0.0, 0.1), 20.0), SpeakerPrint("SPEAKER_01", (0.0, 0.0, 0.0, 1.0), 15.0)),
)


def library(tmp_path: Path, *voices: tuple[str, tuple[float, ...]], model: str = MODEL) -> VoiceLibrary:
    lib = VoiceLibrary(tmp_path / "voices")
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF")
    for name, vector in voices:
        lib.add_voice(name, NewSample(vector, model, clip, 10.0, "test", "agreed"))
    return lib


def test_a_known_voice_names_its_speaker_and_the_other_stays_unknown(tmp_path: Path) -> None:
    lib = library(tmp_path, ("Diane", DIANE), ("Bob", BOB))
    speakers, warnings = identify_speakers(SPEAKERS, PRINTS, lib)
    bob, stranger = speakers
    assert (bob.name, bob.match, bob.speaking_time, warnings) == ("Bob", "auto", 20.0, [])
    assert bob.score is not None and bob.score > 0.95 and bob.margin is not None
    assert bob.candidates is not None and [c.name for c in bob.candidates] == ["Bob", "Diane"]
    assert (stranger.name, stranger.voice_id, stranger.match) == (None, None, "unknown")


def test_without_voices_of_this_model_speakers_are_not_compared(tmp_path: Path) -> None:
    assert identify_speakers(SPEAKERS, PRINTS, library(tmp_path)) == (SPEAKERS, [])
    other_model = library(tmp_path, ("Diane", DIANE), model="another-model")
    assert identify_speakers(SPEAKERS, PRINTS, other_model) == (SPEAKERS, [])


def test_a_damaged_voice_file_is_a_warning_and_the_other_voices_still_name(tmp_path: Path) -> None:
    lib = library(tmp_path, ("Diane", DIANE), ("Bob", BOB))
    diane = next(v for v in lib.voices() if v.name == "Diane")
    (lib.folder / "voices" / f"{diane.id}.json").write_text("{not json")
    speakers, warnings = identify_speakers(SPEAKERS, PRINTS, lib)
    assert speakers[0].name == "Bob"
    (warning,) = warnings
    assert f"{diane.id}.json" in warning and "damaged" in warning


def test_vectors_of_another_size_are_a_warning_not_a_failed_job(tmp_path: Path) -> None:
    lib = library(tmp_path, ("Diane", (1.0, 0.0)))
    speakers, (warning,) = identify_speakers(SPEAKERS, PRINTS, lib)
    assert speakers == SPEAKERS and "'Diane' has a vector of 2 numbers where 4" in warning


def test_a_review_that_counts_speaking_times_again_keeps_the_names(tmp_path: Path) -> None:
    speakers, _ = identify_speakers(SPEAKERS, PRINTS, library(tmp_path, ("Bob", BOB)))
    result = TranscriptionResult(
        text="hello there",
        language="en",
        duration=4.0,
        segments=[
            Segment(id=0, start=0.0, end=2.0, text="hello", speaker="SPEAKER_00"),
            Segment(id=1, start=2.0, end=4.0, text="there", speaker="SPEAKER_01"),
        ],
        processing_time=1.0,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=speakers,
    )
    edited = set_segment_speaker(result, 1, "SPEAKER_00")
    assert edited.speakers is not None and edited.speakers[0].speaking_time == 4.0
    assert (edited.speakers[0].name, edited.speakers[0].match) == ("Bob", "auto")
