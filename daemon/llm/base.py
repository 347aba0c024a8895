"""The small interface every chat/completion backend implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, TypedDict, runtime_checkable


class ChatMessage(TypedDict):
    role: str
    content: str


class LLMError(Exception):
    """The backend failed (load error, timeout, transport error)."""


class LLMTimeout(LLMError):
    """The call ran past its time budget."""


class ChatLLM(Protocol):
    """A chat model: streamed answers for turns, schema-bound JSON for the memory engine."""

    name: str

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        timeout_s: float,
    ) -> AsyncIterator[str]:
        """Yield text pieces as they are generated; closing the iterator stops generation."""
        ...

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> str:
        """Return raw text constrained (where the backend can) to ``schema``; never parsed here."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Prefills(Protocol):
    """A local model that can read a later prompt's opening ahead of time (llama.cpp)."""

    async def prefill(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> int: ...

    def stop_prefills(self) -> None:
        """Stop every read-ahead in progress (between two chunks)."""
