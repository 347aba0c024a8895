"""A turn's lookup: the facts and episodes a device's question gets in its prompt.

More than a search: when no fact matches, the user's newest facts ("What do you know about
me?" or "推荐点零食" matched nothing and the model answered blind: it offered nuts to a user it
knew to be allergic to peanuts); a question about food, drink or advice also gets the user's
allergies, diets and health facts (``standing``); episodes that say nothing about the user
(questions, commands, small talk) are left out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from daemon.memory.grounding import nothing_to_learn
from daemon.memory.inputs import require_scope
from daemon.memory.search import HybridSearch
from daemon.memory.standing import asks_for_care, care_facts
from daemon.memory.store import EPISODE, FACT, MemoryStore

# A turn's lookup that matched no fact gets this many of the user's newest facts instead.
FALLBACK_FACTS = 5


async def newest_facts(store: MemoryStore, user_id: str, n: int) -> list[dict[str, Any]]:
    """The user's ``n`` newest live facts, newest first: known before the user speaks, so a
    turn's prompt can start with them (``TurnRunner``'s read-ahead)."""
    if n <= 0:
        return []
    # Rows come in the order they were added; an UPDATE keeps its row but is newer.
    rows = await store.list(require_scope(user_id, None, None, FACT), None, limit=4 * n,
                            newest_first=True)
    facts = [r.public() for r in rows]
    facts.sort(key=lambda f: str(f.get("updated_at") or f.get("created_at") or ""), reverse=True)
    return facts[:n]


async def turn_lookup(
    searcher: HybridSearch, store: MemoryStore, query: str, *, user_id: str, facts: int,
    episodes: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The user's most relevant facts and episodes for ``query``, one query embedding."""
    # Episodes that are only questions, commands or small talk tell the model nothing
    # ("Earlier, the user told you: - 我女儿叫什么名字？"): twice as many are fetched and those
    # dropped (what the user asked is still searchable: ``search(kind="episode")``).
    wanted = [(k, n) for k, n in ((FACT, facts), (EPISODE, episodes * 2)) if n > 0]
    if not query.strip() or not wanted:
        return [], []
    scopes = [require_scope(user_id, None, None, k) for k, _ in wanted]
    # The standing facts' lookup (keywords only) runs while the question is embedded.
    care = asyncio.ensure_future(care_facts(store, user_id)) \
        if facts > 0 and asks_for_care(query) else None
    try:
        found = dict(zip(
            [k for k, _ in wanted],
            await searcher.search_kinds(query, scopes, None, [n for _, n in wanted],
                                        device=True),
        ))
    except BaseException:
        if care is not None:
            care.cancel()
        raise
    facts_found = found.get(FACT, [])
    if not facts_found and facts > 0:
        scope = require_scope(user_id, None, None, FACT)
        rows = await store.list(scope, None, limit=min(facts, FALLBACK_FACTS), newest_first=True)
        facts_found = [r.public() for r in rows]
    if care is not None:
        shown = {f["id"] for f in facts_found}
        facts_found += [r.public() for r in await care if r.id not in shown]
    said = [e for e in found.get(EPISODE, []) if not nothing_to_learn(e["memory"])]
    return facts_found, said[:episodes]
