"""Facts a reply must not go against (allergies, diets, health), brought to every turn that
asks about food, drink or a suggestion, whether or not the question matches them.

The system prompt tells the model never to suggest what goes against an allergy or a diet,
which it can only do when the fact is in front of it. Asked "今晚吃什么好？" or "I am hungry,
what should I eat?", a user with 12-15 facts got eight relevant ones from the search and
not "对花生过敏" / "Allergic to peanuts" (4 of 10 food questions, real e5): nothing in the
question resembles the allergy. A family member's allergy counts too ("女儿对芒果过敏").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from daemon.memory.keywords import match_any
from daemon.memory.store import FACT, MemoryRow, MemoryStore, Scope

STANDING_FACTS = 3
# Questions that ask for food, drink or advice (the reply may name something to eat).
_ASKS_EN = re.compile(
    r"\b(?:eat|eating|food|snacks?|cook|cooking|recipes?|dinner|lunch|breakfast|meals?|hungry|"
    r"drinks?|restaurants?|dish|dishes|menu|bake|baking|dessert|treat|suggest|recommend|"
    r"ideas?|medicines?|medications?|pills?|tablets?|antibiotics?|painkillers?|prescriptions?|"
    r"doses?|order|takeaway|party)\b", re.IGNORECASE)
_ASKS_ZH = re.compile(
    r"吃|喝|饭|菜|零食|点心|甜品|饿|餐|食|推荐|建议|药|西林|霉素|饮料|奶茶|咖啡|茶|酒|水果|外卖|下厨|煮|炒|烤|聚会")
# What a fact must say to stand (checked on the text: the keyword terms only find candidates).
_CARE = re.compile(
    r"过敏|素食|吃素|忌口|糖尿病|高血压|清真|乳糖|痛风|怀孕|不吃|不能吃|不喝|不能喝|戒酒|戒糖|"
    r"allerg|vegetarian|vegan|halal|kosher|gluten|lactose|diabet|intoleran|pregnan|coeliac|celiac|"
    r"\b(?:don't|doesn't|does not|do not|never|can't|cannot) (?:eat|drink)", re.IGNORECASE)
# Words of the keyword index that find such facts (index_words: jieba words, porter stems).
CARE_TERMS = ("过敏", "素食", "吃素", "忌口", "糖尿病", "高血压", "清真", "乳糖", "痛风", "怀孕", "不吃",
              "不能", "不喝", "戒酒", "allergic", "allergy", "allergies", "vegetarian", "vegan",
              "halal", "kosher", "gluten", "lactose", "diabetes", "diabetic", "intolerant",
              "pregnant", "coeliac", "celiac", "eat", "drink")
_CANDIDATES = 50


def asks_for_care(query: str) -> bool:
    """Whether a question may be answered with something to eat, drink or take."""
    return bool(_ASKS_EN.search(query) or _ASKS_ZH.search(query))


def is_care_fact(text: str) -> bool:
    return _CARE.search(text) is not None


async def facts_with_words(store: MemoryStore, user_id: str, words: Iterable[str],
                           n: int) -> list[MemoryRow]:
    """The user's live facts holding any of ``words`` (index words), at most ``n``, best
    keyword match first: candidates for a check on the text (here, and ``selfname``)."""
    scope = Scope(user_id, None, None, FACT)
    nums = await store.keyword_search(match_any(words), scope, n)
    rows = await store.filter_nums(nums, scope, None) if nums else {}
    return [rows[num] for num in nums if num in rows]


async def care_facts(store: MemoryStore, user_id: str, n: int = STANDING_FACTS
                     ) -> list[MemoryRow]:
    """The user's newest live facts about allergies, diets and health (at most ``n``)."""
    found = [r for r in await facts_with_words(store, user_id, CARE_TERMS, _CANDIDATES)
             if is_care_fact(r.text)]
    return sorted(found, key=lambda r: r.num, reverse=True)[:n]
