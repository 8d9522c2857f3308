"""How well a model translates espeak-ng speech into English: German and Spanish clips of five known sentences
(tests/translation_speech.py), and of their last two (the tests' clip), each transcribed with task=translate.
Prints per clip the language detected, the share of the English reference's content words present, the source
words left untranslated, the seconds and the text. The translation tests bound what ``base`` reaches here.

    .venv/bin/python -m benchmarks.translation [--model base]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from stt_studio.engine.cpu import configure_process_environment
from tests.translation_speech import GERMAN, SPANISH, content_share, left_untranslated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    configure_process_environment()

    from stt_studio.engine.options import TranscribeOptions
    from stt_studio.engine.pipeline import Engine
    from stt_studio.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="stt-bench-translation-"))
    engine = Engine(Settings(offline=True), model=args.model, device="cpu")
    engine.load()
    for source in (GERMAN, SPANISH):
        for first in (0, 3):
            clip = source.clip(work, first)
            began = time.perf_counter()
            result = engine.transcribe(clip, TranscribeOptions(task="translate"))
            seconds = time.perf_counter() - began
            print(
                f"{source.language} from sentence {first + 1}: detected {result.language}, "
                f"content words {content_share(result.text, first):.0%}, "
                f"left untranslated {sorted(left_untranslated(source, result.text)) or 'none'}, "
                f"{seconds:.1f} s for {result.duration:.1f} s of audio, word times from {result.word_timestamps}\n"
                f"    {result.text}",
                flush=True,
            )


if __name__ == "__main__":
    main()
