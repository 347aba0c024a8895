"""Relative dates made absolute against the day said; facts copied from the assistant's line
dropped; both on the extractor's output."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from daemon.llm.scripted import ScriptedLLM
from daemon.memory.dates import absolute_dates, zh_number
from daemon.memory.extractor import FactExtractor
from daemon.memory.grounding import copied_from_assistant, nothing_to_learn

TUESDAY = date(2026, 11, 3)


@pytest.mark.parametrize("fact, expected", [
    ("上个月搬到上海", "2026年10月搬到上海"),
    ("昨天入职新公司", "2026年11月2日入职新公司"),
    ("上周六去了医院", "2026年10月31日去了医院"),
    ("上星期天搬家", "2026年11月1日搬家"),
    ("明年要去日本", "2027年要去日本"),
    ("Moved to Munich last month", "Moved to Munich in October 2026"),
    ("Adopted a greyhound last Saturday", "Adopted a greyhound on 2026-10-31"),
    ("Started a new job yesterday", "Started a new job on 2026-11-02"),
    ("Going to Paris next week", "Going to Paris in the week of 2026-11-09"),
    ("Wants to sit the N3 exam next July", "Wants to sit the N3 exam in July 2027"),
    ("Got married last December", "Got married in December 2025"),
    ("Lives in Lisbon", "Lives in Lisbon"),
    # "ago" in both languages, numbers in words, digits and Chinese numerals
    ("两天前去了医院", "2026年11月1日去了医院"),
    ("三天前搬家", "2026年10月31日搬家"),
    ("十二天前开始吃药", "2026年10月22日开始吃药"),
    ("两个星期前换了工作", "2026年10月19日那周换了工作"),
    ("三个月以前开始学吉他", "2026年8月开始学吉他"),
    ("半个月前开始学游泳", "2026年10月19日那周开始学游泳"),
    ("半年前买了车", "2026年5月买了车"),
    ("两年前结婚", "2024年结婚"),
    ("Adopted a cat two days ago", "Adopted a cat on 2026-11-01"),
    ("Broke my wrist 3 days ago", "Broke my wrist on 2026-10-31"),
    ("Started running a week ago", "Started running in the week of 2026-10-26"),
    ("Moved here a couple of months ago", "Moved here in September 2026"),
    ("Retired a year ago", "Retired in 2025"),
    ("Got a dog ages ago", "Got a dog ages ago"),
    # an age said this year stays as said (the memory line carries its date)
    ("女儿朵朵今年六岁", "女儿朵朵今年六岁"),
    ("儿子今年12岁半", "儿子今年12岁半"),
    ("今年要去日本", "2026年要去日本"),
])
def test_relative_dates_become_dates(fact: str, expected: str) -> None:
    assert absolute_dates(fact, TUESDAY) == expected


@pytest.mark.parametrize("said, expected", [
    ("我前天刚入职，两天前还在休假", "我2026年11月1日刚入职，2026年11月1日还在休假"),
    ("I started a new job yesterday.", "I started a new job on 2026-11-02."),
    # Now and the future stay as said: the prompt names the day, and a date in a command
    # ("set an alarm for tomorrow") only invites the model to store it.
    ("帮我定一个明天早上七点的闹钟", "帮我定一个明天早上七点的闹钟"),
    ("今天好累，下个月要去出差", "今天好累，下个月要去出差"),
    ("Remind me tomorrow, I'm flying next July", "Remind me tomorrow, I'm flying next July"),
    ("Moved last July, today is fine", "Moved in July 2026, today is fine"),
    # after a preposition the date reads as English: not "the end of in October 2026"
    ("We moved at the end of last month.", "We moved at the end of October 2026."),
    ("Vegetarian since last week", "Vegetarian since the week of 2026-10-26"),
    ("I've been off work since two days ago", "I've been off work since 2026-11-01"),
])
def test_only_past_dates_are_resolved_in_the_users_words(said: str, expected: str) -> None:
    assert absolute_dates(said, TUESDAY, past_only=True) == expected


def test_chinese_numbers() -> None:
    assert [zh_number(t) for t in ("3", "三", "两", "十", "十二", "二十五", "百", "三十三十")] == \
        [3, 3, 2, 10, 12, 25, None, None]


def test_a_fact_copied_from_the_assistant_is_recognised() -> None:
    assert copied_from_assistant("2026年5月12日多云转小雨", "那后天呢？", "明天多云转小雨，记得带伞。")
    assert copied_from_assistant("Timer set for ten minutes", "Thanks!", "Timer set for ten minutes.")
    # Context that resolves the user's words is fine: the fact shares the user's words too.
    assert not copied_from_assistant("Flying to Kyoto in November 2026",
                                     "Good, because I'm flying there in November.",
                                     "Kyoto is beautiful in autumn.")
    assert not copied_from_assistant("下个月去大理出差", "我下个月就要去那边出差了。",
                                     "听说大理这个季节特别美。")
    assert not copied_from_assistant("Lives in Lisbon", "I live in Lisbon.", "")
    # Mostly the assistant's words, nothing only the user said: what the user denied.
    assert copied_from_assistant("上次说我在武汉工作", "不是，我在南昌工作，武汉是我大学读书的地方。",
                                 "你上次说你在武汉工作，对吧？")
    assert copied_from_assistant("Previously said works in Wuhan",
                                 "No, I work in Nanchang, Wuhan is where I went to university.",
                                 "You said before that you work in Wuhan, right?")
    assert not copied_from_assistant("武汉是大学读书的地方", "不是，我在南昌工作，武汉是我大学读书的地方。",
                                     "你上次说你在武汉工作，对吧？")
    # A correction repeats the assistant's line with the user's new word: not a copy.
    assert not copied_from_assistant("女儿的钢琴老师是海斯太太", "不对，是海斯，不是休斯。",
                                     "好的，记住了，你女儿的钢琴老师是休斯太太。")
    assert not copied_from_assistant("妈妈的生日是五月八号", "不对不对，是五月八号。",
                                     "好的，记住了，你妈妈的生日是五月三号。")


async def test_the_extractor_applies_both() -> None:
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {
        "facts": ["Moved to Oslo last month", "Rain expected tomorrow afternoon"]}}])
    facts, calls = await FactExtractor(llm).extract(
        [{"role": "assistant", "content": "Rain expected tomorrow afternoon."},
         {"role": "user", "content": "Ok. By the way I moved to Oslo last month."}], TUESDAY)
    assert facts == ["Moved to Oslo in October 2026"] and calls == 1


async def test_the_model_reads_past_dates_already_resolved() -> None:
    """Seen with Qwen2.5-1.5B: "我昨天刚入职新公司" -> "入职新公司", the day dropped. It keeps a
    date it can copy, so the user's words reach it with the date resolved."""
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {"facts": ["入职新公司"]}}])
    await FactExtractor(llm).extract(
        [{"role": "user", "content": "我两天前刚入职新公司，明天去培训。"}], TUESDAY)
    prompt = llm.calls[0][0][-1]["content"]
    assert "user: 我2026年11月1日刚入职新公司，明天去培训。" in prompt


