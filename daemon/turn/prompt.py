"""Prompt assembly: system prompt with the memories block, recent dialogue, the utterance."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from daemon.llm.base import ChatMessage
from daemon.memory.grounding import content_words
from daemon.text import CJK, CJK_SYMBOLS, han_count
from daemon.turn.perspective import second_person

# Characters a tokenizer gives about one token each: CJK characters and the 、。「」 marks.
_WIDE = re.compile(f"[{CJK}{CJK_SYMBOLS}]")


def estimate_tokens(text: str) -> int:
    """Rough count without a tokenizer: CJK ~1 token a character, others ~4 characters."""
    cjk = len(_WIDE.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def memory_line(m: dict[str, Any]) -> str:
    """``- [2026-11-25] Lives in Munich``: the date the memory was last noted, so that the model
    can tell which of two memories that disagree is the current one. The user's "I" is shown
    as "you" (``perspective``): the model copies the words it is given."""
    when = str(m.get("updated_at") or m.get("created_at") or "")[:10]
    text = second_person(m["memory"])
    return f"- [{when}] {text}" if len(when) == 10 else f"- {text}"


def _when(m: dict[str, Any]) -> str:
    return str(m.get("updated_at") or m.get("created_at") or "")


EPISODES_HEADER = "Earlier, the user told you:"

_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f']+")
_ENGLISH = frozenset("i i'm i've my me you your what what's where when who how do does did is "
                     "are was can could the a an to of and in on for".split())


def reply_language_line(utterance: str) -> str:
    """The line that names the language to answer in when the user did not speak Chinese:
    the 1.5B answered all 8 English questions over Chinese memories in Chinese, though the
    system prompt asks for the user's language; with this line all 8 in English
    (bench/reply_language_bench.py). Chinese needs none (every answer to a
    Chinese question was Chinese), and "用简体中文回答。" there cost the 你 of one answer."""
    words = _LATIN_WORD.findall(utterance)
    if han_count(utterance) > len(words) or not words:
        return ""  # a Chinese character says about as much as an English word
    if any(w.lower() in _ENGLISH for w in words):
        return "Answer in English."
    return "Answer in the language of the user's last message, not in Chinese."


def memories_block(
    facts: Sequence[dict[str, Any]], episodes: Sequence[dict[str, Any]], token_budget: int,
    *, dates: str = "day", today: date | None = None, after: Sequence[str] = (),
) -> list[str]:
    """The memory lines that fit about ``token_budget`` tokens: the relevant facts, newest
    first (so of two that disagree the current one leads), then what the user said before.

    ``dates``: "day" — each date once, above the memories noted that day ("[2026-11-30]",
    then "- 你住成都"); "line" — on every line (``memory_line``); "short" — on every line,
    without this year ("- [11-30] 你住成都"). A full date is ~12 tokens to Qwen's tokenizer (a
    token a digit), two thirds of a dated line, and the memories are what the model reads
    before it can say a word (bench/memory_block_bench.py). ``after``: lines shown before
    these (``newest_lines``); a fact of the day they end with is not given its date again."""
    if dates not in ("day", "line", "short"):
        raise ValueError(f"dates must be 'day', 'line' or 'short', not {dates!r}")
    year = str((today or date.today()).year)
    lines: list[str] = []
    used = 0

    def fits(line: str) -> bool:
        nonlocal used
        cost = estimate_tokens(line)
        if used + cost > token_budget:
            return False
        used += cost
        return True

    def add(memories: Sequence[dict[str, Any]], day: str | None = None) -> list[str]:
        out: list[str] = []
        for m in sorted(memories, key=_when, reverse=True):
            when = _when(m)[:10]
            text = second_person(m["memory"])
            if dates == "day":
                if len(when) != 10:  # undated: not under another day's date
                    when = "no date" if day is not None else ""
                head = [f"[{when}]"] if when and when != day else []
                new = [*head, f"- {text}"]
                day = when or day
            elif dates == "short" and when.startswith(year + "-"):
                new = [f"- [{when[5:]}] {text}"]
            else:
                new = [memory_line(m)]
            if not all(fits(x) for x in new):
                break
            out += new
        return out

    last_day = next((line[1:-1] for line in reversed(after)
                     if line.startswith("[") and line.endswith("]")), None)
    lines += add(facts, last_day if dates == "day" else None)
    if episodes and fits(EPISODES_HEADER):
        said = add(episodes)
        if said:
            lines += [EPISODES_HEADER, *said]
    return lines


def build_messages(
    system_template: str,
    memory_lines: Sequence[str],
    history: Sequence[dict[str, Any]],
    utterance: str,
    *,
    no_memories: str,
    memory_template: str = "",
    today: date | None = None,
    reply_language: bool = True,
) -> list[ChatMessage]:
    """System prompt, the session's dialogue, the memories, the user's words. The memories go
    in a system message right before the words (unless the system prompt has a {memories}
    slot): what comes before them is the same from turn to turn, so a local model keeps it
    cached and reads only the memories and the new words. ``reply_language``: that message
    ends by naming the language to answer in (``reply_language_line``)."""
    memories = "\n".join(memory_lines) if memory_lines else no_memories
    system = system_template.replace("{today}", (today or date.today()).isoformat())
    inline = "{memories}" in system
    messages = _opening(system.replace("{memories}", memories), history)
    last = memory_template.replace("{memories}", memories) if not inline else ""
    language = reply_language_line(utterance) if reply_language else ""
    last = "\n".join(part for part in (last, language) if part)
    if last:
        messages.append({"role": "system", "content": last})
    messages.append({"role": "user", "content": utterance})
    return messages


def _opening(system: str, history: Sequence[dict[str, Any]]) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": system}]
    for h in history:
        if h["role"] in ("user", "assistant") and h["content"]:
            messages.append({"role": h["role"], "content": h["content"]})
    return messages


def next_turn_opening(
    system_template: str, history: Sequence[dict[str, Any]], *, memory_template: str,
    known: Sequence[str] = (), today: date | None = None,
) -> list[ChatMessage] | None:
    """How the next turn's prompt (``build_messages``) starts, known before its words: the
    system prompt, the dialogue, and the memory message up to its memories, then ``known``,
    the memory lines the turn will start with whatever is asked (``newest_lines``). None when
    the memories go inside the system prompt (nothing after it is fixed)."""
    system = system_template.replace("{today}", (today or date.today()).isoformat())
    if "{memories}" in system or "{memories}" not in memory_template:
        return None
    head = memory_template.split("{memories}")[0]
    if known:
        head += "\n".join(known) + "\n"
    return [*_opening(system, history), {"role": "system", "content": head}]


def newest_lines(newest: Sequence[dict[str, Any]], token_budget: int) -> list[str]:
    """The memory block's first lines: the user's newest facts (``memories_block``), known
    before the user speaks, so they are read ahead with the prompt's opening; at most half of
    the budget, so the facts that match the question still fit."""
    return memories_block(newest, [], token_budget // 2)


# An episode whose content words are this much in the facts shown adds nothing to them.
TOLD_SHARE = 0.8


def told_by_facts(episode: str, facts: Sequence[str]) -> bool:
    """Whether the facts say what the episode said ("我跟你说，我对芒果过敏，一吃就起疹子。" next
    to "对芒果过敏" and "吃芒果会起疹子"): shown anyway, it is read before the first word (6 of
    12 episodes in the learning bench's dev turns), and its "我", turned, read "你跟你说"."""
    own = content_words(episode)
    if not own:
        return True
    said = set().union(*(content_words(f) for f in facts)) if facts else set()
    return len(own & said) >= TOLD_SHARE * len(own)


def lines_tokens(lines: Sequence[str]) -> int:
    return sum(estimate_tokens(line) for line in lines)
