"""The streaming multipart reader: bodies built by httpx (a real client's encoder), fed in small chunks."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from stt_studio.api.form_stream import (
    MAX_FIELD_BYTES,
    FileTooLargeError,
    FormError,
    NotMultipartError,
    StreamedForm,
    stream_form,
)

AUDIO = bytes(range(256)) * 300  # 76.8 KB whose bytes include CR, LF and dashes


def _encoded(**kwargs: Any) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://test/transcribe/async", **kwargs)
    return request.read(), request.headers["content-type"]


class _Body:
    """An ASGI receive() that hands the body over in ``chunk``-byte messages and counts what it handed."""

    def __init__(self, body: bytes, chunk: int, disconnect_after: int | None = None) -> None:
        self.chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
        self.disconnect_after = disconnect_after
        self.sent = 0

    async def __call__(self) -> dict[str, Any]:
        if self.sent == self.disconnect_after or self.sent >= len(self.chunks):
            return {"type": "http.disconnect"}
        self.sent += 1
        return {"type": "http.request", "body": self.chunks[self.sent - 1], "more_body": self.sent < len(self.chunks)}


def _stream(
    receive: _Body, content_type: str | None, tmp_path: Path, limit: int = 10**9
) -> tuple[StreamedForm, dict[str, bytes]]:
    """Read the form; returns it and, per opened file, the bytes that reached the disk."""
    headers = [(b"content-type", content_type.encode())] if content_type is not None else []
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)
    opened: dict[str, Path] = {}

    def file_path(filename: str) -> Path:
        opened[filename] = tmp_path / "upload"
        return opened[filename]

    try:
        form = asyncio.run(stream_form(request, file_field="file", file_path=file_path, max_file_bytes=limit))
    finally:
        assert not _open_descriptors(opened.values())  # on errors too: the caller then removes the file
    assert form.path == (opened.get(form.filename) if form.filename is not None else None)
    return form, {name: path.read_bytes() for name, path in opened.items()}


def _open_descriptors(paths: Iterable[Path]) -> list[Path]:
    """The files among ``paths`` that this process still has open."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the descriptor listdir itself used is gone by now
            held.add(Path(os.readlink(f"/proc/self/fd/{fd}")))
    return [path for path in paths if path.resolve() in held]


def _read(
    body: bytes, content_type: str | None, tmp_path: Path, chunk: int = 1000
) -> tuple[StreamedForm, dict[str, bytes]]:
    return _stream(_Body(body, chunk), content_type, tmp_path)


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_the_file_goes_to_disk_byte_for_byte_and_the_fields_to_memory(tmp_path: Path, chunk: int) -> None:
    body, content_type = _encoded(
        files={"file": ("meeting ä.wav", AUDIO, "audio/wav")},
        data={"enable_diarization": "true", "language": "en"},
    )
    form, files = _read(body, content_type, tmp_path, chunk=chunk)
    assert form.fields == {"enable_diarization": "true", "language": "en"}
    assert form.filename == "meeting ä.wav"
    assert form.size == len(AUDIO)
    assert files == {"meeting ä.wav": AUDIO}


def test_a_large_file_arrives_byte_for_byte_too(tmp_path: Path) -> None:
    """Past the first 8 MB the writes move to the thread pool in batches."""
    big = AUDIO * 150  # 11.5 MB
    body, content_type = _encoded(files={"file": ("long.flac", big)}, data={"language": "en"})
    form, files = _read(body, content_type, tmp_path, chunk=65536)
    assert files == {"long.flac": big} and form.size == len(big) and form.fields == {"language": "en"}


def test_fields_may_come_before_or_after_the_file(tmp_path: Path) -> None:
    body, content_type = _encoded(
        files=[("language", (None, b"de")), ("file", ("a.mp3", AUDIO)), ("num_speakers", (None, b"2"))]
    )
    form, files = _read(body, content_type, tmp_path, chunk=333)
    assert form.fields == {"language": "de", "num_speakers": "2"}
    assert files == {"a.mp3": AUDIO}


