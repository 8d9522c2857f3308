"""Voices from clips (``voices/clips.py``) on real speech: clips of pyannote's two-speaker sample, cut at its
reference turns, embedded by the library's own model (the no-token backend's CAM++ through the jobs' diarization);
enrolled, picked from a two-speaker clip, used as references, and refused when they cannot give a voice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stt_studio.engine.audio import decode_audio
from stt_studio.engine.diarization.local import local_embedding_fingerprint
from stt_studio.settings import Settings
from stt_studio.voices.clips import (
    REFERENCE_MAX_SECONDS,
    REFERENCE_MIN_SECONDS,
    ClipEmbedder,
    ClipLengthError,
    ClipVoices,
    NoSpeechError,
    NoSuchClipSpeakerError,
    NotAudioClipError,
    SeveralSpeakersError,
    enroll_from_clip,
    reference_voice,
)
from stt_studio.voices.enroll import MIN_SECONDS, TooLittleSpeechError
from stt_studio.voices.library import VoiceLibrary
from stt_studio.voices.matching import match_speakers
from stt_studio.voices.prints import JobVoicePrints, SpeakerPrint
from tests.sample_clips import (
    BOTH,
    BOTH_LONGER,
    SPEAKER90_SHORT,
    SPEAKER90_TURNS,
    SPEAKER91_LONG,
    SPEAKER91_SHORT,
    cut,
    silence,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedder(settings: Settings) -> ClipEmbedder:
    return ClipEmbedder(settings)


@pytest.fixture(scope="module")
def clips(embedder: ClipEmbedder, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClipVoices]:
    """Each real clip's speakers, found once for the module (each takes seconds)."""
    folder = tmp_path_factory.mktemp("clips")
    files = {
        "speaker91": cut(folder / "speaker91.flac", SPEAKER91_LONG),
        "speaker90": cut(folder / "speaker90.mp3", *SPEAKER90_TURNS),
        "both": cut(folder / "both.wav", BOTH),
        "both-longer": cut(folder / "both-longer.ogg", BOTH_LONGER),
        "speaker91-short": cut(folder / "speaker91-short.wav", SPEAKER91_SHORT),
    }
    return {name: embedder.voices(path) for name, path in files.items()}


def _cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x, y = np.asarray(a), np.asarray(b)
    return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))


def test_a_clip_of_one_voice_gives_one_speaker_of_the_library_model(clips: dict[str, ClipVoices]) -> None:
    for name in ("speaker91", "speaker90", "speaker91-short"):
        clip = clips[name]
        print(name, clip.duration, [(s.label, s.speech_seconds) for s in clip.speakers])
        assert clip.model == local_embedding_fingerprint()
        (speaker,) = clip.speakers
        assert len(speaker.vector) == 192
        assert speaker.speech_seconds > 0.8 * clip.duration
        assert "vector" not in repr(speaker)


def test_the_same_voice_scores_higher_than_the_other_one(clips: dict[str, ClipVoices]) -> None:
    """Real voices: speaker91's two clips (different turns) against each other and against speaker90's."""
    (long91,), (short91,), (only90,) = (clips[n].speakers for n in ("speaker91", "speaker91-short", "speaker90"))
    genuine = _cosine(long91.vector, short91.vector)
    impostors = [_cosine(long91.vector, only90.vector), _cosine(short91.vector, only90.vector)]
    print(f"speaker91 long vs short: {genuine:.3f}; speaker91 vs speaker90: {[round(s, 3) for s in impostors]}")
    assert genuine >= 0.8 and max(impostors) <= 0.7


def test_enroll_from_a_clip_saves_the_speech_as_16k_mono_flac(clips: dict[str, ClipVoices], tmp_path: Path) -> None:
    library = VoiceLibrary(tmp_path / "voices")
    enrolled = enroll_from_clip(
        library, clips["speaker91"], consent="agreed", source="file speaker91.flac", name="Diane"
    )
    (sample,) = enrolled.voice.samples
    assert not enrolled.added_to_existing and enrolled.voice.name == "Diane"
    assert sample.source == "file speaker91.flac" and sample.model == clips["speaker91"].model
    assert 5.0 <= enrolled.speech_seconds <= clips["speaker91"].duration
    assert enrolled.warning is not None and "10 s" in enrolled.warning  # under 10 s: saved, with the warning
    saved = library.clip_path(sample)
    assert saved.suffix == ".flac"
    assert abs(decode_audio(saved).duration - enrolled.speech_seconds) < 0.01
    again = enroll_from_clip(library, clips["speaker91"], consent="agreed", source="again", name="diane")
    assert again.added_to_existing and len(again.voice.samples) == 2  # the same name adds a sample


