"""Translation into English (issue 25): which models may translate, the task on every way in, and one real run
through the API, OpenAI's client and the CLI: espeak-ng German (also with two speakers) and Spanish translated by the
bundled multilingual base."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from fastapi import HTTPException
from pydantic import ValidationError
from typer.testing import CliRunner

from stt_studio.api.openai_format import diarized, verbose
from stt_studio.api.routers.openai_compat import OpenAITranscriptionForm
from stt_studio.api.uploads import SubmitForm, _check_translation
from stt_studio.cli import app
from stt_studio.engine.options import InvalidOptionError
from stt_studio.engine.translation import check_task, translation_refusal
from stt_studio.jobs.models import JobOptions
from stt_studio.settings import Settings
from tests.conftest import LiveService
from tests.test_exports import make_result
from tests.translation_speech import GERMAN, GERMAN_VOICES, SPANISH, content_share, left_untranslated, words

GERMAN_CONTENT_BOUND = 0.3
"""Of the content words of GERMAN's last two sentences (coffee, house), base reaches 4 to 6 of 10 from one process
to the next (benchmarks/translation.py; "coffee" is "cafe" in some: "I'm still in the morning at a cafe. My sister is
in a small house in the sea." has 4); a transcription in German reaches none."""

SPANISH_KEY_WORDS = frozenset({"main", "station", "city", "weather", "sunny", "office", "house"})
"""Content words of the reference that base gave for SPANISH's five sentences (es-419, 100 wpm) in every run
measured (benchmarks/translation.py); their share of all content words was 38-42 %."""
SPANISH_KEY_WORDS_BOUND = 4
SPANISH_CONTENT_BOUND = 0.25


# --- which models may translate: decided from the name, before any work --------------------------------------------
@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("tiny.en", "The model 'tiny.en' is English-only and cannot translate"),
        ("Systran/faster-whisper-base.en", "'Systran/faster-whisper-base.en' is English-only"),
        ("/srv/models/medium.en", "The model 'medium.en' is English-only"),  # a folder, by its name only
        ("turbo", "The model 'large-v3-turbo' was trained without translation"),
        ("mobiuslabsgmbh/faster-whisper-large-v3-turbo", "was trained without translation"),
        ("distil-large-v3", "The model 'distil-large-v3' was trained without translation"),
    ],
)
def test_models_that_cannot_translate_are_named_with_the_reason(model: str, reason: str) -> None:
    refusal = translation_refusal(model)
    assert refusal is not None and reason in refusal and "choose a multilingual model" in refusal
    with pytest.raises(InvalidOptionError, match="cannot translate"):
        check_task("translate", model)
    check_task("transcribe", model)  # transcribing is every model's job


@pytest.mark.parametrize("model", ["tiny", "base", "small", "large-v3", "large-v2", "Systran/faster-whisper-medium"])
def test_multilingual_models_translate(model: str) -> None:
    assert translation_refusal(model) is None
    check_task("translate", model)


def test_a_loaded_model_that_says_it_is_english_only_is_refused_whatever_its_name() -> None:
    assert translation_refusal("my-model", multilingual=True) is None
    refusal = translation_refusal("my-model", multilingual=False)
    assert refusal is not None and "'my-model' is English-only" in refusal


def test_an_unknown_task_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="Unknown task 'translation' \\(use transcribe or translate\\)"):
        check_task("translation", "base")


# --- the task in the job's options and the forms ----------------------------------------------------------------
def test_the_forms_carry_the_task_into_the_job_options() -> None:
    assert SubmitForm.model_validate({}).job_options().task == "transcribe"
    assert SubmitForm.model_validate({"task": "translate"}).job_options().task == "translate"
    with pytest.raises(ValidationError, match="'transcribe' or 'translate'"):
        SubmitForm.model_validate({"task": "translation"})
    assert JobOptions.model_validate({}).task == "transcribe"  # a job queued before the field existed


def test_the_openai_routes_are_their_task_whatever_the_form_says() -> None:
    class Translations(OpenAITranscriptionForm):
        route_task = "translate"

    assert Translations.model_validate({"model": "whisper-1"}).job_options().task == "translate"
    transcriptions = OpenAITranscriptionForm.model_validate({"model": "whisper-1", "task": "translate"})
    assert transcriptions.job_options().task == "transcribe"


def test_openais_verbose_answers_say_the_task() -> None:
    translated = make_result(language="de").model_copy(update={"task": "translate"})
    assert verbose(translated, []).task == diarized(translated).task == "translate"
    assert verbose(make_result(), []).task == "transcribe"


@pytest.mark.parametrize(
    ("options", "server_model", "refused"),
    [
        (JobOptions(task="translate"), "tiny.en", "The model 'tiny.en' is English-only and cannot translate"),
        (JobOptions(task="translate", model="large-v3-turbo"), "base", "'large-v3-turbo' was trained without"),
        (JobOptions(task="translate", model="/models/faster-whisper-small.en"), "base", "'faster-whisper-small.en'"),
        (JobOptions(task="translate", model="base"), "tiny.en", None),
        (JobOptions(task="translate"), "large-v3", None),
        (JobOptions(), "tiny.en", None),
    ],
)
def test_the_api_refuses_a_translation_by_the_model_the_job_runs_on(
    options: JobOptions, server_model: str, refused: str | None, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, whisper_model_size=server_model)
    if refused is None:
        _check_translation(options, settings)
        return
    with pytest.raises(HTTPException) as info:
        _check_translation(options, settings)
    assert info.value.status_code == 400 and refused in str(info.value.detail)


