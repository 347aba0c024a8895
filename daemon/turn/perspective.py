"""Memories told to the chat model from its side: the user's "I"/"我" becomes "you"/"你".

A memory is often the user's own words ("我对虾过敏", "I work as a bus driver"). Shown as is,
Qwen2.5-Coder-1.5B said them back as its own ("我对虾过敏。" to "我对什么过敏？"), and a rule in
the system prompt did not stop it (bench/pronoun_bench.py). Shifted to the second person
before they reach the prompt, the words it copies are already the right ones. Only the
prompt's copy changes; stored memories keep the user's words.
"""

from __future__ import annotations

import re

from daemon.text import HAN_CHAR

# English first-person forms, longest first; the verb after a bare "I" is fixed for the
# three irregular cases ("I am" -> "you are", "I was" -> "you were"); other verbs are the
# same for "I" and "you".
_EN = [
    (r"\bI'm\b", "you're"), (r"\bI am\b", "you are"), (r"\bI was\b", "you were"),
    (r"\bI've\b", "you've"), (r"\bI'd\b", "you'd"), (r"\bI'll\b", "you'll"),
    (r"\bmyself\b", "yourself"), (r"\bmine\b", "yours"), (r"\bmy\b", "your"),
    (r"\bMy\b", "Your"), (r"\bme\b", "you"), (r"\bI\b", "you"),
    (r"\bwe're\b", "you're"), (r"\bwe've\b", "you've"), (r"\bwe\b", "you"), (r"\bWe\b", "You"),
    (r"\bour\b", "your"), (r"\bOur\b", "Your"), (r"\bus\b", "you"),
]
_EN_RULES = [(re.compile(p), r) for p, r in _EN]
# Chinese: 我/我们/咱们 -> 你/你们 (咱 alone is northern "we" or "I": 你们 is safe for both).
_ZH_RULES = [(re.compile("咱们|我们|咱"), "你们"), (re.compile("我"), "你")]


# A Chinese fact that starts with none of these has no subject ("名字叫王丽", "女儿朵朵六岁"):
# it is the user's, and says so. Without it the 1.5B read "名字叫王丽" next to "女儿朵朵六岁" as
# the daughter's name; "你名字叫王丽" / "你女儿朵朵六岁" it kept apart.
_SUBJECT = re.compile("[我你您他她它咱]|用户|大家|别人")


def second_person(text: str) -> str:
    """``text`` as said to its speaker: "我对虾过敏" -> "你对虾过敏", "I'm a nurse" -> "you're
    a nurse" (a sentence that starts with it keeps its capital: "You're a nurse"); a Chinese
    fact without a subject gets "你" ("对花生过敏" -> "你对花生过敏")."""
    out = text
    if HAN_CHAR.match(out) and not _SUBJECT.match(out):
        out = "你" + out
    for pattern, repl in _ZH_RULES:
        out = pattern.sub(repl, out)
    for pattern, repl in _EN_RULES:
        out = pattern.sub(lambda m, r=repl: _capital(m, r), out)
    return out


def _capital(m: re.Match[str], repl: str) -> str:
    start = m.start()
    before = m.string[:start].rstrip()
    if start == 0 or before.endswith((".", "!", "?", "]", ":")):
        return repl[:1].upper() + repl[1:]
    return repl
