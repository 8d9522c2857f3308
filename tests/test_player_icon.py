"""The player's Play/Pause icon follows the palette: drawn again in the new colours when the theme changes (it was
left dark on a dark window)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication

from stt_studio.ui.views.player import PlayerBar


def _brightest_lightness(bar: PlayerBar) -> int:
    image = bar.play_button.icon().pixmap(16, 16).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    opaque = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    return max(c.lightness() for c in opaque if c.alpha() > 128)


def test_the_play_icon_is_drawn_again_in_the_new_palette(qapp: QApplication) -> None:
    bar = PlayerBar()
    before = qapp.palette()
    try:
        light = _brightest_lightness(bar)
        dark = QPalette()
        for role, colour in [(QPalette.ColorRole.Window, "#202020"), (QPalette.ColorRole.WindowText, "#f0f0f0"),
                             (QPalette.ColorRole.Button, "#303030"), (QPalette.ColorRole.ButtonText, "#f0f0f0"),
                             (QPalette.ColorRole.Text, "#f0f0f0"), (QPalette.ColorRole.Base, "#181818")]:  # fmt: skip
            dark.setColor(role, QColor(colour))
        qapp.setPalette(dark)  # a theme change: the app's palette, as the screenshots' dark run sets it
        qapp.processEvents()
        assert _brightest_lightness(bar) > light + 60
    finally:
        qapp.setPalette(before)
        bar.deleteLater()
