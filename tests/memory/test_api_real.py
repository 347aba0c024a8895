"""Round trips of every public API call with the real embedders (multilingual-e5-small, and
USE v3 where the round trip is embedder-specific), in Chinese and in English, checking mem0
result shapes."""

from __future__ import annotations

import pytest

from tests.support.memory_fakes import decision_calls, extraction_calls, index_dir, scripted

CASES = {
    "zh": {
        "home": "我住在北京",
        "drink": "我喜欢喝绿茶",
        "pet": "我养了一只猫叫咪咪",
        "where": "我住在哪里",
        "what_drink": "我喜欢喝什么",
        "moved": "我住在上海",
        "moved_word": "上海",
        "old_word": "北京",
        "convo": "我女儿叫小美，她喜欢画画。",
        "facts": ["女儿叫小美", "女儿喜欢画画"],
        "daughter_q": "我女儿叫什么名字",
        "daughter_word": "小美",
    },
    "en": {
        "home": "I live in Berlin",
        "drink": "I like green tea",
        "pet": "I have a cat called Mimi",
        "where": "Where do I live?",
        "what_drink": "What do I like to drink?",
        "moved": "I live in Munich",
        "moved_word": "Munich",
        "old_word": "Berlin",
        "convo": "My daughter is called Amy and she loves painting.",
        "facts": ["Daughter is called Amy", "Daughter loves painting"],
        "daughter_q": "What is my daughter's name?",
        "daughter_word": "Amy",
    },
}

SEARCH_KEYS = {"id", "memory", "score", "metadata", "created_at", "updated_at", "user_id"}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> dict[str, object]:
    return CASES[request.param]


async def test_add_get_search_update_history_delete(open_memory, real_embedder, case):
    e5 = real_embedder
    mem = await open_memory(e5)
    out = await mem.add(case["home"], user_id="u1", metadata={"topic": "home"}, infer=False)
    assert list(out) == ["results"]
    assert len(out["results"]) == 1
    first = out["results"][0]
    assert set(first) == {"id", "memory", "event"}
    assert first["memory"] == case["home"] and first["event"] == "ADD"
    home_id = first["id"]

    out = await mem.add([{"role": "user", "content": case["drink"]},
                         {"role": "assistant", "content": "OK"}],
                        user_id="u1", infer=False)
    # infer=False stores every non-system message as-is (mem0 semantics).
    assert [r["memory"] for r in out["results"]] == [case["drink"], "OK"]
    assert all(r["event"] == "ADD" for r in out["results"])

    got = await mem.get(home_id)
    assert got is not None
    assert got["id"] == home_id and got["memory"] == case["home"]
    assert got["user_id"] == "u1" and got["metadata"] == {"topic": "home"}
    assert got["created_at"] == got["updated_at"]
    assert isinstance(got["hash"], str) and len(got["hash"]) == 32

    res = await mem.search(case["where"], user_id="u1")
    assert list(res) == ["results"]
    hits = res["results"]
    assert hits, "the real embedder found nothing"
    assert hits[0]["id"] == home_id and hits[0]["memory"] == case["home"]
    for h in hits:
        assert SEARCH_KEYS <= set(h)
        assert isinstance(h["score"], float) and -1.0 <= h["score"] <= 1.0001
        assert h["user_id"] == "u1"
    assert hits[0]["metadata"] == {"topic": "home"}
    assert hits[0]["score"] >= mem.search_threshold

    drink = await mem.search(case["what_drink"], user_id="u1", limit=1)
    assert [h["memory"] for h in drink["results"]] == [case["drink"]]

    assert await mem.update(home_id, case["moved"]) == {"message": "Memory updated successfully!"}
    got = await mem.get(home_id)
    assert got["memory"] == case["moved"]
    assert got["updated_at"] >= got["created_at"]
    assert got["metadata"] == {"topic": "home"}  # update without metadata keeps it
    hits = (await mem.search(case["where"], user_id="u1"))["results"]
    assert hits[0]["id"] == home_id and case["moved_word"] in hits[0]["memory"]
    assert not any(case["old_word"] in h["memory"] for h in hits)

    hist = await mem.history(home_id)
    assert [h["event"] for h in hist] == ["ADD", "UPDATE"]
    assert hist[0]["old_memory"] is None and hist[0]["new_memory"] == case["home"]
    assert hist[1]["old_memory"] == case["home"] and hist[1]["new_memory"] == case["moved"]
    assert all(h["memory_id"] == home_id and h["user_id"] == "u1" for h in hist)
    assert hist[1]["actor_id"] == "user"
    assert not any(h["is_deleted"] for h in hist)

    assert await mem.delete(home_id) == {"message": "Memory deleted successfully!"}
    assert await mem.get(home_id) is None
    hits = (await mem.search(case["where"], user_id="u1"))["results"]
    assert home_id not in {h["id"] for h in hits}
    hist = await mem.history(home_id)
    assert [h["event"] for h in hist] == ["ADD", "UPDATE", "DELETE"]
    # The events stay (mem0's shape); a delete is a forget, so no text of them does.
    assert [(h["old_memory"], h["new_memory"]) for h in hist] == [(None, None)] * 3
    assert [h["is_deleted"] for h in hist] == [True, True, True]
    with pytest.raises(KeyError):
        await mem.delete(home_id)
    with pytest.raises(KeyError):
        await mem.update(home_id, "whatever")
    with pytest.raises(ValueError):
        await mem.update((await mem.get_all(user_id="u1"))["results"][0]["id"], "   ")


