"""The move scenario (UPDATE) and the "no longer true" scenario (DELETE -> closed), with the
real embedder and a scripted LLM that extracts facts and decides like a good model would."""

from __future__ import annotations

import pytest

from tests.support.memory_fakes import decision_calls, scripted

MOVES = {
    "zh": dict(first="我住在北京", first_fact="住在北京", second="我已经搬到上海了",
               second_fact="搬到上海", updated="住在上海", query="我住在哪里",
               new_word="上海", old_word="北京"),
    "en": dict(first="I live in Berlin", first_fact="Lives in Berlin",
               second="I have moved to Munich", second_fact="Moved to Munich",
               updated="Lives in Munich", query="Where do I live?", new_word="Munich",
               old_word="Berlin"),
}


@pytest.mark.parametrize("lang", sorted(MOVES))
async def test_move_updates_the_old_memory(open_memory, e5, lang):
    c = MOVES[lang]
    seen: list[list[dict[str, str]]] = []

    def decide(existing, fact):
        seen.append(existing)
        assert fact == c["second_fact"]
        return [{"event": "UPDATE", "id": "0", "text": c["updated"]}]

    llm = scripted({c["first"]: [c["first_fact"]], c["second"]: [c["second_fact"]]}, decide)
    mem = await open_memory(e5, llm)
    first = await mem.add([{"role": "user", "content": c["first"]},
                           {"role": "assistant", "content": "OK"}], user_id="u1")
    assert [(r["memory"], r["event"]) for r in first["results"]] == [(c["first_fact"], "ADD")]
    mid = first["results"][0]["id"]
    assert decision_calls(llm) == 0  # nothing to compare against yet

    second = await mem.add(c["second"], user_id="u1")
    assert second["results"] == [{"id": mid, "memory": c["updated"], "event": "UPDATE",
                                  "previous_memory": c["first_fact"]}]
    # The old memory was shown to the model as id "0" (never as its uuid).
    assert seen == [[{"id": "0", "text": c["first_fact"]}]]
    assert decision_calls(llm) == 1

    hits = (await mem.search(c["query"], user_id="u1"))["results"]
    assert hits and c["new_word"] in hits[0]["memory"]
    assert not any(c["old_word"] in h["memory"] for h in hits)
    listed = (await mem.get_all(user_id="u1", include_closed=True))["results"]
    assert [r["memory"] for r in listed] == [c["updated"]]

    hist = await mem.history(mid)
    assert [h["event"] for h in hist] == ["ADD", "UPDATE"]
    assert hist[1]["old_memory"] == c["first_fact"] and hist[1]["new_memory"] == c["updated"]
    assert c["old_word"] in hist[1]["old_memory"]


FORGETS = {
    "zh": dict(first="我养了一只猫叫咪咪", fact="养了一只猫叫咪咪", second="咪咪送人了，我不再养猫了",
               second_fact="不再养猫了", query="我养了什么宠物", word="咪咪"),
    "en": dict(first="I have a cat named Mimi", fact="Has a cat named Mimi",
               second="I gave Mimi away, I no longer have a cat",
               second_fact="No longer has a cat", query="What pet do I have?", word="Mimi"),
}


@pytest.mark.parametrize("lang", sorted(FORGETS))
async def test_delete_decision_closes_the_memory(open_memory, e5, lang):
    c = FORGETS[lang]
    llm = scripted({c["first"]: [c["fact"]], c["second"]: [c["second_fact"]]},
                   lambda existing, fact: [{"event": "DELETE", "id": "0", "text": ""}])
    mem = await open_memory(e5, llm)
    mid = (await mem.add(c["first"], user_id="u1"))["results"][0]["id"]
    assert (await mem.search(c["query"], user_id="u1"))["results"][0]["id"] == mid

    res = await mem.add(c["second"], user_id="u1")
    assert res["results"] == [{"id": mid, "memory": c["fact"], "event": "DELETE"}]

    row = await mem.get(mid)  # closed, not erased
    assert row is not None and row["memory"] == c["fact"] and row["valid_to"]
    hits = (await mem.search(c["query"], user_id="u1"))["results"]
    assert mid not in {h["id"] for h in hits}
    assert (await mem.search(c["word"], user_id="u1"))["results"] == []  # keyword side too
    assert (await mem.get_all(user_id="u1"))["results"] == []
    closed = (await mem.get_all(user_id="u1", include_closed=True))["results"]
    assert [(r["id"], r["memory"]) for r in closed] == [(mid, c["fact"])]
    assert closed[0]["valid_to"] == row["valid_to"]

    hist = await mem.history(mid)
    assert [h["event"] for h in hist] == ["ADD", "DELETE"]
    assert [h["closed"] for h in hist] == [False, True]
    assert hist[1]["old_memory"] == c["fact"] and not hist[1]["is_deleted"]

    # A closed memory is not shown to the decision step again and cannot be updated by it.
    llm._responder.decisions.clear()
    again = await mem.add(c["first"], user_id="u1")
    assert [r["event"] for r in again["results"]] == ["ADD"]
    assert again["results"][0]["id"] != mid
    assert all(mid not in str(d) for d in llm._responder.decisions)
