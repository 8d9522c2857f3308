"""Which (window, local speaker) pairs of pyannote's segmentation need a speaker embedding of their own.

pyannote embeds every active local speaker of every 10 s segmentation window; at a step of 1 s each second of
speech is embedded ten times over, and on a CPU those CAM++ forward passes are most of diarization's cost. Here
only every ``stride``-th window (an *anchor*) is embedded in full. A local speaker of a window in between takes
the embedding of the speaker it is in an anchor next to it: the two windows overlap by all but a second or two,
so the segmentation's own activity in the shared frames tells which of the anchor's (arbitrarily numbered) local
speakers is the same voice. Where that match is not clear (a speaker the anchor hardly hears), the pair is
embedded itself. The segmentation keeps its fine step, so turn boundaries stay as precise as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

MIN_SHARED_ACTIVITY = 0.7
"""A window's speaker takes an anchor speaker's embedding only when at least this share of its active frames is
active for that anchor speaker too. Measured on pyannote's sample: 0.5 let through pairs whose own embedding
went to the other speaker (DER 0.052 -> 0.067); from 0.7 on, DER is that of embedding every window."""


@dataclass(frozen=True)
class EmbeddingPlan:
    """For each (window, local speaker): embed it, borrow another pair's embedding, or neither (inactive)."""

    embed: npt.NDArray[np.bool_]
    """(windows, speakers): pairs whose embedding is computed."""
    borrow_from: npt.NDArray[np.int_]
    """(windows, speakers, 2): the (window, speaker) whose embedding a pair takes; -1 where it takes none."""

    @property
    def embedded(self) -> int:
        return int(self.embed.sum())

    def fill(self, embeddings: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        """``embeddings`` (windows, speakers, dimension) with the borrowed rows filled in (in place)."""
        windows, speakers = np.nonzero(self.borrow_from[..., 0] >= 0)
        sources = self.borrow_from[windows, speakers]
        embeddings[windows, speakers] = embeddings[sources[:, 0], sources[:, 1]]
        return embeddings


def anchor_windows(num_windows: int, stride: int) -> npt.NDArray[np.bool_]:
    """Every ``stride``-th window, and the last one (so that the end of the audio has an anchor next to it)."""
    anchors = np.zeros(num_windows, dtype=bool)
    anchors[::stride] = True
    if num_windows:
        anchors[-1] = True
    return anchors


def plan_embeddings(activity: npt.NDArray[np.floating], frames_per_window_step: float, stride: int) -> EmbeddingPlan:
    """The plan for a binarized segmentation ``activity`` (windows, frames, speakers; NaN counts as silent) whose
    consecutive windows start ``frames_per_window_step`` frames apart. ``stride`` 1 embeds every active pair, as
    pyannote does."""
    active_frames = np.nan_to_num(activity, nan=0.0) > 0.5
    num_windows, num_frames, num_speakers = active_frames.shape
    active = active_frames.any(axis=1)
    borrow_from = np.full((num_windows, num_speakers, 2), -1, dtype=np.int_)
    if stride <= 1:
        return EmbeddingPlan(embed=active, borrow_from=borrow_from)
    anchors = anchor_windows(num_windows, stride)
    anchor_index = np.flatnonzero(anchors)
    embed = active & anchors[:, None]
    for window in np.flatnonzero(~anchors):
        anchor = int(anchor_index[np.argmin(np.abs(anchor_index - window))])
        shift = round((anchor - window) * frames_per_window_step)  # frame f of the window is frame f - shift there
        mine = active_frames[window, max(0, shift) : num_frames + min(0, shift)]
        theirs = active_frames[anchor, max(0, -shift) : num_frames - max(0, shift)]
        shared = mine.T.astype(np.int32) @ theirs.astype(np.int32)  # (my speaker, their speaker): frames both active
        rows, cols = linear_sum_assignment(shared, maximize=True)
        match = dict(zip(rows.tolist(), cols.tolist(), strict=True))
        for speaker in np.flatnonzero(active[window]):
            partner = match[int(speaker)]
            own = int(active_frames[window, :, speaker].sum())
            if active[anchor, partner] and shared[speaker, partner] >= MIN_SHARED_ACTIVITY * own:
                borrow_from[window, speaker] = (anchor, partner)
            else:
                embed[window, speaker] = True
    return EmbeddingPlan(embed=embed, borrow_from=borrow_from)
