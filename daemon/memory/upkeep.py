"""Keeping the HNSW indexes in step with the store: load or rebuild at start, apply each
committed change to its user's index, reload what another process changed, save in the
background, re-embed vectors of another model, and the writes that drop or refill indexes
(forget, import, reset).

Every write that touches both goes through ``commit_lock``, so an index never holds a change
the store rolled back, and a save never writes back what a forget removed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from daemon.executors import run
from daemon.memory.embedder import Embedder
from daemon.memory.index import IndexSet
from daemon.memory.store import (
    FACT,
    Applied,
    Change,
    Forgotten,
    MemoryStore,
    Scope,
    WriteGuard,
    partition_of,
)

log = logging.getLogger(__name__)


class IndexKeeper:
    def __init__(self, store: MemoryStore, embedder: Embedder, indexes: IndexSet,
                 progress: Callable[[str], None]) -> None:
        self.store = store
        self.embedder = embedder
        self.indexes = indexes
        self.progress = progress
        self.commit_lock = asyncio.Lock()
        self._saver: asyncio.Task[None] | None = None

    async def embed_docs(self, texts: Sequence[str]) -> np.ndarray:
        """One text per call on the document pool: a cancelled request (a client gone) stops
        after the text being embedded, and each text is bounded (``limits``)."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        vecs = [await run("embed-document", self.embedder.embed_documents, [t]) for t in texts]
        return np.concatenate(vecs)

    # -- start and stop --------------------------------------------------------------------

    async def start(self, save_interval_s: float) -> None:
        """Re-embed vectors of another model, load or rebuild every index, start saving."""
        await self.reembed_stale()
        partitions = await self.store.partitions()
        for i, partition in enumerate(partitions, 1):
            await self.index(partition)
            if len(partitions) > 1:
                self.progress(f"indexes ready: {i}/{len(partitions)} users")
        if save_interval_s > 0:
            self._saver = asyncio.create_task(self._save_loop(save_interval_s))

    async def stop(self) -> None:
        if self._saver:
            self._saver.cancel()
            try:
                await self._saver
            except asyncio.CancelledError:
                pass
            self._saver = None
        await self.save()

    async def reembed_stale(self) -> None:
        identity = self.embedder.identity
        total = await self.store.count_stale_embeddings(identity)
        if not total:
            return
        self.progress(f"embedding model is {identity}: re-embedding {total} memories")
        done = 0
        while batch := await self.store.stale_embeddings(identity, batch=64):
            vecs = await self.embed_docs([t for _, t in batch])
            await self.store.set_embeddings(
                [(num, vec) for (num, _), vec in zip(batch, vecs)], identity
            )
            done += len(batch)
            self.progress(f"re-embedded {done}/{total} memories")

    # -- indexes ---------------------------------------------------------------------------

    async def index(self, partition: str) -> Any:
        """The partition's index: in memory, else loaded (caught up) or rebuilt from the store."""
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

    async def current(self, partition: str) -> Any:
        """The partition's index, reloaded if another process (the CLI) changed its memories."""
        index = await self.index(partition)
        if not self.commit_lock.locked():
            known = self.indexes.generation(partition)
            if known is not None and known != await self.store.generation(partition):
                log.info("memories changed by another process: reloading a user's index")
                self.indexes.forget(partition)
                index = await self.index(partition)
        return index

    async def save(self) -> None:
        async with self.commit_lock:
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
                await self.save()
                wait = max(interval, 20 * (time.perf_counter() - t0))

    # -- writes that touch the indexes -----------------------------------------------------

    async def commit(
        self, changes: list[Change], complete_job: int | None = None, at: str | None = None,
        guard: WriteGuard | None = None,
    ) -> list[Applied]:
        """Apply changes in the store, then to their partitions' indexes."""
        async with self.commit_lock:
            applied = await self.store.apply(changes, complete_job=complete_job, at=at,
                                             guard=guard)
            for partition in {a.partition for a in applied}:
                index = await self.index(partition)
                for a in (x for x in applied if x.partition == partition):
                    if a.event in ("ADD", "UPDATE") and a.embedding is not None:
                        index.add([a.num], a.embedding[None, :])
                    elif a.event == "DELETE":
                        index.remove([a.num])
                self.indexes.touch(partition, await self.store.generation(partition))
            return applied

    async def forget(self, scope: Scope) -> Forgotten:
        async with self.commit_lock:
            gone = await self.store.forget_scope(scope)
            for user, kind in gone.removed:
                # Dropped with its files (a removed label's vector would stay in the saved
                # graph); rebuilt now from what is left in SQLite, if anything.
                partition = partition_of(user, kind)
                self.indexes.drop(partition)
                if scope.agent_id is not None or scope.run_id is not None:
                    await self.index(partition)
        return gone

    async def import_items(self, items: Sequence[dict[str, Any]]) -> tuple[int, int]:
        imported = skipped = 0
        touched: set[str] = set()
        for start in range(0, len(items), 64):
            batch = items[start : start + 64]
            vecs = await self.embed_docs([it["memory"] for it in batch])
            async with self.commit_lock:
                for item, vec in zip(batch, vecs):
                    if await self.store.import_row(item, vec, self.embedder.identity):
                        imported += 1
                        touched.add(partition_of(item.get("user_id"), item.get("kind") or FACT))
                    else:
                        skipped += 1
        async with self.commit_lock:
            for partition in touched:
                self.indexes.forget(partition)
        for partition in touched:
            await self.index(partition)
        return imported, skipped

    async def reset(self) -> None:
        async with self.commit_lock:
            await self.store.reset()
            self.indexes.clear()
