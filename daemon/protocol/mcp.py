"""Device MCP: JSON-RPC 2.0 payloads carried in `{"type":"mcp","payload":...}` messages.

The device is the MCP *server*; we are the client. This module builds request payloads, reads
responses, and pages through `tools/list` with `McpToolPager`. Pure: no I/O, no clocks.
The firmware only accepts integer request ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .messages import ProtocolError

__all__ = [
    "CLIENT_NAME",
    "CLIENT_VERSION",
    "JSONRPC_VERSION",
    "MCP_PROTOCOL_VERSION",
    "McpResponse",
    "McpToolPager",
    "initialize_request",
    "initialized_notification",
    "parse_response",
    "tool_result_text",
    "tools_call_request",
    "tools_list_request",
]

JSONRPC_VERSION = "2.0"
MCP_PROTOCOL_VERSION = "2024-11-05"
CLIENT_NAME = "xiaozhi-memd"


def _package_version() -> str:
    try:
        from daemon import __version__
    except ImportError:  # partially initialised or replaced package
        return "0.1.0"
    return str(__version__)


CLIENT_VERSION = _package_version()


def _check_id(id: int) -> int:
    if isinstance(id, bool) or not isinstance(id, int):
        raise TypeError("MCP request ids must be integers (the firmware rejects others)")
    return id


def _request(id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "id": _check_id(id), "method": method, "params": params}


def initialize_request(
    id: int = 1,
    *,
    capabilities: Mapping[str, Any] | None = None,
    client_name: str = CLIENT_NAME,
    client_version: str = CLIENT_VERSION,
) -> dict[str, Any]:
    """The `initialize` request (the firmware reads e.g. `capabilities.vision`)."""
    return _request(
        id,
        "initialize",
        {
            "protocolVersion": MCP_PROTOCOL_VERSION,
            "capabilities": dict(capabilities or {}),
            "clientInfo": {"name": client_name, "version": client_version},
        },
    )


def initialized_notification() -> dict[str, Any]:
    """`notifications/initialized` (no id, no reply expected; the firmware ignores it)."""
    return {"jsonrpc": JSONRPC_VERSION, "method": "notifications/initialized"}


def tools_list_request(
    id: int, cursor: str | None = None, *, with_user_tools: bool | None = None
) -> dict[str, Any]:
    """A `tools/list` page request; `cursor` None means the first page (`"cursor": ""`).

    `with_user_tools` (firmware extension) also lists user-only tools when True; omitted if None.
    """
    params: dict[str, Any] = {"cursor": cursor if cursor is not None else ""}
    if with_user_tools is not None:
        params["withUserTools"] = bool(with_user_tools)
    return _request(id, "tools/list", params)


def tools_call_request(
    id: int, name: str, arguments: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A `tools/call` request for tool `name` with `arguments` (an object, maybe empty)."""
    if not isinstance(name, str) or not name:
        raise ValueError("tool name must be a non-empty string")
    return _request(id, "tools/call", {"name": name, "arguments": dict(arguments or {})})


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class McpResponse:
    """A JSON-RPC response: exactly one of `result` / `error` is meaningful."""

    id: int | str | None
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _error_text(error: object) -> str:
    if isinstance(error, Mapping):
        message = error.get("message")
        code = error.get("code")
        text = message if isinstance(message, str) and message else "error"
        if isinstance(code, int) and not isinstance(code, bool):
            text = f"{text} (code {code})"
        return text[:500]
    if isinstance(error, str) and error:
        return error[:500]
    return "error"


def parse_response(payload: object) -> McpResponse:
    """Read a response payload; raises `ProtocolError` if it is not a JSON-RPC response."""
    if not isinstance(payload, Mapping):
        raise ProtocolError("mcp payload is not an object")
    raw_id = payload.get("id")
    if isinstance(raw_id, bool) or not (raw_id is None or isinstance(raw_id, (int, str))):
        raise ProtocolError("mcp response id must be an integer or a string")
    if "error" in payload and payload["error"] is not None:
        return McpResponse(id=raw_id, error=_error_text(payload["error"]))
    if "result" in payload:
        return McpResponse(id=raw_id, result=payload["result"])
    if "method" in payload:
        raise ProtocolError("mcp payload is a request or notification, not a response")
    raise ProtocolError("mcp response has neither result nor error")


