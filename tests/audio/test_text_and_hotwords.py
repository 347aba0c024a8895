"""Pure text steps of the voice: clauses and script runs for Kokoro, the ASR's language choice
and clean-up, and memory hotwords (bounded, only the device's own memories)."""

from __future__ import annotations

import asyncio

from daemon.audio.asrtext import choose_language, normalise
from daemon.audio.hotwords import DeviceHotwords, memory_hotwords, names_in
from daemon.audio.textsplit import clauses, script_runs


def test_clauses_cut_after_clause_marks_and_join_short_pieces() -> None:
    assert clauses("你好，我是小智。今天天气很好，适合出去走走！") == [
        "你好，", "我是小智。", "今天天气很好，", "适合出去走走！"]  # a short first clause: sooner
    assert clauses("好，我是小智。好，那走吧！") == ["好，我是小智。", "好，那走吧！"]
    assert clauses("Sure. The light in the kitchen is now on.") == [
        "Sure.", "The light in the kitchen is now on."]
    assert clauses("好。") == ["好。"]
    assert "".join(clauses("一，二，三，四五六七八九十。")).replace(" ", "") == "一，二，三，四五六七八九十。"


def test_latin_runs_inside_chinese_go_to_english() -> None:
    assert script_runs("你可以用iPhone打开Wi-Fi吗？") == [
        ("zh", "你可以用"), ("en", "iPhone"), ("zh", "打开"), ("en", "Wi-Fi"), ("zh", "吗？")]
    assert script_runs("现在是3点15分。") == [("zh", "现在是3点15分。")]
    assert script_runs("Turn it on, please.") == [("en", "Turn it on, please.")]
    assert script_runs("。") == []


def test_language_is_chosen_among_the_households_and_biased_to_the_first() -> None:
    langs = ["zh", "en"]
    assert choose_language([("en", 0.5), ("zh", 0.3), ("ja", 0.2)], langs, 0.75) == "zh"
    assert choose_language([("en", 0.9), ("zh", 0.05)], langs, 0.75) == "en"
    assert choose_language([("ja", 0.9), ("ko", 0.1)], langs, 0.75) == "zh"
    assert choose_language([("en", 0.9), ("zh", 0.05)], ["en", "zh"], 0.75) == "en"
    assert choose_language([("ja", 0.9), ("zh", 0.1)], [], 0.75) == "ja"


def test_asr_text_is_simplified_with_chinese_punctuation() -> None:
    assert normalise("你是什麼模型?") == "你是什么模型？"
    assert normalise("幫我把客廳的燈打開.") == "帮我把客厅的灯打开。"
    assert normalise("我 有 ３ 只 猫 ,  它们叫Ｍｏｍｏ") == "我有3只猫，它们叫Momo"
    assert normalise("現在是下午3.15分。") == "现在是下午3点15分。"
    assert normalise("价格是3.5元") == "价格是3.5元"
    assert normalise("  Sure,  the light is on. ") == "Sure, the light is on."
    assert normalise("你是什麼模型?", script="") == "你是什麼模型？"


def test_names_come_from_memories_in_both_languages() -> None:
    assert names_in("我女儿叫林晓雯，在上海上学") == ["林晓雯", "上海"]
    assert names_in("用户的猫叫咪咪") == ["咪咪"]
    assert names_in("Has a cat called Momo") == ["Momo"]
    assert names_in("My sister Siobhan lives in Galway") == ["Siobhan", "Galway"]
    assert names_in("Likes tea on Sundays") == []


def test_hotwords_are_bounded_and_newest_first() -> None:
    texts = ["Has a cat called Momo", "我女儿叫林晓雯", "Lives in Berlin"] * 20
    words = memory_hotwords(texts, 20)
    assert len(words) <= 20 and words.startswith("Momo 林晓雯")
    assert memory_hotwords(texts, 0) == ""
    assert memory_hotwords([], 100) == ""


async def test_device_hotwords_use_only_what_fetch_returns_and_never_wait_long() -> None:
    calls: list[str] = []

    async def fetch() -> dict:
        calls.append("x")
        return {"results": [{"memory": "Has a dog called Biscuit", "updated_at": "2026-01-02"},
                            {"memory": "Has a cat called Momo", "updated_at": "2026-01-01"}]}

    hot = DeviceHotwords(fetch, 100)
    assert await hot.get() == "Biscuit Momo"
    assert await hot.get() == "Biscuit Momo" and len(calls) == 1  # cached

    async def slow() -> dict:
        await asyncio.sleep(5)
        return {"results": [{"memory": "Has a cat called Momo"}]}

    async def broken() -> dict:
        raise RuntimeError("memory is closed")

    assert await DeviceHotwords(slow, 100, timeout_s=0.05).get() == ""
    assert await DeviceHotwords(broken, 100).get() == ""
