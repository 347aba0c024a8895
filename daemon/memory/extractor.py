"""FactExtractor: the facts worth remembering in one exchange, via the LLM."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, field_validator

from daemon.llm.base import ChatLLM, ChatMessage
from daemon.memory.dates import absolute_dates
from daemon.memory.grounding import copied_from_assistant
from daemon.memory.llm_json import ask_json
from daemon.memory.prompts import FACTS_SCHEMA, MAX_FACT_CHARS, MAX_FACTS, extraction_messages

log = logging.getLogger(__name__)


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
        self, llm: ChatLLM, *, max_tokens: int = 384, timeout_s: float = 120.0, retries: int = 2
    ) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.retries = retries

    async def extract(
        self, conversation: Sequence[ChatMessage], today: date | None = None
    ) -> tuple[list[str], int]:
        """(facts, LLM calls made); raises LLMOutputError when the model never answers validly.
        Only the user's lines are a source of facts; ``today``: the day they were said."""
        if not any(m["role"] == "user" and m["content"].strip() for m in conversation):
            return [], 0
        day = today or date.today()
        facts, calls = await ask_json(
            self.llm, extraction_messages(conversation, day), FACTS_SCHEMA, Facts,
            max_tokens=self.max_tokens, timeout_s=self.timeout_s, retries=self.retries,
            what="fact extraction",
        )
        said = " ".join(m["content"] for m in conversation if m["role"] == "user")
        context = " ".join(m["content"] for m in conversation if m["role"] == "assistant")
        kept = []
        for fact in facts.facts:
            if context and copied_from_assistant(fact, said, context):
                log.info("dropped a fact taken from the assistant's words, not the user's")
                continue
            kept.append(absolute_dates(fact, day))
        return kept, calls
