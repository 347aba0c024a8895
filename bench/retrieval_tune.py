#!/usr/bin/env python3
"""Offline fusion tuning on the dev split's candidate lists (no model, seconds).

``retrieval_bench.py --split dev --variants --out X.json`` writes ``X.cands.json``: for every
dev question both sides' top 40 (turn ids, dates). This grid-searches ``ranking.Fusion`` over
them with the shipped ``ranking.fuse`` and prints hit@10 per language and type, best first.
Tune here on dev only; the test split is reported by retrieval_bench.py with the shipped
defaults. (The shipped search also drops vector-only hits under the embedder's threshold and
demotes near-duplicates: bench/retrieval_context.py scores those.)

Usage: python bench/retrieval_tune.py /tmp/dev.cands.json [--top 15]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.memory.ranking import Fusion, fuse


def score(cands: list[dict], params: Fusion, k: int = 10) -> dict[str, float]:
    tally: dict[str, list[int]] = {}
    for c in cands:
        order = fuse(c["vec"], c["kw"], c["q"], c["created"], params)[:k]
        hit = int(any(t in c["gold"] for t in order))
        for key in ("all", c["lang"], c["type"]):
            tally.setdefault(key, []).append(hit)
    return {key: 100.0 * sum(v) / len(v) for key, v in tally.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("cands", type=Path)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    cands = json.loads(args.cands.read_text(encoding="utf-8"))
    grid = itertools.product((1, 3, 5, 10, 20, 60), (0.25, 0.4, 0.5, 0.7, 1.0, 1.5),
                             (0.25, 0.4, 0.5, 0.7, 1.0), (0.0, 0.01, 0.03))
    results = []
    for k, wl, wc, rec in grid:
        p = Fusion(k=k, keyword_weight=wl, keyword_weight_cjk=wc, recency=rec)
        results.append((score(cands, p), p))
    results.sort(key=lambda r: -r[0]["all"])
    keys = ["all", "en", "zh", "single-hop", "multi-hop", "temporal", "open-domain"]
    print(f"{len(cands)} dev questions; hit@10 (%)")
    print(f"{'k':>3} {'w_lat':>6} {'w_cjk':>6} {'rec':>5} " + " ".join(f"{x:>11}" for x in keys))
    default = (score(cands, Fusion()), Fusion())
    for s, p in [*results[:args.top], default]:
        print(f"{p.k:>3} {p.keyword_weight:>6} {p.keyword_weight_cjk:>6} {p.recency:>5} "
              + " ".join(f"{s.get(x, 0):>11.1f}" for x in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
