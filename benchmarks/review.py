"""The transcript review's responsiveness on long transcripts, and how the low-confidence threshold was chosen.

1. A real result: tiny.en (CPU) on about 2.5 minutes of espeak-ng speech, every sentence of tests.speech.SENTENCES
   said by each of the three DIALOGUE_VOICES. Its words, scored by Whisper, are lined up with the known text:
   for each threshold, how many words the pass would visit and how many of the wrong words are among them.
2. Long transcripts synthesized from it: the result repeated with shifted times to 20 minutes and to 2 hours
   (segments alternate between two speakers), and the audio repeated as long (ffmpeg, Opus).
3. For each length, the real TranscriptView (offscreen Qt, 560×760 as in the window) with a 10 ms PreciseTimer
   (tests.desktop.StallMeter) running: opening (to the first paint, to every row fitted; worst stall), scrolling
   the whole table a page at a time (worst stall; time per page), the highlight's cost per player tick (the
   position signal and the repaint it causes, 2000 ticks 50 ms apart), real playback at 2× for 8 s in the middle
   (ticks received, handler time, highlighted word right at every tick), and the edits (time per edit; memory each
   step of the undo history keeps, measured with tracemalloc, against one full copy of the transcript).

    .venv/bin/python -m benchmarks.review [--lengths 20,120] [--keep]
"""

from __future__ import annotations

import argparse
import copy
import difflib
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from stt_studio.engine.result import TranscriptionResult

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
TICKS = 2000
TICK_SECONDS = 0.05
PLAY_SECONDS = 8.0
SIZE = (560, 760)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


# --- 1. the real result and the threshold ------------------------------------------------------------------------
def _speech(work: Path) -> tuple[Path, str]:
    from tests.speech import DIALOGUE_VOICES, SENTENCES, concat_with_pauses, speak

    parts, said = [], []
    for v, voice in enumerate(DIALOGUE_VOICES):
        for i, sentence in enumerate(SENTENCES):
            parts.append(speak(sentence, work / f"s{v}_{i}.wav", voice))
            said.append(sentence)
    return concat_with_pauses(parts, work / "speech.wav", pause_seconds=0.6), " ".join(said)


def _words(text: str) -> list[str]:
    return [w for w in (re.sub(r"[^\w']", "", t.casefold()) for t in text.split()) if w]


def _threshold_table(result: TranscriptionResult, reference: str) -> list[tuple[float, int, int, int, int]]:
    """(threshold, words flagged, words, wrong words flagged, wrong words): wrong = not matched to the known text."""
    hypothesis = [(re.sub(r"[^\w']", "", w.word.casefold()), w.score) for s in result.segments for w in s.words]
    matcher = difflib.SequenceMatcher(a=_words(reference), b=[h for h, _ in hypothesis], autojunk=False)
    right = {j for tag, _i1, _i2, j1, j2 in matcher.get_opcodes() if tag == "equal" for j in range(j1, j2)}
    wrong = set(range(len(hypothesis))) - right
    rows = []
    for threshold in THRESHOLDS:
        flagged = {j for j, (_, score) in enumerate(hypothesis) if score is not None and score < threshold}
        rows.append((threshold, len(flagged), len(hypothesis), len(flagged & wrong), len(wrong)))
    return rows


# --- 2. long transcripts -----------------------------------------------------------------------------------------
def synthesize(base: TranscriptionResult, minutes: float) -> TranscriptionResult:
    """``base`` repeated, each copy shifted by its duration, until ``minutes`` long; segments alternate between
    SPEAKER_00 and SPEAKER_01."""
    from stt_studio.engine.result import Segment

    copies = max(1, round(minutes * 60 / base.duration))
    segments: list[Segment] = []
    for copy_number in range(copies):
        shift = copy_number * base.duration
        for segment in base.segments:
            speaker = f"SPEAKER_{len(segments) % 2:02d}"
            words = [
                w.model_copy(update={"start": round(w.start + shift, 3), "end": round(w.end + shift, 3),
                                     "speaker": speaker})
                for w in segment.words
            ]  # fmt: skip
            segments.append(
                segment.model_copy(update={"id": len(segments), "start": round(segment.start + shift, 3),
                                           "end": round(segment.end + shift, 3), "words": words, "speaker": speaker})
            )  # fmt: skip
    return base.model_copy(
        update={"segments": segments, "duration": round(copies * base.duration, 3),
                "text": " ".join(s.text for s in segments), "speakers": None, "speaker_turns": None}
    )  # fmt: skip


