"""daemon.text: which characters each class matches, and the helpers built on them."""

from __future__ import annotations

import re

import pytest

from daemon.text import (
    CJK,
    CJK_CHAR,
    CJK_RUN,
    CJK_SYMBOLS,
    HAN,
    HAN_CHAR,
    HAN_RUN,
    han_count,
    has_cjk,
    has_han,
)

# (character, is Chinese, is CJK)
CASES = [
    ("中", True, True),     # CJK Unified Ideographs
    ("㐀", True, True),     # Extension A
    ("﨑", True, True),     # Compatibility Ideographs
    ("か", False, True),    # Hiragana
    ("カ", False, True),    # Katakana
    ("한", False, True),    # Hangul syllable
    ("A", False, False),
    ("é", False, False),
    ("3", False, False),
    ("，", False, False),   # full-width comma: punctuation, not a character of either class
    ("。", False, False),
    ("䷀", False, False),    # Yijing hexagram (U+4DC0, between Ext A and the main block): a symbol
    ("🙂", False, False),
]


@pytest.mark.parametrize(("char", "han", "cjk"), CASES)
def test_which_characters_each_class_matches(char: str, han: bool, cjk: bool) -> None:
    assert (HAN_CHAR.fullmatch(char) is not None) is han
    assert (CJK_CHAR.fullmatch(char) is not None) is cjk
    assert has_han(f"x{char}y") is han
    assert has_cjk(f"x{char}y") is cjk


def test_han_is_inside_cjk() -> None:
    # Every Chinese character in the BMP ranges is also CJK (the keyword index segments them).
    for start, end in re.findall(r"(.)-(.)", HAN):
        for c in (start, end, chr((ord(start) + ord(end)) // 2)):
            assert HAN_CHAR.fullmatch(c) and CJK_CHAR.fullmatch(c)


def test_runs_and_counts() -> None:
    text = "我住在上海, I live in 東京 with かな and 한국어。"
    assert HAN_RUN.findall(text) == ["我住在上海", "東京"]
    assert CJK_RUN.findall(text) == ["我住在上海", "東京", "かな", "한국어"]
    assert han_count(text) == 7
    assert han_count("I have 3 cats") == 0
    assert not has_han("") and not has_cjk("")
    assert not has_han("かな한국어") and has_cjk("かな한국어")


def test_fragments_compose_into_other_classes() -> None:
    # A module's own class: Chinese characters and Chinese punctuation.
    zh = re.compile(f"[{HAN}，。]+")
    assert zh.fullmatch("你好，世界。")
    assert not zh.fullmatch("你好, world")
    # The fragments are the characters themselves, not escapes: usable outside Python's re.
    assert "\\" not in HAN + CJK + CJK_SYMBOLS
    wide = re.compile(f"[{CJK}{CJK_SYMBOLS}]")
    assert wide.findall("「你好」、，") == ["「", "你", "好", "」", "、"]


def test_the_module_imports_nothing_from_daemon() -> None:
    import ast
    from pathlib import Path

    import daemon.text

    tree = ast.parse(Path(daemon.text.__file__).read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert imported and not [m for m in imported if m.split(".")[0] == "daemon"]
