"""End to end: the real `xiaozhi-sdk` client (PyPI) against `xiaozhi-memd serve` as a subprocess.

A scripted model makes answers deterministic: it echoes the memories injected into its prompt
(``{memories}``), so what the device hears shows what memory the turn was given.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from xiaozhi_sdk import XiaoZhiWebsocket

RULES = {
    "rules": [
        # extraction: facts from what the user said
        {"json": True, "prompt_match": "NEW FACT", "reply": {"actions": [
            {"event": "ADD", "id": "new", "text": ""}]}},
        {"json": True, "match": r"user: .*live in Berlin", "reply": {"facts": ["Lives in Berlin"]}},
        {"json": True, "match": r"user: .*live in Paris", "reply": {"facts": ["Lives in Paris"]}},
        {"json": True, "match": r"user: .*cat is called Momo",
         "reply": {"facts": ["Has a cat called Momo"]}},
        # chat
        {"match": "(?i)where do i live", "reply": "Here is what I remember: {memories}."},
        {"match": "(?i)long story", "token_delay_s": 0.05,
         "reply": " ".join(f"Sentence number {i} of a very long story." for i in range(200))},
        {"match": ".*", "reply": "Nice to hear that. I will remember it."},
    ]
}


@pytest.fixture
def server(make_server, tmp_path: Path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    srv = make_server(llm={"provider": "scripted", "scripted": {"replies_file": str(rules)}})
    srv.start()
    srv.wait_ready()
    yield srv
    assert srv.stop() == 0, srv.log()


class Device:
    """A simulated xiaozhi device: the SDK plus a log of what it received."""

    def __init__(self, url: str, mac: str) -> None:
        self.mac = mac
        self.received: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self.sdk = XiaoZhiWebsocket(self._on_message, url=url)

    async def _on_message(self, message: dict[str, Any]) -> None:
        self.received.append(message)
        self._new.set()

    async def __aenter__(self) -> Device:
        assert await self.sdk.init_connection(self.mac)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sdk.close()

    async def wait_for(self, pred, timeout: float = 20.0, start: int = 0) -> dict[str, Any]:
        async def scan() -> dict[str, Any]:
            seen = start
            while True:
                for m in self.received[seen:]:
                    if pred(m):
                        return m
                seen = len(self.received)
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def turn(self, text: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        start = len(self.received)
        await self.sdk.send_text(text)
        await self.wait_for(lambda m: m.get("type") == "tts" and m.get("state") == "stop",
                            timeout, start)
        return self.received[start:]


def spoken(messages: list[dict[str, Any]]) -> str:
    return " ".join(m["text"] for m in messages
                    if m.get("type") == "tts" and m.get("state") == "sentence_start")


async def ask_until(device: Device, question: str, expected: str, timeout: float = 30) -> str:
    """Memory is learned in the background after a turn: ask until it shows (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    answer = ""
    while loop.time() < deadline:
        answer = spoken(await device.turn(question))
        if expected in answer:
            return answer
        await asyncio.sleep(0.3)
    return answer


async def test_text_turn_message_order(server) -> None:
    async with Device(server.ws_url, "aa:00:00:00:00:01") as dev:
        msgs = await dev.turn("Hello there, my cat is called Momo.")
    kinds = [(m["type"], m.get("state")) for m in msgs if m.get("type") != "websocket"]
    assert kinds[0] == ("stt", None)
    assert msgs[0]["text"] == "Hello there, my cat is called Momo."
    assert kinds[1] == ("llm", None) and msgs[1]["emotion"]
    assert kinds[2] == ("tts", "start")
    assert kinds[-1] == ("tts", "stop")
    middle = kinds[3:-1]
    assert middle and all(k == ("tts", "sentence_start") for k in middle)
    assert spoken(msgs) == "Nice to hear that. I will remember it."


async def test_fact_told_in_one_connection_is_recalled_in_the_next(server) -> None:
    mac = "aa:00:00:00:00:02"
    async with Device(server.ws_url, mac) as dev:
        await dev.turn("I live in Berlin, by the way.")
    # A new connection of the same device: memory comes from the store, not the session.
    async with Device(server.ws_url, mac) as dev:
        answer = await ask_until(dev, "Where do I live?", "Lives in Berlin")
    assert "Lives in Berlin" in answer  # the memory injected into the prompt, echoed
    assert "(nothing yet)" not in answer


async def test_two_devices_at_once_never_mix_memories(server) -> None:
    async with Device(server.ws_url, "aa:00:00:00:00:0a") as a, \
            Device(server.ws_url, "aa:00:00:00:00:0b") as b:
        await asyncio.gather(a.turn("I live in Berlin."), b.turn("I live in Paris."))
        ans_a, ans_b = await asyncio.gather(
            ask_until(a, "Where do I live?", "Lives in Berlin"),
            ask_until(b, "Where do I live?", "Lives in Paris"),
        )
    assert "Lives in Berlin" in ans_a and "Paris" not in ans_a
    assert "Lives in Paris" in ans_b and "Berlin" not in ans_b


async def test_abort_mid_answer_stops_speech_and_records_it_interrupted(server) -> None:
    async with Device(server.ws_url, "aa:00:00:00:00:03") as dev:
        start = len(dev.received)
        await dev.sdk.send_text("Tell me a long story")
        await dev.wait_for(lambda m: m.get("state") == "sentence_start", start=start)
        await dev.sdk.send_abort()
        await dev.wait_for(lambda m: m.get("type") == "tts" and m.get("state") == "stop", 5, start)
        stop_at = len(dev.received)
        await asyncio.sleep(1.0)
        after_stop = [m for m in dev.received[stop_at:] if m.get("state") == "sentence_start"]
        assert after_stop == []
        sentences = [m for m in dev.received[start:] if m.get("state") == "sentence_start"]
        assert 1 <= len(sentences) < 200
        # The server keeps serving this connection after the abort.
        msgs = await dev.turn("Hello again")
        assert spoken(msgs) == "Nice to hear that. I will remember it."
    db = Path(server.config).parent / "data" / "memory.sqlite3"
    rows: list = []
    for _ in range(50):  # the exchange is written just after the last message is sent
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT content, interrupted FROM messages WHERE role = 'assistant' "
                "AND user_id = 'aa:00:00:00:00:03' ORDER BY seq").fetchall()
        if len(rows) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(rows) == 2
    assert rows[0][1] == 1 and rows[0][0].startswith("Sentence number 0")
    assert rows[-1] == ("Nice to hear that. I will remember it.", 0)


async def test_sdk_connects_through_our_ota_endpoint(server) -> None:
    dev = XiaoZhiWebsocket(lambda m: asyncio.sleep(0), ota_url=f"{server.http_url}/xiaozhi/ota")
    assert await dev.init_connection("aa:00:00:00:00:04")
    assert dev.url == server.ws_url
    assert dev.session_id
    await dev.close()


async def test_device_mcp_tools_are_paged_and_kept(server) -> None:
    dev = Device(server.ws_url, "aa:00:00:00:00:05")
    await dev.sdk.set_mcp_tool([{
        "name": "self.audio_speaker.set_volume",
        "description": "Set the speaker volume",
        "inputSchema": {"type": "object", "properties": {"volume": {"type": "integer"}}},
        "tool_func": lambda volume: {"ok": True},
    }])
    async with dev:
        for _ in range(50):
            if "has 1 MCP tools" in server.log():
                break
            await asyncio.sleep(0.1)
    assert "device aa:00:00:00:00:05 has 1 MCP tools" in server.log()
