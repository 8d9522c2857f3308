"""``stt-studio live`` against a real PulseAudio: espeak-ng speech played into a null sink, recorded from its
monitor, transcribed live by the live worker (tiny.en), saved, queued as a job that a real worker transcribes; a
recording SIGKILLed mid-way; bad input."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile

from stt_studio.jobs.redis_server import EmbeddedRedis
from tests.pulse import MONITOR, SINK, private_pulseaudio
from tests.speech import SENTENCES, SHORT_CLIP_WER_BOUND, speak, wer

ROOT = Path(__file__).resolve().parents[1]
LIVE_WER_BOUND = 0.5
"""tiny.en decoding greedily over a sliding buffer (measured 9-22 % on espeak-ng sentences, and once 41 % through
the WebSocket on a loaded CI run: "The quick roundfark stump, sober mule, and acne river" for the fox sentence);
no text or the wrong text is far above it. The job made of the recording is held to the stricter bound of the file
path."""


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with private_pulseaudio(tmp_path_factory.mktemp("pulse") / "runtime") as env:
        yield env


@pytest.fixture
def live_env(pulse: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **pulse,
        "PYTHONPATH": str(ROOT),
        "STT_DATA_DIR": str(tmp_path / "data"),
        "STT_MODELS_DIR": str(tmp_path / "models"),
        "STT_OFFLINE": "1",
        "WHISPER_DEVICE": "cpu",
        "WHISPER_MODEL_SIZE": "tiny.en",
    }
    env.pop("STT_LIVE_MODEL", None)
    yield env
    EmbeddedRedis(tmp_path / "data" / "redis").stop()  # started by --queue, if it was


def stt(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stt_studio", *args], capture_output=True, text=True, env=env, timeout=600
    )


def start_live(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``stt-studio live`` running, once it says it records."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stt_studio", "live", "--source", MONITOR, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("Recording "):
            return process
    raise AssertionError(f"stt-studio live did not start: {process.wait()}")


def loud_span(samples: np.ndarray, rate: int) -> float:
    loud = np.flatnonzero(np.abs(samples) > 0.02)
    return float(loud[-1] - loud[0]) / rate


@pytest.mark.slow
def test_live_text_recording_and_its_job(live_env: dict[str, str], short_wav: Path, tmp_path: Path) -> None:
    """Two sentences played into the sink while ``stt-studio live`` records its monitor: the final text printed
    passes the WER bound, the recording holds the speech as long as it was played (± 0.5 s) and lasts
    ``--duration``, and ``--queue`` makes a job whose transcript passes the file path's bound."""
    played, rate = soundfile.read(str(short_wav), dtype="float32")
    duration = len(played) / rate + 6.0
    saved = tmp_path / "call.wav"
    live = start_live("--duration", f"{duration:.1f}", "--save", str(saved), "--queue", env=live_env)
    subprocess.run(["paplay", "-d", SINK, str(short_wav)], env=live_env, check=True, timeout=60)
    out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err

    lines = out.splitlines()
    assert lines[-1].startswith("job ")
    job_id = lines[-1].removeprefix("job ")
    live_text = " ".join(lines[:-1])
    assert wer(" ".join(SENTENCES[:2]), live_text) <= LIVE_WER_BOUND, live_text

    recorded, recorded_rate = soundfile.read(str(saved), dtype="float32")
    assert recorded_rate == 16_000
    assert len(recorded) / recorded_rate == pytest.approx(duration, abs=0.5)
    assert loud_span(recorded, recorded_rate) == pytest.approx(loud_span(played, rate), abs=0.5)

    worker = stt("worker", "--burst", env=live_env)
    assert worker.returncode == 0, worker.stderr[-2000:]
    exported = stt("export", job_id, "-f", "txt", "--no-timestamps", "--no-speakers", env=live_env)
    assert exported.returncode == 0, exported.stderr
    assert wer(" ".join(SENTENCES[:2]), exported.stdout) <= SHORT_CLIP_WER_BOUND, exported.stdout


