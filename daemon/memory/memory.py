"""AsyncMemory: the public, mem0-compatible memory API (async), over store, index, embedder,
LLM. The decisions are in ``decide``, index upkeep in ``upkeep``, SQL in ``store``.

Names and return shapes follow mem0 (add/search/get/get_all/update/delete/delete_all/history/
reset; ``sync.Memory`` is the synchronous one) so code written for mem0 ports with an import
change. Differences, on purpose:
a contradicted memory is closed (kept in history, out of search) instead of erased;
``delete_all`` removes every memory of the scope, not the first 100; Chinese stays Chinese.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from daemon.executors import SIZES, run
from daemon.llm.base import ChatLLM, ChatMessage
from daemon.memory.context import ContextEmbedder, dialogue_flags
from daemon.memory.decide import AddStats, DecidePipeline
from daemon.memory.embedder import Embedder
from daemon.memory.extractor import FactExtractor
from daemon.memory.filters import Filters, resolve
from daemon.memory.index import IndexParams, IndexSet
from daemon.memory.inputs import SEARCH_KINDS, episode_texts, normalise_messages, require_scope
from daemon.memory.keywords import reciprocal_rank_fusion
from daemon.memory.keywords import warm as warm_keywords
from daemon.memory.limits import check_add, check_memory_text
from daemon.memory.moment import moment
from daemon.memory.operations import Operations
from daemon.memory.ranking import Fusion
from daemon.memory.recall import newest_facts, turn_lookup
from daemon.memory.search import HybridSearch
from daemon.memory.store import (
    EPISODE,
    FACT,
    Applied,
    Change,
    Forgotten,
    MemoryStore,
    Scope,
    WriteGuard,
    partition_of,
    text_hash,
)
from daemon.memory.updater import UpdateDecider
from daemon.memory.upkeep import IndexKeeper
from daemon.progress import Progress

log = logging.getLogger(__name__)


class AsyncMemory(Operations):
    """Long-term memory for many users in one SQLite file and per-user HNSW indexes.

    ``AsyncMemory()``: the embedded defaults (installed local models, data in the user's data
    folder); ``AsyncMemory.from_config(dict)``: mem0's configuration shape; or give the parts
    (store, embedder, model, index folder). The first call opens it (or ``start()``)."""

    def __init__(
        self,
        store: MemoryStore | None = None,
        embedder: Embedder | None = None,
        llm: ChatLLM | None = None,
        *,
        index_dir: Path | None = None,
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
        fusion: Fusion | None = None,
        turn_context: bool = True,
    ) -> None:
        if store is None and embedder is None and llm is None and index_dir is None:
            from daemon.memory.embedded import embedded_options

            AsyncMemory.__init__(self, **embedded_options())
            self._owns_llm = True
            return
        if store is None or embedder is None or index_dir is None:
            raise TypeError("give a store, an embedder and index_dir (and a model), or nothing "
                            "for the embedded defaults (or use AsyncMemory.from_config)")
        self.store = store
        self.embedder = embedder
        self.llm = llm
        self.search_threshold = (
            embedder.search_threshold if search_threshold is None else search_threshold
        )
        if decisions not in ("llm", "add_only"):
            raise ValueError(f"decisions must be 'llm' or 'add_only', not {decisions!r}")
        self.decisions = decisions
        self.progress = progress or (lambda msg: log.info("%s", msg))
        self.keeper = IndexKeeper(store, embedder, IndexSet(
            index_dir, embedder.dim, embedder.identity, index_params or IndexParams()),
            self.progress)
        self.indexes = self.keeper.indexes
        self.searcher = HybridSearch(store, embedder, self.keeper, self.search_threshold, fusion)
        self._warming: asyncio.Future[None] | None = None  # jieba loading (start)
        # Dialogue turns and episodes are embedded with the turn before them (``context``).
        self.context = ContextEmbedder(self.keeper, enabled=turn_context)
        self.extractor = (
            FactExtractor(llm, max_tokens=extraction_max_tokens, timeout_s=llm_timeout_s,
                          retries=llm_retries, embed=self.keeper.embed_docs) if llm else None
        )
        self.pipeline = DecidePipeline(
            UpdateDecider(llm, timeout_s=llm_timeout_s, retries=llm_retries),
            embed_docs=self.keeper.embed_docs,
            vector_hits=lambda vec, scope, k: self.searcher.vector_hits(vec, scope, None, k),
            rows_of=lambda nums, scope: store.filter_nums(nums, scope, None),
            identity=embedder.identity, neighbours=neighbours,
            duplicate_threshold=(embedder.duplicate_threshold if duplicate_threshold is None
                                 else duplicate_threshold),
            related_threshold=self.search_threshold,
            decision_margin=(embedder.decision_margin if decision_margin is None
                             else decision_margin),
            decisions=decisions,
        ) if llm else None
        self.last_add = AddStats()
        self._user_locks: dict[str, asyncio.Lock] = {}
        self._started = False
        self._start_lock = asyncio.Lock()
        self._owns_llm = False  # built here (the embedded defaults): closed with this memory
        # Told of each forget once it is committed (the worker stops that user's running jobs).
        self.on_forget: list[Callable[[Scope], None]] = []

    @classmethod
    def from_config(cls, config_dict: Mapping[str, Any]) -> AsyncMemory:
        """mem0's ``from_config``: its configuration dict mapped onto ours
        (``daemon.memory.mem0_config``); an unsupported provider is a clear error."""
        from daemon.memory.embedded import embedded_options

        memory = cls(**embedded_options(config_dict))
        memory._owns_llm = True
        return memory

    # -- lifecycle -------------------------------------------------------------------------

    async def _ready(self) -> None:
        """Open on first use: mem0 code never calls ``start()``."""
        if not self._started:
            async with self._start_lock:
                if not self._started:
                    await self.start()

    async def start(self, *, save_interval_s: float = 2.0) -> None:
        """Open the store, re-embed vectors of another model, load or rebuild every index."""
        await self.store.open()
        # jieba loads in the background (1.5 s): a Chinese query meanwhile waits for it in a
        # thread (``HybridSearch.keyword_hits``), English never needs it. ``warm()`` awaits it.
        self._warming = asyncio.get_running_loop().run_in_executor(None, warm_keywords)
        # Every query thread runs a query once: the first one through a cold model took over
        # the device's lookup budget (300 ms) and a first question was answered without
        # memories.
        await asyncio.gather(*(run("embed-query", self.embedder.warm)
                               for _ in range(SIZES["embed-query"])))
        await self.keeper.start(save_interval_s)
        self._started = True

    async def warm(self) -> None:
        """Wait until a first query in any language is as fast as the next (the server calls
        it before taking devices; a script need not)."""
        await self._ready()
        if self._warming is not None:
            await self._warming

    async def close(self) -> None:
        await self.keeper.stop()
        await self.store.close()
        self._started = False
        if self._owns_llm and self.llm is not None:
            await self.llm.close()

    async def __aenter__(self) -> AsyncMemory:
        await self._ready()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def save_indexes(self) -> None:
        await self.keeper.save()

    # -- writes ----------------------------------------------------------------------------

    def _lock(self, scope: Scope) -> asyncio.Lock:
        return self._user_locks.setdefault(partition_of(scope.user_id), asyncio.Lock())

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
        await self._ready()
        scope = require_scope(user_id, agent_id, run_id)
        conversation = normalise_messages(messages)
        check_add(conversation, infer)
        at, day = moment(timestamp)
        stats = AddStats()
        # Taken before any work: a forget of this scope from now on makes this add a no-op.
        guard = WriteGuard(user_id, agent_id, run_id, since=await self.store.forget_mark(),
                           job=_job)
        async with self._lock(scope):
            if not infer:
                turns = [(m["content"].strip(), d)
                         for m, d in zip(conversation, dialogue_flags(messages, len(conversation)))
                         if m["role"] != "system" and m["content"].strip()]
                texts = [t for t, _ in turns]
                vecs = await self.context.turns(turns, scope, at) if texts else []
                changes = [
                    Change("ADD", text=t, embedding=v, scope=scope, metadata=dict(metadata or {}),
                           embedder=self.embedder.identity, actor="api")
                    for t, v in zip(texts, vecs)
                ]
                nones: list[dict[str, Any]] = []
            else:
                if self.extractor is None or self.pipeline is None:
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
                changes, nones = await self.pipeline.decide(
                    facts, scope, metadata or {}, stats, said=" ".join(episode_texts(conversation)))
                stats.decide_s = time.perf_counter() - t1
            t2 = time.perf_counter()
            applied = await self.keeper.commit(changes, complete_job=_job, at=at, guard=guard)
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
        vecs = await self.context.episodes(conversation, texts)
        where = Scope(scope.user_id, scope.agent_id, scope.run_id, EPISODE)
        await self.keeper.commit([
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

    async def update(self, memory_id: str, data: str | None = None, *, text: str | None = None,
                     metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._ready()
        new_text = (text if text is not None else data or "").strip()
        if not new_text:
            raise ValueError("the new memory text is empty")
        check_memory_text(new_text)
        row = await self.store.get(memory_id)
        if row is None:
            raise KeyError(memory_id)
        if row.valid_to is not None:  # the store would skip it: say so instead of "updated"
            raise ValueError("this memory is closed (no longer true); add a new one instead")
        vec = (await self.keeper.embed_docs([new_text]))[0]
        await self.keeper.commit([Change("UPDATE", text=new_text, memory_id=memory_id, embedding=vec,
                                   embedder=self.embedder.identity, metadata=metadata or {},
                                   actor="user")])
        return {"message": "Memory updated successfully!"}

    async def delete(self, memory_id: str) -> dict[str, Any]:
        """Remove one memory for good (mem0's delete): its history keeps its events, ends with
        a DELETE event, and loses every text (the user asked to forget it)."""
        await self._ready()
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
        await self._ready()
        gone = await asyncio.shield(self.forget(require_scope(user_id, agent_id, run_id, kind=None)))
        return {"message": f"Memories deleted successfully! ({gone.facts})"}

    async def _delete(self, memory_id: str) -> None:
        await self.keeper.commit([Change("DELETE", memory_id=memory_id, actor="user")])

    async def forget(self, scope: Scope) -> Forgotten:
        gone = await self.keeper.forget(scope)
        self.context.last_turns.forget(scope.user_id)
        if self.searcher.self_names is not None:
            self.searcher.self_names.forget(scope.user_id)
        for listener in self.on_forget:
            listener(scope)
        return gone

    async def reset(self) -> None:
        await self._ready()
        await self.keeper.reset()
        self.context.last_turns.forget(None)
        if self.searcher.self_names is not None:
            self.searcher.self_names.forget(None)

    # -- reads -----------------------------------------------------------------------------

    async def get(self, memory_id: str) -> dict[str, Any] | None:
        await self._ready()
        row = await self.store.get(memory_id)
        return row.public() if row else None

    async def get_all(
        self, *, user_id: str | None = None, agent_id: str | None = None,
        run_id: str | None = None, filters: Filters = None, limit: int = 100,
        offset: int = 0, include_closed: bool = False, kind: str = FACT,
    ) -> dict[str, Any]:
        """mem0's get_all: the facts of a scope (``kind="episode"``: what the user said).
        ``filters``: mem0's filter language (docs/filters.md), scope ids may be inside it."""
        await self._ready()
        if kind not in (FACT, EPISODE):
            raise ValueError(f"kind must be {FACT!r} or {EPISODE!r}, not {kind!r}")
        found = resolve(filters, user_id=user_id, agent_id=agent_id, run_id=run_id)
        scope = Scope(found.user_id, found.agent_id, found.run_id, kind)
        rows = await self.store.list(scope, found.where, limit=limit, offset=offset,
                                     include_closed=include_closed)
        return {"results": [r.public() for r in rows]}

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        await self._ready()
        return await self.store.history(memory_id)

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
        """Hybrid search: HNSW vectors + FTS5 word keywords, fused by weighted reciprocal rank
        (``daemon.memory.ranking``).

        ``kind``: "fact" (mem0's memories, the default), "episode" (what the user said, dated)
        or "all" (both lists fused by rank; each episode result carries ``"kind": "episode"``)."""
        await self._ready()
        if kind not in SEARCH_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SEARCH_KINDS)}, not {kind!r}")
        kinds = [FACT, EPISODE] if kind == "all" else [kind]
        where = resolve(filters, user_id=user_id, agent_id=agent_id, run_id=run_id)
        scopes = [Scope(where.user_id, where.agent_id, where.run_id, k) for k in kinds]
        if not query.strip() or limit <= 0:
            return {"results": []}
        found = await self.searcher.search_kinds(query, scopes, where.where, [limit] * len(scopes),
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
        """A turn's lookup: the user's facts and episodes for its prompt (``recall``)."""
        return await turn_lookup(self.searcher, self.store, query, user_id=user_id,
                                 facts=facts, episodes=episodes)

    async def newest_facts(self, *, user_id: str, n: int) -> list[dict[str, Any]]:
        """The user's ``n`` newest facts, newest first (what a turn's prompt starts with)."""
        await self._ready()
        return await newest_facts(self.store, user_id, n)

    async def search_vector(self, query: str, qvec: np.ndarray, scope: Scope, filters: Filters,
                            limit: int, threshold: float | None) -> list[dict[str, Any]]:
        """One scope's ranked results for an embedded query (benchmarks time this part)."""
        return await self.searcher.search_vector(query, qvec, scope, filters, limit, threshold)
