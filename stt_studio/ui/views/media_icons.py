"""Play and pause icons drawn in a palette's button text colour. Qt's standard media pixmaps are black whatever the
palette: on a dark theme the player's Play button was a dark triangle on a dark button."""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap, QPolygonF

ICON_PIXELS = 32


def media_icon(kind: Literal["play", "pause"], palette: QPalette) -> QIcon:
    colour: QColor = palette.color(QPalette.ColorRole.ButtonText)
    pixmap = QPixmap(ICON_PIXELS, ICON_PIXELS)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    s = float(ICON_PIXELS)
    if kind == "play":
        corners = [(0.28, 0.18), (0.28, 0.82), (0.82, 0.5)]
        painter.drawPolygon(QPolygonF([QPointF(x * s, y * s) for x, y in corners]))
    else:
        painter.drawRect(QRectF(0.25 * s, 0.2 * s, 0.17 * s, 0.6 * s))
        painter.drawRect(QRectF(0.58 * s, 0.2 * s, 0.17 * s, 0.6 * s))
    painter.end()
    return QIcon(pixmap)