def test_the_size_limit_stops_the_upload_as_it_arrives(tmp_path: Path) -> None:
    body, content_type = _encoded(files={"file": ("big.wav", AUDIO * 20)})  # 1.5 MB
    receive = _Body(body, 4096)
    with pytest.raises(FileTooLargeError):
        _stream(receive, content_type, tmp_path, limit=100_000)
    assert receive.sent < len(receive.chunks) / 10  # it stopped soon after 100 KB, not at the end of the body
    assert (tmp_path / "upload").stat().st_size <= 100_000


def test_no_file_part_and_a_browsers_empty_file_input_both_mean_no_file(tmp_path: Path) -> None:
    body, content_type = _encoded(files=[("language", (None, b"en"))])
    assert _read(body, content_type, tmp_path)[0] == StreamedForm(fields={"language": "en"})
    browser = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        b'--b\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n--b--\r\n'
    )
    form, files = _read(browser, "multipart/form-data; boundary=b", tmp_path)
    assert form.filename is None and files == {}
    assert form.fields == {"language": "en"}


def test_other_file_parts_are_read_past(tmp_path: Path) -> None:
    body, content_type = _encoded(files=[("attachment", ("x.txt", b"x" * 5000)), ("file", ("a.wav", AUDIO))])
    form, files = _read(body, content_type, tmp_path, chunk=100)
    assert files == {"a.wav": AUDIO} and form.fields == {}


@pytest.mark.parametrize(
    ("body", "content_type", "error", "message"),
    [
        (b"{}", "application/json", NotMultipartError, "Content-Type was application/json"),
        (b"", None, NotMultipartError, "Content-Type was none"),
        (b"--x\r\n", "multipart/form-data", FormError, "no boundary"),
        (b"--xyz\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz",
         FormError, "has no name"),
        (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF....",
         "multipart/form-data; boundary=xyz", FormError, "ended before its closing boundary"),
        (b"garbage without any boundary", "multipart/form-data; boundary=xyz", FormError, "malformed"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_the_form_say_why(
    tmp_path: Path, body: bytes, content_type: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _read(body, content_type, tmp_path)


def test_two_files_in_the_file_field_are_refused(tmp_path: Path) -> None:
    body, content_type = _encoded(files=[("file", ("a.wav", AUDIO)), ("file", ("b.wav", AUDIO))])
    with pytest.raises(FormError, match="one file per request"):
        _read(body, content_type, tmp_path)


def test_a_huge_text_field_is_refused(tmp_path: Path) -> None:
    body, content_type = _encoded(files={"file": ("a.wav", AUDIO)}, data={"language": "e" * (MAX_FIELD_BYTES + 1)})
    with pytest.raises(FormError, match="language: the value is longer than"):
        _read(body, content_type, tmp_path)


def test_a_long_field_may_hold_its_allowance_over_all_its_values_together(tmp_path: Path) -> None:
    """``long_fields`` (OpenAI's reference clips as data URLs): each value may pass MAX_FIELD_BYTES, but all the
    values of the field together stop at the allowance while they are read, not after."""
    name, value = "refs[]", "d" * (MAX_FIELD_BYTES + 10)

    def read(count: int) -> StreamedForm:
        body, content_type = _encoded(files={"file": ("a.wav", AUDIO)}, data={name: [value] * count})
        headers = [(b"content-type", content_type.encode())]
        request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, _Body(body, 4096))
        return asyncio.run(
            stream_form(
                request,
                file_field="file",
                file_path=lambda _name: tmp_path / "upload",
                max_file_bytes=10**9,
                long_fields={name: 2 * len(value)},
            )
        )

    assert read(2).values[name] == [value, value]
    with pytest.raises(FormError, match=r"refs\[\]: its values are longer than 0\.125 MB together"):
        read(3)


def test_an_interrupted_upload_is_an_error_and_its_file_is_closed(tmp_path: Path) -> None:
    body, content_type = _encoded(files={"file": ("a.wav", AUDIO)})
    with pytest.raises(FormError, match="interrupted"):
        _stream(_Body(body, 1000, disconnect_after=20), content_type, tmp_path)
