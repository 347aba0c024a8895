"""Who a fact is about, when the model dropped it: "我老公是护士，他经常值夜班" -> the second fact
came back as "经常值夜班", now stored as the user's own habit.

Seen with Qwen2.5-Coder-1.5B: the first fact about a third party keeps its subject and a second
one, said with 他/她/he/she, loses it. The clause the fact comes from is found in the user's
words; when that clause starts with such a pronoun and a family member or friend was named
before it, the fact gets that person back ("老公经常值夜班"). A fact naming anyone is kept as is.
"""

from __future__ import annotations

import re

from daemon.memory.grounding import content_words
from daemon.text import has_han

_ZH_PEOPLE = (
    "老公|丈夫|先生|老婆|妻子|太太|爱人|儿子|女儿|孩子|爸爸|父亲|妈妈|母亲|爷爷|奶奶|外公|外婆|"
    "姥姥|姥爷|哥哥|姐姐|弟弟|妹妹|男朋友|女朋友|对象|室友|同事|老板|朋友|婆婆|公公|岳父|岳母|老师")
_EN_PEOPLE = (
    r"husband|wife|partner|son|daughter|mum|mom|dad|father|mother|brother|sister|grandma|"
    r"grandpa|grandmother|grandfather|boyfriend|girlfriend|flatmate|roommate|friend|boss|"
    r"colleague|neighbour|neighbor|aunt|uncle|cousin")
_PERSON = re.compile(rf"{_ZH_PEOPLE}|我|你|他|她|\b(?:{_EN_PEOPLE}|i|i'm|my|me|he|she|his|her)\b",
                     re.IGNORECASE)
_LEAD = r"^(?:而且|还有|并且|但是|不过|所以|and |but |so )?"
_RELATIVE = re.compile(rf"{_LEAD}(?:我的?|我们的?|my |our )?({_ZH_PEOPLE}|(?:{_EN_PEOPLE})\b)",
                       re.IGNORECASE)
# Spoken short forms: "我妈有糖尿病，平时不能吃甜的" (the second fact came back without 妈妈).
_SHORT = {"妈": "妈妈", "爸": "爸爸", "哥": "哥哥", "姐": "姐姐", "弟": "弟弟", "妹": "妹妹"}
_SHORT_RELATIVE = re.compile(rf"{_LEAD}我([妈爸哥姐弟妹])(?![妈爸哥姐弟妹])")
_PRONOUN = re.compile(rf"{_LEAD}(?:他|她|(?:he|she|he's|she's)\b)", re.IGNORECASE)
_CLAUSE = re.compile(r"[^，,。.!?！？；;]+?(?=[，,。.!?！？；;]|\s(?:and|but)\s|$)", re.IGNORECASE)


_SOMEONE = re.compile(rf"{_ZH_PEOPLE}|我[妈爸哥姐弟妹]|\b(?:{_EN_PEOPLE})s?\b", re.IGNORECASE)


def names_someone(text: str) -> bool:
    """Whether ``text`` is about a family member or friend ("妈妈住北京", "Sister lives in Oslo")."""
    return bool(_SOMEONE.search(text))


def _subject(clause: str) -> str | None:
    """The family member or friend a clause starts with, "" for 他/她/he/she or (in Chinese)
    no subject at all (the previous clause's carries on), None for anyone else."""
    m = _RELATIVE.match(clause)
    if m:
        return m.group(1)
    m = _SHORT_RELATIVE.match(clause)
    if m:
        return _SHORT[m.group(1)]
    if _PRONOUN.match(clause):
        return ""
    if not _PERSON.search(clause) and has_han(clause):
        return ""
    return None


def restore_subject(fact: str, said: str) -> str:
    """``fact`` with the third party it is about put back, when the user's clause behind it
    names them or carries them on (a pronoun, a Chinese clause without a subject) from an
    earlier clause; otherwise ``fact`` unchanged."""
    if _PERSON.search(fact):
        return fact
    own = content_words(fact)
    clauses = [c.strip() for c in _CLAUSE.findall(said) if c.strip()]
    scores = [len(own & content_words(c)) for c in clauses]
    if not own or not scores or max(scores) == 0:
        return fact
    for clause in reversed(clauses[:scores.index(max(scores)) + 1]):
        who = _subject(clause)
        if who is None:
            return fact
        if who:
            if re.match(r"[a-z]", who, re.IGNORECASE):
                return f"{who.capitalize()} {fact[:1].lower()}{fact[1:]}"
            return who + fact
    return fact
