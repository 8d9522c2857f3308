"""The reviewed transcript in the store: the original kept as it was, versions by ETag, revert, the checks a saved
transcript must pass, and writers in threads and in processes that never lose an update.

The transcript methods read and write files only; the store here has a Redis client that cannot connect, which
proves it (the CLI's export relies on that)."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from stt_studio.engine.pipeline import Engine
from stt_studio.engine.result import Segment, SpeakerTurn, TranscriptionResult, Word
from stt_studio.jobs import review
from stt_studio.jobs.models import JobOptions, JobStatus
from stt_studio.jobs.review import TranscriptInvalidError, TranscriptVersionError, etag_matches, etag_of
from stt_studio.jobs.store import JobNotFoundError, JobStore, TranscriptNotReadyError
from tests.review_writers import count_up, offline_store
from tests.test_exports import make_result


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return offline_store(tmp_path / "data")


def finished_job(store: JobStore, result: TranscriptionResult) -> str:
    """A completed job as the worker leaves it: its result and its record in the data dir."""
    job_id, _ = store.new_job_dir()
    store.save_result(job_id, result, started_at=datetime.now(timezone.utc))
    return job_id


def with_word(result: TranscriptionResult, segment: int, word: int, text: str) -> TranscriptionResult:
    """``result`` with one word corrected, as the editor does it: the word and its segment's text."""
    edited = result.model_copy(deep=True)
    seg = edited.segments[segment]
    old = seg.words[word].word
    seg.words[word] = seg.words[word].model_copy(update={"word": text, "score": None, "edited": True})
    seg.text = seg.text.replace(old, text, 1)
    return edited


# --- versions ------------------------------------------------------------------------------------------------


def test_a_fresh_job_serves_the_original(store: JobStore) -> None:
    original = make_result()
    job_id = finished_job(store, original)
    current = store.transcript(job_id)
    assert current.result == original
    assert not current.reviewed and current.reviewed_at is None
    assert current.etag == etag_of((store.job_dir(job_id) / "result.json").read_bytes())
    assert current.etag.startswith('"') and current.etag.endswith('"') and len(current.etag) == 34
    assert store.original_result(job_id) == original


def test_save_keeps_the_original_and_serves_the_reviewed(store: JobStore) -> None:
    original = make_result()
    job_id = finished_job(store, original)
    original_bytes = (store.job_dir(job_id) / "result.json").read_bytes()
    first = store.transcript(job_id)
    edited = with_word(original, 2, 0, "Thanks")
    before = datetime.now(timezone.utc)
    etag = store.save_transcript(job_id, edited, if_match=first.etag)
    after = datetime.now(timezone.utc)

    assert etag != first.etag
    current = store.transcript(job_id)
    assert current.reviewed and current.etag == etag
    assert current.reviewed_at is not None
    assert before - timedelta(seconds=1) <= current.reviewed_at <= after  # file times come from a coarser clock
    assert current.result.segments[2].words[0].word == "Thanks"
    assert current.result.segments[2].words[0].score is None
    assert original.text != " ".join(s.text for s in edited.segments) == current.result.text  # rebuilt
    assert "Thanks you, I have three points today." in current.result.text
    # Every consumer of the store reads the reviewed transcript; the engine's stays as it was, byte for byte.
    assert store.load_result(job_id) == current.result
    job = store.finished_view(job_id)  # the job as its record has it
    assert job.reviewed and job.reviewed_at == current.reviewed_at
    assert store.transcript_text(job_id) == current.result.text
    assert (store.job_dir(job_id) / "result.json").read_bytes() == original_bytes
    assert store.original_result(job_id) == original


