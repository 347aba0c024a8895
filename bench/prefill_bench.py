#!/usr/bin/env python3
"""Time to first sentence in a conversation's later turns, with and without reading the next
turn's prompt opening ahead (``llm.llamacpp.prefill_next_turn``), in one run.

    .venv/bin/python bench/prefill_bench.py [--model NAME] [--rounds 2]

Each session (written for this bench: 3 in Chinese, 3 in English, 4 turns each) is one user
with a few stored facts on the real e5, talking to the default chat model at temperature 0
through ``TurnRunner``. Each session runs once per arm, the arms in ABBA order, on the same
loaded model. The first turn of a session is not counted (both arms read the same); after each
turn the bench waits for the read-ahead to finish, as a user speaking for a few seconds would.
Prints time to first sentence (turn start -> first ``sentence_start``) p50/p95 for turns 2-4
per arm, and whether the answers were the same (temperature 0: they should be).
"""

from __future__ import annotations

import argparse
import asyncio
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

# (facts stored for the user, what the user says turn by turn)
SESSIONS: list[tuple[list[str], list[str]]] = [
    (["住在成都", "女儿叫朵朵，六岁", "对花生过敏"],
     ["小智，早上好。", "我女儿叫什么名字？", "她今年几岁了？", "周末带她去哪里玩比较好？"]),
    (["在银行上班", "每天晚上跑步五公里", "喜欢喝乌龙茶"],
     ["今天好累啊。", "我平时喝什么茶？", "晚上我一般做什么运动？", "跑完步吃点什么好？"]),
    (["老家是山东烟台", "养了一只橘猫叫大黄", "不吃香菜"],
     ["你好呀。", "我的猫叫什么？", "我老家是哪里的？", "今晚做什么菜好？"]),
    (["Lives in Leeds", "Works as a bus driver", "Has a dog called Biscuit"],
     ["Morning!", "What's my dog called?", "Where do I live?", "What should I do this weekend?"]),
    (["Allergic to shellfish", "Vegetarian", "Plays the cello"],
     ["Hi there.", "What instrument do I play?", "Am I allergic to anything?",
      "What should I cook tonight?"]),
    (["Daughter Mia is eight", "Supports Celtic", "Grew up in Glasgow"],
     ["Hello.", "Which team do I support?", "Where did I grow up?", "How old is Mia?"]),
]


async def session(runner: TurnRunner, user: str, lines: list[str]) -> tuple[list[float], list[str]]:
    ctx = TurnContext(session_id=f"{user}-{id(runner)}", user_id=user)
    times: list[float] = []
    answers: list[str] = []

    async def nothing(_msg: Any) -> None:
        return None

    for i, line in enumerate(lines):
        result = await runner.run(ctx, line, nothing)
        answers.append(result.answer)
        if i and result.first_sentence_ms is not None:
            times.append(result.first_sentence_ms)
        await runner.read_ahead()  # the user is speaking: the read-ahead finishes
    return times, answers


async def run(args: argparse.Namespace) -> None:
    llm = chat_llm(args.model)
    print(machine_line(), flush=True)
    memory = await e5_memory("prefill-bench-")
    arms: dict[str, TurnRunner] = {}
    for name, on in (("read ahead", True), ("baseline", False)):
        cfg = Config()
        cfg.llm.temperature = 0.0
        cfg.llm.llamacpp.prefill_next_turn = on
        arms[name] = TurnRunner(cfg, llm, memory)
    for i, (facts, _) in enumerate(SESSIONS):
        await memory.add(facts, user_id=f"u{i}", infer=False)
    times: dict[str, list[float]] = {name: [] for name in arms}
    same = total = 0
    for r in range(args.rounds):
        for i, (_, lines) in enumerate(SESSIONS):
            order = list(arms) if (i + r) % 2 == 0 else list(reversed(arms))
            answers: dict[str, list[str]] = {}
            for name in order:
                got, answers[name] = await session(arms[name], f"u{i}", lines)
                times[name] += got
                print(f"round {r + 1} session {i + 1} {name:10} "
                      + " ".join(f"{t:6.0f}" for t in got), flush=True)
            same += sum(a == b for a, b in zip(*answers.values()))
            total += len(lines)
    print(f"\n{machine_line()}")
    print(f"{'turns 2-4':<12}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for name, values in times.items():
        print(f"{name:<12}{len(values):>4}{pct(values, 50):>9.0f}{pct(values, 95):>9.0f}"
              f"{statistics.mean(values):>9.0f}")
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
