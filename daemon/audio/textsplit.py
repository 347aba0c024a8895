"""Text for a voice, cut the way Kokoro needs it: clauses (so the first one is spoken while the
rest is synthesised) and, inside a clause, runs of one script (Chinese or Latin), each spoken
by the voice of its language. Pure functions."""

from __future__ import annotations

import re

from daemon.text import has_han

__all__ = ["LATIN_RUN", "clauses", "script_runs"]

# A Latin run: words (with ' - . inside, e.g. Wi-Fi, o'clock, Mr.) and the digits, spaces and
# light punctuation between them; a run must start with a letter.
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’\-.]*(?:[ ,&/+]+[A-Za-z0-9][A-Za-z0-9'’\-.]*)*")
# Clause ends: Chinese and Latin commas, semicolons, colons, sentence ends (kept with the clause).
_CLAUSE_END = re.compile(r"(?<=[，,、；;：:。！？!?…])|(?<=\.)(?=\s)")
MIN_CLAUSE_CHARS = 4  # shorter pieces ("好，") are joined to the next: a voice needs context
# ... except the first: "好的，" alone is spoken well and makes the first sound come sooner
MIN_FIRST_CLAUSE_CHARS = 2


def clauses(text: str, min_chars: int = MIN_CLAUSE_CHARS,
            first_min_chars: int = MIN_FIRST_CLAUSE_CHARS) -> list[str]:
    """``text`` cut after each clause mark; pieces under ``min_chars`` letters (the first one:
    ``first_min_chars``) join the next."""
    out: list[str] = []
    carry = ""
    for piece in _CLAUSE_END.split(text):
        carry += piece
        if sum(c.isalnum() for c in carry) >= (min_chars if out else first_min_chars):
            out.append(carry.strip())
            carry = ""
    if carry.strip():
        if out and sum(c.isalnum() for c in carry) < min_chars:
            out[-1] = f"{out[-1]} {carry.strip()}" if not has_han(carry) else out[-1] + carry.strip()
        else:
            out.append(carry.strip())
    return [c for c in out if c]


def script_runs(text: str) -> list[tuple[str, str]]:
    """[(language, piece), ...] in order: "en" for Latin runs, "zh" for the rest, when the text
    has Chinese characters; otherwise one English run. Runs of only punctuation or spaces are
    left out (they carry no sound)."""
    if not has_han(text):
        return [("en", text.strip())] if re.search(r"\w", text) else []
    runs: list[tuple[str, str]] = []
    pos = 0
    for m in LATIN_RUN.finditer(text):
        if m.start() > pos:
            runs.append(("zh", text[pos : m.start()]))
        runs.append(("en", m.group()))
        pos = m.end()
    if pos < len(text):
        runs.append(("zh", text[pos:]))
    return [(lang, piece.strip()) for lang, piece in runs if re.search(r"\w", piece)]
