"""WhisperX's chunk merge, as reimplemented in stt_studio.engine.vad (no model)."""

from __future__ import annotations

from stt_studio.engine.vad import SpeechChunk, merge_into_chunks


def test_merges_turns_up_to_the_chunk_length() -> None:
    turns = [(0.5, 10.0), (11.0, 20.0), (21.0, 29.0), (31.0, 40.0), (41.0, 45.0)]
    assert merge_into_chunks(turns, 30.0) == [SpeechChunk(0.5, 29.0), SpeechChunk(31.0, 45.0)]


def test_matches_whisperx_merge_chunks() -> None:
    from whisperx.diarize import Segment
    from whisperx.vads.vad import Vad

    turns = [(0.2, 4.0), (4.5, 12.0), (12.3, 29.5), (30.0, 31.0), (33.0, 62.0), (62.5, 63.0), (70.0, 71.0)]
    theirs = Vad.merge_chunks([Segment(a, b, "x") for a, b in turns], 30.0, onset=0.5, offset=None)
    ours = merge_into_chunks(turns, 30.0)
    assert [(c.start, c.end) for c in ours] == [(m["start"], m["end"]) for m in theirs]


def test_no_speech() -> None:
    assert merge_into_chunks([]) == []
