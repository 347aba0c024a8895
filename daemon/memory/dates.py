"""Relative dates in extracted facts made absolute, against the day the user spoke.

The extraction prompt asks the model to do this; a 1.5B model often copies "上个月" or
"last month" as said. A fact kept for months must not say "yesterday", so what the model left
relative is rewritten here, by rule: days to a date, weeks to the week's Monday, months and
years to the month or year.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta


def _month(day: date, delta: int) -> tuple[int, int]:
    n = day.year * 12 + day.month - 1 + delta
    return n // 12, n % 12 + 1


def _monday(day: date, weeks: int) -> date:
    return day - timedelta(days=day.weekday()) + timedelta(weeks=weeks)


def _zh_day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _zh_month(ym: tuple[int, int]) -> str:
    return f"{ym[0]}年{ym[1]}月"


def _en_month(ym: tuple[int, int]) -> str:
    return date(ym[0], ym[1], 1).strftime("%B %Y")


def _last_weekday(day: date, weekday: int) -> date:
    """The most recent ``weekday`` (Monday = 0) before ``day``."""
    return day - timedelta(days=(day.weekday() - weekday - 1) % 7 + 1)


_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Rule = tuple[re.Pattern[str], Callable[[date], str]]

_ZH_LAST_WEEK = "(?:上周|上个?星期|上个?礼拜)"
_ZH_WEEKDAY_RULES: list[Rule] = [
    (re.compile(_ZH_LAST_WEEK + (f"[{c}天]" if c == "日" else c)),
     lambda d, i=i: _zh_day(_monday(d, -1) + timedelta(days=i)))
    for i, c in enumerate(_ZH_WEEKDAYS)
]
_EN_WEEKDAY_RULES: list[Rule] = [
    (re.compile(rf"\blast {name}\b", re.IGNORECASE),
     lambda d, i=i: f"on {_last_weekday(d, i)}")
    for i, name in enumerate(_EN_WEEKDAYS)
]

_ZH: list[Rule] = _ZH_WEEKDAY_RULES + [
    (re.compile(p), f) for p, f in [
        ("大前天", lambda d: _zh_day(d - timedelta(days=3))),
        ("前天", lambda d: _zh_day(d - timedelta(days=2))),
        ("昨天|昨日", lambda d: _zh_day(d - timedelta(days=1))),
        ("今天|今日", lambda d: _zh_day(d)),
        ("明天|明日", lambda d: _zh_day(d + timedelta(days=1))),
        ("后天", lambda d: _zh_day(d + timedelta(days=2))),
        ("上上周|上上个?星期|上上个?礼拜", lambda d: f"{_zh_day(_monday(d, -2))}那周"),
        ("上周|上个?星期|上个?礼拜", lambda d: f"{_zh_day(_monday(d, -1))}那周"),
        ("这周|本周|这个?星期|这个?礼拜", lambda d: f"{_zh_day(_monday(d, 0))}那周"),
        ("下周|下个?星期|下个?礼拜", lambda d: f"{_zh_day(_monday(d, 1))}那周"),
        ("上上个月", lambda d: _zh_month(_month(d, -2))),
        ("上个?月", lambda d: _zh_month(_month(d, -1))),
        ("这个月|本月", lambda d: _zh_month(_month(d, 0))),
        ("下个?月", lambda d: _zh_month(_month(d, 1))),
        ("前年", lambda d: f"{d.year - 2}年"),
        ("去年", lambda d: f"{d.year - 1}年"),
        ("今年", lambda d: f"{d.year}年"),
        ("明年", lambda d: f"{d.year + 1}年"),
    ]
]

_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")


def _next_month_named(day: date, month: int) -> str:
    """``next July``: the first July after ``day``'s month."""
    return _en_month((day.year + (month <= day.month), month))


def _last_month_named(day: date, month: int) -> str:
    """``last July``: the most recent July before ``day``'s month."""
    return _en_month((day.year - (month >= day.month), month))


_EN_MONTH_RULES: list[Rule] = [
    rule
    for i, name in enumerate(_EN_MONTHS, 1)
    for rule in (
        (re.compile(rf"\bnext {name}\b", re.IGNORECASE),
         lambda d, i=i: f"in {_next_month_named(d, i)}"),
        (re.compile(rf"\blast {name}\b", re.IGNORECASE),
         lambda d, i=i: f"in {_last_month_named(d, i)}"),
    )
]

_EN: list[Rule] = _EN_WEEKDAY_RULES + _EN_MONTH_RULES + [
    (re.compile(p, re.IGNORECASE), f) for p, f in [
        (r"\bthe day before yesterday\b", lambda d: f"on {d - timedelta(days=2)}"),
        (r"\byesterday\b", lambda d: f"on {d - timedelta(days=1)}"),
        (r"\btoday\b", lambda d: f"on {d}"),
        (r"\bthe day after tomorrow\b", lambda d: f"on {d + timedelta(days=2)}"),
        (r"\btomorrow\b", lambda d: f"on {d + timedelta(days=1)}"),
        (r"\blast week\b", lambda d: f"in the week of {_monday(d, -1)}"),
        (r"\bthis week\b", lambda d: f"in the week of {_monday(d, 0)}"),
        (r"\bnext week\b", lambda d: f"in the week of {_monday(d, 1)}"),
        (r"\blast month\b", lambda d: f"in {_en_month(_month(d, -1))}"),
        (r"\bthis month\b", lambda d: f"in {_en_month(_month(d, 0))}"),
        (r"\bnext month\b", lambda d: f"in {_en_month(_month(d, 1))}"),
        (r"\blast year\b", lambda d: f"in {d.year - 1}"),
        (r"\bthis year\b", lambda d: f"in {d.year}"),
        (r"\bnext year\b", lambda d: f"in {d.year + 1}"),
    ]
]


def absolute_dates(fact: str, day: date) -> str:
    """``fact`` with its relative dates replaced by dates computed from ``day``."""
    for pattern, make in (*_ZH, *_EN):
        fact = pattern.sub(lambda _m, make=make: make(day), fact)  # type: ignore[misc]
    return fact
