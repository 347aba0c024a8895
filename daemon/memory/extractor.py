"""FactExtractor: the facts worth remembering in one exchange, via the LLM."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

import numpy as np
from pydantic import BaseModel, field_validator

from daemon.llm.base import ChatLLM, ChatMessage
from daemon.memory.dates import absolute_dates
from daemon.memory.grounding import copied_from_assistant, nothing_to_learn, shares_words
from daemon.memory.limits import DEFAULT_CONTEXT_TOKENS, EXTRACT_MARGIN_TOKENS, split_tokens
from daemon.memory.llm_json import ask_json
from daemon.memory.prompts import (
    FACTS_SCHEMA,
    MAX_CONTEXT_CHARS,
    MAX_FACT_CHARS,
    MAX_FACTS,
    extraction_messages,
)
from daemon.memory.subjects import restore_subject

log = logging.getLogger(__name__)

LINE_TOKENS = 8  # "user: " and the line break
# Texts -> L2-normalised vectors (the memory's document embedder).
EmbedTexts = Callable[[Sequence[str]], Awaitable[np.ndarray]]


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_conversation(conversation: Sequence[ChatMessage], budget: int,
                       count: Callable[[str], int]) -> list[list[ChatMessage]]:
    """The conversation in pieces of at most ``budget`` tokens each, in order: a long user
    message is cut (at spaces where it can be), an assistant line goes with the user line
    after it as its context. Nothing the user said is dropped."""
    units: list[tuple[list[ChatMessage], int]] = []
    context: ChatMessage | None = None
    for m in conversation:
        if m["role"] == "assistant":
            context = {"role": "assistant", "content": m["content"][:MAX_CONTEXT_CHARS]}
            continue
        if m["role"] != "user" or not m["content"].strip():
            continue
        ctx_cost = count(context["content"]) + LINE_TOKENS if context else 0
        room = max(16, budget - ctx_cost - LINE_TOKENS)
        for i, chunk in enumerate(split_tokens(m["content"], count, room, 10**9)):
            lines: list[ChatMessage] = [{"role": "user", "content": chunk}]
            cost = count(chunk) + LINE_TOKENS
            if i == 0 and context is not None:
                lines.insert(0, context)
                cost += ctx_cost
            units.append((lines, cost))
        context = None
    pieces: list[list[ChatMessage]] = []
    used = budget + 1
    for lines, cost in units:
        if used + cost > budget:
            pieces.append([])
            used = 0
        pieces[-1].extend(lines)
        used += cost
    return pieces


class Facts(BaseModel):
    facts: list[str]

    @field_validator("facts", mode="before")
    @classmethod
    def _clean(cls, value: object) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("facts must be a list")
        out: list[str] = []
        for item in value:
            if isinstance(item, dict):  # some models wrap facts: {"fact": "..."}
                item = next((v for v in item.values() if isinstance(v, str)), "")
            if not isinstance(item, str):
                continue
            text = " ".join(item.split())[:MAX_FACT_CHARS]
            if text and text not in out:
                out.append(text)
        return out[:MAX_FACTS]


class FactExtractor:
    def __init__(
        self, llm: ChatLLM, *, max_tokens: int = 384, timeout_s: float = 120.0, retries: int = 2,
        embed: EmbedTexts | None = None,
    ) -> None:
        self.llm = llm
        self.embed = embed
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.retries = retries

    async def extract(
        self, conversation: Sequence[ChatMessage], today: date | None = None
    ) -> tuple[list[str], int]:
        """(facts, LLM calls made); raises LLMOutputError when the model never answers validly.
        Only the user's lines are a source of facts; ``today``: the day they were said."""
        said = " ".join(m["content"] for m in conversation if m["role"] == "user")
        if not said.strip() or nothing_to_learn(said):
            return [], 0
        day = today or date.today()
        kept: list[str] = []
        calls = 0
        for piece in self.pieces(conversation, day):
            # Past dates in the user's words are made absolute before the model reads them:
            # a 1.5B model drops "two days ago" / "前天" from its facts more often than it
            # drops a date it can copy.
            piece = [{"role": m["role"], "content": absolute_dates(m["content"], day, past_only=True)}
                     if m["role"] == "user" else m for m in piece]
            facts, n = await ask_json(
                self.llm, extraction_messages(piece, day), FACTS_SCHEMA, Facts,
                max_tokens=self.max_tokens, timeout_s=self.timeout_s, retries=self.retries,
                what="fact extraction",
            )
            calls += n
            log.debug("extracted %s", facts.facts)
            said = " ".join(m["content"] for m in piece if m["role"] == "user")
            context = " ".join(m["content"] for m in piece if m["role"] == "assistant")
            for fact in facts.facts:
                if context and (copied_from_assistant(fact, said, context)
                                or await self._translated(fact, said, context)):
                    log.info("dropped a fact taken from the assistant's words, not the user's")
                    continue
                fact = absolute_dates(restore_subject(fact, said), day)
                if fact not in kept:
                    kept.append(fact)
        return kept, calls

    async def _translated(self, fact: str, said: str, context: str) -> bool:
        """A fact sharing no word with the user's words that means the assistant's line more
        than the user's: the model translated the assistant's words. Seen with Qwen2.5-1.5B in
        a new-user chat: "I have a cat called Mochi and I'm vegetarian." after the assistant's
        "…你是杭州的一家医院的护士。" gave "Works as a nurse at a hospital in Hangzhou", which
        replaced the user's Chinese job memory (real e5: 0.78 to the user's words, 0.84 to the
        assistant's). Rare (3 of 227 bench facts share no word with what the user said), so the
        embedder is only asked then."""
        if self.embed is None or shares_words(fact, said):
            return False
        vecs = await self.embed([fact, said, context])
        return float(vecs[0] @ vecs[2]) > float(vecs[0] @ vecs[1])

    def pieces(self, conversation: Sequence[ChatMessage], day: date) -> list[list[ChatMessage]]:
        """The conversation cut into extraction calls that each fit the model's context
        window with room for the answer (one call for an ordinary exchange)."""
        count: Callable[[str], int] = getattr(self.llm, "count_tokens", None) or _utf8_len
        window = getattr(self.llm, "context_tokens", None) or DEFAULT_CONTEXT_TOKENS
        prompt = extraction_messages([], day)
        overhead = sum(count(m["content"]) + LINE_TOKENS for m in prompt) + EXTRACT_MARGIN_TOKENS
        budget = max(64, window - self.max_tokens - overhead)
        return split_conversation(conversation, budget, count)
