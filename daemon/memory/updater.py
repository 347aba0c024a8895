"""UpdateDecider: ADD / UPDATE / DELETE / NONE for one new fact against its nearest memories.

Existing memories are shown to the LLM under small integer ids ("0", "1", ...) that map back
to real ids only through the table built here, so a hallucinated or foreign id can never touch
a memory that was not shown (i.e. one of another user).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel, field_validator

from daemon.llm.base import ChatLLM
from daemon.memory.llm_json import LLMOutputError, ask_json
from daemon.memory.negation import contradicts, objects
from daemon.memory.prompts import (
    MAX_FACT_CHARS,
    SAME_SCHEMA,
    decision_messages,
    decision_schema,
    same_thing_messages,
)
from daemon.memory.replacing import about_home, about_job, moved, replaces
from daemon.memory.subjects import names_someone

log = logging.getLogger(__name__)

Event = Literal["ADD", "UPDATE", "DELETE", "NONE"]
MAX_DENIED = 2  # memories one fact may close by rule (one same-topic call each)


class Action(BaseModel):
    event: Event
    id: str = ""
    text: str = ""

    @field_validator("event", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: object) -> str:
        return "" if v is None else str(v).strip()

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, v: object) -> str:
        return " ".join(str(v or "").split())[:MAX_FACT_CHARS]


class Decision(BaseModel):
    actions: list[Action]


class Same(BaseModel):
    same: bool
    old_topic: str = ""
    new_topic: str = ""


@dataclass(frozen=True)
class Neighbour:
    memory_id: str
    text: str
    score: float
    said_at: str = ""  # when it was learned: facts of one utterance share it


@dataclass(frozen=True)
class Decided:
    """A validated action on a real memory id (None for ADD)."""

    event: Event
    memory_id: str | None
    text: str
    # Changed by a rule the same-topic check confirmed (a denial, a new job, a move), whether the
    # rule proposed it or agrees with the model: trusted however related the memory is to the
    # fact (the decision margin is not asked).
    by_rule: bool = False


class UpdateDecider:
    def __init__(
        self, llm: ChatLLM, *, max_tokens: int = 256, timeout_s: float = 120.0, retries: int = 2
    ) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.retries = retries

    async def decide(self, fact: str, neighbours: Sequence[Neighbour], *, move_said: bool = False
                     ) -> tuple[list[Decided], int]:
        """Validated decisions and the LLM calls made (raises LLMOutputError on bad output).
        ``move_said``: the user's words said they moved (see ``moved_with``)."""
        table = {str(i): n for i, n in enumerate(neighbours)}
        messages = decision_messages(fact, [(k, n.text) for k, n in table.items()])
        decision, calls = await ask_json(
            self.llm, messages, decision_schema(len(table)), Decision, max_tokens=self.max_tokens,
            timeout_s=self.timeout_s, retries=self.retries, what="memory decision",
        )
        log.debug("decide %r against %s -> %s", fact, [n.text for n in neighbours],
                  [a.model_dump() for a in decision.actions])
        out: list[Decided] = []
        checked: dict[str, bool] = {}  # memory id -> same topic as the fact
        valid = validate_actions(fact, decision.actions, table)
        texts = {n.memory_id: n.text for n in neighbours}
        for d in valid:
            if d.event in ("UPDATE", "DELETE") and d.memory_id is not None:
                checked[d.memory_id], more = await self.same_thing(texts[d.memory_id], fact)
                calls += more
        # What the confirmed changes replace ("Manchester" in "Lives in Manchester" when the
        # fact is "Moved to Edinburgh"): a second memory of the old value that the model also
        # changed goes with it ("Partner is also in Manchester" after "we moved").
        replaced = set().union(*[objects(texts[i]) for i, ok in checked.items() if ok]) \
            - objects(fact)
        for d in valid:
            if d.event in ("UPDATE", "DELETE") and d.memory_id is not None \
                    and not checked[d.memory_id]:
                if replaced & objects(texts[d.memory_id]):
                    log.info("a second memory of the replaced value changes with it")
                    if d.event == "UPDATE" and any(_norm(x.text) == _norm(d.text) for x in valid
                                                   if x is not d and x.event == "UPDATE"):
                        d = Decided("DELETE", d.memory_id, texts[d.memory_id])
                    out.append(d)
                    continue
                # Seen with Qwen2.5-1.5B: "Works as a software engineer" UPDATEd
                # "Name is Li Ming". A second, yes/no question catches such a target.
                log.info("the model would %s a memory about something else: %s",
                         d.event, "the fact is added instead" if d.event == "UPDATE"
                         else "ignored")
                if d.event == "UPDATE" and all(x.text != fact for x in out):
                    out.append(Decided("ADD", None, fact))
                continue
            if d.event in ("UPDATE", "DELETE") and d.memory_id is not None:
                old = texts[d.memory_id]
                if replaces(fact, old):
                    # The new value takes the old one's place; an UPDATE that keeps the old
                    # value's details is a blend, and the fact is stored instead ("Job is junior
                    # architect at the café in the train station" was the 1.5B's UPDATE of "Job
                    # is barista at the café…" for "Got the job as a junior architect").
                    # Jobs only: a home's restatement ("房子在合肥" for "搬回老家合肥") keeps
                    # the attribute's own word, which is no blend.
                    blend = (d.event == "UPDATE" and about_job(fact) and about_job(old)
                             and bool(objects(d.text) & (objects(old) - objects(fact))))
                    d = replace(d, text=fact if blend else d.text, by_rule=True)
                elif contradicts(fact, texts[d.memory_id]):
                    d = replace(d, by_rule=True)  # the model, a rule and the check agree
            out.append(d)
        more, extra = await self._contradicted(fact, neighbours, out, checked)
        more = denied_with(fact, neighbours, more)
        return one_copy(moved_with(fact, neighbours, more, move_said=move_said)), calls + extra

    async def _contradicted(self, fact: str, neighbours: Sequence[Neighbour],
                            decided: list[Decided], checked: dict[str, bool],
                            ) -> tuple[list[Decided], int]:
        """``decided`` plus the closing of memories the model left live that the fact denies
        (daemon.memory.negation) or replaces as the one value of an attribute (a home, a job:
        daemon.memory.replacing): the first is UPDATEd to the fact, others DELETEd."""
        done = {d.memory_id for d in decided if d.event in ("UPDATE", "DELETE")}
        candidates = [n for n in neighbours if n.memory_id not in done
                      and checked.get(n.memory_id, True)
                      and (contradicts(fact, n.text) or replaces(fact, n.text))]
        calls = 0
        out = list(decided)
        for n in candidates[:MAX_DENIED]:
            same = checked.get(n.memory_id)
            if same is None:
                same, more = await self.same_thing(n.text, fact)
                calls += more
            if not same:
                continue
            log.info("a new fact denies or replaces a memory the model kept live: it is closed")
            out = [d for d in out if not (d.event == "NONE" and d.memory_id == n.memory_id)]
            carried = any(d.event in ("ADD", "UPDATE") and _norm(d.text) == _norm(fact)
                          for d in out)
            if not carried and any(d.event == "UPDATE" for d in out):
                # The fact already replaced a memory in other words ("住杭州" -> "住成都"):
                # a second memory of the old value is closed, not turned into a copy.
                out.append(Decided("DELETE", n.memory_id, n.text, by_rule=True))
            elif not carried:
                out.append(Decided("UPDATE", n.memory_id, fact, by_rule=True))
            else:
                out = [Decided("UPDATE", n.memory_id, fact, by_rule=True) if d.event == "ADD"
                       and _norm(d.text) == _norm(fact) else d for d in out]
                if all(d.memory_id != n.memory_id for d in out):
                    out.append(Decided("DELETE", n.memory_id, n.text, by_rule=True))
        return out, calls

    async def same_thing(self, old: str, new: str) -> tuple[bool, int]:
        """Whether ``new`` may replace ``old`` (same person, same attribute); no when the
        model cannot say."""
        try:
            answer, calls = await ask_json(
                self.llm, same_thing_messages(old, new), SAME_SCHEMA, Same, max_tokens=80,
                timeout_s=self.timeout_s, retries=self.retries, what="same-thing check",
            )
        except LLMOutputError:
            return False, self.retries + 1
        log.debug("same thing? %r (%s) / %r (%s) -> %s", old, answer.old_topic, new,
                  answer.new_topic, answer.same)
        return answer.same, calls


