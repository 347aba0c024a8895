"""A memory worker process on a PostgreSQL store, for multi-process tests.

``python -m tests.support.pg_worker DSN NAME --lease S --slow TEXT --log FILE`` runs a
``MemoryWorker`` until killed. Its model is scripted: each user line is one fact, always
ADDed; an extraction of a line containing ``--slow`` text takes an hour (so a test can
kill -9 the worker in the middle of that job). Every job start/end is appended to ``--log``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from daemon.llm.scripted import ScriptedLLM
from daemon.memory.memory import AsyncMemory
from daemon.memory.pg import PgStore
from daemon.memory.worker import MemoryWorker

DIM = 256


class WordEmbedder:
    """Hashed bag of words, normalised: deterministic and fast (the same in every process)."""

    search_threshold = 0.0
    duplicate_threshold = 0.999
    decision_margin = 2.0
    dim = DIM
    identity = "words:1"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in re.findall(r"\w+", text.casefold()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % DIM] += 1.0
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        return out

    embed_queries = embed_documents

    def warm(self) -> None:
        """Nothing to load."""


def responder(messages: Sequence[dict[str, str]], schema: dict[str, Any] | None) -> str:
    props = (schema or {}).get("properties", {})
    if "facts" in props:
        lines = [ln[6:] for ln in messages[-1]["content"].splitlines() if ln.startswith("user: ")]
        return json.dumps({"facts": lines}, ensure_ascii=False)
    if "same" in props:
        return json.dumps({"same": True})
    fact = messages[-1]["content"].rsplit("NEW FACT: ", 1)[-1]
    return json.dumps({"actions": [{"event": "ADD", "id": "", "text": fact}]})


class SlowLLM(ScriptedLLM):
    def __init__(self, slow: str | None, log: Path) -> None:
        super().__init__(responder)
        self.slow = slow
        self.log = log

    async def complete_json(self, messages: Any, schema: dict[str, Any], *, max_tokens: int,
                            timeout_s: float) -> str:
        last = messages[-1]["content"]
        if "facts" in schema.get("properties", {}):
            _note(self.log, "extract", last.rsplit("user: ", 1)[-1].strip())
            if self.slow and self.slow in last:
                await asyncio.sleep(3600)
            await asyncio.sleep(0.05)  # a model takes time: lets two workers interleave
        return self._reply(messages, schema)


def _note(log: Path, what: str, text: str) -> None:
    with log.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"t": time.time(), "what": what, "text": text},
                           ensure_ascii=False) + "\n")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dsn")
    ap.add_argument("name")
    ap.add_argument("--lease", type=float, default=2.0)
    ap.add_argument("--slow", default=None)
    ap.add_argument("--log", type=Path, required=True)
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()
    llm = SlowLLM(args.slow, args.log)
    memory = AsyncMemory(PgStore(args.dsn, dim=DIM, lease_s=args.lease), WordEmbedder(), llm,
                    index_dir=args.log.parent / f"index-{args.name}")
    await memory.start(save_interval_s=0)
    worker = MemoryWorker(memory, concurrency=args.concurrency, poll_s=0.05, backoff_s=0.1)
    await worker.start()
    _note(args.log, "ready", args.name)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await worker.stop()
    await memory.close()


if __name__ == "__main__":
    asyncio.run(main())
