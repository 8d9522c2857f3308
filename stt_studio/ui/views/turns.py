"""View → Group by speaker turn: the transcript as a conversation (a row per turn) or a row per segment, remembered
in the preferences."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow

GROUP_BY_TURN = "&Group by speaker turn"


class GroupByTurn:
    """The checkable menu item: it sets the transcript view's grouping and saves the choice."""

    def __init__(self, window: MainWindow, menu: QMenu) -> None:
        self._window = window
        self.action = QAction(GROUP_BY_TURN, window)
        self.action.setCheckable(True)
        self.action.setChecked(window.preferences.group_by_turn)
        self.action.setStatusTip("One row per speaker turn (off: one row per segment)")
        window.transcript_view.set_grouped(window.preferences.group_by_turn)
        self.action.toggled.connect(self._chosen)
        menu.addSeparator()
        menu.addAction(self.action)

    def _chosen(self, grouped: bool) -> None:
        window = self._window
        window.transcript_view.set_grouped(grouped)
        window.preferences.group_by_turn = grouped
        prefs, config_dir = window.preferences, window.config_dir

        async def save() -> None:
            await window._local.run_blocking(lambda: prefs.save(config_dir))

        window.spawn(save())
