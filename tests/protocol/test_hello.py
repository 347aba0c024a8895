"""Tests for daemon.protocol.hello: device identity and the server hello."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from daemon.protocol import (
    DEFAULT_SERVER_AUDIO,
    AudioParams,
    ClientHello,
    DeviceIdentity,
    ProtocolError,
    ServerHello,
    encode_server_message,
    identity_from_request,
    negotiate_hello,
    parse_bearer_token,
    parse_client_message,
)

FIRMWARE_HEADERS = {
    "Authorization": "Bearer test-token",
    "Protocol-Version": "1",
    "Device-Id": "AA:BB:CC:DD:EE:FF",
    "Client-Id": "1c2d3e4f-0000-4000-8000-123456789abc",
}


# --------------------------------------------------------------------------- negotiate_hello


def test_negotiate_full_hello() -> None:
    client = parse_client_message(
        '{"type":"hello","version":1,"features":{"mcp":true},"transport":"websocket",'
        '"audio_params":{"format":"opus","sample_rate":16000,"channels":1,"frame_duration":20}}'
    )
    assert isinstance(client, ClientHello)
    hello = negotiate_hello(client, session_id="sess-1", server_audio=DEFAULT_SERVER_AUDIO)
    assert hello == ServerHello(session_id="sess-1", audio_params=DEFAULT_SERVER_AUDIO)
    assert json.loads(encode_server_message(hello)) == {
        "type": "hello",
        "transport": "websocket",
        "session_id": "sess-1",
        "audio_params": {
            "format": "opus",
            "sample_rate": 24000,
            "channels": 1,
            "frame_duration": 60,
        },
    }


def test_negotiate_minimal_hello_is_still_complete() -> None:
    client = parse_client_message('{"type":"hello"}')
    assert isinstance(client, ClientHello)
    hello = negotiate_hello(client, session_id="s", server_audio=AudioParams(sample_rate=16000))
    obj = json.loads(encode_server_message(hello))
    assert obj["type"] == "hello"
    assert obj["transport"] == "websocket"
    assert obj["session_id"] == "s"
    assert set(obj["audio_params"]) == {"format", "sample_rate", "channels", "frame_duration"}
    assert obj["audio_params"]["sample_rate"] == 16000


def test_negotiate_default_server_audio() -> None:
    assert negotiate_hello(ClientHello(), session_id="s").audio_params == DEFAULT_SERVER_AUDIO


def test_negotiate_requires_session_id() -> None:
    with pytest.raises(ValueError):
        negotiate_hello(ClientHello(), session_id="")


def test_negotiate_rejects_non_opus_client_audio() -> None:
    client = parse_client_message('{"type":"hello","audio_params":{"format":"pcm"}}')
    assert isinstance(client, ClientHello)
    with pytest.raises(ProtocolError, match="pcm"):
        negotiate_hello(client, session_id="s")


def test_negotiate_transport_always_websocket() -> None:
    client = ClientHello(transport="udp")
    assert negotiate_hello(client, session_id="s").transport == "websocket"


# --------------------------------------------------------------------------- identity


def test_identity_from_firmware_headers() -> None:
    ident = identity_from_request(FIRMWARE_HEADERS, {})
    assert ident == DeviceIdentity(
        device_id="aa:bb:cc:dd:ee:ff",
        client_id="1c2d3e4f-0000-4000-8000-123456789abc",
        token="test-token",
        protocol_version=1,
    )


def test_identity_token_hidden_from_repr() -> None:
    assert "test-token" not in repr(identity_from_request(FIRMWARE_HEADERS, {}))


def test_identity_lowercase_header_names() -> None:
    headers = {k.lower(): v for k, v in FIRMWARE_HEADERS.items()}
    assert identity_from_request(headers, {}) == identity_from_request(FIRMWARE_HEADERS, {})


def test_identity_mixed_case_header_names() -> None:
    headers = {"DEVICE-ID": "AA:bb:CC:dd:EE:ff", "authorization": "bearer tok"}
    ident = identity_from_request(headers, {})
    assert ident.device_id == "aa:bb:cc:dd:ee:ff"
    assert ident.token == "tok"


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "bearer", "  Bearer  "])
def test_identity_bare_bearer(value: str) -> None:
    assert identity_from_request({"Authorization": value}, {}).token == ""


def test_identity_missing_everything() -> None:
    assert identity_from_request({}, {}) == DeviceIdentity(
        device_id=None, client_id=None, token="", protocol_version=1
    )
    assert identity_from_request({}) == identity_from_request({}, {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("2", 2),
        ("3", 3),
        (" 3 ", 3),
        ("4", 1),
        ("0", 1),
        ("v2", 1),
        ("", 1),
        ("²", 1),
        ("2.0", 1),
    ],
)
def test_identity_protocol_version(value: str, expected: int) -> None:
    assert identity_from_request({"Protocol-Version": value}, {}).protocol_version == expected


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "a" * 129, "aa:bb\x00cc", "aa\nbb", "\x7f", "aa\tbb"],
)
def test_identity_garbage_values_are_missing(garbage: str) -> None:
    ident = identity_from_request(
        {"Device-Id": garbage, "Client-Id": garbage, "Protocol-Version": garbage}, {}
    )
    assert ident.device_id is None
    assert ident.client_id is None
    assert ident.protocol_version == 1


def test_identity_128_chars_is_fine() -> None:
    assert identity_from_request({"Device-Id": "A" * 128}, {}).device_id == "a" * 128


def test_identity_garbage_token_is_missing() -> None:
    assert identity_from_request({"Authorization": "Bearer a\x00b"}, {}).token == ""
    assert identity_from_request({"Authorization": "Bearer " + "x" * 5000}, {}).token == ""


def test_identity_long_jwt_token_kept() -> None:
    jwt = "eyJ" + "x" * 400
    assert identity_from_request({"Authorization": f"Bearer {jwt}"}, {}).token == jwt


def test_identity_device_id_normalised() -> None:
    ident = identity_from_request({"Device-Id": "  AA:BB:CC:DD:EE:FF \t"}, {})
    assert ident.device_id == "aa:bb:cc:dd:ee:ff"


def test_identity_client_id_case_kept() -> None:
    assert identity_from_request({"Client-Id": " ABC-def "}, {}).client_id == "ABC-def"


def test_identity_from_browser_query() -> None:
    query = {
        "device-id": "AA:BB:CC:00:11:22",
        "client-id": "web_test_client",
        "authorization": "Bearer abc",
    }
    assert identity_from_request({}, query) == DeviceIdentity(
        device_id="aa:bb:cc:00:11:22",
        client_id="web_test_client",
        token="abc",
        protocol_version=1,
    )


def test_identity_query_raw_token_and_protocol_version() -> None:
    ident = identity_from_request({}, {"authorization": "raw-token", "protocol-version": "3"})
    assert ident.token == "raw-token"
    assert ident.protocol_version == 3


def test_identity_query_underscore_names_and_multi_values() -> None:
    ident = identity_from_request({}, {"device_id": ["AA:01", "BB:02"], "client_id": []})
    assert ident.device_id == "aa:01"
    assert ident.client_id is None


def test_identity_headers_win_over_query() -> None:
    ident = identity_from_request(
        {"Device-Id": "aa:aa", "Authorization": "Bearer h"},
        {"device-id": "bb:bb", "authorization": "q", "client-id": "from-query"},
    )
    assert ident.device_id == "aa:aa"
    assert ident.token == "h"
    assert ident.client_id == "from-query"


def test_identity_garbage_header_falls_back_to_query() -> None:
    ident = identity_from_request({"Device-Id": "\x01\x02"}, {"device-id": "CC:DD"})
    assert ident.device_id == "cc:dd"


def test_identity_non_string_values_ignored() -> None:
    ident = identity_from_request({"Device-Id": 42}, {"client-id": None})  # type: ignore[dict-item]
    assert ident.device_id is None
    assert ident.client_id is None


class _MultiHeaders:
    """Mimics websockets.datastructures.Headers: `[]` raises on repeated names."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def raw_items(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def items(self) -> Iterator[tuple[str, str]]:
        raise AssertionError("items() must not be used when raw_items() exists")


def test_identity_from_headers_with_repeated_names() -> None:
    headers = _MultiHeaders([("device-id", "AA:01"), ("Device-Id", "BB:02"), ("Client-Id", "c")])
    ident = identity_from_request(headers, {})  # type: ignore[arg-type]
    assert ident.device_id == "aa:01"
    assert ident.client_id == "c"


@pytest.mark.parametrize(
    ("value", "token"),
    [
        (None, ""),
        ("", ""),
        ("Bearer", ""),
        ("Bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
        ("abc", "abc"),
        ("Bearer a b", "a b"),
    ],
)
def test_parse_bearer_token(value: str | None, token: str) -> None:
    assert parse_bearer_token(value) == token
