"""Speaker chips under the transcript's header: what the voice library says of each speaker, and the choices it
leaves the user. "Diane ✓" (named: automatically or accepted), "Diane? 72 %" (a suggestion), "Speaker 3 · sounds
like Diane?" (merge?), "Speaker 2 · Save voice…" (unknown). Clicking one opens a small menu (Play this speaker,
Play Diane's sample, Accept, Not Diane, Merge) or, for an unknown speaker, the Save voice dialog. The chips only ask:
``decision_requested``, ``play_requested``, ``sample_requested`` and ``save_voice_requested`` say what the user
chose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QWidget

from stt_studio.engine.result import TranscriptionResult
from stt_studio.ui.speakers import SpeakerPalette
from stt_studio.voices.decisions import merge_target

ChipKind = Literal["typed", "named", "suggested", "sounds_like", "unknown"]


@dataclass(frozen=True)
class Chip:
    label: str
    kind: ChipKind
    text: str
    tooltip: str
    voice: str | None = None
    """The voice's name the chip is about (the suggestion, the name, or the one it also sounds like)."""
    merge_into: str | None = None
    """The speaker a merge would join this one to (its label), when there is one."""
    heading: str = ""
    """The first line of the chip's menu."""
    voice_id: str | None = None
    """The library's id of that voice (its enrolled sample can be played), when the chip names one."""


def chips_of(result: TranscriptionResult | None) -> list[Chip]:
    """A chip per speaker the voice library was asked about (none when it was not: no library, not diarized)."""
    if result is None or not any(s.match is not None for s in result.speakers or ()):
        return []
    chips = []
    for summary in result.speakers or ():
        label, shown = summary.speaker, result.speaker_name(summary.speaker)
        target = merge_target(result, label)
        if typed := result.speaker_names.get(label):
            chips.append(Chip(label, "typed", typed, "Named in review; the voice library does not change it"))
        elif summary.match in ("auto", "accepted") and summary.name:
            how = "Accepted" if summary.match == "accepted" else f"Recognised ({_percent(summary.score)})"
            tip = f"{how} as {summary.name} from the voice library"
            named = Chip(label, "named", f"{summary.name} ✓", tip, summary.name, heading=tip, voice_id=summary.voice_id)
            chips.append(named)
        elif summary.match == "suggested" and summary.name:
            text = f"{summary.name}? {_percent(summary.score)}"
            heading = f"{shown} sounds like {summary.name} ({_percent(summary.score)})"
            tip = f"{heading}: accept, or say it is not"
            chips.append(Chip(label, "suggested", text, tip, summary.name, target, heading, summary.voice_id))
        elif summary.also_sounds_like is not None:
            like = summary.also_sounds_like
            heading = f"{shown} also sounds like {like.name} ({_percent(like.score)})"
            tip = f"{heading}: merge them?"
            text = f"{shown} · sounds like {like.name}?"
            chips.append(Chip(label, "sounds_like", text, tip, like.name, target, heading, like.voice_id))
        else:
            tip = "No voice in the library is close enough: save this voice to name it in other recordings"
            chips.append(Chip(label, "unknown", f"{shown} · Save voice…", tip))
    return chips


def _percent(score: float | None) -> str:
    return f"{round((score or 0.0) * 100)} %"


class SpeakerChips(QWidget):
    decision_requested = Signal(str, str)
    """A speaker label and a decision: accept, reject or merge."""
    save_voice_requested = Signal(str)
    """A speaker label: open Save voice to library… on it."""
    play_requested = Signal(str)
    """A speaker label: play its longest clean turn."""
    sample_requested = Signal(str)
    """A speaker label: play the enrolled sample of the voice its chip names (``Chip.voice_id``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.setSpacing(6)
        self.title = QLabel("Voices:")
        self._layout.addWidget(self.title)
        self._layout.addStretch(1)
        self.buttons: dict[str, QToolButton] = {}
        self.chips: dict[str, Chip] = {}
        self.menu: QMenu | None = None
        """The menu of the chip clicked last (tests read it)."""
        self.setVisible(False)

    def show_result(self, result: TranscriptionResult | None, palette: SpeakerPalette) -> None:
        for button in self.buttons.values():
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons, self.chips = {}, {}
        for chip in chips_of(result):
            button = QToolButton(self)
            button.setText(chip.text)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setToolTip(chip.tooltip)
            button.setIcon(_swatch(palette.color(chip.label)))
            button.setAutoRaise(chip.kind == "typed")
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            if chip.kind == "suggested":  # the one waiting for the user
                font = button.font()
                font.setBold(True)
                button.setFont(font)
            button.setProperty("chipKind", chip.kind)
            button.clicked.connect(lambda _checked=False, c=chip: self.open_chip(c.label))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self.buttons[chip.label] = button
            self.chips[chip.label] = chip
        self.setVisible(bool(self.chips))

    def open_chip(self, label: str) -> QMenu | None:
        """What clicking the chip does: a menu of choices, or the save dialog for an unknown speaker."""
        chip = self.chips[label]
        if chip.kind in ("unknown", "typed"):
            self.save_voice_requested.emit(label)
            return None
        menu = QMenu(self)
        menu.addSection(chip.heading)
        menu.addAction("Play this speaker", lambda: self.play_requested.emit(label))
        if chip.voice_id is not None:
            menu.addAction(f"Play {chip.voice}'s sample", lambda: self.sample_requested.emit(label))
        if chip.kind == "suggested":
            menu.addAction(f"Accept “{chip.voice}”", lambda: self.decision_requested.emit(label, "accept"))
        if chip.merge_into is not None:
            menu.addAction(f"Merge into {chip.voice}", lambda: self.decision_requested.emit(label, "merge"))
        menu.addAction(f"Not {chip.voice}", lambda: self.decision_requested.emit(label, "reject"))
        if chip.kind == "sounds_like":
            menu.addAction("Save voice to library…", lambda: self.save_voice_requested.emit(label))
        self.menu = menu
        button = self.buttons[label]
        menu.popup(button.mapToGlobal(button.rect().bottomLeft()))
        return menu


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(color)
    painter.setPen(color.darker(130))
    painter.drawEllipse(1, 1, 8, 8)
    painter.end()
    return QIcon(pixmap)
