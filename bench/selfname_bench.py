"""Questions that name the user: searched with the name taken out, and as asked (baseline).

    python bench/selfname_bench.py

One user's 11 facts (English and Chinese, real e5, real SQLite, ``infer=False``), among them
the user's name facts ("Name is Anna", "名字叫王磊"). Each question names the user; the bench
prints the top result with ``memory/selfname.py`` (the name taken out of the query) and without
it (``HybridSearch.self_names = None``), in one run, and counts questions whose top result
holds the expected answer. The questions were written with the module.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_models import e5_memory  # noqa: E402

FACTS = ["Name is Anna", "Works as a nurse at a children's hospital", "Vegetarian",
         "Lives in Berlin", "Dog's name is Biscuit", "Planning a trip to Japan in April",
         "名字叫王磊", "是一名厨师", "不吃辣", "住在杭州", "女儿叫朵朵"]
# (question, a word the top result must hold)
QUESTIONS = [
    ("What is Anna's job?", "nurse"), ("Where does Anna work?", "nurse"),
    ("What diet does Anna follow?", "Vegetarian"), ("Which city does Anna live in?", "Berlin"),
    ("What is the name of Anna's dog?", "Biscuit"), ("When is Anna going to Japan?", "Japan"),
    ("王磊现在做什么工作？", "厨师"), ("王磊能吃辣吗？", "辣"), ("王磊住在哪里？", "杭州"),
    ("王磊的女儿叫什么名字？", "朵朵"),
]


async def run() -> None:
    memory = await e5_memory("selfname-")
    for text in FACTS:
        await memory.add(text, user_id="u1", infer=False)
    names = memory.searcher.self_names
    rows = []
    for question, word in QUESTIONS:
        tops = []
        for on in (True, False):
            memory.searcher.self_names = names if on else None
            found = (await memory.search(question, user_id="u1", limit=3))["results"]
            tops.append(found[0]["memory"] if found else "")
        rows.append((question, word, *tops))
    print(f"{'question':<34}{'name taken out':<42}{'as asked (baseline)':<40}")
    for question, _, with_names, asked in rows:
        print(f"{question:<34}{with_names:<42}{asked:<40}")
    n = len(rows)
    hit_on = sum(w in a for _, w, a, _ in rows)
    hit_off = sum(w in b for _, w, _, b in rows)
    print(f"\ntop result holds the answer: name taken out {hit_on}/{n}, as asked {hit_off}/{n}")
    await memory.close()


if __name__ == "__main__":
    asyncio.run(run())
