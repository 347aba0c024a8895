"""Tests for daemon.protocol.mcp: request builders, responses, the tools/list pager."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daemon.protocol import (
    MCP_PROTOCOL_VERSION,
    Mcp,
    McpResponse,
    McpToolPager,
    ProtocolError,
    encode_server_message,
    initialize_request,
    initialized_notification,
    parse_response,
    tool_result_text,
    tools_call_request,
    tools_list_request,
)


def _tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": f"{name} tool", "inputSchema": {"type": "object"}}


def _page(id: int, names: list[str], cursor: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"tools": [_tool(n) for n in names]}
    if cursor is not None:
        result["nextCursor"] = cursor
    return {"jsonrpc": "2.0", "id": id, "result": result}


# --------------------------------------------------------------------------- requests


def test_initialize_request() -> None:
    req = initialize_request()
    assert req["jsonrpc"] == "2.0"
    assert req["id"] == 1
    assert req["method"] == "initialize"
    assert req["params"]["protocolVersion"] == MCP_PROTOCOL_VERSION == "2024-11-05"
    assert req["params"]["capabilities"] == {}
    assert req["params"]["clientInfo"]["name"] == "xiaozhi-memd"
    assert isinstance(req["params"]["clientInfo"]["version"], str)


def test_initialize_request_custom() -> None:
    req = initialize_request(7, capabilities={"vision": {"url": "http://x/", "token": "t"}})
    assert req["id"] == 7
    assert req["params"]["capabilities"]["vision"]["url"] == "http://x/"


def test_initialized_notification_has_no_id() -> None:
    note = initialized_notification()
    assert note == {"jsonrpc": "2.0", "method": "notifications/initialized"}


def test_tools_list_request_cursor() -> None:
    assert tools_list_request(2) == {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/list",
        "params": {"cursor": ""},
    }
    assert tools_list_request(3, "self.audio")["params"] == {"cursor": "self.audio"}
    assert tools_list_request(3, None, with_user_tools=True)["params"] == {
        "cursor": "",
        "withUserTools": True,
    }


def test_tools_call_request() -> None:
    req = tools_call_request(9, "self.audio_speaker.set_volume", {"volume": 50})
    assert req == {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "self.audio_speaker.set_volume", "arguments": {"volume": 50}},
    }
    assert tools_call_request(10, "self.get_device_status")["params"]["arguments"] == {}


def test_request_ids_must_be_ints() -> None:
    with pytest.raises(TypeError):
        tools_list_request("2")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tools_call_request(True, "x")
    with pytest.raises(ValueError):
        tools_call_request(1, "")


def test_requests_encode_inside_mcp_message() -> None:
    text = encode_server_message(Mcp(initialize_request()))
    obj = json.loads(text)
    assert obj["type"] == "mcp"
    assert obj["payload"]["method"] == "initialize"


# --------------------------------------------------------------------------- responses


def test_parse_response_result_and_error() -> None:
    assert parse_response({"jsonrpc": "2.0", "id": 1, "result": {"a": 1}}) == McpResponse(
        id=1, result={"a": 1}
    )
    # the firmware's errors carry only a message
    err = parse_response({"jsonrpc": "2.0", "id": 3, "error": {"message": "Unknown tool: x"}})
    assert err.id == 3
    assert err.error == "Unknown tool: x"
    assert not err.ok
    coded = parse_response({"id": 4, "error": {"code": -32601, "message": "nope"}})
    assert coded.error == "nope (code -32601)"
    assert parse_response({"id": 5, "error": "boom"}).error == "boom"
    assert parse_response({"id": 6, "error": 17}).error == "error"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        {"id": 1},
        {"id": [1], "result": {}},
        {"id": True, "result": {}},
        {"jsonrpc": "2.0", "method": "notifications/x"},
    ],
)
def test_parse_response_malformed(payload: object) -> None:
    with pytest.raises(ProtocolError):
        parse_response(payload)


def test_tool_result_text() -> None:
    result = {
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        "isError": False,
    }
    assert tool_result_text(result) == "a\nb"
    assert tool_result_text({"content": []}) == '{"content":[]}'
    assert tool_result_text("plain") == "plain"
    assert tool_result_text(True) == "true"
    assert tool_result_text({"x": float("nan")}).startswith("{")


# --------------------------------------------------------------------------- pager


def test_pager_single_page() -> None:
    pager = McpToolPager(start_id=2)
    req = pager.start()
    assert req == tools_list_request(2, None)
    assert not pager.done
    assert (
        pager.receive(_page(2, ["self.get_device_status", "self.audio_speaker.set_volume"])) is None
    )
    assert pager.done and pager.ok
    assert pager.error is None
    assert [t["name"] for t in pager.tools] == [
        "self.get_device_status",
        "self.audio_speaker.set_volume",
    ]
    assert pager.next_id == 3
    assert pager.pages == 1


def test_pager_follows_next_cursor_until_empty() -> None:
    pager = McpToolPager(start_id=10)
    pager.start()
    req = pager.receive(_page(10, ["a", "b"], cursor="c"))
    assert req == tools_list_request(11, "c")
    req = pager.receive(_page(11, ["c", "d"], cursor="e"))
    assert req == tools_list_request(12, "e")
    assert pager.receive(_page(12, ["e"], cursor="")) is None
    assert pager.ok
    assert [t["name"] for t in pager.tools] == ["a", "b", "c", "d", "e"]
    assert pager.pages == 3
    assert pager.next_id == 13


def test_pager_with_user_tools_passed_through() -> None:
    pager = McpToolPager(start_id=2, with_user_tools=True)
    assert pager.start()["params"] == {"cursor": "", "withUserTools": True}
    assert pager.receive(_page(2, ["a"], cursor="b"))["params"] == {  # type: ignore[index]
        "cursor": "b",
        "withUserTools": True,
    }


def test_pager_error_response_stops() -> None:
    pager = McpToolPager(start_id=2)
    pager.start()
    pager.receive(_page(2, ["a"], cursor="b"))
    out = pager.receive({"jsonrpc": "2.0", "id": 3, "error": {"message": "payload size limit"}})
    assert out is None
    assert pager.done and not pager.ok
    assert "payload size limit" in (pager.error or "")
    assert [t["name"] for t in pager.tools] == ["a"]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "garbage",
        [1, 2],
        {"jsonrpc": "2.0", "id": 2},
        {"jsonrpc": "2.0", "id": 2, "result": None},
        {"jsonrpc": "2.0", "id": 2, "result": []},
        {"jsonrpc": "2.0", "id": 2, "result": {}},
        {"jsonrpc": "2.0", "id": 2, "result": {"tools": "a,b"}},
        {"jsonrpc": "2.0", "id": 2, "result": {"tools": [], "nextCursor": 5}},
        {"jsonrpc": "2.0", "result": {"tools": []}, "error": {"message": "x"}},
    ],
)
def test_pager_malformed_payloads_stop_with_error(payload: object) -> None:
    pager = McpToolPager(start_id=2)
    pager.start()
    assert pager.receive(payload) is None
    assert pager.done
    assert pager.error
    # a late well-formed page changes nothing
    assert pager.receive(_page(2, ["a"])) is None
    assert pager.tools == []


def test_pager_ignores_other_ids_and_notifications() -> None:
    pager = McpToolPager(start_id=5)
    pager.start()
    assert not pager.matches({"jsonrpc": "2.0", "id": 4, "result": {}})
    assert pager.receive({"jsonrpc": "2.0", "id": 4, "result": {"content": []}}) is None
    assert pager.receive({"jsonrpc": "2.0", "method": "notifications/state"}) is None
    assert pager.receive({"jsonrpc": "2.0", "id": "5", "result": {}}) is None
    assert not pager.done
    assert pager.matches(_page(5, []))
    assert pager.receive(_page(5, ["x"])) is None
    assert pager.ok
    assert not pager.matches(_page(5, []))


def test_pager_skips_bad_and_duplicate_tools() -> None:
    pager = McpToolPager(start_id=2)
    pager.start()
    payload = {
        "jsonrpc": "2.0",
        "id": 2,
        "result": {
            "tools": [
                _tool("a"),
                "junk",
                {"name": 3},
                {"description": "x"},
                {"name": ""},
                _tool("a"),
                _tool("b"),
            ]
        },
    }
    assert pager.receive(payload) is None
    assert pager.ok
    assert [t["name"] for t in pager.tools] == ["a", "b"]
    assert pager.skipped == 5


def test_pager_repeated_cursor_stops() -> None:
    pager = McpToolPager(start_id=2)
    pager.start()
    assert pager.receive(_page(2, ["a"], cursor="b")) is not None
    assert pager.receive(_page(3, ["b"], cursor="b")) is None
    assert pager.done
    assert "repeated cursor" in (pager.error or "")
    assert [t["name"] for t in pager.tools] == ["a", "b"]


def test_pager_max_pages() -> None:
    pager = McpToolPager(start_id=1, max_pages=3)
    pager.start()
    for i in range(2):
        assert pager.receive(_page(1 + i, [f"t{i}"], cursor=f"c{i}")) is not None
    assert pager.receive(_page(3, ["t2"], cursor="c2")) is None
    assert pager.done
    assert "pages" in (pager.error or "")
    assert len(pager.tools) == 3


def test_pager_max_tools() -> None:
    pager = McpToolPager(start_id=1, max_tools=2)
    pager.start()
    assert pager.receive(_page(1, ["a", "b", "c"])) is None
    assert pager.done
    assert "too many tools" in (pager.error or "")
    assert [t["name"] for t in pager.tools] == ["a", "b"]


def test_pager_misuse() -> None:
    pager = McpToolPager()
    with pytest.raises(RuntimeError):
        pager.receive(_page(2, []))
    pager.start()
    with pytest.raises(RuntimeError):
        pager.start()


def test_pager_tools_are_copies() -> None:
    pager = McpToolPager(start_id=2)
    pager.start()
    payload = _page(2, ["a"])
    pager.receive(payload)
    payload["result"]["tools"][0]["name"] = "changed"
    assert pager.tools[0]["name"] == "a"
