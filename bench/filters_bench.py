#!/usr/bin/env python3
"""What each mem0 filter form costs: ``get_all`` and ``search`` latency on a real SQLite store.

N memories over U users (with metadata, categories and spread-out timestamps) are added through
``AsyncMemory.add(infer=False)``. Vectors come from a stand-in embedder (hashed bag of words,
normalised): this measures the filter and store paths, not embedding — say so in any figure you
quote. The baseline, measured in the same run, is a plain ``user_id`` (the per-user HNSW fast
path); every other form is printed with its ratio to it. Also printed: parse + SQLite render
time per filter (no database).

Usage::

    python bench/filters_bench.py --quick
    python bench/filters_bench.py --memories 5000 --users 20 --repeat 30
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from daemon.memory.filters import compile_filters  # noqa: E402
from daemon.memory.memory import AsyncMemory  # noqa: E402
from daemon.memory.store import SqliteStore  # noqa: E402

WORDS = ("tea coffee berlin paris cat dog marathon piano garden music book train rain "
         "sister brother 北京 上海 绿茶 猫 跑步").split()
SOURCES = ("chat", "test", "import")
CATS = ("food", "home", "health", "sport", "family")


class StandInEmbedder:
    """Hashed bag of words, 128 dims, L2-normalised: cheap and deterministic."""

    identity = "bench-hash:128"
    dim = 128
    search_threshold = 0.0
    duplicate_threshold = 0.999
    decision_margin = 2.0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in text.split():
            v[int(hashlib.md5(w.encode()).hexdigest()[:6], 16) % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim),
                                                                                 np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_documents(texts)

    def warm(self) -> None:
        """Nothing to load."""


def forms(ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("plain user_id (baseline)", {"user_id": "u0"}),
        ("user + metadata eq", {"user_id": "u0", "metadata": {"source": "test"}}),
        ("user + priority gt", {"user_id": "u0", "priority": {"gt": 5}}),
        ("user + created_at range", {"user_id": "u0", "created_at": {"gte": "2021-01-01",
                                                                     "lt": "2023-01-01"}}),
        ("user + keywords icontains", {"user_id": "u0", "keywords": {"icontains": "TEA"}}),
        ("user + categories in", {"user_id": "u0", "categories": {"in": ["food", "sport"]}}),
        ("user + NOT source", {"user_id": "u0", "NOT": {"source": "chat"}}),
        ("user_id in [2 users]", {"user_id": {"in": ["u0", "u1"]}}),
        ("OR over 2 users", {"OR": [{"user_id": "u0"}, {"user_id": "u1"}]}),
        ("all users + memory_ids(10)", {"user_id": "*", "memory_ids": ids[:10]}),
        ("all users (*)", {"user_id": "*"}),
    ]


async def populate(mem: AsyncMemory, n: int, users: int) -> list[str]:
    ids = []
    for i in range(n):
        text = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)) + f" #{i}"
        meta = {"source": SOURCES[i % 3], "priority": (i // users) % 10,
                "categories": [CATS[(i // users) % 5]]}
        ts = 1577836800 + (i * 86400 * 3) % (86400 * 365 * 5)  # 2020 .. 2025
        out = await mem.add(text, user_id=f"u{i % users}", metadata=meta, infer=False,
                            timestamp=ts)
        ids.append(out["results"][0]["id"])
    return ids


def p50(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mem = AsyncMemory(SqliteStore(Path(tmp) / "m.sqlite3"), StandInEmbedder(), None,
                     index_dir=Path(tmp) / "index")
        await mem.start(save_interval_s=0)
        try:
            t0 = time.perf_counter()
            ids = await populate(mem, args.memories, args.users)
            print(f"{args.memories} memories over {args.users} users added in "
                  f"{time.perf_counter() - t0:.1f} s (stand-in embedder: hashed words, not e5)")
            rows = []
            for name, f in forms(ids):
                parse_t, list_t, search_t = [], [], []
                n_list = n_search = 0
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    compile_filters(f, [])
                    parse_t.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    n_list = len((await mem.get_all(filters=f, limit=100))["results"])
                    list_t.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    n_search = len((await mem.search("tea berlin", filters=f, limit=10))["results"])
                    search_t.append(time.perf_counter() - t)
                rows.append((name, p50(parse_t), p50(list_t), p50(search_t), n_list, n_search))
        finally:
            await mem.close()
    base_list, base_search = rows[0][2], rows[0][3]
    print(f"\n{'filter':30} {'parse+render ms':>15} {'get_all ms':>10} {'x':>6} "
          f"{'search ms':>10} {'x':>6} {'rows':>5} {'hits':>5}")
    for name, pr, gl, se, nl, ns in rows:
        print(f"{name:30} {pr:15.3f} {gl:10.2f} {gl / base_list:6.1f} {se:10.2f} "
              f"{se / base_search:6.1f} {nl:5d} {ns:5d}")
    print(f"\np50 over {args.repeat} runs each; x = ratio to the plain user_id baseline "
          "(HNSW fast path); every other form searches exactly over the filtered rows.")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memories", type=int, default=3000)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="200 memories, 3 runs: a smoke test")
    a = ap.parse_args()
    if a.quick:
        a.memories, a.users, a.repeat = 200, 4, 3
    asyncio.run(main(a))
