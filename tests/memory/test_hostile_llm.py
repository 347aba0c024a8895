"""Hostile or broken LLM output never crashes add(), never touches another user's memory and
never stores half a result: add() raises LLMOutputError after its retries, or ignores the
bad action, and says so in the log."""

from __future__ import annotations

import json
import logging

import pytest

from daemon.llm.base import LLMError
from daemon.llm.scripted import ScriptedLLM
from daemon.memory.llm_json import LLMOutputError, parse_json_object
from daemon.memory.prompts import MAX_FACT_CHARS, MAX_FACTS
from tests.support.memory_fakes import Brain, decision_calls, extraction_calls

OLD = "Lives in Berlin"
NEW = "Lives in Berlin no more, lives in Munich now"
VICTIM = "Victim lives in Berlin too"

pytestmark = pytest.mark.both_backends


class World:
    def __init__(self, mem, llm, brain, mine: str, victim: str) -> None:
        self.mem, self.llm, self.brain, self.mine, self.victim = mem, llm, brain, mine, victim

    async def assert_untouched(self, added: tuple[str, ...] = ()) -> None:
        """u1 still has exactly its one old memory (besides ``added`` new ones); the victim's
        memory is as it was."""
        mine = (await self.mem.get_all(user_id="u1", include_closed=True))["results"]
        mine = [r for r in mine if r["memory"] not in added]
        assert [(r["id"], r["memory"]) for r in mine] == [(self.mine, OLD)]
        assert [h["event"] for h in await self.mem.history(self.mine)] == ["ADD"]
        victim = await self.mem.get(self.victim)
        assert victim["memory"] == VICTIM and "valid_to" not in victim
        assert victim["updated_at"] == victim["created_at"]
        assert [h["event"] for h in await self.mem.history(self.victim)] == ["ADD"]
        listed = (await self.mem.get_all(user_id="victim", include_closed=True))["results"]
        assert [r["id"] for r in listed] == [self.victim]


@pytest.fixture
async def world(open_memory):
    brain = Brain()
    llm = ScriptedLLM(brain)
    mem = await open_memory(llm=llm)
    mine = (await mem.add(OLD, user_id="u1", infer=False))["results"][0]["id"]
    victim = (await mem.add(VICTIM, user_id="victim", infer=False))["results"][0]["id"]
    return World(mem, llm, brain, mine, victim)


BAD_EXTRACTIONS = {
    "prose": "Sure! The user lives in Munich.",
    "empty": "",
    "array": json.dumps([NEW]),
    "facts-not-list": '{"facts": "not a list"}',
    "facts-missing": '{"fact": ["x"]}',
    "open-braces-50k": "{" * 50_000,
    "garbage-200kB": "lorem ipsum " * 17_000,
    "nested-arrays": "[" * 50_000,
    "nested-objects": '{"facts": ' * 20_000,
    "number": "42",
}


@pytest.mark.parametrize("name", sorted(BAD_EXTRACTIONS))
async def test_bad_extraction_raises_cleanly(world, caplog, name):
    raw = BAD_EXTRACTIONS[name]
    world.brain.facts = lambda line: raw
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        with pytest.raises(LLMOutputError, match="fact extraction: no valid JSON after 3 tries"):
            await world.mem.add(NEW, user_id="u1")
    assert extraction_calls(world.llm) == 3  # 1 + llm_retries
    assert decision_calls(world.llm) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "fact extraction: invalid LLM output" in w]) == 3
    await world.assert_untouched()
    # The engine still works afterwards.
    world.brain.facts = None
    world.brain.decide = lambda existing, fact: [{"event": "ADD", "id": "new", "text": fact}]
    ok = await world.mem.add("Has a cat", user_id="u1")
    assert [r["event"] for r in ok["results"]] == ["ADD"]


async def test_output_cut_off_never_stores_half_a_fact(world):
    """A reply cut off by the token limit either fails cleanly or keeps only complete facts."""
    world.brain.facts = lambda line: '{"facts": ["Has a cat", "Lives in Mun'
    world.brain.decide = lambda existing, fact: [{"event": "ADD", "id": "new", "text": fact}]
    try:
        res = await world.mem.add(NEW, user_id="u1")
    except LLMOutputError:
        res = {"results": []}
    assert [r["memory"] for r in res["results"]] in ([], ["Has a cat"])
    stored = {r["memory"] for r in (await world.mem.get_all(user_id="u1"))["results"]}
    assert stored == {OLD, *(r["memory"] for r in res["results"])}
    assert not any("Mun" in t for t in stored)


async def test_llm_call_errors_are_retried_then_reported(world, caplog):
    def broken(line):
        raise LLMError("model crashed")

    world.brain.facts = broken
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        with pytest.raises(LLMOutputError, match="call failed: model crashed"):
            await world.mem.add(NEW, user_id="u1")
    assert extraction_calls(world.llm) == 3
    assert any("LLM call failed" in r.getMessage() for r in caplog.records)
    await world.assert_untouched()


