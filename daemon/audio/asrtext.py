"""What the ASR heard, made clean for the LLM and memory extraction: the household's language
chosen from Whisper's probabilities, Chinese in one script (simplified by default), full-width
digits and letters as ASCII, Chinese punctuation in Chinese text. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from daemon.text import HAN, has_han

__all__ = ["choose_language", "normalise"]

_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                             *range(0xFF41, 0xFF5B))}
_ZH_PUNCT = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_ZH_CHAR = rf"[{HAN}，。？！：；、]"


def choose_language(probs: Sequence[tuple[str, float]], expected: Sequence[str],
                    other_min_prob: float) -> str:
    """The household's language for an utterance. Only ``expected`` languages count; among
    them the first (the usual one) wins unless another holds at least ``other_min_prob`` of
    their combined probability: Whisper base often calls short Mandarin questions English."""
    if not expected:
        return max(probs, key=lambda p: p[1])[0] if probs else "en"
    got = {lang: p for lang, p in probs if lang in expected}
    total = sum(got.values())
    if total <= 0:
        return expected[0]
    best = max(expected, key=lambda lang: got.get(lang, 0.0))
    if best != expected[0] and got.get(best, 0.0) / total < other_min_prob:
        return expected[0]
    return best


@lru_cache(maxsize=4)
def _zhconv() -> object | None:
    try:
        import zhconv
    except ImportError:  # declared in pyproject; without it the text stays as Whisper wrote it
        return None
    return zhconv


def to_script(text: str, script: str) -> str:
    """Chinese text in ``script`` ("zh-cn", "zh-tw", ...); "" leaves it as it is."""
    conv = _zhconv() if script and has_han(text) else None
    return conv.convert(text, script) if conv is not None else text  # type: ignore[attr-defined]


def normalise(text: str, script: str = "zh-cn") -> str:
    """One clean line: ASCII digits and letters, no doubled spaces, and in Chinese text the
    Chinese script asked for, Chinese punctuation and no spaces between Chinese characters."""
    text = re.sub(r"\s+", " ", text.translate(_FULLWIDTH_ALNUM)).strip()
    if not has_han(text):
        return text
    text = to_script(text, script)
    # ASCII punctuation after a Chinese character (or at the end) becomes Chinese punctuation;
    # a point between digits (3.15) stays.
    text = re.sub(rf"(?<={_ZH_CHAR})\s*([,?!:;])", lambda m: _ZH_PUNCT[m.group(1)], text)
    text = re.sub(rf"(?<={_ZH_CHAR})\s*\.(?!\d)", "。", text)
    text = re.sub(rf"(?<=[{HAN}])([,?!:;])(?=\s|$)", lambda m: _ZH_PUNCT[m.group(1)], text)
    text = re.sub(rf"(?<={_ZH_CHAR}) (?={_ZH_CHAR})", "", text)
    text = re.sub(rf"(?<=[{HAN}]) (?=\d)|(?<=\d) (?=[{HAN}])", "", text)
    # Whisper writes 3点15分 as "3.15分" or "3:15分"
    return re.sub(r"(?<!\d)(\d{1,2})[.:：](\d{2})(?=分)", r"\1点\2", text)
