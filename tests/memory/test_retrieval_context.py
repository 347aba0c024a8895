"""Neighbouring-turn context for raw turns (``daemon.memory.context``): a reply found by a
question about what it answers (real e5, SQLite and PostgreSQL), how the stored vector is
made, and near-duplicate hits demoted in search."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from daemon.memory.context import (
    SESSION_GAP_S,
    LastTurns,
    context_text,
    demote_near_duplicates,
    dialogue_flags,
    episode_contexts,
    mix,
    with_previous,
)
from daemon.memory.store import Scope

DEV = Path(__file__).resolve().parents[2] / "bench" / "data" / "retrieval_dev.json"
T0 = datetime(2025, 3, 1, 9, 0)


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


async def _stored(memory, user: str) -> dict[str, np.ndarray]:
    """text -> stored vector of the user's memories."""
    nums, vecs = await memory.store.embeddings(Scope(user_id=user))
    rows = await memory.store.get_by_nums(list(nums))
    return {rows[n].text: v for n, v in zip(nums, vecs)}


# -- the capability, real model --------------------------------------------------------------


@pytest.mark.both_backends
async def test_a_reply_is_found_by_a_question_about_what_it_answers(open_memory, e5):
    """"It went great, they offered it to me on the spot." means nothing about a bank alone;
    stored right after "How was the job interview at the bank?" it is in the top 3 for
    "Did I get the bank job?" (with the question itself). Stored two hours later (a new
    session, no context) it is not in the top 5 among 80 turns of a dev dialogue."""
    memory = await open_memory(e5)
    turns = json.loads(DEV.read_text(encoding="utf-8"))["conversations"][0]["turns"][:80]
    question = "How was the job interview at the bank?"
    reply = "It went great, they offered it to me on the spot."
    found = {}
    for user, gap in (("in-session", 1), ("new-session", 120)):
        for i, t in enumerate(turns):
            role = "user" if t["speaker"] == "user" else "assistant"
            await memory.add([{"role": role, "content": t["text"]}], user_id=user,
                             infer=False, timestamp=_at(i))
        await memory.add([{"role": "assistant", "content": question}], user_id=user,
                         infer=False, timestamp=_at(100))
        out = await memory.add([{"role": "user", "content": reply}], user_id=user,
                               infer=False, timestamp=_at(100 + gap))
        reply_id = out["results"][0]["id"]
        assert out["results"][0]["memory"] == reply  # the stored text is the turn's own
        res = (await memory.search("Did I get the bank job?", user_id=user, limit=5))["results"]
        found[user] = [r["id"] for r in res].index(reply_id) if reply_id in [
            r["id"] for r in res] else None
    assert found["in-session"] is not None and found["in-session"] < 3, found
    assert found["new-session"] is None, found


# -- how a turn's vector is made (fast, fake embedder) ---------------------------------------


async def test_a_turn_in_a_session_is_stored_as_the_mean_of_alone_and_in_context(open_memory,
                                                                                 fake):
    memory = await open_memory(fake)
    await memory.add([{"role": "assistant", "content": "Did you get the puppy?"}],
                     user_id="u", infer=False, timestamp=_at(0))
    await memory.add([{"role": "user", "content": "Yes, we named him Biscuit"}], user_id="u",
                     infer=False, timestamp=_at(2))
    # A new session: more than SESSION_GAP_S later, no context.
    later = SESSION_GAP_S / 60 + 5
    await memory.add({"role": "user", "content": "The plumber comes at noon"}, user_id="u",
                     infer=False, timestamp=_at(2 + later))
    # Another user's turn right after is not this user's context.
    await memory.add({"role": "user", "content": "Blue is my colour"}, user_id="other",
                     infer=False, timestamp=_at(3))
    vecs = await _stored(memory, "u")
    own, ctx = fake.embed_documents(["Yes, we named him Biscuit",
                                     "Did you get the puppy?\nYes, we named him Biscuit"])
    np.testing.assert_allclose(vecs["Yes, we named him Biscuit"], mix(own, ctx), atol=1e-6)
    for alone in ("Did you get the puppy?", "The plumber comes at noon"):
        np.testing.assert_allclose(vecs[alone], fake.embed_documents([alone])[0], atol=1e-6)
    other = await _stored(memory, "other")
    np.testing.assert_allclose(other["Blue is my colour"],
                               fake.embed_documents(["Blue is my colour"])[0], atol=1e-6)


