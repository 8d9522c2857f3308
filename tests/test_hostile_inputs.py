"""Hostile input: every case gets a specific answer (a 4xx with a message naming the problem, or acceptance with the
name cleaned), the server is unharmed afterwards, and nothing is written outside its data dir.

The server runs with its working directory, HOME and TMPDIR in empty folders of their own, so a write anywhere
but the data dir shows up. Each case is a row of docs/reliability.md (tests/reliability.py).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stt_studio.api.form_stream import MAX_FIELD_BYTES, MAX_PARTS
from stt_studio.api.http_limits import MAX_HEAD_BYTES
from stt_studio.settings import Settings
from tests import live
from tests.reliability import ServeInstance, record, serve
from tests.speech import SHORT_CLIP_WER_BOUND, SHORT_TEXT, convert, video_without_audio, wer

pytestmark = pytest.mark.slow

GROUP = "Hostile input"
MAX_UPLOAD_MB = 20
MAX_AUDIO_SECONDS = 600
IDLE_SECONDS = 3
MARKER = "hostile-marker"
"""Part of every file name sent: if it shows up on disk anywhere, a client's name reached the file system."""


@dataclass
class Hostile:
    instance: ServeInstance
    root: Path
    outside: dict[Path, set[Path]]
    """Folders the server could write to besides its data dir, with what they held once it was up."""
    worker: int
    files: dict[str, Path]

    @property
    def url(self) -> str:
        return self.instance.url


