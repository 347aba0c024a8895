"""Scopes are isolated: user_id, agent_id and run_id never leak into one another."""

from __future__ import annotations

import pytest

from tests.support.memory_fakes import scripted


def _texts(res: dict) -> set[str]:
    return {r["memory"] for r in res["results"]}


async def test_users_never_see_each_other(open_memory):
    mem = await open_memory()
    a = await mem.add(["Alice lives in Paris", "Alice likes green tea"], user_id="alice",
                      infer=False)
    b = await mem.add(["Bob lives in Rome", "Bob likes black coffee"], user_id="bob",
                      infer=False)
    a_ids = {r["id"] for r in a["results"]}
    b_ids = {r["id"] for r in b["results"]}

    # The fake embedder scores everything >= 0 and the threshold is 0: a search returns every
    # memory of the scope, so any leak would show.
    for query in ("lives in Paris", "green tea", "Alice", "Rome coffee", "likes"):
        hits_a = (await mem.search(query, user_id="alice", limit=50))["results"]
        hits_b = (await mem.search(query, user_id="bob", limit=50))["results"]
        assert {h["id"] for h in hits_a} == a_ids
        assert {h["id"] for h in hits_b} == b_ids
        assert all(h["user_id"] == "alice" for h in hits_a)
        assert all(h["user_id"] == "bob" for h in hits_b)
    assert {r["id"] for r in (await mem.get_all(user_id="alice"))["results"]} == a_ids
    assert {r["id"] for r in (await mem.get_all(user_id="bob"))["results"]} == b_ids
    assert (await mem.get_all(user_id="carol"))["results"] == []
    assert (await mem.search("Alice lives in Paris", user_id="carol"))["results"] == []
    for mid in a_ids:
        hist = await mem.history(mid)
        assert hist and all(h["user_id"] == "alice" and h["memory_id"] == mid for h in hist)
    # A filter cannot widen the scope.
    res = await mem.get_all(user_id="alice", filters={"user_id": "bob"})
    assert res["results"] == []
    res = await mem.search("Rome", user_id="alice", filters={"OR": [{"user_id": "bob"},
                                                                    {"user_id": "alice"}]})
    assert {h["id"] for h in res["results"]} == a_ids

    await mem.delete_all(user_id="alice")
    assert (await mem.get_all(user_id="alice"))["results"] == []
    assert {r["id"] for r in (await mem.get_all(user_id="bob"))["results"]} == b_ids
    assert {h["id"] for h in (await mem.search("Rome", user_id="bob"))["results"]} == b_ids


async def test_agent_and_run_scopes(open_memory):
    mem = await open_memory()
    ids = {}
    for user, agent, run, text in [
        ("u1", "cook", None, "Likes spicy noodles"),
        ("u1", "coach", None, "Runs five kilometres"),
        ("u1", "cook", "s1", "Wants dumplings tonight"),
        ("u1", "cook", "s2", "Wants pizza tonight"),
        ("u2", "cook", None, "Likes mild soup"),
        (None, "cook", None, "Kitchen has a wok"),
        (None, None, "s1", "Session note one"),
    ]:
        r = await mem.add(text, user_id=user, agent_id=agent, run_id=run, infer=False)
        ids[text] = r["results"][0]["id"]

    got = _texts(await mem.get_all(user_id="u1", agent_id="cook"))
    assert got == {"Likes spicy noodles", "Wants dumplings tonight", "Wants pizza tonight"}
    got = _texts(await mem.get_all(user_id="u1", agent_id="cook", run_id="s1"))
    assert got == {"Wants dumplings tonight"}
    got = _texts(await mem.get_all(agent_id="cook"))
    assert got == {"Likes spicy noodles", "Wants dumplings tonight", "Wants pizza tonight",
                   "Likes mild soup", "Kitchen has a wok"}
    got = _texts(await mem.get_all(run_id="s1"))
    assert got == {"Wants dumplings tonight", "Session note one"}
    assert _texts(await mem.get_all(user_id="u1", agent_id="coach")) == {"Runs five kilometres"}
    assert _texts(await mem.get_all(user_id="u2", agent_id="coach")) == set()

    # Search (the exact, non-HNSW path for agent/run scopes) honours the same scopes.
    got = _texts(await mem.search("tonight food", user_id="u1", agent_id="cook", run_id="s2",
                                  limit=50))
    assert got == {"Wants pizza tonight"}
    got = _texts(await mem.search("likes", agent_id="cook", limit=50))
    assert got == {"Likes spicy noodles", "Wants dumplings tonight", "Wants pizza tonight",
                   "Likes mild soup", "Kitchen has a wok"}
    got = _texts(await mem.search("session", run_id="s1", limit=50))
    assert got == {"Wants dumplings tonight", "Session note one"}
    got = _texts(await mem.search("likes", user_id="u2", limit=50))
    assert got == {"Likes mild soup"}

    for text, mid in ids.items():
        row = await mem.get(mid)
        assert row["memory"] == text

    await mem.delete_all(user_id="u1", agent_id="cook", run_id="s1")
    assert _texts(await mem.get_all(run_id="s1")) == {"Session note one"}
    assert "Wants pizza tonight" in _texts(await mem.get_all(user_id="u1"))
    await mem.delete_all(agent_id="cook")
    assert _texts(await mem.get_all(user_id="u1")) == {"Runs five kilometres"}
    assert _texts(await mem.get_all(user_id="u2")) == set()
    assert _texts(await mem.get_all(run_id="s1")) == {"Session note one"}


async def test_decision_llm_only_sees_the_same_users_memories(open_memory):
    llm = scripted(decide=lambda existing, fact: [{"event": "ADD", "id": "new", "text": fact}])
    mem = await open_memory(llm=llm)
    await mem.add("Alice lives in Paris", user_id="alice", infer=False)
    await mem.add("Alice secret code is 1234", user_id="alice", infer=False)
    await mem.add("Bob lives in Rome", user_id="bob", infer=False)
    await mem.add("Bob lives in Rome now near the river", user_id="bob")
    brain = llm._responder
    assert brain.decisions, "a related memory should have led to a decision call"
    for existing, _fact in brain.decisions:
        shown = [e["text"] for e in existing]
        assert shown and all(t.startswith("Bob") for t in shown)
        # Ids shown to the model are small integers, never real uuids.
        assert [e["id"] for e in existing] == [str(i) for i in range(len(existing))]


async def test_scope_is_required(open_memory):
    mem = await open_memory()
    with pytest.raises(ValueError, match="user_id"):
        await mem.add("x", infer=False)
    with pytest.raises(ValueError):
        await mem.search("x")
    with pytest.raises(ValueError):
        await mem.delete_all()


async def test_delete_all_removes_more_than_100(open_memory):
    mem = await open_memory()
    texts = [f"Fact number {i} about the garden" for i in range(130)]
    await mem.add(texts, user_id="many", infer=False)
    await mem.add("Keep me", user_id="few", infer=False)
    assert len((await mem.get_all(user_id="many", limit=1000))["results"]) == 130
    # get_all's default limit is 100 (mem0); delete_all is not limited.
    assert len((await mem.get_all(user_id="many"))["results"]) == 100
    res = await mem.delete_all(user_id="many")
    assert "130" in res["message"]
    assert (await mem.get_all(user_id="many", limit=1000, include_closed=True))["results"] == []
    assert (await mem.search("garden", user_id="many", limit=200))["results"] == []
    assert _texts(await mem.get_all(user_id="few")) == {"Keep me"}
    assert len(mem.indexes.get("many")) == 0
