"""Do a user's allergies and diets reach the turn when the question is about food?

    python bench/care_bench.py

Two users (15 Chinese facts, 11 English ones; each has an allergy and a diet among them) ask
questions about food and drink. For each, the turn's lookup (``AsyncMemory.recall``, real e5,
real SQLite, 8 facts) is checked for the allergy and the diet fact, with the standing facts
(``memory.standing``) and without them (the search alone, the baseline), in one run. ``dev``
questions are those the question patterns were written with; ``test`` ones were written after
and not tuned on.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_models import e5_memory  # noqa: E402

USERS = {
    "zh": (["名字叫王丽", "女儿朵朵六岁", "对花生过敏", "喜欢下象棋", "住在青岛", "开一辆白色的车",
            "在银行上班", "每天早上跑步", "老公是医生", "喜欢看电影", "周末常去爬山", "养了一只猫叫咪咪",
            "不吃香菜", "最近在学英语", "老家在山东"], ["对花生过敏", "不吃香菜"]),
    "en": (["Name is Tom", "Allergic to peanuts", "Vegetarian", "Lives in Leeds",
            "Works as a bus driver", "Has a dog named Max", "Plays tennis on Saturdays",
            "Daughter Mia plays the violin", "Likes jazz", "Drives a blue car", "Grew up in Cork"],
           ["Allergic to peanuts", "Vegetarian"]),
}
QUESTIONS = {
    "dev": [("zh", "推荐点零食"), ("zh", "今晚吃什么好？"), ("zh", "给我推荐一道菜"), ("zh", "我想吃点甜的"),
            ("zh", "帮我想想明天早饭吃什么"), ("en", "Suggest a snack for me"),
            ("en", "What should I cook tonight?"), ("en", "Any ideas for lunch?"),
            ("en", "Recommend a restaurant dish"), ("en", "I am hungry, what should I eat?")],
    "test": [("zh", "周末聚餐点什么菜"), ("zh", "有什么下午茶推荐"), ("zh", "晚饭做个什么汤"),
             ("zh", "早餐喝什么好"), ("zh", "孩子放学回来给她做点什么吃"),
             ("en", "What can I bring to the potluck?"),
             ("en", "Which cake should I bake for my birthday?"),
             ("en", "I need a quick dinner idea"), ("en", "Something sweet to snack on?"),
             ("en", "What pizza should I order?")],
}


async def run() -> None:
    memory = await e5_memory("care-")
    for user, (facts, _) in USERS.items():
        for text in facts:
            await memory.add(text, user_id=user, infer=False)
    print(f"{'split':<6}{'question':<44}{'search alone':>14}{'with standing':>15}")
    totals: dict[str, list[int]] = {}
    for split, questions in QUESTIONS.items():
        t = totals.setdefault(split, [0, 0, 0])
        for user, question in questions:
            care = USERS[user][1]
            found, _ = await memory.recall(question, user_id=user, facts=8, episodes=0)
            searched = (await memory.search(question, user_id=user, limit=8))["results"]
            with_standing = sum(c in [f["memory"] for f in found] for c in care)
            alone = sum(c in [r["memory"] for r in searched] for c in care)
            t[0] += alone
            t[1] += with_standing
            t[2] += len(care)
            print(f"{split:<6}{question:<44}{alone:>11}/{len(care)}{with_standing:>12}/{len(care)}")
    print("\nallergy and diet facts in the turn's lookup (8 facts):")
    for split, (alone, standing, n) in totals.items():
        print(f"  {split:<5} search alone (baseline) {alone}/{n}   with standing facts {standing}/{n}")
    await memory.close()


if __name__ == "__main__":
    asyncio.run(run())
