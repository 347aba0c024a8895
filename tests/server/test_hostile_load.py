"""A hostile client against a real server while 20 devices do turns (bench/hostile_bench.py,
short): no device fails, no lookup misses its fact, every hostile input gets its 4xx (or the
short spoken answer), nothing ends in a 500 or a traceback. Timings are printed by the bench,
not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_devices_keep_their_memories_while_a_client_attacks() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hostile_bench.py"), "--quiet-seconds", "5",
         "--attack-seconds", "15", "--lookup-timeout-ms", "5000", "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(r)
    for phase in ("quiet", "attack"):
        assert r[phase]["errors"] == [] and r[phase]["turns"] >= 20
        assert r[phase]["missed"] == 0  # every lookup found the device's fact
    assert r["lookups_over_timeout_logged"] == 0
    hostile = r["attack"]["hostile"]
    assert hostile.get("1 MB body: 413") and hostile.get("100k memory: 400")
    assert hostile.get("100k extraction: 400") and hostile.get("10k user id: 400")
    assert hostile.get("deep JSON: 400") and hostile.get("nested metadata: 400")
    assert hostile.get("2k memory: 200") and hostile.get("100k device text: short answer")
    assert not [k for k in hostile if k.endswith(": 500") or "other" in k], hostile
    assert r["server_errors_logged"] == 0 and r["server_exit_code"] == 0
    # Accepted inputs add memories; rejected ones must not leave memory behind.
    assert r["rss_kb_after"] < r["rss_kb_before"] * 1.25, r
