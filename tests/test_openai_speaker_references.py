"""OpenAI's ``known_speaker_names[]`` / ``known_speaker_references[]`` on the OpenAI-compatible endpoint: OpenAI's
own Python client against the real shared ``serve`` and worker, on pyannote's real two-speaker sample (one speaker
referenced from one turn names that speaker's other segments; the other gets a letter), the bad inputs each a 400
that names the problem and queues nothing; plus the pairing rules, data URLs and the rendering, without a server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from stt_studio.api.openai_format import diarized, verbose
from stt_studio.api.speaker_references import SpeakerReferenceError, check_pairs, decode_data_url
from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.settings import Settings
from stt_studio.voices.clips import ClipEmbedder, reference_voice
from stt_studio.voices.enroll import kept_voice_prints
from stt_studio.voices.library import VoiceLibrary
from stt_studio.voices.matching import match_speakers
from tests.conftest import LiveService
from tests.enroll_jobs import files_only_store
from tests.sample_clips import (
    BOTH,
    SAMPLE,
    SAMPLE_DIR,
    SPEAKER90_SHORT,
    SPEAKER91_SHORT,
    cut,
    data_url,
    silence,
)

# --- without a server --------------------------------------------------------------------------------------------


def test_the_two_lists_go_in_pairs_up_to_the_limit_each_name_once() -> None:
    check_pairs(["agent", "customer"], ["data:,a", "data:,b"], 4)
    check_pairs([], [], 4)
    cases = [
        (
            ["agent"],
            [],
            "has 1 entries and known_speaker_references[] 0: they go in pairs",
            "known_speaker_references[]",
        ),
        ([], ["data:,a"], "has 0 entries", "known_speaker_names[]"),
        (["a", "b", "c"], ["data:,"] * 3, "at most 2 per request", "known_speaker_references[]"),
        (["agent", " Agent "], ["data:,a", "data:,b"], "'Agent' is given twice", "known_speaker_names[]"),
        (["agent", "  "], ["data:,a", "data:,b"], "entry 1 is blank", "known_speaker_names[]"),
    ]
    for names, references, says, param in cases:
        with pytest.raises(SpeakerReferenceError) as refused:
            check_pairs(names, references, 2)
        assert says in str(refused.value.detail) and refused.value.param == param
        assert refused.value.status_code == 400


def test_data_urls_decode_or_say_why() -> None:
    assert decode_data_url("data:audio/wav;base64," + base64.b64encode(b"RIFF1234").decode()) == b"RIFF1234"
    assert decode_data_url("data:audio/wav;base64,UklG\nRjEy\nMzQ=") == b"RIFF1234"  # wrapped base64
    assert decode_data_url("data:,RIFF%00") == b"RIFF\x00"
    for url, says in [
        ("https://example.com/a.wav", "not a data URL"),
        ("data:audio/wav;base64", "no comma"),
        ("data:audio/wav;base64,***", "base64 data does not decode"),
        ("data:audio/wav;base64,", "holds no data"),
    ]:
        with pytest.raises(ValueError, match=says):
            decode_data_url(url)


def test_named_speakers_keep_their_names_and_the_others_get_letters_from_a() -> None:
    segments = [
        Segment(id=i, start=float(i), end=i + 0.5, text=f"s{i}", speaker=who)
        for i, who in enumerate(["SPEAKER_01", "SPEAKER_00", "SPEAKER_02", "SPEAKER_00", None])
    ]
    result = TranscriptionResult(
        text="",
        language="en",
        duration=5.0,
        segments=segments,
        processing_time=0.1,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
    )
    names = {"SPEAKER_00": "Ysolde"}
    assert [s.speaker for s in diarized(result, names).segments] == ["A", "Ysolde", "B", "Ysolde", "?"]
    assert [s.speaker for s in diarized(result).segments] == ["A", "B", "C", "B", "?"]
    shown = verbose(result, [], names).segments
    assert shown is not None and [s.speaker for s in shown] == ["SPEAKER_01", "Ysolde", "SPEAKER_02", "Ysolde", None]


# --- the live server, OpenAI's client ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(service: LiveService) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{service.url}/v1", api_key="unused", timeout=600, max_retries=0) as made:
        yield made


def _reference_speaker(start: float, end: float) -> str:
    """The sample's reference speaker (RTTM) talking most in [start, end]."""
    overlap: dict[str, float] = {}
    for line in (SAMPLE_DIR / "sample.rttm").read_text().splitlines():
        parts = line.split()
        a, b = float(parts[3]), float(parts[3]) + float(parts[4])
        overlap[parts[7]] = overlap.get(parts[7], 0.0) + max(0.0, min(end, b) - max(start, a))
    return max(overlap, key=lambda who: overlap[who])


