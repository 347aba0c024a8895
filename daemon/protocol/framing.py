"""Binary WebSocket frames (audio both ways), big-endian, for protocol versions 1, 2 and 3.

- v1: the frame is one raw Opus packet.
- v2: `u16 version | u16 type | u32 reserved | u32 timestamp_ms | u32 payload_size | payload`.
- v3: `u8 type | u8 reserved | u16 payload_size | payload`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .messages import ProtocolError

__all__ = [
    "FRAME_JSON",
    "FRAME_OPUS",
    "HEADER_SIZE",
    "MAX_PAYLOAD_SIZE",
    "SUPPORTED_VERSIONS",
    "BinaryFrame",
    "FramingError",
    "decode_frame",
    "encode_frame",
]

FRAME_OPUS = 0
FRAME_JSON = 1

SUPPORTED_VERSIONS: tuple[int, ...] = (1, 2, 3)

_V2 = struct.Struct(">HHIII")
_V3 = struct.Struct(">BBH")

HEADER_SIZE: dict[int, int] = {1: 0, 2: _V2.size, 3: _V3.size}
MAX_PAYLOAD_SIZE: dict[int, int] = {1: 2**32 - 1, 2: 2**32 - 1, 3: 2**16 - 1}
_MAX_TYPE: dict[int, int] = {2: 2**16 - 1, 3: 2**8 - 1}


class FramingError(ProtocolError):
    """A binary frame that cannot be decoded (or encoded) for the negotiated version."""


@dataclass(frozen=True, slots=True)
class BinaryFrame:
    """One binary frame: `type` is FRAME_OPUS or FRAME_JSON; `timestamp_ms` exists in v2 only."""

    type: int
    payload: bytes
    timestamp_ms: int = 0


def _check_version(version: int) -> None:
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise FramingError(f"unknown binary protocol version {version!r}")


def encode_frame(version: int, frame: BinaryFrame) -> bytes:
    """Serialise `frame` for protocol `version`.

    v1 can only carry Opus (type and timestamp are dropped). In v2 the timestamp is taken
    modulo 2**32 (it wraps after ~49 days, as a u32 millisecond clock does).
    """
    _check_version(version)
    payload = bytes(frame.payload)
    if version == 1:
        if frame.type != FRAME_OPUS:
            raise FramingError("protocol version 1 carries only Opus frames")
        return payload
    if not 0 <= frame.type <= _MAX_TYPE[version]:
        raise FramingError(f"frame type {frame.type} does not fit protocol version {version}")
    if len(payload) > MAX_PAYLOAD_SIZE[version]:
        raise FramingError(f"payload of {len(payload)} bytes too large for version {version}")
    if version == 2:
        if frame.timestamp_ms < 0:
            raise FramingError("timestamp_ms must not be negative")
        header = _V2.pack(2, frame.type, 0, frame.timestamp_ms % 2**32, len(payload))
    else:
        header = _V3.pack(frame.type, 0, len(payload))
    return header + payload


def decode_frame(version: int, data: bytes) -> BinaryFrame:
    """Parse one binary frame received under protocol `version`.

    Raises `FramingError` for an unknown version, a short header, or a `payload_size` that does
    not match the frame length exactly (missing or trailing bytes). The v2 header's version and
    reserved fields are ignored, as the firmware does.
    """
    _check_version(version)
    data = bytes(data)
    if version == 1:
        return BinaryFrame(type=FRAME_OPUS, payload=data)
    if version == 2:
        if len(data) < _V2.size:
            raise FramingError(f"short v2 header: {len(data)} bytes")
        _ver, ftype, _reserved, timestamp, size = _V2.unpack_from(data)
        header = _V2.size
    else:
        if len(data) < _V3.size:
            raise FramingError(f"short v3 header: {len(data)} bytes")
        ftype, _reserved, size = _V3.unpack_from(data)
        timestamp = 0
        header = _V3.size
    actual = len(data) - header
    if size > actual:
        raise FramingError(f"truncated frame: payload_size {size}, got {actual} bytes")
    if size < actual:
        raise FramingError(f"trailing bytes: payload_size {size}, got {actual} bytes")
    return BinaryFrame(type=ftype, payload=data[header:], timestamp_ms=timestamp)