def _tree(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def _files(folder: Path, short_wav: Path, sentences_wav: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    wav = short_wav.read_bytes()
    files = {name: folder / name for name in ("empty.wav", "notes.wav", "cut.wav", "flipped-header.wav",
                                              "flipped-samples.wav", "hours-header.wav")}  # fmt: skip
    files["empty.wav"].touch()
    files["notes.wav"].write_text("minutes of the meeting\n" * 100)
    files["cut.wav"].write_bytes(wav[: len(wav) // 3])
    header = bytearray(wav)
    for i in range(0, 44, 3):
        header[i] ^= 0xA5  # every third byte of the RIFF/fmt/data headers
    files["flipped-header.wav"].write_bytes(bytes(header))
    samples = bytearray(sentences_wav.read_bytes())
    for i in range(1000, len(samples), 997):
        samples[i] ^= 1 << (i % 8)  # one flipped bit per ~1000 bytes of sample data
    files["flipped-samples.wav"].write_bytes(bytes(samples))
    # 44 bytes of header declaring 0xFFFFFFE0 bytes of 16 kHz 16-bit audio (37 hours), then 64 bytes of it.
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    hours = b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", 0xFFFFFFE0)
    files["hours-header.wav"].write_bytes(hours + b"\0" * 64)
    silences = {"silence-near-limit.opus": MAX_AUDIO_SECONDS - 5, "silence-over.opus": MAX_AUDIO_SECONDS + 5}
    for name, seconds in silences.items():
        raw = folder / f"{name}.wav"
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(raw), "trim", "0", str(seconds)],
                       check=True)  # fmt: skip
        files[name] = convert(raw, folder / name, "-b:a", "6k")
        raw.unlink()
    files["silent.mp4"] = video_without_audio(folder / "silent.mp4")
    files["short.wav"] = short_wav
    return files


@pytest.fixture(scope="module")
def hostile(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, short_wav: Path, sentences_wav: Path
) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile")
    files = _files(tmp_path_factory.mktemp("hostile-files"), short_wav, sentences_wav)
    outside = [root / "cwd", root / "home", root / "tmp"]
    for folder in outside:
        folder.mkdir()
    with serve(
        root / "server",
        settings.resolved_models_dir,
        cwd=outside[0],
        HOME=str(outside[1]),
        TMPDIR=str(outside[2]),
        STT_MAX_UPLOAD_MB=str(MAX_UPLOAD_MB),
        STT_MAX_AUDIO_SECONDS=str(MAX_AUDIO_SECONDS),
        STT_REQUEST_IDLE_TIMEOUT_SECONDS=str(IDLE_SECONDS),
    ) as instance:
        worker = instance.wait_for_ready_worker()
        yield Hostile(instance, root, {folder: _tree(folder) for folder in outside}, worker, files)


# --- how each case is sent --------------------------------------------------------------------------------------


def _multipart(*parts: tuple[bytes, bytes], boundary: bytes = b"hostile") -> tuple[bytes, dict[str, str]]:
    """A multipart body from (Content-Disposition parameters, payload) pairs, byte for byte as given."""
    body = b"".join(b"--" + boundary + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + payload
                    + b"\r\n" for disposition, payload in parts)  # fmt: skip
    return body + b"--" + boundary + b"--\r\n", {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}


def _file_part(data: bytes, filename: bytes = b"a.wav") -> tuple[bytes, bytes]:
    return b'name="file"; filename="' + filename + b'"', data


def _field(name: str, value: bytes) -> tuple[bytes, bytes]:
    return b'name="' + name.encode() + b'"', value


def _raw_exchange(url: str, chunks: list[bytes], pause: float = 0.0) -> tuple[int, str]:
    """Send ``chunks`` over a bare socket (pausing after each), then read the answer: status and body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
            time.sleep(pause)
        received = b""
        try:
            while part := sock.recv(65536):
                received += part
        except OSError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, body.decode(errors="replace")


Send = Callable[[Hostile], httpx.Response | tuple[int, str]]
SendHttp = Callable[[Hostile], httpx.Response]


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    send: Send
    status: int
    message: str
    """A fragment the answer's ``detail`` must contain (or, for an accepted upload, the job's filename)."""


def upload(name: str, form: dict[str, str] | None = None, endpoint: str = "/transcribe/async") -> Send:
    def send(h: Hostile) -> httpx.Response:
        path = h.files[name]
        with path.open("rb") as f:
            return httpx.post(f"{h.url}{endpoint}", files={"file": (path.name, f)}, data=form or {}, timeout=120)

    return send


def raw_body(*parts: tuple[bytes, bytes], headers: dict[str, str] | None = None) -> SendHttp:
    def send(h: Hostile) -> httpx.Response:
        body, multipart_headers = _multipart(*parts)
        return httpx.post(f"{h.url}/transcribe/async", content=body, headers=headers or multipart_headers, timeout=60)

    return send


def short_with(*fields: tuple[bytes, bytes], filename: bytes = b"a.wav") -> SendHttp:
    def send(h: Hostile) -> httpx.Response:
        return raw_body(_file_part(h.files["short.wav"].read_bytes(), filename), *fields)(h)

    return send


def get(path: str) -> Send:
    return lambda h: httpx.get(f"{h.url}{path}", timeout=30)


def chunked_too_big(h: Hostile) -> httpx.Response:
    head, headers = _multipart(_file_part(b""))
    start = head.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"

    def body() -> Iterator[bytes]:
        yield start
        for _ in range(MAX_UPLOAD_MB + 1):
            yield b"\0" * (1 << 20)
        yield b"\r\n--hostile--\r\n"

    return httpx.post(f"{h.url}/transcribe/async", content=body(), headers=headers, timeout=60)


def declared_too_big(h: Hostile) -> tuple[int, str]:
    head = (f"POST /transcribe/async HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=hostile\r\n"
            f"Content-Length: {(MAX_UPLOAD_MB + 1) << 20}\r\n\r\n").encode()  # fmt: skip
    return _raw_exchange(h.url, [head, b"--hostile\r\n"])


def slow_loris_upload(h: Hostile) -> tuple[int, str]:
    body, _ = _multipart(_file_part(h.files["short.wav"].read_bytes()))
    head = (f"POST /transcribe/async HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=hostile\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    return _raw_exchange(h.url, [head, body[:1000]], pause=IDLE_SECONDS + 2)


def slow_loris_head(h: Hostile) -> tuple[int, str]:
    return _raw_exchange(h.url, [b"GET /health HTTP/1.1\r\n", b"X-Slow: 1\r\n"], pause=IDLE_SECONDS + 2)


def huge_header(h: Hostile) -> httpx.Response:
    return httpx.get(f"{h.url}/health", headers={"X-Huge": "a" * (20 << 20)}, timeout=60)


def many_parts(h: Hostile) -> httpx.Response:
    return raw_body(*[_field(f"f{i}", b"x") for i in range(MAX_PARTS + 1)])(h)


def two_files(h: Hostile) -> httpx.Response:
    wav = h.files["short.wav"].read_bytes()
    return raw_body(_file_part(wav, b"a.wav"), _file_part(wav, b"b.wav"))(h)


def long_idempotency_key(h: Hostile) -> httpx.Response:
    with h.files["short.wav"].open("rb") as f:
        return httpx.post(f"{h.url}/transcribe/async", files={"file": f}, headers={"Idempotency-Key": "k" * 10240})


TEN_KB = "a" * 10240
CASES = [
    # files
    Case("empty", "an empty file", upload("empty.wav"), 400, "is empty"),
    Case("text-as-wav", "a text file named .wav", upload("notes.wav"), 400, "not an audio or video file"),
    Case("truncated", "a WAV cut to a third", upload("cut.wav"), 400, "truncated"),
    Case("bit-flipped-header", "a WAV with every third header byte flipped", upload("flipped-header.wav"), 400,
         "not an audio or video file"),
    Case("hours-in-a-header", "a 108-byte WAV whose header declares 37 hours", upload("hours-header.wav"), 400,
         "truncated"),
    Case("silence-over-limit", f"{MAX_AUDIO_SECONDS + 5} s of silence in 300 KB of Opus (limit {MAX_AUDIO_SECONDS} s)",
         upload("silence-over.opus"), 413, f"the limit is {MAX_AUDIO_SECONDS} s"),
    Case("video-without-audio", "an MP4 with no audio stream", upload("silent.mp4"), 400, "no audio stream"),
    Case("over-size-declared", f"Content-Length of {MAX_UPLOAD_MB + 1} MB (limit {MAX_UPLOAD_MB} MB), body not sent",
         declared_too_big, 413, "upload limit"),
    Case("over-size-chunked", f"a chunked body of {MAX_UPLOAD_MB + 1} MB with no Content-Length", chunked_too_big, 413,
         "upload limit"),
    # fields
    Case("diarization-not-bool", "enable_diarization=perhaps", short_with(_field("enable_diarization", b"perhaps")),
         422, "enable_diarization"),
    Case("language-unknown", "language=xx", short_with(_field("language", b"xx")), 400, "Unknown language code 'xx'"),
    Case("language-word", "language=klingon", short_with(_field("language", b"klingon")), 400, "Unknown language"),
    Case("language-not-utf8", "language=\\xff\\xfe (not UTF-8)", short_with(_field("language", b"\xff\xfe")), 400,
         "Unknown language"),
    Case("speakers-not-int", "num_speakers=abc", short_with(_field("num_speakers", b"abc")), 422, "num_speakers"),
    Case("speakers-zero", "num_speakers=0", short_with(_field("num_speakers", b"0")), 422, "num_speakers"),
    Case("speakers-too-many", "num_speakers=21", short_with(_field("num_speakers", b"21")), 422, "num_speakers"),
    Case("speakers-negative", "max_speakers=-1", short_with(_field("max_speakers", b"-1")), 422, "max_speakers"),
    Case("speakers-huge", "min_speakers=1e400", short_with(_field("min_speakers", b"1e400")), 422, "min_speakers"),
    Case("speaker-range-inverted", "min_speakers=3, max_speakers=2",
         short_with(_field("min_speakers", b"3"), _field("max_speakers", b"2")), 400, "min_speakers"),
    Case("timeout-negative", "POST /transcribe timeout=-1", upload("short.wav", {"timeout": "-1"}, "/transcribe"), 422,
         "timeout"),
    Case("timeout-not-number", "POST /transcribe timeout=soon",
         upload("short.wav", {"timeout": "soon"}, "/transcribe"), 422, "timeout"),
    Case("timeout-huge", "POST /transcribe timeout=1e12", upload("short.wav", {"timeout": "1e12"}, "/transcribe"), 422,
         "timeout"),
    Case("callback-not-url", "callback_url=not a url", short_with(_field("callback_url", b"not a url")), 422,
         "callback_url"),
    Case("callback-loopback", "callback_url=http://127.0.0.1:9/ (this machine)",
         short_with(_field("callback_url", b"http://127.0.0.1:9/")), 400, "callback_url refused"),
    Case("duplicate-field", "language sent twice (en, then xx)",
         short_with(_field("language", b"en"), _field("language", b"xx")), 422, "Sent more than once"),
    Case("field-over-64kb", f"a language value of {MAX_FIELD_BYTES // 1024 + 1} KB",
         short_with(_field("language", b"e" * (MAX_FIELD_BYTES + 1))), 400, "longer than"),
    Case("idempotency-key-10kb", "an Idempotency-Key of 10 KB", long_idempotency_key, 400, "Idempotency-Key"),
    # bodies
    Case("two-files", "two files in the file field", two_files, 400, "one file per request"),
    Case("json-body", "a JSON body", lambda h: httpx.post(f"{h.url}/transcribe/async", json={"file": "a.wav"}), 422,
         "multipart/form-data"),
    Case("text-body", "a text/plain body", lambda h: httpx.post(f"{h.url}/transcribe/async", content=b"hello",
                                                                  headers={"content-type": "text/plain"}), 422,
         "Content-Type was text/plain"),
    Case("no-boundary", "multipart/form-data without a boundary",
         raw_body(_file_part(b"RIFF"), headers={"content-type": "multipart/form-data"}), 400, "no boundary"),
    Case("no-closing-boundary", "a multipart body cut before its closing boundary",
         lambda h: httpx.post(f"{h.url}/transcribe/async", content=_multipart(_file_part(b"RIFF"))[0][:-12],
                              headers=_multipart()[1]), 400, "ended before its closing boundary"),
    Case("part-without-name", "a part whose Content-Disposition has no name", raw_body((b'filename="a.wav"', b"x")),
         400, "has no name"),
    Case("too-many-parts", f"{MAX_PARTS + 1} form parts", many_parts, 400, f"more than {MAX_PARTS} parts"),
    Case("no-file", "a form without a file", raw_body(_field("language", b"en")), 422, "file: Field required"),
    Case("name-5000-chars", "a 5,000-character file name (the part's header line is over 4 KB)",
         short_with(filename=(MARKER + "x" * 5000 + ".wav").encode()), 400, "Maximum header size exceeded"),
    # connections
    Case("slow-loris-upload", f"an upload that stops sending after 1 KB (idle timeout {IDLE_SECONDS} s)",
         slow_loris_upload, 408, "upload stalled"),
    Case("slow-loris-headers", f"headers sent a line at a time, {IDLE_SECONDS + 2} s apart", slow_loris_head, 408,
         "request stalled"),
    Case("huge-header", "a 20 MB header", huge_header, 431, f"larger than {MAX_HEAD_BYTES // 1024} KB"),
    # job ids and queries
    Case("id-dot-dot", "GET /jobs/%2e%2e", get("/jobs/%2e%2e"), 404, "Job not found: .."),
    Case("id-traversal", "GET /jobs/..%2F..%2Fetc%2Fpasswd", get("/jobs/..%2F..%2Fetc%2Fpasswd"), 404, "Not Found"),
    Case("id-star", "GET /jobs/*", get("/jobs/*"), 404, "Job not found: *"),
    Case("id-nul", "GET /jobs/%00", get("/jobs/%00"), 404, "Job not found: ?"),
    Case("id-10kb", "GET /jobs/ + 10 KB", get(f"/jobs/{TEN_KB}"), 404, "(10240 characters)"),
    Case("delete-traversal", "DELETE /jobs/..%2F..", lambda h: httpx.delete(f"{h.url}/jobs/..%2F.."), 404, "Not Found"),
    Case("cancel-10kb", "POST /jobs/<10 KB>/cancel", lambda h: httpx.post(f"{h.url}/jobs/{TEN_KB}/cancel"), 404,
         "(10240 characters)"),
    Case("list-bad-status", "GET /jobs?status=done", get("/jobs?status=done"), 422, "status"),
    Case("list-bad-limit", "GET /jobs?limit=-1", get("/jobs?limit=-1"), 422, "limit"),
    Case("export-bad-format", "GET /jobs/{id}/export?format=pdf",
         get("/jobs/00000000-0000-4000-8000-000000000000/export?format=pdf"), 422, "format"),
]  # fmt: skip


def _answer(sent: httpx.Response | tuple[int, str]) -> tuple[int, str]:
    if isinstance(sent, httpx.Response):
        return sent.status_code, sent.text
    return sent


def _detail(body: str) -> str:
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return body
    return detail if isinstance(detail, str) else json.dumps(detail)


def _job_dirs(h: Hostile) -> set[str]:
    jobs = h.instance.data_dir / "jobs"
    return {p.name for p in jobs.iterdir()} if jobs.exists() else set()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_request_gets_a_specific_4xx(hostile: Hostile, case: Case) -> None:
    with record(
        GROUP, case.id, action=case.what, expected=f"{case.status}, detail mentions {case.message!r}; no job folder"
    ) as row:
        before = _job_dirs(hostile)
        started = time.monotonic()
        status, body = _answer(case.send(hostile))
        detail = _detail(body)
        row.observed = f"{status} {detail[:160]!r}"
        row.figures = {"answered in (s)": round(time.monotonic() - started, 2)}
        assert status == case.status, body[:500]
        assert case.message in detail
        assert _job_dirs(hostile) == before, "a refused request left a job folder"


# --- accepted, with the name cleaned ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NameCase:
    id: str
    what: str
    filename: bytes
    shown: Callable[[str], bool]
    described: str


NAME_CASES = [
    NameCase("name-traversal", "file name ../../<marker>.wav", f"../../{MARKER}.wav".encode(),
             lambda name: name == f"{MARKER}.wav", f"'{MARKER}.wav'"),
    NameCase("name-windows-path", "file name C:\\Users\\x\\<marker>.wav", f"C:\\Users\\x\\{MARKER}.wav".encode(),
             lambda name: name == f"{MARKER}.wav", f"'{MARKER}.wav'"),
    NameCase("name-control-chars", "file name with a tab, \\x01 and a newline", f"a\tb\x01c\nd {MARKER}.wav".encode(),
             lambda name: name == f"a b c d {MARKER}.wav", "control characters as spaces"),
    NameCase("name-3000-chars", "a 3,000-character file name", (MARKER + "x" * 3000 + ".wav").encode(),
             lambda name: len(name) == 255 and name.endswith(".wav"), "cut to 255 characters, extension kept"),
    NameCase("name-not-utf8", "file name with bytes that are not UTF-8", b"caf\xe9 " + MARKER.encode() + b".wav",
             lambda name: name == f"caf\ufffd {MARKER}.wav", "the bad byte shown as U+FFFD"),
    NameCase("name-bidi-override", "file name with a right-to-left override (vaw.exe spoofing)",
             f"{MARKER}\u202eexe.wav".encode(), lambda name: name == f"{MARKER}exe.wav", "the override dropped"),
    NameCase("name-decomposed", "file name in decomposed Unicode (NFD)", f"e\u0301t\u0065\u0301 {MARKER}.wav".encode(),
             lambda name: name == f"\u00e9t\u00e9 {MARKER}.wav", "NFC"),
]  # fmt: skip


@pytest.mark.parametrize("case", NAME_CASES, ids=[c.id for c in NAME_CASES])
def test_hostile_file_names_are_accepted_cleaned_and_never_used_on_disk(hostile: Hostile, case: NameCase) -> None:
    with record(
        GROUP, case.id, action=case.what,
        expected=f"200; the job's filename {case.described}; the upload stored as upload.wav in its job folder",
    ) as row:  # fmt: skip
        status, body = _answer(short_with(filename=case.filename)(hostile))
        assert status == 200, body
        job_id = json.loads(body)["job_id"]
        job = httpx.get(f"{hostile.url}/jobs/{job_id}").json()
        stored = sorted(p.name for p in (hostile.instance.data_dir / "jobs" / job_id).iterdir())
        httpx.post(f"{hostile.url}/jobs/{job_id}/cancel")
        shown = job["filename"][:80] + ("…" if len(job["filename"]) > 80 else "")
        row.observed = f"200, filename {shown!r}, stored as {stored}"
        assert case.shown(job["filename"]), job["filename"]
        assert "upload.wav" in stored and not any(MARKER in name for name in stored)


# --- accepted audio that is odd but valid -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "what", "text"),
    [
        ("silence-near-limit.opus", f"{MAX_AUDIO_SECONDS - 5} s of silence in 300 KB of Opus (38 MB decoded)", ""),
        ("flipped-samples.wav", "50 s of speech with one bit flipped per ~1000 bytes of samples", None),
    ],
    ids=["silence-near-limit", "bit-flipped-samples"],
)
def test_odd_but_valid_audio_is_transcribed(hostile: Hostile, name: str, what: str, text: str | None) -> None:
    with record(
        GROUP, name.split(".")[0], action=what,
        expected="200 (it is audio); the job completes (silence: an empty transcript) and the worker lives on",
    ) as row:  # fmt: skip
        job = live.wait_job(hostile.url, live.submit(hostile.url, hostile.files[name]), timeout=600)
        row.observed = f"{job['status']}, {len(job.get('result', {}).get('text', ''))} characters of text"
        assert job["status"] == "completed", job
        if text is not None:
            assert job["result"]["text"].strip() == text


# --- afterwards ---------------------------------------------------------------------------------------------------


def test_the_server_is_unharmed_and_wrote_nothing_outside_its_data_dir(hostile: Hostile) -> None:
    with record(
        GROUP,
        "afterwards",
        action=f"after the {len(CASES) + len(NAME_CASES) + 2} cases above: check the processes, a normal job, "
        "/metrics, and every folder the server could write to",
        expected="same API and worker processes; a normal job transcribed right; no 5xx served; nothing written "
        "outside the data dir, and no client file name anywhere on disk",
    ) as row:
        assert hostile.instance.process.poll() is None, "serve died"
        job = live.wait_job(hostile.url, live.submit(hostile.url, hostile.files["short.wav"]))
        error = wer(SHORT_TEXT, job["result"]["text"])
        metrics = httpx.get(f"{hostile.url}/metrics").text
        server_errors = [line for line in metrics.splitlines() if line.startswith("stt_http_requests_total")
                         and re.search(r'status="5\d\d"', line)]  # fmt: skip
        written = {str(p) for folder, before in hostile.outside.items() for p in _tree(folder) - before}
        named = [str(p) for p in hostile.root.rglob(f"*{MARKER}*")]
        workers = [p.pid for p in hostile.instance.workers()]
        row.observed = (
            f"worker {'the same' if workers == [hostile.worker] else f'replaced: {workers}'}; job {job['status']}, "
            f"WER {error:.0%}; 5xx lines: {len(server_errors)}; written outside: {sorted(written) or 'nothing'}; "
            f"file names on disk: {named or 'none'}"
        )
        assert workers == [hostile.worker], "the worker was replaced: it died on some input"
        assert error <= SHORT_CLIP_WER_BOUND
        assert server_errors == []
        assert not written, f"written outside the data dir: {sorted(written)}"
        assert not named
