"""Hybrid search: HNSW vectors + keywords (FTS5 trigrams / LIKE), fused by reciprocal rank,
filtered in the store by scope, validity and mem0 filters."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from daemon.executors import run
from daemon.memory.embedder import Embedder
from daemon.memory.filters import Filters
from daemon.memory.keywords import keyword_query, reciprocal_rank_fusion
from daemon.memory.limits import MAX_QUERY_CHARS
from daemon.memory.store import MemoryStore, Scope, partition_of
from daemon.memory.upkeep import IndexKeeper


def _candidates(limit: int) -> int:
    """How many hits each side of hybrid search fetches before fusion."""
    return max(limit * 4, 40)


class HybridSearch:
    def __init__(self, store: MemoryStore, embedder: Embedder, keeper: IndexKeeper,
                 search_threshold: float) -> None:
        self.store = store
        self.embedder = embedder
        self.keeper = keeper
        self.search_threshold = search_threshold

    async def vector_hits(
        self, qvec: np.ndarray, scope: Scope, filters: Filters, n: int
    ) -> list[tuple[int, float]]:
        """Approximate (HNSW) for a plain user scope; exact brute force otherwise."""
        if scope.user_id is not None and scope.agent_id is None and scope.run_id is None \
                and scope.kind is not None and not filters:
            index = await self.keeper.current(partition_of(scope.user_id, scope.kind))
            return index.search(qvec, n)
        nums, vecs = await self.store.embeddings(scope, filters)
        if not nums:
            return []
        sims = vecs @ qvec
        top = np.argsort(-sims)[:n]
        return [(nums[i], float(sims[i])) for i in top]

    async def search_kinds(
        self, query: str, scopes: Sequence[Scope], filters: Filters,
        limits: Sequence[int], threshold: float | None = None, *, device: bool = False,
    ) -> list[list[dict[str, Any]]]:
        """One ranked list per scope, for one query embedding (a turn's facts and episodes).
        ``device``: a device waits for it (its embedding goes before REST searches')."""
        query = query[:MAX_QUERY_CHARS]
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
        match, like = keyword_query(query)
        return await self.store.keyword_search(match, like, scope, n) if (match or like) else []

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
