"""The Voice library dialog: the voices (name, samples, seconds of speech, "needs refresh"), the chosen voice's
samples (source, date, consent, seconds), rename with the reason a name is refused shown under it, delete a
voice or a sample (asked first), export and import of the whole library as one archive. A view only: it says
what the user asked through its signals, and ``VoiceLibraryController`` answers through its ``show_*`` methods."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stt_studio.ui.clock import format_clock
from stt_studio.voices.summary import SampleSummary, VoiceListing, VoiceSummary

EMPTY = "No voices yet"
NEEDS_REFRESH = "Needs refresh"
NEEDS_REFRESH_TIP = (
    "Some samples were embedded by another speaker model than the one in use now: they are not compared until "
    "they are embedded again (Refresh voices)"
)
ARCHIVE_FILTER = "Voice library archive (*.zip)"
VOICE_COLUMNS = ("Name", "Samples", "Speech", "")
SAMPLE_COLUMNS = ("Source", "Date", "Consent", "Speech")


def _warning_color(widget: QWidget) -> str:
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff8a80" if dark else "#c62828"


def _speech(seconds: float) -> str:
    return format_clock(seconds) if seconds >= 60 else f"{seconds:.0f} s"


def _cell(text: str, *, number: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def _table(columns: tuple[str, ...], stretched: tuple[int, ...], numbers: tuple[int, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    for column in range(len(columns)):
        mode = QHeaderView.ResizeMode.Stretch if column in stretched else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(column, mode)
        if column in numbers and (title := table.horizontalHeaderItem(column)) is not None:
            title.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return table


class VoiceLibraryDialog(QDialog):
    rename_requested = Signal(str, str)
    """Voice id, the name typed."""
    delete_voice_requested = Signal(str)
    delete_sample_requested = Signal(str, str)
    """Voice id, sample id."""
    export_requested = Signal(Path)
    import_requested = Signal(Path)
    add_voice_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, where: str, *, moves_archives: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Voice library")
        self.setMinimumSize(720, 420)
        self.resize(self.sizeHint())
        self._voices: list[VoiceSummary] = []
        self.confirm_box: QMessageBox | None = None
        """The question open now or last (tests answer it)."""

        self.where_label = QLabel(where)
        self.where_label.setWordWrap(True)
        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(f"color: {_warning_color(self)}")
        self.problems_label.hide()

        self.voices_table = _table(VOICE_COLUMNS, stretched=(0,), numbers=(1, 2))
        self.voices_table.setMinimumWidth(300)
        self.voices_table.itemSelectionChanged.connect(self._show_chosen_voice)
        self.samples_table = _table(SAMPLE_COLUMNS, stretched=(0, 2), numbers=(3,))
        self.samples_table.itemSelectionChanged.connect(self._enable)

        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("The voice's name")
        self.name_edit.setMaxLength(200)  # the library says why past its own limit
        self.name_edit.returnPressed.connect(self._ask_rename)
        self.name_edit.textEdited.connect(lambda _text: self.show_name_error(""))
        self.rename_button = QPushButton("Rename")
        self.rename_button.clicked.connect(self._ask_rename)
        self.name_error = QLabel()
        self.name_error.setWordWrap(True)
        self.name_error.setStyleSheet(f"color: {_warning_color(self)}")
        self.name_error.hide()
        self.delete_voice_button = QPushButton("Delete voice…")
        self.delete_voice_button.clicked.connect(self._confirm_delete_voice)
        self.delete_sample_button = QPushButton("Delete sample…")
        self.delete_sample_button.clicked.connect(self._confirm_delete_sample)

        self.add_voice_button = QPushButton("Add voice…")
        self.add_voice_button.setToolTip("A voice from an audio file of the person speaking")
        self.add_voice_button.clicked.connect(self.add_voice_requested.emit)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Every voice and its speech clips in one archive, for another computer")
        self.export_button.clicked.connect(self._choose_export)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add the voices of an exported archive to this library")
        self.import_button.clicked.connect(self._choose_import)
        for button in (self.export_button, self.import_button):
            button.setVisible(moves_archives)
        self.refresh_button = QPushButton("Refresh voices")
        self.refresh_button.setToolTip(
            "Embed the saved clips of the voices marked “Needs refresh” with the speaker model in use now (seconds "
            "per clip)"
        )
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        self.refresh_button.hide()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.empty_label = QLabel(f"<b>{EMPTY}</b>")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty_label)
        self.pages.addWidget(self._library_page())

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.add_voice_button)
        footer.addWidget(self.export_button)
        footer.addWidget(self.import_button)
        footer.addWidget(self.refresh_button)
        footer.addWidget(self.status_label, 1)
        footer.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where_label)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.pages, 1)
        layout.addLayout(footer)
        self._enable()

    def _library_page(self) -> QWidget:
        details = QWidget()
        rename_row = QHBoxLayout()
        rename_row.setContentsMargins(0, 0, 0, 0)
        rename_row.addWidget(self.name_edit, 1)
        rename_row.addWidget(self.rename_button)
        rename_row.addWidget(self.delete_voice_button)
        samples_row = QHBoxLayout()
        samples_row.setContentsMargins(0, 0, 0, 0)
        samples_row.addWidget(QLabel("Samples"), 1)
        samples_row.addWidget(self.delete_sample_button)
        layout = QVBoxLayout(details)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(rename_row)
        layout.addWidget(self.name_error)
        layout.addLayout(samples_row)
        layout.addWidget(self.samples_table, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.voices_table)
        splitter.addWidget(details)
        splitter.setSizes([330, 590])
        splitter.setChildrenCollapsible(False)
        return splitter

    def sizeHint(self) -> QSize:
        return QSize(920, 540)

    # --- what the controller shows -----------------------------------------------------------------------------
    def show_listing(self, listing: VoiceListing) -> None:
        """The library as read now; the voice chosen before stays chosen while it is there."""
        chosen = self.chosen_voice()
        self._voices = list(listing.voices)
        self.problems_label.setText("\n".join(listing.problems))
        self.problems_label.setVisible(bool(listing.problems))
        self.pages.setCurrentIndex(1 if self._voices else 0)
        table = self.voices_table
        table.blockSignals(True)
        table.setRowCount(len(self._voices))
        for row, voice in enumerate(self._voices):
            table.setItem(row, 0, _cell(voice.name))
            table.setItem(row, 1, _cell(str(len(voice.samples)), number=True))
            table.setItem(row, 2, _cell(_speech(voice.speech_seconds), number=True))
            mark = NEEDS_REFRESH if voice.needs_refresh else ""
            table.setItem(row, 3, _cell(mark, tip=NEEDS_REFRESH_TIP if mark else ""))
        self.refresh_button.setVisible(any(v.needs_refresh for v in self._voices))
        ids = [v.id for v in self._voices]
        table.selectRow(ids.index(chosen.id) if chosen is not None and chosen.id in ids else 0)
        table.blockSignals(False)
        self._show_chosen_voice()

    def show_name_error(self, text: str) -> None:
        self.name_error.setText(text)
        self.name_error.setVisible(bool(text))

    def show_status(self, text: str, *, problem: bool = False) -> None:
        self.status_label.setStyleSheet(f"color: {_warning_color(self)}" if problem else "")
        self.status_label.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.pages.setEnabled(not busy)
        self.import_button.setEnabled(not busy)
        self.add_voice_button.setEnabled(not busy)
        self.refresh_button.setEnabled(not busy)
        if busy:
            self.export_button.setEnabled(False)
        else:
            self._enable()

    # --- what is chosen ------------------------------------------------------------------------------------------
    def chosen_voice(self) -> VoiceSummary | None:
        rows = self.voices_table.selectionModel().selectedRows()
        return self._voices[rows[0].row()] if rows and rows[0].row() < len(self._voices) else None

    def chosen_sample(self) -> SampleSummary | None:
        voice = self.chosen_voice()
        rows = self.samples_table.selectionModel().selectedRows()
        if voice is None or not rows or rows[0].row() >= len(voice.samples):
            return None
        return voice.samples[rows[0].row()]

    def _show_chosen_voice(self) -> None:
        voice = self.chosen_voice()
        self.show_name_error("")
        self.name_edit.setText(voice.name if voice else "")
        samples = voice.samples if voice else ()
        table = self.samples_table
        table.setRowCount(len(samples))
        for row, sample in enumerate(samples):
            table.setItem(row, 0, _cell(sample.source, tip=sample.source))
            table.setItem(row, 1, _cell(f"{sample.created.astimezone():%Y-%m-%d %H:%M}"))
            table.setItem(row, 2, _cell(sample.consent, tip=sample.consent))
            table.setItem(row, 3, _cell(_speech(sample.speech_seconds), number=True))
        if samples:
            table.selectRow(0)
        self._enable()

    def _enable(self) -> None:
        has_voice = self.chosen_voice() is not None
        for widget in (self.name_edit, self.rename_button, self.delete_voice_button):
            widget.setEnabled(has_voice)
        self.delete_sample_button.setEnabled(self.chosen_sample() is not None)
        self.export_button.setEnabled(bool(self._voices))

    # --- what the user asks --------------------------------------------------------------------------------------
    def _ask_rename(self) -> None:
        voice = self.chosen_voice()
        if voice is not None:
            self.rename_requested.emit(voice.id, self.name_edit.text())

    def _confirm_delete_voice(self) -> None:
        voice = self.chosen_voice()
        if voice is None:
            return
        count = len(voice.samples)
        self._confirm(
            f"Delete the voice “{voice.name}”?",
            f"Its {count} sample{'s' if count != 1 else ''} and their speech clips are deleted; transcripts keep "
            "the names they already show.",
            lambda: self.delete_voice_requested.emit(voice.id),
        )

    def _confirm_delete_sample(self) -> None:
        voice, sample = self.chosen_voice(), self.chosen_sample()
        if voice is None or sample is None:
            return
        last = len(voice.samples) == 1
        self._confirm(
            f"Delete this sample of “{voice.name}”?",
            f"From {sample.source}; its speech clip is deleted."
            + (" It is the voice's only sample: the voice goes too." if last else ""),
            lambda: self.delete_sample_requested.emit(voice.id, sample.id),
        )

    def _confirm(self, question: str, consequence: str, then: Callable[[], object]) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Voice library")
        box.setText(question)
        box.setInformativeText(consequence)
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: button is delete and then())
        self.confirm_box = box
        box.open()

    def choose_export_target(self) -> Path | None:
        path, _filter = QFileDialog.getSaveFileName(self, "Export the voice library", "voices.zip", ARCHIVE_FILTER)
        if not path:
            return None
        target = Path(path)
        return target if target.suffix else target.with_suffix(".zip")

    def choose_import_source(self) -> Path | None:
        path, _filter = QFileDialog.getOpenFileName(self, "Import a voice library archive", "", ARCHIVE_FILTER)
        return Path(path) if path else None

    def _choose_export(self) -> None:
        if (target := self.choose_export_target()) is not None:
            self.export_requested.emit(target)

    def _choose_import(self) -> None:
        if (source := self.choose_import_source()) is not None:
            self.import_requested.emit(source)
