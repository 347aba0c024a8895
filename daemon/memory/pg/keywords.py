"""Keyword search on PostgreSQL: what the engine offers, and how CJK gets through it.

PostgreSQL's full-text search splits on spaces and punctuation: a Chinese sentence would be one
token, and the bundled server has no pg_trgm or Chinese parser. So each memory's keyword
document (a ``tsvector`` under a GIN index) is made of two parts: its Latin words through the
built-in 'english' configuration (Snowball stems, stop words dropped: "bakes" and "bake" meet),
and its CJK character bigrams as they are. The query side takes the terms the SQLite query
builder chose (``keywords.keyword_query``) and matches the same way: Latin words stemmed, CJK
terms as their bigrams (OR, ranked by how many match; bigrams of function characters only are
left out). Bigrams rather than the trigrams SQLite uses: a question's trigram ("女儿多" in
"女儿多大了") is rarely in the statement, its bigrams ("女儿") are. Exact lexemes, no prefix
matching: the planner's statistics then see how common a word is, and pick the cheap plan
for common ones (see ``PgStore.keyword_search``).
"""

from __future__ import annotations

import re

from daemon.memory.keywords import CJK_STOP
from daemon.text import CJK_RUN

_LATIN = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
# Function characters: a bigram or character of only these carries no meaning on its own.
_CJK_STOP = frozenset(w for w in CJK_STOP if len(w) == 1)
MAX_DOC_LEXEMES = 4000  # a bounded tsvector (memories are bounded too, see limits.py)


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


# The keyword document of a text from ``keyword_doc``'s two parameters (numbered $a, $b).
def tsv_sql(a: str, b: str) -> str:
    return f"(to_tsvector('english', {a}) || array_to_tsvector({b}::text[]))"


def keyword_doc(text: str) -> tuple[str, list[str]]:
    """(Latin words, CJK bigrams and characters) of a memory: the two parameters of ``tsv_sql``."""
    latin = " ".join(_LATIN.findall(text))[:20000]
    grams: dict[str, None] = {}
    for run in CJK_RUN.findall(text):
        # Characters too (as the SQLite index has them): the query side sends a jieba word's
        # characters, so a one-character question word still meets a longer memory word.
        for c in run:
            if c not in _CJK_STOP:
                grams[c] = None
        for i in range(len(run) - 1):
            grams[run[i : i + 2]] = None
    return latin, list(grams)[:MAX_DOC_LEXEMES]


def keyword_tsquery(match: str) -> tuple[str, str]:
    """(to_tsquery('english', ...) text for the Latin terms, to_tsquery('simple', ...) text
    for the CJK bigrams and characters) of ``keywords.keyword_query``'s OR of quoted terms;
    "" for a part with no terms."""
    terms = [m.replace('""', '"') for m in _QUOTED.findall(match)]
    latin: list[str] = []
    cjk: list[str] = []
    for term in dict.fromkeys(t.strip().lower() for t in terms if t.strip()):
        if CJK_RUN.fullmatch(term):
            grams = [term] if len(term) == 1 else [term[i : i + 2] for i in range(len(term) - 1)]
            cjk += [_lexeme(g) for g in grams if not all(c in _CJK_STOP for c in g)]
        else:
            latin += [w.lower() for w in _LATIN.findall(term)]
    return " | ".join(dict.fromkeys(latin)), " | ".join(dict.fromkeys(cjk))


def tsquery_sql(latin: str, cjk: str, params: list[str]) -> str:
    """The tsquery expression for ``keyword_tsquery``'s parts (values appended to params)."""
    parts = []
    if latin:
        params.append(latin)
        parts.append(f"to_tsquery('english', ${len(params)})")
    if cjk:
        params.append(cjk)
        parts.append(f"to_tsquery('simple', ${len(params)})")
    return "(" + " || ".join(parts) + ")"
