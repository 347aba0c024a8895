"""bench/query_speed_bench.py runs both engines for real and prints its table."""

from __future__ import annotations

import re

from tests.support.bench import run_bench


def test_query_speed_bench_prints_both_engines_rates_and_closeness() -> None:
    out = run_bench("query_speed_bench.py", "--rounds", "1", "--passages", "12")
    for condition in ("idle", "documents"):
        for engine in ("before", "shipped"):
            m = re.search(rf"^{condition}\s+{engine}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M)
            assert m, out
            assert 0 < float(m.group(1)) <= float(m.group(2)) <= float(m.group(3))
    assert len(re.findall(r"^\s+ratio\s+[\d.]+\s+[\d.]+$", out, re.M)) == 2, out
    rates = re.findall(r"^  (before|shipped), .*?([\d.]+)/s$", out, re.M)
    assert [name for name, _ in rates] == ["before", "shipped", "shipped"], out
    assert all(float(rate) > 0 for _, rate in rates)
    m = re.search(r"queries min ([\d.]+) mean [\d.]+; passages min ([\d.]+) mean", out)
    assert m and float(m.group(1)) > 0.999 and float(m.group(2)) > 0.999, out