@pytest.mark.slow
def test_a_reference_from_one_turn_names_that_speakers_other_segments(
    client: openai.OpenAI, service: LiveService, tmp_path: Path
) -> None:
    reference = cut(tmp_path / "ysolde.wav", SPEAKER91_SHORT)  # speaker91's turn at 14.7-17.9 s (3.2 s)
    with SAMPLE.open("rb") as audio:
        answer = client.audio.transcriptions.create(
            model="whisper-1",
            file=audio,
            response_format="diarized_json",
            known_speaker_names=["Ysolde"],
            known_speaker_references=[data_url(reference)],
            chunking_strategy={"type": "server_vad"},  # OpenAI's object form, sent as chunking_strategy[type]
        )
    rows = [(s.speaker, s.start, s.end, _reference_speaker(s.start, s.end), s.text) for s in answer.segments]
    for row in rows:
        print(*row)
    named = [row for row in rows if row[0] == "Ysolde"]
    others = [row for row in rows if row[0] != "Ysolde"]
    assert {row[0] for row in others} == {"A"}  # the other speaker: OpenAI's first letter
    outside_reference = [row for row in named if row[2] <= SPEAKER91_SHORT[0] or row[1] >= SPEAKER91_SHORT[1]]
    assert len(outside_reference) >= 2  # named beyond the referenced turn itself
    right = sum(row[3] == "speaker91" for row in named) + sum(row[3] == "speaker90" for row in others)
    print(f"segments whose name or letter is the reference speaker's: {right}/{len(rows)}")
    assert right >= 0.8 * len(rows)
    # never stored: not in the job, its result or the voice library
    jobs = httpx.get(f"{service.url}/jobs", params={"limit": 1}).json()
    job = httpx.get(f"{service.url}/jobs/{jobs['jobs'][0]['job_id']}").text
    assert "Ysolde" not in job and "base64" not in job
    assert VoiceLibrary.in_data_dir(service.data_dir).voices() == []
    # the scores behind the names: the job's kept prints against the reference, embedded here as the server does
    prints = kept_voice_prints(files_only_store(service.data_dir), jobs["jobs"][0]["job_id"])
    found = ClipEmbedder(Settings(diarization_backend="local", offline=True)).voices(reference)
    for match in match_speakers(prints, found.model, [reference_voice(found, "Ysolde", "r")]):
        seconds = next(s.speech_seconds for s in prints.speakers if s.label == match.label)
        print(f"{match.label} ({seconds:.1f} s): {match.match} {match.name} score {match.score} {match.candidates}")


@pytest.mark.slow
def test_bad_references_are_400s_that_name_the_problem_and_queue_nothing(
    client: openai.OpenAI, service: LiveService, tmp_path: Path
) -> None:
    good = data_url(cut(tmp_path / "good.wav", SPEAKER91_SHORT))
    short = cut(tmp_path / "audio.wav", SPEAKER90_SHORT)  # the file to transcribe, never reached
    text = tmp_path / "notes.txt"
    text.write_text("not audio\n" * 500)
    cases = [
        (["Ysolde", "Bob"], [good], "they go in pairs"),
        (["a", "b", "c", "d", "e"], [good] * 5, "at most 4 per request"),
        (["Ysolde", "ysolde"], [good, good], "is given twice"),
        (["Ysolde"], ["data:audio/wav;base64,@@@@"], "base64 data does not decode"),
        (["Ysolde"], [data_url(text, "text/plain")], "cannot be used as audio"),
        (["Ysolde"], [data_url(short)], "1.5 s long; it needs at least 2 s"),
        (["Ysolde"], [data_url(cut(tmp_path / "long.wav", (6.0, 18.5)))], "longer than 10 s; it may be at most 10 s"),
        (["Ysolde"], [data_url(silence(tmp_path / "quiet.wav", 3.0))], "No speech"),
        (["Ysolde"], [data_url(cut(tmp_path / "both.wav", BOTH))], "holds 2 voices"),
    ]
    before = httpx.get(f"{service.url}/queue/stats").json()
    for names, references, says in cases:
        with short.open("rb") as audio, pytest.raises(openai.BadRequestError) as refused:
            client.audio.transcriptions.create(
                model="whisper-1",
                file=audio,
                response_format="diarized_json",
                known_speaker_names=names,
                known_speaker_references=references,
            )
        body = refused.value.body
        assert isinstance(body, dict), body
        print(names[:2], "->", body["message"])
        assert refused.value.status_code == 400 and says in body["message"], (says, body)
        assert body["param"] in ("known_speaker_names[]", "known_speaker_references[]")
    after = httpx.get(f"{service.url}/queue/stats").json()
    counts = ("queue_length", "processing", "completed", "failed", "canceled")
    assert [after[k] for k in counts] == [before[k] for k in counts]
