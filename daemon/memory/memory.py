"""Memory: the public, mem0-compatible memory API (async), over store, index, embedder, LLM.

Names and return shapes follow mem0 v1.0 (add/search/get/get_all/update/delete/delete_all/
history/reset) so code written for mem0 ports with an import change. Differences, on purpose:
a contradicted memory is closed (kept in history, out of search) instead of erased;
``delete_all`` removes every memory of the scope, not the first 100; Chinese stays Chinese.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from daemon.executors import run
from daemon.llm.base import ChatLLM, ChatMessage
from daemon.memory.embedder import Embedder
from daemon.memory.extractor import FactExtractor
from daemon.memory.filters import Filters, resolve
from daemon.memory.index import IndexParams, IndexSet
from daemon.memory.keywords import keyword_query, reciprocal_rank_fusion
from daemon.memory.limits import MAX_QUERY_CHARS, check_add, check_memory_text
from daemon.memory.moment import moment
from daemon.memory.store import (
    EPISODE,
    FACT,
    Applied,
    Change,
    Exchange,
    Forgotten,
    Job,
    MemoryRow,
    MemoryStore,
    Scope,
    WriteGuard,
    partition_of,
    text_hash,
)
from daemon.memory.updater import Decided, Neighbour, UpdateDecider

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class AddStats:
    """Where the time of the last add() went (for benchmarks and logs)."""

    extract_s: float = 0.0
    decide_s: float = 0.0
    apply_s: float = 0.0
    llm_calls: int = 0
    facts: int = 0
    events: dict[str, int] = field(default_factory=dict)


def normalise_messages(messages: str | dict[str, Any] | Sequence[Any]) -> list[ChatMessage]:
    """mem0 accepts a string, one message dict, or a list of them."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, dict):
        messages = [messages]
    out: list[ChatMessage] = []
    for m in messages:
        if isinstance(m, str):
            out.append({"role": "user", "content": m})
        elif isinstance(m, dict) and isinstance(m.get("content"), str):
            out.append({"role": str(m.get("role", "user")), "content": m["content"]})
        else:
            raise ValueError("messages must be a string or a list of {role, content} dicts")
    return out


def _candidates(limit: int) -> int:
    """How many hits each side of hybrid search fetches before fusion."""
    return max(limit * 4, 40)


# An utterance kept as an episode is cut to this many characters (the embedder's window).
MAX_EPISODE_CHARS = 1000
SEARCH_KINDS = (FACT, EPISODE, "all")


def _scope(user_id: str | None, agent_id: str | None, run_id: str | None,
           kind: str | None = FACT) -> Scope:
    scope = Scope(user_id, agent_id, run_id, kind)
    if scope.is_empty():
        raise ValueError("one of user_id, agent_id or run_id is required")
    return scope


def episode_texts(conversation: Sequence[ChatMessage]) -> list[str]:
    """What the user said, one episode per message (the assistant's words are not kept)."""
    out = []
    for m in conversation:
        text = " ".join(m["content"].split())[:MAX_EPISODE_CHARS]
        if m["role"] == "user" and text and text not in out:
            out.append(text)
    return out