async def test_recovers_when_a_retry_succeeds(world):
    replies = iter(["not json", '```json\n{"facts": ["Has a cat"]}\n```'])
    world.brain.facts = lambda line: next(replies)
    res = await world.mem.add("I have a cat", user_id="u1")
    assert [(r["memory"], r["event"]) for r in res["results"]] == [("Has a cat", "ADD")]
    assert extraction_calls(world.llm) == 2


async def test_oversized_facts_are_bounded(world):
    big = [f"{i} " + "x" * 500 for i in range(20)]
    world.brain.facts = lambda line: json.dumps({"facts": big})
    world.brain.decide = lambda existing, fact: [{"event": "ADD", "id": "new", "text": fact}]
    res = await world.mem.add("Here is a lot about me.", user_id="u1")
    added = [r["memory"] for r in res["results"] if r["event"] == "ADD"]
    assert 1 <= len(added) <= MAX_FACTS
    assert all(len(t) <= MAX_FACT_CHARS for t in added)


HOSTILE_DECISIONS = {
    "unknown-id": lambda w: [{"event": "UPDATE", "id": "99", "text": "hacked"}],
    "other-users-uuid-update": lambda w: [{"event": "UPDATE", "id": w.victim, "text": "hacked"}],
    "other-users-uuid-delete": lambda w: [{"event": "DELETE", "id": w.victim, "text": ""}],
    "own-real-uuid": lambda w: [{"event": "UPDATE", "id": w.mine, "text": "hacked"}],
    "negative-id": lambda w: [{"event": "DELETE", "id": "-1", "text": ""}],
    "none-unknown": lambda w: [{"event": "NONE", "id": "7", "text": ""}],
}


@pytest.mark.parametrize("name", sorted(HOSTILE_DECISIONS))
async def test_decision_naming_a_memory_not_shown_is_ignored(world, caplog, name):
    world.brain.facts = lambda line: [NEW]
    world.brain.decide = lambda existing, fact: HOSTILE_DECISIONS[name](world)
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        res = await world.mem.add(NEW, user_id="u1")
    # The bad action is ignored; the fact itself is kept (added), never lost.
    assert [(r["memory"], r["event"]) for r in res["results"]] == [(NEW, "ADD")]
    assert decision_calls(world.llm) == 1
    assert any("unknown id" in r.getMessage() for r in caplog.records)
    await world.assert_untouched(added=(NEW,))


BAD_DECISIONS = {
    "explode": '{"actions": [{"event": "EXPLODE", "id": "0", "text": "boom"}]}',
    "prose": "I think you should update it.",
    "actions-not-list": '{"actions": "UPDATE"}',
    "action-not-object": '{"actions": ["UPDATE 0"]}',
    "open-braces-50k": "{" * 50_000,
}


@pytest.mark.parametrize("name", sorted(BAD_DECISIONS))
async def test_bad_decision_raises_and_stores_nothing(world, caplog, name):
    # Two facts: the first one is decided ADD, and must not be half-applied when the decision
    # for the second one fails (the whole add stores nothing).
    world.brain.facts = lambda line: ["Has a cat named Tom", NEW]
    calls = iter([[{"event": "ADD", "id": "new", "text": "Has a cat named Tom"}]])

    def decide(existing, fact):
        if fact != NEW:
            return next(calls)
        return BAD_DECISIONS[name]

    world.brain.decide = decide
    with caplog.at_level(logging.WARNING, logger="daemon.memory"):
        with pytest.raises(LLMOutputError, match="memory decision"):
            await world.mem.add("I have a cat named Tom and moved to Munich", user_id="u1")
    assert decision_calls(world.llm) == 1 + 3
    assert any("memory decision: invalid LLM output" in r.getMessage()
               for r in caplog.records)
    await world.assert_untouched()


async def test_too_many_actions_are_capped(world):
    world.brain.facts = lambda line: [NEW]
    world.brain.decide = lambda existing, fact: [
        {"event": "ADD", "id": "new", "text": f"Fact {i}"} for i in range(10)
    ]
    res = await world.mem.add(NEW, user_id="u1")
    assert [r["memory"] for r in res["results"]] == ["Fact 0", "Fact 1", "Fact 2"]


async def test_lowercase_event_and_numeric_id_are_accepted(world):
    world.brain.facts = lambda line: [NEW]
    world.brain.decide = lambda existing, fact: (
        '{"actions": [{"event": "update", "id": 0, "text": "Lives in Munich"}]}'
    )
    res = await world.mem.add(NEW, user_id="u1")
    assert res["results"] == [{"id": world.mine, "memory": "Lives in Munich", "event": "UPDATE",
                               "previous_memory": OLD}]
    victim = await world.mem.get(world.victim)
    assert victim["memory"] == VICTIM


@pytest.mark.parametrize("raw,expected", [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Here you go: {"a": [1, 2]} done.', {"a": [1, 2]}),
    ('{broken {"a": 2}', {"a": 2}),
    ("{" * 10 + '{"a": 3}', {"a": 3}),
])
def test_parse_json_object_tolerates_wrapping(raw, expected):
    assert parse_json_object(raw) == expected


@pytest.mark.parametrize("raw", ["", "nothing", "{" * 5000, "[" * 50_000, '{"a": ' * 20_000])
def test_parse_json_object_raises_value_error(raw):
    with pytest.raises(ValueError):
        parse_json_object(raw)
