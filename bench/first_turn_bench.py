#!/usr/bin/env python3
"""Time to first sentence of a session's first turn, with and without the user's newest facts
read while the user speaks (``memory.newest_facts``), in one run.

    .venv/bin/python bench/first_turn_bench.py [--model NAME] [--rounds 2]

Users written for this bench: six with 3-5 facts, two with 14 (noted over three days, a home
and a taste that changed), 3 in Chinese and 1 in English of each size. Each question opens a
new session: the device starts listening (``TurnRunner.prepare``), the user speaks (the bench
waits for the read-ahead), then the turn runs on the real default chat model at temperature 0
through ``TurnRunner``, memories found by the real e5. Before each question another user's turn
runs (untimed), as another device would, so no arm finds the same user's prompt in the model's
cache. The arms go in ABBA order. Prints time to first sentence (turn start -> first
``sentence_start``) p50/p95 per arm and fact count, and how many answers hold the expected
word and avoid the outdated or unsafe ones.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_models import chat_llm, e5_memory  # noqa: E402
from bench.speed_setup import machine_line, pct  # noqa: E402
from daemon.config import Config  # noqa: E402
from daemon.turn import TurnContext, TurnRunner  # noqa: E402

Ask = tuple[str, list[str], list[str]]  # question, one of these in the answer, none of these
# (facts with the day each was noted, questions)
USERS: list[tuple[list[tuple[str, str]], list[Ask]]] = [
    ([("住在苏州", "2026-10-02"), ("儿子叫乐乐，八岁", "2026-10-02"), ("对虾过敏", "2026-11-20")],
     [("我儿子叫什么？", ["乐乐"], []), ("晚饭吃点什么好？", [], ["虾"])]),
    ([("在中学教数学", "2026-09-12"), ("每天早上打太极拳", "2026-10-30"),
      ("喜欢听评弹", "2026-11-02"), ("血压有点高", "2026-11-25")],
     [("我是做什么工作的？", ["数学", "老师"], []), ("我早上一般做什么运动？", ["太极"], [])]),
    ([("老家在湖南长沙", "2026-08-01"), ("养了两只鹦鹉", "2026-09-09"), ("不吃辣", "2026-10-10"),
      ("女儿在北京读大学", "2026-11-11"), ("周末去爬山", "2026-11-28")],
     [("我老家是哪里？", ["长沙", "湖南"], []), ("我女儿在哪里上学？", ["北京"], [])]),
    ([("Lives in Bristol", "2026-10-01"), ("Works as a nurse", "2026-10-01"),
      ("Allergic to walnuts", "2026-11-15")],
     [("What do I do for work?", ["nurse"], []), ("What snack should I have?", [], ["walnut"])]),
    ([("Has a son called Ben", "2026-09-20"), ("Plays the trumpet", "2026-10-18"),
      ("Supports Arsenal", "2026-11-03"), ("Is vegan", "2026-11-27")],
     [("Which team do I support?", ["Arsenal"], []),
      ("What should I cook tonight?", [], ["chicken", "beef", "fish", "cheese", "egg"])]),
    ([("Grew up in Cork", "2026-08-15"), ("Drives a red van", "2026-09-01"),
      ("Learning Spanish", "2026-10-12"), ("Has two cats", "2026-11-20"),
      ("Runs on Sundays", "2026-11-29")],
     [("Where did I grow up?", ["Cork"], []), ("What language am I learning?", ["Spanish"], [])]),
    ([("名字叫王芳", "2026-06-01"), ("住在南京", "2026-06-01"), ("喜欢喝咖啡", "2026-06-01"),
      ("在银行上班", "2026-06-01"), ("儿子叫小宇", "2026-07-10"), ("儿子今年十岁", "2026-07-10"),
      ("对花生过敏", "2026-07-10"), ("养了一条狗叫旺财", "2026-08-20"), ("周末学钢琴", "2026-08-20"),
      ("丈夫是医生", "2026-08-20"), ("上个月搬到杭州了", "2026-11-28"), ("不喝咖啡了，改喝茶", "2026-11-28"),
      ("每天晚上散步", "2026-11-28"), ("最近在学做面包", "2026-11-28")],
     [("我现在住在哪里？", ["杭州"], ["南京"]), ("我的狗叫什么名字？", ["旺财"], []),
      ("我平时喝什么？", ["茶"], ["咖啡"]), ("推荐点零食给我。", [], ["花生"])]),
    ([("Name is Tom", "2026-06-01"), ("Lives in Leeds", "2026-06-01"), ("Loves jazz", "2026-06-01"),
      ("Works as a bus driver", "2026-06-01"), ("Has a dog named Max", "2026-07-10"),
      ("Daughter Mia plays the violin", "2026-07-10"), ("Vegetarian", "2026-07-10"),
      ("Wife is called Sarah", "2026-08-20"), ("Collects stamps", "2026-08-20"),
      ("Allergic to cats", "2026-08-20"), ("Moved to York last month", "2026-11-28"),
      ("Gone off jazz, listens to classical music now", "2026-11-28"),
      ("Started cycling to work", "2026-11-28"), ("Reading a book about Rome", "2026-11-28")],
     [("Which city do I live in now?", ["York"], ["Leeds"]), ("What is my dog called?", ["Max"], []),
      ("What music do I like?", ["classical"], []),
      ("Suggest a dinner for me tonight.", [], ["chicken", "beef", "pork", "fish", "meat"])]),
]
OTHER = [("住在广州", "2026-11-01"), ("喜欢踢足球", "2026-11-01"), ("Works at a bakery", "2026-11-02")]
OTHER_SAYS = ["今天天气怎么样？", "讲个笑话吧。", "What time is it in Tokyo?", "给我推荐一首歌。"]


_CLAUSE = re.compile(r"[^，。！？；,.!?;]+")
_WARNS = re.compile(r"不|别|没|避免|过敏|忌|\bnot?\b|n't|avoid|allerg|instead|without|free",
                    re.IGNORECASE)


def offers(answer: str, word: str) -> bool:
    """Whether ``answer`` names ``word`` other than in a warning ("你对虾过敏，所以不能吃虾" does
    not offer shrimp)."""
    return any(word.casefold() in c.casefold() and not _WARNS.search(c)
               for c in _CLAUSE.findall(answer))


async def nothing(_msg: Any) -> None:
    return None


async def first_turn(runner: TurnRunner, other: TurnRunner, user: str, question: str,
                     n: int) -> tuple[float, str]:
    await other.run(TurnContext(session_id=f"other-{n}", user_id="other"),
                    OTHER_SAYS[n % len(OTHER_SAYS)], nothing)
    await other.read_ahead()
    ctx = TurnContext(session_id=f"{user}-{n}", user_id=user)
    runner.prepare(ctx)  # the device starts listening
    await runner.read_ahead()  # ... and the user speaks for a few seconds
    result = await runner.run(ctx, question, nothing)
    await runner.read_ahead()
    return result.first_sentence_ms or float("nan"), result.answer


async def run(args: argparse.Namespace) -> None:
    llm = chat_llm(args.model)
    print(machine_line(), flush=True)
    memory = await e5_memory("first-turn-bench-")
    arms: dict[str, TurnRunner] = {}
    for name, newest in (("newest read ahead", 8), ("baseline", 0)):
        cfg = Config()
        cfg.llm.temperature = 0.0
        cfg.memory.newest_facts = newest
        arms[name] = TurnRunner(cfg, llm, memory)
    other = arms["baseline"]
    for text, day in OTHER:
        await memory.add(text, user_id="other", infer=False, timestamp=f"{day}T10:00:00")
    for i, (facts, _) in enumerate(USERS):
        for text, day in facts:
            await memory.add(text, user_id=f"u{i}", infer=False, timestamp=f"{day}T10:00:00")
    times: dict[tuple[str, str], list[float]] = {}
    good: dict[str, int] = {name: 0 for name in arms}
    same = total = n = 0
    for r in range(args.rounds):
        for i, (facts, asks) in enumerate(USERS):
            size = "3-5 facts" if len(facts) <= 5 else f"{len(facts)} facts"
            for question, want, avoid in asks:
                order = list(arms) if (n + r) % 2 == 0 else list(reversed(arms))
                answers: dict[str, str] = {}
                for name in order:
                    ms, answers[name] = await first_turn(arms[name], other, f"u{i}", question, n)
                    times.setdefault((name, size), []).append(ms)
                    folded = answers[name].casefold()
                    ok = (not want or any(w.casefold() in folded for w in want)) and not any(
                        offers(answers[name], w) for w in avoid)
                    good[name] += ok
                    print(f"round {r + 1} {name:18} {'ok  ' if ok else 'MISS'} {ms:6.0f} ms "
                          f"{question} -> {answers[name][:70]!r}", flush=True)
                n += 1
                same += answers[order[0]] == answers[order[1]]
                total += 1
    print(f"\n{machine_line()}")
    print(f"{'first turns':<32}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for name in arms:
        every: list[float] = []
        for (arm, size), values in sorted(times.items()):
            if arm == name:
                every += values
                print(f"{name + ', ' + size:<32}{len(values):>4}{pct(values, 50):>9.0f}"
                      f"{pct(values, 95):>9.0f}{statistics.mean(values):>9.0f}")
        print(f"{name + ', all':<32}{len(every):>4}{pct(every, 50):>9.0f}{pct(every, 95):>9.0f}"
              f"{statistics.mean(every):>9.0f}")
    for name in arms:
        print(f"answers right (expected word, nothing outdated or unsafe), {name}: "
              f"{good[name]}/{total}")
    print(f"answers the same in both arms: {same}/{total}")
    await memory.close()
    await llm.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="chat model (default: the config's llm.model)")
    ap.add_argument("--rounds", type=int, default=2)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
