"""``stt-studio desktop-entry install|remove``: a valid menu entry that starts this installation, and its icon,
in the XDG folders (a temporary ``XDG_DATA_HOME`` here); and the icon ships inside the wheel."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stt_studio.desktop_install import entry_text, icon_svg

REPO = Path(__file__).resolve().parent.parent


def validate(entry: Path) -> None:
    """desktop-file-validate (Debian: desktop-file-utils, installed by scripts/test.sh) must find nothing."""
    tool = shutil.which("desktop-file-validate")
    assert tool is not None, "desktop-file-validate is missing: apt-get install desktop-file-utils"
    proc = subprocess.run([tool, str(entry)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def run_cli(*args: str, data_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(data_home)}
    return subprocess.run(
        [sys.executable, "-m", "stt_studio", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_install_writes_a_valid_entry_that_starts_this_installation_and_remove_deletes_it(tmp_path: Path) -> None:
    data_home = tmp_path / "share"
    proc = run_cli("desktop-entry", "install", data_home=data_home)
    assert proc.returncode == 0, proc.stderr
    entry = data_home / "applications" / "stt-studio.desktop"
    icon = data_home / "icons" / "hicolor" / "scalable" / "apps" / "stt-studio.svg"
    assert f"Wrote {entry}" in proc.stderr and f"Wrote {icon}" in proc.stderr
    validate(entry)
    assert icon.read_bytes() == icon_svg()

    keys = read_entry(entry)
    assert keys["Name"] == "STT Studio" and keys["Icon"] == "stt-studio" and keys["Type"] == "Application"
    program, *args = shlex.split(keys["Exec"])
    assert args == ["gui", "%F"]
    assert program == keys["TryExec"] == str(Path(sys.executable).parent / "stt-studio")  # this venv's command
    assert "audio/mpeg;" in keys["MimeType"] and keys["Categories"] == "AudioVideo;Audio;"
    started = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0 and "desktop-entry" in started.stdout

    proc = run_cli("desktop-entry", "remove", data_home=data_home)
    assert proc.returncode == 0 and f"Removed {entry}" in proc.stderr and f"Removed {icon}" in proc.stderr
    assert not entry.exists() and not icon.exists()
    again = run_cli("desktop-entry", "remove", data_home=data_home)
    assert again.returncode == 0 and "No desktop entry was installed." in again.stderr


@pytest.mark.parametrize(
    ("program", "exec_line"),
    [
        ("/opt/my apps/stt-studio", 'Exec="/opt/my apps/stt-studio" gui %F'),
        ("/home/a$b/stt`x`/stt-studio", 'Exec="/home/a\\\\$b/stt\\\\`x\\\\`/stt-studio" gui %F'),
    ],
)
def test_exec_quotes_paths_as_the_spec_says(tmp_path: Path, program: str, exec_line: str) -> None:
    text = entry_text([program])
    assert exec_line in text.splitlines()
    entry = tmp_path / "stt-studio.desktop"
    entry.write_text(text, encoding="utf-8")
    validate(entry)


def test_packaging_entry_is_the_generated_one() -> None:
    packaged = REPO / "packaging" / "stt-studio.desktop"
    assert packaged.read_text(encoding="utf-8") == entry_text(["stt-studio"])
    validate(packaged)
    assert "TryExec" not in read_entry(packaged)  # a bare command name: found on PATH


def test_the_icon_is_a_valid_svg() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(icon_svg())
    assert renderer.isValid() and renderer.defaultSize().width() == 128


def test_the_wheel_carries_the_icon(tmp_path: Path) -> None:
    """Installs from a checkout (pip, pipx, uv tool) build a wheel: the icon must be inside it."""
    # A copy: building in place would write build/ and *.egg-info into the working tree.
    source = shutil.copytree(REPO, tmp_path / "src", ignore=shutil.ignore_patterns(".*", "*.egg-info", "__pycache__"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=source, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("stt_studio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "stt_studio/ui/resources/stt-studio.svg" in names
    assert "stt_studio/doctor/__init__.py" in names and "stt_studio/engine/model_catalog.py" in names
