"""Speaker edits in review (stt_studio.engine.speakers): rename, merge and add, on a two-speaker result; the input
is never modified."""

from __future__ import annotations

import pytest

from stt_studio.engine.result import SpeakerTurn, TranscriptionResult
from stt_studio.engine.speakers import (
    UnknownSpeakerError,
    add_speaker,
    assign_speaker,
    labels,
    merge_speakers,
    rename_speaker,
    speaker_count,
)
from stt_studio.exports import export
from tests.test_exports import make_result


def frozen(result: TranscriptionResult) -> str:
    return result.model_dump_json()


def test_rename_shows_the_name_everywhere_and_blank_removes_it() -> None:
    result = make_result()
    before = frozen(result)
    renamed = rename_speaker(result, "SPEAKER_00", "  Dr. Chen ")
    assert frozen(result) == before
    assert renamed.speaker_names == {"SPEAKER_00": "Dr. Chen"}
    assert renamed.speaker_name("SPEAKER_00") == "Dr. Chen" and renamed.speaker_name("SPEAKER_01") == "Speaker 2"
    assert [s.speaker for s in renamed.segments] == [s.speaker for s in result.segments]  # labels stay
    assert export(renamed, "srt").count("[Dr. Chen]: ") == 3
    assert rename_speaker(renamed, "SPEAKER_00", " ").speaker_names == {}


def test_rename_of_an_unknown_speaker_is_refused() -> None:
    with pytest.raises(UnknownSpeakerError, match="Unknown speaker 'SPEAKER_07'; this transcript has SPEAKER_00"):
        rename_speaker(make_result(), "SPEAKER_07", "Ann")


def test_merge_leaves_one_speaker() -> None:
    result = rename_speaker(rename_speaker(make_result(), "SPEAKER_01", "Guest"), "SPEAKER_00", "Host")
    before = frozen(result)
    merged = merge_speakers(result, "SPEAKER_01", "SPEAKER_00")
    assert frozen(result) == before
    assert labels(merged) == ["SPEAKER_00"]
    assert {s.speaker for s in merged.segments} == {"SPEAKER_00"}
    assert {w.speaker for s in merged.segments for w in s.words} == {"SPEAKER_00"}
    assert merged.speaker_names == {"SPEAKER_00": "Host"}
    assert merged.speakers is not None and [s.speaker for s in merged.speakers] == ["SPEAKER_00"]
    assert merged.speakers[0].speaking_time == pytest.approx(3.1 + 2.05 + 2.4 + 1.7)  # the sum of its turns
    assert [(t.start, t.end) for t in merged.speaker_turns or []] == [
        (t.start, t.end) for t in result.speaker_turns or []
    ]
    assert "Guest" not in export(merged, "srt") and export(merged, "srt").count("[Host]: ") == 4
    # Words keep their timings.
    assert [(w.start, w.end) for s in merged.segments for w in s.words] == [
        (w.start, w.end) for s in result.segments for w in s.words
    ]


def test_merge_joins_turns_that_now_overlap() -> None:
    result = make_result()
    result.speaker_turns = [
        SpeakerTurn(start=0.0, end=5.0, speaker="SPEAKER_00"),
        SpeakerTurn(start=4.0, end=8.0, speaker="SPEAKER_01"),  # both talking from 4 to 5 s
        SpeakerTurn(start=9.0, end=10.0, speaker="SPEAKER_01"),
    ]
    merged = merge_speakers(result, "SPEAKER_01", "SPEAKER_00")
    assert [(t.start, t.end, t.speaker) for t in merged.speaker_turns or []] == [
        (0.0, 8.0, "SPEAKER_00"),
        (9.0, 10.0, "SPEAKER_00"),
    ]
    assert merged.speakers is not None and merged.speakers[0].speaking_time == 9.0  # the overlap counted once


def test_merge_needs_two_known_speakers() -> None:
    with pytest.raises(UnknownSpeakerError, match="into itself"):
        merge_speakers(make_result(), "SPEAKER_00", "SPEAKER_00")
    with pytest.raises(UnknownSpeakerError, match="SPEAKER_09"):
        merge_speakers(make_result(), "SPEAKER_09", "SPEAKER_00")


def test_add_speaker_takes_the_next_label() -> None:
    result = make_result()
    before = frozen(result)
    added, label = add_speaker(result, " Moderator ")
    assert frozen(result) == before
    assert label == "SPEAKER_02"
    assert added.speaker_names == {"SPEAKER_02": "Moderator"}
    assert added.speakers is not None and added.speakers[-1].speaker == "SPEAKER_02"
    assert added.speakers[-1].speaking_time == 0.0
    assert labels(added) == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    _, second = add_speaker(added, "Guest")
    assert second == "SPEAKER_03"
    with pytest.raises(ValueError, match="needs a name"):
        add_speaker(result, "  ")


def test_add_speaker_to_an_undiarized_result() -> None:
    added, label = add_speaker(make_result(diarized=False), "Narrator")
    assert label == "SPEAKER_00"
    assert added.speakers is not None and [s.speaker for s in added.speakers] == ["SPEAKER_00"]


def test_assign_a_segment_to_a_speaker_just_added() -> None:
    added, label = add_speaker(make_result(), "Moderator")
    assigned = assign_speaker(added, 1, label)
    assert assigned.segments[1].speaker == label and {w.speaker for w in assigned.segments[1].words} == {label}
    assert "[Moderator]: Let us begin with the budget." in export(assigned, "srt")
    assert assigned.speakers is not None
    assert {s.speaker: s.speaking_time for s in assigned.speakers}[label] == pytest.approx(2.05)  # its turn now
    with pytest.raises(UnknownSpeakerError):
        assign_speaker(added, 1, "SPEAKER_05")


def test_the_speaker_count_follows_the_review() -> None:
    result = make_result()
    assert speaker_count(result) == 2
    added, label = add_speaker(result, "Interviewer")
    assert speaker_count(assign_speaker(added, 0, label)) == 3
    assert speaker_count(merge_speakers(result, "SPEAKER_01", "SPEAKER_00")) == 1
    assert speaker_count(make_result(diarized=False)) is None