def moved_with(fact: str, neighbours: Sequence[Neighbour], decided: list[Decided], *,
               move_said: bool = False) -> list[Decided]:
    """``decided`` plus DELETEs for the other memories of a home that a move closed, learned in
    the same utterance: "我在杭州租了个房子，房子在滨江区" gave two facts; after "我从杭州搬回老家合肥了"
    the model closed the first and judged "租房子在滨江区" (rented place) a different topic from
    where the user lives (seen with Qwen2.5-Coder-1.5B). Said together, they were one home.

    ``move_said``: the user's words said a move even if the fact does not ("我已经从成都搬回老家
    西安了" was extracted as "现在在老家西安" and replaced "现在在成都租房住", leaving
    "房子在高新区" live). A home of someone else said alongside ("住成都，妈妈住北京") stays."""
    if not (move_said or moved(fact)):
        return decided
    siblings = said_with(neighbours, decided, about_home)
    if siblings:
        log.info("a move closes %d more memories of the old home, said with the closed one",
                 len(siblings))
    gone = {n.memory_id for n in siblings}
    return [d for d in decided if d.memory_id not in gone] + [
        Decided("DELETE", n.memory_id, n.text, by_rule=True) for n in siblings]


def said_with(neighbours: Sequence[Neighbour], decided: list[Decided],
              kind: Callable[[str], bool]) -> list[Neighbour]:
    """The memories not closed by ``decided`` that are of ``kind`` and were said together with
    a closed memory of ``kind`` (the same moment, and both the user's or both someone else's)."""
    closed = {d.memory_id for d in decided if d.event in ("UPDATE", "DELETE")}
    said = {(n.said_at, names_someone(n.text)) for n in neighbours
            if n.memory_id in closed and n.said_at and kind(n.text)}
    return [n for n in neighbours if n.memory_id not in closed and kind(n.text)
            and (n.said_at, names_someone(n.text)) in said]


