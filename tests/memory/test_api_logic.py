"""API details with the fast fake embedder: message shapes, update semantics, closed memories."""

from __future__ import annotations

import pytest

from daemon.memory.memory import normalise_messages
from daemon.memory.store import Change


def test_normalise_messages_accepts_mem0_shapes():
    assert normalise_messages("hi") == [{"role": "user", "content": "hi"}]
    assert normalise_messages({"role": "assistant", "content": "yo"}) == [
        {"role": "assistant", "content": "yo"}
    ]
    assert normalise_messages(["a", {"content": "b"}]) == [
        {"role": "user", "content": "a"}, {"role": "user", "content": "b"}
    ]
    for bad in ([{"role": "user"}], [{"content": 3}], [None], [["x"]]):
        with pytest.raises(ValueError, match="messages must be"):
            normalise_messages(bad)


async def test_update_merges_metadata_and_accepts_text_kwarg(open_memory):
    mem = await open_memory()
    mid = (await mem.add("Lives in Berlin", user_id="u1", metadata={"a": 1, "b": 2},
                         infer=False))["results"][0]["id"]
    await mem.update(mid, text="Lives in Munich", metadata={"b": 3, "c": "x"})
    row = await mem.get(mid)
    assert row["memory"] == "Lives in Munich"
    assert row["metadata"] == {"a": 1, "b": 3, "c": "x"}
    hits = (await mem.search("Munich", user_id="u1"))["results"]
    assert [h["id"] for h in hits] == [mid]
    assert (await mem.get_all(user_id="u1", filters={"c": "x"}))["results"][0]["id"] == mid


async def test_closed_memory_cannot_be_updated_but_can_be_deleted(open_memory):
    mem = await open_memory()
    mid = (await mem.add("Has a cat", user_id="u1", infer=False))["results"][0]["id"]
    await mem.keeper.commit([Change("CLOSE", memory_id=mid)])  # what a DELETE decision does
    with pytest.raises(ValueError, match="closed"):
        await mem.update(mid, "Has two cats")
    assert (await mem.get(mid))["memory"] == "Has a cat"
    assert [h["event"] for h in await mem.history(mid)] == ["ADD", "DELETE"]
    await mem.delete(mid)
    assert await mem.get(mid) is None
    assert (await mem.get_all(user_id="u1", include_closed=True))["results"] == []


async def test_unknown_ids(open_memory):
    mem = await open_memory()
    assert await mem.get("nope") is None
    assert await mem.history("nope") == []
    with pytest.raises(KeyError):
        await mem.update("nope", "x")
    with pytest.raises(KeyError):
        await mem.delete("nope")


async def test_search_limit_and_order(open_memory):
    mem = await open_memory()
    texts = [f"Note {i} about apples and pears" for i in range(30)]
    await mem.add(texts, user_id="u1", infer=False)
    target = (await mem.add("Grandma bakes plum cake", user_id="u1", infer=False))["results"][0]
    hits = (await mem.search("Grandma bakes plum cake", user_id="u1", limit=5))["results"]
    assert len(hits) == 5
    assert hits[0]["id"] == target["id"] and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    all_hits = (await mem.search("apples", user_id="u1", limit=100))["results"]
    assert len(all_hits) == 31
    assert len({h["id"] for h in all_hits}) == 31


def test_delete_quoting_another_shown_memory_targets_the_quoted_one() -> None:
    from daemon.memory.updater import Action, Neighbour, validate_actions

    table = {"0": Neighbour("m-nurse", "Nursing at a children's hospital", 0.9),
             "1": Neighbour("m-anna", "I'm Anna", 0.8)}
    out = validate_actions("Quit nursing", [Action(event="DELETE", id="1",
                                                   text="Nursing at a children's hospital")],
                           table)
    assert [(d.event, d.memory_id) for d in out] == [("DELETE", "m-nurse")]
    # A quote of nothing shown keeps the named id; an unknown id with no quote is ignored.
    out = validate_actions("x", [Action(event="DELETE", id="1", text="something else")], table)
    assert [(d.event, d.memory_id) for d in out] == [("DELETE", "m-anna")]
    assert validate_actions("x", [Action(event="DELETE", id="7", text="")], table) == []
