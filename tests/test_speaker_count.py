"""The local diarization's speaker-count decision on made-up embeddings whose distances are known: a voice heard
only briefly is kept when it is plainly another, a requested count splits where voices differ most, and a
doubtful count says why. ``test_diarization`` checks the same on real speech through the engine."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from stt_studio.engine.diarization.clustering import SpeakerCountEstimate, decide
from stt_studio.engine.diarization.local import CLUSTERING

DIMENSION = 192


def voice_at(rng: np.random.Generator, base: npt.NDArray[np.float64], distance: float) -> npt.NDArray[np.float64]:
    """A unit vector ``distance`` away from the unit vector ``base``."""
    other = rng.normal(size=DIMENSION)
    other -= other @ base * base
    other /= np.linalg.norm(other)
    angle = 2 * np.arcsin(distance / 2)
    return np.asarray(np.cos(angle) * base + np.sin(angle) * other)


def members(rng: np.random.Generator, voice: npt.NDArray[np.float64], count: int) -> npt.NDArray[np.float64]:
    """``count`` embeddings of one voice: about 0.3 from its centre, as CAM++ gives for one speaker's windows."""
    spread = rng.normal(size=(count, DIMENSION)) * 0.3 / np.sqrt(DIMENSION)
    rows = voice + spread
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def conversation(*groups: tuple[float, int], seed: int = 0) -> tuple[npt.NDArray[np.float64], list[int]]:
    """Embeddings of voices at the given distances from the first voice, with how many embeddings each."""
    rng = np.random.default_rng(seed)
    first = rng.normal(size=DIMENSION)
    first /= np.linalg.norm(first)
    rows, truth = [], []
    for index, (distance, count) in enumerate(groups):
        voice = first if distance == 0 else voice_at(rng, first, distance)
        rows.append(members(rng, voice, count))
        truth += [index] * count
    return np.vstack(rows), truth


def run(embeddings: npt.NDArray[np.float64], **asked: int) -> tuple[list[int], SpeakerCountEstimate]:
    threshold, smallest, method = CLUSTERING["threshold"], CLUSTERING["min_cluster_size"], CLUSTERING["method"]
    assert isinstance(threshold, float) and isinstance(smallest, int) and isinstance(method, str)
    labels, estimate = decide(embeddings.copy(), threshold=threshold, min_cluster_size=smallest, method=method, **asked)
    return [int(label) for label in labels], estimate


def same_grouping(labels: list[int], truth: list[int]) -> bool:
    return len(set(zip(labels, truth, strict=True))) == len(set(truth)) == len(set(labels))


def pyannote_clusters(embeddings: npt.NDArray[np.float64], **asked: int) -> int:
    """How many speakers pyannote's own agglomerative clustering (what the local backend used) finds."""
    from pyannote.audio.pipelines.clustering import AgglomerativeClustering

    clustering = AgglomerativeClustering(metric="cosine")
    clustering.instantiate(CLUSTERING)
    count = len(embeddings)
    found = clustering.cluster(
        embeddings.copy(),
        min_clusters=asked.get("num_clusters", 1),
        max_clusters=asked.get("num_clusters", count),
        num_clusters=asked.get("num_clusters"),
    )
    return len(set(found.tolist()))


BRIEF_VOICE = ((0.0, 24), (1.0, 2))
"""As measured on a 30 s espeak-ng conversation (a low male voice talking, a high female one replying briefly):
26 embeddings, 2 of them hers, the two voices 1.06 apart."""


def test_a_voice_heard_only_briefly_is_kept_when_plainly_another() -> None:
    embeddings, truth = conversation(*BRIEF_VOICE)
    assert pyannote_clusters(embeddings) == 1  # the old decision: her two embeddings folded into his voice
    labels, estimate = run(embeddings)
    assert same_grouping(labels, truth)
    assert (estimate.found, estimate.suggested, estimate.embeddings) == (2, 2, 26)
    assert estimate.doubts == ("1 of the voices is heard only briefly",)
    note = estimate.note()
    assert note is not None and note.startswith("Number of speakers uncertain: 1 of the voices is heard only briefly")
    assert '"Find speakers"' in note


def test_two_speakers_asked_for_are_the_two_voices_not_one_voice_halved() -> None:
    embeddings, truth = conversation(*BRIEF_VOICE)
    labels, estimate = run(embeddings, num_clusters=2, min_clusters=2, max_clusters=2)
    assert same_grouping(labels, truth)
    assert estimate.found == 2


def test_a_count_asked_for_splits_where_the_voices_differ_most_and_says_it_is_doubtful() -> None:
    embeddings, truth = conversation((0.0, 20), (1.0, 12), (1.2, 3))
    labels, estimate = run(embeddings, num_clusters=2, min_clusters=2, max_clusters=2)
    assert len(set(labels)) == 2
    assert estimate.suggested == 3 and "2 found as asked, but the voices alone suggest 3" in estimate.doubts
    labels, estimate = run(embeddings)
    assert same_grouping(labels, truth) and estimate.found == 3


def test_clearly_separate_voices_are_certain() -> None:
    embeddings, truth = conversation((0.0, 30), (1.0, 25), (1.1, 20))
    labels, estimate = run(embeddings)
    assert same_grouping(labels, truth)
    assert not estimate.uncertain and estimate.note() is None


def test_a_piece_of_one_voice_stays_with_it() -> None:
    embeddings, _ = conversation((0.0, 30), (0.45, 2))
    labels, estimate = run(embeddings)
    assert set(labels) == {0} and not estimate.uncertain


def test_a_small_group_between_near_and_far_is_joined_but_said_to_be_doubtful() -> None:
    embeddings, _ = conversation((0.0, 30), (0.75, 2))
    labels, estimate = run(embeddings)
    assert set(labels) == {0}
    assert estimate.doubts == ("a voice heard only briefly may belong to another speaker",)


def test_voices_that_sound_alike_are_said_to() -> None:
    embeddings, truth = conversation((0.0, 30), (0.72, 30))
    labels, estimate = run(embeddings)
    assert same_grouping(labels, truth) and "two of the voices sound alike" in estimate.doubts


@pytest.mark.parametrize(("asked", "doubtful"), [({}, True), ({"num_clusters": 1}, False)])
def test_too_little_speech(asked: dict[str, int], doubtful: bool) -> None:
    embeddings, _ = conversation((0.0, 1))
    labels, estimate = run(embeddings, **asked)
    assert labels == [0] and estimate.found == 1 and estimate.uncertain is doubtful
