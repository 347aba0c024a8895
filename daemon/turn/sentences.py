"""SentenceSplitter: cut a streamed LLM answer into sentences as they complete, so the first
sentence can be spoken before the model has finished (and, optionally, the answer's first
clause, so that speech starts a few tokens sooner)."""

from __future__ import annotations

import re

from daemon.text import han_count

# A sentence ends at CJK end punctuation at once, or at .!? followed by a space/newline.
_END = re.compile(r"([。！？；!?]+[\"'”’）)]*|[.!?;]+[\"'”’)]*(?=\s)|\n+)")
MIN_CHARS = 2
MAX_CHARS = 200
# A clause ends at a CJK comma or colon at once, or at a Latin one followed by a space ("1,000"
# is not a clause).
_CLAUSE = re.compile(r"[，、：]|[,:](?=\s)")
_CLAUSE_MARKS = ("，", "、", "：", ",", ":")


def ends_a_clause(piece: str) -> bool:
    """Whether a piece the splitter gave out is a first clause (it ends at a comma, not at a
    sentence's end)."""
    return piece.endswith(_CLAUSE_MARKS)


def _weight(text: str) -> int:
    """Length as speech: a Chinese character is a syllable, about three Latin letters."""
    han = han_count(text)
    return len(text) - han + 3 * han


class SentenceSplitter:
    """``first_clause``: the answer's first piece may end at a comma once it weighs this much
    (``_weight``; 0 = whole sentences only). A short lead-in ("好的，", "Sure,") is not cut."""

    def __init__(self, first_clause: int = 0) -> None:
        self._buf = ""
        self._first_clause = first_clause
        self._started = False

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
        if not out and not self._started and self._first_clause:
            out += self._clause()
        while len(self._buf) > MAX_CHARS:  # a run-on answer: cut at a comma or a space
            cut = max(self._buf.rfind(c, 0, MAX_CHARS) for c in "，,、 ")
            cut = cut + 1 if cut > MAX_CHARS // 3 else MAX_CHARS
            out.append(self._buf[:cut].strip())
            self._buf = self._buf[cut:]
        out = [s for s in out if s]
        self._started = self._started or bool(out)
        return out

    def _clause(self) -> list[str]:
        for m in _CLAUSE.finditer(self._buf):
            clause = self._buf[: m.end()].strip()
            if _weight(clause) >= self._first_clause:
                self._buf = self._buf[m.end():]
                return [clause]
        return []

    def flush(self) -> list[str]:
        rest = self._buf.strip()
        self._buf = ""
        return [rest] if rest else []
