"""An answer sentence that offers what the user's allergy or diet forbids is not spoken.

The system prompt asks the chat model never to suggest anything against an allergy or a diet,
and ``memory.standing`` puts those facts in every food question's prompt, yet Qwen2.5-1.5B
offered 烤鸭 to a user whose memories say "吃素" and "对花生过敏" in 9 of 12 dev answers
(bench/food_safety_bench.py). This is the last check: each sentence, before it is spoken, is
read against the foods each such fact forbids (its own words, "对芒果过敏" -> 芒果, and the
common foods of a class, 海鲜 -> 虾, 蟹…; vegetarian -> meat). A sentence that names one outside
a warning ("别吃花生", "peanut-free") gives way to one sentence saying what the user's memory
says; later such sentences are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.memory.standing import asks_for_care
from daemon.text import han_count

_ZH_MEAT = ("肉", "鸡翅", "鸡腿", "鸡丁", "鸡块", "鸡汤", "炸鸡", "烤鸡", "白切鸡", "鸭", "鹅", "鱼", "虾",
            "蟹", "牛排", "牛腩", "猪", "羊排", "排骨", "火腿", "培根", "香肠", "腊肠", "海鲜", "鱿鱼")
_EN_MEAT = ("meat", "chicken", "beef", "pork", "bacon", "ham", "turkey", "lamb", "steak",
            "sausage", "salami", "pepperoni", "fish", "salmon", "tuna", "cod", "shrimp", "prawn",
            "crab", "lobster", "anchovy", "anchovies", "duck", "veal", "mince")
_ZH_SEAFOOD = ("海鲜", "虾", "蟹", "贝", "蛤", "蚝", "鱿鱼", "章鱼", "鱼", "海参", "龙虾")
_EN_SHELLFISH = ("shellfish", "shrimp", "prawn", "crab", "lobster", "mussel", "oyster", "clam",
                 "scallop", "crayfish")
_EN_FISH = ("fish", "salmon", "tuna", "cod", "sushi", "sardine", "mackerel", "anchovy",
            "anchovies", "trout")
_ZH_DAIRY = ("牛奶", "奶酪", "芝士", "酸奶", "奶茶", "冰淇淋", "黄油", "奶油", "拿铁")
_EN_DAIRY = ("milk", "cheese", "yogurt", "yoghurt", "butter", "cream", "latte", "custard")
_EN_NUTS = ("nut", "walnut", "almond", "cashew", "pecan", "hazelnut", "pistachio", "macadamia")
_ZH_NUTS = ("坚果", "核桃", "杏仁", "腰果", "榛子", "开心果", "碧根果", "夏威夷果")
_EN_GLUTEN = ("bread", "pasta", "noodle", "pizza", "cake", "cookie", "biscuit", "wheat",
              "toast", "sandwich", "croissant", "bagel", "muffin", "pancake", "cereal", "wrap",
              "couscous", "beer")
_ZH_GLUTEN = ("面包", "面条", "馒头", "饺子", "包子", "蛋糕", "饼干", "披萨")
_ZH_SWEET = ("甜品", "蛋糕", "奶茶", "冰淇淋", "巧克力", "糖", "甜点", "可乐")
_EN_SWEET = ("dessert", "cake", "candy", "chocolate", "ice cream", "soda", "sugar", "cookie")
_ZH_ALCOHOL = ("酒",)
_EN_ALCOHOL = ("beer", "wine", "whisky", "whiskey", "vodka", "cocktail", "cider", "rum", "gin")

# Medicines of a class an allergy names: a penicillin allergy forbids amoxicillin, which the
# 1.5B offered ("Yes, you can take amoxicillin") with "Allergic to penicillin" in its prompt.
_MEDICINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("penicillin", ("penicillin", "amoxicillin", "ampicillin", "augmentin", "co-amoxiclav",
                    "flucloxacillin", "piperacillin", "amoxil")),
    ("青霉素", ("青霉素", "阿莫西林", "氨苄西林", "阿莫仙", "哌拉西林", "氟氯西林")),
    ("sulfa", ("sulfa", "sulfamethoxazole", "bactrim", "septra")),
    ("磺胺", ("磺胺", "复方新诺明")),
)
_DRUGS = frozenset(w for _, words in _MEDICINES for w in words)
# What a class named in a fact forbids, beyond its own name.
_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    *_MEDICINES,
    ("花生", ("花生", "宫保")), ("peanut", ("peanut", "satay")),
    ("坚果", _ZH_NUTS), ("nut", _EN_NUTS),
    ("海鲜", _ZH_SEAFOOD), ("seafood", _EN_SHELLFISH + _EN_FISH),
    ("shellfish", _EN_SHELLFISH), ("fish", _EN_FISH),
    ("乳糖", _ZH_DAIRY), ("牛奶", _ZH_DAIRY), ("lactose", _EN_DAIRY), ("dairy", _EN_DAIRY),
    ("milk", _EN_DAIRY), ("鸡蛋", ("鸡蛋", "蛋糕", "炒蛋", "蛋挞")), ("egg", ("egg", "omelette",
                                                                      "mayonnaise", "quiche")),
    ("猪", ("猪", "培根", "火腿", "香肠", "腊肠", "叉烧", "红烧肉", "回锅肉", "东坡肉")),
    ("pork", ("pork", "bacon", "ham", "sausage", "pepperoni", "salami", "chorizo", "prosciutto")),
    ("麸质", _ZH_GLUTEN), ("小麦", _ZH_GLUTEN), ("gluten", _EN_GLUTEN), ("coeliac", _EN_GLUTEN),
    ("celiac", _EN_GLUTEN), ("wheat", _EN_GLUTEN),
)
# Facts that forbid a whole diet's worth, found by their words.
_DIETS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile("吃素|素食|不吃肉"), _ZH_MEAT), (re.compile(r"vegetarian|don't eat meat|"
                                               r"doesn't eat meat", re.I), _EN_MEAT),
    (re.compile(r"vegan", re.I), _EN_MEAT + _EN_DAIRY + ("egg", "honey")),
    (re.compile("糖尿病|戒糖|控糖"), _ZH_SWEET), (re.compile(r"diabet", re.I), _EN_SWEET),
    (re.compile("戒酒|不喝酒|不能喝酒"), _ZH_ALCOHOL),
    (re.compile(r"(?:don't|doesn't|does not|do not|never|can't|cannot) drink(?: alcohol)?\b|"
                r"sober|teetotal", re.I), _EN_ALCOHOL),
    (re.compile("清真"), ("猪", "培根", "火腿", "酒")), (re.compile(r"halal", re.I),
                                                  ("pork", "bacon", "ham", "wine", "beer")),
    (re.compile("不吃辣|不能吃辣"), ("辣",)),
    (re.compile("麸质|乳糜泻"), _ZH_GLUTEN), (re.compile(r"coeliac|celiac|gluten", re.I), _EN_GLUTEN),
    (re.compile("乳糖不耐"), _ZH_DAIRY), (re.compile(r"lactose|dairy", re.I), _EN_DAIRY),
)
# The thing itself: "对芒果过敏" -> 芒果, "Allergic to kiwi" -> kiwi, "不吃香菜" -> 香菜.
_NAMED = (re.compile("对(.{1,8}?)过敏"), re.compile("(?:不吃|不能吃|不喝|不能喝|忌口)(.{1,6}?)(?:[，,。]|$)"),
          re.compile(r"allergic to ([a-z][a-z -]{1,30}?)(?:[,.;]| and |$)", re.I),
          re.compile(r"(?:don't|doesn't|does not|do not|never|can't|cannot) (?:eat|drink) "
                     r"([a-z][a-z -]{1,30}?)(?:[,.;]| and |$)", re.I))
# A clause that names a food to leave it out ("别吃花生", "peanut-free") or a stand-in ("素鸡").
_WARNING = re.compile(
    r"不|别|没|避|远离|小心|注意|慎|过敏|忌|无|免|除了|代替|替代|素[鸡肉食菜]|吃素|"
    r"\b(?:no|not|never|without|avoid|avoiding|allergic|allergy|instead|except|skip|free|stay away|careful|"
    r"veggie|vegetarian|vegan|plant-based|meatless|tofu)\b|n't\b|-free\b", re.IGNORECASE)
# Items of a list are clauses of their own ("素炒蛋、清蒸鱼": the first is no warning for the next).
_CLAUSE = re.compile(r"[^，,、；;：:。！？!?.]+")
# Praise and suggestion that hold 不 without leaving anything out ("虾仁炒蛋不错").
_NOT_A_WARNING = re.compile("不错|不妨|不如|不少|不仅|不光|not bad|not only", re.IGNORECASE)


@dataclass(frozen=True)
class Constraint:
    fact: str  # the memory, as stored
    foods: tuple[str, ...]  # what it forbids, lower case


def constraints(facts: Sequence[str]) -> list[Constraint]:
    """What each fact forbids (none for a fact that forbids nothing)."""
    out: list[Constraint] = []
    for fact in facts:
        foods: list[str] = []
        for diet, words in _DIETS:
            if diet.search(fact):
                foods += words
        for pattern in _NAMED:
            for m in pattern.finditer(fact):
                thing = m.group(1).strip().casefold().removesuffix("s")
                foods.append(thing)
                foods += [w for name, words in _CLASSES
                          if (name in thing.split() if name.isascii() else name in thing)
                          for w in words]
        if foods:
            out.append(Constraint(fact, tuple(dict.fromkeys(f.casefold() for f in foods if f))))
    return out


def offered(sentence: str, rules: Sequence[Constraint]) -> Constraint | None:
    """The constraint a sentence goes against: it names a food the constraint forbids in a
    clause that is not a warning."""
    for clause in _CLAUSE.findall(sentence.casefold()):
        if _WARNING.search(_NOT_A_WARNING.sub(" ", clause)):
            continue
        for rule in rules:
            if any(_names(clause, food) for food in rule.foods):
                return rule
    return None


def _names(clause: str, food: str) -> bool:
    if food.isascii():
        return re.search(rf"\b{re.escape(food)}(?:s|es)?\b", clause) is not None
    # 鸡蛋 and 牛奶 are not meat, nor is 蛋 a chicken.
    return food in clause.replace("鸡蛋", "蛋").replace("牛奶", "奶") or (
        food in ("鸡蛋", "牛奶") and food in clause)


def reminder(rule: Constraint, sentence: str) -> str:
    """What is said instead: the memory, in the language of the sentence it replaces."""
    fact = rule.fact.strip().rstrip("。.")
    if han_count(sentence) > 0:
        you = fact if fact.startswith(("你", "我")) else "你" + fact
        return f"提醒一下，我记得{you.replace('我', '你', 1)}，不适合你的要避开。"
    return f"Just a reminder of what you told me: {fact}. Leave out anything against that."


class CareGuard:
    """One answer's check, sentence by sentence: ``spoken`` gives what is said instead of each
    sentence ("" = nothing). Only on food, drink or advice: asked for ("今晚吃什么？") or
    offered in the sentence ("可以喝杯奶茶"); a medicine an allergy forbids, always."""

    def __init__(self, facts: Sequence[str], utterance: str) -> None:
        self.rules = constraints(facts)
        # A medicine an allergy forbids is checked in any sentence: its name means nothing else.
        self.drug_rules = [Constraint(r.fact, drugs) for r in self.rules
                           if (drugs := tuple(f for f in r.foods if f in _DRUGS))]
        self.asked = asks_for_care(utterance)
        self.reminded = False

    def spoken(self, sentence: str) -> str:
        rules = self.rules if self.asked or asks_for_care(sentence) else self.drug_rules
        if not rules:
            return sentence
        rule = offered(sentence, rules)
        if rule is None:
            return sentence
        if self.reminded:
            return ""
        self.reminded = True
        return reminder(rule, sentence)
