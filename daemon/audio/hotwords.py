"""Hotwords for Whisper from one device's own memories: the names of its family, pets and
places, which Whisper base otherwise hears as common words ("Siobhan" -> "Shivaun",
林晓雯 -> 林小文). The caller passes that device's memory texts only, newest first; the result
is bounded in characters so the prompt stays short (a long prompt slows decoding and invites
Whisper to repeat it)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import lru_cache
from typing import Any

from daemon.text import HAN, has_han

__all__ = ["DeviceHotwords", "memory_hotwords", "names_in"]

log = logging.getLogger(__name__)

# Words after these are names whatever their case or part of speech ("猫叫咪咪", "called momo").
_ZH_NAMED = re.compile(rf"(?:名叫|叫做|名字是|叫|住在|来自|在)([{HAN}]{{2,4}}?)"
                       r"(?=[，。,.的、\s]|$|是|在|住|上)")
_EN_NAMED = re.compile(r"\b(?:called|named)\s+([A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_EN_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z][\w'-]*(?:\s+[A-Z][a-z][\w'-]*)*)")
_ZH_NAME_TAGS = {"nr", "nrt", "nrfg", "ns", "nz", "nt"}
# Capitalised words that are not names.
_EN_SKIP = {"User", "The", "A", "An", "I", "My", "He", "She", "They", "It", "Mr", "Mrs", "Ms",
            "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
            "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"}
_ZH_SKIP = {"用户", "我们", "他们", "她们", "今天", "明天", "昨天"}


@lru_cache(maxsize=1)
def _posseg():  # type: ignore[no-untyped-def]
    try:
        import jieba
        import jieba.posseg as pseg
    except ImportError:  # jieba comes with misaki[zh]; without it only the patterns are used
        return None
    jieba.setLogLevel(logging.WARNING)
    return pseg


def names_in(text: str) -> list[str]:
    """Name-like words of one memory, in order of appearance."""
    found: list[tuple[int, str]] = []
    for m in _EN_NAMED.finditer(text):
        found.append((m.start(1), m.group(1)))
    for m in _EN_CAPITAL.finditer(text):
        if m.group(1).split()[0] not in _EN_SKIP:
            found.append((m.start(1), m.group(1)))
    if has_han(text):
        for m in _ZH_NAMED.finditer(text):
            found.append((m.start(1), m.group(1)))
        pseg = _posseg()
        if pseg is not None:
            pos = 0
            for w in pseg.cut(text):
                start = text.find(w.word, pos)
                pos = start + len(w.word) if start >= 0 else pos
                if w.flag in _ZH_NAME_TAGS and has_han(w.word) and len(w.word) >= 2:
                    found.append((max(start, 0), w.word))
    out: list[str] = []
    for _pos, word in sorted(found, key=lambda f: f[0]):
        word = word.strip()
        if word and word not in _ZH_SKIP and word not in out and not any(word in o for o in out):
            out = [o for o in out if o not in word]  # keep the longer form (西湖区 over 西湖)
            out.append(word)
    return out


def memory_hotwords(texts: Iterable[str], max_chars: int = 120) -> str:
    """Names from ``texts`` (one device's memories, newest first), space-separated, at most
    ``max_chars`` characters; "" when there are none."""
    if max_chars <= 0:
        return ""
    words: list[str] = []
    used = 0
    for text in texts:
        for name in names_in(text):
            if name in words:
                continue
            cost = len(name) + (1 if words else 0)
            if used + cost > max_chars:
                return " ".join(words)
            words.append(name)
            used += cost
    return " ".join(words)


class DeviceHotwords:
    """One device's hotwords, from its own memories (``fetch`` returns mem0-style
    ``{"results": [{"memory": ..., "updated_at": ...}, ...]}`` for that device's user only),
    read again at most every ``max_age_s`` and never waited on for long: a slow or failing
    memory lookup gives the previous words (or none), not a slower recognition."""

    def __init__(self, fetch: Callable[[], Awaitable[dict[str, Any]]], max_chars: int, *,
                 max_age_s: float = 30.0, timeout_s: float = 0.3) -> None:
        self.fetch = fetch
        self.max_chars = max_chars
        self.max_age_s = max_age_s
        self.timeout_s = timeout_s
        self.words = ""
        self._at: float | None = None

    async def get(self) -> str:
        if self.max_chars <= 0:
            return ""
        now = time.monotonic()
        if self._at is not None and now - self._at < self.max_age_s:
            return self.words
        self._at = now
        try:
            found = await asyncio.wait_for(self.fetch(), self.timeout_s)
            rows = sorted(found.get("results", []),
                          key=lambda r: str(r.get("updated_at") or r.get("created_at") or ""),
                          reverse=True)
            texts = [str(r.get("memory", "")) for r in rows]
            # jieba's part-of-speech tagging is CPU work: not on the event loop
            self.words = await asyncio.to_thread(memory_hotwords, texts, self.max_chars)
        except Exception as exc:  # memory off, busy or broken: recognise without the bias
            log.debug("no memory hotwords this time (%s)", exc)
        return self.words