def denied_with(fact: str, neighbours: Sequence[Neighbour], decided: list[Decided]
                ) -> list[Decided]:
    """``decided`` plus DELETEs for memories said together with one the fact denied, about the
    same thing: "我最喜欢的运动是游泳，一周游三次。" gave two facts; "我现在不游泳了" closed the first
    and the model judged "一周游三次" (how often) another topic than the denial, so the user
    still swam three times a week. Someone else's memory said alongside stays."""
    siblings = said_with(neighbours, decided, lambda text: contradicts(fact, text))
    if siblings:
        log.info("a denial closes %d more memories of the same thing, said with the denied one",
                 len(siblings))
    return decided + [Decided("DELETE", n.memory_id, n.text, by_rule=True) for n in siblings]


def one_copy(decided: list[Decided]) -> list[Decided]:
    """``decided`` with the new text kept once: seen with Qwen2.5-Coder-1.5B, a move UPDATEd
    both "住在成都" and "房子在高新区" to "已经从成都搬回老家西安". The first UPDATE carries it; a
    later UPDATE to the same text closes its memory instead, and an ADD of it is dropped."""
    out: list[Decided] = []
    carried: set[str] = set()
    for d in decided:
        if d.event == "UPDATE" and _norm(d.text) in carried:
            out.append(replace(d, event="DELETE"))
            continue
        if d.event == "ADD" and _norm(d.text) in carried:
            continue
        if d.event in ("UPDATE", "ADD"):
            carried.add(_norm(d.text))
        out.append(d)
    return out


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".。")


def validate_actions(
    fact: str, actions: Sequence[Action], table: dict[str, Neighbour]
) -> list[Decided]:
    out: list[Decided] = []
    touched: set[str] = set()
    for action in actions[:3]:
        if action.event == "ADD" and any(
                d.event == "UPDATE" and _norm(d.text) == _norm(action.text or fact) for d in out):
            continue  # the fact already replaced a memory (see the UPDATE rule below)
        if action.event == "ADD":
            text = action.text or fact
            if all(d.text != text for d in out):
                out.append(Decided("ADD", None, text))
            continue
        target = table.get(action.id)
        if action.event == "DELETE" and action.text:
            # Small models name one memory and quote another: trust the quoted text when it is
            # exactly one of the memories shown.
            quoted = _norm(action.text)
            same = [n for n in table.values() if _norm(n.text) == quoted]
            if same and (target is None or _norm(target.text) != quoted):
                target = same[0]
        if target is None:
            log.warning("ignored %s with unknown id %r (not among the memories shown)",
                        action.event, action.id[:20])
            continue
        if target.memory_id in touched:
            continue
        touched.add(target.memory_id)
        if action.event == "UPDATE":
            text = action.text or fact
            if _norm(text) == _norm(target.text):
                # Small models name the memory to replace and copy its OLD text: the new
                # fact is what replaces it.
                text = fact
            if _norm(text) != _norm(target.text):
                out.append(Decided("UPDATE", target.memory_id, text))
        elif action.event == "DELETE":
            out.append(Decided("DELETE", target.memory_id, target.text))
        else:
            out.append(Decided("NONE", target.memory_id, target.text))
    return out
