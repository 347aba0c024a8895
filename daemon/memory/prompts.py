"""Prompts and JSON schemas for the two LLM steps: fact extraction and the update decision.

Small local models follow examples better than instructions, so both prompts carry short
few-shot exchanges; the schemas bind the output through grammar-constrained decoding.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import date

from daemon.llm.base import ChatMessage
from daemon.text import has_han

MAX_FACTS = 8
MAX_FACT_CHARS = 300
MAX_CONTEXT_CHARS = 200  # of an assistant line shown as context

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
            # Two at most: a move can change two memories ("we moved" -> me and my partner).
            # Small models also "UPDATE" a memory to its old text and ADD the fact beside it;
            # validate_actions turns that into one UPDATE to the fact.
            "minItems": 1,
            "maxItems": 2,
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

EXTRACT_SYSTEM = """You keep a home voice assistant's long-term memory about its user. You read what the user just said and write down what is worth remembering about them for months.
Write facts the USER states about themselves, their family, friends, pets, home, work, health, plans, likes and dislikes.
Rules:
- Facts come only from the lines that start with "user:". Lines that start with "assistant:" are context to understand the user (what "there" or "that" means, what the user corrects); never take a fact from them alone.
- One short fact per item, without "The user" or "用户": "Lives in Beijing", "女儿喜欢画画". Each fact must make sense alone: keep who it is about ("my sister lives in X" -> "Sister lives in X"; "我女儿…她是医生" -> "女儿是医生").
- Write the facts in the language named on the "Language:" line (Chinese facts for Chinese words, never translated). Copy names exactly.
- Turn relative dates (yesterday, last month, next week, 昨天, 上个月, 下周) into calendar dates using the date given.
- If the user corrects themselves, keep only the corrected fact.
- Likes, dislikes and a change of taste or habit are facts about the user: "I'm a big X fan" -> "Is a big fan of X"; "I've gone off X, it's all Y now" -> "Has gone off X", "Now prefers Y"; "我不X了，改Y了" -> "不再X", "现在Y".
- A question, a request or command for the assistant, a greeting, thanks or small talk is NOT a fact: answer {"facts": []}. But a fact the user states inside a request still counts ("I'm vegetarian, so no meat please" -> "Is vegetarian").
- The assistant is called 小智 (Xiaozhi): "小智，…" or "Hey Xiaozhi" is the user talking to it, not the user's name.
- Never invent or guess anything the user did not say.
Answer with JSON only: {"facts": ["...", "..."]}"""

EXTRACT_EXAMPLES: list[tuple[str, str]] = [
    ("Date: 2024-02-06 (Tuesday)\nLanguage: Chinese\nuser: 明天会下雪吗？帮我定一个七点的闹钟。",
     '{"facts": []}'),
    (
        "Date: 2023-11-18 (Saturday)\nLanguage: English\n"
        "assistant: The timer is set for twenty minutes.\n"
        "user: Thanks! What's a good name for a goldfish?",
        '{"facts": []}',
    ),
    (
        "Date: 2024-09-10 (Tuesday)\nLanguage: English\nuser: I'm Priya, I teach chemistry, and my brother Ravi "
        "moved to Toronto last month, sorry, I mean Vancouver.",
        '{"facts": ["Name is Priya", "Teaches chemistry", "Brother Ravi moved to Vancouver in '
        'August 2024"]}',
    ),
    (
        "Date: 2024-05-02 (Thursday)\nLanguage: English\n"
        "assistant: Noted, your son goes to Greenfield Primary.\n"
        "user: No, sorry, I said Greenwood, not Greenfield.",
        '{"facts": ["Son goes to Greenwood Primary"]}',
    ),
    (
        "Date: 2025-01-12 (Sunday)\nLanguage: Chinese\nassistant: 好的，记住了，你妈妈的生日是五月三号。\n"
        "user: 不对不对，是五月八号。",
        '{"facts": ["妈妈的生日是五月八号"]}',
    ),
    (
        "Date: 2025-03-22 (Saturday)\nLanguage: Chinese\nassistant: 西安的肉夹馍很有名哦。\n"
        "user: 我叫周文，我老公就是西安人，他在医院上班，不过他不吃辣。我上个月开始学大提琴，不对，是小提琴。",
        '{"facts": ["名字叫周文", "老公是西安人", "老公在医院上班", "老公不吃辣", "2025年2月开始学小提琴"]}',
    ),
]

DECIDE_SYSTEM = """You manage a user's long-term memory. Compare a NEW FACT with the EXISTING MEMORIES (each has an id) and decide what to do:
- ADD: the fact is new information, or it is about a different thing than every memory shown. Use id "".
- UPDATE: the fact changes or refines a memory about the SAME thing (the same person and the same attribute: where they live, their job, a pet's name, their opinion of the same food or drink). Give that memory's id and the full new text.
- DELETE: the fact says a memory is no longer true and nothing replaces it. Give that memory's id.
A move replaces where the user lives; a new job replaces the old job; "no longer / 不再 / 不…了" replaces a like or habit: that is an UPDATE.
- NONE: the fact is already known. Give the id of the memory that holds it.
A memory that is only similar (another person, another pet, another food) is never updated or deleted: the fact is ADDed.
Keep the language of the new fact. Answer with JSON only: {"actions": [{"event": "...", "id": "...", "text": "..."}]}"""

DECIDE_EXAMPLES: list[tuple[str, str]] = [
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "Plays tennis on Sundays"}]\n'
        "NEW FACT: Plays tennis every Sunday",
        '{"actions": [{"event": "NONE", "id": "0", "text": "Plays tennis on Sundays"}]}',
    ),
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "Daughter likes jazz"}, '
        '{"id": "1", "text": "Works as an architect"}]\nNEW FACT: Son likes hip hop',
        '{"actions": [{"event": "ADD", "id": "", "text": "Son likes hip hop"}]}',
    ),
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "喜欢喝乌龙茶"}, {"id": "1", "text": "住在杭州"}]\n'
        "NEW FACT: 2023年8月搬到南京",
        '{"actions": [{"event": "UPDATE", "id": "1", "text": "住在南京"}]}',
    ),
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "Likes cycling"}, '
        '{"id": "1", "text": "Works at a bakery"}]\nNEW FACT: Started working at a bank in May 2024',
        '{"actions": [{"event": "UPDATE", "id": "1", "text": "Works at a bank"}]}',
    ),
    (
        'EXISTING MEMORIES:\n[{"id": "0", "text": "Drives a red Toyota"}]\n'
        "NEW FACT: Sold the car and no longer drives",
        '{"actions": [{"event": "DELETE", "id": "0", "text": "Drives a red Toyota"}]}',
    ),
]


SAME_SCHEMA = {
    "type": "object",
    "properties": {
        # Naming each topic first is a small model's step of thought: the yes/no follows it.
        "old_topic": {"type": "string", "maxLength": 40},
        "new_topic": {"type": "string", "maxLength": 40},
        "same": {"type": "boolean"},
    },
    "required": ["old_topic", "new_topic", "same"],
    "additionalProperties": False,
}

SAME_SYSTEM = """An OLD memory about a user and a NEW fact. Name the topic of each in a few words (whose what: "user's home city", "user's job", "daughter's name", "user's opinion of coffee"), then say whether the topics are the same, so that the NEW fact changes what the OLD memory says. A different person, a different pet or a different attribute is a different topic. Answer with JSON only: {"old_topic": "...", "new_topic": "...", "same": true|false}"""

SAME_EXAMPLES: list[tuple[str, str]] = [
    ("OLD: Lives in Rome\nNEW: Moved to Oslo in March 2024",
     '{"old_topic": "user\'s home city", "new_topic": "user\'s home city", "same": true}'),
    ("OLD: Name is Anna\nNEW: Works as a nurse",
     '{"old_topic": "user\'s name", "new_topic": "user\'s job", "same": false}'),
    ("OLD: 喜欢喝咖啡\nNEW: 不喝咖啡了，只喝茶",
     '{"old_topic": "用户对咖啡的喜好", "new_topic": "用户对咖啡的喜好", "same": true}'),
    ("OLD: Daughter likes jazz\nNEW: Son likes hip hop",
     '{"old_topic": "daughter\'s music taste", "new_topic": "son\'s music taste", "same": false}'),
    ("OLD: 在银行上班\nNEW: 现在在学校当老师",
     '{"old_topic": "用户的工作", "new_topic": "用户的工作", "same": true}'),
    ("OLD: 有一只猫叫花花\nNEW: 养了一只狗叫旺财",
     '{"old_topic": "猫花花", "new_topic": "狗旺财", "same": false}'),
    ("OLD: 名字叫王芳\nNEW: 住在苏州",
     '{"old_topic": "用户的名字", "new_topic": "用户住的城市", "same": false}'),
    # Two attributes of one job are two topics: where and how are not the same thing.
    ("OLD: 在一家律师事务所上班\nNEW: 每周二在家办公",
     '{"old_topic": "用户的工作单位", "new_topic": "用户的办公方式", "same": false}'),
    ("OLD: Works at a garden centre\nNEW: Works night shifts",
     '{"old_topic": "user\'s employer", "new_topic": "user\'s working hours", "same": false}'),
]


def same_thing_messages(old: str, new: str) -> list[ChatMessage]:
    return _few_shot(SAME_SYSTEM, SAME_EXAMPLES, f"OLD: {old}\nNEW: {new}")


def _few_shot(system: str, examples: Sequence[tuple[str, str]], final: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": system}]
    for user, answer in examples:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": final})
    return messages


def extraction_messages(conversation: Sequence[ChatMessage], day: date) -> list[ChatMessage]:
    """The few-shot extraction prompt. The system prompt and examples never change (so a
    local model keeps them in its KV cache); only the last message carries the date and the
    conversation. Assistant lines are shortened: they are context, not a source of facts."""
    said = " ".join(m["content"] for m in conversation if m["role"] == "user")
    lines = [f"Date: {day.isoformat()} ({day.strftime('%A')})",
             f"Language: {'Chinese' if has_han(said) else 'English'}"]
    for m in conversation:
        if m["role"] in ("user", "assistant"):
            content = " ".join(m["content"].split())
            if m["role"] == "assistant":
                content = content[:MAX_CONTEXT_CHARS]
            lines.append(f"{m['role']}: {content}")
    return _few_shot(EXTRACT_SYSTEM, EXTRACT_EXAMPLES, "\n".join(lines))


def decision_messages(fact: str, existing: Sequence[tuple[str, str]]) -> list[ChatMessage]:
    shown = json.dumps([{"id": i, "text": t} for i, t in existing], ensure_ascii=False)
    return _few_shot(
        DECIDE_SYSTEM, DECIDE_EXAMPLES, f"EXISTING MEMORIES:\n{shown}\nNEW FACT: {fact}"
    )
