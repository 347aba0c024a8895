"""A new fact that says the opposite of a memory about the same thing ("不游泳了" against
"最喜欢的运动是游泳", "Has gone off horror films" against "Huge fan of horror films").

Seen with Qwen2.5-Coder-1.5B: such a fact is ADDed beside the memory it contradicts (both stay
live) even with "no longer -> UPDATE" in the prompt. The model is good at saying whether two
texts are about the same thing, poor at seeing that one denies the other; so the polarity and
the shared object are found here by rule and the model only confirms the topic.
"""

from __future__ import annotations

import re

from daemon.memory.grounding import words
from daemon.text import HAN_CHAR

# Words that turn a statement around. "不" alone is one, except in words where it is not a
# negation (不错 good, 不过 but, 不少 many, ...).
_ZH_NEG = re.compile(
    r"(?<![要得])不(?!错|过|少|同|久|仅|但|管|如|然|断|停地|一样)|没有?|别再|再也|戒[了掉]?|卖[掉了]|辞[职了掉]|"
    r"离开|讨厌|分手|搬走|放弃|停了|退出|受够")
_EN_NEG = re.compile(
    r"n't\b|\b(?:not|no longer|never|stopped|quit|quitted|gave up|given up|gone off|went off|"
    r"sold|left|dislikes?|hates?|can't stand|got rid of|moved out|broke up|lost interest|"
    r"anymore|any more|retired from|former|ex-)\b", re.IGNORECASE)

# Characters too common to show that two Chinese texts share an object.
_ZH_STOP = frozenset("我你他她它们的了是在有和也都很最喜欢爱现以前一个不没再已经开始时候会要想能就"
                     "还又把被着过吧呢啊吗吃喝看玩做去来上下每天周年月日点些这那其只改换用买卖掉"
                     "戒辞别离讨厌新旧老住搬到叫在做当")
_EN_STOP = frozenset(
    "huge fan fans love loves loved like likes liked enjoy enjoys really big lot much every "
    "now these days anymore longer stopped quit gone off went sold left not never former "
    "hate hates dislike dislikes got rid moved out gave given lost interest favourite favorite "
    "works work working lives live living still also has have had been being one ones".split())


# Set phrases built on a negation that mean the opposite: 无辣不欢 "no meal is good without chili".
_DOUBLE = re.compile(r"无.{1,2}不欢|非.{1,2}不[吃喝买去]|没有不")


def negated(text: str) -> bool:
    """Whether ``text`` denies or ends something ("不游泳了", "Sold the Corolla")."""
    text = _DOUBLE.sub("", text)
    return bool(_ZH_NEG.search(text) or _EN_NEG.search(text))


def objects(text: str) -> set[str]:
    """The content words of ``text``: Latin words (cut to five letters, so "teacher" and
    "teaching" meet) and CJK characters or pairs without function characters."""
    out: set[str] = set()
    for w in words(text):
        if HAN_CHAR.match(w):
            kept = "".join(c for c in w if c not in _ZH_STOP)
            if len(kept) == len(w):
                out.add(w)
        elif w not in _EN_STOP and not w.isdigit():
            out.add(w[:5])
    for c in HAN_CHAR.findall(text):  # single characters too: "辣" in "无辣不欢" / "不吃辣了"
        if c not in _ZH_STOP:
            out.add(c)
    return out


def contradicts(new: str, old: str) -> bool:
    """``new`` and ``old`` share an object and exactly one of them is negated: a candidate
    contradiction, to be confirmed as the same topic before the old memory is closed."""
    return negated(new) != negated(old) and bool(objects(new) & objects(old))
