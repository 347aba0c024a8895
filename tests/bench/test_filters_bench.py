"""bench/filters_bench.py runs on a real SQLite store and prints a row per filter form."""

from __future__ import annotations

import re

from tests.support.bench import run_bench


def test_filters_bench_prints_every_form_with_its_ratio() -> None:
    out = run_bench("filters_bench.py", "--quick")
    rows = re.findall(r"^(.{30}) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) +(\d+) +(\d+)$",
                      out, re.M)
    names = [r[0].strip() for r in rows]
    assert names[0] == "plain user_id (baseline)" and len(names) == 11, out
    assert float(rows[0][3]) == 1.0  # the baseline's own ratio
    counts = {name: (int(r[6]), int(r[7])) for name, r in zip(names, rows)}
    # 200 memories over 4 users: 50 each; the wildcard and two-user forms see more than one
    assert counts["plain user_id (baseline)"][0] == 50
    assert counts["user_id in [2 users]"][0] == counts["OR over 2 users"][0] == 100
    assert counts["all users + memory_ids(10)"][0] == 10