def test_a_clip_of_two_voices_names_them_and_one_is_picked(clips: dict[str, ClipVoices], tmp_path: Path) -> None:
    both = clips["both-longer"]
    print("both-longer:", [(s.label, s.speech_seconds, s.turns) for s in both.speakers])
    assert len(both.speakers) == 2
    library = VoiceLibrary(tmp_path / "voices")
    with pytest.raises(SeveralSpeakersError) as refused:
        enroll_from_clip(library, both, consent="agreed", source="file both.ogg", name="Diane")
    assert [s.label for s in refused.value.speakers] == [s.label for s in both.speakers]
    assert "2 voices" in str(refused.value) and all(s.label in str(refused.value) for s in both.speakers)
    assert library.voices() == []
    with pytest.raises(NoSuchClipSpeakerError, match="SPEAKER_07"):
        enroll_from_clip(library, both, consent="agreed", source="f", name="Diane", speaker="SPEAKER_07")

    # the one that sounds like speaker90's own clip (it has over 5 s here) is picked: its speech alone is saved
    (only90,) = clips["speaker90"].speakers
    scores = {s.label: _cosine(s.vector, only90.vector) for s in both.speakers}
    print("both-longer's speakers against speaker90's clip:", {k: round(v, 3) for k, v in scores.items()})
    label = max(scores, key=lambda k: scores[k])
    assert scores[label] >= 0.8 and min(scores.values()) <= 0.7
    picked = next(s for s in both.speakers if s.label == label)
    enrolled = enroll_from_clip(library, both, consent="agreed", source="file both.ogg", name="Diane", speaker=label)
    assert enrolled.voice.samples[0].source == f"file both.ogg ({label})"
    assert abs(enrolled.speech_seconds - picked.speech_seconds) < 0.05
    assert enrolled.voice.samples[0].embedding == list(picked.vector)
    other = next(s for s in both.speakers if s.label != label)
    if other.speech_seconds < MIN_SECONDS:
        with pytest.raises(TooLittleSpeechError, match=f"{other.label}'s speech; a voice needs at least 5 s"):
            enroll_from_clip(library, both, consent="agreed", source="f", name="Other", speaker=other.label)


def test_voices_enrolled_from_clips_name_the_speakers_of_another_clip(
    clips: dict[str, ClipVoices], tmp_path: Path
) -> None:
    """Each speaker enrolled from a clip of their own turns, then the two-speaker clip's speakers matched as a job's
    are (speaker91's turns there are others than its enrolled one; speaker90's 11.0-14.5 s turn is in both)."""
    library = VoiceLibrary(tmp_path / "voices")
    for name in ("speaker91", "speaker90"):
        enroll_from_clip(library, clips[name], consent="agreed", source=name, name=name)
    both = clips["both"]
    prints = JobVoicePrints(both.model, tuple(SpeakerPrint(s.label, s.vector, s.speech_seconds) for s in both.speakers))
    matches = match_speakers(prints, both.model, library.known_voices(both.model))
    for match in matches:
        print(f"{match.label}: {match.match} {match.name} score {match.score} margin {match.margin}")
    assert {m.name for m in matches} == {"speaker91", "speaker90"}
    assert all(m.match in ("auto", "suggested") for m in matches)


def test_a_reference_is_one_voice_of_2_to_10_s(
    embedder: ClipEmbedder, clips: dict[str, ClipVoices], tmp_path: Path
) -> None:
    voice = reference_voice(clips["speaker91-short"], "agent", "ref-0")
    assert voice.name == "agent" and len(voice.samples) == 1
    with pytest.raises(SeveralSpeakersError, match="2 voices"):
        reference_voice(clips["both"], "agent", "ref-0")
    limits = {"shortest": REFERENCE_MIN_SECONDS, "longest": REFERENCE_MAX_SECONDS}
    with pytest.raises(ClipLengthError, match=r"1\.5 s long; it needs at least 2 s"):
        embedder.voices(cut(tmp_path / "short.wav", SPEAKER90_SHORT), **limits)
    with pytest.raises(ClipLengthError, match="longer than 10 s; it may be at most 10 s"):
        embedder.voices(cut(tmp_path / "long.wav", (6.0, 18.5)), **limits)


def test_clips_that_give_no_voice_are_refused_saying_why(embedder: ClipEmbedder, tmp_path: Path) -> None:
    quiet = embedder.voices(silence(tmp_path / "silence.wav", 6.0))
    assert quiet.speakers == ()
    with pytest.raises(NoSpeechError, match="No speech"):
        enroll_from_clip(VoiceLibrary(tmp_path / "voices"), quiet, consent="agreed", source="s", name="Diane")
    with pytest.raises(NoSpeechError, match="No speech"):
        reference_voice(quiet, "agent", "ref-0")
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 20)
    with pytest.raises(NotAudioClipError, match="cannot be used as audio"):
        embedder.voices(text)
    with pytest.raises(ClipLengthError, match="needs at least 5 s"):
        embedder.voices(cut(tmp_path / "short.wav", SPEAKER90_SHORT), shortest=MIN_SECONDS)
