"""The local backend's speaker-count decision: how many voices the speaker embeddings hold, which embedding is
whose, and whether that count is certain.

pyannote's agglomerative clustering treats a cluster with fewer than ``min_cluster_size`` embeddings as a
fragment and folds it into the nearest large cluster, however far away it is. In a short recording a speaker
with short turns has only a few embeddings (each needs 2 s of that voice alone in a 10 s window), so a voice as
plainly different as a high female one beside a low male one was folded away: one speaker. Asking for two did
not help: pyannote then searches for two *large* clusters and splits the larger voice in half instead.

Here a small cluster is a fragment only when it is near a larger voice; one at least ``DISTINCT_DISTANCE`` from
every larger voice is a voice of its own. A requested number of speakers is honoured by cutting the dendrogram
into that many groups, the most distant first. Whatever is close to a boundary is reported as uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

DISTINCT_DISTANCE = 0.8
"""Between centroids of unit-length CAM++ embeddings (the scale of the linkage and its 0.6 threshold). Measured on
espeak-ng dialogues: different voices 0.88-1.06 apart, pieces of one voice at most 0.61 (see the tests)."""

AMBIGUOUS_DISTANCE = 0.7
"""A fragment at least this far from the voice it is joined to may be another speaker: the count is uncertain."""

FEW_EMBEDDINGS = 6
"""Fewer embeddings than this are too little speech to tell voices apart with confidence."""


@dataclass(frozen=True)
class SpeakerCountEstimate:
    """What the clustering decided, and why it may be wrong."""

    found: int
    suggested: int
    """How many voices the embeddings hold by themselves (what "auto" finds)."""
    embeddings: int
    doubts: tuple[str, ...] = field(default=())

    @property
    def uncertain(self) -> bool:
        return bool(self.doubts)

    def note(self) -> str | None:
        """The transcript's line about it, or None when the count is not in doubt."""
        if not self.doubts:
            return None
        return (
            f"Number of speakers uncertain: {'; '.join(self.doubts)}. To find speakers again with a number, add the "
            'file again with "Find speakers" set to it.'
        )


def decide(
    embeddings: npt.NDArray[np.floating],
    *,
    threshold: float,
    min_cluster_size: int,
    method: str = "centroid",
    num_clusters: int | None = None,
    min_clusters: int = 1,
    max_clusters: int | None = None,
) -> tuple[npt.NDArray[np.int_], SpeakerCountEstimate]:
    """0-based labels of ``embeddings`` (one row each) and the estimate behind them."""
    from scipy.cluster.hierarchy import fcluster, linkage

    count = len(embeddings)
    if count < 2:
        return np.zeros(count, dtype=int), one_speaker(count, asked=num_clusters == 1)
    unit = embeddings / np.linalg.norm(embeddings, axis=-1, keepdims=True)
    tree = linkage(unit, method=method, metric="euclidean")
    at_threshold = fcluster(tree, threshold, criterion="distance") - 1
    # pyannote's own lowering of the minimum size when there are few embeddings
    smallest = min(min_cluster_size, max(1, round(0.1 * count)))
    voices, doubts = _voices(unit, at_threshold, smallest)
    suggested = int(voices.max()) + 1
    wanted = num_clusters or max(min_clusters, min(suggested, max_clusters or count))
    wanted = max(1, min(wanted, count))
    if wanted == suggested:
        labels = voices
    else:
        labels = _top_down(tree, count, wanted)
        doubts.append(f"{wanted} found as asked, but the voices alone suggest {suggested}")
    if count < FEW_EMBEDDINGS:
        doubts.insert(0, _few(count))
    return labels, SpeakerCountEstimate(wanted, suggested, count, tuple(doubts))


def evenly_spread(count: int, limit: int) -> npt.NDArray[np.int_]:
    """Indices of at most ``limit`` of ``count`` items in order, spread evenly from the first to the last."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def one_speaker(embeddings: int, *, asked: bool) -> SpeakerCountEstimate:
    """When there was nothing to cluster: one speaker asked for, or too little speech to find a second."""
    return SpeakerCountEstimate(1, 1, embeddings, () if asked or embeddings >= FEW_EMBEDDINGS else (_few(embeddings),))


def _few(count: int) -> str:
    return f"only {count} stretch{'es' if count != 1 else ''} of speech long enough to compare voices"


def _centroid(unit: npt.NDArray[np.floating], members: npt.NDArray[np.bool_]) -> npt.NDArray[np.floating]:
    return np.asarray(unit[members].mean(axis=0))


def _voices(
    unit: npt.NDArray[np.floating], clusters: npt.NDArray[np.int_], smallest: int
) -> tuple[npt.NDArray[np.int_], list[str]]:
    """The clusters at the threshold with fragments joined to the nearest voice, numbered 0..n-1 by size."""
    ids, sizes = np.unique(clusters, return_counts=True)
    order = np.argsort(-sizes, kind="stable")
    ids, sizes = ids[order], sizes[order]
    large = [k for k, n in zip(ids, sizes, strict=True) if n >= smallest] or [ids[0]]
    centroids = {k: _centroid(unit, clusters == k) for k in ids}
    doubts: list[str] = []
    owner = {k: k for k in large}
    briefly = 0
    for k in ids:
        if k in owner:
            continue
        distance, nearest = min((float(np.linalg.norm(centroids[k] - centroids[v])), v) for v in large)
        if distance >= DISTINCT_DISTANCE:
            owner[k] = k  # few embeddings, but plainly another voice
            briefly += 1
        else:
            owner[k] = nearest
            if distance >= AMBIGUOUS_DISTANCE:
                doubts.append("a voice heard only briefly may belong to another speaker")
    if briefly:
        doubts.append(f"{briefly} of the voices {'is' if briefly == 1 else 'are'} heard only briefly")
    kept = sorted({owner[k] for k in ids}, key=lambda k: -int(np.sum(clusters == k)))
    kept_centroids = [_centroid(unit, np.isin(clusters, [c for c in ids if owner[c] == k])) for k in kept]
    closest = min(
        (float(np.linalg.norm(a - b)) for i, a in enumerate(kept_centroids) for b in kept_centroids[i + 1 :]),
        default=None,
    )
    if closest is not None and closest < DISTINCT_DISTANCE:
        doubts.append("two of the voices sound alike")
    number = {k: i for i, k in enumerate(kept)}
    return np.array([number[owner[k]] for k in clusters], dtype=int), list(dict.fromkeys(doubts))


def _top_down(tree: npt.NDArray[np.floating], count: int, wanted: int) -> npt.NDArray[np.int_]:
    """Exactly ``wanted`` groups: the dendrogram without its last ``wanted - 1`` merges (the most distant ones)."""
    from scipy.cluster.hierarchy import fcluster

    in_order = np.copy(tree)
    in_order[:, 2] = np.arange(count - 1)  # heights made monotonic: a centroid linkage may have inversions
    labels = fcluster(in_order, count - wanted - 1, criterion="distance") - 1
    _, renumbered = np.unique(labels, return_inverse=True)
    return np.asarray(renumbered, dtype=int)
