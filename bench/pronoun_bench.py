"""Does the chat model speak to the user as "you" when it uses a memory?

    python bench/pronoun_bench.py [--model NAME]

Seen on the learning bench (2026-11-30, Qwen2.5-Coder-1.5B): asked "我对什么过敏？" with the
episode "我对芒果过敏" in its prompt, the model answered "我过敏于芒果。" - the user's words
repeated as its own. A rule in the system prompt ("talk to the user as you/你, never I/我")
changed none of 8 answers (tried first, same cases). For each case (a memory in the user's
words, a question about it) this asks the real default chat model with the memory line as the
prompt shows it now (``daemon.turn.prompt.memory_line``: "I" shifted to "you"), with and
without the shipped memory template's last line (``NOTE``), and as it was before (the words as
said, no note), in one run (temperature 0, same system prompt), and prints how many answers hold
the expected word, and how many say it in the first person without addressing the user (a
"slip"). The cases were written for this bench, not taken from the learning workload; the note
was chosen on them (the learning bench's chat answers are the check on other questions).

A fourth prompt shows each memory as learned (a fact with no subject, in the fact block), and
every answer is also scored as a turn speaks it: sentence by sentence through
``daemon.turn.perspective.said_back``, which was written from the learning bench's dev answers,
not from these cases.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_models import answer, chat_llm  # noqa: E402
from daemon.config import Config  # noqa: E402
from daemon.turn.perspective import said_back  # noqa: E402
from daemon.turn.prompt import (  # noqa: E402
    EPISODES_HEADER,
    build_messages,
    memories_block,
    memory_line,
)
from daemon.turn.sentences import SentenceSplitter  # noqa: E402

# (memory as the user said it, the question, a word the answer must hold, the memory as a fact
# the way extraction stores it: no subject)
CASES: list[tuple[str, str, str, str]] = [
    ("我对虾过敏，吃了会起疹子。", "我对什么过敏？", "虾", "对虾过敏"),
    ("我在一家医院当护士。", "我是做什么工作的？", "护士", "在医院当护士"),
    ("我老家是山东烟台的。", "我老家是哪里的？", "烟台", "老家是山东烟台"),
    ("我每周三晚上去游泳。", "我周三晚上一般干什么？", "游泳", "每周三晚上去游泳"),
    ("我最喜欢的歌手是周杰伦。", "我最喜欢哪个歌手？", "周杰伦", "最喜欢的歌手是周杰伦"),
    ("我养了一只橘猫，叫大黄。", "我的猫叫什么名字？", "大黄", "养了一只橘猫叫大黄"),
    ("我儿子在读初二。", "我儿子读几年级？", "初二", "儿子在读初二"),
    ("我不吃香菜。", "我有什么不吃的吗？", "香菜", "不吃香菜"),
    ("I'm allergic to shellfish.", "What am I allergic to?", "shellfish", "Allergic to shellfish"),
    ("I work as a bus driver in Leeds.", "What's my job?", "bus driver",
     "Works as a bus driver in Leeds"),
    ("My daughter Mia plays the violin.", "What does my daughter play?", "violin",
     "Daughter Mia plays the violin"),
    ("I grew up in Cork.", "Where did I grow up?", "Cork", "Grew up in Cork"),
]

_ZH_ME = re.compile("我(?!记得|知道|想|不确定|会|可以|建议|帮|们)")
_EN_ME = re.compile(r"\b(I|I'm|my|My)\b")


def slip(answer: str, zh: bool) -> bool:
    """The memory said back as the assistant's own: first person, the user not addressed."""
    if zh:
        return "你" not in answer and bool(_ZH_ME.search(answer))
    return not re.search(r"\byou(r)?\b", answer, re.IGNORECASE) and bool(_EN_ME.search(answer))


NOTE = 'Answer the user as "you" (你).'


def spoken(answer: str, question: str, lines: list[str]) -> str:
    """The answer as a turn speaks it: cut into sentences, each through ``said_back``."""
    splitter = SentenceSplitter()
    said = [said_back(s, question, lines) for s in splitter.feed(answer) + splitter.flush()]
    return (" " if question.isascii() else "").join(said)


def lines_for(said: str, fact: str, variant: str) -> list[str]:
    if variant == "old":
        return ["Earlier, the user said:", f"- [2026-11-20] {said}"]  # before: the words as said
    if variant == "facts":  # as learned: the fact block the prompt shows
        return memories_block([{"memory": fact, "created_at": "2026-11-20T10:00:00"}], [], 500)
    return [EPISODES_HEADER, memory_line({"memory": said, "created_at": "2026-11-20T10:00:00"})]


async def ask(llm: Any, system: str, memory_template: str, lines: list[str],
              question: str) -> str:
    messages = build_messages(system, lines, [], question, no_memories="(nothing yet)",
                              memory_template=memory_template)
    return await answer(llm, messages, 60, timeout_s=120)


async def run(args: argparse.Namespace) -> None:
    cfg = Config()
    llm = chat_llm(args.model)
    shipped = cfg.prompts.memory
    assert shipped.endswith("\n" + NOTE), "the shipped memory template no longer ends with NOTE"
    bare = shipped[: -len(NOTE) - 1]
    variants = {"note": shipped, "facts": shipped, "new": bare, "old": bare}
    score = {name: {"hold": 0, "slip": 0, "spoken": 0} for name in variants}
    for said, question, word, fact in CASES:
        zh = not question.isascii()
        for name, template in variants.items():
            lines = lines_for(said, fact, name)
            answer = await ask(llm, cfg.prompts.system, template, lines, question)
            as_spoken = spoken(answer, question, lines)
            held, slipped = word.casefold() in answer.casefold(), slip(answer, zh)
            score[name]["hold"] += held
            score[name]["slip"] += slipped
            score[name]["spoken"] += slip(as_spoken, zh)
            fixed = f" -> spoken {as_spoken[:50]!r}" if as_spoken != answer else ""
            print(f"{name:5} {'SLIP' if slipped else 'ok  '} {question} -> {answer[:60]!r}{fixed}",
                  flush=True)
    n = len(CASES)
    print(f"\n{'prompt':<38}{'holds the answer':>17}{'slips as generated':>20}"
          f"{'slips as spoken':>17}")
    for name, s in score.items():
        label = {"note": "shipped: episode, I -> you, + the note",
                 "facts": "shipped: the fact, + the note",
                 "new": "episode, I -> you only",
                 "old": "before: words as said (baseline)"}[name]
        print(f"{label:<38}{s['hold']:>12}/{n:<4}{s['slip']:>15}/{n:<4}{s['spoken']:>12}/{n}")
    await llm.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="chat model (default: the config's llm.model)")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
