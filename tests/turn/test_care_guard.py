"""CareGuard: a sentence offering what the user's allergy or diet forbids is not spoken."""

from __future__ import annotations

import pytest

from daemon.turn.care_guard import CareGuard, constraints

ZH = ["名字叫李娜", "吃素", "对花生过敏", "住在杭州"]
EN = ["Name is Tom", "Vegetarian", "Allergic to peanuts", "Doesn't eat pork"]


def test_what_each_fact_forbids() -> None:
    rules = {c.fact: c.foods for c in constraints(
        ZH + EN + ["对海鲜过敏", "不吃香菜", "Allergic to tree nuts", "Likes tea"])}
    assert set(rules) == {"吃素", "对花生过敏", "Vegetarian", "Allergic to peanuts",
                          "Doesn't eat pork", "对海鲜过敏", "不吃香菜", "Allergic to tree nuts"}
    assert "花生" in rules["对花生过敏"] and "肉" in rules["吃素"]
    assert {"虾", "蟹", "鱼"} <= set(rules["对海鲜过敏"]) and rules["不吃香菜"] == ("香菜",)
    assert {"chicken", "fish"} <= set(rules["Vegetarian"])
    assert "walnut" in rules["Allergic to tree nuts"]
    assert "walnut" not in rules["Allergic to peanuts"]  # a peanut is not a tree nut
    assert "pepperoni" in rules["Doesn't eat pork"]


@pytest.mark.parametrize("facts, asked, sentence, spoken", [
    # Offered against the memory: the memory is said instead.
    (ZH, "今晚吃什么好？", "你今晚可以吃烤鸭和鱼香肉丝。", "提醒一下，我记得你吃素，不适合你的要避开。"),
    (ZH, "推荐点零食给我", "可以来点花生和瓜子。", "提醒一下，我记得你对花生过敏，不适合你的要避开。"),
    (EN, "What should I have for lunch?", "Try a peanut butter sandwich.",
     "Just a reminder of what you told me: Allergic to peanuts. Leave out anything against that."),
    (EN, "Any dinner ideas?", "A BLT with crispy bacon is great.",
     "Just a reminder of what you told me: Vegetarian. Leave out anything against that."),
    # Named to be left out, a stand-in, or allowed: spoken as said.
    (ZH, "今晚吃什么好？", "可以做番茄炒鸡蛋，不放肉。", "可以做番茄炒鸡蛋，不放肉。"),
    (ZH, "今晚吃什么好？", "你对花生过敏，要避开花生。", "你对花生过敏，要避开花生。"),
    (ZH, "推荐个饮料", "喝杯热牛奶吧。", "喝杯热牛奶吧。"),
    (EN, "Any dinner ideas?", "How about a peanut-free veggie stir fry?",
     "How about a peanut-free veggie stir fry?"),
    (EN, "Any dinner ideas?", "Have a veggie sausage roll.", "Have a veggie sausage roll."),
    # Not about food: a name holding a meat character is not an offer.
    (ZH, "我女儿叫什么？", "你女儿叫小鱼。", "你女儿叫小鱼。"),
    # A medicine of the class an allergy names (seen in a trial: "Yes, you can take
    # amoxicillin" to a user allergic to penicillin), asked about or not.
    (["Allergic to penicillin"], "Can I take amoxicillin?",
     "Yes, you can take amoxicillin as directed by your pharmacist.",
     "Just a reminder of what you told me: Allergic to penicillin. Leave out anything against that."),
    (["对青霉素过敏"], "我感冒了怎么办？", "可以吃点阿莫西林。",
     "提醒一下，我记得你对青霉素过敏，不适合你的要避开。"),
    (["Allergic to penicillin"], "Can I take amoxicillin?",
     "Amoxicillin is not safe for you.", "Amoxicillin is not safe for you."),
    (["Allergic to penicillin"], "Can I take amoxicillin?", "Ibuprofen is fine for the pain.",
     "Ibuprofen is fine for the pain."),
])
def test_a_sentence_is_spoken_or_replaced(facts, asked, sentence, spoken) -> None:
    assert CareGuard(facts, asked).spoken(sentence) == spoken


def test_after_the_reminder_further_offers_are_dropped() -> None:
    guard = CareGuard(ZH, "今晚吃什么好？")
    said = [guard.spoken(s) for s in ["可以吃红烧肉。", "红烧肉很香。", "也可以吃炒青菜。"]]
    assert said == ["提醒一下，我记得你吃素，不适合你的要避开。", "", "也可以吃炒青菜。"]


def test_a_user_with_no_such_memory_hears_every_sentence() -> None:
    guard = CareGuard(["住在杭州", "Likes tea"], "今晚吃什么好？")
    assert guard.spoken("可以吃红烧肉。") == "可以吃红烧肉。"
