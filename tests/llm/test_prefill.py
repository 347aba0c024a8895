"""Reading the next turn's prompt opening ahead (LlamaCppLLM.prefill) on real GGUF models: the
opening is what the next prompt reuses, the answer is the same as without it, and a real call
that comes meanwhile stops it."""

from __future__ import annotations

import asyncio

import pytest

from daemon.config import Config
from daemon.llm._prefill import chat_tokens
from daemon.turn.prompt import build_messages, next_turn_opening

CFG = Config()
HISTORY = [{"role": "user", "content": "我叫王磊，住在杭州。"},
           {"role": "assistant", "content": "你好王磊，杭州是个好地方。"}]


def cached_prefix(llm, tokens: list[int]) -> int:
    cached = list(llm._llm.input_ids[: llm._llm.n_tokens])
    n = 0
    for a, b in zip(cached, tokens):
        if a != b:
            break
        n += 1
    return n


@pytest.mark.slow
async def test_the_opening_read_ahead_is_reused_and_changes_no_answer(qwen_llm) -> None:
    ahead, plain = qwen_llm.sibling(), qwen_llm.sibling()
    try:
        # The user's newest facts are known before the words; a found fact follows them.
        known = ["[2026-11-30]", "- 你住在杭州"]
        opening = next_turn_opening(CFG.prompts.system, HISTORY,
                                    memory_template=CFG.prompts.memory, known=known)
        full = build_messages(CFG.prompts.system, [*known, "[2026-10-02]", "- 你喜欢喝乌龙茶"],
                              HISTORY,
                              "我住在哪个城市？", no_memories="(nothing yet)",
                              memory_template=CFG.prompts.memory)
        assert opening is not None and full[:len(opening) - 1] == opening[:-1]
        read = await ahead.prefill(opening, max_tokens=64)
        opening_tokens = chat_tokens(ahead._llm, opening)
        assert opening_tokens is not None and read == len(opening_tokens)
        # The next prompt finds all of the opening cached but its closing marks.
        full_tokens = chat_tokens(ahead._llm, full)
        assert cached_prefix(ahead, full_tokens) >= len(opening_tokens) - 3
        answers = []
        for llm in (ahead, plain):
            parts = [p async for p in llm.stream_chat(full, max_tokens=40, temperature=0.0,
                                                      timeout_s=120)]
            answers.append("".join(parts))
        assert answers[0] == answers[1] and "杭州" in answers[0]
        # Read again after that turn: only the few tokens after the shared prefix.
        assert await ahead.prefill(opening, max_tokens=64) <= 3
    finally:
        await ahead.close()
        await plain.close()


async def test_a_call_that_comes_meanwhile_stops_the_read_ahead(real_llm) -> None:
    llm = real_llm.sibling()
    try:
        long = [{"role": "user" if i % 2 == 0 else "assistant",
                 "content": f"Line {i}: " + "the quick brown fox jumps over the lazy dog " * 8}
                for i in range(40)]
        opening = [{"role": "system", "content": "You are helpful."}, *long]
        total = len(chat_tokens(llm._llm, llm._fit(opening, 16)) or [])  # as fitted to n_ctx
        assert total > 1500
        task = asyncio.create_task(llm.prefill(opening, max_tokens=16))
        await asyncio.sleep(0.05)
        pieces = [p async for p in llm.stream_chat(
            [{"role": "user", "content": "Name three colours."}], max_tokens=8,
            temperature=0.0, timeout_s=120)]
        read = await task
        assert pieces and read < total
    finally:
        await llm.close()


async def test_a_turn_starting_stops_the_read_ahead(real_llm) -> None:
    """A turn's lookup runs while the chat model is idle: ``stop_prefills`` (TurnRunner.run)
    ends a read-ahead between two chunks; what it read stays cached."""
    llm = real_llm.sibling()
    try:
        opening = [{"role": "system", "content": "You are helpful."},
                   *[{"role": "user", "content": "the quick brown fox " * 40} for _ in range(8)]]
        total = len(chat_tokens(llm._llm, llm._fit(opening, 16)) or [])
        task = asyncio.create_task(llm.prefill(opening, max_tokens=16))
        await asyncio.sleep(0.05)
        llm.stop_prefills()
        read = await task
        assert read < total
        assert await llm.prefill(opening, max_tokens=16) == total - read  # the rest only
    finally:
        await llm.close()
