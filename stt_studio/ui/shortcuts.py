"""The window's keyboard shortcuts, read from its actions and shortcuts themselves (never a list kept by hand): what
Help → Keyboard shortcuts shows."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMenu

OTHER_GROUP = "Elsewhere"


@dataclass(frozen=True)
class ShortcutRow:
    group: str
    """The menu it is in ("File", "Review"), or ``OTHER_GROUP``."""
    name: str
    keys: str
    """Every binding, as the platform writes it ("Ctrl+Y, Ctrl+Shift+Z")."""


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _keys(sequences: list[QKeySequence]) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences if not s.isEmpty())


def _menu_actions(menu: QMenu) -> list[QAction]:
    found: list[QAction] = []
    for action in menu.actions():
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            found.extend(_menu_actions(submenu))
        elif not action.isSeparator():
            found.append(action)
    return found


def shortcut_rows(window: QMainWindow) -> list[ShortcutRow]:
    """Every action of ``window`` with a shortcut, grouped by the menu that holds it, menus in menu-bar order; then
    actions and shortcuts outside the menus (a ``QShortcut`` says what it does in its What's This text)."""
    rows: list[ShortcutRow] = []
    seen: set[int] = set()
    for top in window.menuBar().actions():
        menu = top.menu()
        if not isinstance(menu, QMenu):
            continue
        for action in _menu_actions(menu):
            keys = _keys(action.shortcuts())
            if keys and id(action) not in seen:
                seen.add(id(action))
                rows.append(ShortcutRow(_plain(top.text()), _plain(action.text()), keys))
    for action in window.findChildren(QAction):
        keys = _keys(action.shortcuts())
        if keys and id(action) not in seen and action.text():
            seen.add(id(action))
            rows.append(ShortcutRow(OTHER_GROUP, _plain(action.text()), keys))
    for shortcut in window.findChildren(QShortcut):
        keys = _keys(shortcut.keys())
        if keys and shortcut.whatsThis():
            rows.append(ShortcutRow(OTHER_GROUP, shortcut.whatsThis(), keys))
    return _unique(rows)


def _unique(rows: list[ShortcutRow]) -> list[ShortcutRow]:
    """One row per name and keys (Return and Enter both play a segment: one row with both)."""
    merged: dict[tuple[str, str], ShortcutRow] = {}
    for row in rows:
        key = (row.group, row.name)
        if key in merged and row.keys not in merged[key].keys:
            merged[key] = ShortcutRow(row.group, row.name, f"{merged[key].keys}, {row.keys}")
        else:
            merged.setdefault(key, row)
    return list(merged.values())
