"""Decisions on the voice library's verdicts (accept, reject, merge, accept all) on constructed results; what the
exports show of them; identifying again keeps what was decided (a real library folder, constructed vectors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stt_studio.engine.result import (
    Segment,
    SpeakerSummary,
    SpeakerTurn,
    TranscriptionResult,
    VoiceCandidate,
)
from stt_studio.engine.speaker_identity import identify_speakers
from stt_studio.engine.speakers import UnknownSpeakerError, rename_speaker
from stt_studio.exports import render, rttm_speakers
from stt_studio.exports.options import ExportOptions
from stt_studio.voices.decisions import (
    NothingToDecideError,
    accept,
    accept_all,
    decide,
    merge,
    reject,
    suggested,
)
from stt_studio.voices.library import NewSample, VoiceLibrary
from stt_studio.voices.prints import JobVoicePrints, SpeakerPrint

DIANE = VoiceCandidate(voice_id="v-diane", name="Diane", score=0.74)
BOB = VoiceCandidate(voice_id="v-bob", name="Bob", score=0.91)


def _result(*speakers: SpeakerSummary) -> TranscriptionResult:
    labels = [s.speaker for s in speakers]
    segments = [
        Segment(id=i, start=i * 2.0, end=i * 2.0 + 1.5, text=f"Line {i}.", speaker=label)
        for i, label in enumerate(labels)
    ]
    turns = [SpeakerTurn(start=s.start, end=s.end, speaker=s.speaker or "") for s in segments]
    return TranscriptionResult(
        text=" ".join(s.text for s in segments),
        language="en",
        duration=10.0,
        segments=segments,
        processing_time=1.0,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
        speakers=list(speakers),
        speaker_turns=turns,
    )


def suggested_diane(label: str = "SPEAKER_00") -> SpeakerSummary:
    return SpeakerSummary(
        speaker=label,
        speaking_time=1.5,
        name="Diane",
        voice_id="v-diane",
        match="suggested",
        score=0.74,
        margin=0.1,
        candidates=[DIANE, BOB],
    )


def auto_bob(label: str = "SPEAKER_01") -> SpeakerSummary:
    return SpeakerSummary(
        speaker=label, speaking_time=1.5, name="Bob", voice_id="v-bob", match="auto", score=0.91, candidates=[BOB]
    )


def unknown_like_bob(label: str = "SPEAKER_02") -> SpeakerSummary:
    return SpeakerSummary(speaker=label, speaking_time=1.5, match="unknown", candidates=[BOB], also_sounds_like=BOB)


def _txt(result: TranscriptionResult) -> str:
    return render(result, "txt", ExportOptions(include_speakers=True, include_timestamps=False)).decode()


def test_a_suggestion_is_no_name_until_accepted_and_then_in_every_export() -> None:
    result = _result(suggested_diane(), auto_bob())
    assert result.speaker_name("SPEAKER_00") == "Speaker 1"  # pending: not in exports
    assert result.speaker_name("SPEAKER_01") == "Bob"  # automatic: named
    assert "Diane" not in _txt(result) and "Bob" in _txt(result)
    assert rttm_speakers(result) == {"SPEAKER_00": "SPEAKER_00", "SPEAKER_01": "Bob"}

    accepted = accept(result, "SPEAKER_00")
    assert accepted.speakers is not None and accepted.speakers[0].match == "accepted"
    assert accepted.speaker_name("SPEAKER_00") == "Diane"
    assert "Diane" in _txt(accepted)
    assert "Diane" in render(accepted, "srt", ExportOptions(include_speakers=True)).decode()
    assert rttm_speakers(accepted)["SPEAKER_00"] == "Diane"
    assert result.speakers is not None and result.speakers[0].match == "suggested"  # the argument is untouched


def test_a_typed_name_wins_over_every_library_name() -> None:
    result = rename_speaker(_result(suggested_diane(), auto_bob()), "SPEAKER_01", "Robert")
    result = rename_speaker(result, "SPEAKER_00", "Di")
    accepted = accept(result, "SPEAKER_00")
    assert (accepted.speaker_name("SPEAKER_00"), accepted.speaker_name("SPEAKER_01")) == ("Di", "Robert")
    assert accepted.speaker_names == {"SPEAKER_00": "Di", "SPEAKER_01": "Robert"}
    assert suggested(result) == []  # a typed name hides the suggestion from "accept all"


def test_reject_clears_the_match_and_remembers_the_voice() -> None:
    result = _result(suggested_diane(), auto_bob())
    rejected = reject(result, "SPEAKER_00")
    assert rejected.speakers is not None
    speaker = rejected.speakers[0]
    assert (speaker.match, speaker.name, speaker.voice_id, speaker.score) == ("unknown", None, None, None)
    assert speaker.rejected_voices == ["v-diane"]
    assert [c.voice_id for c in speaker.candidates or ()] == ["v-bob"]
    assert rejected.speaker_name("SPEAKER_00") == "Speaker 1"
    # an automatic name can be rejected too
    assert reject(rejected, "SPEAKER_01").speaker_name("SPEAKER_01") == "Speaker 2"
    # the rejection survives speaking times counted again (a merge elsewhere)
    more = _result(suggested_diane(), auto_bob(), unknown_like_bob())
    merged = merge(reject(more, "SPEAKER_00"), "SPEAKER_02")
    assert merged.speakers is not None and merged.speakers[0].rejected_voices == ["v-diane"]


def test_reject_of_an_also_sounds_like_hint() -> None:
    result = reject(_result(suggested_diane(), auto_bob(), unknown_like_bob()), "SPEAKER_02")
    assert result.speakers is not None
    assert (result.speakers[2].also_sounds_like, result.speakers[2].rejected_voices) == (None, ["v-bob"])


def test_merge_joins_the_speaker_into_the_one_named_with_that_voice() -> None:
    result = _result(suggested_diane(), auto_bob(), unknown_like_bob())
    merged = decide(result, "SPEAKER_02", "merge")
    assert merged.speakers is not None and [s.speaker for s in merged.speakers] == ["SPEAKER_00", "SPEAKER_01"]
    assert [s.speaker for s in merged.segments] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_01"]
    assert merged.speakers[1].match == "auto" and merged.speakers[1].speaking_time == 3.0


def test_nothing_to_decide_and_unknown_speakers_are_refused_saying_why() -> None:
    result = _result(suggested_diane(), auto_bob(), unknown_like_bob())
    with pytest.raises(NothingToDecideError, match="auto as Bob"):
        accept(result, "SPEAKER_01")
    with pytest.raises(NothingToDecideError, match="nobody to merge"):
        merge(result, "SPEAKER_00")
    with pytest.raises(NothingToDecideError, match="no voice to reject"):
        reject(reject(result, "SPEAKER_02"), "SPEAKER_02")
    # the voice the hint names was rejected on its speaker: no merge target left
    with pytest.raises(NothingToDecideError, match="no speaker is named Bob"):
        merge(reject(result, "SPEAKER_01"), "SPEAKER_02")
    with pytest.raises(ValueError, match="one of accept, reject, merge"):
        decide(result, "SPEAKER_00", "maybe")  # type: ignore[arg-type]
    with pytest.raises(UnknownSpeakerError, match="SPEAKER_09"):
        decide(result, "SPEAKER_09", "accept")
    with pytest.raises(NothingToDecideError, match="not compared"):
        accept(_result(SpeakerSummary(speaker="SPEAKER_00", speaking_time=1.0)), "SPEAKER_00")


def test_accept_all_accepts_every_waiting_suggestion() -> None:
    result = _result(suggested_diane(), auto_bob(), suggested_diane("SPEAKER_02").model_copy(update={"name": "Eve"}))
    accepted = accept_all(result)
    assert accepted.speakers is not None
    assert [s.match for s in accepted.speakers] == ["accepted", "auto", "accepted"]
    with pytest.raises(NothingToDecideError):
        accept_all(accepted)


# --- identify again: matching once more respects what was decided ------------------------------------------------
MODEL = "campplus-192:test"
V_DIANE, V_BOB = (1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0)
PRINTS = JobVoicePrints(
    MODEL,
    (
        SpeakerPrint("SPEAKER_00", (0.76, 0.0, 0.65, 0.0), 20.0),  # 0.76 with Diane: a suggestion
        SpeakerPrint("SPEAKER_01", (0.0, 0.97, 0.0, 0.24), 15.0),  # Bob, clearly
    ),
)


def _library(tmp_path: Path) -> VoiceLibrary:
    lib = VoiceLibrary(tmp_path / "voices")
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF")
    for name, vector in (("Diane", V_DIANE), ("Bob", V_BOB)):
        lib.add_voice(name, NewSample(vector, MODEL, clip, 10.0, "test", "agreed"))
    return lib


def _speakers() -> list[SpeakerSummary]:
    return [SpeakerSummary(speaker=p.label, speaking_time=p.speech_seconds) for p in PRINTS.speakers]


def test_identify_again_never_proposes_a_rejected_voice_and_keeps_accepted_ones(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    speakers, _ = identify_speakers(_speakers(), PRINTS, lib)
    assert [(s.name, s.match) for s in speakers] == [("Diane", "suggested"), ("Bob", "auto")]
    result = _result(*speakers)

    rejected = reject(result, "SPEAKER_00")
    assert rejected.speakers is not None
    again, _ = identify_speakers(rejected.speakers, PRINTS, lib)
    assert (again[0].match, again[0].name, again[0].rejected_voices) == (
        "unknown",
        None,
        [next(v.id for v in lib.voices() if v.name == "Diane")],
    )
    assert "Diane" not in [c.name for c in again[0].candidates or ()]

    accepted = accept(result, "SPEAKER_00")
    assert accepted.speakers is not None
    again, _ = identify_speakers(accepted.speakers, PRINTS, lib)
    assert again[0] == accepted.speakers[0]  # accepted stays accepted, as it was
    assert again[1].name == "Bob"


def test_an_accepted_voice_is_nobody_elses_on_identify_again(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    bob_id = next(v.id for v in lib.voices() if v.name == "Bob")
    # the user accepted Bob for SPEAKER_00, whose voice is closer to Diane: SPEAKER_01 must not get Bob too
    speakers = [
        SpeakerSummary(speaker="SPEAKER_00", speaking_time=20.0, name="Bob", voice_id=bob_id, match="accepted"),
        SpeakerSummary(speaker="SPEAKER_01", speaking_time=15.0),
    ]
    again, _ = identify_speakers(speakers, PRINTS, lib)
    assert again[0].match == "accepted"
    assert again[1].match == "unknown" and again[1].also_sounds_like is not None
    assert again[1].also_sounds_like.name == "Bob"


def test_name_automatically_off_makes_a_clear_match_a_suggestion(tmp_path: Path) -> None:
    speakers, _ = identify_speakers(_speakers(), PRINTS, _library(tmp_path), name_automatically=False)
    assert [s.match for s in speakers] == ["suggested", "suggested"]


def test_a_rejection_does_not_push_the_good_pair_apart() -> None:
    """Seen on pyannote's sample: with speaker B's voice rejected for B, a full assignment paired A with B's voice
    and B with A's (two weak pairs, 0.63 + 0.60, outweigh one good one, 0.85): both unknown. A pair must clear the
    suggestion threshold to be worth making."""
    from stt_studio.voices.matching import KnownVoice, match_speakers

    a, b = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    voice_a = KnownVoice("v-a", "A", ((0.85, 0.53, 0.0),))  # 0.85 with speaker A, 0.53 with B
    voice_b = KnownVoice("v-b", "B", ((0.63, 0.78, 0.0),))  # 0.63 with A, 0.78 with B
    prints = JobVoicePrints(MODEL, (SpeakerPrint("A", a, 10.0), SpeakerPrint("B", b, 10.0)))
    matches = match_speakers(prints, MODEL, [voice_a, voice_b], rejected={("B", "v-b")})
    assert [(m.label, m.name, m.match) for m in matches] == [("A", "A", "auto"), ("B", None, "unknown")]
