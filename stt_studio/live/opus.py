"""An Ogg/Opus stream that arrives in pieces (WebSocket frames cut anywhere) → 16 kHz mono samples as it comes.

What ``ffmpeg -c:a libopus -f ogg``, ``opusenc`` and browsers' MediaRecorder (``audio/ogg; codecs=opus``) write.
The Ogg pages are split here (RFC 3533: a few lines, and it lets each packet be decoded the moment its page is
complete); the packets are decoded by FFmpeg's Opus decoder through PyAV (installed with faster-whisper) and
resampled to 16 kHz mono by its resampler. Anything that is not such a stream raises ``OpusStreamError``.
"""

from __future__ import annotations

import struct

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

SAMPLE_RATE = 16_000
OPUS_RATE = 48_000
CAPTURE_PATTERN = b"OggS"
PAGE_HEADER = struct.Struct("<4sBBqIIIB")
"""Capture pattern, version, header type, granule position, serial, page sequence, CRC, segment count."""
MAX_PENDING_BYTES = 1 << 20
"""An unfinished page or packet larger than this is not Ogg/Opus that anybody sends."""


class OpusStreamError(Exception):
    """The bytes are not an Ogg/Opus stream (the message says what was wrong)."""


class OggOpusDecoder:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._packet = bytearray()
        """A packet continued on the next page."""
        self._packets_seen = 0
        self._skip = 0
        """Samples (at 16 kHz) still to drop at the start: the encoder's pre-skip."""
        self._codec: AudioCodecContext | None = None
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def feed(self, data: bytes) -> np.ndarray:
        """The samples decoded from the pages that ``data`` completes (maybe none yet)."""
        self._buffer += data
        if len(self._buffer) > MAX_PENDING_BYTES:
            raise OpusStreamError("an Ogg page of more than 1 MiB: not an Ogg/Opus stream")
        out = [self._decode(packet) for packet in self._complete_packets()]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def _complete_packets(self) -> list[bytes]:
        packets = []
        while len(self._buffer) >= PAGE_HEADER.size:
            pattern, version, _, _, _, _, _, segments = PAGE_HEADER.unpack_from(self._buffer)
            if pattern != CAPTURE_PATTERN or version != 0:
                raise OpusStreamError("not an Ogg stream (no Ogg page where one should start)")
            table_end = PAGE_HEADER.size + segments
            if len(self._buffer) < table_end:
                break
            lacing = self._buffer[PAGE_HEADER.size : table_end]
            if len(self._buffer) < table_end + sum(lacing):
                break
            position = table_end
            for size in lacing:
                self._packet += self._buffer[position : position + size]
                position += size
                if size < 255:  # a packet ends with a segment shorter than 255 bytes
                    packets.append(bytes(self._packet))
                    self._packet.clear()
            del self._buffer[:position]
            if len(self._packet) > MAX_PENDING_BYTES:
                raise OpusStreamError("an Opus packet of more than 1 MiB: not an Ogg/Opus stream")
        return packets

    def _decode(self, packet: bytes) -> np.ndarray:
        self._packets_seen += 1
        if self._packets_seen == 1:
            self._start(packet)
            return np.zeros(0, np.float32)
        if self._packets_seen == 2:
            if not packet.startswith(b"OpusTags"):
                raise OpusStreamError("the Ogg/Opus stream has no OpusTags packet after its OpusHead")
            return np.zeros(0, np.float32)
        assert self._codec is not None
        try:
            frames = self._codec.decode(av.Packet(packet))
            samples = [frame.to_ndarray().reshape(-1) for f in frames for frame in self._resampler.resample(f)]
        except (av.error.FFmpegError, ValueError) as exc:
            raise OpusStreamError(f"an Opus packet could not be decoded ({exc})") from exc
        decoded = np.concatenate(samples).astype(np.float32) if samples else np.zeros(0, np.float32)
        dropped = min(self._skip, len(decoded))
        self._skip -= dropped
        return decoded[dropped:]

    def _start(self, head: bytes) -> None:
        if not head.startswith(b"OpusHead") or len(head) < 19:
            raise OpusStreamError("an Ogg stream, but not of Opus (its first packet is no OpusHead)")
        channels, pre_skip = head[9], struct.unpack_from("<H", head, 10)[0]
        if not 1 <= channels <= 2:
            raise OpusStreamError(f"Opus with {channels} channels: send mono or stereo")
        codec = av.CodecContext.create("opus", "r")
        assert isinstance(codec, AudioCodecContext)
        codec.sample_rate = OPUS_RATE
        codec.layout = "stereo" if channels == 2 else "mono"
        codec.extradata = head
        self._codec = codec
        self._skip = pre_skip * SAMPLE_RATE // OPUS_RATE
