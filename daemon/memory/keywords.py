"""Keyword side of hybrid search: text -> indexed words, query -> FTS5 MATCH, rank fusion.

Memories are indexed in SQLite's FTS5 table ``memories_words`` (schema migration 5), which
holds each text as words (Latin script as written, stemmed by FTS5's ``porter unicode61``; Chinese
and Japanese runs segmented by jieba, each word followed by its characters so that "狗" in a
question still meets "小狗" in a memory), which ranks by BM25 over real words. The older trigram
table is gone: trigrams rank English by letter soup ("dog" matches "dogma") and gave Chinese no
word boundaries.

Triggers on ``memories`` only queue changed rows in ``words_pending`` (no Python function
in SQL, so any SQLite client can still write); the store indexes the queue at the end of each
of its write transactions (``index_pending``) and at start-up, so one segmenter serves the
index and the queries.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from daemon.text import CJK, CJK_RUN
from daemon.text import has_cjk as has_cjk  # search asks it whether a query needs jieba

_LATIN = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+(?:'[a-z]+)?")
# Chinese, kana and Hangul runs go to jieba as they are (it keeps kana and Hangul words whole).
_TOKEN = re.compile(f"[0-9A-Za-z\u00c0-\u024f]+|[{CJK}]+")
STOPWORDS = frozenset(
    "the and for are was were you your yours what where when who whom which how why does did "
    "has have had with from that this there their they them then than but not can could will "
    "would should about into out our ours she her hers his him its it's i'm i've do me my mine "
    "is am be been being any some all more most very just also too a an of to in on at by or "
    "i we us it if so up as no what's where's who's how's let let's tell remind please again "
    "time times s t".split()
)
# Chinese function words and question words: no meaning on their own in a search.
CJK_STOP = frozenset(
    "的 了 吗 呢 吧 啊 呀 嘛 是 我 你 他 她 它 们 在 有 和 与 及 或 什么 哪里 哪儿 哪 怎么 怎样 为什么 "
    "为 我们 你们 他们 她们 这 那 这个 那个 个 就 都 也 还 又 很 去 到 给 把 被 让 会 要 能 想 说 "
    "吧 一下 一个 过 着 地 得 么 多少 几 谁 哪个 哪家 哪些 时候 现在 最近 上次 以前 之前 是不是 "
    "提醒 一次 告诉 知道".split()
)
MAX_TERMS = 32
MAX_INDEX_CHARS = 4000  # memories are bounded (limits); this bounds the segmenter's work too

_jieba_lock = threading.Lock()
_jieba: Any = None


def _segmenter() -> Any:
    """jieba, loaded once (about 1.5 s and 60 MB; ``warm`` does it at start-up)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def warm() -> None:
    _segmenter()


def cjk_words(run: str) -> list[str]:
    """A CJK run as jieba's search-mode words, each followed by its characters when longer
    than one (unigrams let a one-character question word meet a longer memory word)."""
    out: list[str] = []
    for word in _segmenter().cut_for_search(run):
        word = word.strip()
        if not word or not CJK_RUN.fullmatch(word):
            continue
        out.append(word)
        if len(word) > 1:
            out.extend(word)
    return out


def index_words(text: str | None) -> str:
    """What ``memories_words`` indexes for a memory text (space-separated tokens)."""
    if not text:
        return ""
    parts: list[str] = []
    for token in _TOKEN.findall(text[:MAX_INDEX_CHARS]):
        if CJK_RUN.fullmatch(token):
            parts.extend(cjk_words(token))
        else:
            parts.append(token)
    return " ".join(parts)


def script_share(text: str) -> float:
    """Share of CJK characters among the letters of ``text`` (0: all Latin, 1: all CJK)."""
    cjk = sum(len(r) for r in CJK_RUN.findall(text))
    latin = sum(len(w) for w in _LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def query_terms(text: str) -> list[str]:
    """Search terms of a query: Latin words minus stopwords, CJK words minus function words
    (their characters too, so a question word like "狗叫" still meets "小狗")."""
    terms: list[str] = []
    for token in _TOKEN.findall(text):
        if CJK_RUN.fullmatch(token):
            for word in cjk_words(token):
                if word not in CJK_STOP and word not in terms:
                    terms.append(word)
        else:
            w = token.lower()
            # Numbers count at any length ("room 7"); one letter alone says nothing.
            if (len(w) >= 2 or w.isdigit()) and w not in STOPWORDS and w not in terms:
                terms.append(w)
    return terms[:MAX_TERMS]


def match_any(terms: Iterable[str]) -> str:
    """The keyword expression matching any of ``terms`` (index words, quoted as FTS5 wants)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def keyword_query(text: str) -> str:
    """FTS5 MATCH expression over ``memories_words`` for a query ("" when nothing to match)."""
    return match_any(query_terms(text))


_PENDING = "SELECT p.num, m.text FROM words_pending p JOIN memories m ON m.num = p.num"


def _reindex_statements(rows: Sequence[tuple[int, str]]) -> list[tuple[str, Sequence[Any]]]:
    nums = [(num,) for num, _ in rows]
    return [("DELETE FROM memories_words WHERE rowid = ?", n) for n in nums] + [
        ("INSERT INTO memories_words(rowid, words) VALUES (?, ?)", (num, index_words(text)))
        for num, text in rows
    ]


def index_pending_sync(conn: sqlite3.Connection) -> int:
    """Index the memories the triggers queued in ``words_pending`` (inside the caller's
    transaction); how many. Used by the migration and at start-up (raw SQLite writes)."""
    rows = conn.execute(_PENDING).fetchall()
    for sql, params in _reindex_statements(rows):
        conn.execute(sql, params)
    conn.execute("DELETE FROM words_pending")
    return len(rows)


async def index_pending(conn: Any) -> int:
    """The same on an aiosqlite connection, at the end of each of the store's write
    transactions, so a memory's words commit with it. Segmenting a large batch runs off the
    event loop (jieba: ~0.2 ms a text, 1.5 s to load)."""
    async with conn.execute(_PENDING) as cur:
        rows = await cur.fetchall()
    if not rows:
        return 0
    if len(rows) > 8 or _jieba is None:
        statements = await asyncio.to_thread(_reindex_statements, rows)
    else:
        statements = _reindex_statements(rows)
    for sql, params in statements:
        await conn.execute(sql, params)
    await conn.execute("DELETE FROM words_pending")
    return len(rows)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60,
                           weights: Sequence[float] | None = None) -> dict[int, float]:
    """Fused score per id: the sum over rankings of weight / (k + rank)."""
    scores: dict[int, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + w / (k + rank + 1)
    return scores
