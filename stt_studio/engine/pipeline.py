"""The transcription engine: load a model once, transcribe many files.

Stages: decode (PyAV) → VAD (WhisperX pyannote or Silero) merged into ≤ 30 s chunks (WhisperX's merge) →
batched faster-whisper decoding of those chunks → word times from WhisperX's wav2vec2 alignment when its
model can be loaded, else from Whisper's own cross-attention timestamps computed in the same batched pass →
optional diarization (``PyannoteDiarizer``, hub or local backend).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stt_studio.engine import stage_data
from stt_studio.engine.audio import SAMPLE_RATE, DecodedAudio, decode_audio
from stt_studio.engine.coverage import merged, uncovered_speech
from stt_studio.engine.cpu import configure_process_environment, cpu_count, limit_torch_threads
from stt_studio.engine.device import DeviceFacts, probe_device_facts
from stt_studio.engine.diarization import FoundSpeakers, PyannoteDiarizer
from stt_studio.engine.download_progress import DownloadCallback, DownloadProgress
from stt_studio.engine.engine_setup import plan_engine
from stt_studio.engine.errors import ModelLoadError
from stt_studio.engine.kernel_cache import (
    cache_has_kernels,
    configure_kernel_cache,
    first_load_notice,
    kernel_cache_dir,
)
from stt_studio.engine.model_catalog import model_status
from stt_studio.engine.models import ResolvedModel, resolve_model
from stt_studio.engine.options import TranscribeOptions, check_language, check_prompt, check_speaker_range
from stt_studio.engine.progress import CancelCheck, ProgressCallback, ProgressTracker, Stage
from stt_studio.engine.result import Segment, TranscriptionResult
from stt_studio.engine.speaker_identity import identify_speakers
from stt_studio.engine.stage_data import AsrPiece, BatchKeeping
from stt_studio.engine.stages import (
    CheckpointStore,
    StageClock,
    StageName,
    StageOutputs,
    file_sha256,
    fingerprint,
)
from stt_studio.engine.translation import check_task
from stt_studio.engine.vad import SpeechChunk, SpeechDetector, load_detector
from stt_studio.engine.words import RawWord, build_segments
from stt_studio.settings import DeviceName, Settings, VadMethod
from stt_studio.voices.library import VoiceLibrary
from stt_studio.voices.prints import VOICE_PRINTS_KEY, job_voice_prints

if TYPE_CHECKING:
    from faster_whisper import BatchedInferencePipeline

log = logging.getLogger(__name__)

SegmentsCallback = Callable[[list[Segment], float], None]
"""Told each batch of new segments as the transcription decodes it, and the audio time it has got up to."""
AlignedCallback = Callable[[list[Segment], float], None]
"""Told the aligned segments (words and word times, no speakers yet) as the alignment stage ends, and the audio's
length (all of it is transcribed)."""


@dataclass
class _LoadedModel:
    resolved: ResolvedModel
    pipeline: BatchedInferencePipeline
    multilingual: bool
    aligners: dict[str, tuple[Any, dict[str, Any]] | None] = field(default_factory=dict)


_GPU_LOADS_IN_THIS_PROCESS: set[int] = set()
"""The GPUs (this worker's index) a Whisper model was loaded on in this process: their kernels are ready."""


def cuda_available() -> bool:
    """CTranslate2 sees a CUDA GPU (the transcription's own device)."""
    return probe_device_facts(with_torch=False).ctranslate2_cuda_devices > 0


class Engine:
    """Holds the ASR model (and VAD, alignment, diarization models) between runs; runs are serialized by a lock."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        device: DeviceName | None = None,
        vad: VadMethod | None = None,
        facts: DeviceFacts | None = None,
    ) -> None:
        """``facts``: the devices as probed (``probe_device_facts``); given by tests to stand for a card."""
        configure_process_environment()
        configure_kernel_cache(settings.resolved_cuda_cache_dir)
        self.settings = settings
        self.model_spec = model or settings.whisper_model_size
        self.requested_device: DeviceName = device or settings.whisper_device
        self._vad_asked = vad
        setup = plan_engine(
            facts or probe_device_facts(cuda=self.requested_device == "cuda"),
            self.requested_device,
            self.model_spec,
            settings,
            diarize=True,
            vad=vad,
        )
        self.setup = setup
        self.parts = setup.parts
        self.device: DeviceName = setup.parts.asr  # type: ignore[assignment]
        self.compute_type = setup.compute_type
        self.batch_size = setup.batch_size
        self.cpu_threads = settings.cpu_threads or cpu_count()
        self.vad_method: VadMethod = setup.vad_method
        for notice in dict.fromkeys([setup.parts.notice, *setup.notices]):  # the no-GPU notice is logged only
            if notice:
                log.warning("%s", notice)
        self._diarizer = PyannoteDiarizer(settings, self.parts.diarize)
        self._model: _LoadedModel | None = None
        self._load_notices: list[str] = []
        self._detector: SpeechDetector | None = None
        self._lock = threading.Lock()
        self.download_listener: DownloadCallback | None = None
        """Also told of the model's download, if one is needed (the worker publishes it: ``GET /models``)."""

    def for_model(self, model: str) -> Engine:
        """An engine for another Whisper model on the same device that shares this one's VAD and diarization
        models: a per-job model costs its Whisper weights only, not a second stack."""
        other = Engine(self.settings, model=model, device=self.device, vad=self.vad_method)
        other.requested_device = self.requested_device
        other._diarizer = self._diarizer
        other._detector = self._detector
        other.download_listener = self.download_listener
        return other

    def unload(self) -> None:
        """Drop the Whisper model (and its aligners); the next run loads it again."""
        with self._lock:
            self._model = None

    # --- loading -----------------------------------------------------------------------------------------------
    @property
    def loaded_model(self) -> ResolvedModel | None:
        """The model loaded (None before the first load): a stand-in when ``model_spec`` could not be had."""
        return self._model.resolved if self._model is not None else None

    def load(self) -> ResolvedModel:
        """Load the ASR and VAD models now (otherwise the first run does)."""
        with self._lock:
            return self._ensure_loaded().resolved

    def needs_download(self) -> bool:
        """The model is not loaded and must come from the hub first: not on this machine, and not offline."""
        if self._model is not None or self.settings.offline:
            return False
        status = model_status(self.model_spec, self.settings.resolved_models_dir)
        return status.repo_id is not None and not status.available

    def _ensure_loaded(self, tracker: ProgressTracker | None = None) -> _LoadedModel:
        if self._model is None:
            downloading = tracker is not None and Stage.DOWNLOADING_MODEL in tracker.stages

            def tell(progress: DownloadProgress) -> None:
                if downloading and tracker is not None:
                    tracker.report_download(progress)
                if self.download_listener is not None:
                    self.download_listener(progress)

            resolved = resolve_model(
                self.model_spec,
                self.settings.resolved_models_dir,
                hf_token=self.settings.hf_token,
                offline=self.settings.offline,
                on_download=tell,
            )
            if downloading and tracker is not None:
                tracker.report(Stage.LOADING_MODEL)
            pipeline = self._load_whisper(resolved)
            if self.parts.torch == "cpu":
                limit_torch_threads(self.cpu_threads)
            self._model = _LoadedModel(resolved, pipeline, pipeline.model.model.is_multilingual)
        if self._detector is None:
            self._detector = load_detector(self.vad_method, self.parts.vad)
        return self._model

    def _load_whisper(self, resolved: ResolvedModel) -> BatchedInferencePipeline:
        """On the GPU, a load that fails (a driver too old for the kernels, a broken CUDA install) is not retried
        there: everything moves to the CPU with one notice, instead of a worker that fails at every start."""
        from stt_studio.engine.whisper_loader import load_whisper

        log.info("Loading Whisper model %s on %s (%s)", resolved.name, self.device, self.compute_type)
        if self.device == "cuda":
            self._say_if_kernels_are_prepared()
        try:
            pipeline = load_whisper(str(resolved.path), self.device, self.compute_type, self.cpu_threads)
            if self.device == "cuda":
                _GPU_LOADS_IN_THIS_PROCESS.add(self.settings.worker_gpu or 0)
            return pipeline
        except Exception as exc:
            if self.device != "cuda":
                raise ModelLoadError(f"Could not load the Whisper model '{resolved.name}': {exc}") from exc
            gpu_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        self._fall_back_to_cpu(f"Could not load {resolved.name} on the GPU ({gpu_error}): running on the CPU")
        try:
            return load_whisper(str(resolved.path), self.device, self.compute_type, self.cpu_threads)
        except Exception as exc:
            raise ModelLoadError(f"Could not load the Whisper model '{resolved.name}': {exc}") from exc

    def _say_if_kernels_are_prepared(self) -> None:
        """The first load on a card whose kernels the driver compiles, with an empty cache, takes minutes: said in
        the log now, and once to the window (the next job's warnings, the worker's report until then)."""
        notice = first_load_notice(
            compiles_at_first_use=self.setup.first_run_notice is not None,
            cache_has_kernels=cache_has_kernels(kernel_cache_dir()),
            loaded_before=(self.settings.worker_gpu or 0) in _GPU_LOADS_IN_THIS_PROCESS,
        )
        if notice is not None:
            log.warning("%s", notice)
            self._load_notices.append(notice)

    def take_load_notices(self) -> list[str]:
        """What the loads since the last job said once (the first run's kernel compile), for this job's warnings."""
        notices, self._load_notices = self._load_notices, []
        return notices

    def _fall_back_to_cpu(self, notice: str) -> None:
        log.error("%s", notice)
        cpu = probe_device_facts(cuda=False)
        self.setup = plan_engine(cpu, "cpu", self.model_spec, self.settings, diarize=True, vad=self._vad_asked)
        self.setup.notices.insert(0, notice)
        self.parts, self.device = self.setup.parts, "cpu"
        self.compute_type, self.batch_size = self.setup.compute_type, self.setup.batch_size
        self.vad_method = self.setup.vad_method
        self._diarizer = PyannoteDiarizer(self.settings, "cpu")

    @property
    def notices(self) -> list[str]:
        """What each job's result carries about the devices: a part on the CPU, a compute type refused, memory; and
        until a job has taken it, what the last load said once (the worker's report shows it meanwhile)."""
        return [*self.setup.notices, *self._load_notices]

    def _aligner(self, model: _LoadedModel, language: str) -> tuple[Any, dict[str, Any]] | None:
        """WhisperX's wav2vec2 alignment model for ``language``, or None when it can't be had (offline, or no
        model for the language). Tried once per language per process."""
        if language not in model.aligners:
            if self.settings.offline and self.settings.align_model is None:
                model.aligners[language] = None
            else:
                try:
                    import whisperx

                    model.aligners[language] = whisperx.load_align_model(
                        language,
                        self.parts.align,
                        model_name=self.settings.align_model,
                        model_dir=str(self.settings.resolved_models_dir / "align"),
                    )
                except Exception as exc:
                    log.warning(
                        "No word-alignment model for '%s' (%s); using Whisper's own word timestamps",
                        language,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    )
                    model.aligners[language] = None
        return model.aligners[language]

    # --- running -----------------------------------------------------------------------------------------------
    def transcribe(
        self,
        path: str | Path,
        options: TranscribeOptions | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        stage_weights: Mapping[Stage, float] | None = None,
        checkpoints: CheckpointStore | None = None,
        clock: StageClock | None = None,
        audio_sha256: str | None = None,
        on_segments: SegmentsCallback | None = None,
        on_aligned: AlignedCallback | None = None,
    ) -> TranscriptionResult:
        """``stage_weights``: each stage's expected share of the time (this machine's measured pace), which
        ``on_progress``'s overall percentage follows. ``checkpoints``: where each stage's output is kept as it is
        produced, and read back instead of running the stage when its fingerprint matches (a job run again after
        its worker died). ``clock``: times the stages (the job's ``stages``). ``audio_sha256``: the hash of the file
        the audio came from when ``path`` is a kept copy of its decoded samples (finding speakers again in an upload
        that was deleted): the fingerprints then stay those of the first run, whose checkpoints are read back.
        ``on_segments``: the transcript as it is made, a batch at a time (a batch read back from a checkpoint too);
        ``on_aligned``: then its aligned segments, which replace those batches (read back from a checkpoint too)."""
        options = options or TranscribeOptions()
        self.validate(options)
        stages = [Stage.DECODING, Stage.LOADING_MODEL, Stage.VAD, Stage.TRANSCRIBING, Stage.ALIGNING]
        if self.needs_download():
            stages.insert(1, Stage.DOWNLOADING_MODEL)
        if options.diarization is not None:
            stages.append(Stage.DIARIZING)
        tracker = ProgressTracker(stages, on_progress, should_cancel, stage_weights)
        with self._lock:
            return self._run(
                Path(path), options, tracker, StageOutputs(checkpoints), clock or StageClock(), audio_sha256,
                on_segments,
                on_aligned,
            )

    def validate(self, options: TranscribeOptions) -> None:
        """Raise InvalidOptionError for options no run could honour (checked before any work)."""
        check_language(options.language)
        check_prompt(options.prompt)
        check_task(options.task, self.model_spec)
        if options.diarization is not None:
            check_speaker_range(options.diarization.min_speakers, options.diarization.max_speakers)

    def _run(
        self,
        path: Path,
        options: TranscribeOptions,
        tracker: ProgressTracker,
        kept: StageOutputs,
        clock: StageClock,
        audio_sha256: str | None,
        on_segments: SegmentsCallback | None,
        on_aligned: AlignedCallback | None,
    ) -> TranscriptionResult:
        started = time.perf_counter()
        with clock.stage(StageName.DECODING):
            tracker.report(Stage.DECODING)
            audio = decode_audio(path, self.settings.max_audio_seconds)
            audio_fp = fingerprint(
                StageName.DECODING,
                {
                    "audio_sha256": (audio_sha256 or file_sha256(path)) if kept.store is not None else None,
                    "max_audio_seconds": self.settings.max_audio_seconds,
                },
                {},
            )
        tracker.audio_seconds = audio.duration
        needs_diarizer = options.diarization is not None and not self._diarizer.loaded
        if Stage.DOWNLOADING_MODEL in tracker.stages:
            tracker.report(Stage.DOWNLOADING_MODEL)  # then loading_model, once downloaded (_ensure_loaded)
        elif self._model is None or self._detector is None or needs_diarizer:
            tracker.report(Stage.LOADING_MODEL)  # only when something loads: a job never shows it for nothing
        model = self._ensure_loaded(tracker)
        check_task(options.task, model.resolved.name, multilingual=model.multilingual)  # a stand-in, or a folder
        if options.diarization is not None:
            self._diarizer.load()  # here, not under "Finding speakers": a first load takes a while
        detector = self._detector
        assert detector is not None
        warnings = [*model.resolved.warnings, *self.setup.notices, *self.take_load_notices()]

        vad_fp = fingerprint(StageName.VAD, {"vad_method": self.vad_method}, {StageName.DECODING: audio_fp})
        with clock.stage(StageName.VAD) as run:
            tracker.report(Stage.VAD)
            chunks = kept.value(
                run,
                StageName.VAD.value,
                vad_fp,
                lambda: detector.chunks(audio.samples, lambda f: tracker.report(Stage.VAD, f)),
                stage_data.chunks_to_json,
                stage_data.chunks_from_json,
            )

        language = options.language
        if language is not None and not model.multilingual and language != "en":
            warnings.append(f"The model '{model.resolved.name}' is English-only; transcribed as English")
            language = "en"
        identity = {"model": model.resolved.name, "compute_type": self.compute_type}
        language_fp = fingerprint(StageName.LANGUAGE, {**identity, "requested": language}, {StageName.VAD: vad_fp})
        if language is None:
            with clock.stage(StageName.LANGUAGE) as run:
                language = kept.value(
                    run,
                    StageName.LANGUAGE.value,
                    language_fp,
                    lambda: self._detect_language(model, audio, chunks),
                    lambda code: code,
                    stage_data.language_from_json,
                )

        # A translation's English words against speech in another language: wav2vec2 aligns characters to the sounds
        # that spell them, so Whisper's own word times (cross-attention, language-independent) are the ones to use.
        aligner = self._aligner(model, language) if chunks and options.task == "transcribe" else None
        word_source = f"wav2vec2:{self.settings.align_model or 'default'}" if aligner is not None else "whisper"
        transcribing_fp = fingerprint(
            StageName.TRANSCRIBING,
            {
                **identity,
                "task": options.task,
                "language": language,
                "prompt": options.prompt or None,
                "batch_size": options.batch_size or self.batch_size,  # batches are kept by their number
                "word_source": word_source,
            },
            {StageName.LANGUAGE: language_fp},
        )
        aligning_fp = fingerprint(
            StageName.ALIGNING, {"word_source": word_source}, {StageName.TRANSCRIBING: transcribing_fp}
        )
        aligned = kept.load(StageName.ALIGNING.value, aligning_fp, stage_data.segments_from_json)

        with clock.stage(StageName.TRANSCRIBING) as run:
            tracker.report(Stage.TRANSCRIBING)
            pieces: list[AsrPiece] = []
            if aligned is not None:
                run.reused = True  # the aligned words hold the transcription already
            else:
                batches = BatchKeeping(kept, transcribing_fp)
                told = _BatchTeller(on_segments, audio.duration) if on_segments is not None else None
                pieces = self._decode_chunks(
                    model, audio, chunks, language, options, aligner is None, tracker, batches, told
                )
                run.chunks, run.reused_chunks = batches.total, batches.reused
                run.reused = batches.total > 0 and batches.reused == batches.total

        with clock.stage(StageName.ALIGNING) as run:
            if aligned is not None:
                run.reused = True
                tracker.report(Stage.ALIGNING, 1.0)
                segments = aligned
            else:
                segments = self._align(pieces, audio, aligner, tracker)
                if options.prompt and (skipped := uncovered_speech(chunks, segments)):
                    # decoded again without the prompt: the words it gave are kept, the speech it dropped comes back
                    again = replace(options, prompt=None)
                    quiet = tracker.quiet()
                    recovered = self._align(
                        self._decode_chunks(model, audio, skipped, language, again, aligner is None, quiet, None),
                        audio,
                        aligner,
                        quiet,
                    )
                    combined = merged(segments, recovered)
                    if len(combined) > len(segments):  # not only what the first pass had said already
                        seconds = sum(end - start for chunk in skipped for start, end in chunk.speech)
                        warnings.append(
                            f"With the prompt, Whisper skipped {seconds:.1f} s of speech: transcribed without it"
                        )
                    segments = combined
                kept.save(StageName.ALIGNING.value, aligning_fp, stage_data.segments_to_json(segments))
        if on_aligned is not None:
            on_aligned(segments, round(audio.duration, 3))

        speakers, turns, speaker_count_note = None, None, None
        if options.diarization is not None:
            diarization = options.diarization
            diarizing_fp = fingerprint(
                StageName.DIARIZING,
                {
                    "backend": self._diarizer.backend,
                    "model": self.settings.diarization_model if self._diarizer.backend == "hub" else "local",
                    # The hub's speakers carry the library model's prints since they are embedded again: a checkpoint
                    # from before holds the hub's own vectors (the local backend's identity is unchanged).
                    **({"prints": "library-model"} if self._diarizer.backend == "hub" else {}),
                    "num_speakers": diarization.num_speakers,
                    "min_speakers": diarization.min_speakers,
                    "max_speakers": diarization.max_speakers,
                },
                {StageName.DECODING: audio_fp},
            )
            with clock.stage(StageName.DIARIZING) as run:
                tracker.report(Stage.DIARIZING)
                found = kept.value(
                    run,
                    StageName.DIARIZING.value,
                    diarizing_fp,
                    lambda: self._diarizer.find_turns(
                        audio.samples,
                        diarization,
                        lambda f, piece_end: tracker.report(Stage.DIARIZING, f, piece_end),
                    ),
                    FoundSpeakers.to_json,
                    FoundSpeakers.from_json,
                )
                segments, speakers = found.assign(segments)
                turns, speaker_count_note = found.turns, found.note
                prints = job_voice_prints(
                    self._diarizer.embedding_model(), found.embeddings, found.exclusive_turns or found.raw_turns
                )
                if prints is not None:
                    kept.save(VOICE_PRINTS_KEY, prints.model, prints.to_json())
                if prints is not None and options.identify_speakers:
                    library = VoiceLibrary.in_data_dir(self.settings.data_dir)
                    speakers, identity_notes = identify_speakers(
                        speakers, prints, library, name_automatically=options.name_speakers_automatically
                    )
                    warnings += identity_notes
        tracker.finish()
        return TranscriptionResult(
            text=" ".join(s.text for s in segments),
            language=language,
            task=options.task,
            duration=round(audio.duration, 3),
            segments=segments,
            processing_time=round(time.perf_counter() - started, 3),
            model=model.resolved.name,
            device=self.device,
            compute_type=self.compute_type,
            word_timestamps="wav2vec2" if aligner is not None else "whisper",
            speakers=speakers,
            speaker_turns=turns,
            speaker_count_note=speaker_count_note,
            warnings=warnings,
            stage_seconds=clock.stage_seconds(),
        )

    def _detect_language(self, model: _LoadedModel, audio: DecodedAudio, chunks: Sequence[SpeechChunk]) -> str:
        if not model.multilingual:
            return "en"
        if not chunks:
            return "unknown"  # silence: nothing to detect from
        # Detect on speech only: leading silence or music would otherwise decide the language.
        speech = np.concatenate([audio.samples[int(c.start * SAMPLE_RATE) : int(c.end * SAMPLE_RATE)] for c in chunks])
        language, probability, _ = model.pipeline.model.detect_language(speech[: 30 * SAMPLE_RATE])
        log.info("Detected language %s (p=%.2f)", language, probability)
        return str(language)

    def _decode_chunks(
        self,
        model: _LoadedModel,
        audio: DecodedAudio,
        chunks: Sequence[SpeechChunk],
        language: str,
        options: TranscribeOptions,
        whisper_words: bool,
        tracker: ProgressTracker,
        batches_kept: BatchKeeping | None,
        told: _BatchTeller | None = None,
    ) -> list[AsrPiece]:
        """Whisper's segments for ``chunks``, a batch at a time; with ``batches_kept``, a batch already decoded
        in an earlier attempt is read back instead."""
        pieces: list[AsrPiece] = []
        batch_size = options.batch_size or self.batch_size
        batches = [chunks[i : i + batch_size] for i in range(0, len(chunks), batch_size)]
        for index, (done, batch, reached) in enumerate(_batch_progress(batches)):
            # one batch per call: faster-whisper decodes a whole batch before yielding any of its segments, so
            # the stage is reported between batches, with where the batch in hand will take it
            tracker.report(Stage.TRANSCRIBING, done, piece_end=reached)
            clips = [(c.start, c.end) for c in batch]
            last = index == len(batches) - 1
            if batches_kept is not None and (stored := batches_kept.load(index, clips)) is not None:
                pieces.extend(stored)
                if told is not None:
                    told(stored, clips[-1][1], last=last)
                continue
            raw_segments, _info = model.pipeline.transcribe(
                audio.samples,
                language=language,
                task=options.task,
                batch_size=batch_size,
                clip_timestamps=[{"start": start, "end": end} for start, end in clips],
                vad_filter=False,
                word_timestamps=whisper_words,
                initial_prompt=options.prompt or None,
            )
            decoded = [
                AsrPiece(
                    s.start, s.end, s.text, [RawWord(w.word, w.start, w.end, w.probability) for w in s.words or []]
                )
                for s in raw_segments
            ]
            if batches_kept is not None:
                batches_kept.save(index, clips, decoded)
            pieces.extend(decoded)
            if told is not None:
                told(decoded, clips[-1][1], last=last)
        tracker.report(Stage.TRANSCRIBING, 1.0)
        return pieces

    def _align(
        self,
        pieces: list[AsrPiece],
        audio: DecodedAudio,
        aligner: tuple[Any, dict[str, Any]] | None,
        tracker: ProgressTracker,
    ) -> list[Segment]:
        if not pieces:
            return []
        if aligner is None:
            tracker.report(Stage.ALIGNING, 1.0)
            return build_segments([(p.start, p.end, p.words) for p in pieces], audio.duration, split_sentences=True)

        import whisperx

        tracker.report(Stage.ALIGNING)
        align_model, metadata = aligner
        aligned = whisperx.align(
            [{"text": p.text, "start": p.start, "end": p.end} for p in pieces],
            align_model,
            metadata,
            audio.samples,
            self.parts.align,
            progress_callback=lambda percent: tracker.report(Stage.ALIGNING, percent / 100.0),
        )
        words = [
            (
                float(s["start"]),
                float(s["end"]),
                [
                    RawWord(" " + w["word"], w.get("start"), w.get("end"), float(w.get("score", 0.0)))
                    for w in s["words"]
                ],
            )
            for s in aligned["segments"]
        ]
        return build_segments(words, audio.duration, split_sentences=False)


class _BatchTeller:
    """Numbers each batch's segments on from the last and tells ``on_segments``; the last batch covers the audio to
    its end."""

    def __init__(self, on_segments: SegmentsCallback, duration: float) -> None:
        self._on_segments = on_segments
        self._duration = duration
        self._count = 0

    def __call__(self, pieces: list[AsrPiece], batch_end: float, *, last: bool) -> None:
        segments = stage_data.partial_segments(pieces, self._count)
        self._count += len(segments)
        self._on_segments(segments, round(self._duration if last else batch_end, 3))


def _batch_progress(batches: Sequence[Sequence[SpeechChunk]]) -> list[tuple[float, Sequence[SpeechChunk], float]]:
    """Each batch with the share of the speech decoded before it and once it is done (by seconds of speech)."""
    seconds = [sum(c.end - c.start for c in batch) for batch in batches]
    total = sum(seconds) or 1.0
    out = []
    done = 0.0
    for batch, length in zip(batches, seconds, strict=True):
        out.append((done / total, batch, (done + length) / total))
        done += length
    return out
