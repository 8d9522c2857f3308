"""A voice's enrolled sample played beside the transcript ("Play Diane's sample" on a speaker's chip), to hear
whether the speaker is the person the library names: the voice's name and the app's own player bar on the sample's
clip, shown while there is one, closed with its ✕. Playing one pauses the other: the transcript's player and this."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from stt_studio.ui.views.player import PlayerBar


class VoiceSamplePlayer(QWidget):
    def __init__(self, transcript_player: PlayerBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.player = PlayerBar(self)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Stop and close the voice's sample")
        self.close_button.clicked.connect(self.stop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.player, 1)
        layout.addWidget(self.close_button)
        self.player.play_requested.connect(transcript_player.pause)
        transcript_player.play_requested.connect(self.player.pause)
        self.hide()

    def play(self, name: str, clip: Path) -> None:
        """Play ``clip``, the sample of the voice ``name``, from its start."""
        self.title.setText(f"{name}'s sample:")
        self.title.setToolTip(f"The speech {name} was enrolled with in the voice library")
        self.player.load(clip)
        self.show()
        self.player.play_from(0.0)

    def stop(self) -> None:
        self.player.load(None)
        self.hide()
