"""What the mem0 API accepts: messages in mem0's forms, a scope, and the user's words kept
as episodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from daemon.llm.base import ChatMessage
from daemon.memory.store import EPISODE, FACT, Scope


def normalise_messages(messages: str | dict[str, Any] | Sequence[Any]) -> list[ChatMessage]:
    """mem0 accepts a string, one message dict, or a list of them."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, dict):
        messages = [messages]
    out: list[ChatMessage] = []
    for m in messages:
        if isinstance(m, str):
            out.append({"role": "user", "content": m})
        elif isinstance(m, dict) and isinstance(m.get("content"), str):
            out.append({"role": str(m.get("role", "user")), "content": m["content"]})
        else:
            raise ValueError("messages must be a string or a list of {role, content} dicts")
    return out


# An utterance kept as an episode is cut to this many characters (the embedder's window).
MAX_EPISODE_CHARS = 1000
SEARCH_KINDS = (FACT, EPISODE, "all")


def require_scope(user_id: str | None, agent_id: str | None, run_id: str | None,
           kind: str | None = FACT) -> Scope:
    scope = Scope(user_id, agent_id, run_id, kind)
    if scope.is_empty():
        raise ValueError("one of user_id, agent_id or run_id is required")
    return scope


def episode_texts(conversation: Sequence[ChatMessage]) -> list[str]:
    """What the user said, one episode per message (the assistant's words are not kept)."""
    out = []
    for m in conversation:
        text = " ".join(m["content"].split())[:MAX_EPISODE_CHARS]
        if m["role"] == "user" and text and text not in out:
            out.append(text)
    return out
