"""Hostile or broken device input: logged, that connection handled, the server serves on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.support.devices import HELLO, recv_json


@pytest.fixture
def server(make_server):
    srv = make_server(llm={"provider": "scripted"},
                      server={"max_message_bytes": 65536, "hello_timeout_s": 2})
    srv.start()
    srv.wait_ready()
    yield srv
    assert srv.stop() == 0, srv.log()


def headers(device: str = "bb:00:00:00:00:01") -> dict[str, str]:
    return {"Device-Id": device, "Client-Id": "c", "Protocol-Version": "1"}


async def healthy_turn(url: str, device: str = "bb:00:00:00:00:99") -> list[dict[str, Any]]:
    """A fresh device can still connect and complete a turn."""
    async with websockets.connect(url, additional_headers=headers(device)) as ws:
        await ws.send(json.dumps(HELLO))
        hello = await recv_json(ws)
        assert hello["type"] == "hello" and hello["session_id"]
        await ws.send(json.dumps({"type": "listen", "state": "detect", "text": "hi there"}))
        got = []
        while not got or got[-1] != {"type": "tts", "state": "stop"}:
            got.append(await recv_json(ws))
        return got


async def test_invalid_json_unknown_type_and_binary_before_hello(server) -> None:
    async with websockets.connect(server.ws_url, additional_headers=headers()) as ws:
        await ws.send(b"\x00\x01garbage opus before hello")
        await ws.send("{not json")
        await ws.send(json.dumps({"type": "teleport"}))
        await ws.send(json.dumps(["an", "array"]))
        await ws.send(json.dumps(HELLO))
        hello = await recv_json(ws)
        assert hello["type"] == "hello"
        # After the hello, more junk is skipped and the session keeps working.
        await ws.send("}}}")
        await ws.send(json.dumps({"type": "listen", "state": "levitate"}))
        await ws.send(json.dumps({"type": "listen", "state": "detect", "text": 42}))
        await ws.send(b"\xff" * 100)
        await ws.send(json.dumps({"type": "listen", "state": "detect", "text": "hello"}))
        assert (await recv_json(ws)) == {"type": "stt", "text": "hello"}
    log = server.log()
    assert "binary frame before hello" in log
    assert "unknown message type" in log
    assert (await healthy_turn(server.ws_url))[0]["type"] == "stt"


async def test_oversized_frame_closes_only_that_connection(server) -> None:
    async with websockets.connect(server.ws_url, additional_headers=headers(),
                                  max_size=None) as ws:
        await ws.send(json.dumps(HELLO))
        await recv_json(ws)
        await ws.send("x" * 70_000)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    # exactly at the limit is accepted (and ignored as bad JSON)
    async with websockets.connect(server.ws_url, additional_headers=headers()) as ws:
        await ws.send(json.dumps(HELLO))
        await recv_json(ws)
        await ws.send("y" * 65536)
        await ws.send(json.dumps({"type": "listen", "state": "detect", "text": "still here"}))
        assert (await recv_json(ws))["text"] == "still here"
    await healthy_turn(server.ws_url)


async def test_garbage_headers_and_missing_identity(server) -> None:
    # No Device-Id and no Client-Id: refused with a reason, the server is unaffected.
    async with websockets.connect(server.ws_url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    weird = {"Device-Id": "z" * 300 + "'; DROP TABLE memories;--", "Client-Id": "ok-client",
             "Protocol-Version": "banana", "Authorization": "Bearer"}
    async with websockets.connect(server.ws_url, additional_headers=weird) as ws:
        await ws.send(json.dumps(HELLO))
        assert (await recv_json(ws))["type"] == "hello"
    # Query-parameter identity (browser clients)
    url = server.ws_url + "?device-id=bb:00:00:00:00:07&client-id=web"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello"}))  # hello without transport/audio_params
        assert (await recv_json(ws))["audio_params"]["sample_rate"] == 24000
    # Wrong path: a plain HTTP 404, not a crash.
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(server.ws_url.replace("/xiaozhi/v1/", "/nope")):
            pass
    await healthy_turn(server.ws_url)


async def test_no_hello_in_time_is_closed(server) -> None:
    async with websockets.connect(server.ws_url, additional_headers=headers()) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await healthy_turn(server.ws_url)


async def test_client_disconnecting_mid_turn(server) -> None:
    for i in range(5):
        ws = await websockets.connect(server.ws_url,
                                      additional_headers=headers(f"bb:00:00:00:01:0{i}"))
        await ws.send(json.dumps(HELLO))
        await recv_json(ws)
        await ws.send(json.dumps({"type": "listen", "state": "detect", "text": "a question"}))
        ws.transport.abort()  # drop the TCP connection without a close frame
    await asyncio.sleep(0.5)
    assert (await healthy_turn(server.ws_url))[0]["type"] == "stt"  # the server still serves
    assert "Traceback" not in server.log()