def test_a_stale_etag_is_refused_and_names_the_current_version(store: JobStore) -> None:
    job_id = finished_job(store, make_result())
    stale = store.transcript(job_id).etag
    current = store.save_transcript(job_id, with_word(make_result(), 0, 0, "Hello"), if_match=stale)
    with pytest.raises(TranscriptVersionError) as caught:
        store.save_transcript(job_id, with_word(make_result(), 0, 1, "evening"), if_match=stale)
    assert caught.value.current_etag == current
    assert store.transcript(job_id).result.segments[0].words[0].word == "Hello"  # the first save stands
    with pytest.raises(TranscriptVersionError):
        store.revert_transcript(job_id, if_match=stale)


def test_none_saves_unconditionally(store: JobStore) -> None:
    job_id = finished_job(store, make_result())
    store.save_transcript(job_id, with_word(make_result(), 0, 0, "Hello"), if_match=None)
    store.save_transcript(job_id, with_word(make_result(), 0, 0, "Hi"), if_match=None)
    assert store.transcript(job_id).result.segments[0].words[0].word == "Hi"


def test_revert_restores_the_engine_output_and_its_etag(store: JobStore) -> None:
    original = make_result()
    job_id = finished_job(store, original)
    original_etag = store.transcript(job_id).etag
    etag = store.save_transcript(job_id, with_word(original, 1, 0, "Now"), if_match=original_etag)
    assert store.revert_transcript(job_id, if_match=etag) == original_etag
    current = store.transcript(job_id)
    assert current.result == original and not current.reviewed and current.etag == original_etag
    assert not store.finished_view(job_id).reviewed
    # Reverting an unreviewed transcript changes nothing and needs its (the original's) version too.
    assert store.revert_transcript(job_id, if_match=original_etag) == original_etag


def test_the_library_lists_the_current_transcript(store: JobStore) -> None:
    original = make_result()
    job_id = finished_job(store, original)
    etag = store.save_transcript(job_id, with_word(original, 0, 0, "Bonjour"), if_match=None)
    [entry] = store.library()
    assert entry.preview.startswith("Bonjour morning everyone")
    store.revert_transcript(job_id, if_match=etag)
    [entry] = store.library()
    assert entry.preview.startswith("Good morning everyone")


def test_replaced_versions_are_kept_in_a_short_history(store: JobStore) -> None:
    job_id = finished_job(store, make_result())
    for n in range(review.KEEP_VERSIONS + 3):
        store.save_transcript(job_id, with_word(make_result(), 0, 0, f"Version{n}"), if_match=None)
    kept = review.history(store.job_dir(job_id))
    assert len(kept) == review.KEEP_VERSIONS
    newest_kept = TranscriptionResult.model_validate_json(kept[-1].read_bytes())
    assert newest_kept.segments[0].words[0].word == f"Version{review.KEEP_VERSIONS + 1}"  # the one before the last
    store.revert_transcript(job_id, if_match=None)
    reverted = TranscriptionResult.model_validate_json(review.history(store.job_dir(job_id))[-1].read_bytes())
    assert reverted.segments[0].words[0].word == f"Version{review.KEEP_VERSIONS + 2}"  # revert keeps the review too


