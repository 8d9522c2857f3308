"""Known sentences in German and Spanish (espeak-ng speaks them), their English, and how a translation is scored:
the share of the English reference's content words it has, and the source-language words it left untranslated.

Used by the translation tests and ``benchmarks/translation.py``. base on espeak speech is a weak translator (measured
there): the whole German clip reaches 17-42 % of the content words, varying from one process to the next, and its
last two sentences reliably give "a cup of coffee" and "a small house"; the tests bound what it reaches."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.speech import Dialogue, Voice, dialogue, speech_clip

ENGLISH = [
    "The train to the city leaves the main station every hour.",
    "The weather is sunny and warm today.",
    "Please call the office tomorrow morning.",
    "I drink a cup of coffee every morning.",
    "My sister lives in a small house by the lake.",
]
CONTENT_WORDS = [
    frozenset({"train", "city", "leaves", "main", "station", "every", "hour"}),
    frozenset({"weather", "sunny", "warm", "today"}),
    frozenset({"please", "call", "office", "tomorrow", "morning"}),
    frozenset({"drink", "cup", "coffee", "every", "morning"}),
    frozenset({"sister", "lives", "small", "house", "lake"}),
]
"""Per sentence of ``ENGLISH``: the words a translation of it should have."""


def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[^\W\d_]+", text.casefold()))


@dataclass(frozen=True)
class Source:
    language: str
    sentences: Sequence[str]
    foreign_words: frozenset[str]
    """Words of the sentences that are not English words too (``warm``, ``see``, ``es`` are left out)."""
    voice: Voice

    def clip(self, directory: Path, first: int = 0, voice: Voice | None = None) -> Path:
        """Its sentences from ``first`` on, spoken with pauses (by its own voice unless told)."""
        voice = voice or self.voice
        name = f"translate-{self.language}-{first}-{voice.name}-{voice.speed}"
        return speech_clip(directory / self.language, self.sentences[first:], name, voice)

    def dialogue(self, directory: Path, voices: Sequence[Voice], first: int = 0) -> Dialogue:
        """Its sentences from ``first`` on, said by ``voices`` in turn."""
        lines = [(i % len(voices), sentence) for i, sentence in enumerate(self.sentences[first:])]
        return dialogue(directory / self.language, lines, f"dialogue-{self.language}-{first}", voices=voices)


GERMAN = Source(
    "de",
    [
        "Der Zug in die Stadt fährt jede Stunde vom Hauptbahnhof ab.",
        "Das Wetter ist heute sonnig und warm.",
        "Bitte rufen Sie morgen früh das Büro an.",
        "Ich trinke jeden Morgen eine Tasse Kaffee.",
        "Meine Schwester wohnt in einem kleinen Haus am See.",
    ],
    words(
        "der das ist und ich eine einem meine sie zug stadt fährt jede jeden stunde vom hauptbahnhof wetter "
        "heute sonnig bitte rufen morgen früh büro trinke tasse kaffee schwester wohnt kleinen haus"
    ),
    Voice("de"),
)
GERMAN_VOICES = (Voice("de+m7", pitch=30, speed=120), Voice("de+f3", pitch=90, speed=170))
"""A low male voice and a high female one, far apart for diarization (as tests/speech.py's short conversation)."""
SPANISH = Source(
    "es",
    [
        "El tren a la ciudad sale de la estación principal cada hora.",
        "El tiempo hoy es soleado y cálido.",
        "Por favor, llame a la oficina mañana por la mañana.",
        "Bebo una taza de café cada mañana.",
        "Mi hermana vive en una casa pequeña junto al lago.",
    ],
    words(
        "el la tren ciudad sale estación principal cada hora tiempo hoy soleado cálido por favor llame "
        "oficina mañana bebo una taza mi hermana vive casa pequeña junto lago"
    ),
    Voice("es-419", speed=100),
)
"""Spoken by espeak-ng's Latin American voice, slowly: base reaches 38-42 % of the content words there, against
13-29 % with the Spanish (Spain) voice at 100-160 words a minute (benchmarks/translation.py, README)."""


def content_share(translation: str, first: int = 0) -> float:
    """The share of the content words of ``ENGLISH`` (from sentence ``first`` on) that ``translation`` has."""
    wanted = frozenset().union(*CONTENT_WORDS[first:])
    return len(wanted & words(translation)) / len(wanted)


def left_untranslated(source: Source, translation: str) -> frozenset[str]:
    return source.foreign_words & words(translation)
