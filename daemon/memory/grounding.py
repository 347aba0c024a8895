"""Whether an extracted fact comes from what the user said or from the assistant's line.

The assistant's previous line is shown to the extraction model as context ("Kyoto is lovely in
autumn" -> the user's "I'm flying there in November" is about Kyoto), but a 1.5B model
sometimes copies a fact straight out of it ("明天多云转小雨" from a weather answer). A fact
that shares no word with the user's words but does with the assistant's is dropped. Words are
Latin words of three letters or more and CJK character pairs; a fact sharing nothing with
either (a paraphrase) is kept: this only catches copies.
"""

from __future__ import annotations

import re

_LATIN = re.compile(r"[a-z0-9]{3,}")
_SENTENCE = re.compile(r"[^。！？!?.\n]+[。！？!?.]?")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_COMMON = frozenset(
    "the and with for are was were has have had his her hers she they them their you your "
    "that this not but from into also very just now then than about user users".split()
)


def words(text: str) -> set[str]:
    folded = text.casefold()
    out = {w for w in _LATIN.findall(folded) if w not in _COMMON}
    for run in _CJK.findall(folded):
        out |= {run[i:i + 2] for i in range(len(run) - 1)} or {run}
    return out


def copied_from_assistant(fact: str, user_text: str, assistant_text: str) -> bool:
    """True when ``fact`` shares words with the assistant's line and none with the user's."""
    own = words(fact)
    return not (own & words(user_text)) and bool(own & words(assistant_text))


def only_questions(text: str) -> bool:
    """Every sentence of ``text`` is a question ("我叫什么名字？我女儿多大了？"): nothing to learn.
    Seen with Qwen2.5-1.5B: asked for facts about such a turn, it answered them itself ("女儿
    10岁") and replaced true memories with the answers."""
    parts = [p.strip() for p in _SENTENCE.findall(text) if p.strip(" \t,，、")]
    return bool(parts) and all(p.endswith(("?", "？")) for p in parts)