def test_identical_content_has_the_same_etag(store: JobStore) -> None:
    engine_like = review.normalized(make_result())  # its text built from the segments, as the engine's is
    job_id = finished_job(store, engine_like)
    original_etag = store.transcript(job_id).etag
    # Saving the engine's transcript unchanged stores the same bytes: the same version, now marked reviewed.
    assert store.save_transcript(job_id, engine_like, if_match=original_etag) == original_etag
    assert store.transcript(job_id).reviewed


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ("abc", True),  # unquoted: read as if quoted
        ('W/"abc"', False),  # If-Match compares strongly
        ('"abd"', False),
        ("", False),
    ],
)
def test_if_match_values(header: str, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


# --- jobs without a transcript ---------------------------------------------------------------------------------


def test_unknown_and_unfinished_jobs(store: JobStore) -> None:
    for missing in ("0b7d8c5e-5d0a-4a43-9d43-1b1f1f1f1f1f", "../../etc", "not-a-job"):
        with pytest.raises(JobNotFoundError):
            store.transcript(missing)
        with pytest.raises(JobNotFoundError):
            store.save_transcript(missing, make_result(), if_match=None)
    queued, upload = store.new_job_dir()
    store._write_record(queued, filename="a.wav", options=JobOptions().model_dump())  # as submit() writes it
    with pytest.raises(TranscriptNotReadyError, match="has not finished"):
        store.transcript(queued)
    with pytest.raises(TranscriptNotReadyError, match="has not finished"):
        store.save_transcript(queued, make_result(), if_match=None)
    assert not (upload / "reviewed.json").exists()
    failed, _ = store.new_job_dir()
    store.save_ending(failed, JobStatus.FAILED, "broken audio", None)
    with pytest.raises(TranscriptNotReadyError, match="is failed"):
        store.original_result(failed)
    with pytest.raises(TranscriptNotReadyError, match="is failed"):
        store.revert_transcript(failed, if_match=None)


# --- the checks ---------------------------------------------------------------------------------------------


def _changed(change: str) -> TranscriptionResult:
    result = make_result()
    seg = result.segments
    if change == "word past the end":
        seg[3].words[-1].end = result.duration + 1
    elif change == "word start after end":
        seg[1].words[2] = seg[1].words[2].model_copy(update={"start": 5.0, "end": 4.9})
    elif change == "segment before the one ahead":
        seg[2].start = 1.0
    elif change == "word before the one ahead":
        seg[0].words[3].start = 0.1
    elif change == "negative time":
        seg[0].start = -0.5
    elif change == "line break":
        seg[1].text = "Let us\nbegin"
    elif change == "blank name":
        result.speaker_names = {"SPEAKER_00": "  "}
    elif change == "duration":
        result.duration = 10.0
    elif change == "score":
        seg[0].words[0].score = 1.5
    elif change == "infinite":
        seg[0].end = float("inf")
    elif change == "not a number":
        result.duration = float("nan")
    elif change == "processing time":
        result.processing_time = float("inf")
    elif change == "speaking time":
        result.speakers[1].speaking_time = float("nan")  # type: ignore[index]
    elif change == "turn":
        result.speaker_turns = [SpeakerTurn(start=3.0, end=2.0, speaker="SPEAKER_00")]
    return result


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("word past the end", r"segments\[3\]\.words\[4\]: end 3731\.0 is past the end of the audio \(3730\.0 s\)"),
        ("word start after end", r"segments\[1\]\.words\[2\]: start 5\.0 is after end 4\.9"),
        ("segment before the one ahead", r"segments\[2\]: starts at 1\.0, before the segment ahead of it"),
        ("word before the one ahead", r"segments\[0\]\.words\[3\]: starts at 0\.1, before the word ahead of it"),
        ("negative time", r"segments\[0\]: start -0\.5 is before the audio begins"),
        ("line break", r"segments\[1\]\.text: contains a line break"),
        ("blank name", r"speaker_names\.SPEAKER_00: a name must not be empty"),
        ("duration", r"duration: is the audio's length, 3730\.0 s, and cannot change"),
        ("score", r"segments\[0\]\.words\[0\]\.score: must be between 0 and 1"),
        ("infinite", r"segments\[0\]: times must be finite"),
        ("turn", r"speaker_turns\[0\]: start 3\.0 is after end 2\.0"),
        ("not a number", r"duration: is the audio's length"),
        ("processing time", r"processing_time: must be a finite number"),
        ("speaking time", r"speakers\[1\]\.speaking_time: must be a finite number"),
    ],
)
def test_a_transcript_that_does_not_fit_the_audio_is_refused(store: JobStore, change: str, reason: str) -> None:
    job_id = finished_job(store, make_result())
    etag = store.transcript(job_id).etag
    with pytest.raises(TranscriptInvalidError, match=reason):
        store.save_transcript(job_id, _changed(change), if_match=etag)
    assert store.transcript(job_id).etag == etag and not (store.job_dir(job_id) / "reviewed.json").exists()


