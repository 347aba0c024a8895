"""Keyword search on PostgreSQL: what the engine offers, and how CJK gets through it.

PostgreSQL's full-text search splits on spaces and punctuation: a Chinese sentence is one
token, and the bundled server has no pg_trgm or Chinese parser. So each memory gets a keyword
document built here: its Latin words (lower case) plus every CJK character bigram, stored in a
``tsvector`` column ('simple' configuration, no stemming) under a GIN index. The query side
takes the terms the SQLite query builder chose (``keywords.keyword_query``): Latin words match
as prefixes, CJK terms as their bigrams (OR, ranked by how many match), bigrams of function
characters only left out. Bigrams rather than the trigrams SQLite uses: a question's trigram
("女儿多" in "女儿多大了") is rarely in the statement, its bigrams ("女儿") are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from daemon.memory.keywords import _CJK_STOP

_LATIN = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
MAX_DOC_LEXEMES = 4000  # a bounded tsvector (memories are bounded too, see limits.py)


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def keyword_doc(text: str) -> list[str]:
    """The lexemes a memory is found by."""
    out: dict[str, None] = {}
    for word in _LATIN.findall(text):
        out[word.lower()] = None
    for run in _CJK.findall(text):
        if len(run) == 1:
            out[run] = None
        for i in range(len(run) - 1):
            out[run[i : i + 2]] = None
    return list(out)[:MAX_DOC_LEXEMES]


def keyword_tsquery(match: str, like_terms: Sequence[str]) -> str:
    """A to_tsquery('simple', ...) text for the terms of an FTS5 ``match`` and LIKE terms;
    "" when there is nothing to look for."""
    terms = [m.replace('""', '"') for m in _QUOTED.findall(match)] + list(like_terms)
    parts: list[str] = []
    for term in dict.fromkeys(t.strip().lower() for t in terms if t.strip()):
        if _CJK.fullmatch(term):
            grams = [term] if len(term) == 1 else [term[i : i + 2] for i in range(len(term) - 1)]
            parts += [_lexeme(g) for g in grams if not all(c in _CJK_STOP for c in g)]
        else:
            words = _LATIN.findall(term)
            if words:
                parts.append("(" + " & ".join(_lexeme(w.lower()) + ":*" for w in words) + ")")
    return " | ".join(dict.fromkeys(parts))
