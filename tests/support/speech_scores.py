"""Error rates of what Whisper heard against what was said: characters for Chinese (after
dropping punctuation and spaces), words for English. Used by the voice tests and by
bench/voice_bench.py and bench/asr_bench.py."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def chars(text: str) -> list[str]:
    """Letters and digits only (Chinese characters are letters), lower case."""
    return [c.lower() for c in text if unicodedata.category(c)[0] in "LN"]


def words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()


def cer(heard: str, said: str) -> float:
    ref = chars(said)
    return edit_distance(chars(heard), ref) / max(len(ref), 1)


def wer(heard: str, said: str) -> float:
    ref = words(said)
    return edit_distance(words(heard), ref) / max(len(ref), 1)
