"""Read a multipart/form-data body as it arrives: one file part straight into a file, the text fields into memory.

Starlette's form parser spools every file to a temporary file (in memory up to 1 MB, then in the temp dir, one
thread-pool hop per chunk) and the endpoint then copies it to where it belongs: a large upload is written twice
and must fit whole in the temp dir. Here the bytes are written once, to their final place. The first 8 MB are
written from the event loop (socket-read-sized chunks into the page cache cost microseconds, a thread hop far
more); beyond that, in 1 MB batches from the thread pool, so that a slow disk throttling a large upload's writes
cannot stall other requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 100
_INLINE_WRITE_BYTES = 8 * 1024 * 1024
_THREAD_WRITE_BATCH = 1024 * 1024


class FormError(ValueError):
    """The body is not the form we expect; the message says what is wrong."""


class NotMultipartError(FormError):
    """The body is not multipart/form-data at all (or there is none)."""


class FileTooLargeError(ValueError):
    pass


class UploadStalledError(ValueError):
    """Nothing arrived for the idle timeout: a stalled or slow-loris client."""


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)
    """Each text field's value (the last one, when a field is repeated)."""
    values: dict[str, list[str]] = field(default_factory=dict, compare=False)
    """Every value of each text field, in order: a list field (``timestamp_granularities[]``) repeats its name.
    (Left out of comparisons: ``fields`` says the same for every field sent once.)"""
    filename: str | None = None
    """The file part's filename; None when the body had no file part."""
    path: Path | None = None
    """Where the file part was written."""
    size: int = 0
    """Bytes written to the file."""
    sha256: str | None = None
    """The file's SHA-256 (hex), when ``stream_form`` was asked for it."""


class _PartRouter:
    """python-multipart callbacks: each part's bytes go to the open file or to a field buffer."""

    def __init__(
        self,
        file_field: str,
        file_path: Callable[[str], Path],
        max_file_bytes: int,
        hash_file: bool = False,
        long_fields: Mapping[str, int] | None = None,
    ) -> None:
        self.file_field = file_field
        self.long_fields = dict(long_fields or {})
        self._long_sizes: dict[str, int] = {}
        """Bytes read so far of each long field, over all its values."""
        self.file_path = file_path
        self.max_file_bytes = max_file_bytes
        self.file_hash = hashlib.sha256() if hash_file else None
        self.form = StreamedForm()
        self.file: BinaryIO | None = None
        self._unwritten = bytearray()
        self._parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field: bytearray | None = None  # the text field being read; None while in a file (or skipped) part
        self._field_name = ""
        self._in_file = False
        self.ended = False

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise FormError(f"The form has more than {MAX_PARTS} parts")
        self._disposition = b""
        self._field = None
        self._in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise FormError('A form part has no name (its Content-Disposition header needs name="...")')
        name = options[b"name"].decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self._field, self._field_name = bytearray(), name
        elif name == self.file_field and filename:
            if self.file is not None:
                raise FormError(f"{name}: send one file per request")
            self.form.filename = filename.decode("utf-8", "replace")
            self.form.path = self.file_path(self.form.filename)
            self.file = self.form.path.open("wb")
            self._in_file = True
        # other file parts, and a browser's empty file input (filename=""), are read past and dropped

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            assert self.file is not None
            self.form.size += end - start
            if self.form.size > self.max_file_bytes:
                raise FileTooLargeError
            self._unwritten += data[start:end]
            if self.file_hash is not None:
                self.file_hash.update(data[start:end])
        elif self._field is not None:
            name = self._field_name
            if name in self.long_fields:
                self._long_sizes[name] = self._long_sizes.get(name, 0) + end - start
                if self._long_sizes[name] > self.long_fields[name]:
                    limit = self.long_fields[name] / (1024 * 1024)
                    raise FormError(f"{name}: its values are longer than {limit:.3g} MB together")
            elif len(self._field) + end - start > MAX_FIELD_BYTES:
                raise FormError(f"{name}: the value is longer than {MAX_FIELD_BYTES // 1024} KB")
            self._field += data[start:end]

    def on_part_end(self) -> None:
        if self._field is not None:
            value = self._field.decode("utf-8", "replace")
            self.form.fields[self._field_name] = value
            self.form.values.setdefault(self._field_name, []).append(value)
        self._field = None
        self._in_file = False

    def on_end(self) -> None:
        self.ended = True

    async def write_file(self, *, final: bool = False) -> None:
        """Write what the parser has passed on so far (called between socket reads; parser callbacks are sync)."""
        if self.file is None or not self._unwritten:
            return
        if self.form.size <= _INLINE_WRITE_BYTES:
            self.file.write(self._unwritten)
            self._unwritten.clear()
        elif final or len(self._unwritten) >= _THREAD_WRITE_BATCH:
            batch = bytes(self._unwritten)
            self._unwritten.clear()
            await run_in_threadpool(self.file.write, batch)


async def stream_form(
    request: Request,
    *,
    file_field: str,
    file_path: Callable[[str], Path],
    max_file_bytes: int,
    hash_file: bool = False,
    idle_timeout: float | None = None,
    long_fields: Mapping[str, int] | None = None,
) -> StreamedForm:
    """Read the request's form. When the ``file_field`` part begins, its bytes go to ``file_path(filename)``
    (and through SHA-256 as they pass, with ``hash_file``); the file is closed on return and on every error, and
    the caller removes it on an error. Raises FormError, FileTooLargeError, or UploadStalledError when nothing
    arrives for ``idle_timeout`` seconds. A text field may hold ``MAX_FIELD_BYTES``, or what ``long_fields`` allows
    it by name (all its values together)."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        shown = content_type.decode("latin-1") or "none"
        raise NotMultipartError(f"send the file as multipart/form-data; the request's Content-Type was {shown}")
    if not params.get(b"boundary"):
        raise FormError("The multipart/form-data Content-Type has no boundary")
    router = _PartRouter(file_field, file_path, max_file_bytes, hash_file, long_fields)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": router.on_part_begin,
            "on_header_field": router.on_header_field,
            "on_header_value": router.on_header_value,
            "on_header_end": router.on_header_end,
            "on_headers_finished": router.on_headers_finished,
            "on_part_data": router.on_part_data,
            "on_part_end": router.on_part_end,
            "on_end": router.on_end,
        },
    )
    try:
        async for chunk in _arriving(request.stream(), idle_timeout):
            parser.write(chunk)
            await router.write_file()
        parser.finalize()
        await router.write_file(final=True)
        if not router.ended:
            raise FormError("The multipart/form-data body ended before its closing boundary")
    except FormParserError as exc:
        raise FormError(f"The multipart/form-data body is malformed ({exc})") from exc
    except ClientDisconnect:
        raise FormError("The upload was interrupted before the body was complete") from None
    finally:
        if router.file is not None:
            router.file.close()
    if router.file_hash is not None and router.file is not None:
        router.form.sha256 = router.file_hash.hexdigest()
    return router.form


async def _arriving(chunks: AsyncIterator[bytes], idle_timeout: float | None) -> AsyncIterator[bytes]:
    """``chunks``, or UploadStalledError when the next one takes longer than ``idle_timeout`` to arrive."""
    while True:
        try:
            if idle_timeout is None:
                chunk = await anext(chunks)
            elif sys.version_info >= (3, 11):
                async with asyncio.timeout(idle_timeout):  # no task per chunk, unlike wait_for
                    chunk = await anext(chunks)
            else:
                chunk = await asyncio.wait_for(anext(chunks), idle_timeout)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise UploadStalledError(f"The upload stalled: nothing arrived for {idle_timeout:g} s") from None
        yield chunk
