"""A simulated xiaozhi device over the real WebSocket protocol (text turns)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

HELLO = {"type": "hello", "version": 1, "transport": "websocket",
         "audio_params": {"format": "opus", "sample_rate": 16000, "channels": 1,
                          "frame_duration": 60}}


def device_headers(device: str) -> dict[str, str]:
    return {"Device-Id": device, "Client-Id": f"client-{device}", "Protocol-Version": "1"}


async def recv_json(ws: Any, timeout: float = 5) -> dict[str, Any]:
    """The next JSON message that is not MCP (binary frames are skipped)."""
    while True:
        data = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(data, str):
            msg = json.loads(data)
            if msg.get("type") != "mcp":
                return msg


async def turn_messages(ws: Any, timeout: float = 60) -> list[dict[str, Any]]:
    """Every message of one turn, up to and including ``tts stop``."""
    got: list[dict[str, Any]] = []
    while not got or got[-1] != {"type": "tts", "state": "stop"}:
        got.append(await recv_json(ws, timeout))
    return got
