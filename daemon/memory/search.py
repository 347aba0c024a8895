"""Hybrid search: HNSW vectors + FTS5 keywords by words, fused by weighted reciprocal rank
(``ranking``), filtered in the store by scope, validity and mem0 filters."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from daemon.executors import run
from daemon.memory.context import demote_near_duplicates
from daemon.memory.embedder import Embedder
from daemon.memory.filters import Filters
from daemon.memory.keywords import has_cjk, keyword_query
from daemon.memory.limits import MAX_QUERY_CHARS
from daemon.memory.ranking import Fusion, fuse
from daemon.memory.selfname import SelfNames, without_names
from daemon.memory.store import MemoryStore, Scope, partition_of
from daemon.memory.upkeep import IndexKeeper


def _candidates(limit: int) -> int:
    """How many hits each side of hybrid search fetches before fusion."""
    return max(limit * 4, 40)


class HybridSearch:
    def __init__(self, store: MemoryStore, embedder: Embedder, keeper: IndexKeeper,
                 search_threshold: float, fusion: Fusion | None = None) -> None:
        self.fusion = fusion or Fusion()
        self.store = store
        self.embedder = embedder
        self.keeper = keeper
        self.search_threshold = search_threshold
        # Demote hits that repeat a better one (``context.demote_near_duplicates``).
        self.near_duplicates = True
        # Search a question that names the user without the name (``selfname``).
        self.self_names: SelfNames | None = SelfNames(store)

    async def vector_hits(
        self, qvec: np.ndarray, scope: Scope, filters: Filters, n: int
    ) -> list[tuple[int, float]]:
        """Approximate (HNSW) for a plain user scope; exact brute force otherwise (a store
        with its own vector index decides for itself: ``store.vector_search``)."""
        if not self.keeper.store_vectors and scope.user_id is not None \
                and scope.agent_id is None and scope.run_id is None and scope.kind is not None \
                and not filters:
            index = await self.keeper.current(partition_of(scope.user_id, scope.kind))
            return index.search(qvec, n)
        return await self.store.vector_search(scope, qvec, n, filters)

    async def search_kinds(
        self, query: str, scopes: Sequence[Scope], filters: Filters,
        limits: Sequence[int], threshold: float | None = None, *, device: bool = False,
    ) -> list[list[dict[str, Any]]]:
        """One ranked list per scope, for one query embedding (a turn's facts and episodes).
        ``device``: a device waits for it (its embedding goes before REST searches')."""
        query = query[:MAX_QUERY_CHARS]
        user_id = scopes[0].user_id if scopes else None
        if self.self_names is not None and user_id is not None:
            query = without_names(query, await self.self_names.of(user_id))
        # The keyword side needs no vector: it runs while the query is being embedded.
        keywords = [asyncio.ensure_future(self.keyword_hits(query, sc, _candidates(n)))
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

    async def keyword_hits(self, query: str, scope: Scope, n: int) -> list[int]:
        # Segmenting Chinese runs off the event loop (and waits there for jieba to load).
        match = await asyncio.to_thread(keyword_query, query) if has_cjk(query) \
            else keyword_query(query)
        return await self.store.keyword_search(match, scope, n) if match else []

    async def search_vector(
        self, query: str, qvec: np.ndarray, scope: Scope, filters: Filters,
        limit: int, threshold: float | None, *, keyword_hits: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        n = _candidates(limit)
        vec_hits = await self.vector_hits(qvec, scope, filters, n)
        kw = keyword_hits if keyword_hits is not None else await self.keyword_hits(query, scope, n)
        candidates = list(dict.fromkeys([num for num, _ in vec_hits] + kw))
        rows = await self.store.filter_nums(candidates, scope, filters)
        sims = {num: float(row.embedding @ qvec) if row.embedding is not None else 0.0
                for num, row in rows.items()}
        # The index ranks by cosine; a turn stored with its context has an unnormalised vector
        # whose dot product (the mean of its two cosines) is the score (``context``).
        vec_order = sorted((num for num, _ in vec_hits if num in rows), key=lambda n: -sims[n])
        order = fuse(vec_order, [num for num in kw if num in rows],
                     query, {num: row.created_at for num, row in rows.items()}, self.fusion)
        thr = self.search_threshold if threshold is None else threshold
        kw_set = set(kw)
        keep = [num for num in order if sims[num] >= thr or num in kw_set]
        if self.near_duplicates:
            keep = demote_near_duplicates(keep, {n: rows[n].embedding for n in keep[:limit * 3]},
                                          limit)
        out = []
        for num in keep[:limit]:
            item = rows[num].public()
            item["score"] = round(sims[num], 6)
            out.append(item)
        return out
