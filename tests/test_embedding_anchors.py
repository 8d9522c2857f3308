"""Embedding only every n-th segmentation window (anchors.py): the plan on made-up segmentations whose speakers
are known, then the real pipeline on pyannote's real two-speaker sample: the planned embeddings equal pyannote's
own where nothing is borrowed, a borrowed embedding is close to the one it stands for, and the default keeps DER
within issue 21's bound (today's 0.052 + 0.01)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from stt_studio.engine.diarization.anchors import anchor_windows, plan_embeddings

SAMPLE_DIR = Path(__import__("pyannote.audio").audio.__file__).parent / "sample"
TODAY_DER = 0.052
"""DER (collar 0) of every window embedded, on pyannote's sample (README, benchmarks.diarization)."""
DER_BOUND = TODAY_DER + 0.01


def segmentation(turns: list[tuple[float, float, int]], windows: int, permutations: list[list[int]]) -> Any:
    """Binarized activity (windows, 100 frames, 3 local speakers) of 10 s windows 1 s apart (10 frames a
    second), speaker ``s`` of the audio appearing as local speaker ``permutations[w][s]`` in window ``w``."""
    activity = np.zeros((windows, 100, 3), dtype=np.float32)
    for w in range(windows):
        for start, end, speaker in turns:
            first, last = max(0, round((start - w) * 10)), min(100, round((end - w) * 10))
            if first < last:
                activity[w, first:last, permutations[w][speaker]] = 1.0
    return activity


def test_every_nth_window_and_the_last_are_anchors() -> None:
    assert anchor_windows(7, 3).tolist() == [True, False, False, True, False, False, True]
    assert anchor_windows(8, 3).tolist() == [True, False, False, True, False, False, True, True]
    assert anchor_windows(4, 1).all()


def test_a_window_borrows_the_same_voice_from_its_anchor_whatever_its_local_numbering() -> None:
    rng = np.random.default_rng(0)
    permutations = [rng.permutation(3).tolist() for _ in range(9)]
    activity = segmentation([(0, 6, 0), (6, 14, 1), (14, 20, 0)], 9, permutations)
    plan = plan_embeddings(activity, 10.0, 3)
    assert plan.embed[[0, 3, 6, 8]].sum() == (activity[[0, 3, 6, 8]].sum(axis=1) > 0).sum()
    in_between = [
        (w, permutations[w][v]) for w in (1, 2, 4, 5, 7) for v in (0, 1) if activity[w, :, permutations[w][v]].any()
    ]
    borrowed = [(w, local) for w, local in in_between if not plan.embed[w, local]]
    assert len(borrowed) >= 0.8 * len(in_between)  # long turns: nearly every pair matches its anchor clearly
    for w in range(9):
        for voice in (0, 1):
            local = permutations[w][voice]
            if (w, local) not in borrowed:
                continue
            anchor, partner = plan.borrow_from[w, local]
            assert anchor in (0, 3, 6, 8) and abs(anchor - w) <= 1
            assert partner == permutations[anchor][voice]  # the same voice, not the same local number


def test_a_voice_its_anchor_does_not_hear_is_embedded_itself() -> None:
    # Voice 1 speaks only at 10.5-11 s: window 1 (1-11 s) hears it, its anchor window 0 (0-10 s) does not.
    activity = segmentation([(0, 10.5, 0), (10.5, 11, 1)], 3, [[0, 1, 2]] * 3)
    plan = plan_embeddings(activity, 10.0, 3)
    assert plan.embed[1, 1] and plan.borrow_from[1, 1].tolist() == [-1, -1]
    assert not plan.embed[1, 0] and plan.borrow_from[1, 0].tolist() == [0, 0]


def test_stride_one_embeds_every_active_pair_and_borrows_nothing() -> None:
    activity = segmentation([(0, 5, 0), (5, 12, 1)], 4, [[0, 1, 2]] * 4)
    plan = plan_embeddings(activity, 10.0, 1)
    assert (plan.embed == (activity.sum(axis=1) > 0)).all() and (plan.borrow_from == -1).all()


