"""Memories told to the chat model from its side: the user's "I"/"我" becomes "you"/"你".

A memory is often the user's own words ("我对虾过敏", "I work as a bus driver"). Shown as is,
Qwen2.5-Coder-1.5B said them back as its own ("我对虾过敏。" to "我对什么过敏？"), and a rule in
the system prompt did not stop it (bench/pronoun_bench.py). Shifted to the second person
before they reach the prompt, the words it copies are already the right ones. Only the
prompt's copy changes; stored memories keep the user's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from daemon.memory.grounding import content_words
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


# -- an answer that says the user's memory as the assistant's own -----------------------------

_ASKS_ABOUT_SELF = re.compile(r"我|\b(?:I|I'm|I've|my|me|mine)\b", re.IGNORECASE)
_MEMORY_LINE = re.compile(r"^- (?:\[[^\]]*\] )?(.+)$")
_ZH_CLAUSE = re.compile(r"[^，,。；;！!？?]+")
_EN_OPENING = re.compile(r"^(?:I|I'm|I am|I've|I have|My)\b")
_EN_WORD = re.compile(r"[a-z0-9']+")
_EN_FILLER = frozenset("i i'm i've my you you're you've your am is are have has a an the".split())


def _stems(text: str) -> frozenset[str]:
    """Content words cut to a stem ("supports" / "support" -> "suppo", "likes" -> "like")."""
    words = (w.removesuffix("'s") for w in _EN_WORD.findall(text.casefold()))
    return frozenset((w[:-1] if w.endswith("s") and len(w) > 3 else w)[:5]
                     for w in words if w not in _EN_FILLER)


# How the assistant speaks of itself: "我可以帮你…", "我记得…", "I think…", "I'm not sure".
_ZH_OWN = re.compile(
    "^我(?:们)?(?:可以|可|会|能|来|帮|给|觉得|认为|建议|推荐|记得|记住|知道|不|没|很高兴|猜|想|先|这就|"
    "马上|也|只|明白|理解|听|看|查|刚|一直|还|都|正|叫小智|是小智|是你的|是一个?(?:语音)?助手)")
_EN_OWN = re.compile(
    r"^(?:I|I'm|I am|I've|I have|I'd|I'll)\s+(?:can|can't|cannot|could|will|would|should|"
    r"think|remember|know|don't|do not|suggest|recommend|hope|see|understand|believe|guess|"
    r"sorry|not|here|glad|happy|afraid|an ai|a voice|xiaozhi|also|just|love to|like to|"
    r"noted|got|want|need|must|may|might)\b", re.IGNORECASE)
_SECOND = re.compile(r"你|您|小智|\b(?:you|your|yours|too|also|xiaozhi)\b", re.IGNORECASE)


def said_back(sentence: str, utterance: str, memory_lines: Sequence[str]) -> str:
    """``sentence`` with "我"/"I" turned to "你"/"you" where it states one of the user's
    memories in the prompt as the assistant's own: asked "我对什么水果过敏？" with "你对芒果过敏"
    shown, the 1.5B still answered "我对芒果过敏。" in 4 of 12 learning-bench turns ("I support
    Celtic." for "Supports Celtic"). Only when the user asked about themselves.

    Two cases. The memory's own words: Chinese turns only the characters inside them, English
    a sentence that opens with I/My and has the memory's content words and no others. Other
    words ("我是数学老师。" for "在中学教数学", "I am a nurse." for "Works as a nurse at a
    hospital"): a sentence that opens with 我/I/My, says nothing of "you" and is not how the
    assistant speaks of itself ("我可以…", "I think…"), and shares a word with a memory (Chinese:
    a character pair; English: half of its content words) is turned whole."""
    if not _ASKS_ABOUT_SELF.search(utterance):
        return sentence
    memories = [m.group(1) for m in map(_MEMORY_LINE.match, memory_lines) if m]
    if "我" in sentence:
        turned = "".join("你" if c == "我" else c for c in sentence)  # same length
        for memory in memories:
            for clause in _ZH_CLAUSE.findall(memory):
                at = turned.find(clause) if "你" in clause and len(clause) >= 4 else -1
                if at >= 0 and "我" in sentence[at:at + len(clause)]:
                    end = at + len(clause)
                    return sentence[:at] + turned[at:end] + sentence[end:]
    if _EN_OPENING.match(sentence):
        own = _stems(sentence)
        if own and any(own == _stems(m) for m in memories if m.isascii()):
            return second_person(sentence)
    if _in_other_words(sentence.strip(), memories):
        return second_person(sentence)
    return sentence


def _in_other_words(sentence: str, memories: Sequence[str]) -> bool:
    if _SECOND.search(sentence):
        return False
    if sentence.startswith("我"):
        if _ZH_OWN.match(sentence):
            return False
        own = content_words(sentence)
        return any(own & content_words(m) for m in memories)
    if _EN_OPENING.match(sentence) and not _EN_OWN.match(sentence):
        own = _stems(sentence)
        return bool(own) and any(len(own & _stems(m)) * 2 >= len(own) for m in memories)
    return False
