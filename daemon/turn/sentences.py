"""SentenceSplitter: cut a streamed LLM answer into sentences as they complete, so the first
sentence can be spoken before the model has finished."""

from __future__ import annotations

import re

# A sentence ends at CJK end punctuation at once, or at .!? followed by a space/newline.
_END = re.compile(r"([。！？；!?]+[\"'”’）)]*|[.!?;]+[\"'”’)]*(?=\s)|\n+)")
MIN_CHARS = 2
MAX_CHARS = 200


class SentenceSplitter:
    def __init__(self) -> None:
        self._buf = ""

    def feed(self, piece: str) -> list[str]:
        """Complete sentences made available by this piece of text."""
        self._buf += piece
        out: list[str] = []
        start = 0
        for m in _END.finditer(self._buf):
            candidate = self._buf[start : m.end()].strip()
            if len(candidate) >= MIN_CHARS:
                out.append(candidate)
                start = m.end()
        self._buf = self._buf[start:]
        while len(self._buf) > MAX_CHARS:  # a run-on answer: cut at a comma or a space
            cut = max(self._buf.rfind(c, 0, MAX_CHARS) for c in "，,、 ")
            cut = cut + 1 if cut > MAX_CHARS // 3 else MAX_CHARS
            out.append(self._buf[:cut].strip())
            self._buf = self._buf[cut:]
        return [s for s in out if s]

    def flush(self) -> list[str]:
        rest = self._buf.strip()
        self._buf = ""
        return [rest] if rest else []
