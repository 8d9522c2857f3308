"""The transcript as one self-contained HTML page: a colour per speaker, each segment's time a link into the
recording, and a print stylesheet (black text, no player, no turn split across pages).

Each time links to the recording (``title``, the source file's name, expected beside the page) with a Media
Fragments ``#t=`` time, which a browser opens at that moment; the page's own player, when the recording is there,
plays from that time instead of leaving the page (a few lines of script; without script the links still work).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from stt_studio.engine.result import TranscriptionResult
from stt_studio.exports.options import ExportOptions

SPEAKER_COLOURS = ("#1f6fb2", "#b2431f", "#2e8540", "#8a3ea8", "#a86b00", "#00838f", "#c2185b", "#5d6b00")
"""Dark enough for white paper and a light screen (contrast of 4.5:1 or more on white), told apart by hue."""

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; }
.meta { color: #555; margin-top: 0; }
audio { width: 100%; margin: 0.5rem 0 1rem; }
.segment { margin: 0 0 0.6rem; padding-left: 0.75rem; border-left: 4px solid var(--speaker, #999); }
.time { font-variant-numeric: tabular-nums; color: #555; text-decoration: none; margin-right: 0.5rem; }
.time:hover { text-decoration: underline; }
.speaker { font-weight: 600; color: var(--speaker, inherit); margin-right: 0.35rem; }
@media print {
  body { font: 11pt/1.4 Georgia, serif; max-width: none; margin: 0; color: #000; }
  audio { display: none; }
  .segment { break-inside: avoid; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .time { color: #000; }
  a[href]::after { content: none; }
}
"""

_SCRIPT = """
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.time");
  const player = document.querySelector("audio");
  if (!link || !player || player.networkState === HTMLMediaElement.NETWORK_NO_SOURCE) return;
  event.preventDefault();
  player.currentTime = Number(link.dataset.t);
  player.play();
});
"""


def _clock(seconds: float) -> str:
    whole = int(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def html_page(result: TranscriptionResult, options: ExportOptions, title: str | None = None) -> str:
    heading = title or "Transcript"
    media = quote(title) if title else ""
    labels = list(dict.fromkeys(s.speaker for s in result.segments if s.speaker is not None))
    colours = {label: SPEAKER_COLOURS[i % len(SPEAKER_COLOURS)] for i, label in enumerate(labels)}
    rows = []
    for segment in result.segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        at = f"{segment.start:.3f}"
        link = f'<a class="time" href="{media}#t={at}" data-t="{at}">{_clock(segment.start)}</a>'
        if segment.speaker is not None and options.include_speakers:
            name = escape(result.speaker_name(segment.speaker))
            style = f' style="--speaker: {colours[segment.speaker]}"'
            rows.append(f'<p class="segment"{style}>{link}<span class="speaker">{name}</span>{escape(text)}</p>')
        else:
            rows.append(f'<p class="segment">{link}{escape(text)}</p>')
    meta = f"{_clock(result.duration)} · language {escape(result.language)} · model {escape(result.model)}"
    player = f'<audio controls preload="none" src="{media}"></audio>\n' if media else ""
    body = "\n".join(rows)
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(result.language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(heading)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{escape(heading)}</h1>\n"
        f'<p class="meta">{meta}</p>\n{player}<main>\n{body}\n</main>\n<script>{_SCRIPT}</script>\n</body>\n</html>\n'
    )
