"""Ranking variants for tuning on the dev split (``retrieval_bench.py --variants``).

Each variant returns the top-10 memory nums for a question; the bench tallies hit@5/@10 next
to the shipped search. Keyword segmentations other than the shipped one are built as extra
FTS5 tables in the bench's throw-away database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
from retrieval_bench import keyword_hits, vector_hits  # type: ignore[import-not-found]

from daemon.memory import keywords as kw
from daemon.text import CJK, CJK_RUN

_TOKEN = re.compile(f"[0-9A-Za-z\u00c0-\u024f]+|[{CJK}]+")  # as keywords._TOKEN
LATEST = re.compile(r"\b(last|latest|recent|recently|most recent)\b|最近|上次|上回|最新|上一次",
                    re.I)


def _jieba_only(run: str) -> list[str]:
    return [w for w in kw._segmenter().cut_for_search(run) if CJK_RUN.fullmatch(w)]


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]


def _unigrams(run: str) -> list[str]:
    return list(run)


SEGMENTERS: dict[str, Callable[[str], list[str]]] = {
    "jieba": _jieba_only, "bigram": _bigrams, "unigram": _unigrams}


def _index(seg: Callable[[str], list[str]], text: str) -> str:
    out: list[str] = []
    for t in _TOKEN.findall(text):
        out.extend(seg(t) if CJK_RUN.fullmatch(t) else [t])
    return " ".join(out)


def _query(seg: Callable[[str], list[str]], text: str) -> str:
    terms: list[str] = []
    for t in _TOKEN.findall(text):
        if CJK_RUN.fullmatch(t):
            words = [w for w in seg(t) if w not in kw.CJK_STOP
                     and not all(c in kw.CJK_STOP for c in w)]
        else:
            w = t.lower()
            words = [w] if len(w) >= 2 and w not in kw.STOPWORDS else []
        terms += [w for w in words if w not in terms]
    return " OR ".join('"' + t + '"' for t in terms[: kw.MAX_TERMS])


_built: set[tuple[str, str]] = set()


async def _table(memory: Any, name: str, tokenizer: str,
                 seg: Callable[[str], list[str]]) -> str:
    key = (str(memory.store.path), name)
    table = f"v_{name}"
    if key not in _built:
        w = memory.store.w
        await w.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5(words, "
                        f"tokenize='{tokenizer}')")
        async with w.execute("SELECT num, text FROM memories") as cur:
            rows = await cur.fetchall()
        await w.executemany(f"INSERT INTO {table}(rowid, words) VALUES (?, ?)",
                            [(n, _index(seg, t)) for n, t in rows])
        _built.add(key)
    return table


async def _kw(memory: Any, table: str, match: str, user: str, n: int) -> list[int]:
    if not match:
        return []
    sql = (f"SELECT m.num FROM {table} f JOIN memories m ON m.num = f.rowid WHERE {table} "
           f"MATCH ? AND m.user_id = ? AND m.kind = 'fact' ORDER BY bm25({table}) LIMIT ?")
    async with memory.store.r.execute(sql, (match, user, n)) as cur:
        return [r[0] for r in await cur.fetchall()]


def fuse(vec: list[int], kws: list[int], k: int, wk: float) -> list[int]:
    scores = kw.reciprocal_rank_fusion([vec, kws], k=k, weights=[1.0, wk])
    return sorted(scores, key=lambda i: -scores[i])


async def run_variants(memory: Any, text: str, qvec: np.ndarray, scope: Any) -> dict[str, list[int]]:
    user = scope.user_id
    out: dict[str, list[int]] = {}
    vec40 = [n for n, _ in await vector_hits(memory, qvec, scope, None, 40)]
    kw40 = await keyword_hits(memory, text, scope, 40)
    for name, seg in SEGMENTERS.items():
        table = await _table(memory, name, "porter unicode61", seg)
        out[f"kw-{name}"] = await _kw(memory, table, _query(seg, text), user, 10)
    table = await _table(memory, "noporter", "unicode61", SEGMENTERS["jieba"])
    out["kw-jieba-noporter"] = await _kw(memory, table, _query(_jieba_only, text), user, 10)
    # The previous release's ranking over today's words: RRF k=60, equal weights.
    for k in (5, 20, 60):
        for wk in (0.5, 1.0, 1.5, 2.0):
            out[f"rrf-k{k}-w{wk}"] = fuse(vec40, kw40, k, wk)[:10]
    # Recency for "last/most recent" questions: among the fused top 20, newer first by a bonus.
    if LATEST.search(text):
        rows = await memory.store.get_by_nums(vec40 + kw40)
        base = fuse(vec40, kw40, 20, 1.0)[:20]
        order = sorted(base, key=lambda n: rows[n].created_at)
        for r in (0.005, 0.01, 0.02):
            bonus = {n: r * i / max(1, len(order) - 1) for i, n in enumerate(order)}
            fused = kw.reciprocal_rank_fusion([vec40, kw40], k=20)
            out[f"recency-{r}"] = sorted(base, key=lambda n: -(fused[n] + bonus[n]))[:10]
    else:
        base = fuse(vec40, kw40, 20, 1.0)[:10]
        for r in (0.005, 0.01, 0.02):
            out[f"recency-{r}"] = base
    return out
