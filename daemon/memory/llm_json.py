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


def close_truncated(text: str) -> str | None:
    """Complete a JSON prefix cut off by the token limit: drop the unfinished string (and a
    dangling key), then close the open arrays and objects. None if nothing was open.

    Grammar-constrained output is always a valid prefix, so this keeps every complete item
    of an answer that ran out of tokens instead of throwing all of it away."""
    stack: list[str] = []
    in_str = esc = False
    str_start = -1
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str, str_start = True, i
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    if not stack:
        return None
    if in_str:
        text = text[:str_start]
    text = text.rstrip().rstrip(",").rstrip()
    if text.endswith(":"):  # a key whose value never came: drop the key too
        text = text[:-1].rstrip()
        text = text[: text.rfind('"', 0, len(text) - 1)].rstrip().rstrip(",")
    return text + "".join("}" if c == "{" else "]" for c in reversed(stack))


def parse_json_object(raw: str) -> Any:
    """The first JSON object in ``raw`` (tolerates code fences, text around it, and output
    cut off by the token limit)."""
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
    first = text.find("{")
    closed = close_truncated(text[first:]) if first != -1 else None
    if closed:
        try:
            value = json.loads(closed)
        except (ValueError, RecursionError):
            pass
        else:
            log.info("LLM output was cut off; kept its complete part")
            return value
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