def test_the_cli_refuses_a_translation_with_a_plain_message(short_wav: Path, tmp_path: Path) -> None:
    args = ["transcribe", str(short_wav), "--model", "tiny.en", "--task", "translate"]
    result = CliRunner().invoke(app, args, env={"STT_DATA_DIR": str(tmp_path), "WHISPER_DEVICE": "cpu"})
    assert result.exit_code == 2
    message = " ".join(result.output.replace("│", " ").split())
    assert "The model 'tiny.en' is English-only and cannot translate" in message, result.output
    assert "Traceback" not in result.output


# --- one real translation: API, OpenAI's client, the CLI ----------------------------------------------------------
@pytest.mark.slow
def test_german_and_spanish_speech_are_translated_through_the_api_openai_client_and_cli(
    service: LiveService, audio_dir: Path, tmp_path: Path
) -> None:
    """The service's worker runs tiny.en, which cannot translate: refused with 400 naming it; base (per job) turns
    German speech into English, says it heard German, and leaves no German word; with speakers found, each
    translated word has one; Spanish the same, to the bound base reaches on it."""
    clip = GERMAN.clip(audio_dir, first=3)  # the two sentences base translates reliably
    for path in ("/transcribe/async", "/transcribe"):
        with clip.open("rb") as f:
            refused = httpx.post(f"{service.url}{path}", files={"file": f}, data={"task": "translate"}, timeout=60)
        assert refused.status_code == 400, refused.text
        assert "The model 'tiny.en' is English-only and cannot translate" in refused.json()["detail"]

    with clip.open("rb") as f:
        done = httpx.post(
            f"{service.url}/transcribe", files={"file": f}, data={"task": "translate", "model": "base"}, timeout=300
        )
    assert done.status_code == 200, done.text
    job = done.json()
    result = job["result"]
    assert (job["options"]["task"], result["task"], result["language"]) == ("translate", "translate", "de")
    assert_english(result["text"])
    assert result["word_timestamps"] == "whisper" and all(s["words"] for s in result["segments"])

    # four sentences, two each: of a two-sentence dialogue base dropped the second sentence, and so its speaker, in
    # 6 of 17 processes (several voice pairs and pauses); this one kept the second speaker's last sentence in 6 of 6
    talk = GERMAN.dialogue(audio_dir, GERMAN_VOICES, first=1)
    with talk.path.open("rb") as f:
        data = {"task": "translate", "model": "base", "enable_diarization": "true"}
        diarized = httpx.post(f"{service.url}/transcribe", files={"file": f}, data=data, timeout=300)
    assert diarized.status_code == 200, diarized.text
    translated = diarized.json()["result"]
    assert (translated["task"], translated["language"]) == ("translate", "de")
    assert not left_untranslated(GERMAN, translated["text"]), translated["text"]
    said_by = [word.get("speaker") for segment in translated["segments"] for word in segment["words"]]
    assert said_by and None not in said_by and len(set(said_by)) >= 2, translated["segments"]

    spanish = SPANISH.clip(audio_dir)  # all five sentences: base translates each better with the others around it
    with spanish.open("rb") as f:
        data = {"task": "translate", "model": "base"}
        done = httpx.post(f"{service.url}/transcribe", files={"file": f}, data=data, timeout=300)
    assert done.status_code == 200, done.text
    from_spanish = done.json()["result"]
    assert from_spanish["language"] == "es"
    text = from_spanish["text"]
    assert len(SPANISH_KEY_WORDS & words(text)) >= SPANISH_KEY_WORDS_BOUND, text
    assert content_share(text) >= SPANISH_CONTENT_BOUND, text
    assert not left_untranslated(SPANISH, text), text

    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key="unused", timeout=300, max_retries=0)
    with clip.open("rb") as f, pytest.raises(openai.BadRequestError, match=r"'tiny\.en' is English-only"):
        client.audio.translations.create(file=f, model="whisper-1")
    with clip.open("rb") as f:
        verbose = client.audio.translations.create(file=f, model="base", response_format="verbose_json")
    assert verbose.language == "german" and verbose.segments, verbose
    assert_english(verbose.text)

    env = {"STT_DATA_DIR": str(tmp_path), "STT_MODELS_DIR": service.env["STT_MODELS_DIR"], "STT_OFFLINE": "1",
           "WHISPER_DEVICE": "cpu"}  # fmt: skip
    cli = CliRunner().invoke(app, ["transcribe", str(clip), "--model", "base", "--task", "translate"], env=env)
    assert cli.exit_code == 0, cli.output
    printed = json.loads(cli.stdout)
    assert (printed["task"], printed["language"]) == ("translate", "de")
    assert_english(printed["text"])


def assert_english(text: str) -> None:
    assert content_share(text, first=3) >= GERMAN_CONTENT_BOUND, text
    assert not left_untranslated(GERMAN, text), text
