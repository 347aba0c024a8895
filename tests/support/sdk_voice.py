"""The real xiaozhi-sdk client as a device that talks: 16 kHz PCM in (the SDK encodes it to
Opus), the server's Opus answer out (the SDK decodes it), every message timed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
from xiaozhi_sdk import XiaoZhiWebsocket

from tests.support.audio import silence, speech

TIMEOUT = 120  # ASR on a busy 2-core machine can take many seconds per utterance
# What the scripted model answers in the voice tests: a short answer, a long story.
STORY = " ".join(f"This is sentence number {n} of a story about a small robot." for n in
                 ("one", "two", "three", "four", "five", "six", "seven", "eight"))
LIGHT_ANSWER = "Sure. The light in the kitchen is now on."
RULES = {"rules": [
    {"json": True, "match": ".*", "reply": {"facts": []}},
    {"match": "(?i)story", "reply": STORY},
    {"match": "(?i)what time", "reply": "It is time for tea."},
    {"match": ".*", "reply": LIGHT_ANSWER},
]}


class VoiceDevice:
    """The SDK as a device that talks: 16 kHz PCM in, our 24 kHz Opus decoded out."""

    def __init__(self, url: str, mac: str, mode: str = "realtime") -> None:
        self.mac = mac
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.frame_times: list[float] = []
        self._new = asyncio.Event()
        self.sdk = XiaoZhiWebsocket(self._on_message, url=url, audio_sample_rate=16000,
                                    audio_output_sample_rate=24000)
        self.sdk.mode = mode
        handle = self.sdk._handle_websocket_message

        async def timed(message: Any) -> None:  # the SDK itself decodes; we only time frames
            if isinstance(message, bytes):
                self.frame_times.append(time.monotonic())
            await handle(message)

        self.sdk._handle_websocket_message = timed  # type: ignore[method-assign]

    async def _on_message(self, message: dict[str, Any]) -> None:
        self.received.append((time.monotonic(), message))
        self._new.set()

    async def __aenter__(self) -> VoiceDevice:
        assert await self.sdk.init_connection(self.mac)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sdk.close()

    def messages(self, start: int = 0) -> list[dict[str, Any]]:
        return [m for _t, m in self.received[start:]]

    async def wait_for(self, pred, timeout: float = TIMEOUT, start: int = 0) -> tuple[float, dict]:
        async def scan() -> tuple[float, dict]:
            seen = start
            while True:
                for t, m in self.received[seen:]:
                    if pred(m):
                        return t, m
                seen = len(self.received)
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def send_pcm(self, pcm: np.ndarray) -> None:
        pcm = np.concatenate([pcm, np.zeros((-pcm.size) % 960, np.int16)])
        for i in range(0, pcm.size, 960):
            assert await self.sdk.send_audio(pcm[i : i + 960].tobytes())
            if i % (960 * 50) == 0:
                await asyncio.sleep(0)

    async def say(self, text: str) -> None:
        await self.send_pcm(np.concatenate([speech(text), silence(1.2)]))

    async def send_json(self, msg: dict[str, Any]) -> None:
        assert self.sdk.websocket is not None
        await self.sdk.websocket.send(json.dumps({"session_id": self.sdk.session_id, **msg}))

    def audio(self) -> np.ndarray:
        q = list(self.sdk.output_audio_queue)
        return np.concatenate([np.asarray(a).ravel() for a in q]) if q else np.zeros(0, np.int16)


def is_(kind: str, state: str | None = None):
    return lambda m: m.get("type") == kind and (state is None or m.get("state") == state)
