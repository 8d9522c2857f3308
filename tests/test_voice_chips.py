"""The speaker chips on constructed results: what each says, what its menu offers and asks for, and the decisions
as undo steps of a real review document. The whole path on the real window and worker:
tests/test_speaker_naming_ui.py."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from stt_studio.engine.speakers import rename_speaker
from stt_studio.ui.editing.document import ReviewDocument
from stt_studio.ui.speakers import SpeakerPalette
from stt_studio.ui.voices.chips import SpeakerChips, chips_of
from stt_studio.ui.voices.decision_commands import AcceptAllSuggestions, DecideSpeaker
from tests.test_voice_decisions import _result, auto_bob, suggested_diane, unknown_like_bob


def test_each_chip_says_what_the_library_thinks() -> None:
    result = _result(suggested_diane(), auto_bob(), unknown_like_bob())
    chips = {c.label: c for c in chips_of(result)}
    assert [(c.kind, c.text) for c in chips.values()] == [
        ("suggested", "Diane? 74 %"),
        ("named", "Bob ✓"),
        ("sounds_like", "Speaker 3 · sounds like Bob?"),
    ]
    assert chips["SPEAKER_02"].merge_into == "SPEAKER_01"
    typed = {c.label: c for c in chips_of(rename_speaker(result, "SPEAKER_00", "Dr. Chen"))}
    assert (typed["SPEAKER_00"].kind, typed["SPEAKER_00"].text) == ("typed", "Dr. Chen")
    no_library = result.model_copy(
        update={"speakers": [s.model_copy(update={"match": None}) for s in result.speakers or ()]}
    )
    assert chips_of(no_library) == []


def test_the_menus_ask_for_decisions_and_each_is_an_undo_step(qapp: QApplication) -> None:
    result = _result(suggested_diane(), auto_bob(), unknown_like_bob())
    document = ReviewDocument()
    document.load(result)
    widget = SpeakerChips()
    asked: list[tuple[str, str]] = []
    saves: list[str] = []
    widget.decision_requested.connect(lambda label, decision: asked.append((label, decision)))
    widget.save_voice_requested.connect(saves.append)
    widget.show_result(result, SpeakerPalette.for_result(result))
    assert not widget.isHidden(), "shown: the library was asked about these speakers"

    menu = widget.open_chip("SPEAKER_00")
    assert menu is not None
    assert [a.text() for a in menu.actions()][1:] == [
        "Play this speaker",
        "Play Diane's sample",
        "Accept “Diane”",
        "Not Diane",
    ]
    played: list[str] = []
    samples: list[str] = []
    widget.play_requested.connect(played.append)
    widget.sample_requested.connect(samples.append)
    menu.actions()[1].trigger()
    menu.actions()[2].trigger()
    assert (played, samples) == (["SPEAKER_00"], ["SPEAKER_00"])
    assert widget.chips["SPEAKER_00"].voice_id == "v-diane" and widget.chips["SPEAKER_01"].voice_id == "v-bob"
    menu.actions()[3].trigger()
    menu = widget.open_chip("SPEAKER_01")  # named automatically: its voice's sample too
    assert menu is not None and "Play Bob's sample" in [a.text() for a in menu.actions()]
    menu = widget.open_chip("SPEAKER_02")
    assert menu is not None
    assert [a.text() for a in menu.actions()][1:] == [
        "Play this speaker",
        "Play Bob's sample",
        "Merge into Bob",
        "Not Bob",
        "Save voice to library…",
    ]
    menu.actions()[3].trigger()
    assert asked == [("SPEAKER_00", "accept"), ("SPEAKER_02", "merge")]

    for label, decision in asked:
        assert document.result is not None
        document.push(DecideSpeaker(document, document.result, label, decision))  # type: ignore[arg-type]
    assert document.result is not None and document.result.speaker_name("SPEAKER_00") == "Diane"
    assert [s.speaker for s in document.result.speakers or ()] == ["SPEAKER_00", "SPEAKER_01"]
    assert document.undo_stack.undoText() == "Merge Speaker 3 into Bob"
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.result is result, "undo restores the transcript as it was"
    document.push(AcceptAllSuggestions(document, result))
    assert document.result.speakers is not None and document.result.speakers[0].match == "accepted"
    widget.show_result(document.result, SpeakerPalette.for_result(document.result))
    assert widget.buttons["SPEAKER_00"].text() == "Diane ✓"
