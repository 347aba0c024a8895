"""JSON text <-> message objects: ``parse_client_message`` turns one text frame from a device
into a message (or raises ``ProtocolError``); ``encode_server_message`` makes the compact JSON
text the firmware expects. Pure functions only: no sockets, no asyncio, no logging.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .messages import (
    CLIENT_TYPES,
    DEFAULT_CLIENT_AUDIO,
    LISTEN_MODES,
    LISTEN_STATES,
    SERVER_TYPES,
    Abort,
    AudioParams,
    ClientHello,
    ClientMessage,
    Listen,
    Mcp,
    ProtocolError,
    ServerMessage,
    check_int,
    shorten,
)

__all__ = ["encode_client_message", "encode_server_message", "parse_client_message"]


def _opt_str(obj: Mapping[str, Any], key: str, name: str | None = None) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ProtocolError(f"{name or key} must be a string")


# --------------------------------------------------------------------------- parsing


def _parse_hello(obj: Mapping[str, Any]) -> ClientHello:
    raw_version = obj.get("version")
    version = 1 if raw_version is None else check_int(raw_version, "version")
    features = obj.get("features")
    if features is None:
        features = {}
    elif not isinstance(features, dict):
        raise ProtocolError("features must be an object")
    transport = _opt_str(obj, "transport") or "websocket"
    audio = AudioParams.from_dict(obj.get("audio_params"), default=DEFAULT_CLIENT_AUDIO)
    return ClientHello(
        version=version, features=dict(features), transport=transport, audio_params=audio
    )


def _parse_listen(obj: Mapping[str, Any]) -> Listen:
    state = obj.get("state")
    if not isinstance(state, str):
        raise ProtocolError("listen state must be a string")
    if state not in LISTEN_STATES:
        raise ProtocolError(f"invalid listen state {shorten(state)}")
    mode = _opt_str(obj, "mode", "listen mode") or None
    if mode is not None and mode not in LISTEN_MODES:
        raise ProtocolError(f"invalid listen mode {shorten(mode)}")
    text = _opt_str(obj, "text", "listen text")
    return Listen(state=state, mode=mode, text=text)  # type: ignore[arg-type]


def _parse_abort(obj: Mapping[str, Any]) -> Abort:
    return Abort(reason=_opt_str(obj, "reason", "abort reason"))


def _parse_mcp(obj: Mapping[str, Any]) -> Mcp:
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        raise ProtocolError("mcp payload must be an object")
    return Mcp(payload=payload)


_PARSERS: dict[str, Callable[[Mapping[str, Any]], ClientMessage]] = {
    "hello": _parse_hello,
    "listen": _parse_listen,
    "abort": _parse_abort,
    "mcp": _parse_mcp,
}


def _load_json(data: str | bytes | bytearray | memoryview) -> object:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProtocolError("message is not valid UTF-8") from None
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        raise ProtocolError("message must be text")
    try:
        return json.loads(text)
    except RecursionError:
        raise ProtocolError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int-too-long ValueError
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "bad number"
        raise ProtocolError(f"invalid JSON: {msg}") from None


def parse_client_message(data: str | bytes) -> ClientMessage:
    """Parse one JSON text frame from a device.

    Lenient where real clients differ (session_id and unknown keys ignored, optional fields
    defaulted); raises `ProtocolError` for anything it cannot make sense of, including an unknown
    `type` (so the caller can log and ignore it).
    """
    obj = _load_json(data)
    if not isinstance(obj, dict):
        raise ProtocolError("message is not a JSON object")
    mtype = obj.get("type")
    if mtype is None:
        raise ProtocolError("missing message type")
    if not isinstance(mtype, str):
        raise ProtocolError("message type must be a string")
    parser = _PARSERS.get(mtype)
    if parser is None:
        raise ProtocolError(f"unknown message type {shorten(mtype)}")
    return parser(obj)


# --------------------------------------------------------------------------- encoding


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_server_message(msg: ServerMessage) -> str:
    """Compact JSON text (UTF-8 kept as is) for a server -> device message."""
    if not isinstance(msg, SERVER_TYPES):
        raise TypeError(f"not a server message: {type(msg).__name__}")
    return _dumps(msg.to_dict())


def encode_client_message(msg: ClientMessage) -> str:
    """Compact JSON text for a device -> server message (for simulated devices and tests)."""
    if not isinstance(msg, CLIENT_TYPES):
        raise TypeError(f"not a client message: {type(msg).__name__}")
    return _dumps(msg.to_dict())
