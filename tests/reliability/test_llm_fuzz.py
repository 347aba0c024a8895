"""Fuzzed LLM output into the fact extractor and the update decider, through
Memory.add(infer=True): whatever the model says, add() raises nothing but LLMOutputError,
never changes another user's memories, and stores nothing at all when it fails.

The outputs mix unicode text, JSON-ish fragments (real keys, truncated, fenced, wrapped in
prose), huge nesting, near-valid answers, and ids: the real ids of other users' memories and
of the user's own memories (never shown to the model as such), shown ids "0".."4" and
out-of-range ones. ``XIAOZHI_LLM_FUZZ_EXAMPLES`` sets the number of add() calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from daemon.llm.scripted import ScriptedLLM
from daemon.memory.llm_json import LLMOutputError
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import SqliteStore
from tests.support.memory_fakes import HashEmbedder, is_extraction

EXAMPLES = int(os.environ.get("XIAOZHI_LLM_FUZZ_EXAMPLES", "600"))
ACTOR = "actor"
VICTIMS = {
    "victim": ["Victim lives in Berlin", "Victim likes green tea", "Victim has a cat"],
    "受害者": ["住在杭州", "喜欢咖啡"],
}
ACTOR_SEED = ["Lives in Berlin", "Likes green tea", "Works as a nurse"]


class Script:
    """The ScriptedLLM responder: extraction calls and decision calls each take the next
    output of their list (the last one repeats, so retries see it too)."""

    def __init__(self) -> None:
        self.extract: list[str] = []
        self.decide: list[str] = []
        self.calls = {"extract": 0, "decide": 0}

    def __call__(self, messages: Sequence[dict[str, str]], schema: dict[str, Any] | None) -> str:
        kind = "extract" if is_extraction(schema) else "decide"
        outputs = self.extract if kind == "extract" else self.decide
        i = self.calls[kind]
        self.calls[kind] += 1
        return outputs[min(i, len(outputs) - 1)]


def dump(db: sqlite3.Connection) -> dict[str, Any]:
    """Every fact a memory change can touch, per user (episodes, the user's own words, are
    kept before extraction runs, so even a failed add() keeps one: not counted here)."""
    out: dict[str, Any] = {}
    for row in db.execute("SELECT id, user_id, agent_id, run_id, text, hash, embedding, metadata, "
                          "created_at, updated_at, valid_from, valid_to FROM memories "
                          "WHERE kind = 'fact' ORDER BY num"):
        out.setdefault(row[1], {}).setdefault("memories", []).append(row)
    for row in db.execute("SELECT h.id, h.memory_id, h.user_id, h.old_memory, h.new_memory, h.event, "
                          "h.is_deleted FROM history h WHERE h.memory_id NOT IN "
                          "(SELECT id FROM memories WHERE kind = 'episode') ORDER BY seq"):
        out.setdefault(row[2], {}).setdefault("history", []).append(row)
    return out


def outputs_strategy(victim_ids: list[str], actor_ids: list[str]) -> st.SearchStrategy[str]:
    ids = st.one_of(st.sampled_from(victim_ids), st.sampled_from(actor_ids),
                    st.sampled_from(["0", "1", "2", "3", "4", "5", "9", "-1", "new", "", " 0 ",
                                     "00", "0.0", "१"]),
                    st.integers(-3, 12), st.text(max_size=8), st.none())
    texts = st.one_of(st.text(max_size=60), st.sampled_from(
        ["Lives in Munich", "Victim lives in Berlin", "住在杭州", "Likes green tea", "", "   ",
         *victim_ids, "x" * 400, "🙂" * 50, "\u0000\ufeff\u202e"]))
    events = st.one_of(st.sampled_from(["ADD", "UPDATE", "DELETE", "NONE", "add", " update ",
                                        "CLOSE", "REMOVE", ""]), st.integers(), st.none())
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts, ids)
    values = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(["facts", "actions", "event", "id", "text", "fact",
                                             "memory", "new"]) | st.text(max_size=5),
                            inner, max_size=4)),
        max_leaves=12,
    )
    action = st.fixed_dictionaries(
        {}, optional={"event": events, "id": ids, "text": st.one_of(texts, values),
                      "old_memory": texts})
    near_valid = st.one_of(
        st.lists(st.one_of(texts, values), max_size=10).map(lambda f: {"facts": f}),
        st.lists(action, max_size=5).map(lambda a: {"actions": a}),
        st.dictionaries(st.sampled_from(["facts", "actions"]), values, max_size=2),
        values,
    )

    def render(obj: Any, ascii_only: bool, cut: int | None, wrap: str) -> str:
        text = json.dumps(obj, ensure_ascii=ascii_only)
        if cut is not None:
            text = text[: cut % (len(text) + 1)]
        return wrap.replace("@", text)

    json_ish = st.builds(render, near_valid, st.booleans(), st.none() | st.integers(0, 10**6),
                         st.sampled_from(["@", "@", "```json\n@\n```", "Sure! Here you go: @ Bye.",
                                          "@@", "@}", "{@", "[@]", '{"facts": @}',
                                          '{"actions": [@]}']))
    nesting = st.builds(
        lambda opener, n, closer, m, tail: opener * n + tail + closer * m,
        st.sampled_from(["{", "[", '{"facts": ', '{"actions": [', '[{"event": "ADD", "text": ',
                         '{"facts": [', '{"a":', '"']),
        st.integers(1, 3000) | st.just(25_000), st.sampled_from(["}", "]", "]}", "}]", ""]),
        st.integers(0, 3000), st.sampled_from(['"x"', "1", "", "null", '"Lives in Rome"', "]"]))
    # Valid JSON holding a value nested just deep enough to hit the recursion limit later
    # (in validation, str(), logging) rather than in json.loads.
    deep_inside = st.builds(
        lambda frame, n, inner: frame.replace("@", "[" * n + inner + "]" * n),
        st.sampled_from(['{"actions": [{"event": "ADD", "id": "new", "text": @}]}',
                         '{"actions": [{"event": "UPDATE", "id": "0", "text": @}]}',
                         '{"actions": [{"event": "NONE", "id": @, "text": ""}]}',
                         '{"actions": [{"event": @, "id": "0", "text": "x"}]}',
                         '{"facts": [@, "Lives in Rome"]}', '{"facts": @}',
                         '{"facts": [{"fact": @}]}', '{"facts": ["a"], "x": @}']),
        st.integers(1, 1000), st.sampled_from(["", "1", '"x"', "{}"]))
    return st.one_of(json_ish, json_ish, st.text(), nesting, deep_inside)


def valid_strategies(victim_ids: list[str], actor_ids: list[str]):
    """Well-formed answers (so the decision step runs often), with hostile content."""
    texts = st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(
        ["Lives in Munich", "Victim lives in Berlin", "住在杭州", "Likes green tea", "Has a dog",
         *victim_ids, *actor_ids]))
    ids = st.one_of(st.sampled_from(["0", "1", "2", "3", "4", "5", "7", "new"]),
                    st.sampled_from(victim_ids + actor_ids))
    facts = st.lists(texts, min_size=1, max_size=4).map(lambda f: json.dumps({"facts": f}))
    actions = st.lists(
        st.fixed_dictionaries({"event": st.sampled_from(["ADD", "UPDATE", "DELETE", "NONE"]),
                               "id": ids, "text": texts}),
        min_size=1, max_size=3).map(lambda a: json.dumps({"actions": a}, ensure_ascii=False))
    return facts, actions


def test_fuzzed_llm_output(tmp_path):
    loop = asyncio.new_event_loop()
    script = Script()
    mem = AsyncMemory(SqliteStore(tmp_path / "memory.sqlite3"), HashEmbedder(), ScriptedLLM(script),
                 index_dir=tmp_path / "index", llm_retries=2)
    run = loop.run_until_complete
    run(mem.start(save_interval_s=0))
    db = sqlite3.connect(tmp_path / "memory.sqlite3")
    try:
        victim_ids = [r["id"] for user, texts in VICTIMS.items()
                      for r in run(mem.add(texts, user_id=user, infer=False))["results"]]
        actor_ids = [r["id"] for r in run(mem.add(ACTOR_SEED, user_id=ACTOR, infer=False))["results"]]

        async def victims_view() -> list[Any]:
            out = []
            for user in VICTIMS:
                out.append((await mem.get_all(user_id=user, include_closed=True))["results"])
                for q in ("Berlin", "tea", "住在"):
                    out.append((await mem.search(q, user_id=user))["results"])
            for mid in victim_ids:
                out.append((await mem.get(mid), await mem.history(mid)))
            return out

        victims_before = run(victims_view())
        victims_rows = {u: v for u, v in dump(db).items() if u in VICTIMS}
        outcomes = {"ok": 0, "LLMOutputError": 0}
        events: dict[str, int] = {}
        fuzzed = outputs_strategy(victim_ids, actor_ids)
        good_facts, good_actions = valid_strategies(victim_ids, actor_ids)

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(good_facts | fuzzed, min_size=1, max_size=3),
               st.lists(good_actions | fuzzed, min_size=1, max_size=4),
               st.sampled_from(["I moved to Munich", "我搬到南京了", "Tell me a joke"]) | st.text(min_size=1))
        def example(extract, decide, said):
            script.extract, script.decide = extract, decide
            script.calls = {"extract": 0, "decide": 0}
            before = dump(db)
            try:
                result = run(mem.add(said, user_id=ACTOR))
            except LLMOutputError:
                outcomes["LLMOutputError"] += 1
                after = dump(db)
                assert after == before, "a failed add() changed a fact"
            else:
                outcomes["ok"] += 1
                after = dump(db)
                note(f"result: {result}")
                own = {r[0] for r in after.get(ACTOR, {}).get("memories", [])}
                for r in result["results"]:
                    events[r["event"]] = events.get(r["event"], 0) + 1
                    assert r["id"] in own, f"add() for {ACTOR} reported another user's memory {r}"
                assert set(after) <= {ACTOR, *VICTIMS}
            for user in VICTIMS:
                assert after.get(user) == victims_rows.get(user), f"{user}'s memories changed"

        start = time.perf_counter()
        example()
        elapsed = time.perf_counter() - start
        assert run(victims_view()) == victims_before
        print(f"\nLLM fuzz: {sum(outcomes.values())} add() calls in {elapsed:.1f} s: {outcomes}, "
              f"result events {events}, actor now has "
              f"{len(run(mem.get_all(user_id=ACTOR, limit=100_000))['results'])} live memories")
        assert outcomes["ok"] and outcomes["LLMOutputError"], outcomes
    finally:
        db.close()
        run(mem.close())
        loop.close()