@pytest.fixture(scope="module")
def sample_segmentation() -> tuple[Any, Any, Any]:
    """The local pipeline, pyannote's sample as its input, and the sample's binarized segmentation."""
    from pyannote.audio.utils.signal import binarize

    from stt_studio.engine.audio import SAMPLE_RATE, decode_audio
    from stt_studio.engine.diarization.local import LocalTuning, build_local_pipeline

    pipeline = build_local_pipeline("cpu", LocalTuning(embedding_stride=1))
    samples = decode_audio(SAMPLE_DIR / "sample.wav").samples
    import torch

    file = {"waveform": torch.from_numpy(samples).unsqueeze(0), "sample_rate": SAMPLE_RATE, "uri": "sample"}
    segmentations = pipeline.get_segmentations(file)
    binarized = segmentations
    if not pipeline._segmentation.model.specifications.powerset:
        binarized = binarize(segmentations, onset=pipeline.segmentation.threshold, initial_state=False)
    return pipeline, file, binarized


def unit(rows: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    return np.asarray(rows / np.linalg.norm(rows, axis=-1, keepdims=True))


def test_planned_embeddings_equal_pyannotes_own_where_nothing_is_borrowed(sample_segmentation: Any) -> None:
    from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization

    from stt_studio.engine.diarization.local import DEFAULT_TUNING, embed_planned

    pipeline, file, binarized = sample_segmentation
    theirs = SpeakerDiarization.get_embeddings(pipeline, file, binarized, exclude_overlap=True)
    ours, plan = embed_planned(pipeline, file, binarized, True, None, stride=1)
    assert plan.embedded > 20
    assert np.array_equal(np.isnan(theirs), np.isnan(ours))
    both = ~np.isnan(theirs[..., 0])
    np.testing.assert_allclose(ours[both], theirs[both], atol=1e-4)
    stride = DEFAULT_TUNING.embedding_stride
    strided, planned = embed_planned(pipeline, file, binarized, True, None, stride=stride)
    print(f"embedded: {plan.embedded} pairs with every window, {planned.embedded} with stride {stride}")
    assert planned.embedded < plan.embedded * 0.6
    own = planned.embed & both
    np.testing.assert_allclose(strided[own], theirs[own], atol=1e-4)  # an anchor's own embedding is unchanged
    borrowed = (planned.borrow_from[..., 0] >= 0) & both & ~np.isnan(strided[..., 0])
    assert borrowed.sum() > 10
    similarity = np.sum(unit(strided[borrowed]) * unit(theirs[borrowed]), axis=-1)
    print(f"cosine similarity of a borrowed embedding with the window's own: min {similarity.min():.3f}, "
          f"median {np.median(similarity):.3f}")  # fmt: skip
    assert np.median(similarity) > 0.9 and similarity.min() > 0.6


def test_the_default_stays_within_the_der_bound_on_real_speech(sample_segmentation: Any) -> None:
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    from stt_studio.engine.diarization.local import DEFAULT_TUNING, build_local_pipeline
    from stt_studio.settings import Settings

    assert DEFAULT_TUNING.embedding_stride == Settings().diarization_embedding_stride > 1
    _, file, _ = sample_segmentation
    output = build_local_pipeline("cpu", DEFAULT_TUNING)(file)
    hypothesis = output.speaker_diarization
    reference = next(iter(load_rttm(str(SAMPLE_DIR / "sample.rttm")).values()))
    der = DiarizationErrorRate(collar=0.0)(reference, hypothesis)
    print(f"DER on pyannote's sample with the default (embedding stride {DEFAULT_TUNING.embedding_stride}): {der:.3f}")
    assert len(hypothesis.labels()) == 2
    assert der <= DER_BOUND