def tool_result_text(result: object) -> str:
    """The text of a `tools/call` result: its `content` text items joined, else compact JSON."""
    if isinstance(result, Mapping):
        content = result.get("content")
        if isinstance(content, list):
            texts = [
                item["text"]
                for item in content
                if isinstance(item, Mapping) and isinstance(item.get("text"), str)
            ]
            if texts:
                return "\n".join(texts)
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(result)


# --------------------------------------------------------------------------- tools/list pager


class McpToolPager:
    """Collects a device's tools by following `result.nextCursor` across `tools/list` pages.

    Usage: send `start()`; for each MCP response payload call `receive(payload)` and send what
    it returns, until it returns None and `done` is True. Responses with another id (e.g. for a
    concurrent tools/call) and device notifications are ignored: `receive` returns None but
    `done` stays False. Error responses and malformed payloads stop paging; `error` says why and
    the tools gathered so far are kept. Request ids are `start_id`, `start_id + 1`, ...;
    `next_id` is the first id the pager will not use.
    """

    def __init__(
        self,
        *,
        start_id: int = 2,
        max_pages: int = 32,
        max_tools: int = 1024,
        with_user_tools: bool | None = None,
    ) -> None:
        self.next_id = _check_id(start_id)
        self.max_pages = max_pages
        self.max_tools = max_tools
        self.with_user_tools = with_user_tools
        self.tools: list[dict[str, Any]] = []
        self.error: str | None = None
        self.done = False
        self.pages = 0
        self.skipped = 0
        self.pending_id: int | None = None
        self._names: set[str] = set()
        self._cursors: set[str] = set()
        self._started = False

    @property
    def ok(self) -> bool:
        """Finished without error."""
        return self.done and self.error is None

    def _request(self, cursor: str | None) -> dict[str, Any]:
        self.pending_id = self.next_id
        self.next_id += 1
        return tools_list_request(self.pending_id, cursor, with_user_tools=self.with_user_tools)

    def _fail(self, reason: str) -> None:
        self.error = reason
        self.done = True
        self.pending_id = None

    def start(self) -> dict[str, Any]:
        """The first `tools/list` request. Call once."""
        if self._started:
            raise RuntimeError("McpToolPager.start() called twice")
        self._started = True
        return self._request(None)

    def matches(self, payload: object) -> bool:
        """Whether `payload` is the response this pager is waiting for."""
        if self.done or self.pending_id is None or not isinstance(payload, Mapping):
            return False
        raw_id = payload.get("id")
        return (
            not isinstance(raw_id, bool) and isinstance(raw_id, int) and raw_id == self.pending_id
        )

    def receive(self, payload: object) -> dict[str, Any] | None:
        """Feed one MCP payload; returns the next request to send, or None."""
        if not self._started:
            raise RuntimeError("McpToolPager.receive() before start()")
        if self.done:
            return None
        if not isinstance(payload, Mapping):
            self._fail("malformed tools/list response: payload is not an object")
            return None
        raw_id = payload.get("id")
        if raw_id is None and "method" in payload:
            return None  # a notification from the device, not ours
        if raw_id is not None and not self.matches(payload):
            return None  # a response to some other request
        try:
            response = parse_response(payload)
        except ProtocolError as exc:
            self._fail(f"malformed tools/list response: {exc.reason}")
            return None
        if response.error is not None:
            self._fail(f"tools/list failed: {response.error}")
            return None
        return self._page(response.result)

    def _page(self, result: object) -> dict[str, Any] | None:
        if not isinstance(result, Mapping):
            self._fail("malformed tools/list response: result is not an object")
            return None
        tools = result.get("tools")
        if not isinstance(tools, list):
            self._fail("malformed tools/list response: tools is not a list")
            return None
        self.pages += 1
        for tool in tools:
            name = tool.get("name") if isinstance(tool, Mapping) else None
            if not isinstance(name, str) or not name or name in self._names:
                self.skipped += 1
                continue
            if len(self.tools) >= self.max_tools:
                self._fail(f"too many tools (more than {self.max_tools})")
                return None
            self._names.add(name)
            self.tools.append(dict(tool))
        cursor = result.get("nextCursor")
        if cursor is None or cursor == "":
            self.done = True
            self.pending_id = None
            return None
        if not isinstance(cursor, str):
            self._fail("malformed tools/list response: nextCursor is not a string")
            return None
        if cursor in self._cursors:
            self._fail(f"tools/list repeated cursor {cursor[:40]!r}")
            return None
        if self.pages >= self.max_pages:
            self._fail(f"too many tools/list pages (more than {self.max_pages})")
            return None
        self._cursors.add(cursor)
        return self._request(cursor)
