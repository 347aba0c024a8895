"""TurnRunner: one conversation turn, from the user's words to the last spoken sentence.

memory lookup (time-boxed) -> prompt -> streamed LLM -> sentences -> ``send`` ->
record the exchange and queue it for memory extraction. Cancelling the task (an ``abort``)
stops the model at once; the partial answer is recorded as interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from daemon.config import Config
from daemon.llm.base import ChatLLM, LLMError, Prefills
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import Exchange  # the record a turn leaves
from daemon.memory.worker import MemoryWorker
from daemon.protocol import Llm, ServerMessage, Stt, Tts
from daemon.turn.care_guard import CareGuard
from daemon.turn.perspective import said_back, second_person
from daemon.turn.prompt import (
    build_messages,
    lines_tokens,
    memories_block,
    newest_lines,
    next_turn_opening,
    told_by_facts,
)
from daemon.turn.sentences import SentenceSplitter

log = logging.getLogger(__name__)

Send = Callable[[ServerMessage], Awaitable[None]]
HISTORY_MESSAGES = 10
UNSAVED_MAX = 1000


class SentenceSpeaker(Protocol):
    """Where a voice turn's sentences go (``daemon.audio.speaker.Speaker``): ``say`` queues a
    sentence (it sends ``tts sentence_start`` itself, right before that sentence's audio),
    ``finish`` waits until all of it has been sent, ``close`` stops at once."""

    async def say(self, sentence: str) -> None: ...

    async def finish(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class TurnContext:
    session_id: str
    user_id: str
    agent_id: str | None = None


@dataclass
class TurnResult:
    text: str
    answer: str = ""
    sentences: list[str] = field(default_factory=list)
    memories: list[str] = field(default_factory=list)
    context: str = ""  # the assistant's last complete line before this turn
    said_at: str = ""  # when the user said it (ISO, local time)
    interrupted: bool = False
    error: str | None = None
    lookup_ms: float = 0.0
    first_sentence_ms: float | None = None
    sentence_ms: list[float] = field(default_factory=list)  # when each sentence went out
    since: int | None = None  # the newest forget when the turn began


class TurnRunner:
    def __init__(
        self, cfg: Config, llm: ChatLLM, memory: AsyncMemory | None,
        worker: MemoryWorker | None = None,
    ) -> None:
        self.cfg = cfg
        self.llm = llm
        self.memory = memory if cfg.memory.enabled else None
        self.worker = worker
        self.last: TurnResult | None = None
        self._recording: set[asyncio.Future[None]] = set()
        self._prefills: set[asyncio.Future[None]] = set()
        # Exchanges not yet written (disk full or read-only); the oldest go first when full.
        self._unsaved: deque[Exchange] = deque(maxlen=UNSAVED_MAX)
        self._write_lock = asyncio.Lock()
        self.writes_paused = False

    async def recall(
        self, user_id: str, text: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The user's newest facts (``newest``), and the facts and episodes for this
        utterance; none if the lookup is slow or fails."""
        m = self.cfg.memory
        if self.memory is None or (m.inject_limit == 0 and m.inject_episodes == 0):
            return [], [], []
        try:
            newest, (facts, episodes) = await asyncio.wait_for(asyncio.gather(
                self.newest(user_id),
                self.memory.recall(text, user_id=user_id, facts=m.inject_limit,
                                   episodes=m.inject_episodes),
            ), timeout=m.lookup_timeout_ms / 1000)
            return newest, facts, episodes
        except asyncio.TimeoutError:
            log.warning("memory lookup took over %d ms: answering without memories",
                        m.lookup_timeout_ms)
        except Exception:
            log.exception("memory lookup failed: answering without memories")
        return [], [], []

    async def newest(self, user_id: str) -> list[dict[str, Any]]:
        """The facts every prompt of this user starts with (``memory.newest_facts``)."""
        n = min(self.cfg.memory.newest_facts, self.cfg.memory.inject_limit)
        if self.memory is None or n == 0:
            return []
        return await self.memory.newest_facts(user_id=user_id, n=n)

    def memory_lines(self, newest: list[dict[str, Any]], facts: list[dict[str, Any]],
                     episodes: list[dict[str, Any]]) -> list[str]:
        """The memory block: the newest facts (read ahead, ``prepare``), then the facts found
        for this utterance that are not among them, then the episodes the facts do not
        already say."""
        budget = self.cfg.memory.token_budget
        known = newest_lines(newest, budget)
        first = newest[:sum(line.startswith("- ") for line in known)]
        shown = {f["id"] for f in first}
        rest = [f for f in facts if f["id"] not in shown]
        texts = [f["memory"] for f in first + rest]
        episodes = [e for e in episodes if not told_by_facts(e["memory"], texts)]
        return known + memories_block(rest, episodes, budget - lines_tokens(known), after=known)

    async def run(
        self, ctx: TurnContext, text: str, send: Send, speaker: SentenceSpeaker | None = None
    ) -> TurnResult:
        """One turn. Without ``speaker`` the sentences go out as text only (``sentence_start``);
        with it each is also spoken (synthesised and streamed while the LLM goes on)."""
        result = TurnResult(text=text, said_at=datetime.now().astimezone().isoformat())
        self.last = result
        t0 = time.perf_counter()
        if isinstance(self.llm, Prefills):
            # A read-ahead reads on both cores; the lookup's query embedding needs one now
            # (seen: a 698 ms lookup, over the 300 ms budget, beside one). What it has read
            # stays cached, and the turn's own call reads the rest.
            self.llm.stop_prefills()
        if self.memory is not None:
            # The newest forget now: if this user is forgotten before the turn is written,
            # the turn is not written (see daemon.memory.forget).
            try:
                result.since = await self.memory.forget_mark()
            except Exception:
                log.exception("could not read the forget mark")
        await send(Stt(text=text))
        newest, facts, episodes = await self.recall(ctx.user_id, text)
        result.lookup_ms = (time.perf_counter() - t0) * 1000
        history: list[dict[str, Any]] = []
        if self.memory is not None:
            try:
                history = await self.memory.recent_messages(ctx.session_id, HISTORY_MESSAGES)
            except Exception:
                log.exception("could not read the session's recent dialogue")
        said = {h["content"] for h in history if h["role"] == "user"}
        result.memories = self.memory_lines(
            newest, facts, [e for e in episodes if e["memory"] not in said])
        guard = CareGuard([f["memory"] for f in newest + facts], text)
        # What the user just said counts as a memory shown: "我叫林娜。" was echoed "好的，我叫林娜。"
        said_lines = [*result.memories, f"- {second_person(text)}"]
        result.context = next((h["content"] for h in reversed(history)
                               if h["role"] == "assistant" and not h.get("interrupted")), "")
        messages = build_messages(
            self.cfg.prompts.system, result.memories, history, text,
            no_memories=self.cfg.prompts.no_memories, memory_template=self.cfg.prompts.memory,
        )
        parts: list[str] = []
        splitter = SentenceSplitter(first_clause=self.cfg.audio.tts.first_clause)
        try:
            await send(Llm(emotion="neutral", text="🙂"))
            await send(Tts(state="start"))

            turned: list[tuple[str, str]] = []  # (as the model said it, as spoken)

            async def speak(sentence: str) -> None:
                safe = guard.spoken(sentence)
                if safe != sentence:
                    log.warning("an answer offered what the user's memory forbids: not spoken")
                    turned.append((sentence, safe))
                    if not safe:
                        return
                    sentence = safe
                told = said_back(sentence, text, said_lines)
                if told != sentence:
                    log.info("a memory said back in the first person is spoken as 'you'")
                    turned.append((sentence, told))
                    sentence = told
                result.sentence_ms.append((time.perf_counter() - t0) * 1000)
                if result.first_sentence_ms is None:
                    result.first_sentence_ms = result.sentence_ms[0]
                result.sentences.append(sentence)
                if speaker is not None:
                    await speaker.say(sentence)
                else:
                    await send(Tts(state="sentence_start", text=sentence))

            try:
                async for piece in self.llm.stream_chat(
                    messages, max_tokens=self.cfg.llm.max_tokens,
                    temperature=self.cfg.llm.temperature, timeout_s=self.cfg.llm.timeout_s,
                ):
                    parts.append(piece)
                    for sentence in splitter.feed(piece):
                        await speak(sentence)
            except LLMError as exc:
                result.error = str(exc)
                log.error("LLM failed during a turn: %s", exc)
                if not parts:
                    await speak("Sorry, I can't answer right now.")
            for sentence in splitter.flush():
                await speak(sentence)
            if speaker is not None:
                await speaker.finish()
            await send(Tts(state="stop"))
        except asyncio.CancelledError:
            result.interrupted = True
            raise
        finally:
            if speaker is not None:
                await speaker.close()
            result.answer = "".join(parts).strip()
            for said, told in turned:
                result.answer = result.answer.replace(said, told, 1)
            result.answer = result.answer.replace("  ", " ").strip()
            # Shielded: an abort must not lose the exchange or its memory job; tracked so that
            # shutdown waits for it before the store closes.
            record = asyncio.ensure_future(self._record(ctx, result))
            self._recording.add(record)
            record.add_done_callback(self._recording.discard)
            await asyncio.shield(record)
        self.prepare(ctx)
        return result

    def prepare(self, ctx: TurnContext) -> None:
        """Start reading the next turn's prompt opening while the user speaks (llama.cpp only):
        the dialogue (just grown by an exchange) and the user's newest facts; the next first
        word need not wait for them. Called after each turn and when the device starts
        listening (the facts may have been learned since)."""
        if (self.memory is None or not self.cfg.llm.llamacpp.prefill_next_turn
                or not isinstance(self.llm, Prefills)):
            return
        task = asyncio.ensure_future(self._prefill(self.llm, self.memory, ctx))
        self._prefills.add(task)
        task.add_done_callback(self._prefills.discard)

    async def read_ahead(self) -> None:
        """Wait until the next turn's opening has been read (benchmarks and tests)."""
        while self._prefills:
            await asyncio.gather(*list(self._prefills), return_exceptions=True)

    async def _prefill(self, llm: Prefills, memory: AsyncMemory, ctx: TurnContext) -> None:
        try:
            history = await memory.recent_messages(ctx.session_id, HISTORY_MESSAGES)
            known = newest_lines(await self.newest(ctx.user_id), self.cfg.memory.token_budget)
            opening = next_turn_opening(self.cfg.prompts.system, history,
                                        memory_template=self.cfg.prompts.memory, known=known)
            if opening:
                read = await llm.prefill(opening, max_tokens=self.cfg.llm.max_tokens)
                log.debug("read the next turn's opening ahead: %d tokens", read)
        except Exception:
            log.debug("could not read the next turn's opening ahead", exc_info=True)

    async def notice(self, sentence: str, send: Send, speaker: SentenceSpeaker | None = None) -> None:
        """A short answer that is not a turn (an utterance over the limit): spoken or sent as
        text; nothing reaches the LLM, nothing is recorded or learned."""
        try:
            await send(Tts(state="start"))
            if speaker is not None:
                await speaker.say(sentence)
                await speaker.finish()
            else:
                await send(Tts(state="sentence_start", text=sentence))
            await send(Tts(state="stop"))
        finally:
            if speaker is not None:
                await speaker.close()

    async def drain(self) -> None:
        """Wait for exchanges still being written (call before closing the store)."""
        for task in list(self._prefills):
            task.cancel()
        while self._recording:
            await asyncio.gather(*list(self._recording), return_exceptions=True)

    async def _record(self, ctx: TurnContext, result: TurnResult) -> None:
        """Write the exchange and queue its memory job. When the disk is full or read-only the
        turn still happens; the exchange waits in RAM (bounded) and is written, in order, with
        the next exchange that can be."""
        if self.memory is None:
            return
        job = None
        if self.worker is not None:
            # Facts come from the user's words only: the assistant's previous line goes along
            # as context; this turn's answer (maybe cut off by an abort) never does.
            exchange = [{"role": "user", "content": result.text}]
            if result.context:
                exchange.insert(0, {"role": "assistant", "content": result.context})
            job = self.worker.payload(exchange, user_id=ctx.user_id, agent_id=ctx.agent_id,
                                      at=result.said_at)
        self._unsaved.append(Exchange(ctx.session_id, ctx.user_id, ctx.agent_id, result.text,
                                      result.answer, result.interrupted, job, result.since))
        async with self._write_lock:
            batch = list(self._unsaved)  # everything waiting, this turn's included
            if not batch:
                return  # an earlier writer already saved it
            try:
                await self.memory.record_exchanges(batch)
            except Exception as exc:
                if not self.writes_paused:
                    log.error("memory writes paused (%s): turns go on without them; %d "
                              "exchange(s) kept in memory until writing works again",
                              exc, len(batch))
                self.writes_paused = True
                return
            written = {id(x) for x in batch}
            while self._unsaved and id(self._unsaved[0]) in written:
                self._unsaved.popleft()
            if self.writes_paused:
                log.warning("memory writes resumed: the exchanges kept meanwhile are saved")
                self.writes_paused = False
        if self.worker is not None:
            self.worker.notify()
