"""The speaker counts asked of a diarization: exactly N, or a range; checked before anything is queued."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SPEAKERS = 20
"""The most speakers a count may ask for (as on submission)."""


class SpeakerCountError(ValueError):
    """Speaker counts that contradict each other or lie outside 1..MAX_SPEAKERS (the message says which)."""


@dataclass(frozen=True)
class SpeakerCounts:
    """Exactly ``num_speakers``, or a range (either end may be open), or none: the diarizer decides."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        given = {k: v for k, v in vars(self).items() if v is not None}
        if self.num_speakers is not None and len(given) > 1:
            raise SpeakerCountError("Give either num_speakers or min_speakers/max_speakers, not both")
        for name, value in given.items():
            if not 1 <= value <= MAX_SPEAKERS:
                raise SpeakerCountError(f"{name} must be between 1 and {MAX_SPEAKERS} (got {value})")
        if self.min_speakers is not None and self.max_speakers is not None and self.min_speakers > self.max_speakers:
            raise SpeakerCountError(
                f"min_speakers ({self.min_speakers}) must not be larger than max_speakers ({self.max_speakers})"
            )
