"""The live worker: a process of its own, started with a recording and stopped after it, that holds a Whisper model
(loaded as the engine loads it: ``resolve_model``, ``plan_engine``, ``load_whisper``) and turns the audio it is sent
into final and provisional words (``streaming.LocalAgreement``).

Not the job queue's worker: a live recording must not wait behind queued files, and its model (small on a CPU)
is not the batch model. Audio comes in on one pipe, events go out on another; a thread empties the audio pipe
while the model decodes, so the recording process never waits on the model.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stt_studio.live.streaming import LocalAgreement, StreamingConfig, Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
STEP_SECONDS = 1.0
"""Decode again once this much new audio has come (whisper_streaming's min-chunk)."""
POLL_SECONDS = 0.25
"""Between decodings, listen this often for the end of speech (a pause): its decoding need not wait for the step."""
ENDPOINT_PAD_SECONDS = 0.1
"""The end of speech is put this far into the pause: the voice detector's end may cut the fading last sound."""
SILENCE_PEAK = 0.003
"""Audio whose peak stays under this (about -50 dBFS) is not decoded: Whisper invents words in silence."""
KEEP_BEFORE_SPEECH_SECONDS = 0.5
CPU_LIVE_MODEL = "tiny.en"
CPU_LIVE_MODEL_MULTILINGUAL = "base"


@dataclass(frozen=True)
class LiveWorkerConfig:
    model: str | None
    """None: ``default_live_model``."""
    main_model: str
    device: str
    language: str | None
    prompt: str | None
    models_dir: Path
    offline: bool
    hf_token: str | None
    compute_type: str | None
    cpu_threads: int | None
    streaming: StreamingConfig = field(default_factory=StreamingConfig)
    temperatures: tuple[float, ...] = (0.0,)
    """Whisper's decoding temperatures: one, no fallback. Its fallback decodes a buffer again (up to five more
    times, at rising temperatures) where the text repeats itself or is unlikely, as a live buffer's cut-off end
    often is: a decoding that long holds back every word behind it."""


def default_live_model(main_model: str, device: str, language: str | None) -> str:
    """On a GPU the main model keeps up; on a CPU a small one (decoding the last seconds again every second)."""
    if device == "cuda":
        return main_model
    return CPU_LIVE_MODEL if language in (None, "en") else CPU_LIVE_MODEL_MULTILINGUAL


# --- events (worker → caller), plain tuples over the pipe ----------------------------------------------------------
# ("ready", {"model": str, "device": str}), ("final", [(start, end, text), …]), ("partial", [...]),
# ("error", message), ("done", {"decodings": int, "decode_seconds": float})


def words_to_wire(words: Sequence[Word]) -> list[tuple[float, float, str]]:
    return [(w.start, w.end, w.text) for w in words]


def words_from_wire(items: Sequence[tuple[float, float, str]]) -> list[Word]:
    return [Word(start, end, text) for start, end, text in items]


class _Inbox:
    """The audio sent so far (the caller sends int16 bytes, then None at the end), filled by a thread."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self.arrived = threading.Condition(self._lock)
        self.ended = False
        threading.Thread(target=self._receive, name="live audio", daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                item = self._conn.recv()
            except (EOFError, OSError):  # the caller is gone: finish what came
                item = None
            with self._lock:
                if item is None:
                    self.ended = True
                else:
                    self._chunks.append(item)
                self.arrived.notify_all()
            if item is None:
                return

    def take(self) -> np.ndarray:
        with self._lock:
            data, self._chunks = b"".join(self._chunks), []
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    def wait(self, samples_wanted: int, have: int, timeout: float) -> None:
        with self._lock:
            self.arrived.wait_for(lambda: self.ended or have + sum(len(c) for c in self._chunks) // 2 >= samples_wanted,
                                  timeout)  # fmt: skip


def speech_ended_at(audio: np.ndarray, pause_seconds: float) -> float | None:
    """Seconds into ``audio`` where its last stretch of speech followed by at least ``pause_seconds`` of silence ends
    (Silero VAD, as faster-whisper ships it), or None: no speech, or speech still going."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=int(pause_seconds * 1000), speech_pad_ms=0)
    stretches = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    if not stretches:
        return None
    starts = [int(stretch["start"]) for stretch in stretches[1:]] + [len(audio)]
    ended = [
        int(stretch["end"])
        for stretch, next_start in zip(stretches, starts, strict=True)
        if next_start - int(stretch["end"]) >= pause_seconds * SAMPLE_RATE
    ]
    if not ended:
        return None
    return min(ended[-1] / SAMPLE_RATE + ENDPOINT_PAD_SECONDS, len(audio) / SAMPLE_RATE)


def leading_silence(audio: np.ndarray, peak: float = SILENCE_PEAK) -> int:
    """Samples of silence at the start of ``audio`` that can be dropped (keeping a little before the speech)."""
    loud = np.flatnonzero(np.abs(audio) >= peak)
    first = int(loud[0]) if loud.size else len(audio)
    return max(0, first - int(KEEP_BEFORE_SPEECH_SECONDS * SAMPLE_RATE))


class LiveTranscriber:
    """The decoding loop over a growing buffer; separate from the process plumbing so a benchmark can drive it."""

    def __init__(self, model: WhisperModel, config: LiveWorkerConfig, beam_size: int) -> None:
        self.model = model
        self.config = config
        self.beam_size = beam_size
        self.policy = LocalAgreement(config.streaming)
        self.language = config.language
        self.buffer = np.zeros(0, dtype=np.float32)
        self.received = 0
        """Samples received since the recording started (the buffer ends there)."""
        self.decodings = 0
        self.decode_seconds = 0.0
        self._speech_end_heard: tuple[tuple[int, int], float | None] = ((-1, -1), None)

    def add(self, samples: np.ndarray) -> None:
        self.buffer = np.concatenate([self.buffer, samples])
        self.received += len(samples)

    @property
    def buffer_end(self) -> float:
        return self.received / SAMPLE_RATE

    def step(self) -> tuple[list[Word], list[Word]]:
        """Decode the buffer once: (words made final, provisional words)."""
        if not self.policy.pending:  # nothing provisional: silence before the speech can go
            self._drop(leading_silence(self.buffer))
        ended = self.speech_ended()
        if self._unconfirmed_is_silent():
            self.policy.update([], self.buffer_end, ended)  # whatever was provisional was silence heard as words
            self._drop_until(self.policy.buffer_start)
            return [], []
        update = self.policy.update(self._decode(), self.buffer_end, ended)
        if update.trim_at is not None:
            self._drop_until(update.trim_at)
        return update.final, update.provisional

    def speech_ended(self) -> float | None:
        """Where the buffer's last stretch of speech that a pause follows ends (seconds from the recording's start),
        or None (also when the policy does no endpointing)."""
        pause = self.config.streaming.endpoint_pause_seconds
        if pause is None:
            return None
        key = (self.received, len(self.buffer))
        if self._speech_end_heard[0] != key:
            ended = speech_ended_at(self.buffer, pause)
            start = self.buffer_end - len(self.buffer) / SAMPLE_RATE
            self._speech_end_heard = (key, None if ended is None else start + ended)
        return self._speech_end_heard[1]

    def _unconfirmed_is_silent(self) -> bool:
        """Nothing loud after the last final word: Whisper would only invent words ("Thanks for watching.")."""
        start = self.buffer_end - len(self.buffer) / SAMPLE_RATE
        tail = self.buffer[max(0, int((self.policy.final_end - start) * SAMPLE_RATE)) :]
        return tail.size == 0 or float(np.max(np.abs(tail))) < SILENCE_PEAK

    def finish(self) -> list[Word]:
        final, _ = self.step()
        return final + self.policy.finish()

    def _drop(self, samples: int) -> None:
        if samples > 0:
            self.buffer = self.buffer[samples:]
            self.policy.buffer_start = self.buffer_end - len(self.buffer) / SAMPLE_RATE

    def _drop_until(self, seconds: float) -> None:
        start = self.buffer_end - len(self.buffer) / SAMPLE_RATE
        self.buffer = self.buffer[max(0, int((seconds - start) * SAMPLE_RATE)) :]

    def _decode(self) -> list[Word]:
        offset = self.buffer_end - len(self.buffer) / SAMPLE_RATE
        started = time.perf_counter()
        segments, info = self.model.transcribe(
            self.buffer,
            language=self.language,
            initial_prompt=self.policy.prompt(self.config.prompt),
            word_timestamps=True,
            condition_on_previous_text=False,
            beam_size=self.beam_size,
            temperature=list(self.config.temperatures),
            vad_filter=False,
        )
        words = [
            Word(w.start + offset, w.end + offset, w.word)
            for segment in segments
            if not (segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0)
            for w in segment.words or []
        ]
        if self.language is None and info.language_probability > 0.8:
            self.language = info.language  # detected once: the next decodings keep it
        self.decodings += 1
        self.decode_seconds += time.perf_counter() - started
        return words


def load_live_model(config: LiveWorkerConfig) -> tuple[WhisperModel, str, str]:
    """The model, its name and the device it runs on: the engine's model resolution and device decisions."""
    from stt_studio.engine.cpu import cpu_count
    from stt_studio.engine.device import probe_device_facts
    from stt_studio.engine.engine_setup import plan_engine
    from stt_studio.engine.models import resolve_model
    from stt_studio.engine.whisper_loader import load_whisper
    from stt_studio.settings import Settings

    settings = Settings(
        models_dir=config.models_dir,
        offline=config.offline,
        hf_token=config.hf_token,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
    )
    facts = probe_device_facts(cuda=config.device == "cuda", with_torch=False)
    cuda_setup = plan_engine(facts, config.device, config.main_model, settings, diarize=False, vad="silero")
    name = config.model or default_live_model(config.main_model, cuda_setup.parts.asr, config.language)
    setup = plan_engine(facts, cuda_setup.parts.asr, name, settings, diarize=False, vad="silero")
    resolved = resolve_model(name, settings.resolved_models_dir, hf_token=config.hf_token, offline=config.offline)
    threads = config.cpu_threads or cpu_count()
    pipeline = load_whisper(str(resolved.path), setup.parts.asr, setup.compute_type, threads)
    return pipeline.model, resolved.name, setup.parts.asr


def run_live_worker(audio: Connection, events: Connection, config: LiveWorkerConfig) -> None:
    """The worker process' main: load, then decode until the caller sends None (or goes away)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the recording's: it stops us with None
    from stt_studio.engine.cpu import configure_process_environment

    configure_process_environment()
    inbox = _Inbox(audio)  # before the load: the pipe is emptied from the start, the caller never blocks
    with contextlib.suppress(BrokenPipeError, EOFError, OSError):  # the caller is gone (killed): nobody to tell
        _load_and_decode(inbox, events, config)


def _load_and_decode(inbox: _Inbox, events: Connection, config: LiveWorkerConfig) -> None:
    try:
        model, name, device = load_live_model(config)
    except Exception as exc:
        events.send(("error", f"The live model could not be loaded: {str(exc).splitlines()[0] if str(exc) else exc}"))
        return
    events.send(("ready", {"model": name, "device": device}))
    transcriber = LiveTranscriber(model, config, beam_size=5 if device == "cuda" else 1)
    _decode_until_the_end(inbox, transcriber, events)


def _decode_until_the_end(inbox: _Inbox, transcriber: LiveTranscriber, events: Connection) -> None:
    step = int(STEP_SECONDS * SAMPLE_RATE)
    poll = int(POLL_SECONDS * SAMPLE_RATE)
    decoded_up_to = 0
    try:
        while True:
            inbox.wait(min(decoded_up_to + step, transcriber.received + poll), transcriber.received, timeout=1.0)
            transcriber.add(inbox.take())
            if inbox.ended:
                transcriber.add(inbox.take())
                _send(events, "final", transcriber.finish())
                break
            if transcriber.received - decoded_up_to < step and not _speech_just_ended(transcriber):
                continue
            decoded_up_to = transcriber.received
            final, provisional = transcriber.step()
            _send(events, "final", final)
            events.send(("partial", words_to_wire(provisional)))
    except (BrokenPipeError, EOFError):
        raise
    except Exception as exc:
        log.exception("Live transcription failed")
        events.send(("error", f"Live transcription failed: {exc}"))
    stats: dict[str, Any] = {"decodings": transcriber.decodings, "decode_seconds": transcriber.decode_seconds}
    events.send(("done", stats))


def _speech_just_ended(transcriber: LiveTranscriber) -> bool:
    """A pause after speech that no decoding has ended yet."""
    return transcriber.policy.is_new_endpoint(transcriber.speech_ended())


def _send(events: Connection, kind: str, words: Sequence[Word]) -> None:
    if words:
        events.send((kind, words_to_wire(words)))
