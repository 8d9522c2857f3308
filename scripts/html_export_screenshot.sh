#!/bin/sh
# The html export of a hand-made two-speaker transcript, rendered by headless Chromium (Debian's `chromium`) on
# screen and printed (to PDF, its first page made a PNG by Ghostscript, trimmed by ImageMagick), into
# docs/screenshots/.
#     scripts/html_export_screenshot.sh [OUT_DIR]
set -eu
out=$(realpath "${1:-docs/screenshots}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PYTHONPATH=$(pwd) .venv/bin/python - "$work/interview.html" <<'PY'
import sys
from stt_studio.exports import render
from tests.test_exports import make_result
result = make_result()
result.speaker_names["SPEAKER_01"] = "Dr. Chen"
open(sys.argv[1], "wb").write(render(result, "html", title="interview.wav"))
PY
cd "$work"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,420 \
    --screenshot="$out/html-export.png" interview.html 2>/dev/null
chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer --print-to-pdf=print.pdf interview.html 2>/dev/null
gs -q -dNOPAUSE -dBATCH -sDEVICE=png16m -r80 -dFirstPage=1 -dLastPage=1 -sOutputFile=page.png print.pdf
convert page.png -trim -bordercolor white -border 24 "$out/html-export-print.png"  # the used part of the page
echo "wrote $out/html-export.png $out/html-export-print.png"
