"""Does the chat model answer in the language the user spoke when the memories are in another?

    python bench/reply_language_bench.py [--model NAME] [--variants before,named,generic]

Seen in a new-user trial (2026-11-30, Qwen2.5-Coder-1.5B): a user whose memories were all
Chinese asked in English and was answered in Chinese, though the system prompt says "Answer in
the language the user speaks". For each case (memories in one language, a question in the
other, and same-language controls) this asks the real default chat model through the shipped
prompt (``daemon.turn.prompt.build_messages``, temperature 0), with the last system message as
it was (the memory template alone: ``before``, the baseline), and with one line more saying
which language to answer in (``named``: read from the question's script, what now ships,
``reply_language_line``; ``generic``: "the language of the user's last message"), in one
run, and prints how many answers are in the question's language and how many hold the
expected content. The cases were written for this bench.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_models import answer, chat_llm  # noqa: E402
from daemon.config import Config  # noqa: E402
from daemon.turn.prompt import build_messages, memory_line, reply_language_line  # noqa: E402

# (memories, question, words of which the answer must hold one)
CASES: list[tuple[list[str], str, list[str]]] = [
    # Chinese memories, English questions: the case seen.
    (["对虾过敏", "住在杭州", "女儿叫朵朵"], "What am I allergic to?", ["shrimp", "prawn"]),
    (["在一家医院当护士", "不吃香菜"], "What's my job?", ["nurse"]),
    (["女儿叫朵朵", "女儿今年六岁"], "How old is my daughter?", ["six", "6"]),
    (["养了一只橘猫，叫大黄", "住在成都"], "What is my cat called?", ["大黄", "Dahuang", "Da Huang"]),
    (["每周三晚上去游泳", "在学钢琴"], "What do I do on Wednesday evenings?", ["swim"]),
    (["老家是山东烟台的", "在上海工作"], "Where is my hometown?", ["Yantai", "烟台"]),
    (["最喜欢的歌手是周杰伦"], "Who is my favourite singer?", ["Jay Chou", "周杰伦"]),
    (["不吃辣", "喜欢喝普洱茶"], "Can you suggest a drink for me?", ["pu", "tea"]),
    # English memories, Chinese questions.
    (["Allergic to shellfish", "Lives in Leeds"], "我对什么过敏？", ["贝", "海鲜", "shellfish"]),
    (["Works as a bus driver", "Has a dog named Max"], "我是做什么工作的？", ["司机", "bus"]),
    (["Daughter Mia plays the violin"], "我女儿会什么乐器？", ["小提琴", "violin"]),
    (["Grew up in Cork", "Moved to Dublin in 2020"], "我在哪里长大的？", ["科克", "Cork"]),
    # Same language (controls).
    (["对芒果过敏"], "我对什么过敏？", ["芒果"]),
    (["女儿在读初二"], "我女儿读几年级？", ["初二"]),
    (["Allergic to peanuts"], "What am I allergic to?", ["peanut"]),
    (["Plays tennis on Saturdays"], "What do I do on Saturdays?", ["tennis"]),
]

GENERIC = "Answer in the language of the user's last message."


def is_chinese(text: str) -> bool:
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return han > latin / 4


async def ask(llm: Any, cfg: Config, memories: list[str], question: str, extra: str) -> str:
    lines = [memory_line({"memory": m, "created_at": "2026-11-20T10:00:00"}) for m in memories]
    template = cfg.prompts.memory + (f"\n{extra}" if extra else "")
    messages = build_messages(cfg.prompts.system, lines, [], question,
                              no_memories=cfg.prompts.no_memories, memory_template=template,
                              reply_language=False)
    return await answer(llm, messages, 60, timeout_s=120)


async def run(args: argparse.Namespace) -> None:
    cfg = Config()
    llm = chat_llm(args.model)
    variants = [v for v in args.variants.split(",") if v]
    score = {v: {"lang": 0, "held": 0, "cross_lang": 0} for v in variants}
    cross = sum(1 for mems, q, _ in CASES if is_chinese(q) != is_chinese("".join(mems)))
    for memories, question, words in CASES:
        zh = is_chinese(question)
        crossed = zh != is_chinese("".join(memories))
        for v in variants:
            extra = {"before": "", "named": reply_language_line(question),
                     "generic": GENERIC}[v]
            answer = await ask(llm, cfg, memories, question, extra)
            right_lang = is_chinese(answer) == zh
            held = any(w.casefold() in answer.casefold() for w in words)
            score[v]["lang"] += right_lang
            score[v]["cross_lang"] += right_lang and crossed
            score[v]["held"] += held
            print(f"{v:8} {'ok  ' if right_lang else 'LANG'} {'ok  ' if held else 'MISS'} "
                  f"{question} -> {answer[:80]!r}", flush=True)
    n = len(CASES)
    print(f"\n{'last system message':<44}{'in the question language':>26}"
          f"{'of them crossed':>17}{'holds the answer':>18}")
    labels = {"before": "before: memory template only (baseline)",
              "named": "shipped: + the language named (script)",
              "generic": "+ 'the language of the user's last message'"}
    for v, s in score.items():
        print(f"{labels[v]:<44}{s['lang']:>21}/{n:<4}{s['cross_lang']:>12}/{cross:<4}"
              f"{s['held']:>13}/{n}")
    await llm.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="chat model (default: the config's llm.model)")
    ap.add_argument("--variants", default="before,named,generic")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
