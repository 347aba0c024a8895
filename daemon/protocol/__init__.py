"""Sans-I/O implementation of the xiaozhi ESP32 device protocol.

Pure functions and small state machines (no sockets, no asyncio), in the style of the
`websockets` library: JSON text messages (`messages`), the handshake (`hello`), binary audio
framing (`framing`) and device MCP helpers (`mcp`), as described in PROTOCOL.md.
"""

from .codec import encode_client_message, encode_server_message, parse_client_message
from .framing import (
    FRAME_JSON,
    FRAME_OPUS,
    BinaryFrame,
    FramingError,
    decode_frame,
    encode_frame,
)
from .hello import DeviceIdentity, identity_from_request, negotiate_hello, parse_bearer_token
from .mcp import (
    MCP_PROTOCOL_VERSION,
    McpResponse,
    McpToolPager,
    initialize_request,
    initialized_notification,
    parse_response,
    tool_result_text,
    tools_call_request,
    tools_list_request,
)
from .messages import (
    DEFAULT_CLIENT_AUDIO,
    DEFAULT_SERVER_AUDIO,
    Abort,
    Alert,
    AudioParams,
    ClientHello,
    ClientMessage,
    Listen,
    Llm,
    Mcp,
    ProtocolError,
    ServerHello,
    ServerMessage,
    Stt,
    System,
    Tts,
)

__all__ = [
    "DEFAULT_CLIENT_AUDIO",
    "DEFAULT_SERVER_AUDIO",
    "FRAME_JSON",
    "FRAME_OPUS",
    "MCP_PROTOCOL_VERSION",
    "Abort",
    "Alert",
    "AudioParams",
    "BinaryFrame",
    "ClientHello",
    "ClientMessage",
    "DeviceIdentity",
    "FramingError",
    "Listen",
    "Llm",
    "Mcp",
    "McpResponse",
    "McpToolPager",
    "ProtocolError",
    "ServerHello",
    "ServerMessage",
    "Stt",
    "System",
    "Tts",
    "decode_frame",
    "encode_client_message",
    "encode_frame",
    "encode_server_message",
    "identity_from_request",
    "initialize_request",
    "initialized_notification",
    "negotiate_hello",
    "parse_bearer_token",
    "parse_client_message",
    "parse_response",
    "tool_result_text",
    "tools_call_request",
    "tools_list_request",
]
