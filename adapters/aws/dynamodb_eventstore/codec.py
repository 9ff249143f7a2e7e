"""The binary frame that packs many stored events into one DynamoDB item attribute.

Layout (big-endian), format 1:

    u8  format (1)
    u32 originator count, then per originator: u8 kind (0 UUID: 16 bytes | 1 str: u32 length, UTF-8)
    u32 topic count, then per topic: u32 length, UTF-8
    u32 event count, then per event: u32 originator index, i64 version, u32 topic index,
                                     u32 state length, state bytes

Originators and topics are written once per frame, so a save of 100 events of one aggregate repeats
neither its id nor its topic. States are stored as the mapper made them: already compressed and
encrypted when COMPRESSOR_TOPIC / CIPHER_KEY are set, so this layer never sees plaintext.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import DataError, StoredEvent

FORMAT = 1
_U8 = struct.Struct(">B")
_U32 = struct.Struct(">I")
_EVENT = struct.Struct(">IqII")
_UUID_KIND, _STR_KIND = 0, 1


def encode_events(events: Sequence[StoredEvent]) -> bytes:
    """Pack events, in the given order, into one frame."""
    originators: dict[UUID | str, int] = {}
    topics: dict[str, int] = {}
    body = bytearray()
    try:
        for event in events:
            o = originators.setdefault(event.originator_id, len(originators))
            t = topics.setdefault(event.topic, len(topics))
            body += _EVENT.pack(o, event.originator_version, t, len(event.state))
            body += event.state
    except struct.error as exc:
        raise DataError(f"Cannot store event {event!r}: {exc}") from exc
    out = bytearray(_U8.pack(FORMAT))
    out += _U32.pack(len(originators))
    for originator_id in originators:
        out += _encode_originator(originator_id)
    out += _U32.pack(len(topics))
    for topic in topics:
        out += _encode_text(topic)
    out += _U32.pack(len(events))
    out += body
    return bytes(out)


def decode_events(frame: bytes) -> list[StoredEvent]:
    """Unpack a frame into its events, in stored order."""
    reader = _Reader(frame)
    if reader.u8() != FORMAT:
        raise DataError("Unknown event frame format: was it written by a newer concord?")
    originators = [reader.originator() for _ in range(reader.u32())]
    topics = [reader.text() for _ in range(reader.u32())]
    events = []
    for _ in range(reader.u32()):
        o, version, t, size = reader.unpack(_EVENT)
        events.append(StoredEvent(originators[o], version, topics[t], reader.take(size)))
    return events


def _encode_originator(originator_id: UUID | str) -> bytes:
    if isinstance(originator_id, UUID):
        return _U8.pack(_UUID_KIND) + originator_id.bytes
    return _U8.pack(_STR_KIND) + _encode_text(originator_id)


def _encode_text(text: str) -> bytes:
    data = text.encode("utf-8")
    return _U32.pack(len(data)) + data


class _Reader:
    """A cursor over a frame; every read is bounds-checked so a truncated item fails loudly."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def take(self, size: int) -> bytes:
        end = self._pos + size
        if end > len(self._view):
            raise DataError("Truncated event frame")
        chunk = self._view[self._pos : end].tobytes()
        self._pos = end
        return chunk

    def unpack(self, layout: struct.Struct) -> tuple[int, ...]:
        if self._pos + layout.size > len(self._view):
            raise DataError("Truncated event frame")
        values = layout.unpack_from(self._view, self._pos)
        self._pos += layout.size
        return values

    def u8(self) -> int:
        return self.unpack(_U8)[0]

    def u32(self) -> int:
        return self.unpack(_U32)[0]

    def text(self) -> str:
        return self.take(self.u32()).decode("utf-8")

    def originator(self) -> UUID | str:
        if self.u8() == _UUID_KIND:
            return UUID(bytes=self.take(16))
        return self.text()
