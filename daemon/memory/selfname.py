"""The user's own name in a query: "What is Anna's job?" is searched as "What is job?".

Facts are stored from the user's side, without a subject ("Works as a nurse", "住在杭州"),
so a question that names the user (mem0 API callers ask "Which city does Anna live in?")
matched the one fact holding the name best: e5 put "Name is Anna" (0.88) above the job
(0.79), MiniLM put it at 0.56 and "Vegetarian" (0.22) under the search threshold, and the
keyword side matched only the name. Without the name the question meets its facts
("What diet does follow?" -> "Vegetarian" 0.36 with MiniLM, first with e5; removing the name
did as well as "I"/"我" in its place, measured on both embedders).

The user's names come from their own name facts ("Name is Anna", "名字叫王磊", "姓李"), read
once per change of the user's facts (the store's partition generation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from daemon.memory.keywords import query_terms
from daemon.memory.standing import facts_with_words
from daemon.memory.store import FACT, MemoryStore, partition_of
from daemon.text import HAN

# A name fact says the user's own name: anchored, so "Dog's name is Biscuit" and "女儿叫朵朵"
# (someone else's name) are not the user's.
_EN_NAME = re.compile(
    r"^(?i:(?:my |the user's |user's |user )?(?:full |first )?name is |(?:is |i'm |am )?called "
    r"|goes by )([A-Z][\w'-]+(?: [A-Z][\w'-]+){0,2})\b")
_ZH_NAME = re.compile(
    rf"^(?:我|用户)?的?(?:(?:名字|姓名|全名)(?:叫做|叫|是)|名叫|叫做|叫)([{HAN}]{{2,4}})(?![{HAN}])")
_ZH_SURNAME = re.compile(rf"^(?:我|用户)?姓([{HAN}]{{1,2}})(?![{HAN}])")
# "我叫什么名字？" stored as said is a question, not a name.
_QUESTION = re.compile(r"什么|谁|啥|哪")
# How a Chinese speaker names someone by surname: 李阿姨, 王老师, 老李, 小王.
_ZH_HONORIFIC = ("阿姨|老师|先生|女士|太太|小姐|奶奶|爷爷|叔叔|伯伯|大爷|大妈|大姐|大哥|师傅|老板|医生|"
                 "总|姐|哥")
_EN_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Dr)\.? )?"
# The terms that find name facts in the keyword index ("Name is" stems to "name").
NAME_TERMS = ("name", "called", "名字", "名叫", "叫", "姓", "姓名")
MAX_NAME_FACTS = 200


def names_in(fact: str) -> list[str]:
    """The user's names a fact says ("Name is Anna Schmidt" -> ["Anna Schmidt"], "姓李" ->
    ["李"]); [] for any other fact."""
    text = fact.strip()
    for pattern in (_EN_NAME, _ZH_NAME, _ZH_SURNAME):
        m = pattern.match(text)
        if m and not _QUESTION.search(m.group(1)):
            return [m.group(1)]
    return []


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every way a query may name the user, longest first."""
    forms: set[str] = set()
    for name in names:
        if re.fullmatch(rf"[{HAN}]+", name):
            if len(name) >= 2:
                forms.add(rf"{re.escape(name)}(?:{_ZH_HONORIFIC})?的?")
            # By surname: 李阿姨, 王老师, 老李 (not 小李: 小王子 is no one's name).
            surname = re.escape(name[0] if len(name) in (2, 3) else name)
            forms.add(rf"(?:老{surname}|{surname}(?:{_ZH_HONORIFIC}))的?")
        else:
            for part in {name, *name.split()}:
                forms.add(rf"\b{_EN_TITLE}{re.escape(part)}(?:'s|’s)?\b")
    if not forms:
        return None
    return re.compile("|".join(sorted(forms, key=len, reverse=True)))


def without_names(query: str, names: Iterable[str]) -> str:
    """``query`` with the user's own names taken out; unchanged when none is in it or when
    nothing would be left to search for ("Who is Anna?")."""
    pattern = _name_pattern(names)
    if pattern is None:
        return query
    out = pattern.sub(" ", query)
    if out == query:
        return query
    out = re.sub(r"\s{2,}", " ", out).strip()
    out = re.sub(r"^[\s,，、]+|\s+(?=[?？.!。])", "", out)
    return out if query_terms(out) else query


class SelfNames:
    """Each user's own names, read from their name facts and kept until their facts change."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._cache: dict[str, tuple[int, tuple[str, ...]]] = {}

    def forget(self, user_id: str | None) -> None:
        """Drop a forgotten user's names (``None``: everyone's)."""
        if user_id is None:
            self._cache.clear()
        else:
            self._cache.pop(user_id, None)

    async def of(self, user_id: str) -> tuple[str, ...]:
        partition = partition_of(user_id, FACT)
        generation = await self.store.generation(partition)
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] == generation:
            return cached[1]
        rows = await facts_with_words(self.store, user_id, NAME_TERMS, MAX_NAME_FACTS)
        found: list[str] = []
        # Newest first: a changed name is the one said last (both are taken out of queries).
        for row in sorted(rows, key=lambda r: r.created_at, reverse=True):
            for name in names_in(row.text):
                if name not in found:
                    found.append(name)
        names = tuple(found[:4])
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[user_id] = (generation, names)
        return names
