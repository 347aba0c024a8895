"""SentenceSplitter: streamed text -> sentences, Chinese and English."""

from __future__ import annotations

from daemon.turn.sentences import SentenceSplitter


def split_stream(pieces: list[str]) -> list[str]:
    s = SentenceSplitter()
    out: list[str] = []
    for p in pieces:
        out += s.feed(p)
    return out + s.flush()


def test_english_sentences_arrive_as_soon_as_complete() -> None:
    s = SentenceSplitter()
    assert s.feed("Hello there") == []
    assert s.feed(".") == []  # "." is only an end once a space follows (3.50 is no end)
    assert s.feed(" How are") == ["Hello there."]
    assert s.feed(" you? I am") == ["How are you?"]
    assert s.flush() == ["I am"]


def test_chinese_punctuation_ends_sentences_immediately() -> None:
    assert split_stream(["你好！", "我叫小智。今天", "天气很好"]) == ["你好！", "我叫小智。", "今天天气很好"]


def test_decimal_numbers_and_short_fragments_are_not_cut() -> None:
    assert split_stream(["It costs 3.50 euros. Ok", "ay."]) == ["It costs 3.50 euros.", "Okay."]


def test_run_on_text_is_cut_at_a_comma_or_space() -> None:
    long = "word, " * 80
    out = split_stream([long])
    assert all(len(x) <= 200 for x in out)
    assert "".join(out).replace(" ", "") == long.replace(" ", "").rstrip()
