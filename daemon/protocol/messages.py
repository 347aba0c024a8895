"""JSON text messages of the xiaozhi device protocol, as frozen dataclasses (the vocabulary);
``codec`` turns JSON text into them and back. Pure: no sockets, no asyncio, no logging.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "DEFAULT_CLIENT_AUDIO",
    "DEFAULT_SERVER_AUDIO",
    "LISTEN_MODES",
    "LISTEN_STATES",
    "TTS_STATES",
    "Abort",
    "Alert",
    "AudioParams",
    "ClientHello",
    "ClientMessage",
    "Listen",
    "ListenMode",
    "ListenState",
    "Llm",
    "Mcp",
    "ProtocolError",
    "ServerHello",
    "ServerMessage",
    "Stt",
    "System",
    "Tts",
    "TtsState",
]

ListenState: TypeAlias = Literal["start", "stop", "detect"]
ListenMode: TypeAlias = Literal["auto", "manual", "realtime"]
TtsState: TypeAlias = Literal["start", "stop", "sentence_start", "sentence_end"]

LISTEN_STATES: frozenset[str] = frozenset({"start", "stop", "detect"})
LISTEN_MODES: frozenset[str] = frozenset({"auto", "manual", "realtime"})
TTS_STATES: frozenset[str] = frozenset({"start", "stop", "sentence_start", "sentence_end"})

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
MAX_FRAME_DURATION_MS = 1000
MAX_CHANNELS = 2


class ProtocolError(ValueError):
    """A message that breaks the protocol; `reason` is a short human-readable explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def shorten(value: object, limit: int = 40) -> str:
    """`repr` of a value from the wire, truncated so error reasons stay short."""
    text = value if isinstance(value, str) else type(value).__name__
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)


def check_int(value: object, name: str) -> int:
    """Accept a JSON integer (or an integral float such as 60.0); never a bool."""
    if isinstance(value, bool):
        raise ProtocolError(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise ProtocolError(f"{name} must be an integer")


# --------------------------------------------------------------------------- audio params


@dataclass(frozen=True, slots=True)
class AudioParams:
    """Opus stream description, as found in both hellos (validated on construction)."""

    format: str = "opus"
    sample_rate: int = 16000
    channels: int = 1
    frame_duration: int = 60

    def __post_init__(self) -> None:
        if not isinstance(self.format, str) or not self.format:
            raise ProtocolError("audio_params.format must be a non-empty string")
        for name in ("sample_rate", "channels", "frame_duration"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int):
                raise ProtocolError(f"audio_params.{name} must be an integer")
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise ProtocolError(
                f"audio_params.sample_rate {self.sample_rate} outside "
                f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}"
            )
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise ProtocolError(f"audio_params.channels {self.channels} not supported")
        if not 0 < self.frame_duration <= MAX_FRAME_DURATION_MS:
            raise ProtocolError(f"audio_params.frame_duration {self.frame_duration} out of range")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frame_duration": self.frame_duration,
        }

    @classmethod
    def from_dict(cls, obj: object, *, default: AudioParams | None = None) -> AudioParams:
        """Parse an `audio_params` object; missing (or null) keys take `default`'s values."""
        base = default if default is not None else DEFAULT_CLIENT_AUDIO
        if obj is None:
            return base
        if not isinstance(obj, Mapping):
            raise ProtocolError("audio_params must be an object")
        fmt = obj.get("format")
        if fmt is None:
            fmt = base.format
        elif not isinstance(fmt, str):
            raise ProtocolError("audio_params.format must be a string")
        values: dict[str, int] = {}
        for name in ("sample_rate", "channels", "frame_duration"):
            raw = obj.get(name)
            values[name] = (
                getattr(base, name) if raw is None else check_int(raw, f"audio_params.{name}")
            )
        return cls(format=fmt.strip().lower(), **values)


DEFAULT_CLIENT_AUDIO = AudioParams(format="opus", sample_rate=16000, channels=1, frame_duration=60)
"""What a device sends when its hello omits `audio_params` (the firmware's defaults)."""

DEFAULT_SERVER_AUDIO = AudioParams(format="opus", sample_rate=24000, channels=1, frame_duration=60)
"""What the server announces for its TTS audio unless configured otherwise."""


# --------------------------------------------------------------------------- device -> server


@dataclass(frozen=True, slots=True)
class ClientHello:
    """`{"type":"hello"}` from the device. `version` mirrors its Protocol-Version header."""

    version: int = 1
    features: dict[str, Any] = field(default_factory=dict)
    transport: str = "websocket"
    audio_params: AudioParams = DEFAULT_CLIENT_AUDIO

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "version": self.version,
            "features": dict(self.features),
            "transport": self.transport,
            "audio_params": self.audio_params.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Listen:
    """`{"type":"listen"}`: mic opened (`start`), closed (`stop`) or wake word/text (`detect`)."""

    state: ListenState
    mode: ListenMode | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.state not in LISTEN_STATES:
            raise ProtocolError(f"invalid listen state {shorten(self.state)}")
        if self.mode is not None and self.mode not in LISTEN_MODES:
            raise ProtocolError(f"invalid listen mode {shorten(self.mode)}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "listen", "state": self.state}
        if self.mode is not None:
            out["mode"] = self.mode
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass(frozen=True, slots=True)
class Abort:
    """`{"type":"abort"}`: stop speaking now (`reason` e.g. "wake_word_detected")."""

    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "abort"}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class Mcp:
    """`{"type":"mcp","payload":{JSON-RPC 2.0}}`, used in both directions."""

    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "mcp", "payload": self.payload}


# --------------------------------------------------------------------------- server -> device


@dataclass(frozen=True, slots=True)
class ServerHello:
    """The server's hello; always complete (the xiaozhi-sdk client needs every key)."""

    session_id: str
    audio_params: AudioParams = DEFAULT_SERVER_AUDIO
    transport: str = "websocket"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "transport": self.transport,
            "session_id": self.session_id,
            "audio_params": self.audio_params.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Stt:
    """What the user said (shown on the device screen)."""

    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "stt", "text": self.text}


@dataclass(frozen=True, slots=True)
class Llm:
    """Emotion for the device face; `text` conventionally holds the matching emoji."""

    emotion: str
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "llm", "text": self.text, "emotion": self.emotion}


@dataclass(frozen=True, slots=True)
class Tts:
    """TTS progress: `start`, `sentence_start` (with `text`), `sentence_end`, `stop`."""

    state: TtsState
    text: str | None = None

    def __post_init__(self) -> None:
        if self.state not in TTS_STATES:
            raise ValueError(f"invalid tts state {self.state!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "tts", "state": self.state}
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification shown on the device (the firmware needs all three strings)."""

    status: str
    message: str
    emotion: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "alert",
            "status": self.status,
            "message": self.message,
            "emotion": self.emotion,
        }


@dataclass(frozen=True, slots=True)
class System:
    """A system command, e.g. `reboot`."""

    command: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "system", "command": self.command}


ClientMessage: TypeAlias = ClientHello | Listen | Abort | Mcp
ServerMessage: TypeAlias = ServerHello | Stt | Llm | Tts | Mcp | Alert | System

CLIENT_TYPES = (ClientHello, Listen, Abort, Mcp)
SERVER_TYPES = (ServerHello, Stt, Llm, Tts, Mcp, Alert, System)
