"""A name someone sent that looks like a home folder (``~nosuchuser``) is just not a folder here: every check that
looks at model names answers for it instead of raising (schemathesis drew one for the translations endpoint)."""

from __future__ import annotations

from pathlib import Path

from stt_studio.engine.model_catalog import is_local_folder, public_name
from stt_studio.engine.translation import translation_refusal
from stt_studio.user_paths import expand_home

NO_SUCH_HOME = "~stt_studio_no_such_user_7f3a"


def test_an_unknown_home_folder_is_left_as_written() -> None:
    assert expand_home(f"{NO_SUCH_HOME}/models") == Path(f"{NO_SUCH_HOME}/models")
    assert expand_home("~") == Path.home()


def test_model_names_like_an_unknown_home_folder_are_answered() -> None:
    assert is_local_folder(NO_SUCH_HOME)  # written like a path
    assert public_name(f"{NO_SUCH_HOME}/whisper") == "whisper"  # a folder by its name, never its path
    assert translation_refusal(NO_SUCH_HOME) is None or isinstance(translation_refusal(NO_SUCH_HOME), str)
