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

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}


def zh_number(text: str) -> int | None:
    """"3", "三", "两", "十二", "二十五" as an int (up to 99); None otherwise."""
    if text.isdigit():
        return int(text)
    if text in _ZH_DIGITS:
        return _ZH_DIGITS[text]
    tens, sep, units = text.partition("十")
    if not sep or len(tens) > 1 or len(units) > 1:
        return None
    t = 1 if not tens else _ZH_DIGITS.get(tens)
    u = 0 if not units else _ZH_DIGITS.get(units)
    return None if t is None or u is None else t * 10 + u


_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "a couple of": 2, "couple of": 2,
               "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12}


def _ago(day: date, n: int, unit: str, zh: bool) -> str:
    """The moment ``n`` ``unit``s before ``day``: a date for days, the week's Monday for
    weeks, the month for months, the year for years."""
    if unit == "day":
        d = day - timedelta(days=n)
        return _zh_day(d) if zh else f"on {d}"
    if unit == "week":
        d = _monday(day, -n)
        return f"{_zh_day(d)}那周" if zh else f"in the week of {d}"
    if unit == "month":
        ym = _month(day, -n)
        return _zh_month(ym) if zh else f"in {_en_month(ym)}"
    return f"{day.year - n}年" if zh else f"in {day.year - n}"


_ZH_NUM = "([0-9]{1,2}|[一二两俩三四五六七八九十]{1,3})"
_ZH_UNITS = {"天": "day", "日": "day", "周": "week", "星期": "week", "礼拜": "week",
             "月": "month", "年": "year"}
_ZH_AGO = re.compile(_ZH_NUM + "(?:个)?(天|日|周|星期|礼拜|月|年)(?:以前|之前|前)")
_ZH_HALF = re.compile("半(?:个)?(月|年)(?:以前|之前|前)")
_EN_AGO = re.compile(
    r"\b(\d{1,2}|a couple of|couple of|an?|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve)\s+(day|week|month|year)s?\s+ago\b", re.IGNORECASE)


def _zh_ago(m: re.Match[str], day: date) -> str:
    n = zh_number(m.group(1))
    if n is None:
        return m.group(0)
    return _ago(day, n, _ZH_UNITS[m.group(2)], zh=True)


def _zh_half(m: re.Match[str], day: date) -> str:
    if m.group(1) == "月":
        return _ago(day, 2, "week", zh=True)
    return _ago(day, 6, "month", zh=True)


def _en_ago(m: re.Match[str], day: date) -> str:
    word = m.group(1).casefold()
    n = int(word) if word.isdigit() else _EN_NUMBERS[word]
    return _ago(day, n, m.group(2).casefold(), zh=False)


# "今年六岁" is an age, not an event of this year: it stays as said (the memory line carries the
# date it was noted). Rewritten, "女儿朵朵2026年六岁" and "六岁（2026年）" both read to the chat
# model as a name or an age of 2026 (new-user trials).
_THIS_YEAR = "今年(?!" + _ZH_NUM.replace("(", "(?:", 1) + "(?:周)?岁)"

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
        (_THIS_YEAR, lambda d: f"{d.year}年"),
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


# Words for now and the future ("today", "明天", "next week"): kept as they are when the user's
# own words are rewritten before extraction (the prompt names the day, and a date in a command
# such as "set an alarm for tomorrow" invites the model to store it); only facts have them resolved.
_NOT_PAST = frozenset({"今天|今日", "这周|本周|这个?星期|这个?礼拜", "这个月|本月", _THIS_YEAR,
                       "明天|明日", "后天", "下周|下个?星期|下个?礼拜", "下个?月", "明年",
                       r"\btoday\b", r"\bthis week\b", r"\bthis month\b", r"\bthis year\b",
                       r"\btomorrow\b", r"\bthe day after tomorrow\b", r"\bnext week\b",
                       r"\bnext month\b", r"\bnext year\b"})


def _past(pattern: re.Pattern[str]) -> bool:
    return pattern.pattern not in _NOT_PAST and not pattern.pattern.startswith(r"\bnext ")


def absolute_dates(fact: str, day: date, *, past_only: bool = False) -> str:
    """``fact`` with its relative dates replaced by dates computed from ``day`` (with
    ``past_only``, only those before ``day``: "yesterday", "三天前", "last month")."""
    # "三天前", "two weeks ago" first: "两年前" must not be read as "前年" + rest.
    fact = _ZH_AGO.sub(lambda m: _zh_ago(m, day), fact)
    fact = _ZH_HALF.sub(lambda m: _zh_half(m, day), fact)
    fact = _EN_AGO.sub(lambda m: _after_preposition(m, _en_ago(m, day)), fact)
    for pattern, make in (*_ZH, *_EN):
        if past_only and not _past(pattern):
            continue
        fact = pattern.sub(lambda m, make=make: _after_preposition(m, make(day)), fact)  # type: ignore[misc]
    return fact


_PREPOSITION = re.compile(r"\b(?:of|in|on|since|from|by|until|before|after)\s+$", re.IGNORECASE)


def _after_preposition(m: re.Match[str], replacement: str) -> str:
    """"at the end of last month" -> "at the end of May 2026", not "… of in May 2026"."""
    if _PREPOSITION.search(m.string, 0, m.start()):
        for lead in ("in the ", "in ", "on "):
            if replacement.startswith(lead):
                return ("the " if lead == "in the " else "") + replacement[len(lead):]
    return replacement
