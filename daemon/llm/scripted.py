"""A scripted model: canned replies chosen by rules. For tests and demos, never a default.

Rules are tried in order against the last user message (``match``, a regular expression) and,
for JSON calls, the whole prompt (``prompt_match``); the first rule that matches gives the reply.
A reply may use ``{user}`` (the last user message), ``{system}`` (the system prompt) and
``{memories}`` (what the system prompt holds between <memory> tags, on one line). Chat replies
stream word by word (``token_delay_s`` apart, per rule or for all) so abort and sentence
splitting are exercised for real.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from daemon.llm.base import ChatMessage, LLMError

Responder = Callable[[Sequence[ChatMessage], dict[str, Any] | None], str]


def _last_user(messages: Sequence[ChatMessage]) -> str:
    for m in reversed(messages):
        if m["role"] == "user":
            return m["content"]
    return ""


class ScriptedLLM:
    """Replies from a Python function, or from rules loaded from a JSON file."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        rules: list[dict[str, Any]] | None = None,
        token_delay_s: float = 0.0,
    ) -> None:
        self.name = "scripted"
        self._responder = responder
        self._rules = rules or []
        self.token_delay_s = token_delay_s
        self.calls: list[tuple[list[ChatMessage], dict[str, Any] | None]] = []

    @classmethod
    def from_file(cls, path: Path) -> ScriptedLLM:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LLMError(f"cannot read scripted replies {path}: {exc}") from exc
        rules = data.get("rules", []) if isinstance(data, dict) else data
        delay = float(data.get("token_delay_s", 0.0)) if isinstance(data, dict) else 0.0
        return cls(rules=rules, token_delay_s=delay)

    def _reply(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        return self._pick(messages, schema)[0]

    def _pick(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None
    ) -> tuple[str, float]:
        """The reply and the delay between its words."""
        self.calls.append(([dict(m) for m in messages], schema))  # type: ignore[misc]
        if self._responder is not None:
            return self._responder(messages, schema), self.token_delay_s
        user = _last_user(messages)
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        prompt = "\n".join(m["content"] for m in messages)
        for rule in self._rules:
            if bool(rule.get("json", False)) != (schema is not None):
                continue
            if "match" in rule and not re.search(rule["match"], user):
                continue
            if "prompt_match" in rule and not re.search(rule["prompt_match"], prompt):
                continue
            reply = rule.get("reply", "")
            if not isinstance(reply, str):
                reply = json.dumps(reply, ensure_ascii=False)
            delay = float(rule.get("token_delay_s", self.token_delay_s))
            memories = ""
            if "<memory>" in system and "</memory>" in system:
                block = system.split("<memory>", 1)[1].split("</memory>", 1)[0]
                memories = " ".join(block.split())
            text = (reply.replace("{user}", user).replace("{system}", system)
                    .replace("{memories}", memories))
            return text, delay
        return ('{"facts": []}' if schema is not None else "OK."), self.token_delay_s

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        timeout_s: float,
    ) -> AsyncIterator[str]:
        text, delay = self._pick(messages, None)
        for piece in re.findall(r"\S+\s*", text):
            if delay:
                await asyncio.sleep(delay)
            yield piece

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str:
        if self.token_delay_s:
            await asyncio.sleep(self.token_delay_s)
        return self._reply(messages, schema)

    async def close(self) -> None:
        return None
