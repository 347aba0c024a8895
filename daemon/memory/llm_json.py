"""Ask an LLM for JSON, robustly: constrained decoding, bounded output, timeout, validation,
retries. mem0's most reported failure is a crash on invalid JSON from a local model; here
invalid output is retried and then reported as one clear error."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from daemon.llm.base import ChatLLM, ChatMessage, LLMError

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

MAX_RAW_CHARS = 20_000
MAX_OBJECT_STARTS = 64  # "{" positions tried when the output is not JSON as a whole
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class LLMOutputError(Exception):
    """The LLM gave no usable JSON after every retry."""


def parse_json_object(raw: str) -> Any:
    """The first JSON object in ``raw`` (tolerates code fences and text around it)."""
    text = _FENCE.sub("", raw.strip())
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # deeply nested garbage raises RecursionError
        pass
    start = text.find("{")
    tries = 0
    while start != -1 and tries < MAX_OBJECT_STARTS:  # bounded: garbage is quadratic here
        tries += 1
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
            return obj
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
    raise ValueError("no JSON object in the output")


async def ask_json(
    llm: ChatLLM,
    messages: Sequence[ChatMessage],
    schema: dict[str, Any],
    model: type[T],
    *,
    max_tokens: int,
    timeout_s: float,
    retries: int,
    what: str,
) -> tuple[T, int]:
    """Validated output and the number of calls it took, or LLMOutputError."""
    errors: list[str] = []
    for attempt in range(retries + 1):
        try:
            raw = await llm.complete_json(
                messages, schema, max_tokens=max_tokens, timeout_s=timeout_s
            )
        except LLMError as exc:
            errors.append(f"call failed: {exc}")
            log.warning("%s: LLM call failed (attempt %d): %s", what, attempt + 1, exc)
            continue
        raw = (raw or "")[:MAX_RAW_CHARS]
        try:
            return model.model_validate(parse_json_object(raw)), attempt + 1
        except (ValueError, ValidationError) as exc:
            short = str(exc).splitlines()[0][:200]
            errors.append(f"invalid output ({short}): {raw[:200]!r}")
            log.warning("%s: invalid LLM output (attempt %d): %s", what, attempt + 1, short)
    raise LLMOutputError(f"{what}: no valid JSON after {retries + 1} tries; " + "; ".join(errors[-3:]))
