"""The Settings dialog offers only the compute types the workers' device supports (their reports, made up here for
each card), says why when the list is short, and shows a saved type the device lacks as not available."""

from __future__ import annotations

import os
from typing import Any, cast

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from stt_studio.engine.device import DeviceFacts, GpuFacts, supported_compute_types
from stt_studio.engine.pipeline import Engine
from stt_studio.jobs.models import WorkerInfo
from stt_studio.jobs.worker import WorkerContext
from stt_studio.settings import Settings
from stt_studio.ui.compute_types import AUTOMATIC_LABEL, compute_type_choices, report_for_device
from stt_studio.ui.preferences import Preferences
from stt_studio.ui.views.settings_dialog import SettingsDialog

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RTX_TYPES = ["bfloat16", "float16", "float32", "int8", "int8_bfloat16", "int8_float16", "int8_float32"]
PASCAL_TYPES = ["float32", "int8", "int8_float32"]


def _report(device: str, types: list[str] | None, *, gpu: str | None = None, compute_type: str = "int8") -> WorkerInfo:
    return WorkerInfo(name="w", pid=1, model="base", device=device, compute_type=compute_type, requested_device=device,
                      gpu_name=gpu, supported_compute_types=types)  # fmt: skip


def _values(report: WorkerInfo | None, saved: str | None = None) -> list[str | None]:
    return [item.value for item in compute_type_choices(report, saved).items]


def test_the_engine_reports_the_cards_types_on_a_gpu_and_the_cpus_on_the_cpu() -> None:
    pascal = GpuFacts(0, "GeForce GTX 1080", (6, 1), 7000, 8192, frozenset(PASCAL_TYPES))
    facts = DeviceFacts(1, True, "12.8", ("sm_70",), (pascal,), cpu_compute_types=frozenset({"int8", "float32"}))
    assert supported_compute_types(facts, "cuda") == frozenset(PASCAL_TYPES)
    assert supported_compute_types(facts, "cpu") == frozenset({"int8", "float32"})


def test_a_worker_reports_what_its_device_supports(settings: Settings) -> None:
    pascal = GpuFacts(0, "GeForce GTX 1080", (6, 1), 7000, 8192, frozenset(PASCAL_TYPES))
    cpu_torch = DeviceFacts(1, False, None, (), (pascal,), cpu_compute_types=frozenset({"int8", "float32"}))
    on_gpu = WorkerContext(Engine(settings, model="tiny.en", device="cuda", facts=cpu_torch), cast(Any, None),
                           cast(Any, None)).info("w")  # fmt: skip
    assert (on_gpu.device, on_gpu.supported_compute_types) == ("cuda", sorted(PASCAL_TYPES))
    on_cpu = WorkerContext(Engine(settings, model="tiny.en", device="cpu", facts=cpu_torch), cast(Any, None),
                           cast(Any, None)).info("w")  # fmt: skip
    assert on_cpu.supported_compute_types == ["float32", "int8"]


def test_a_card_with_float16_offers_its_types_best_first_and_nothing_to_explain() -> None:
    choices = compute_type_choices(_report("cuda", RTX_TYPES, gpu="RTX 4090", compute_type="float16"), None)
    assert [i.value for i in choices.items] == [None, "float16", "bfloat16", "int8_float16", "int8_bfloat16",
                                                "int8_float32", "int8", "float32"]  # fmt: skip
    assert choices.items[0].label == AUTOMATIC_LABEL and choices.note == ""


def test_a_pascal_card_offers_only_its_three_types_and_says_why_float16_is_missing() -> None:
    choices = compute_type_choices(_report("cuda", PASCAL_TYPES, gpu="GeForce GTX 1080"), None)
    assert [i.value for i in choices.items] == [None, "int8_float32", "int8", "float32"]
    assert choices.note == ("Only what GeForce GTX 1080 supports: int8_float32, int8, float32.\n"
                            "float16 needs tensor cores (compute capability 7.0 or newer).")  # fmt: skip


