#!/usr/bin/env python3
"""Generate the retrieval dev/test sets (bench/data/retrieval_{dev,test}.json) from templates.

Long multi-session dialogues (English and Chinese) between a user and an assistant, dated turns,
mostly chit-chat and near-topic distractors, with facts planted in user turns and questions
whose gold evidence turn ids are known. Question wording is drawn from paraphrases that avoid
the evidence's words where a real user would ("what's my dog called" about "we adopted a puppy
named Biscuit"). Seeded and deterministic: running it twice writes the same files.

Question types: single-hop, multi-hop (two evidence turns), temporal ("when did I ...", "where
did I ... most recently": the latest of several similar turns is the gold one), open-domain
(preferences: the question names no word of the evidence).

Usage: python bench/make_retrieval_data.py   (writes both files)
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from retrieval_templates import EN, ZH  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parent / "data"
SEED = 15
SESSIONS = 26
TURNS_PER_SESSION = 18  # user + assistant turns alternate
SPLITS = {"dev": {"en": range(0, 6), "zh": range(0, 4)},
          "test": {"en": range(6, 9), "zh": range(4, 6)}}


def _fill(text: str, slots: dict[str, str]) -> str:
    return text.format(**slots)


def _pick_slots(bank: dict[str, Any], rng: random.Random) -> dict[str, str]:
    """One persona: a value for every slot, distinct values for slots sharing a pool."""
    out: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    for slot, pool in bank["slots"].items():
        key = pool if isinstance(pool, str) else slot
        values = bank["pools"][pool] if isinstance(pool, str) else pool
        taken = used.setdefault(key, set())
        choice = rng.choice([v for v in values if v not in taken])
        taken.add(choice)
        out[slot] = choice
    return out


def _filler(bank: dict[str, Any], rng: random.Random, slots: dict[str, str], role: str) -> str:
    if role == "assistant":
        return rng.choice(bank["assistant"])
    if rng.random() < 0.25:  # near-topic distractor: same words, someone else's life
        return _fill(rng.choice(bank["distractors"]), {**slots, **_pick_slots(bank, rng)})
    a, b = rng.choice(bank["chitchat_a"]), rng.choice(bank["chitchat_b"])
    return (a + " " + b) if bank["lang"] == "en" else a + b


def conversation(bank: dict[str, Any], number: int) -> dict[str, Any]:
    rng = random.Random(f"{SEED}:{bank['lang']}:{number}")
    lang = bank["lang"]
    cid = f"{lang}-{number}"
    slots = _pick_slots(bank, rng)
    # Dates: sessions every 4-12 days from a per-conversation start.
    start = datetime(2025, 1, 5, 9, 0) + timedelta(days=rng.randrange(0, 60))
    days, day = [], start
    for _ in range(SESSIONS):
        days.append(day)
        day += timedelta(days=rng.randrange(4, 13), hours=rng.randrange(-3, 4))
    # Each fact: list of evidence utterances that must go in increasing sessions.
    plan: list[tuple[dict[str, Any], list[str]]] = []
    for fact in bank["facts"]:
        steps = [_fill(rng.choice(options), slots) for options in fact["say"]]
        plan.append((fact, steps))
    # Place every step in a random user slot of a session, ordered within a fact.
    user_slots = [(s, t) for s in range(SESSIONS) for t in range(0, TURNS_PER_SESSION, 2)]
    taken: set[tuple[int, int]] = set()
    placed: list[tuple[dict[str, Any], list[tuple[int, int]]]] = []
    for fact, steps in plan:
        n = len(steps)
        while True:
            sessions = sorted(rng.sample(range(SESSIONS), n))
            spots = [(s, rng.randrange(0, TURNS_PER_SESSION, 2)) for s in sessions]
            if not any(sp in taken for sp in spots):
                break
        taken.update(spots)
        placed.append((fact, spots))
    text_at: dict[tuple[int, int], str] = {}
    for (_fact, spots), (_, steps) in zip(placed, plan):
        for spot, step in zip(spots, steps):
            text_at[spot] = step
    turns, ids = [], {}
    for s in range(SESSIONS):
        moment = days[s]
        for t in range(TURNS_PER_SESSION):
            role = "user" if t % 2 == 0 else "assistant"
            text = text_at.get((s, t)) or _filler(bank, rng, slots, role)
            tid = f"{cid}:s{s}:t{t}"
            ids[(s, t)] = tid
            moment += timedelta(seconds=rng.randrange(20, 90))
            turns.append({"id": tid, "speaker": role, "date": moment.isoformat(), "text": text})
    questions = []
    for fact, spots in placed:
        gold = [ids[sp] for sp in spots]
        if fact["type"] == "temporal-latest":
            gold = gold[-1:]  # only the latest of the similar turns answers it
        asks = rng.sample(fact["ask"], min(len(fact["ask"]), fact.get("n", 2)))
        for q in asks:
            questions.append({
                "id": f"{cid}:q{len(questions)}",
                "type": "temporal" if fact["type"] == "temporal-latest" else fact["type"],
                "question": _fill(q, slots),
                "evidence": gold,
            })
    assert len(set(user_slots)) >= len(taken)
    return {"id": cid, "lang": lang, "user_id": cid, "turns": turns, "questions": questions}


def build() -> dict[str, dict[str, Any]]:
    banks = {"en": EN, "zh": ZH}
    out = {}
    for split, langs in SPLITS.items():
        convs = [conversation(banks[lang], n) for lang, numbers in langs.items() for n in numbers]
        out[split] = {
            "about": "generated by bench/make_retrieval_data.py (seeded); do not edit by hand",
            "conversations": convs,
        }
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for split, data in build().items():
        path = OUT / f"retrieval_{split}.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        n_q = sum(len(c["questions"]) for c in data["conversations"])
        n_t = sum(len(c["turns"]) for c in data["conversations"])
        print(f"{path.name}: {len(data['conversations'])} conversations, {n_t} turns, "
              f"{n_q} questions")


if __name__ == "__main__":
    main()