async def test_add_infer_with_scripted_llm(open_memory, real_embedder, case):
    e5 = real_embedder
    llm = scripted({case["convo"]: case["facts"], "OK": [], "The weather is nice": []})
    mem = await open_memory(e5, llm)
    out = await mem.add([{"role": "system", "content": "be nice"},
                         {"role": "user", "content": case["convo"]},
                         {"role": "assistant", "content": "How lovely!"}], user_id="kid-parent")
    assert [(r["memory"], r["event"]) for r in out["results"]] == [
        (f, "ADD") for f in case["facts"]
    ]
    assert all(set(r) == {"id", "memory", "event"} for r in out["results"])
    # The extraction prompt saw the conversation (not the system prompt) in the user's words.
    assert extraction_calls(llm) == 1 and decision_calls(llm) == 0
    prompt = llm.calls[0][0][-1]["content"]
    assert f"user: {case['convo']}" in prompt and "be nice" not in prompt
    assert mem.last_add.facts == 2 and mem.last_add.events == {"ADD": 2}

    hits = (await mem.search(case["daughter_q"], user_id="kid-parent"))["results"]
    assert hits and case["daughter_word"] in hits[0]["memory"]
    listed = (await mem.get_all(user_id="kid-parent"))["results"]
    assert sorted(m["memory"] for m in listed) == sorted(case["facts"])

    # Small talk: no memory, and not even a model call (grounding.only_small_talk & co).
    empty = await mem.add("OK", user_id="kid-parent", infer=True)
    assert empty == {"results": []}
    assert extraction_calls(llm) == 1 and decision_calls(llm) == 0
    # A statement with nothing worth remembering: the model is asked and finds nothing.
    assert await mem.add("The weather is nice", user_id="kid-parent") == {"results": []}
    assert extraction_calls(llm) == 2 and decision_calls(llm) == 0
    assert len((await mem.get_all(user_id="kid-parent"))["results"]) == 2
    # Only assistant text: nothing to extract, not even an LLM call.
    assert await mem.add({"role": "assistant", "content": "Hi!"}, user_id="kid-parent") == {
        "results": []
    }
    assert extraction_calls(llm) == 2


async def test_add_infer_without_llm_is_a_clear_error(open_memory, e5):
    mem = await open_memory(e5)
    with pytest.raises(RuntimeError, match="needs an LLM"):
        await mem.add("我住在北京", user_id="u1")
    assert (await mem.get_all(user_id="u1"))["results"] == []


