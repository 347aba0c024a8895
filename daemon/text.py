"""Which characters are Chinese, and which are CJK: one definition for every layer.

Two classes, for two jobs:

- ``HAN``: Chinese characters (CJK Unified Ideographs, Extension A, Compatibility
  Ideographs). What decides "this text is Chinese": the Chinese voice, the sentence weight,
  a fact's subject, the extraction prompt's language.
- ``CJK``: ``HAN`` plus Japanese kana and Hangul syllables. What the keyword index segments
  as one run (jieba, or bigrams on PostgreSQL) instead of splitting it into Latin words.

Each class comes as a *fragment* (the ranges, to put inside a regex character class of
your own: ``rf"[{HAN}，。]"``) and as compiled patterns (one character, or a run). The
fragments hold the characters themselves, not ``\\u`` escapes, so they also work outside
Python's ``re`` (a regex in a JSON file, a ``str.translate`` table built from them...).

This module imports nothing from ``daemon``: any layer may use it.
"""

from __future__ import annotations

import re

__all__ = [
    "CJK", "CJK_CHAR", "CJK_RUN", "CJK_SYMBOLS", "HAN", "HANGUL", "HAN_CHAR", "HAN_RUN",
    "KANA", "han_count", "has_cjk", "has_han",
]

# Fragments: character ranges for use inside [...]. Ext B and later (outside the BMP) are
# left out: no model or voice here handles them, and Whisper never writes them.
HAN = (
    "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A (㐀)
    "\u4e00-\u9fff"  # CJK Unified Ideographs (中)
    "\uf900-\ufaff"  # CJK Compatibility Ideographs (﨑)
)
KANA = "\u3040-\u30ff"  # Hiragana and Katakana (か, カ)
HANGUL = "\uac00-\ud7af"  # Hangul syllables (한)
CJK = KANA + HAN + HANGUL
# The CJK Symbols and Punctuation block: the ideographic space and 、。「」《》. Not the
# full-width ，！？：, which sit in the Halfwidth and Fullwidth Forms block.
CJK_SYMBOLS = "\u3000-\u303f"

HAN_CHAR = re.compile(f"[{HAN}]")
HAN_RUN = re.compile(f"[{HAN}]+")
CJK_CHAR = re.compile(f"[{CJK}]")
CJK_RUN = re.compile(f"[{CJK}]+")


def has_han(text: str) -> bool:
    """Whether ``text`` has a Chinese character (taken as: the text is Chinese)."""
    return HAN_CHAR.search(text) is not None


def has_cjk(text: str) -> bool:
    """Whether ``text`` has a Chinese, Japanese kana or Hangul character."""
    return CJK_CHAR.search(text) is not None


def han_count(text: str) -> int:
    """How many Chinese characters ``text`` has."""
    return len(HAN_CHAR.findall(text))
