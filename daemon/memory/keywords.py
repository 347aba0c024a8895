"""Keyword side of hybrid search: query text -> FTS5 trigram query, and rank fusion."""

from __future__ import annotations

import re
from collections.abc import Sequence

_LATIN = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
STOPWORDS = frozenset(
    "the and for are was were you your yours what where when who whom which how why does did "
    "has have had with from that this there their they them then than but not can could will "
    "would should about into out our ours she her hers his him its it's i'm i've do me my mine "
    "is am be been being any some all more most very just also too".split()
)
# Chinese function words whose trigrams carry no meaning on their own.
_CJK_STOP = frozenset("的了吗呢吧啊是我你他她它们在有和什么哪里怎么为")
MAX_TERMS = 32


def keyword_query(text: str) -> tuple[str, list[str]]:
    """(FTS5 MATCH expression, LIKE terms for CJK words too short for trigrams)."""
    terms: list[str] = []
    like: list[str] = []
    for word in _LATIN.findall(text):
        w = word.lower()
        if len(w) >= 3 and w not in STOPWORDS and w not in terms:
            terms.append(w)
    for run in _CJK.findall(text):
        if len(run) == 2 and not all(c in _CJK_STOP for c in run):
            like.append(run)
        for i in range(len(run) - 2):
            gram = run[i : i + 3]
            if sum(c in _CJK_STOP for c in gram) <= 1 and gram not in terms:
                terms.append(gram)
    terms = terms[:MAX_TERMS]
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return match, like[:8]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Fused score per id: the sum over rankings of 1 / (k + rank)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return scores
