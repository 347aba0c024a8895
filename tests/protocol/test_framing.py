"""Tests for daemon.protocol.framing: binary frames v1/v2/v3."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.protocol import (
    FRAME_JSON,
    FRAME_OPUS,
    BinaryFrame,
    FramingError,
    ProtocolError,
    decode_frame,
    encode_frame,
)

OPUS = bytes(range(1, 121))


def test_constants() -> None:
    assert FRAME_OPUS == 0
    assert FRAME_JSON == 1
    assert issubclass(FramingError, ProtocolError)


# --------------------------------------------------------------------------- v1


def test_v1_is_raw_opus() -> None:
    frame = BinaryFrame(FRAME_OPUS, OPUS)
    assert encode_frame(1, frame) == OPUS
    assert decode_frame(1, OPUS) == frame


def test_v1_empty_payload() -> None:
    assert decode_frame(1, b"") == BinaryFrame(FRAME_OPUS, b"")
    assert encode_frame(1, BinaryFrame(FRAME_OPUS, b"")) == b""


def test_v1_cannot_carry_json() -> None:
    with pytest.raises(FramingError):
        encode_frame(1, BinaryFrame(FRAME_JSON, b"{}"))


# --------------------------------------------------------------------------- v2


def test_v2_layout() -> None:
    data = encode_frame(2, BinaryFrame(FRAME_OPUS, b"\x01\x02\x03", timestamp_ms=0x01020304))
    assert data == (
        b"\x00\x02"  # version
        b"\x00\x00"  # type
        b"\x00\x00\x00\x00"  # reserved
        b"\x01\x02\x03\x04"  # timestamp
        b"\x00\x00\x00\x03"  # payload size
        b"\x01\x02\x03"
    )


def test_v2_round_trip_with_timestamp() -> None:
    frame = BinaryFrame(FRAME_OPUS, OPUS, timestamp_ms=123456)
    data = encode_frame(2, frame)
    assert len(data) == 16 + len(OPUS)
    assert decode_frame(2, data) == frame


def test_v2_json_type_round_trip() -> None:
    frame = BinaryFrame(FRAME_JSON, b'{"type":"abort"}', timestamp_ms=7)
    assert decode_frame(2, encode_frame(2, frame)) == frame


def test_v2_empty_payload() -> None:
    frame = BinaryFrame(FRAME_OPUS, b"", timestamp_ms=5)
    data = encode_frame(2, frame)
    assert len(data) == 16
    assert decode_frame(2, data) == frame


def test_v2_large_payload() -> None:
    payload = bytes(range(256)) * 1024
    frame = BinaryFrame(FRAME_OPUS, payload)
    assert decode_frame(2, encode_frame(2, frame)) == frame


def test_v2_timestamp_wraps_and_rejects_negative() -> None:
    data = encode_frame(2, BinaryFrame(FRAME_OPUS, b"x", timestamp_ms=2**32 + 5))
    assert decode_frame(2, data).timestamp_ms == 5
    with pytest.raises(FramingError):
        encode_frame(2, BinaryFrame(FRAME_OPUS, b"x", timestamp_ms=-1))


def test_v2_header_version_and_reserved_ignored() -> None:
    data = struct.pack(">HHIII", 9, FRAME_OPUS, 0xDEADBEEF, 42, 2) + b"ab"
    assert decode_frame(2, data) == BinaryFrame(FRAME_OPUS, b"ab", timestamp_ms=42)


@pytest.mark.parametrize("length", [0, 1, 15])
def test_v2_short_header(length: int) -> None:
    with pytest.raises(FramingError, match="short"):
        decode_frame(2, b"\x00" * length)


def test_v2_truncated_payload() -> None:
    data = encode_frame(2, BinaryFrame(FRAME_OPUS, OPUS))
    with pytest.raises(FramingError, match="truncated"):
        decode_frame(2, data[:-1])


def test_v2_trailing_bytes() -> None:
    data = encode_frame(2, BinaryFrame(FRAME_OPUS, OPUS))
    with pytest.raises(FramingError, match="trailing"):
        decode_frame(2, data + b"\x00")


def test_v2_oversized_payload_size_field() -> None:
    data = struct.pack(">HHIII", 2, 0, 0, 0, 0xFFFFFFFF) + b"abc"
    with pytest.raises(FramingError):
        decode_frame(2, data)


def test_v2_type_out_of_range() -> None:
    with pytest.raises(FramingError):
        encode_frame(2, BinaryFrame(70000, b""))


# --------------------------------------------------------------------------- v3


def test_v3_layout() -> None:
    data = encode_frame(3, BinaryFrame(FRAME_JSON, b"{}"))
    assert data == b"\x01\x00\x00\x02{}"


def test_v3_round_trip_drops_timestamp() -> None:
    data = encode_frame(3, BinaryFrame(FRAME_OPUS, OPUS, timestamp_ms=99))
    assert len(data) == 4 + len(OPUS)
    assert decode_frame(3, data) == BinaryFrame(FRAME_OPUS, OPUS, timestamp_ms=0)


def test_v3_empty_payload() -> None:
    assert encode_frame(3, BinaryFrame(FRAME_OPUS, b"")) == b"\x00\x00\x00\x00"
    assert decode_frame(3, b"\x00\x00\x00\x00") == BinaryFrame(FRAME_OPUS, b"")


def test_v3_max_payload() -> None:
    payload = b"\xab" * 65535
    data = encode_frame(3, BinaryFrame(FRAME_OPUS, payload))
    assert data[:4] == b"\x00\x00\xff\xff"
    assert decode_frame(3, data).payload == payload


def test_v3_payload_too_large_to_encode() -> None:
    with pytest.raises(FramingError, match="too large"):
        encode_frame(3, BinaryFrame(FRAME_OPUS, b"\x00" * 65536))


@pytest.mark.parametrize("length", [0, 1, 3])
def test_v3_short_header(length: int) -> None:
    with pytest.raises(FramingError, match="short"):
        decode_frame(3, b"\x00" * length)


def test_v3_truncated_and_trailing() -> None:
    data = encode_frame(3, BinaryFrame(FRAME_OPUS, OPUS))
    with pytest.raises(FramingError, match="truncated"):
        decode_frame(3, data[:-1])
    with pytest.raises(FramingError, match="trailing"):
        decode_frame(3, data + b"\x00\x00")


def test_v3_type_out_of_range() -> None:
    with pytest.raises(FramingError):
        encode_frame(3, BinaryFrame(256, b""))
    with pytest.raises(FramingError):
        encode_frame(3, BinaryFrame(-1, b""))


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize("version", [0, 4, -1, 255])
def test_unknown_version(version: int) -> None:
    with pytest.raises(FramingError, match="version"):
        decode_frame(version, b"\x00" * 32)
    with pytest.raises(FramingError, match="version"):
        encode_frame(version, BinaryFrame(FRAME_OPUS, b""))


def test_bytes_like_input_accepted() -> None:
    data = encode_frame(3, BinaryFrame(FRAME_OPUS, b"abc"))
    assert decode_frame(3, bytearray(data)) == decode_frame(3, memoryview(data))
    assert isinstance(decode_frame(3, bytearray(data)).payload, bytes)


# --------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2, 3, 0, 4]), st.binary(max_size=64))
def test_decode_arbitrary_bytes_only_raises_framing_error(version: int, data: bytes) -> None:
    try:
        frame = decode_frame(version, data)
    except FramingError:
        return
    assert isinstance(frame, BinaryFrame)
    assert isinstance(frame.payload, bytes)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([2, 3]),
    st.sampled_from([FRAME_OPUS, FRAME_JSON]),
    st.binary(max_size=2048),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_encode_decode_round_trip(version: int, ftype: int, payload: bytes, ts: int) -> None:
    frame = BinaryFrame(ftype, payload, timestamp_ms=ts if version == 2 else 0)
    data = encode_frame(version, frame)
    assert decode_frame(version, data) == frame


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_v1_round_trip(payload: bytes) -> None:
    frame = BinaryFrame(FRAME_OPUS, payload)
    assert decode_frame(1, encode_frame(1, frame)) == frame
