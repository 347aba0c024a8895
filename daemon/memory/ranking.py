"""Hybrid ranking: vector hits and keyword hits fused by weighted reciprocal rank, with a
recency nudge for questions about the latest time something happened.

The parameters were tuned on bench/data/retrieval_dev.json (bench/retrieval_bench.py
--variants); the held-out test split only reports them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from daemon.memory.keywords import reciprocal_rank_fusion, script_share

# "where did I hike most recently", "what did I do last time", "我上次去的是哪家", "最近一次".
LATEST = re.compile(
    r"\b(last|latest|recent|recently|lately|newest)\b|最近|上次|上回|最新|上一次|刚才|前几天",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Fusion:
    k: int = 60  # RRF constant: larger flattens the difference between rank 1 and rank 10
    keyword_weight: float = 1.0  # for an all-Latin query
    keyword_weight_cjk: float = 1.0  # for an all-CJK query (mixed queries interpolate)
    recency: float = 0.0  # bonus spread over the candidates by date, for "latest" questions
    recency_pool: int = 20  # how many fused candidates the recency nudge may reorder


def fuse(vector: Sequence[int], keyword: Sequence[int], query: str, created: Mapping[int, str],
         params: Fusion) -> list[int]:
    """Candidate nums, best first. ``created``: ISO time per num (for the recency nudge)."""
    share = script_share(query)
    wk = params.keyword_weight * (1 - share) + params.keyword_weight_cjk * share
    scores = reciprocal_rank_fusion([vector, keyword], k=params.k, weights=[1.0, wk])
    order = sorted(scores, key=lambda n: -scores[n])
    if params.recency > 0 and LATEST.search(query):
        pool = order[: params.recency_pool]
        by_date = sorted(pool, key=lambda n: created.get(n, ""))
        step = params.recency / max(1, len(by_date) - 1)
        bonus = {n: i * step for i, n in enumerate(by_date)}
        order = sorted(pool, key=lambda n: -(scores[n] + bonus[n])) + order[len(pool):]
    return order