class Memory:
    """Long-term memory for many users in one SQLite file and per-user HNSW indexes."""

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        llm: ChatLLM | None,
        *,
        index_dir: Path,
        index_params: IndexParams | None = None,
        neighbours: int = 5,
        search_threshold: float | None = None,
        duplicate_threshold: float | None = None,
        decision_margin: float | None = None,
        decisions: str = "llm",
        extraction_max_tokens: int = 384,
        llm_timeout_s: float = 120.0,
        llm_retries: int = 2,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.llm = llm
        self.neighbours = neighbours
        self.search_threshold = (
            embedder.search_threshold if search_threshold is None else search_threshold
        )
        self.duplicate_threshold = (
            embedder.duplicate_threshold if duplicate_threshold is None else duplicate_threshold
        )
        # An UPDATE/DELETE may only touch a memory about as related to the new fact as the most
        # related one: small models name the wrong id ("Has a dog named Rex" -> UPDATE "Likes
        # green tea"); such an UPDATE is kept as an ADD and such a DELETE is dropped.
        self.decision_margin = (
            embedder.decision_margin if decision_margin is None else decision_margin
        )
        if decisions not in ("llm", "add_only"):
            raise ValueError(f"decisions must be 'llm' or 'add_only', not {decisions!r}")
        self.decisions = decisions
        self.indexes = IndexSet(index_dir, embedder.dim, embedder.identity,
                                index_params or IndexParams())
        self.extractor = (
            FactExtractor(llm, max_tokens=extraction_max_tokens, timeout_s=llm_timeout_s,
                          retries=llm_retries) if llm else None
        )
        self.decider = (
            UpdateDecider(llm, timeout_s=llm_timeout_s, retries=llm_retries) if llm else None
        )
        self.progress = progress or (lambda msg: log.info("%s", msg))
        self.last_add = AddStats()
        self._user_locks: dict[str, asyncio.Lock] = {}
        self._commit_lock = asyncio.Lock()
        self._saver: asyncio.Task[None] | None = None
        self._started = False
        # Told of each forget once it is committed (the worker stops that user's running jobs).
        self.on_forget: list[Callable[[Scope], None]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, save_interval_s: float = 2.0) -> None:
        """Open the store, re-embed vectors of another model, load or rebuild every index."""
        await self.store.open()
        await self._reembed_stale()
        partitions = await self.store.partitions()
        for i, partition in enumerate(partitions, 1):
            await self._index(partition)
            if len(partitions) > 1:
                self.progress(f"indexes ready: {i}/{len(partitions)} users")
        self._started = True
        if save_interval_s > 0:
            self._saver = asyncio.create_task(self._save_loop(save_interval_s))

    async def close(self) -> None:
        if self._saver:
            self._saver.cancel()
            try:
                await self._saver
            except asyncio.CancelledError:
                pass
        await self.save_indexes()
        await self.store.close()

    async def __aenter__(self) -> Memory:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def save_indexes(self) -> None:
        async with self._commit_lock:
            for partition in self.indexes.dirty:
                if self.store.is_open and (self.indexes.generation(partition)
                                           != await self.store.generation(partition)):
                    # Another process (the `memory` CLI) changed these memories, maybe forgot
                    # them: never write back what it removed; reloaded from SQLite on next use.
                    self.indexes.forget(partition)
                    continue
                try:
                    await run("index", self.indexes.save, partition)
                except OSError as exc:  # a full disk: the index is rebuilt at next start
                    log.error("could not save the index (%s); it will be rebuilt", exc)

    async def _save_loop(self, interval: float) -> None:
        """Save changed indexes every ``interval`` s, or less often when saving is slow: a save
        rewrites the whole file under the commit lock (about 1 s at 100k memories)."""
        wait = interval
        while True:
            await asyncio.sleep(wait)
            if self.indexes.dirty:
                t0 = time.perf_counter()
                await self.save_indexes()
                wait = max(interval, 20 * (time.perf_counter() - t0))

    async def _reembed_stale(self) -> None:
        identity = self.embedder.identity
        total = await self.store.count_stale_embeddings(identity)
        if not total:
            return
        self.progress(f"embedding model is {identity}: re-embedding {total} memories")
        done = 0
        while batch := await self.store.stale_embeddings(identity, batch=64):
            vecs = await self._embed_docs([t for _, t in batch])
            await self.store.set_embeddings(
                [(num, vec) for (num, _), vec in zip(batch, vecs)], identity
            )
            done += len(batch)
            self.progress(f"re-embedded {done}/{total} memories")

    async def _index(self, partition: str) -> Any:
        index = self.indexes.get(partition)
        if index is not None:
            return index
        async with self.indexes.lock(partition):
            index = self.indexes.get(partition)
            if index is not None:
                return index
            nums, vecs = await self.store.partition_vectors(partition)
            gen = await self.store.generation(partition)
            index = await run("index", self.indexes.try_load, partition, gen, nums, vecs)
            if index is None:
                if nums:
                    self.progress(f"building the vector index for {len(nums)} memories")
                index = await run(
                    "index", self.indexes.build, partition, nums, vecs, self.progress
                )
                # An empty index (a device with no memories yet) is not worth a file.
                self.indexes.put(partition, index, gen, dirty=bool(nums))
            else:
                # Dirty when it was brought up to date: save the caught-up graph.
                self.indexes.put(partition, index, gen, dirty=index.caught_up)
            return index

    async def _current_index(self, partition: str) -> Any:
        """The partition's index, reloaded if another process (the CLI) changed its memories."""
        index = await self._index(partition)
        if not self._commit_lock.locked():
            known = self.indexes.generation(partition)
            if known is not None and known != await self.store.generation(partition):
                log.info("memories changed by another process: reloading a user's index")
                self.indexes.forget(partition)
                index = await self._index(partition)
        return index

    # -- writes ----------------------------------------------------------------------------

    def _lock(self, scope: Scope) -> asyncio.Lock:
        return self._user_locks.setdefault(partition_of(scope.user_id), asyncio.Lock())

    async def _commit(
        self, changes: list[Change], complete_job: int | None = None, at: str | None = None,
        guard: WriteGuard | None = None,
    ) -> list[Applied]:
        async with self._commit_lock:
            applied = await self.store.apply(changes, complete_job=complete_job, at=at,
                                             guard=guard)
            for partition in {a.partition for a in applied}:
                index = await self._index(partition)
                for a in (x for x in applied if x.partition == partition):
                    if a.event in ("ADD", "UPDATE") and a.embedding is not None:
                        index.add([a.num], a.embedding[None, :])
                    elif a.event == "DELETE":
                        index.remove([a.num])
                self.indexes.touch(partition, await self.store.generation(partition))
            return applied

    async def _embed_docs(self, texts: Sequence[str]) -> np.ndarray:
        """One text per call on the document pool: a cancelled request (a client gone) stops
        after the text being embedded, and each text is bounded (``limits``)."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        vecs = [await run("embed-document", self.embedder.embed_documents, [t]) for t in texts]
        return np.concatenate(vecs)

    async def add(
        self,
        messages: str | dict[str, Any] | Sequence[Any],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool = True,
        timestamp: float | int | str | datetime | None = None,
        _job: int | None = None,
    ) -> dict[str, Any]:
        """mem0's add. With ``infer`` the user's words are kept as dated episodes and the facts
        in them are extracted and reconciled with the memories; without it each message is
        stored as a memory as is. ``timestamp``: when it was said (relative dates such as
        "yesterday" resolve against it; default now)."""
        scope = _scope(user_id, agent_id, run_id)
        conversation = normalise_messages(messages)
        check_add(conversation, infer)
        at, day = moment(timestamp)
        stats = AddStats()
        # Taken before any work: a forget of this scope from now on makes this add a no-op.
        guard = WriteGuard(user_id, agent_id, run_id, since=await self.store.forget_mark(),
                           job=_job)
        async with self._lock(scope):
            if not infer:
                texts = [m["content"].strip() for m in conversation
                         if m["role"] != "system" and m["content"].strip()]
                vecs = await self._embed_docs(texts) if texts else []
                changes = [
                    Change("ADD", text=t, embedding=v, scope=scope, metadata=dict(metadata or {}),
                           embedder=self.embedder.identity, actor="api")
                    for t, v in zip(texts, vecs)
                ]
                nones: list[dict[str, Any]] = []
            else:
                if self.extractor is None:
                    raise RuntimeError("add(infer=True) needs an LLM; pass infer=False")
                # Episodes first, in their own commit: what the user said stays searchable
                # even when extraction fails. A job's episodes have ids of their own, so a
                # re-run job adds them once.
                await self._add_episodes(conversation, scope, metadata or {}, at, _job, guard)
                t0 = time.perf_counter()
                facts, calls = await self.extractor.extract(conversation, day)
                stats.extract_s = time.perf_counter() - t0
                stats.llm_calls += calls
                stats.facts = len(facts)
                t1 = time.perf_counter()
                changes, nones = await self._decide(facts, scope, metadata or {}, stats)
                stats.decide_s = time.perf_counter() - t1
            t2 = time.perf_counter()
            applied = await self._commit(changes, complete_job=_job, at=at, guard=guard)
            stats.apply_s = time.perf_counter() - t2
        results = [self._result(a) for a in applied] + nones
        for r in results:
            stats.events[r["event"]] = stats.events.get(r["event"], 0) + 1
        self.last_add = stats
        return {"results": results}

    async def _add_episodes(self, conversation: Sequence[ChatMessage], scope: Scope,
                            metadata: dict[str, Any], at: str | None, job: int | None,
                            guard: WriteGuard) -> None:
        texts = episode_texts(conversation)
        if not texts:
            return
        vecs = await self._embed_docs(texts)
        where = Scope(scope.user_id, scope.agent_id, scope.run_id, EPISODE)
        await self._commit([
            Change("ADD", text=t, embedding=v, scope=where, metadata=dict(metadata),
                   embedder=self.embedder.identity, actor="api" if job is None else "system",
                   memory_id=None if job is None else str(uuid.uuid5(
                       uuid.NAMESPACE_URL, f"job:{job}:{scope.user_id}:{i}:{text_hash(t)}")))
            for i, (t, v) in enumerate(zip(texts, vecs))
        ], at=at, guard=guard)

    @staticmethod
    def _result(a: Applied) -> dict[str, Any]:
        out: dict[str, Any] = {"id": a.memory_id, "memory": a.text, "event": a.event}
        if a.event == "UPDATE":
            out["previous_memory"] = a.previous
        return out

    async def _neighbours(self, vec: np.ndarray, scope: Scope, k: int) -> list[tuple[MemoryRow, float]]:
        hits = await self._vector_hits(vec, scope, None, k)
        rows = await self.store.filter_nums([n for n, _ in hits], scope, None)
        return [(rows[n], s) for n, s in hits if n in rows][:k]

    async def _decide(
        self, facts: list[str], scope: Scope, metadata: dict[str, Any], stats: AddStats
    ) -> tuple[list[Change], list[dict[str, Any]]]:
        assert self.decider is not None
        if not facts:
            return [], []
        vecs = await self._embed_docs(facts)
        changes: list[Change] = []
        nones: list[dict[str, Any]] = []
        added: list[np.ndarray] = []
        touched: set[str] = set()
        identity = self.embedder.identity

        def add_change(text: str, vec: np.ndarray) -> None:
            added.append(vec)
            changes.append(Change("ADD", text=text, embedding=vec, scope=scope,
                                  metadata=dict(metadata), embedder=identity))

        for fact, vec in zip(facts, vecs):
            if any(float(vec @ v) >= self.duplicate_threshold for v in added):
                continue  # said twice in the same exchange
            near = await self._neighbours(vec, scope, self.neighbours)
            if near and (near[0][1] >= self.duplicate_threshold
                         or near[0][0].hash == text_hash(fact)):
                nones.append({"id": near[0][0].id, "memory": near[0][0].text, "event": "NONE"})
                continue
            related = [(row, s) for row, s in near
                       if s >= self.search_threshold and row.id not in touched]
            if not related or self.decisions == "add_only":
                add_change(fact, vec)
                continue
            decided, calls = await self.decider.decide(
                fact, [Neighbour(row.id, row.text, s) for row, s in related]
            )
            stats.llm_calls += calls
            decided = self._guard_far_targets(fact, decided, {row.id: sc for row, sc in related})
            if not decided:
                # No usable action (none, or only ids that were not shown): keep the fact
                # rather than lose what the user said.
                log.info("no usable decision for a new fact: adding it")
                add_change(fact, vec)
            for d in decided:
                if d.event == "ADD":
                    v = vec if d.text == fact else (await self._embed_docs([d.text]))[0]
                    add_change(d.text, v)
                elif d.event == "UPDATE" and d.memory_id is not None:
                    touched.add(d.memory_id)
                    v = vec if d.text == fact else (await self._embed_docs([d.text]))[0]
                    changes.append(Change("UPDATE", text=d.text, memory_id=d.memory_id,
                                          embedding=v, embedder=identity))
                elif d.event == "DELETE" and d.memory_id is not None:
                    touched.add(d.memory_id)
                    changes.append(Change("CLOSE", memory_id=d.memory_id))
                elif d.event == "NONE" and d.memory_id is not None:
                    nones.append({"id": d.memory_id, "memory": d.text, "event": "NONE"})
        return changes, nones

    def _guard_far_targets(self, fact: str, decided: list[Decided],
                           scores: dict[str, float]) -> list[Decided]:
        best = max(scores.values())
        out: list[Decided] = []
        for d in decided:
            far = (d.event in ("UPDATE", "DELETE") and d.memory_id is not None
                   and scores.get(d.memory_id, best) < best - self.decision_margin)
            if not far:
                out.append(d)
            elif d.event == "UPDATE":
                log.info("an UPDATE named a memory much less related than the nearest one "
                         "(%.3f vs %.3f): the fact is added instead", scores[d.memory_id], best)
                out.append(Decided("ADD", None, d.text or fact))
            else:
                log.info("a DELETE named a memory much less related than the nearest one "
                         "(%.3f vs %.3f): ignored", scores[d.memory_id], best)
        return out

    async def update(self, memory_id: str, data: str | None = None, *, text: str | None = None,
                     metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        new_text = (text if text is not None else data or "").strip()
        if not new_text:
            raise ValueError("the new memory text is empty")
        check_memory_text(new_text)
        row = await self.store.get(memory_id)
        if row is None:
            raise KeyError(memory_id)
        if row.valid_to is not None:  # the store would skip it: say so instead of "updated"
            raise ValueError("this memory is closed (no longer true); add a new one instead")
        vec = (await self._embed_docs([new_text]))[0]
        await self._commit([Change("UPDATE", text=new_text, memory_id=memory_id, embedding=vec,
                                   embedder=self.embedder.identity, metadata=metadata or {},
                                   actor="user")])
        return {"message": "Memory updated successfully!"}

    async def delete(self, memory_id: str) -> dict[str, Any]:
        """Remove one memory; its history rows keep the id, events and times, no text."""
        if await self.store.get(memory_id) is None:
            raise KeyError(memory_id)
        # Shielded: a client that goes away does not leave the delete half done.
        await asyncio.shield(self._delete(memory_id))
        return {"message": "Memory deleted successfully!"}

    async def delete_all(
        self, *, user_id: str | None = None, agent_id: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Forget a scope for good: its facts, episodes, history, dialogue lines and jobs,
        in one transaction; writes begun before it are dropped (``daemon.memory.store.sqlite.forget``)."""
        gone = await asyncio.shield(self.forget(_scope(user_id, agent_id, run_id, kind=None)))
        return {"message": f"Memories deleted successfully! ({gone.facts})"}

    async def _delete(self, memory_id: str) -> None:
        await self._commit([Change("DELETE", memory_id=memory_id, actor="user")])
        await self.store.purge()

    async def forget(self, scope: Scope) -> Forgotten:
        async with self._commit_lock:
            gone = await self.store.forget_scope(scope)
            for user, kind in gone.removed:
                # Dropped with its files (a removed label's vector would stay in the saved
                # graph); rebuilt now from what is left in SQLite, if anything.
                partition = partition_of(user, kind)
                self.indexes.drop(partition)
                if scope.agent_id is not None or scope.run_id is not None:
                    await self._index(partition)
        for listener in self.on_forget:
            listener(scope)
        return gone

    async def import_items(self, items: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Import exported memories (ids, times, history kept); (imported, skipped). Running it
        twice imports nothing the second time."""
        imported = skipped = 0
        touched: set[str] = set()
        for start in range(0, len(items), 64):
            batch = items[start : start + 64]
            vecs = await self._embed_docs([it["memory"] for it in batch])
            async with self._commit_lock:
                for item, vec in zip(batch, vecs):
                    if await self.store.import_row(item, vec, self.embedder.identity):
                        imported += 1
                        touched.add(partition_of(item.get("user_id"), item.get("kind") or FACT))
                    else:
                        skipped += 1
        async with self._commit_lock:
            for partition in touched:
                self.indexes.forget(partition)
        for partition in touched:
            await self._index(partition)
        return imported, skipped

    async def export_items(
        self, *, user_id: str | None = None, agent_id: str | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every memory (closed ones too) with its history, as JSON-ready dicts."""
        out = []
        for row, history in await self.store.export_rows(Scope(user_id, agent_id, run_id, None)):
            item = row.public()
            item["valid_from"] = row.valid_from
            item["valid_to"] = row.valid_to
            item["history"] = history
            out.append(item)
        return out

    async def entities(self) -> list[dict[str, Any]]:
        return await self.store.entities()

    # -- what other layers need of the store (they never reach into it) ------------------

    async def count(self, scope: Scope, *, include_closed: bool = False) -> int:
        return await self.store.count(scope, include_closed=include_closed)

    async def jobs(self, states: Sequence[str] = ("pending", "running", "parked"),
                   limit: int = 500) -> list[Job]:
        return await self.store.jobs(tuple(states), limit=limit)

    async def retry_parked(self, job_id: int | None = None) -> int:
        return await self.store.retry_parked(job_id)

    async def forget_mark(self) -> int:
        """The newest forget; a turn read before a later forget is not written."""
        return await self.store.forget_mark()

    async def recent_messages(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        return await self.store.recent_messages(session_id, limit)

    async def record_exchanges(self, exchanges: Sequence[Exchange]) -> None:
        await self.store.record_exchanges(exchanges)

    async def reset(self) -> None:
        async with self._commit_lock:
            await self.store.reset()
            self.indexes.clear()

    # -- reads -----------------------------------------------------------------------------

    async def get(self, memory_id: str) -> dict[str, Any] | None:
        row = await self.store.get(memory_id)
        return row.public() if row else None

    async def get_all(
        self, *, user_id: str | None = None, agent_id: str | None = None,
        run_id: str | None = None, filters: Filters = None, limit: int = 100,
        offset: int = 0, include_closed: bool = False, kind: str = FACT,
    ) -> dict[str, Any]:
        """mem0's get_all: the facts of a scope (``kind="episode"``: what the user said).
        ``filters``: mem0's filter language (docs/filters.md), scope ids may be inside it."""
        if kind not in (FACT, EPISODE):
            raise ValueError(f"kind must be {FACT!r} or {EPISODE!r}, not {kind!r}")
        found = resolve(filters, user_id=user_id, agent_id=agent_id, run_id=run_id)
        scope = Scope(found.user_id, found.agent_id, found.run_id, kind)
        rows = await self.store.list(scope, found.where, limit=limit, offset=offset,
                                     include_closed=include_closed)
        return {"results": [r.public() for r in rows]}

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        return await self.store.history(memory_id)

    async def _vector_hits(
        self, qvec: np.ndarray, scope: Scope, filters: dict[str, Any] | None, n: int
    ) -> list[tuple[int, float]]:
        """Approximate (HNSW) for a plain user scope; exact brute force otherwise."""
        if scope.user_id is not None and scope.agent_id is None and scope.run_id is None \
                and scope.kind is not None and not filters:
            index = await self._current_index(partition_of(scope.user_id, scope.kind))
            return index.search(qvec, n)
        nums, vecs = await self.store.embeddings(scope, filters)
        if not nums:
            return []
        sims = vecs @ qvec
        top = np.argsort(-sims)[:n]
        return [(nums[i], float(sims[i])) for i in top]

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: Filters = None,
        limit: int = 10,
        threshold: float | None = None,
        kind: str = FACT,
    ) -> dict[str, Any]:
        """Hybrid search: HNSW vectors + FTS5 trigram keywords, fused by reciprocal rank.

        ``kind``: "fact" (mem0's memories, the default), "episode" (what the user said, dated)
        or "all" (both lists fused by rank; each episode result carries ``"kind": "episode"``)."""
        if kind not in SEARCH_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SEARCH_KINDS)}, not {kind!r}")
        kinds = [FACT, EPISODE] if kind == "all" else [kind]
        where = resolve(filters, user_id=user_id, agent_id=agent_id, run_id=run_id)
        scopes = [Scope(where.user_id, where.agent_id, where.run_id, k) for k in kinds]
        if not query.strip() or limit <= 0:
            return {"results": []}
        found = await self.search_kinds(query, scopes, where.where, [limit] * len(scopes),
                                        threshold)
        if len(found) == 1:
            return {"results": found[0]}
        by_id = {item["id"]: item for items in found for item in items}
        fused = reciprocal_rank_fusion([[item["id"] for item in items] for items in found])
        order = sorted(by_id, key=lambda i: -fused.get(i, 0.0))
        return {"results": [by_id[i] for i in order[:limit]]}

    async def recall(
        self, query: str, *, user_id: str, facts: int, episodes: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A turn's lookup: the user's most relevant facts and episodes, one query embedding."""
        wanted = [(k, n) for k, n in ((FACT, facts), (EPISODE, episodes)) if n > 0]
        if not query.strip() or not wanted:
            return [], []
        found = dict(zip(
            [k for k, _ in wanted],
            await self.search_kinds(query, [_scope(user_id, None, None, k) for k, _ in wanted],
                                    None, [n for _, n in wanted], device=True),
        ))
        return found.get(FACT, []), found.get(EPISODE, [])

    async def search_kinds(
        self, query: str, scopes: Sequence[Scope], filters: dict[str, Any] | None,
        limits: Sequence[int], threshold: float | None = None, *, device: bool = False,
    ) -> list[list[dict[str, Any]]]:
        """One ranked list per scope, for one query embedding (a turn's facts and episodes).
        ``device``: a device waits for it (its embedding goes before REST searches')."""
        query = query[:MAX_QUERY_CHARS]
        # The keyword side needs no vector: it runs while the query is being embedded.
        keywords = [asyncio.ensure_future(self._keyword_hits(query, sc, _candidates(n)))
                    for sc, n in zip(scopes, limits)]
        try:
            if device:
                embed = getattr(self.embedder, "embed_device_queries", self.embedder.embed_queries)
                qvec = (await run("embed-query", embed, [query]))[0]
            else:
                qvec = (await run("embed-api-query", self.embedder.embed_queries, [query]))[0]
        except BaseException:
            for k in keywords:
                k.cancel()
            raise
        return [await self.search_vector(query, qvec, sc, filters, n, threshold,
                                         keyword_hits=await kw)
                for sc, n, kw in zip(scopes, limits, keywords)]

    async def _keyword_hits(self, query: str, scope: Scope, n: int) -> list[int]:
        match, like = keyword_query(query)
        return await self.store.keyword_search(match, like, scope, n) if (match or like) else []

    async def search_vector(
        self, query: str, qvec: np.ndarray, scope: Scope, filters: dict[str, Any] | None,
        limit: int, threshold: float | None, *, keyword_hits: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        n = _candidates(limit)
        vec_hits = await self._vector_hits(qvec, scope, filters, n)
        kw = keyword_hits if keyword_hits is not None else await self._keyword_hits(query, scope, n)
        candidates = list(dict.fromkeys([num for num, _ in vec_hits] + kw))
        rows = await self.store.filter_nums(candidates, scope, filters)
        sims = {num: float(row.embedding @ qvec) if row.embedding is not None else 0.0
                for num, row in rows.items()}
        fused = reciprocal_rank_fusion(
            [[num for num, _ in vec_hits if num in rows], [num for num in kw if num in rows]]
        )
        thr = self.search_threshold if threshold is None else threshold
        kw_set = set(kw)
        keep = [num for num in rows if sims[num] >= thr or num in kw_set]
        keep.sort(key=lambda num: (-fused.get(num, 0.0), -sims[num]))
        out = []
        for num in keep[:limit]:
            item = rows[num].public()
            item["score"] = round(sims[num], 6)
            out.append(item)
        return out
