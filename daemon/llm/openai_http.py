"""Any OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM, a cloud API)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from daemon.llm.base import ChatMessage, LLMError, LLMTimeout

log = logging.getLogger(__name__)


class OpenAIChatLLM:
    def __init__(self, base_url: str, *, api_key: str = "", model: str = "local") -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.name = f"openai:{model}@{self.base_url}"
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._session = aiohttp.ClientSession(headers=headers)
        return self._session

    async def _stream(self, body: dict[str, Any], timeout_s: float) -> AsyncIterator[str]:
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=10)
        try:
            async with self._http().post(
                f"{self.base_url}/chat/completions", json=body, timeout=timeout
            ) as resp:
                if resp.status != 200:
                    text = (await resp.text())[:300]
                    raise LLMError(f"{self.base_url} answered HTTP {resp.status}: {text}")
                async for raw in resp.content:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        chunk = json.loads(data)
                        piece = chunk["choices"][0].get("delta", {}).get("content")
                    except (ValueError, KeyError, IndexError, TypeError):
                        log.debug("skipped an unreadable stream chunk: %.100s", data)
                        continue
                    if piece:
                        yield piece
        except asyncio.TimeoutError as exc:  # = TimeoutError on 3.11+, not on 3.10
            raise LLMTimeout(f"{self.base_url} took over {timeout_s:.0f} s") from exc
        except aiohttp.ClientError as exc:
            raise LLMError(f"cannot reach {self.base_url}: {exc}") from exc

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        timeout_s: float,
    ) -> AsyncIterator[str]:
        body = {"model": self.model, "messages": list(messages), "max_tokens": max_tokens,
                "temperature": temperature, "stream": True}
        async for piece in self._stream(body, timeout_s):
            yield piece

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str:
        # llama.cpp's server takes the schema this way; OpenAI-style servers use json_schema.
        body = {
            "model": self.model, "messages": list(messages), "max_tokens": max_tokens,
            "temperature": 0.0, "stream": True,
            "response_format": {"type": "json_object", "schema": schema},
        }
        return "".join([p async for p in self._stream(body, timeout_s)])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
