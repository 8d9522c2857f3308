"""Voice prints of a diarization's speakers made with the voice library's embedding model (CAM++, the no-token
backend's): the hub pipeline clusters with embeddings of another model, whose vectors can't be compared with the
library's, so each of its speakers is embedded again from their clean speech (no one else talking, stretches of at
least ``MIN_TURN_SECONDS``, the longest first, up to about ``PRINT_SECONDS``), cut in pieces of at most
``PIECE_SECONDS``; the print is the mean of the pieces' unit vectors, weighted by their length, as a cluster's
centroid averages its windows."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from stt_studio.engine.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from stt_studio.engine.diarization.local import CamPlusPlusEmbedding

MIN_TURN_SECONDS = 1.5
"""A shorter stretch of one voice alone is left out: too little for a reliable vector."""
PRINT_SECONDS = 60.0
"""About this much of a speaker's clean speech makes its print (and an enrolled sample's clip)."""
PIECE_SECONDS = 10.0
"""A longer stretch is embedded in pieces of at most this length (pieces count by their length in the mean)."""

Turn = tuple[float, float, str]
Embed = Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]
"""One piece of 16 kHz mono audio in, its vector out (NaN where the model gives none)."""


def clean_stretches(turns: Iterable[Turn], label: str) -> tuple[tuple[float, float], ...]:
    """``label``'s turns with every other speaker's time taken out, the stretches of at least
    ``MIN_TURN_SECONDS``, longest first, up to about ``PRINT_SECONDS`` (the last one cut short to fit)."""
    listed = list(turns)
    others = sorted((start, end) for start, end, who in listed if who != label)
    pieces: list[tuple[float, float]] = []
    for start, end, _ in sorted(t for t in listed if t[2] == label):
        pieces.extend(_minus(start, end, others))
    long_enough = sorted((p for p in pieces if p[1] - p[0] >= MIN_TURN_SECONDS), key=lambda p: p[0] - p[1])
    chosen: list[tuple[float, float]] = []
    total = 0.0
    for start, end in long_enough:
        room = PRINT_SECONDS - total
        if room < MIN_TURN_SECONDS:
            break
        end = min(end, start + room)
        chosen.append((round(start, 3), round(end, 3)))
        total += end - start
    return tuple(chosen)


def _minus(start: float, end: float, others: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[start, end) without the time of ``others`` (sorted by start)."""
    pieces: list[tuple[float, float]] = []
    cursor = start
    for other_start, other_end in others:
        if other_end <= cursor or other_start >= end:
            continue
        if other_start > cursor:
            pieces.append((cursor, other_start))
        cursor = max(cursor, other_end)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def library_prints(audio: npt.NDArray[np.float32], turns: Iterable[Turn], embed: Embed) -> dict[str, list[float]]:
    """Each speaker of ``turns`` (who spoke when in ``audio``, overlaps included) with its print by ``embed``; a
    speaker without a clean stretch long enough, or whose pieces give no vector, gets none."""
    listed = list(turns)
    prints: dict[str, list[float]] = {}
    for label in sorted({who for _, _, who in listed}):
        vectors, weights = [], []
        for start, end in clean_stretches(listed, label):
            for piece_start, piece_end in _pieces(start, end):
                piece = audio[round(piece_start * SAMPLE_RATE) : round(piece_end * SAMPLE_RATE)]
                vector = np.asarray(embed(piece), dtype=np.float64)
                norm = float(np.linalg.norm(vector))
                if len(piece) and math.isfinite(norm) and norm > 0:
                    vectors.append(vector / norm)
                    weights.append(len(piece))
        if vectors:
            mean = np.average(np.stack(vectors), axis=0, weights=weights)
            prints[label] = [float(x) for x in mean]
    return prints


def _pieces(start: float, end: float) -> list[tuple[float, float]]:
    count = max(1, math.ceil((end - start) / PIECE_SECONDS - 1e-9))
    step = (end - start) / count
    return [(start + k * step, start + (k + 1) * step) for k in range(count)]


def campplus_embed(embedding: CamPlusPlusEmbedding) -> Embed:
    """``Embed`` over the no-token backend's ``CamPlusPlusEmbedding`` (one piece at a time)."""
    import torch

    def embed(piece: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        waveform = torch.from_numpy(np.ascontiguousarray(piece, dtype=np.float32))[None, None]
        return np.asarray(embedding(waveform)[0], dtype=np.float32)

    return embed
