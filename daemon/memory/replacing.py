"""A new fact about an attribute a person has one of at a time — where they live, their job —
beside a memory of the same attribute ("Is a junior architect now" against "Works as a barista",
"全家搬回成都" against "房子在西湖区").

Seen with Qwen2.5-Coder-1.5B: a new job said without a denial ("I got the job! I'm a … now") is
ADDed beside the old job, and after a move a second memory of the old home ("房子在高新区") stays
live because the decision model only changes the memory that names the old city. As in
``negation``, the rule only proposes a candidate; the model's same-topic check confirms it
(the same person, the same attribute) before the memory is closed.
"""

from __future__ import annotations

import re

# A fact that the user (or someone) changed home.
_MOVE = re.compile(
    r"搬(?:到|去|回|进|家|了|走)|迁(?:到|居)|"
    r"\b(?:moved|moving|relocated|relocating)\b", re.IGNORECASE)
# A memory about where someone lives.
_HOME = re.compile(
    r"住(?:在|址)?|房子|家在|老家|小区|公寓|"
    r"\b(?:lives?|living|home|flat|apartment|house|neighbou?rhood|moved|based)\b",
    re.IGNORECASE)
# A fact or memory about someone's job (what they work as, where they are employed).
_JOB = re.compile(
    r"(?<![应相适正])当(?!地|时|天|然|作|成|心)|(?:做|是)[^，。,]{0,6}(?:工作|师|员|生|工|手)|上班|职业|工作是|入职|辞职|"
    r"\b(?:works? (?:as|at|for)|working (?:as|at|for)|job|hired|employed|career|profession|"
    r"is an? [a-z ]{0,30}(?:now|these days))\b", re.IGNORECASE)


def moved(fact: str) -> bool:
    return bool(_MOVE.search(fact))


def about_home(text: str) -> bool:
    return bool(_HOME.search(text))


def about_job(text: str) -> bool:
    return bool(_JOB.search(text))


def replaces(new: str, old: str) -> bool:
    """``new`` may replace ``old`` as the one value of the same attribute: a move against a
    memory of a home, a job against a job. A candidate only, to be confirmed as the same
    person and attribute before ``old`` is closed."""
    return (moved(new) and about_home(old)) or (about_job(new) and about_job(old))
