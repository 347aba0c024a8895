"""The WebSocket handshake: who is connecting, and the server's answer to the device hello.

`identity_from_request` reads the device identity from the upgrade request's headers (firmware)
or query parameters (browser clients); `negotiate_hello` builds the `ServerHello`. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .messages import DEFAULT_SERVER_AUDIO, AudioParams, ClientHello, ProtocolError, ServerHello

__all__ = [
    "MAX_HEADER_VALUE_LEN",
    "MAX_TOKEN_LEN",
    "SUPPORTED_PROTOCOL_VERSIONS",
    "DeviceIdentity",
    "ServerHello",
    "identity_from_request",
    "negotiate_hello",
    "parse_bearer_token",
]

SUPPORTED_PROTOCOL_VERSIONS: frozenset[int] = frozenset({1, 2, 3})
MAX_HEADER_VALUE_LEN = 128
"""Longer Device-Id / Client-Id / Protocol-Version values are garbage, treated as missing."""
MAX_TOKEN_LEN = 2048
"""Tokens get more room than ids: issued tokens (e.g. JWTs) routinely exceed 128 characters."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who is connecting. `device_id` is the normalised MAC (stripped, lower-case) or None."""

    device_id: str | None
    client_id: str | None = None
    token: str = field(default="", repr=False)
    protocol_version: int = 1


def negotiate_hello(
    client: ClientHello,
    *,
    session_id: str,
    server_audio: AudioParams = DEFAULT_SERVER_AUDIO,
) -> ServerHello:
    """The server hello answering `client`.

    `server_audio` describes the audio the server sends (TTS); the device resamples as needed, so
    it does not depend on the client's own parameters. Raises `ProtocolError` if the device wants
    to send audio in a format other than Opus (the only one the server decodes).
    """
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session_id must be a non-empty string")
    if client.audio_params.format.lower() != "opus":
        raise ProtocolError(f"unsupported audio format {client.audio_params.format!r}")
    return ServerHello(session_id=session_id, audio_params=server_audio, transport="websocket")


def _items(mapping: Mapping[str, object]) -> Iterable[tuple[object, object]]:
    # websockets' Headers raises on `[]` for repeated names; its raw_items() never does.
    raw_items = getattr(mapping, "raw_items", None)
    if callable(raw_items):
        return raw_items()  # type: ignore[no-any-return]
    return mapping.items()


def _normalised(mapping: Mapping[str, object] | None) -> dict[str, object]:
    """Lower-case keys, `_` read as `-`; the first occurrence of a name wins."""
    out: dict[str, object] = {}
    if mapping is None:
        return out
    for key, value in _items(mapping):
        if isinstance(key, str):
            out.setdefault(key.strip().lower().replace("_", "-"), value)
    return out


def _clean(value: object, max_len: int) -> str | None:
    """A usable header/query value, or None for missing or garbage values."""
    if isinstance(value, (list, tuple)):  # parse_qs-style multi-values: take the first
        value = value[0] if value else None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > max_len or not value.isprintable():
        return None
    return value


def _lookup(
    headers: dict[str, object], query: dict[str, object], name: str, max_len: int
) -> str | None:
    """The header value if usable, else the query parameter of the same name."""
    value = _clean(headers.get(name), max_len)
    return value if value is not None else _clean(query.get(name), max_len)


def parse_bearer_token(value: str | None) -> str:
    """`"Bearer xyz"` -> `"xyz"`; a bare `"Bearer"` or None -> `""`; a raw token is kept."""
    if value is None:
        return ""
    parts = value.strip().split(None, 1)
    if not parts:
        return ""
    if parts[0].lower() == "bearer":
        return parts[1].strip() if len(parts) > 1 else ""
    return value.strip()


def _protocol_version(value: str | None) -> int:
    for version in SUPPORTED_PROTOCOL_VERSIONS:
        if value == str(version):
            return version
    return 1


def identity_from_request(
    headers: Mapping[str, str], query: Mapping[str, str] | None = None
) -> DeviceIdentity:
    """Read `Device-Id`, `Client-Id`, `Authorization`, `Protocol-Version` from the request.

    Header names are case-insensitive; browser clients pass `device-id`, `client-id`,
    `authorization` (and optionally `protocol-version`) as query parameters instead. Headers win
    over query parameters. Garbage values (non-printable, over-long) count as missing. A missing
    or unknown protocol version is 1. A missing device id is None: the caller decides.
    """
    hdrs = _normalised(headers)
    qry = _normalised(query)
    device_id = _lookup(hdrs, qry, "device-id", MAX_HEADER_VALUE_LEN)
    client_id = _lookup(hdrs, qry, "client-id", MAX_HEADER_VALUE_LEN)
    token = parse_bearer_token(_lookup(hdrs, qry, "authorization", MAX_TOKEN_LEN))
    version = _protocol_version(_lookup(hdrs, qry, "protocol-version", MAX_HEADER_VALUE_LEN))
    return DeviceIdentity(
        device_id=device_id.lower() if device_id else None,
        client_id=client_id,
        token=token,
        protocol_version=version,
    )
