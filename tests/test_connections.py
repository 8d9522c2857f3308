"""Connection profiles: saved by name with their URL, the key kept out of the JSON, bad URLs said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from stt_studio.ui.connections import THIS_COMPUTER, Connections, Profile, normalized_url


def test_profiles_round_trip_and_keys_stay_out_of_the_file(tmp_path: Path) -> None:
    connections = Connections(tmp_path, use_keyring=False)
    assert connections.names() == [THIS_COMPUTER] and connections.current == THIS_COMPUTER
    connections.save(Profile(name="Vast.ai 4090", url="203.0.113.7:41234"), "secret-key-value")
    connections.set_current("Vast.ai 4090")

    again = Connections(tmp_path, use_keyring=False)
    assert again.names() == [THIS_COMPUTER, "Vast.ai 4090"]
    assert again.get("Vast.ai 4090") == Profile(name="Vast.ai 4090", url="http://203.0.113.7:41234")
    assert again.current == "Vast.ai 4090"
    assert again.api_key("Vast.ai 4090") == "secret-key-value"
    assert "secret-key-value" not in (tmp_path / "connections.json").read_text()

    again.remove("Vast.ai 4090")
    assert again.current == THIS_COMPUTER and again.api_key("Vast.ai 4090") is None
    assert Connections(tmp_path, use_keyring=False).names() == [THIS_COMPUTER]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://box", "must start with http"),
        ("http://", "needs a host"),
        ("http://box:99999", "port"),
        ("http://box:8000/?x=1", "query"),
    ],
)
def test_bad_urls_are_said_plainly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalized_url(text)


def test_names_are_checked() -> None:
    with pytest.raises(ValidationError, match="own queue"):
        Profile(name=THIS_COMPUTER, url="http://box:8000")
    with pytest.raises(ValidationError, match="needs a name"):
        Profile(name="   ", url="http://box:8000")


def test_a_damaged_file_is_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "connections.json").write_text("{not json")
    assert Connections(tmp_path, use_keyring=False).names() == [THIS_COMPUTER]
