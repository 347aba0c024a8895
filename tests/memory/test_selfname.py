"""A question that names the user is searched without the name (``memory.selfname``)."""

from __future__ import annotations

import pytest

from daemon.memory.selfname import names_in, without_names

FACTS_EN = ["Name is Anna", "Works as a nurse at a children's hospital", "Vegetarian",
            "Lives in Berlin", "Dog's name is Biscuit", "Planning a trip to Japan in April"]
FACTS_ZH = ["名字叫王磊", "是一名厨师", "不吃辣", "住在杭州", "女儿叫朵朵"]


@pytest.mark.parametrize(("fact", "names"), [
    ("Name is Anna", ["Anna"]),
    ("My name is Anna Schmidt", ["Anna Schmidt"]),
    ("Called Ben", ["Ben"]),
    ("名字叫王磊", ["王磊"]),
    ("我叫王磊", ["王磊"]),
    ("名字是李明，是老师", ["李明"]),
    ("姓李", ["李"]),
    # Someone else's name, or no name at all.
    ("Dog's name is Biscuit", []),
    ("我叫什么名字？", []),
    ("女儿叫朵朵", []),
    ("是一名厨师", []),
    ("Lives in Berlin", []),
])
def test_a_name_fact_gives_the_users_name(fact, names):
    assert names_in(fact) == names


@pytest.mark.parametrize(("query", "names", "expected"), [
    ("Which city does Anna live in?", ["Anna"], "Which city does live in?"),
    ("What is Anna's job?", ["Anna"], "What is job?"),
    ("What does Mrs Schmidt like?", ["Anna Schmidt"], "What does like?"),
    ("王磊现在住在哪个城市？", ["王磊"], "现在住在哪个城市？"),
    ("王磊的女儿叫什么名字？", ["王磊"], "女儿叫什么名字？"),
    ("李阿姨现在喜欢喝什么茶？", ["李"], "现在喜欢喝什么茶？"),
    ("老李的儿子在哪里工作？", ["李"], "儿子在哪里工作？"),
    # Unchanged: no name in it, a word that only contains the surname, a lower-case word,
    # or nothing left to search for.
    ("What is my job?", ["Anna"], "What is my job?"),
    ("李子好吃吗？", ["李"], "李子好吃吗？"),
    ("What will I do?", ["Will"], "What will I do?"),
    ("Who is Anna?", ["Anna"], "Who is Anna?"),
    ("王磊", ["王磊"], "王磊"),
])
def test_the_users_name_is_taken_out_of_a_query(query, names, expected):
    assert without_names(query, names) == expected


async def _top(memory, query: str, user: str = "u1") -> str:
    return (await memory.search(query, user_id=user, limit=3))["results"][0]["memory"]


@pytest.mark.both_backends
async def test_a_question_naming_the_user_finds_the_fact_not_the_name(open_memory, e5):
    memory = await open_memory(e5)
    for text in FACTS_EN + FACTS_ZH:
        await memory.add(text, user_id="u1", infer=False)
    asked = {"Where does Anna work?": FACTS_EN[1], "What diet does Anna follow?": FACTS_EN[2],
             "Which city does Anna live in?": FACTS_EN[3],
             "What is the name of Anna's dog?": FACTS_EN[4],
             "王磊现在做什么工作？": FACTS_ZH[1], "王磊住在哪里？": FACTS_ZH[3],
             "王磊的女儿叫什么名字？": FACTS_ZH[4]}
    for query, fact in asked.items():
        assert await _top(memory, query) == fact, query
    # The name still finds the name, and a question about the name too.
    assert await _top(memory, "Who is Anna?") == "Name is Anna"
    assert await _top(memory, "What is Anna's name?") == "Name is Anna"
    # Before (the name left in the query), the name fact came first.
    memory.searcher.self_names = None
    assert await _top(memory, "Which city does Anna live in?") == "Name is Anna"
    assert await _top(memory, "王磊住在哪里？") == "名字叫王磊"


async def test_names_follow_the_users_facts_and_are_forgotten_with_them(open_memory, e5):
    memory = await open_memory(e5)
    names = memory.searcher.self_names
    for text in FACTS_EN[1:4]:
        await memory.add(text, user_id="u1", infer=False)
    assert await names.of("u1") == ()
    # A name said after a search is seen by the next one (the facts' generation moved on).
    await memory.add("Name is Anna", user_id="u1", infer=False)
    assert await names.of("u1") == ("Anna",)
    assert await _top(memory, "Where does Anna work?") == FACTS_EN[1]
    # Another user's name is not this user's.
    await memory.add("Name is Ben", user_id="u2", infer=False)
    assert await names.of("u1") == ("Anna",) and await names.of("u2") == ("Ben",)
    await memory.delete_all(user_id="u1")
    assert "u1" not in names._cache
    assert await names.of("u1") == ()
