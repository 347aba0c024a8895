"""Any OpenAI-compatible chat endpoint (llama.cpp server, Ollama, vLLM, a cloud API)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from daemon.llm.base import ChatMessage, LLMError, LLMTimeout
from daemon.llm.schema_check import check_json

log = logging.getLogger(__name__)

# How JSON is asked for, strictest first. "json_schema" is OpenAI's structured output (also
# llama.cpp's own server, vLLM, Ollama >= 0.5): the server enforces the schema. llama-cpp-
# python's server only knows "json_object" with a "schema" beside it (and answers 422 to the
# first); some servers take "json_object" but ignore the schema; "none" is plain text.
RESPONSE_FORMATS = ("json_schema", "json_object_schema", "json_object", "none")


def response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any]:
    if mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": schema}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


class Rejected(LLMError):
    """The server refused the request's response_format (HTTP 400/422)."""


class OpenAIChatLLM:
    def __init__(self, base_url: str, *, api_key: str = "", model: str = "local") -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.name = f"openai:{model}@{self.base_url}"
        self.json_mode = ""  # the response_format the server took (see RESPONSE_FORMATS)
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
                    # llama-cpp-python's server answers 500 to a response_format it
                    # does not know, naming the field; others answer 400 or 422.
                    if "response_format" in body and (
                            resp.status in (400, 422) or "response_format" in text):
                        raise Rejected(f"HTTP {resp.status}: {text}")
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
        """JSON in the shape of ``schema``: asked for with the strongest ``response_format``
        the server accepts, checked, and asked for once more (told what was wrong) when the
        server did not enforce it."""
        raw = await self._json_call(list(messages), schema, max_tokens, timeout_s)
        errors = check_json(raw, schema)
        if not errors:
            return raw
        log.warning("%s answered JSON of the wrong shape (%s): asking once more",
                    self.base_url, "; ".join(errors)[:200])
        retry = [*messages, {"role": "assistant", "content": raw[:2000]},
                 {"role": "user", "content": "That answer does not match the required JSON "
                  f"shape ({'; '.join(errors)[:300]}). Answer again with JSON only, exactly "
                  f"in this JSON schema: {json.dumps(schema, ensure_ascii=False)}"}]
        return await self._json_call(retry, schema, max_tokens, timeout_s)

    async def _json_call(self, messages: list[ChatMessage], schema: dict[str, Any],
                         max_tokens: int, timeout_s: float) -> str:
        """One call, trying the response formats from the strictest: a server that rejects
        one (HTTP 400/422) is asked with the next, and the one it took is remembered."""
        modes = RESPONSE_FORMATS[RESPONSE_FORMATS.index(self.json_mode):] if self.json_mode \
            else RESPONSE_FORMATS
        for mode in modes:
            body = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                    "temperature": 0.0, "stream": True}
            if mode != "none":
                body["response_format"] = response_format(mode, schema)
            try:
                raw = "".join([p async for p in self._stream(body, timeout_s)])
            except Rejected as exc:
                log.info("%s does not take response_format %s (%s): trying the next",
                         self.base_url, mode, exc)
                continue
            if self.json_mode != mode:
                log.info("%s: JSON asked with response_format %s", self.base_url, mode)
                self.json_mode = mode
            return raw
        raise LLMError(f"{self.base_url} rejected every way of asking for JSON")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
