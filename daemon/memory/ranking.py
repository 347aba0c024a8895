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
    """Defaults tuned on the dev split (810 questions, bench/retrieval_tune.py): hit@10 67.0%
    against 61.7% for the previous k=60 / equal weights and 64.7% for vectors alone. English
    is flat for k 3-10 and weights 0.5-1.0 (54.5-56.0%), so the weight kept is the one that
    leans on words most (sturdier where questions reuse the memory's words); for Chinese the
    character-level keyword side is noisier than e5, hence a lower weight."""

    k: int = 5  # RRF constant: smaller trusts the top of each list more
    keyword_weight: float = 0.7  # for an all-Latin query
    keyword_weight_cjk: float = 0.25  # for an all-CJK query (mixed queries interpolate)
    # "last/latest" questions: a bonus spread by date over the top ``recency_pool`` (dev: the
    # latest of three similar turns in the top 5 for 51.2% of them instead of 48.8%).
    recency: float = 0.1
    recency_pool: int = 10


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
