"""The local GGUF backend on the real packaged model (SmolLM2-135M-Instruct, llama-cpp-python)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon.llm.base import LLMError
from daemon.memory.extractor import FactExtractor
from daemon.memory.llm_json import parse_json_object
from daemon.memory.prompts import (
    DECISION_SCHEMA,
    FACTS_SCHEMA,
    MAX_FACTS,
    decision_messages,
    decision_schema,
)
from daemon.memory.updater import Neighbour, UpdateDecider

MSG = [{"role": "user", "content": "Name three colours."}]


async def test_streams_text_pieces(real_llm) -> None:
    pieces = [p async for p in real_llm.stream_chat(MSG, max_tokens=24, temperature=0.0,
                                                    timeout_s=60)]
    assert len(pieces) > 3
    assert "".join(pieces).strip()


async def test_json_output_is_schema_constrained(real_llm) -> None:
    for text in ["My name is Tom and I live in Berlin.", "我住在北京，我喜欢喝茶。"]:
        raw = await real_llm.complete_json(
            [{"role": "user", "content": f"Extract facts as JSON: {text}"}], FACTS_SCHEMA,
            max_tokens=128, timeout_s=60)
        # Grammar-constrained: a valid JSON prefix, complete unless cut by max_tokens.
        data = parse_json_object(raw)
        assert set(data) == {"facts"}
        assert isinstance(data["facts"], list) and len(data["facts"]) <= MAX_FACTS
        assert all(isinstance(f, str) for f in data["facts"])


async def test_extractor_and_decider_run_on_the_real_model(real_llm) -> None:
    facts, calls = await FactExtractor(real_llm, timeout_s=60).extract(
        [{"role": "user", "content": "I moved to Munich last month."}])
    assert calls == 1 and isinstance(facts, list)
    decided, calls = await UpdateDecider(real_llm, timeout_s=60).decide(
        "Moved to Munich", [Neighbour("real-uuid-1", "Lives in Berlin", 0.9)])
    assert calls >= 1  # the decision, plus a same-thing check per UPDATE/DELETE it proposes
    # Whatever the tiny model says, only the memory shown can be touched.
    assert all(d.memory_id in (None, "real-uuid-1") for d in decided)
    raw = await real_llm.complete_json([{"role": "user", "content": "x"}], DECISION_SCHEMA,
                                       max_tokens=96, timeout_s=60)
    assert "actions" in parse_json_object(raw)


async def test_decision_ids_are_bound_to_the_memories_shown(real_llm) -> None:
    shown = [("0", "Lives in Berlin"), ("1", "Likes green tea"), ("2", "Has a cat named Momo")]
    for fact in ["Moved to Munich", "Likes black coffee now", "我住在上海", "The cat died"]:
        raw = await real_llm.complete_json(decision_messages(fact, shown), decision_schema(3),
                                           max_tokens=160, timeout_s=60)
        actions = parse_json_object(raw)["actions"]
        assert actions, raw  # the schema asks for at least one: the loop below is not empty
        for action in actions:
            assert action["id"] in {"", "0", "1", "2"}, raw


async def test_closing_the_stream_stops_generation_and_frees_the_model(real_llm) -> None:
    before = real_llm.usage.completion_tokens
    stream = real_llm.stream_chat(
        [{"role": "user", "content": "Write a very long story about a dragon."}],
        max_tokens=2000, temperature=0.7, timeout_s=120)
    got = []
    async for piece in stream:
        got.append(piece)
        if len(got) == 3:
            break
    await stream.aclose()
    # The model thread is free again: a short call completes, and the closed stream stopped
    # generating at once (counted in tokens, not timed: of its 2,000, only those in flight).
    aborted = real_llm.usage.completion_tokens - before
    pieces = [p async for p in real_llm.stream_chat(MSG, max_tokens=8, temperature=0.0,
                                                    timeout_s=60)]
    assert len(got) == 3 and pieces
    assert 3 <= aborted < 20
    assert real_llm.usage.completion_tokens - before - aborted <= 8


async def test_cancelling_the_task_mid_stream(real_llm) -> None:
    # Cancel as soon as text flows (not after a fixed sleep: a fast machine may finish a
    # short answer before any fixed delay ends, and then there is nothing to cancel).
    flowing = asyncio.Event()
    got: list[str] = []

    async def consume() -> None:
        async for piece in real_llm.stream_chat(
            [{"role": "user", "content": "Write a very long story about a dragon."}],
            max_tokens=2000, temperature=0.7, timeout_s=120,
        ):
            got.append(piece)
            flowing.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(flowing.wait(), timeout=60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 < len(got) < 2000
    pieces = [p async for p in real_llm.stream_chat(MSG, max_tokens=8, temperature=0.0,
                                                    timeout_s=60)]
    assert pieces


async def test_timeout_is_enforced(real_llm) -> None:
    with pytest.raises(LLMError, match="budget"):
        async for _ in real_llm.stream_chat(
            [{"role": "user", "content": "Write a very long essay about the sea."}],
            max_tokens=4000, temperature=0.7, timeout_s=0.3,
        ):
            pass


def test_a_file_that_is_not_gguf_gives_a_clear_error(tmp_path: Path) -> None:
    from daemon.llm.llamacpp import LlamaCppLLM

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model" * 100)
    with pytest.raises(LLMError, match="could not load GGUF model"):
        LlamaCppLLM(bad)


async def test_a_sibling_shares_the_weights_and_answers_alike(real_llm) -> None:
    """Chat and extraction get one context each on one loaded model (not a second copy)."""
    one, two = real_llm.sibling(), real_llm.sibling()
    try:
        assert one._llm._model is real_llm._llm._model is two._llm._model
        assert len({id(x._llm._ctx) for x in (real_llm, one, two)}) == 3
        msgs = [{"role": "user", "content": "Name three colours."}]

        async def answer(llm) -> str:
            return "".join([p async for p in llm.stream_chat(
                msgs, max_tokens=16, temperature=0.0, timeout_s=60)])

        # Two fresh contexts, side by side on their own threads, answer the same.
        first, second = await asyncio.gather(answer(one), answer(two))
        assert first and first == second
        assert one.usage.completion_tokens > 0 and one.usage.prompt_tokens > 0
    finally:
        await one.close()
        await two.close()