def _long_audio(base: Path, copies: int, out: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-stream_loop", str(copies - 1), "-i", str(base),
         "-c:a", "libopus", "-b:a", "24k", str(out)],
        check=True,
    )  # fmt: skip
    return out


# --- 3. the view -------------------------------------------------------------------------------------------------
def _settle(app: QApplication, until: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the view did not settle")
        app.processEvents()
        time.sleep(0.001)


def _measure(app: QApplication, result: TranscriptionResult, media: Path) -> dict[str, Any]:
    from PySide6.QtCore import QEvent, QObject

    from stt_studio.jobs.models import JobStatus, JobView
    from stt_studio.ui.editing import commands
    from stt_studio.ui.views.transcript_view import TranscriptView
    from tests.desktop import StallMeter

    out: dict[str, Any] = {
        "segments": len(result.segments),
        "words": sum(len(s.words) for s in result.segments),
        "minutes": result.duration / 60,
    }
    view = TranscriptView()
    view.resize(*SIZE)
    view.show()
    _settle(app, lambda: view.isVisible())

    class Painted(QObject):
        at: float | None = None

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if self.at is None and event.type() == QEvent.Type.Paint:
                self.at = time.perf_counter()
            return False

    painted = Painted()
    view.segments_view.viewport().installEventFilter(painted)
    job = JobView(job_id="bench", status=JobStatus.COMPLETED, filename="long.opus")

    # opening
    meter = StallMeter()
    meter.start()
    began = time.perf_counter()
    view.show_transcript(job, result, media)
    shown = time.perf_counter()
    _settle(app, lambda: painted.at is not None and not view._rows_to_fit and not view._fit_more_timer.isActive())
    fitted = time.perf_counter()
    _settle(app, lambda: view.player.duration_seconds() > 0, 60)
    meter.stop()
    out["open_call_ms"] = (shown - began) * 1000
    out["open_paint_ms"] = ((painted.at or fitted) - began) * 1000
    out["open_fitted_ms"] = (fitted - began) * 1000
    out["open_worst_stall_ms"] = meter.worst * 1000

    # scrolling, a page at a time, top to bottom
    bar = view.segments_view.verticalScrollBar()
    bar.setValue(0)
    app.processEvents()
    steps: list[float] = []
    meter = StallMeter()
    meter.start()
    while bar.value() < bar.maximum():
        t = time.perf_counter()
        bar.triggerAction(bar.SliderAction.SliderPageStepAdd)
        view.segments_view.viewport().repaint()
        steps.append((time.perf_counter() - t) * 1000)
        app.processEvents()
    meter.stop()
    out["scroll_pages"] = len(steps)
    out["scroll_page_ms_mean"] = statistics.mean(steps)
    out["scroll_page_ms_p99"] = _percentile(steps, 0.99)
    out["scroll_worst_stall_ms"] = meter.worst * 1000

    # the highlight, tick by tick, as the player reports positions (20 a second) from the middle on
    middle = result.duration / 2
    ticks: list[float] = []
    right = 0
    for i in range(TICKS):
        seconds = middle + i * TICK_SECONDS
        t = time.perf_counter()
        view.player.position_changed.emit(seconds)
        app.processEvents()  # the repaint of the rows whose marks changed
        ticks.append((time.perf_counter() - t) * 1000)
        right += view.segments_model.playing_word == view.words.at(seconds)
    out["tick_ms_mean"] = statistics.mean(ticks)
    out["tick_ms_p99"] = _percentile(ticks, 0.99)
    out["tick_right"] = right / TICKS

    # real playback at 2×, from the middle
    handler: list[float] = []
    checks: list[bool] = []
    follow = view._follow_position
    view.player.position_changed.disconnect(follow)

    def timed(seconds: float) -> None:
        t = time.perf_counter()
        follow(seconds)
        handler.append((time.perf_counter() - t) * 1000)
        checks.append(view.segments_model.playing_word == view.words.at(seconds))

    view.player.position_changed.connect(timed)
    view.player.set_rate(2.0)
    view.player.play_from(middle)
    _settle(app, view.player.is_playing, 30)
    handler.clear()
    checks.clear()
    meter = StallMeter()
    meter.start()
    began = time.perf_counter()
    _settle(app, lambda: time.perf_counter() - began >= PLAY_SECONDS / 2, 30)  # 8 s of the recording at 2×
    meter.stop()
    view.player.pause()
    out["play_ticks_per_s"] = len(handler) / (PLAY_SECONDS / 2)
    out["play_handler_ms_mean"] = statistics.mean(handler) if handler else float("nan")
    out["play_handler_ms_max"] = max(handler, default=float("nan"))
    out["play_right"] = sum(checks) / len(checks) if checks else float("nan")
    out["play_worst_stall_ms"] = meter.worst * 1000

    # edits: time each (the pure edit, the model, the word index, the rows fitted again)
    doc = view.document
    row = len(result.segments) // 2

    def timed_push(make: Callable[[], Any]) -> float:
        t = time.perf_counter()
        doc.push(make())
        app.processEvents()
        return (time.perf_counter() - t) * 1000

    def current() -> TranscriptionResult:
        assert doc.result is not None
        return doc.result

    edit_ms = []
    for i in range(5):
        text = current().segments[row + i].text + " indeed"
        edit_ms.append(timed_push(partial(commands.EditText, doc, current(), row + i, text)))
    out["edit_ms"] = statistics.median(edit_ms)
    out["split_ms"] = timed_push(lambda: commands.SplitSegment(doc, current(), row, 2))
    out["merge_ms"] = timed_push(lambda: commands.MergeSegments(doc, current(), row))
    out["rename_ms"] = timed_push(lambda: commands.RenameSpeaker(doc, current(), "SPEAKER_00", "Dr. Chen"))
    out["merge_speakers_ms"] = timed_push(lambda: commands.MergeSpeakers(doc, current(), "SPEAKER_01", "SPEAKER_00"))
    t = time.perf_counter()
    doc.undo_stack.undo()
    app.processEvents()
    out["undo_ms"] = (time.perf_counter() - t) * 1000

    # memory kept by the undo history, per step
    doc.load(result)
    app.processEvents()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    deep = copy.deepcopy(result)
    out["full_copy_mb"] = (tracemalloc.get_traced_memory()[0] - before) / 1e6
    del deep
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    kinds = {"text edit": 0, "split": 0, "merge": 0, "check": 0}
    for i in range(40):
        kind = ("text edit", "split", "merge", "check")[i % 4]
        res = current()
        r = (row + 3 * i) % (len(res.segments) - 1)
        if kind == "text edit":
            doc.push(commands.EditText(doc, res, r, res.segments[r].text + " indeed"))
        elif kind == "split":
            doc.push(commands.SplitSegment(doc, res, r, 1))
        elif kind == "merge":
            doc.push(commands.MergeSegments(doc, res, r))
        else:
            doc.push(commands.MarkChecked(doc, res, r, 0))
        kinds[kind] += 1
    app.processEvents()
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    out["history_steps"] = doc.undo_stack.count()
    out["history_kb_per_step"] = kept / 1e3 / max(1, doc.undo_stack.count())
    view.player.shutdown()
    view.close()
    view.deleteLater()
    app.processEvents()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="20,120", help="transcript lengths in minutes, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()

    from stt_studio.engine.cpu import configure_process_environment

    configure_process_environment()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    from stt_studio.engine.pipeline import Engine
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-review-"))
    try:
        speech, said = _speech(work)
        engine = Engine(Settings(offline=True), model="tiny.en", device="cpu")
        engine.load()
        base = engine.transcribe(speech)
        del engine
        app = QApplication.instance() or QApplication([sys.argv[0]])
        assert isinstance(app, QApplication)
        table = _threshold_table(base, said)
        rows = []
        for minutes in (float(m) for m in args.lengths.split(",")):
            result = synthesize(base, minutes)
            copies = round(result.duration / base.duration)
            media = _long_audio(speech, copies, work / f"long-{minutes:.0f}.opus")
            rows.append(_measure(app, result, media))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _print(base, table, rows)


def _print(
    base: TranscriptionResult, table: list[tuple[float, int, int, int, int]], rows: list[dict[str, Any]]
) -> None:
    words = sum(len(s.words) for s in base.segments)
    print(f"\nReview benchmark: offscreen Qt, {os.cpu_count()} cores; base: tiny.en on {base.duration:.0f} s of "
          f"espeak-ng speech, {len(base.segments)} segments, {words} words ({base.word_timestamps} times)")  # fmt: skip
    print("\n1. Low-confidence threshold (words scored under it are visited by F3)")
    md = ["| threshold | words to check | wrong words among them (caught) |", "|---|---|---|"]
    for threshold, flagged, total, caught, wrong in table:
        print(f"   {threshold:.1f}: {flagged:4d} of {total} words ({100 * flagged / total:4.1f} %), "
              f"{caught} of {wrong} wrong words ({100 * caught / max(1, wrong):3.0f} %)")  # fmt: skip
        md.append(f"| {threshold:.1f} | {flagged} of {total} ({100 * flagged / total:.0f} %) | "
                  f"{caught} of {wrong} ({100 * caught / max(1, wrong):.0f} %) |")  # fmt: skip
    md.append("")
    print("\n2. The transcript view")
    labels = [
        ("segments / words", lambda r: f"{r['segments']} / {r['words']}"),
        ("open: show_transcript call", lambda r: f"{r['open_call_ms']:.0f} ms"),
        ("open: to first paint", lambda r: f"{r['open_paint_ms']:.0f} ms"),
        ("open: to every row fitted", lambda r: f"{r['open_fitted_ms']:.0f} ms"),
        ("open: worst GUI stall", lambda r: f"{r['open_worst_stall_ms']:.0f} ms"),
        ("scroll: pages top to bottom", lambda r: f"{r['scroll_pages']}"),
        ("scroll: per page (mean / p99)",
         lambda r: f"{r['scroll_page_ms_mean']:.1f} / {r['scroll_page_ms_p99']:.1f} ms"),
        ("scroll: worst GUI stall", lambda r: f"{r['scroll_worst_stall_ms']:.0f} ms"),
        ("highlight: per tick (mean / p99)", lambda r: f"{r['tick_ms_mean']:.2f} / {r['tick_ms_p99']:.2f} ms"),
        ("highlight: right word", lambda r: f"{100 * r['tick_right']:.0f} %"),
        ("playback 2×: ticks per second", lambda r: f"{r['play_ticks_per_s']:.0f}"),
        ("playback 2×: handler (mean / max)",
         lambda r: f"{r['play_handler_ms_mean']:.2f} / {r['play_handler_ms_max']:.2f} ms"),
        ("playback 2×: right word at every tick", lambda r: f"{100 * r['play_right']:.0f} %"),
        ("playback 2×: worst GUI stall", lambda r: f"{r['play_worst_stall_ms']:.0f} ms"),
        ("edit a segment's text", lambda r: f"{r['edit_ms']:.0f} ms"),
        ("split / merge", lambda r: f"{r['split_ms']:.0f} / {r['merge_ms']:.0f} ms"),
        ("rename / merge speakers", lambda r: f"{r['rename_ms']:.0f} / {r['merge_speakers_ms']:.0f} ms"),
        ("undo", lambda r: f"{r['undo_ms']:.0f} ms"),
        ("undo history per step (40 edits)", lambda r: f"{r['history_kb_per_step']:.0f} kB"),
        ("one full copy of the transcript", lambda r: f"{r['full_copy_mb']:.1f} MB"),
    ]  # fmt: skip
    heads = [f"{r['minutes']:.0f} min" for r in rows]
    ratio = len(rows) == 2
    md += ["| review | " + " | ".join(heads) + (" | ratio |" if ratio else " |"),
           "|---|" + "---|" * (len(rows) + ratio)]  # fmt: skip
    ratio_keys = {"open: to first paint": "open_paint_ms", "open: to every row fitted": "open_fitted_ms",
                  "highlight: per tick (mean / p99)": "tick_ms_mean", "edit a segment's text": "edit_ms",
                  "scroll: per page (mean / p99)": "scroll_page_ms_mean"}  # fmt: skip
    for label, show in labels:
        cells = [show(r) for r in rows]
        extra = ""
        if ratio and label in ratio_keys:
            key = ratio_keys[label]
            extra = f"{rows[1][key] / rows[0][key]:.1f}×" if rows[0][key] else ""
        print(f"   {label:40} " + "  ".join(f"{c:>18}" for c in cells) + (f"  {extra:>6}" if ratio else ""))
        md.append(f"| {label} | " + " | ".join(cells) + (f" | {extra} |" if ratio else " |"))
    print("\nFor the README:\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