async def test_a_turn_of_questions_only_is_not_sent_for_extraction() -> None:
    """Seen in `chat`: "我叫什么名字？我女儿多大了？" made the model 'answer' with facts that
    replaced true memories."""
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {"facts": ["女儿10岁"]}}])
    extractor = FactExtractor(llm)
    for said in ["我叫什么名字？我女儿多大了？", "What am I allergic to, and what is my job?",
                 "How far away is the moon?\nAnd who wrote Pride and Prejudice?"]:
        assert await extractor.extract([{"role": "user", "content": said}], TUESDAY) == ([], 0)
    assert llm.calls == []
    # A statement beside a question still goes to the model.
    facts, calls = await extractor.extract(
        [{"role": "user", "content": "我女儿十岁了。她能喝咖啡吗？"}], TUESDAY)
    assert calls == 1 and facts == ["女儿10岁"]


@pytest.mark.parametrize("said", [
    "把客厅的灯关掉。", "音量再调小一点。", "帮我定一个明天早上七点的闹钟。", "小智，给我讲个笑话吧。",
    "哈哈哈，谢谢你啊。", "你好呀小智。", "晚安！", "Turn on the kitchen light.",
    "Set a timer for ten minutes.", "Hi there!", "Haha, thanks. Good night!",
    "Hey Xiaozhi, play some jazz.", "Could you turn the volume down a bit?", "把我的闹钟关掉",
    # Follow-up commands that start with an adverb (再/也/还/然后, "now", "also").
    "再把卧室的窗户关上。", "也把阳台的灯打开吧。", "还要帮我把电视关了。", "然后放一首周杰伦的歌。",
    "小智，再来一首。", "Now play the next song.", "Also turn off the fan, please.",
    # Asking for a suggestion (seen in a new-user chat: "推荐点零食" stored as a fact).
    "推荐点零食给我。", "给我推荐一道菜", "介绍一下杭州吧。", "Suggest a dinner for tonight.",
    "Recommend me a good book.",
])
async def test_commands_and_small_talk_are_not_sent_for_extraction(said: str) -> None:
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {"facts": ["关掉客厅的灯"]}}])
    assert nothing_to_learn(said)
    assert await FactExtractor(llm).extract([{"role": "user", "content": said}], TUESDAY) == ([], 0)
    assert llm.calls == []