async def test_messages_of_one_add_are_each_others_context(open_memory, fake):
    memory = await open_memory(fake)
    msgs = [{"role": "user", "content": "Guess what happened"},
            {"role": "assistant", "content": "Tell me!"},
            {"role": "user", "content": "I passed my driving test"}]
    await memory.add(msgs, user_id="u", infer=False)
    vecs = await _stored(memory, "u")
    own, ctx = fake.embed_documents(["I passed my driving test",
                                     "Tell me!\nI passed my driving test"])
    np.testing.assert_allclose(vecs["I passed my driving test"], mix(own, ctx), atol=1e-6)


async def test_notes_given_as_strings_are_embedded_alone(open_memory, fake):
    """add("Likes green tea") is a note, not a dialogue turn: notes added one after another
    are unrelated, and a note in between ends the dialogue's context."""
    memory = await open_memory(fake)
    await memory.add([{"role": "user", "content": "My daughter is five"}], user_id="u",
                     infer=False, timestamp=_at(0))
    await memory.add("Likes green tea", user_id="u", infer=False, timestamp=_at(1))
    await memory.add(["Owns a bike", "Reads sci-fi"], user_id="u", infer=False, timestamp=_at(2))
    await memory.add([{"role": "user", "content": "Back from the shop"}], user_id="u",
                     infer=False, timestamp=_at(3))
    vecs = await _stored(memory, "u")
    for alone in ("Likes green tea", "Owns a bike", "Reads sci-fi", "Back from the shop"):
        np.testing.assert_allclose(vecs[alone], fake.embed_documents([alone])[0], atol=1e-6)


def test_dialogue_flags_and_context_between_dialogue_turns_only():
    assert dialogue_flags("note", 1) == [False]
    assert dialogue_flags({"role": "user", "content": "x"}, 1) == [True]
    assert dialogue_flags(["a", {"role": "user", "content": "b"}], 2) == [False, True]
    assert dialogue_flags(iter([]), 2) == [True, True]  # consumed: every message kept
    assert with_previous(["a", "b", "c"], None, [True, False, True]) == ["a", "b", "c"]
    assert with_previous(["a", "b"], "z", [True, True]) == ["z\na", "a\nb"]


def test_an_episode_is_framed_by_the_message_before_it_in_its_call():
    conv = [{"role": "assistant", "content": "Did you get the  puppy?"},
            {"role": "user", "content": "Yes, we named him Biscuit"},
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "He chews everything"}]
    texts = ["Yes, we named him Biscuit", "He chews everything"]
    assert episode_contexts(conv, texts, 1000) == [
        "Did you get the puppy?\nYes, we named him Biscuit",
        "Yes, we named him Biscuit\nHe chews everything"]
    assert episode_contexts(conv[1:2], texts[:1], 1000) == texts[:1]


async def test_episode_vectors_are_the_mean_of_alone_and_in_context(open_memory, fake):
    """A device's job sends the assistant's previous line before the user's words."""
    memory = await open_memory(fake)
    conv = [{"role": "assistant", "content": "Did you get the puppy?"},
            {"role": "user", "content": "Yes, we named him Biscuit"}]
    got = await memory.context.episodes(conv, ["Yes, we named him Biscuit"])
    own, ctx = fake.embed_documents(["Yes, we named him Biscuit",
                                     "Did you get the puppy?\nYes, we named him Biscuit"])
    np.testing.assert_allclose(got[0], mix(own, ctx), atol=1e-6)