async def test_get_all_limit_offset_and_filters(open_memory, e5, case):
    mem = await open_memory(e5)
    rows = [
        (case["home"], {"topic": "home", "n": 1, "lang": "x"}),
        (case["drink"], {"topic": "food", "n": 2}),
        (case["pet"], {"topic": "pets", "n": 3, "lang": "x"}),
    ]
    ids = []
    for text, meta in rows:
        ids.append((await mem.add(text, user_id="u1", metadata=meta, infer=False))
                   ["results"][0]["id"])

    def texts(res):
        return [r["memory"] for r in res["results"]]

    assert texts(await mem.get_all(user_id="u1")) == [r[0] for r in rows]
    assert texts(await mem.get_all(user_id="u1", limit=1, offset=1)) == [case["drink"]]
    assert texts(await mem.get_all(user_id="u1", limit=2)) == [case["home"], case["drink"]]
    assert texts(await mem.get_all(user_id="u1", limit=5, offset=3)) == []

    f = await mem.get_all(user_id="u1", filters={"topic": "food"})
    assert texts(f) == [case["drink"]]
    f = await mem.get_all(user_id="u1", filters={"topic": {"eq": "pets"}})
    assert texts(f) == [case["pet"]]
    f = await mem.get_all(user_id="u1", filters={"topic": {"in": ["home", "pets"]}})
    assert texts(f) == [case["home"], case["pet"]]
    f = await mem.get_all(user_id="u1", filters={"topic": {"ne": "home"}})
    assert texts(f) == [case["drink"], case["pet"]]
    # ne keeps memories without the key (mem0 semantics: "not equal").
    f = await mem.get_all(user_id="u1", filters={"lang": {"ne": "x"}})
    assert texts(f) == [case["drink"]]
    f = await mem.get_all(user_id="u1", filters={"AND": [{"lang": "x"}, {"n": {"gte": 2}}]})
    assert texts(f) == [case["pet"]]
    f = await mem.get_all(user_id="u1", filters={"OR": [{"topic": "food"}, {"n": 3}]})
    assert texts(f) == [case["drink"], case["pet"]]
    f = await mem.get_all(user_id="u1", filters={"NOT": {"topic": "home"}, "n": {"lt": 3}})
    assert texts(f) == [case["drink"]]
    f = await mem.get_all(user_id="u1", filters={"topic": {"nin": ["home", "food"]}})
    assert texts(f) == [case["pet"]]

    # Search with a filter takes the exact path and respects the filter.
    s = await mem.search(case["where"], user_id="u1", filters={"topic": {"ne": "home"}})
    assert case["home"] not in texts(s)
    s = await mem.search(case["where"], user_id="u1", filters={"topic": "home"})
    assert texts(s) == [case["home"]]


async def test_delete_all_and_reset(open_memory, e5, data_dir, case):
    mem = await open_memory(e5)
    mine = await mem.add([case["home"], case["drink"]], user_id="me", infer=False)
    other = await mem.add(case["pet"], user_id="other", infer=False)
    assert len(mine["results"]) == 2
    res = await mem.delete_all(user_id="me")
    assert "2" in res["message"]
    assert (await mem.get_all(user_id="me"))["results"] == []
    assert (await mem.search(case["where"], user_id="me"))["results"] == []
    for r in mine["results"]:
        assert await mem.get(r["id"]) is None
        assert await mem.history(r["id"]) == []  # a forget keeps no history
    other_id = other["results"][0]["id"]
    assert (await mem.get(other_id))["memory"] == case["pet"]

    await mem.save_indexes()
    assert list(index_dir(data_dir).glob("u-*.hnsw"))
    await mem.reset()
    assert await mem.get(other_id) is None
    assert await mem.history(other_id) == []
    assert (await mem.get_all(user_id="other"))["results"] == []
    assert (await mem.search(case["pet"], user_id="other"))["results"] == []
    assert not list(index_dir(data_dir).glob("u-*"))
    # Usable after a reset.
    again = await mem.add(case["home"], user_id="other", infer=False)
    hits = (await mem.search(case["where"], user_id="other"))["results"]
    assert [h["id"] for h in hits] == [again["results"][0]["id"]]


async def test_real_duplicate_is_none_without_decision(open_memory, real_embedder):
    e5 = real_embedder
    llm = scripted()
    mem = await open_memory(e5, llm)
    first = await mem.add("我喜欢喝绿茶", user_id="u1")
    assert [r["event"] for r in first["results"]] == ["ADD"]
    second = await mem.add("我喜欢喝绿茶", user_id="u1")
    assert second["results"] == [
        {"id": first["results"][0]["id"], "memory": "我喜欢喝绿茶", "event": "NONE"}
    ]
    assert decision_calls(llm) == 0
    assert len((await mem.get_all(user_id="u1"))["results"]) == 1


async def test_search_edge_cases(open_memory, e5):
    mem = await open_memory(e5)
    await mem.add("我住在北京", user_id="u1", infer=False)
    assert await mem.search("   ", user_id="u1") == {"results": []}
    assert await mem.search("我住在哪里", user_id="u1", limit=0) == {"results": []}
    assert (await mem.search("我住在哪里", user_id="nobody"))["results"] == []
    # A very high threshold drops vector-only hits; the keyword side still finds "北京".
    hits = (await mem.search("北京", user_id="u1", threshold=0.999))["results"]
    assert [h["memory"] for h in hits] == ["我住在北京"]
    assert (await mem.search("天气怎么样", user_id="u1", threshold=0.999))["results"] == []
    with pytest.raises(ValueError):
        await mem.search("x")
    with pytest.raises(ValueError):
        await mem.get_all()
    with pytest.raises(ValueError):
        await mem.add("x", infer=False)
