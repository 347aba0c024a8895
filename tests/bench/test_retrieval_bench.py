"""bench/retrieval_bench.py --quick on the real embedder and SQLite: the tables are printed;
the data generator is deterministic and its questions point at real turns."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def test_generated_sets_match_the_generator_and_point_at_real_turns() -> None:
    from make_retrieval_data import build

    built = build()
    for split in ("dev", "test"):
        stored = json.loads((ROOT / "bench" / "data" / f"retrieval_{split}.json").read_text())
        assert stored == json.loads(json.dumps(built[split], ensure_ascii=False))
    dev = built["dev"]["conversations"]
    assert sum(len(c["questions"]) for c in dev) >= 600
    assert sum(len(c["questions"]) for s in built.values() for c in s["conversations"]) >= 1000
    for conv in dev:
        turns = {t["id"]: t for t in conv["turns"]}
        assert len(turns) >= 400
        for q in conv["questions"]:
            assert q["type"] in ("single-hop", "multi-hop", "temporal", "open-domain")
            assert q["evidence"] and all(turns[e]["speaker"] == "user" for e in q["evidence"])
            if q["type"] == "multi-hop":
                assert len(q["evidence"]) == 2


def test_quick_run_prints_hits_latency_and_ingestion() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "retrieval_bench.py"), "--quick", "--no-baseline"],
        capture_output=True, text=True, timeout=900, check=True,
    ).stdout
    for method in ("shipped", "vectors", "keywords"):
        row = re.search(rf"^{method}\s+((?:[\d.]+/[\d.]+\s+){{7}})$", out, re.M)
        assert row, out
    assert re.search(r"^one add per session \(list of messages\)\s+[\d.]+", out, re.M), out
    assert re.search(r"^memory import \(export of the same turns\)\s+[\d.]+", out, re.M), out
    assert re.search(r"^\s+1000\s+\d+\s+[\d.]+\s+[\d.]+", out, re.M), out