async def test_context_can_be_switched_off(open_memory, fake):
    memory = await open_memory(fake, turn_context=False)  # config: memory.turn_context
    before = fake.texts_embedded
    await memory.add([{"role": "user", "content": "Guess what"},
                      {"role": "user", "content": "I passed"}], user_id="u", infer=False)
    assert fake.texts_embedded - before == 2  # each text once
    vecs = await _stored(memory, "u")
    np.testing.assert_allclose(vecs["I passed"], fake.embed_documents(["I passed"])[0],
                               atol=1e-6)


async def test_a_forgotten_user_leaves_no_context_behind(open_memory, fake):
    memory = await open_memory(fake)
    await memory.add({"role": "user", "content": "My password hint is the cat's name"},
                     user_id="u", infer=False, timestamp=_at(0))
    await memory.delete_all(user_id="u")
    await memory.add({"role": "user", "content": "Hello again"}, user_id="u", infer=False,
                     timestamp=_at(1))
    vecs = await _stored(memory, "u")
    np.testing.assert_allclose(vecs["Hello again"], fake.embed_documents(["Hello again"])[0],
                               atol=1e-6)


def test_mixed_vector_scores_the_mean_of_the_two_cosines():
    rng = np.random.default_rng(3)
    a, b, q = (v / np.linalg.norm(v) for v in rng.standard_normal((3, 16)))
    assert float(mix(a, b) @ q) == pytest.approx((float(a @ q) + float(b @ q)) / 2, abs=1e-6)


def test_context_text_and_calls():
    assert context_text(None, "hi") == "hi"
    assert context_text("x" * 1000, "hi") == "x" * 300 + "\nhi"  # the context is bounded
    assert with_previous(["a", "b"], "z") == ["z\na", "a\nb"]
    assert with_previous(["a"], None) == ["a"]


def test_last_turns_by_scope_gap_and_forget():
    last = LastTurns(max_scopes=2)
    last.remember(("u", None, None), "hello", 1000.0)
    assert last.previous(("u", None, None), 1000.0 + SESSION_GAP_S) == "hello"
    assert last.previous(("u", None, None), 1001.0 + SESSION_GAP_S) is None
    assert last.previous(("u", "agent", None), 1000.0) is None
    last.remember(("v", None, None), "x", 0.0)
    last.remember(("w", None, None), "y", 0.0)  # over max_scopes: the oldest scope goes
    assert last.previous(("u", None, None), 1000.0) is None
    assert last.previous(("w", None, None), 0.0) == "y"
    last.forget("w")
    assert last.previous(("w", None, None), 0.0) is None
    assert last.previous(("v", None, None), 0.0) == "x"


# -- near-duplicates -------------------------------------------------------------------------


def test_near_duplicates_move_after_distinct_hits():
    e = np.eye(4, dtype=np.float32)
    vecs = {1: e[0], 2: e[0] * 0.9 + e[1] * 0.01, 3: e[1], 4: e[2], 5: None}
    # 2 repeats 1 (cosine ~1): after the distinct ones; order otherwise kept.
    assert demote_near_duplicates([1, 2, 3, 4, 5], vecs, limit=3) == [1, 3, 4, 5, 2]
    assert demote_near_duplicates([3, 4, 1], vecs, limit=3) == [3, 4, 1]
    assert demote_near_duplicates([], vecs, limit=3) == []


async def test_search_shows_a_repeated_turn_once_before_other_answers(open_memory, fake):
    memory = await open_memory(fake)
    for i in range(3):
        await memory.add("Play something relaxing", user_id="u", infer=False,
                         timestamp=_at(i * 60))
    await memory.add("I like relaxing jazz on Sundays", user_id="u", infer=False,
                     timestamp=_at(500))
    res = (await memory.search("play relaxing music", user_id="u", limit=2))["results"]
    assert sorted(r["memory"] for r in res) == ["I like relaxing jazz on Sundays",
                                                "Play something relaxing"]
    # All of them are still there past the distinct ones.
    res = (await memory.search("play relaxing music", user_id="u", limit=10))["results"]
    assert [r["memory"] for r in res].count("Play something relaxing") == 3
