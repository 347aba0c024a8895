"""Relative dates made absolute against the day said; facts copied from the assistant's line
dropped; both on the extractor's output."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.llm.scripted import ScriptedLLM
from daemon.memory.dates import absolute_dates
from daemon.memory.extractor import FactExtractor
from daemon.memory.grounding import copied_from_assistant

TUESDAY = date(2026, 11, 3)


@pytest.mark.parametrize("fact, expected", [
    ("上个月搬到上海", "2026年10月搬到上海"),
    ("昨天入职新公司", "2026年11月2日入职新公司"),
    ("上周六去了医院", "2026年10月31日去了医院"),
    ("上星期天搬家", "2026年11月1日搬家"),
    ("明年要去日本", "2027年要去日本"),
    ("Moved to Munich last month", "Moved to Munich in October 2026"),
    ("Adopted a greyhound last Saturday", "Adopted a greyhound on 2026-10-31"),
    ("Started a new job yesterday", "Started a new job on 2026-11-02"),
    ("Going to Paris next week", "Going to Paris in the week of 2026-11-09"),
    ("Wants to sit the N3 exam next July", "Wants to sit the N3 exam in July 2027"),
    ("Got married last December", "Got married in December 2025"),
    ("Lives in Lisbon", "Lives in Lisbon"),
])
def test_relative_dates_become_dates(fact: str, expected: str) -> None:
    assert absolute_dates(fact, TUESDAY) == expected


def test_a_fact_copied_from_the_assistant_is_recognised() -> None:
    assert copied_from_assistant("2026年5月12日多云转小雨", "那后天呢？", "明天多云转小雨，记得带伞。")
    assert copied_from_assistant("Timer set for ten minutes", "Thanks!", "Timer set for ten minutes.")
    # Context that resolves the user's words is fine: the fact shares the user's words too.
    assert not copied_from_assistant("Flying to Kyoto in November 2026",
                                     "Good, because I'm flying there in November.",
                                     "Kyoto is beautiful in autumn.")
    assert not copied_from_assistant("下个月去大理出差", "我下个月就要去那边出差了。",
                                     "听说大理这个季节特别美。")
    assert not copied_from_assistant("Lives in Lisbon", "I live in Lisbon.", "")


async def test_the_extractor_applies_both() -> None:
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {
        "facts": ["Moved to Oslo last month", "Rain expected tomorrow afternoon"]}}])
    facts, calls = await FactExtractor(llm).extract(
        [{"role": "assistant", "content": "Rain expected tomorrow afternoon."},
         {"role": "user", "content": "Ok. By the way I moved to Oslo last month."}], TUESDAY)
    assert facts == ["Moved to Oslo in October 2026"] and calls == 1


async def test_a_turn_of_questions_only_is_not_sent_for_extraction() -> None:
    """Seen in `chat`: "我叫什么名字？我女儿多大了？" made the model 'answer' with facts that
    replaced true memories."""
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {"facts": ["女儿10岁"]}}])
    extractor = FactExtractor(llm)
    for said in ["我叫什么名字？我女儿多大了？", "What am I allergic to, and what is my job?",
                 "How far away is the moon?\nAnd who wrote Pride and Prejudice?"]:
        assert await extractor.extract([{"role": "user", "content": said}], TUESDAY) == ([], 0)
    assert llm.calls == []
    # A statement beside a question still goes to the model.
    facts, calls = await extractor.extract(
        [{"role": "user", "content": "我女儿十岁了。她能喝咖啡吗？"}], TUESDAY)
    assert calls == 1 and facts == ["女儿10岁"]
