"""bench/embed_contention_bench.py runs on the real embedder and prints its table."""

from __future__ import annotations

import re

from tests.support.bench import run_bench


def test_contention_bench_prints_all_three_conditions_and_the_ratio() -> None:
    out = run_bench("embed_contention_bench.py", "--queries", "4", "--batch", "3")
    for row in ("idle", "plain lock, background adds", "query-first gate, background adds"):
        m = re.search(rf"^{re.escape(row)}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
        assert m, out
        assert 0 < float(m.group(1)) <= float(m.group(2)) <= float(m.group(3))
    assert re.search(r"ratio gate / plain lock: p50 [\d.]+x, p95 [\d.]+x", out), out
