"""Times as the desktop shows them: ``0:12``, ``12:05``, ``1:02:03``, or with hundredths for tooltips."""

from __future__ import annotations

import math


def format_clock(seconds: float) -> str:
    """Whole seconds (rounded down, so a clock never runs ahead): m:ss, or h:mm:ss from one hour on."""
    total = max(0, math.floor(seconds)) if math.isfinite(seconds) else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_precise(seconds: float) -> str:
    """To the hundredth: ``0:12.34``, ``1:02:03.50``."""
    hundredths = max(0, round(seconds * 100)) if math.isfinite(seconds) else 0
    whole, fraction = divmod(hundredths, 100)
    return f"{format_clock(whole)}.{fraction:02d}"
