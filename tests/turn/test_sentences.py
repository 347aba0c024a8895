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


def test_the_first_clause_goes_out_at_its_comma_then_whole_sentences() -> None:
    s = SentenceSplitter(first_clause=12)
    assert s.feed("你女儿叫朵朵") == []
    assert s.feed("，今年") == ["你女儿叫朵朵，"]  # a CJK comma ends the clause at once
    assert s.feed("六岁，在上小学。她") == ["今年六岁，在上小学。"]  # only the first piece is a clause
    assert s.flush() == ["她"]


def test_a_short_lead_in_or_a_number_is_no_clause() -> None:
    s = SentenceSplitter(first_clause=12)
    assert s.feed("好的，") == []  # "好的" weighs 6: too short to be spoken alone
    assert s.feed("我记住了") == []
    assert s.feed("，") == ["好的，我记住了，"]
    s = SentenceSplitter(first_clause=12)
    assert s.feed("It costs 1,000 euros") == []  # no space after the comma: a number
    assert s.feed(", so") == ["It costs 1,000 euros,"]  # a Latin comma waits for its space


def test_without_first_clause_only_sentences_are_cut() -> None:
    assert split_stream(["Your daughter is Duoduo, ", "she is six. Yes"]) == [
        "Your daughter is Duoduo, she is six.", "Yes"]
