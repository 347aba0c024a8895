"""Prompts and JSON schemas for the two LLM steps: fact extraction and the update decision.

Small local models follow examples better than instructions, so both prompts carry short
few-shot exchanges; the schemas bind the output through grammar-constrained decoding.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence

from daemon.llm.base import ChatMessage

MAX_FACTS = 8
MAX_FACT_CHARS = 300

FACTS_SCHEMA = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_FACT_CHARS},
            "maxItems": MAX_FACTS,
        }
    },
    "required": ["facts"],
    "additionalProperties": False,
}

DECISION_SCHEMA = {
    "type": "object",
    "properties": {
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "event": {"type": "string", "enum": ["ADD", "UPDATE", "DELETE", "NONE"]},
                    "id": {"type": "string", "maxLength": 8},
                    "text": {"type": "string", "maxLength": MAX_FACT_CHARS},
                },
                "required": ["event", "id", "text"],
                "additionalProperties": False,
            },
            "minItems": 1,
            "maxItems": 3,
        }
    },
    "required": ["actions"],
    "additionalProperties": False,
}


def decision_schema(shown: int) -> dict:
    """DECISION_SCHEMA with ``id`` limited to the ids shown ("0".."shown-1", or "" for ADD):
    under grammar-constrained decoding a model cannot even write an id it was not shown."""
    schema = copy.deepcopy(DECISION_SCHEMA)
    item = schema["properties"]["actions"]["items"]
    item["properties"]["id"] = {"type": "string", "enum": [""] + [str(i) for i in range(shown)]}
    return schema

EXTRACT_SYSTEM = """You extract memories about the user from a conversation with a home voice assistant.
Today is {today}.
Write down facts, preferences, plans, relationships and personal details the USER states about themselves or their home.
Rules:
- One short fact per item, without "The user" or "The person": write "Lives in Beijing", "Likes green tea".
- Write each fact in the language the user spoke (Chinese stays Chinese).
- Turn relative dates into dates using today's date.
- Ignore what the assistant says, greetings, questions and small talk.
- If there is nothing worth remembering, return {{"facts": []}}.
Answer with JSON only: {{"facts": ["...", "..."]}}"""

EXTRACT_EXAMPLES: list[tuple[str, str]] = [
    ("user: Hi, how are you?\nassistant: I'm fine, thanks!", '{"facts": []}'),
    (
        "user: My name is Tom and I'm allergic to peanuts.",
        '{"facts": ["Name is Tom", "Is allergic to peanuts"]}',
    ),
    ("user: 我女儿叫小美，她喜欢画画。", '{"facts": ["女儿叫小美", "女儿喜欢画画"]}'),
]

DECIDE_SYSTEM = """You manage a user's long-term memory. Compare a NEW FACT with the EXISTING MEMORIES (each has an id) and decide:
- ADD: the fact is new information. Use id "new".
- UPDATE: the fact refines or replaces an existing memory about the same thing (for example a move, a changed preference). Give that memory's id and the new full text.
- DELETE: the fact says an existing memory is no longer true and nothing replaces it. Give that memory's id.
- NONE: the fact is already known. Give the id of the memory that holds it.
Keep the user's language. Answer with JSON only: {"actions": [{"event": "...", "id": "...", "text": "..."}]}"""

DECIDE_EXAMPLES: list[tuple[str, str]] = [
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "Likes cheese pizza"}]\nNEW FACT: Loves cheese pizza',
        '{"actions": [{"event": "NONE", "id": "0", "text": "Likes cheese pizza"}]}',
    ),
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "Works as a teacher"}]\nNEW FACT: Has a dog named Max',
        '{"actions": [{"event": "ADD", "id": "new", "text": "Has a dog named Max"}]}',
    ),
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "住在杭州"}, {"id": "1", "text": "喜欢咖啡"}]\n'
        "NEW FACT: 搬到南京了",
        '{"actions": [{"event": "UPDATE", "id": "0", "text": "住在南京"}]}',
    ),
]


def _few_shot(system: str, examples: Sequence[tuple[str, str]], final: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": system}]
    for user, answer in examples:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": final})
    return messages


def extraction_messages(conversation: Sequence[ChatMessage], today: str) -> list[ChatMessage]:
    lines = []
    for m in conversation:
        if m["role"] in ("user", "assistant"):
            content = " ".join(m["content"].split())
            if m["role"] == "assistant":
                content = content[:300]
            lines.append(f"{m['role']}: {content}")
    return _few_shot(EXTRACT_SYSTEM.format(today=today), EXTRACT_EXAMPLES, "\n".join(lines))


def decision_messages(fact: str, existing: Sequence[tuple[str, str]]) -> list[ChatMessage]:
    shown = json.dumps([{"id": i, "text": t} for i, t in existing], ensure_ascii=False)
    return _few_shot(
        DECIDE_SYSTEM, DECIDE_EXAMPLES, f"EXISTING MEMORIES:\n{shown}\nNEW FACT: {fact}"
    )
