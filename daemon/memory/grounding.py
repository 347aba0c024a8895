"""Whether an extracted fact comes from what the user said or from the assistant's line.

The assistant's previous line is shown to the extraction model as context ("Kyoto is lovely in
autumn" -> the user's "I'm flying there in November" is about Kyoto), but a 1.5B model
sometimes copies a fact straight out of it ("明天多云转小雨" from a weather answer). A fact
that shares no word with the user's words but does with the assistant's is dropped. Words are
Latin words of three letters or more, numbers and CJK character pairs. A fact sharing nothing
with either is a paraphrase or a translation; ``FactExtractor`` tells the two apart by meaning.
"""

from __future__ import annotations

import re

from daemon.text import HAN_RUN

_LATIN = re.compile(r"[a-z0-9]{3,}|[0-9]{2}")
_SENTENCE = re.compile(r"[^。！？!?.\n]+[。！？!?.]?")
_COMMON = frozenset(
    "the and with for are was were has have had his her hers she they them their you your "
    "that this not but from into also very just now then than about user users".split()
)


def words(text: str) -> set[str]:
    folded = text.casefold()
    out = {w for w in _LATIN.findall(folded) if w not in _COMMON}
    for run in HAN_RUN.findall(folded):
        out |= {run[i:i + 2] for i in range(len(run) - 1)} or {run}
    return out


_FUNCTION_CHARS = frozenset("我你他她它们的了是在有和也都很就还吧呢啊吗")


def content_words(text: str) -> set[str]:
    """``words`` without CJK pairs holding a pronoun or particle ("我在", "的地")."""
    return {w for w in words(text) if not any(c in _FUNCTION_CHARS for c in w)}


def shares_words(fact: str, user_text: str) -> bool:
    return bool(words(fact) & words(user_text))


def copied_from_assistant(fact: str, user_text: str, assistant_text: str) -> bool:
    """True when ``fact`` shares words with the assistant's line and none with the user's, or
    is mostly the assistant's words (half or more, twice the user's share) with nothing said
    only by the user. Seen with Qwen2.5-1.5B: "上次说我在武汉工作" from the assistant's
    "你上次说你在武汉工作，对吧？" answered "不是，我在南昌工作…". A correction keeps the user's
    new word ("…老师是海斯太太" against "…是休斯太太"), so it is not a copy."""
    own = words(fact)
    user, assistant = words(user_text), words(assistant_text)
    if not (own & user):
        return bool(own & assistant)
    own, user, assistant = content_words(fact), content_words(user_text), content_words(
        assistant_text)
    if not own or own & (user - assistant):
        return False
    from_user = len(own & user) / len(own)
    from_assistant = len(own & assistant) / len(own)
    return from_assistant >= 0.5 and from_assistant >= 2 * from_user


def sentences(text: str) -> list[str]:
    return [p.strip() for p in _SENTENCE.findall(text) if p.strip(" \t,，、")]


def only_questions(text: str) -> bool:
    """Every sentence of ``text`` is a question ("我叫什么名字？我女儿多大了？"): nothing to learn.
    Seen with Qwen2.5-1.5B: asked for facts about such a turn, it answered them itself ("女儿
    10岁") and replaced true memories with the answers."""
    parts = sentences(text)
    return bool(parts) and all(p.endswith(("?", "？")) for p in parts)


# The assistant's name and polite openers, taken off before a sentence is classified.
_ADDRESS = re.compile(
    r"^(?:(?:hey|hi|ok|okay)[ ,]+)?(?:小智|xiaozhi)[，,:：!！ ]*|^(?:请|麻烦你?|please[ ,]+)",
    re.IGNORECASE)
# Adverbs a follow-up command starts with ("再把窗帘拉上", "也把卧室的灯关了", "Now play the next
# one"): taken off like the address, so the command verb after them is seen.
_LEAD = re.compile(
    r"^(?:那就|那|然后|顺便|现在|再|也|还|先)要?(?=把|帮|给|替|打开|关|拉|调|播放|放|来|讲|说个|定|设|"
    r"提醒|叫我|音量|声音|暂停|停|继续|下一首|上一首|查|搜)|"
    r"^(?:and |also |now |then |ok now |again,? )+", re.IGNORECASE)
_ZH_COMMAND = re.compile(
    "^(?:你)?(?:把|帮我|给我|替我|打开|关掉|关上|关闭|关一下|开一下|拉上|拉开|调|播放|放一首|放首|"
    "来一首|来首|讲|说个|定一个|定个|设|提醒我|叫我|音量|声音|暂停|停|继续|下一首|上一首|查一下|搜|"
    "推荐|介绍一?下|来点|来些)")
_EN_COMMAND = re.compile(
    r"^(?:can you |could you |would you )?(?:turn|switch|set|play|stop|pause|resume|tell me|"
    r"remind me|open|close|show me|read|skip|start|cancel|wake me|give me|put|make it|dim|"
    r"find|search|call|text|add|recommend|suggest)\b", re.IGNORECASE)
# First-person words after the command verb: "remind me that my sister's birthday is May 3"
# states a fact, "turn on the light" does not.
# "给我"/"帮我" (for me) is not about the user: "推荐点零食给我" is a request.
_OWN = re.compile(r"(?<![给帮替让跟])我(?!的?(?:闹钟|灯))|\b(?:my|our|i'm|i am|i have|i've|we)\b",
                  re.IGNORECASE)
_SMALL_TALK = re.compile(
    r"你好|您好|嗨|哈喽|早上好|早安|中午好|晚上好|晚安|谢谢|多谢|感谢|哈+|嘿+|好的|好吧|好呀|嗯+|"
    r"再见|拜拜|没事了|没关系|辛苦了|真棒|太棒了|不错|小智|你|啊|呀|吧|哦|呢|啦|了|"
    r"\b(?:hi|hello|hey|there|thanks|thank|you|so|much|good|night|morning|evening|afternoon|"
    r"ha|haha+|hah|ok|okay|bye|goodbye|cool|great|nice|awesome|xiaozhi|that's|funny|lol|"
    r"alright|sure|yes|no|yeah|nope|wow|see|later|cheers)\b", re.IGNORECASE)


def _command(sentence: str) -> bool:
    s = _ADDRESS.sub("", sentence.strip()).strip()
    s = _LEAD.sub("", s).strip()
    m = _ZH_COMMAND.match(s) or _EN_COMMAND.match(s)
    return bool(m) and not _OWN.search(s, m.end())


def _small_talk(sentence: str) -> bool:
    return not re.sub(r"[\W_]+", "", _SMALL_TALK.sub("", sentence))


def nothing_to_learn(text: str) -> bool:
    """Every sentence of ``text`` is a question, a command for the device ("把客厅的灯关掉",
    "Set a timer for ten minutes") or small talk ("哈哈哈，谢谢你啊", "Hi there!"): nothing
    about the user to keep, so the model is not asked. Seen with Qwen2.5-1.5B on such turns:
    "关掉客厅的灯" stored as a fact."""
    parts = sentences(text)
    return bool(parts) and all(p.endswith(("?", "？")) or _command(p) or _small_talk(p)
                               for p in parts)
