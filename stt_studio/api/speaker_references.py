"""OpenAI's ``known_speaker_names[]`` and ``known_speaker_references[]`` on the OpenAI-compatible endpoint: short
clips (data URLs, 2 to 10 s, one voice each) that name the speakers of this one request. Each clip is embedded by
the speaker model in the API process (``voices/clips.py``) before the job is queued; when the job is done, its kept
voice prints are matched against these voices alone (``voices/matching.py``, as a library would be). Nothing of
them is stored: the decoded clips live in a temporary folder while they are embedded, the voices in memory for the
request."""

from __future__ import annotations

import base64
import binascii
import tempfile
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, status

from stt_studio.jobs.store import JobStore
from stt_studio.voices.clips import (
    REFERENCE_MAX_SECONDS,
    REFERENCE_MIN_SECONDS,
    ClipEmbedder,
    ClipRefusedError,
    reference_voice,
)
from stt_studio.voices.enroll import EnrollmentRefusedError, kept_voice_prints
from stt_studio.voices.matching import KnownVoice, MatchingError, match_speakers

NAMES_FIELD = "known_speaker_names[]"
REFERENCES_FIELD = "known_speaker_references[]"
MAX_REFERENCE_CHARS = 4 * 1024 * 1024
"""A reference's data URL, at most: 10 s of 48 kHz stereo 16-bit WAV is 2.6 MB in base64."""
MAX_REFERENCES_BYTES = 16 * 1024 * 1024
"""All of a request's reference data URLs together, at most, as they arrive (before they are counted): a form of
many large references is refused while it is read, not held in memory first."""
NAMED = ("auto", "suggested")
"""The matches that give a speaker a reference's name (the library's thresholds: docs/voices.md)."""


class SpeakerReferenceError(HTTPException):
    """400 naming the field at fault (``param``, as OpenAI's error object carries it)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(status.HTTP_400_BAD_REQUEST, message)
        self.param = param


@dataclass(frozen=True)
class SpeakerReferences:
    model: str
    voices: tuple[KnownVoice, ...] = field(repr=False)


def check_pairs(names: Sequence[str], references: Sequence[str], limit: int) -> None:
    """The two lists go in pairs, up to ``limit``, each name given once."""
    if len(names) != len(references):
        raise SpeakerReferenceError(
            f"{NAMES_FIELD} has {len(names)} entries and {REFERENCES_FIELD} {len(references)}: they go in pairs, "
            "one name for each reference clip",
            NAMES_FIELD if len(names) < len(references) else REFERENCES_FIELD,
        )
    if len(names) > limit:
        raise SpeakerReferenceError(
            f"{len(names)} known speakers were sent; this server takes at most {limit} per request "
            "(STT_OPENAI_MAX_SPEAKER_REFERENCES)",
            REFERENCES_FIELD,
        )
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        key = " ".join(name.split()).casefold()
        if not key:
            raise SpeakerReferenceError(f"{NAMES_FIELD}: entry {index} is blank; give each speaker a name", NAMES_FIELD)
        if key in seen:
            raise SpeakerReferenceError(
                f"{NAMES_FIELD}: {name.strip()!r} is given twice (entries {seen[key]} and {index}); each known "
                "speaker needs a name of its own",
                NAMES_FIELD,
            )
        seen[key] = index


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:[<type>][;base64],<data>`` URL; ValueError saying what is wrong."""
    if not url.startswith("data:"):
        shown = url[:40] + ("…" if len(url) > 40 else "")
        raise ValueError(f"not a data URL (data:audio/wav;base64,…): it starts {shown!r}")
    header, comma, data = url[5:].partition(",")
    if not comma:
        raise ValueError("the data URL has no comma before its data")
    if header.lower().endswith(";base64"):
        try:
            payload = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"its base64 data does not decode ({exc})") from exc
    else:
        payload = urllib.parse.unquote_to_bytes(data)
    if not payload:
        raise ValueError("the data URL holds no data")
    return payload


def embed_references(names: Sequence[str], references: Sequence[str], embedder: ClipEmbedder) -> SpeakerReferences:
    """Each reference clip decoded and embedded; SpeakerReferenceError naming the one at fault and why. Blocking
    (seconds): call it off the event loop."""
    voices: list[KnownVoice] = []
    model = ""
    with tempfile.TemporaryDirectory(prefix="stt-speaker-reference-") as folder:
        for index, (name, url) in enumerate(zip(names, references, strict=True)):
            where = f"{REFERENCES_FIELD} entry {index} ({name.strip()})"
            clip = Path(folder) / f"reference-{index}"
            try:
                clip.write_bytes(decode_data_url(url))
                found = embedder.voices(clip, shortest=REFERENCE_MIN_SECONDS, longest=REFERENCE_MAX_SECONDS)
                voices.append(reference_voice(found, " ".join(name.split()), f"reference-{index}"))
            except (ValueError, ClipRefusedError) as exc:
                raise SpeakerReferenceError(f"{where}: {exc}", REFERENCES_FIELD) from exc
            finally:
                clip.unlink(missing_ok=True)
            model = found.model
    return SpeakerReferences(model, tuple(voices))


def speaker_names(store: JobStore, job_id: str, references: SpeakerReferences) -> dict[str, str]:
    """The job's speakers (labels) that a reference names: its kept voice prints matched against the references
    alone, each reference on one speaker at most. Empty when the job kept no prints."""
    try:
        prints = kept_voice_prints(store, job_id)
        matches = match_speakers(prints, references.model, references.voices)
    except (EnrollmentRefusedError, MatchingError):
        return {}
    return {m.label: m.name for m in matches if m.match in NAMED and m.name is not None}