@pytest.mark.parametrize("said", [
    "I'm vegetarian, so no meat please.", "Remind me that my sister's birthday is on May 3.",
    "小智，我跟你说，我对芒果过敏。", "Thanks, I live in Porto by the way.", "好的，我下周去北京出差。",
    "谢谢！我女儿今年上三年级了。", "Play something calm, I've had a rough day at the hospital.",
    "我还在那家书店上班。", "再过两个月我就要搬到广州了。", "Now I work from home on Fridays.",
    "再把我的体检报告给医生看看，我有高血压。", "推荐点零食给我，我对花生过敏。",
    "Suggest a dinner for tonight, I'm vegetarian.", "帮我记一下我女儿的生日是五月三号。",
])
def test_a_statement_among_them_still_goes_to_the_model(said: str) -> None:
    assert not nothing_to_learn(said)


def test_a_number_is_a_word_the_fact_shares() -> None:
    assert copied_from_assistant("Age is 29", "I'm Hannah, I'm 29.", "Nice to meet you!") is False
    assert copied_from_assistant("Age is 29", "Ok.", "You are 29, right?")


def _embedded(e5: Any) -> Any:
    async def embed(texts: Any) -> Any:
        return e5.embed_documents(list(texts))
    return embed


async def test_a_fact_translated_from_the_assistants_line_is_dropped(e5) -> None:
    """Seen in a new-user chat (real 1.5B): the English turn after a Chinese reply gave an
    English job fact from the reply, which replaced the user's Chinese job memory. Real e5."""
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {"facts": [
        "Works as a nurse at a hospital in Hangzhou", "Has a cat named Mochi", "Is vegetarian"]}}])
    facts, _ = await FactExtractor(llm, embed=_embedded(e5)).extract(
        [{"role": "assistant", "content": "好的，林娜，我记住了，你是杭州的一家医院的护士。"},
         {"role": "user", "content": "I have a cat called Mochi and I'm vegetarian."}], TUESDAY)
    assert facts == ["Has a cat named Mochi", "Is vegetarian"]


async def test_a_paraphrase_of_the_users_words_is_kept(e5) -> None:
    """Facts that share no word with the user's words but say what the user said stay (real
    e5): "我吃素，不吃肉。" -> "吃素" is plain, but a model may write "Is vegetarian"."""
    llm = ScriptedLLM(rules=[{"json": True, "match": ".*", "reply": {"facts": [
        "Is vegetarian", "已婚"]}}])
    facts, _ = await FactExtractor(llm, embed=_embedded(e5)).extract(
        [{"role": "assistant", "content": "好的，我记住了，你叫林娜。"},
         {"role": "user", "content": "我吃素，不吃肉。我和我老婆刚过了结婚纪念日。"}], TUESDAY)
    assert facts == ["Is vegetarian", "已婚"]
