"""A turn's lookup (``AsyncMemory.recall``) with the real e5: the relevant facts when something
matches, else the user's newest facts - never another user's."""

from __future__ import annotations

import pytest

from daemon.memory.recall import FALLBACK_FACTS
from tests.support.memory_fakes import scripted


@pytest.mark.both_backends
async def test_a_question_matching_nothing_gets_the_newest_facts(open_memory, e5) -> None:
    mem = await open_memory(e5)
    said = ["名字叫王丽", "女儿朵朵六岁", "对花生过敏", "喜欢下象棋", "住在青岛", "开一辆白色的车"]
    for i, fact in enumerate(said):
        await mem.add(fact, user_id="wl", infer=False, timestamp=f"2026-11-0{i + 1}T10:00:00")
    await mem.add("Lives in Lisbon", user_id="other", infer=False)
    # Nothing in the memories is about snacks: the newest facts come instead, newest first.
    facts, _ = await mem.recall("What do you know about me?", user_id="wl", facts=8, episodes=0)
    assert [f["memory"] for f in facts] == said[::-1][:FALLBACK_FACTS]
    # A question that matches gets what it matches, not the fallback.
    facts, _ = await mem.recall("我对什么过敏？", user_id="wl", facts=8, episodes=0)
    assert facts and facts[0]["memory"] == "对花生过敏"
    # A user with no facts gets none, and never another user's.
    assert (await mem.recall("What do you know about me?", user_id="new", facts=8,
                             episodes=0))[0] == []
    facts, _ = await mem.recall("Tell me something", user_id="other", facts=8, episodes=0)
    assert [f["memory"] for f in facts] == ["Lives in Lisbon"]


async def test_episodes_that_say_nothing_about_the_user_are_left_out(open_memory, e5) -> None:
    mem = await open_memory(e5, scripted())
    for said in ["我女儿叫小雨，今年五岁", "我女儿叫什么名字？", "把客厅的灯关掉", "哈哈，谢谢你",
                 "What is my daughter's name?"]:
        await mem.add(said, user_id="ln")
    _, episodes = await mem.recall("我女儿叫什么？", user_id="ln", facts=3, episodes=3)
    assert [e["memory"] for e in episodes] == ["我女儿叫小雨，今年五岁"]
    # They are kept and searchable all the same.
    asked = (await mem.search("我女儿叫什么名字？", user_id="ln", kind="episode"))["results"]
    assert "我女儿叫什么名字？" in [e["memory"] for e in asked]
