"""The picture of a video file under review, above the timeline; shown only while the media has video.

A ``QGraphicsVideoItem`` in a small view rather than a ``QVideoWidget``: it paints through the widget's own
backing store, so it also shows in window grabs (screenshots, the offscreen tests) where ``QVideoWidget``'s native
surface stays blank, and its frames are converted in C++ without Python on the way.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QSizePolicy, QWidget

VIDEO_HEIGHT = 220


class VideoView(QGraphicsView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.item = QGraphicsVideoItem()
        self.item.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
        self._scene.addItem(self.item)  # the scene owns the item from here on
        self.setScene(self._scene)
        self.setBackgroundBrush(QColor("black"))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(VIDEO_HEIGHT)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the transcript (Space plays, …)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        size = QSizeF(self.viewport().size())
        self.item.setSize(size)  # the picture is fitted inside, its aspect kept
        self.setSceneRect(QRectF(0, 0, size.width(), size.height()))
