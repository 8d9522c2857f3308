"""The settings dialog: edits a copy of the Preferences and the Hugging Face token; the caller saves and applies."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import NamedTuple

import platformdirs
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from stt_studio.engine.model_catalog import cached_repos, model_names, model_status
from stt_studio.engine.options import known_languages
from stt_studio.jobs.models import WorkerInfo
from stt_studio.settings import APP_NAME, Settings
from stt_studio.ui.compute_types import compute_type_choices, report_for_device
from stt_studio.ui.model_in_use import ModelInUse, device_label
from stt_studio.ui.preferences import MAX_WORKERS, Preferences
from stt_studio.ui.secrets import masked
from stt_studio.user_paths import expand_home

KNOWN_MODELS = tuple(model_names())
CHOOSE_FOLDER = "Choose folder…"
ON_THIS_MACHINE_ROLE = Qt.ItemDataRole.UserRole + 1
"""Model list items: whether the model is on this machine (bundled or downloaded)."""
AUTO_LANGUAGE = "Auto"
RESTART_NOTE = "Changing the model, device, compute type or workers\nrestarts the workers after the current job."


class Unset(Enum):
    """The token was left as it was."""

    UNSET = "unset"


UNSET = Unset.UNSET
TokenChoice = str | None | Unset
"""A new token, None to remove it, or UNSET to keep the current one."""


class SettingsChoice(NamedTuple):
    preferences: Preferences
    token: TokenChoice

    @property
    def token_changed(self) -> bool:
        return self.token is not UNSET


def looks_like_path(text: str) -> bool:
    """A local model folder rather than a hub name ('large-v3', 'Systran/faster-whisper-small')."""
    return text.startswith(("~", ".", "/", "\\")) or "\\" in text or os.path.isabs(text)


def _error_color(widget: QWidget) -> str:
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff8a80" if dark else "#c62828"


class SettingsDialog(QDialog):
    def __init__(
        self,
        preferences: Preferences,
        token: str | None,
        models: Sequence[str] = KNOWN_MODELS,
        *,
        token_location: str = "",
        models_dir: Path | None = None,
        in_use: WorkerInfo | None = None,
        offline: bool = False,
        open_models: Callable[[QWidget], QDialog] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``token``: only its masked form is shown; ``token_location``: where it is kept (``TokenStore.where``);
        ``models_dir``: where downloaded models are (default: the settings' models folder); ``in_use``: a worker's
        report of the model and device it really runs, shown beside what is asked for; ``offline``: models are not
        downloaded (the bundled base stands in for those not on this machine); ``open_models``: opens Settings → Models
        (download, remove) from the Models… button."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(600)
        self._original = preferences
        self._has_token = bool(token)
        self._remove_token = False
        self._languages = frozenset(known_languages())
        self._errors: dict[QWidget, str] = {}
        self._models_dir = models_dir or Settings().resolved_models_dir
        self._cached_repos = cached_repos(self._models_dir)
        self._offline = offline
        self.models_button = QPushButton("Models…")
        self.models_button.setToolTip("Download and remove models: sizes, what is on this machine")
        self.models_button.setVisible(open_models is not None)
        if open_models is not None:
            self.models_button.clicked.connect(lambda: self._open_models(open_models))

        self.model_status_label = QLabel()  # what `stt-studio models list` says about the chosen model
        self.model_combo = self._model_combo(models, preferences.model)
        self.device_combo = QComboBox()
        self.device_combo.addItem("GPU (CUDA)", "cuda")
        self.device_combo.addItem("CPU", "cpu")
        self.device_combo.setCurrentIndex(self.device_combo.findData(preferences.device))
        differs = in_use is not None and (in_use.requested_model is not None or in_use.model != preferences.model)
        self.model_in_use_label = QLabel(f"In use now: {ModelInUse.of(in_use).label}" if in_use and differs else "")
        self.device_in_use_label = QLabel(f"In use now: {device_label(in_use)}" if in_use else "")
        if in_use is not None and in_use.device == "cpu" and in_use.requested_device == "cuda":
            self.device_combo.setItemText(self.device_combo.findData("cuda"), "GPU (CUDA) — none found")
        self._in_use = in_use
        self.compute_combo = QComboBox()
        self.compute_note_label = QLabel()
        self._offer_compute_types(preferences.compute_type)
        self.device_combo.currentIndexChanged.connect(
            lambda _index: self._offer_compute_types(self.compute_combo.currentData())
        )
        self.language_combo = QComboBox()
        self.language_combo.setEditable(True)
        self.language_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.language_combo.addItems([AUTO_LANGUAGE, *sorted(self._languages)])
        self.language_combo.setCurrentText(preferences.default_language or AUTO_LANGUAGE)
        self.diarize_check = QCheckBox("Detect speakers by default")
        self.diarize_check.setChecked(preferences.diarize_by_default)
        self.identify_check = QCheckBox("Identify known voices")
        self.identify_check.setToolTip("Name the speakers found from the voice library (Review → Voice library…)")
        self.identify_check.setChecked(preferences.identify_known_voices)
        self.name_automatically_check = QCheckBox("Name automatically when sure")
        self.name_automatically_check.setToolTip(
            "A clear match names the speaker at once; off: every match is a suggestion to accept"
        )
        self.name_automatically_check.setChecked(preferences.name_automatically)
        self.identify_check.toggled.connect(self.name_automatically_check.setEnabled)
        self.name_automatically_check.setEnabled(preferences.identify_known_voices)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, MAX_WORKERS)
        self.workers_spin.setValue(preferences.workers)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setValue(preferences.low_confidence_threshold)
        self.threshold_spin.setToolTip("Words the engine scored under this are marked in the transcript (F3 visits)")

        self.data_edit = QLineEdit(str(preferences.data_dir) if preferences.data_dir else "")
        self.data_edit.setPlaceholderText(f"Default: {platformdirs.user_data_dir(APP_NAME)}")
        self.data_edit.setToolTip("Where transcripts are kept. Changing it restarts the workers.")
        self.watched_edit = QLineEdit(str(preferences.watched_folder) if preferences.watched_folder else "")
        self.watched_edit.setPlaceholderText("None: only files you add are transcribed")

        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(masked(token) if token else "Not set")
        self.remove_token_button = QPushButton("Remove token")
        self.remove_token_button.setEnabled(self._has_token)
        self.remove_token_button.clicked.connect(self._mark_token_removed)

        self._error_labels: dict[QWidget, QLabel] = {}
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._lay_out(token_location)

        self.model_combo.editTextChanged.connect(self._validate)
        self.language_combo.editTextChanged.connect(self._validate)
        self.data_edit.textChanged.connect(self._validate)
        self.watched_edit.textChanged.connect(self._validate)
        self._validate()

    # --- the widgets -----------------------------------------------------------------------------------------
    def _model_combo(self, models: Sequence[str], current: str) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItems(list(models))
        # The check marks are drawn by the list's delegate, not set as item icons: an editable combo box shows the
        # current item's icon beside its text field, which would be the icon of whichever item was last chosen
        # rather than of the text typed there.
        combo.setItemDelegate(_ModelListDelegate(combo))
        for index, name in enumerate(models):
            status = model_status(name, self._models_dir, repos=self._cached_repos)
            combo.setItemData(index, status.summary(offline=self._offline), Qt.ItemDataRole.ToolTipRole)
            combo.setItemData(index, status.available, ON_THIS_MACHINE_ROLE)
        combo.insertSeparator(combo.count())
        combo.addItem(CHOOSE_FOLDER)
        combo.setCurrentText(current)
        combo.setToolTip("A model name from the Hugging Face hub, or a folder with a CTranslate2 Whisper model")
        self._model_text = current
        self._show_model_status(current)
        combo.editTextChanged.connect(self._remember_model_text)
        combo.activated.connect(self._model_activated)
        return combo

    def _lay_out(self, token_location: str) -> None:
        note = QLabel(RESTART_NOTE)  # explicit line breaks: a wrapped label in a form layout gets clipped
        transcription = QFormLayout()
        transcription.addRow("Model:", self._with_error(self.model_combo))
        transcription.addRow("", self._row(self.model_status_label, self.models_button))
        if self.model_in_use_label.text():
            transcription.addRow("", self.model_in_use_label)
        transcription.addRow("Device:", self.device_combo)
        if self.device_in_use_label.text():
            transcription.addRow("", self.device_in_use_label)
        transcription.addRow("Compute type:", self.compute_combo)
        transcription.addRow("", self.compute_note_label)
        transcription.addRow("Workers:", self.workers_spin)
        transcription.addRow("", note)
        transcription.addRow("Default language:", self._with_error(self.language_combo))
        transcription.addRow("", self.diarize_check)

        data_browse = QPushButton("Browse…")
        data_browse.clicked.connect(lambda: self._browse(self.data_edit, "Data folder"))
        watched_browse = QPushButton("Browse…")
        watched_browse.clicked.connect(lambda: self._browse(self.watched_edit, "Watched folder"))
        watched_clear = QPushButton("Clear")
        watched_clear.clicked.connect(self.watched_edit.clear)
        folders = QFormLayout()
        folders.addRow("Data folder:", self._with_error(self.data_edit, data_browse))
        folders.addRow("Watched folder:", self._with_error(self.watched_edit, watched_browse, watched_clear))

        token_help = QLabel(
            "Optional. With a token, speaker detection uses pyannote's own pipeline from\n"
            "the Hugging Face hub (accept its terms there first); without one, the models\n"
            "bundled with STT Studio. Leave the field empty to keep the current token."
        )
        hub = QFormLayout()
        hub.addRow("Token:", self._row(self.token_edit, self.remove_token_button))
        hub.addRow("", token_help)
        if token_location:
            hub.addRow("Stored in:", QLabel(token_location))

        layout = QVBoxLayout(self)
        review = QFormLayout()
        review.addRow("Check words scored under:", self.threshold_spin)
        review.addRow("Voice library:", self.identify_check)
        review.addRow("", self.name_automatically_check)
        groups = (("Transcription", transcription), ("Folders", folders), ("Hugging Face", hub), ("Review", review))
        for title, form in groups:
            box = QGroupBox(title)
            box.setLayout(form)
            layout.addWidget(box)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for i, widget in enumerate(widgets):
            layout.addWidget(widget, 1 if i == 0 else 0)
        return row

    def _with_error(self, field: QWidget, *buttons: QWidget) -> QWidget:
        """The field (and its buttons) with a red message below it, shown while the value is not valid."""
        error = QLabel()
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {_error_color(self)}")
        error.hide()
        self._error_labels[field] = error
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._row(field, *buttons) if buttons else field)
        layout.addWidget(error)
        return box

    def _offer_compute_types(self, current: str | None) -> None:
        """Automatic and what the chosen device supports (a worker's report); a saved type it lacks stays chosen,
        marked as not available and not offered to be chosen again."""
        reports = [self._in_use] if self._in_use is not None else []
        choices = compute_type_choices(report_for_device(self.device_combo.currentData(), reports), current)
        self.compute_combo.clear()
        model = self.compute_combo.model()
        assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
        for item in choices.items:
            self.compute_combo.addItem(item.label, item.value)
            if not item.available:
                model.item(self.compute_combo.count() - 1).setEnabled(False)
        self.compute_combo.setCurrentIndex(max(0, self.compute_combo.findData(current)))
        self.compute_note_label.setText(choices.note)
        self.compute_note_label.setVisible(bool(choices.note))

    # --- reacting ------------------------------------------------------------------------------------------
    def _remember_model_text(self, text: str) -> None:
        if text != CHOOSE_FOLDER:
            self._model_text = text
        self._show_model_status(text)

    def _show_model_status(self, text: str) -> None:
        spec = text.strip()
        valid = bool(spec) and spec != CHOOSE_FOLDER and self._model_error(spec) is None
        status = model_status(spec, self._models_dir, repos=self._cached_repos) if valid else None
        self.model_status_label.setText(status.summary(offline=self._offline) if status else "")

    def _open_models(self, open_models: Callable[[QWidget], QDialog]) -> None:
        """Settings → Models; what it downloads or removes shows in the model list once it closes."""
        open_models(self).finished.connect(self.refresh_models)

    def refresh_models(self, *_news: object) -> None:
        self._cached_repos = cached_repos(self._models_dir)
        combo = self.model_combo
        for index in range(combo.count()):
            name = combo.itemText(index)
            if name in KNOWN_MODELS:
                status = model_status(name, self._models_dir, repos=self._cached_repos)
                combo.setItemData(index, status.summary(offline=self._offline), Qt.ItemDataRole.ToolTipRole)
                combo.setItemData(index, status.available, ON_THIS_MACHINE_ROLE)
        self._show_model_status(combo.currentText())

    def _model_activated(self, index: int) -> None:
        if self.model_combo.itemText(index) != CHOOSE_FOLDER:
            return
        previous = self._model_text
        folder = QFileDialog.getExistingDirectory(self, "Folder with a Whisper model", previous)
        self.model_combo.setCurrentText(folder or previous)

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    def _mark_token_removed(self) -> None:
        self._remove_token = True
        self.token_edit.clear()
        self.token_edit.setPlaceholderText("Removed when you press OK")
        self.remove_token_button.setEnabled(False)

    # --- validation ----------------------------------------------------------------------------------------
    def _validate(self) -> None:
        errors = {
            self.model_combo: self._model_error(self.model_combo.currentText().strip()),
            self.language_combo: self._language_error(self.language_combo.currentText().strip()),
            self.data_edit: self._folder_error(self.data_edit.text().strip()),
            self.watched_edit: self._folder_error(self.watched_edit.text().strip()),
        }
        for field, message in errors.items():
            label = self._error_labels[field]
            label.setText(message or "")
            label.setVisible(bool(message))
        self._errors = {field: message for field, message in errors.items() if message}
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not self._errors)

    def errors(self) -> list[str]:
        return list(self._errors.values())

    @staticmethod
    def _model_error(text: str) -> str | None:
        if not text or text == CHOOSE_FOLDER:
            return "Choose a model."
        folder = expand_home(text)
        if folder.is_dir():
            return None if (folder / "model.bin").is_file() else "This folder has no Whisper model (no model.bin)."
        return "This folder does not exist." if looks_like_path(text) else None

    def _language_error(self, text: str) -> str | None:
        if not text or text.casefold() == AUTO_LANGUAGE.casefold() or text in self._languages:
            return None
        return f"Unknown language code '{text}' (use e.g. en, de, fr)."

    @staticmethod
    def _folder_error(text: str) -> str | None:
        if not text:
            return None
        folder = expand_home(text)
        if not folder.is_absolute():
            return "Use a full path."
        if folder.exists() and not folder.is_dir():
            return "This is a file, not a folder."
        return None

    # --- the outcome ---------------------------------------------------------------------------------------
    def chosen(self) -> SettingsChoice:
        """What the dialog holds now (read it after ``exec()`` returned Accepted)."""
        language = self.language_combo.currentText().strip()
        data = self.data_edit.text().strip()
        watched = self.watched_edit.text().strip()
        preferences = Preferences.model_validate(
            self._original.model_dump()
            | {
                "model": self.model_combo.currentText().strip(),
                "device": self.device_combo.currentData(),
                "compute_type": self.compute_combo.currentData(),
                "default_language": None if language.casefold() in ("", AUTO_LANGUAGE.casefold()) else language,
                "diarize_by_default": self.diarize_check.isChecked(),
                "identify_known_voices": self.identify_check.isChecked(),
                "name_automatically": self.name_automatically_check.isChecked(),
                "workers": self.workers_spin.value(),
                "low_confidence_threshold": round(self.threshold_spin.value(), 2),
                "data_dir": expand_home(data) if data else None,
                "watched_folder": expand_home(watched) if watched else None,
            }
        )
        return SettingsChoice(preferences, self._token_choice())

    def _token_choice(self) -> TokenChoice:
        typed = self.token_edit.text().strip()
        if typed:
            return typed
        if self._remove_token and self._has_token:
            return None
        return UNSET


class _ModelListDelegate(QStyledItemDelegate):
    """Models on this machine get a check mark in the list; the others the same space, blank, to stay aligned."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        if index.data(Qt.ItemDataRole.AccessibleDescriptionRole) == "separator":
            return
        size = QSize(option.fontMetrics.height(), option.fontMetrics.height())
        available = bool(index.data(ON_THIS_MACHINE_ROLE))
        option.icon = _check_mark(size, option.palette.color(QPalette.ColorRole.Text)) if available else _blank(size)
        option.decorationSize = size
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration


def _blank(size: QSize) -> QIcon:
    pixmap = QPixmap(size)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)


def _check_mark(size: QSize, color: QColor) -> QIcon:
    """A check mark drawn here: the style's "apply" icon is empty in many desktop themes (and offscreen)."""
    pixmap = QPixmap(size)
    pixmap.fill(Qt.GlobalColor.transparent)
    w, h = size.width(), size.height()
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, max(1.5, w / 8), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.drawPolyline([QPointF(w * 0.18, h * 0.52), QPointF(w * 0.42, h * 0.76), QPointF(w * 0.84, h * 0.26)])
    painter.end()
    return QIcon(pixmap)