def test_real_engine_output_passes_the_checks_unchanged(store: JobStore, tiny_engine: Engine, short_wav: Path) -> None:
    result = tiny_engine.transcribe(short_wav)
    job_id = finished_job(store, result)
    etag = store.save_transcript(job_id, result, if_match=store.transcript(job_id).etag)
    assert store.transcript(job_id).result == result and etag == store.transcript(job_id).etag


def test_words_may_touch_the_rounded_duration(store: JobStore) -> None:
    result = make_result()
    last = result.segments[-1]
    last.words[-1].end = result.duration + 0.0004  # times are milliseconds: within rounding
    last.end = last.words[-1].end
    job_id = finished_job(store, make_result())
    etag = store.save_transcript(job_id, result, if_match=None)
    saved = store.transcript(job_id)
    assert saved.etag == etag
    assert saved.result == review.normalized(result)  # kept as sent: not refused, clamped or dropped
    assert saved.result.segments[-1].words[-1].end == result.duration + 0.0004
    assert store.original_result(job_id) == make_result()


# --- writers at the same time ---------------------------------------------------------------------------------


def test_of_threads_saving_on_one_version_exactly_one_wins(store: JobStore) -> None:
    job_id = finished_job(store, make_result())
    base = store.transcript(job_id).etag
    writers = 8
    start = threading.Barrier(writers)

    def save(n: int) -> str:
        start.wait()
        try:
            store.save_transcript(job_id, with_word(make_result(), 0, 0, f"Writer{n}"), if_match=base)
        except TranscriptVersionError:
            return "stale"
        return f"Writer{n}"

    with ThreadPoolExecutor(writers) as pool:
        outcomes = list(pool.map(save, range(writers)))
    winners = [o for o in outcomes if o != "stale"]
    assert len(winners) == 1, outcomes
    assert store.transcript(job_id).result.segments[0].words[0].word == winners[0]


def test_processes_saving_at_once_lose_no_update(store: JobStore) -> None:
    job_id = finished_job(store, make_result())
    processes, times = 3, 15
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no lock state inherited
    start, results = context.Barrier(processes), context.Queue()
    writers = [
        context.Process(target=count_up, args=(str(store.jobs_dir.parent), job_id, times, start, results))
        for _ in range(processes)
    ]
    for writer in writers:
        writer.start()
    conflicts = [results.get(timeout=300) for _ in writers]
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    # Without the lock and the version check, concurrent read-modify-writes would lose increments.
    assert store.transcript(job_id).result.speaker_names["SPEAKER_00"] == str(processes * times)
    print(f"{processes} processes x {times} saves: {sum(conflicts)} stale versions detected and retried")
    assert not list(store.job_dir(job_id).glob(".*.tmp"))


def test_words_keep_their_timings_when_one_is_corrected(store: JobStore) -> None:
    original = make_result()
    job_id = finished_job(store, original)
    store.save_transcript(job_id, with_word(original, 2, 4, "four"), if_match=None)
    saved = store.transcript(job_id).result
    pairs = [
        (a, b)
        for s_a, s_b in zip(original.segments, saved.segments, strict=True)
        for a, b in zip(s_a.words, s_b.words, strict=True)
    ]
    changed = [(a, b) for a, b in pairs if a != b]
    assert [(a.word, b.word) for a, b in changed] == [("three", "four")]
    assert all((a.start, a.end) == (b.start, b.end) for a, b in pairs)


def test_a_saved_transcript_without_speakers_or_words_is_fine(store: JobStore) -> None:
    result = TranscriptionResult(
        text="", language="en", duration=2.0, segments=[Segment(id=0, start=0.0, end=1.0, text="Hm")],
        processing_time=0.1, model="tiny.en", device="cpu", word_timestamps="whisper",
    )  # fmt: skip
    job_id = finished_job(store, result)
    result.segments[0].words = [Word(word="Hmm", start=0.0, end=1.0, score=None, edited=True)]
    store.save_transcript(job_id, result, if_match=None)
    assert store.transcript(job_id).result.text == "Hm"
