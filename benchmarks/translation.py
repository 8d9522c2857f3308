"""How well a model translates espeak-ng speech into English: German and Spanish clips of five known sentences
(tests/translation_speech.py), and of their last two (the tests' clip), each transcribed with task=translate.
Prints per clip the language detected, the share of the English reference's content words present, the source
words left untranslated, the seconds and the text. The translation tests bound what ``base`` reaches here. Each
language is spoken by its ``Source``'s voice; ``--voice``/``--speed`` try another espeak-ng voice or rate (with
``--language``, to compare one language's settings). base's output varies between processes, not within one: compare
settings over several runs.

    .venv/bin/python -m benchmarks.translation [--model base] [--language es] [--voice es --speed 160]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from stt_studio.engine.cpu import configure_process_environment
from tests.translation_speech import GERMAN, SPANISH, content_share, left_untranslated

SOURCES = (GERMAN, SPANISH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    parser.add_argument("--language", choices=[s.language for s in SOURCES], help="only this language's clips")
    parser.add_argument("--voice", help="an espeak-ng voice instead of the language's own (e.g. es, es-419)")
    parser.add_argument("--speed", type=int, help="words a minute instead of the voice's own")
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.engine.options import TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-translation-"))
    engine = Engine(Settings(offline=True), model=args.model, device="cpu")
    engine.load()
    for source in SOURCES:
        if args.language not in (None, source.language):
            continue
        voice = replace(source.voice, name=args.voice or source.voice.name, speed=args.speed or source.voice.speed)
        for first in (0, 3):
            clip = source.clip(work, first, voice)
            began = time.perf_counter()
            result = engine.transcribe(clip, TranscribeOptions(task="translate"))
            seconds = time.perf_counter() - began
            print(
                f"{source.language} ({voice.name}, {voice.speed} wpm) from sentence {first + 1}: "
                f"detected {result.language}, "
                f"content words {content_share(result.text, first):.0%}, "
                f"left untranslated {sorted(left_untranslated(source, result.text)) or 'none'}, "
                f"{seconds:.1f} s for {result.duration:.1f} s of audio, word times from {result.word_timestamps}\n"
                f"    {result.text}",
                flush=True,
            )


if __name__ == "__main__":
    main()
