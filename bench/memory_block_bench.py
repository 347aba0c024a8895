"""The memory block's dates: one per line, or one per day above its memories?

    python bench/memory_block_bench.py [--model NAME] [--rounds 1]

Each fact line carried its date ("- [2026-11-30] 你住成都"), ~12 of its ~18 tokens to Qwen's
tokenizer (a token a digit), and every token of the memory block is read before the model can
say a word. Two users (Chinese, English), each with 10 facts noted over three days, three
pairs of which disagree (home, job, a taste: old and new both still shown), ask 6 questions
each through the shipped prompt (``build_messages``, temperature 0, the real default chat
model); the memory block is built three ways (``memories_block(dates=...)``: one date per
day above its memories, month-day on every line, the full date on every line) and asked in
one run. Printed: the memory message's tokens (the model's tokenizer), time to the first
token, and how many answers hold the expected word and avoid the outdated one. Cases written
for this bench.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from daemon.config import Config  # noqa: E402
from daemon.turn.prompt import build_messages, memories_block  # noqa: E402

USERS: dict[str, list[tuple[str, str]]] = {
    "zh": [("名字叫李娜", "2026-09-02"), ("住在杭州", "2026-09-02"), ("对花生过敏", "2026-09-02"),
           ("喜欢喝咖啡", "2026-09-02"), ("女儿叫小雨", "2026-10-15"), ("女儿今年五岁", "2026-10-15"),
           ("在医院当护士", "2026-10-15"), ("上个月搬到成都了", "2026-11-28"),
           ("不喝咖啡了，改喝茶", "2026-11-28"), ("辞职了，现在开网店", "2026-11-28")],
    "en": [("Name is Tom", "2026-09-02"), ("Lives in Leeds", "2026-09-02"),
           ("Vegetarian", "2026-09-02"), ("Loves jazz", "2026-09-02"),
           ("Has a dog named Max", "2026-10-15"), ("Works as a bus driver", "2026-10-15"),
           ("Daughter Mia plays the violin", "2026-10-15"), ("Moved to York last month", "2026-11-28"),
           ("Gone off jazz, listens to classical music now", "2026-11-28"),
           ("Now drives trains instead of buses", "2026-11-28")],
}
# (user, question, words of which the answer must hold one, words it must not hold)
QUESTIONS: list[tuple[str, str, list[str], list[str]]] = [
    ("zh", "我现在住在哪个城市？", ["成都"], ["杭州"]),
    ("zh", "我平时喜欢喝什么？", ["茶"], ["咖啡"]),
    ("zh", "我现在做什么工作？", ["网店"], ["护士"]),
    ("zh", "我叫什么名字？", ["李娜"], []),
    ("zh", "我女儿多大了？", ["五", "5"], []),
    ("zh", "推荐点零食给我", [], ["花生"]),
    ("en", "Which city do I live in now?", ["York"], ["Leeds"]),
    ("en", "What music do I like?", ["classical"], ["jazz"]),
    ("en", "What's my job?", ["train"], ["bus"]),
    ("en", "What is my dog called?", ["Max"], []),
    ("en", "What instrument does my daughter play?", ["violin"], []),
    ("en", "Suggest a dinner for me tonight", [], ["chicken", "beef", "pork", "meat"]),
]


def facts_of(user: str) -> list[dict[str, Any]]:
    return [{"memory": text, "created_at": f"{day}T10:00:00"} for text, day in USERS[user]]


async def ask(llm: Any, cfg: Config, lines: list[str], question: str) -> tuple[str, float]:
    messages = build_messages(cfg.prompts.system, lines, [], question,
                              no_memories=cfg.prompts.no_memories,
                              memory_template=cfg.prompts.memory)
    t0 = time.perf_counter()
    first = None
    parts = []
    async for p in llm.stream_chat(messages, max_tokens=60, temperature=0.0, timeout_s=180):
        if first is None and p.strip():
            first = time.perf_counter() - t0
        parts.append(p)
    return "".join(parts).strip(), (first or time.perf_counter() - t0) * 1000


async def run(args: argparse.Namespace) -> None:
    from daemon.llm.llamacpp import LlamaCppLLM
    from daemon.modelfiles import resolve_gguf

    cfg = Config()
    gguf = resolve_gguf(args.model or cfg.llm.model, ROOT / "models")
    llm = LlamaCppLLM(gguf, n_ctx=2048, n_threads=1, n_threads_batch=2)
    from llama_cpp import Llama

    vocab = Llama(str(gguf), vocab_only=True, verbose=False)

    def tokens(lines: list[str]) -> int:
        text = cfg.prompts.memory.replace("{memories}", "\n".join(lines))
        return len(vocab.tokenize(text.encode(), add_bos=False))

    variants = {"day": "day", "short": "short", "line": "line"}
    got: dict[str, dict[str, list[float]]] = {
        v: {"held": [], "clean": [], "ms": [], "tokens": []} for v in variants}
    budget = cfg.memory.token_budget
    for r in range(args.rounds):
        for user, question, want, avoid in QUESTIONS:
            # The same order for every question: no variant follows itself, so no memory block
            # is still in the model's cache from the question before (each round reverses it).
            for v in (list(variants) if r % 2 == 0 else list(variants)[::-1]):
                lines = memories_block(facts_of(user), [], budget, dates=variants[v],
                                       today=date(2026, 11, 30))
                answer, ms = await ask(llm, cfg, lines, question)
                held = not want or any(w.casefold() in answer.casefold() for w in want)
                clean = not any(w.casefold() in answer.casefold() for w in avoid)
                g = got[v]
                g["held"].append(held)
                g["clean"].append(clean)
                g["ms"].append(ms)
                g["tokens"].append(tokens(lines))
                print(f"{v:8} {'ok  ' if held and clean else 'MISS'} {ms:6.0f} ms "
                      f"{question} -> {answer[:70]!r}", flush=True)
    print(f"\n{'memory block':<34}{'tokens':>8}{'first token p50':>17}{'holds':>8}"
          f"{'avoids outdated/unsafe':>24}")
    for v, g in got.items():
        label = {"day": "one date per day", "short": "month-day on every line",
                 "line": "a date on every line (baseline)"}[v]
        n = len(g["held"])
        print(f"{label:<34}{statistics.mean(g['tokens']):>8.0f}"
              f"{statistics.median(g['ms']):>14.0f} ms{sum(g['held']):>5}/{n}"
              f"{sum(g['clean']):>20}/{n}")
    await llm.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="chat model (default: the config's llm.model)")
    ap.add_argument("--rounds", type=int, default=1)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