@pytest.mark.slow
def test_a_killed_recording_is_on_disk_all_but_the_last_second_and_offered_next_time(
    live_env: dict[str, str], short_wav: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "killed.wav"
    live = start_live("--save", str(saved), env=live_env)
    started = time.time()
    subprocess.run(["paplay", "-d", SINK, str(short_wav)], env=live_env, check=True, timeout=60)
    children = psutil.Process(live.pid).children(recursive=True)
    live.send_signal(signal.SIGKILL)
    killed = time.time()
    live.communicate(timeout=30)

    on_disk = soundfile.info(str(saved)).frames / 16_000  # as the header says: no repair yet
    assert on_disk >= (killed - started) - 1.0
    _, alive = psutil.wait_procs(children, timeout=60)  # the live worker and parec end without their parent
    assert alive == []

    # The next start offers it; that one is stopped with Ctrl+C: cleanly, its recording kept and not interrupted.
    after_ctrl_c = tmp_path / "stopped.wav"
    offered = subprocess.Popen(
        [sys.executable, "-m", "stt_studio", "live", "--source", MONITOR, "--save", str(after_ctrl_c)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=live_env,
    )  # fmt: skip
    assert offered.stderr is not None
    said = []
    for line in offered.stderr:
        said.append(line)
        if line.startswith("Recording "):
            break
    assert any(line.startswith("An interrupted recording: ") and str(saved) in line for line in said)
    time.sleep(1.0)
    offered.send_signal(signal.SIGINT)
    _, rest = offered.communicate(timeout=300)
    assert offered.returncode == 0, rest
    assert f"Saved {after_ctrl_c}" in rest and "Traceback" not in rest
    assert soundfile.info(str(after_ctrl_c)).frames > 0
    recovered = stt("live", "--recover", env=live_env)
    assert recovered.returncode == 0
    assert f"{saved}" in recovered.stderr
    assert soundfile.info(str(saved)).frames / 16_000 >= on_disk
    assert stt("live", "--recover", env=live_env).stderr.strip() == "No interrupted recording"  # Ctrl+C's neither


def test_an_unknown_source_is_named_with_the_sources_there_are(live_env: dict[str, str]) -> None:
    done = stt("live", "--source", "nowhere.monitor", "--duration", "1", env=live_env)
    assert done.returncode == 2
    assert f"No source named 'nowhere.monitor' (the sources: MIC, {MONITOR})" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_sound_server_is_said_and_no_recording_starts(live_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "no-server"
    empty.mkdir(mode=0o700)
    done = stt("live", "--duration", "1", env={**live_env, "XDG_RUNTIME_DIR": str(empty)})
    assert done.returncode == 3
    assert "No sound server answers" in done.stderr and "no input device" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "recordings").exists()


def test_listing_names_microphones_and_monitors_with_the_default_marked(live_env: dict[str, str]) -> None:
    done = stt("live", "--list-sources", env=live_env)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "* MIC\tNull Input (microphone)",
        f"  {MONITOR}\tMonitor of Null Output (this computer's sound)",
    ]


def test_a_recording_that_cannot_be_written_is_refused_before_it_starts(
    live_env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = stt("live", "--source", MONITOR, "--duration", "1", "--save", str(blocker / "x.wav"), env=live_env)
    assert done.returncode == 2
    assert f"Cannot write the recording to {blocker / 'x.wav'}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("duration", ["0", "-3", "soon"])
def test_a_bad_duration_is_a_usage_error(live_env: dict[str, str], duration: str) -> None:
    done = stt("live", "--duration", duration, env=live_env)
    assert done.returncode == 2
    assert "--duration" in done.stderr and "Traceback" not in done.stderr


def said_clip(text: str, out: Path) -> Path:
    """espeak-ng saying ``text``, then silence."""
    return with_silence_after(speak(text, out.with_suffix(".speech.wav")), out)


def with_silence_after(clip: Path, out: Path, seconds: float = 2.0) -> Path:
    """``clip`` then ``seconds`` of silence: its speech has left the capture by the time paplay returns."""
    spoken, rate = soundfile.read(str(clip), dtype="float32")
    soundfile.write(str(out), np.concatenate([spoken, np.zeros(int(seconds * rate), np.float32)]), rate)
    return out


def heard(sentence: str, text: str) -> float:
    """The share of ``sentence``'s words found in ``text``."""
    words = [w.strip(".,").casefold() for w in sentence.split()]
    found = {w.strip(".,").casefold() for w in text.split()}
    return sum(w in found for w in words) / len(words)


def wait_for_line(process: subprocess.Popen[str], prefix: str) -> str:
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"stt-studio live ended without saying '{prefix}…': {process.wait()}")


@pytest.mark.slow
def test_speech_played_while_paused_is_neither_recorded_nor_transcribed(
    live_env: dict[str, str], tmp_path: Path
) -> None:
    """SIGUSR1 pauses, SIGUSR2 resumes: of two sentences, the one played while paused is absent from the recording
    and from the live text."""
    while_paused = said_clip(SENTENCES[2], tmp_path / "while-paused.wav")
    after_resume = said_clip(SENTENCES[3], tmp_path / "after-resume.wav")
    saved = tmp_path / "paused.wav"
    live = start_live("--save", str(saved), "--duration", "120", env=live_env)  # ends even if a signal is missed
    live.send_signal(signal.SIGUSR1)
    wait_for_line(live, "Paused at ")
    subprocess.run(["paplay", "-d", SINK, str(while_paused)], env=live_env, check=True, timeout=60)
    live.send_signal(signal.SIGUSR2)
    wait_for_line(live, "Resumed at ")
    subprocess.run(["paplay", "-d", SINK, str(after_resume)], env=live_env, check=True, timeout=60)
    live.send_signal(signal.SIGINT)
    out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err

    recorded, rate = soundfile.read(str(saved), dtype="float32")
    spoken, spoken_rate = soundfile.read(str(after_resume), dtype="float32")
    assert loud_span(recorded, rate) == pytest.approx(loud_span(spoken, spoken_rate), abs=0.5)  # one sentence
    assert heard(SENTENCES[3], out) >= 0.5, out
    assert heard(SENTENCES[2], out) < 0.2, out


@pytest.fixture
def second_sink(live_env: dict[str, str]) -> Iterator[str]:
    """A second null sink ``T`` in the private PulseAudio (say the far end of a call); its monitor's name."""
    loaded = subprocess.run(
        ["pactl", "load-module", "module-null-sink", "sink_name=T"], env=live_env, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    try:
        yield "T.monitor"
    finally:
        subprocess.run(["pactl", "unload-module", loaded.stdout.strip()], env=live_env, check=True)


@pytest.mark.slow
def test_two_sources_mixed_are_both_in_the_recording_and_the_live_text(
    live_env: dict[str, str], second_sink: str, tmp_path: Path
) -> None:
    """``--source S.monitor+T.monitor``: a sentence played into each sink, one after the other; both are heard."""
    first = said_clip(SENTENCES[4], tmp_path / "first.wav")
    second = said_clip(SENTENCES[5], tmp_path / "second.wav")
    saved = tmp_path / "mixed.wav"
    live = start_live("--source", f"{MONITOR}+{second_sink}", "--save", str(saved), env=live_env)
    subprocess.run(["paplay", "-d", SINK, str(first)], env=live_env, check=True, timeout=60)
    subprocess.run(["paplay", "-d", "T", str(second)], env=live_env, check=True, timeout=60)
    live.send_signal(signal.SIGINT)
    out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err
    assert heard(SENTENCES[4], out) >= 0.5 and heard(SENTENCES[5], out) >= 0.5, out

    recorded, rate = soundfile.read(str(saved), dtype="float32")
    spans = [soundfile.read(str(clip), dtype="float32") for clip in (first, second)]
    assert loud_span(recorded, rate) > sum(loud_span(audio, r) for audio, r in spans)  # both sentences, in turn


@pytest.mark.slow
def test_an_interrupted_recording_is_recovered_and_queued_as_a_job(
    live_env: dict[str, str], short_wav: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "interrupted.wav"
    played = with_silence_after(short_wav, tmp_path / "played.wav")  # the kill loses the last second: silence
    live = start_live("--save", str(saved), env=live_env)
    subprocess.run(["paplay", "-d", SINK, str(played)], env=live_env, check=True, timeout=60)
    children = psutil.Process(live.pid).children(recursive=True)
    live.send_signal(signal.SIGKILL)
    live.communicate(timeout=30)
    psutil.wait_procs(children, timeout=60)

    recovered = stt("live", "--recover", "--queue", env=live_env)
    assert recovered.returncode == 0, recovered.stderr
    assert "Recovered " in recovered.stderr and str(saved) in recovered.stderr
    [line] = recovered.stdout.splitlines()
    assert line.startswith("job ")
    job_id = line.removeprefix("job ")
    worker = stt("worker", "--burst", env=live_env)
    assert worker.returncode == 0, worker.stderr[-2000:]
    exported = stt("export", job_id, "-f", "txt", "--no-timestamps", "--no-speakers", env=live_env)
    assert exported.returncode == 0, exported.stderr
    # All the speech is in the file (the kill lost only silence), and its job transcribes it.
    spoken, rate = soundfile.read(str(played), dtype="float32")
    recorded, recorded_rate = soundfile.read(str(saved), dtype="float32")
    assert abs(loud_span(recorded, recorded_rate) - loud_span(spoken, rate)) <= 0.5
    # The second sentence, not the first: in this file's runs the first sentence's capture through the null sink's
    # monitor came out damaged now and then (its samples correlate 0.4-0.8 with what was played, the second's 1.00;
    # tiny.en and base then hear "quick round-fuck stump"), in the recording as written, before any kill.
    assert heard(SENTENCES[1], exported.stdout) >= 0.9, exported.stdout
    assert stt("live", "--recover", env=live_env).stderr.strip() == "No interrupted recording"
