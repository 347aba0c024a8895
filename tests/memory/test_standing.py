"""A question about food, drink or advice brings the user's allergies, diets and health facts
(``memory.standing``), whether or not the search matched them."""

from __future__ import annotations

import pytest

from daemon.memory.standing import STANDING_FACTS, asks_for_care, is_care_fact

# A user with more facts than a turn shows: nothing in "今晚吃什么好？" resembles the allergy.
FACTS_ZH = ["名字叫王丽", "女儿朵朵六岁", "对花生过敏", "喜欢下象棋", "住在青岛", "开一辆白色的车",
            "在银行上班", "每天早上跑步", "老公是医生", "喜欢看电影", "周末常去爬山", "养了一只猫叫咪咪",
            "不吃香菜", "最近在学英语", "老家在山东"]
FACTS_EN = ["Name is Tom", "Allergic to peanuts", "Vegetarian", "Lives in Leeds",
            "Works as a bus driver", "Has a dog named Max", "Plays tennis on Saturdays",
            "Daughter Mia plays the violin", "Likes jazz", "Drives a blue car", "Grew up in Cork"]


@pytest.mark.parametrize(("query", "asks"), [
    ("今晚吃什么好？", True), ("推荐点零食", True), ("给我推荐一道菜", True), ("我想喝点东西", True),
    ("I am hungry, what should I eat?", True), ("Recommend a restaurant dish", True),
    ("Any ideas for lunch?", True),
    ("我住在哪里？", False), ("明天天气怎么样", False), ("What is my dog's name?", False),
])
def test_which_questions_ask_for_care(query, asks):
    assert asks_for_care(query) is asks


@pytest.mark.parametrize(("fact", "care"), [
    ("对花生过敏", True), ("女儿对芒果过敏", True), ("不吃香菜", True), ("吃素", True),
    ("老公有高血压", True), ("Allergic to peanuts", True), ("Has a peanut allergy", True),
    ("Vegetarian", True), ("Is lactose intolerant", True), ("Doesn't eat pork", True),
    ("喜欢下象棋", False), ("不能来参加聚会", False), ("Likes to eat sushi", False),
    ("Lives in Leeds", False),
])
def test_which_facts_stand(fact, care):
    assert is_care_fact(fact) is care


async def _recall(memory, query: str, user: str) -> list[str]:
    facts, _ = await memory.recall(query, user_id=user, facts=8, episodes=0)
    return [f["memory"] for f in facts]


@pytest.mark.both_backends
async def test_a_food_question_always_shows_the_allergy(open_memory, e5):
    memory = await open_memory(e5)
    for text in FACTS_ZH:
        await memory.add(text, user_id="wl", infer=False)
    for text in FACTS_EN:
        await memory.add(text, user_id="tom", infer=False)
    await memory.add("对虾过敏", user_id="other", infer=False)
    for query in ("今晚吃什么好？", "给我推荐一道菜"):
        got = await _recall(memory, query, "wl")
        assert "对花生过敏" in got and "不吃香菜" in got, (query, got)
        assert "对虾过敏" not in got  # never another user's
    for query in ("I am hungry, what should I eat?", "Recommend a restaurant dish"):
        got = await _recall(memory, query, "tom")
        assert {"Allergic to peanuts", "Vegetarian"} <= set(got), (query, got)
    # Without the standing facts the search alone missed the allergy on these questions.
    search = (await memory.search("今晚吃什么好？", user_id="wl", limit=8))["results"]
    assert "对花生过敏" not in [r["memory"] for r in search]
    # A question about something else gets what the search found, nothing more.
    searched = (await memory.search("我的猫叫什么？", user_id="wl", limit=8))["results"]
    assert await _recall(memory, "我的猫叫什么？", "wl") == [r["memory"] for r in searched]


async def test_only_live_facts_stand_and_at_most_a_few(open_memory, e5):
    memory = await open_memory(e5)
    first = await memory.add("对花生过敏", user_id="wl", infer=False)
    for text in ["不吃香菜", "吃素", "老公有高血压", "女儿对芒果过敏", "喜欢下象棋"]:
        await memory.add(text, user_id="wl", infer=False)
    await memory.delete(first["results"][0]["id"])
    from daemon.memory.standing import care_facts

    rows = await care_facts(memory.store, "wl")
    assert len(rows) == STANDING_FACTS
    assert [r.text for r in rows] == ["女儿对芒果过敏", "老公有高血压", "吃素"]  # newest first