def test_the_cpu_offers_the_cpus_types() -> None:
    choices = compute_type_choices(_report("cpu", PASCAL_TYPES), None)
    assert [i.value for i in choices.items] == [None, "int8_float32", "int8", "float32"]
    assert choices.note.endswith("float16 types need a GPU.") and "the CPU" in choices.note


def test_a_saved_type_the_device_lacks_is_shown_as_not_available() -> None:
    choices = compute_type_choices(_report("cuda", PASCAL_TYPES, gpu="GeForce GTX 1080", compute_type="int8_float32"),
                                   "float16")  # fmt: skip
    saved = choices.items[-1]
    assert (saved.value, saved.available) == ("float16", False)
    assert saved.label == "float16 — not available on GeForce GTX 1080"
    assert choices.note.endswith(
        "The saved float16 is not available on GeForce GTX 1080:\nthe workers use int8_float32."
    )
    assert all(item.available for item in choices.items[:-1])


def test_without_a_report_the_usual_list_and_a_note_that_it_is_not_known_yet() -> None:
    assert _values(None) == [None, "float16", "int8_float16", "int8", "float32"]
    assert _values(None, "bfloat16")[-1] == "bfloat16"  # a saved choice is never lost
    assert "known once a worker" in compute_type_choices(None, None).note
    assert _values(_report("cpu", None)) == _values(None)  # a worker (or server) that does not say


def test_a_report_tells_only_about_the_device_it_was_asked_to_run_on() -> None:
    gpu = _report("cuda", RTX_TYPES, gpu="RTX 4090")
    no_gpu_found = _report("cpu", PASCAL_TYPES).model_copy(update={"requested_device": "cuda"})
    assert report_for_device("cuda", [gpu]) is gpu and report_for_device("cpu", [gpu]) is None
    assert report_for_device("cuda", [no_gpu_found]) is no_gpu_found  # CUDA asked for runs on the CPU: its types


def test_the_dialog_offers_a_pascal_cards_types_and_keeps_the_saved_float16_as_not_available(
    qtbot: QtBot,
) -> None:
    report = _report("cuda", PASCAL_TYPES, gpu="GeForce GTX 1080", compute_type="int8_float32")
    dialog = SettingsDialog(Preferences(device="cuda", compute_type="float16"), None, in_use=report)
    qtbot.addWidget(dialog)
    combo = dialog.compute_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts == ["automatic", "int8_float32", "int8", "float32", "float16 — not available on GeForce GTX 1080"]
    assert combo.currentData() == "float16"  # untouched, the dialog gives back what it got
    assert not dialog.compute_combo.model().index(combo.count() - 1, 0).flags() & Qt.ItemFlag.ItemIsEnabled
    assert all(combo.model().index(i, 0).flags() & Qt.ItemFlag.ItemIsEnabled for i in range(combo.count() - 1))
    assert "float16 needs tensor cores" in dialog.compute_note_label.text()
    assert not dialog.compute_note_label.isHidden()
    assert dialog.chosen().preferences.compute_type == "float16"

    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))  # the report says nothing of the CPU
    assert [combo.itemText(i) for i in range(combo.count())] == ["automatic", "float16", "int8_float16", "int8",
                                                                  "float32"]  # fmt: skip
    assert "known once a worker" in dialog.compute_note_label.text()


def test_the_dialog_on_a_full_card_offers_float16_and_says_nothing(qtbot: QtBot) -> None:
    report = _report("cuda", RTX_TYPES, gpu="RTX 4090", compute_type="float16")
    dialog = SettingsDialog(Preferences(device="cuda"), None, in_use=report)
    qtbot.addWidget(dialog)
    combo = dialog.compute_combo
    assert combo.currentData() is None and combo.itemText(1) == "float16" and combo.count() == 1 + len(RTX_TYPES)
    assert dialog.compute_note_label.isHidden()
