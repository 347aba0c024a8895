"""Pure scoring for bench/learning_bench.py: load and check the learning workload, match
expected facts against live memories, and sum the figures. No models, no I/O but reading JSON.

Matching: an expectation (one entry of ``expect_live``, ``expect_gone``, ``also_ok``,
``assistant_facts``, or a question's ``answer``) is a list of alternatives; it matches a memory
text when any alternative does. An alternative is ``part+part+!part``: every plain part must be
a case-insensitive substring of the text and no ``!`` part may be (``"哥哥+深圳"``: both in the
same memory; ``"Manchester+!Edinburgh"``: the old city, unless the memory is about the move).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.text import has_han

DATA = Path(__file__).resolve().parent / "data"
SPLITS = ("dev", "test")
LANGS = ("zh", "en")
CATEGORIES = (
    "single", "multi", "correction", "contradiction", "duplicate", "no_fact", "third_party",
    "relative_date", "assistant_context",
)
TOP_K = 5
Alternatives = Sequence[str]


def split_path(split: str) -> Path:
    return DATA / f"learning_{split}.json"


def load_split(split: str) -> list[dict[str, Any]]:
    return list(json.loads(split_path(split).read_text(encoding="utf-8")))


def validate(scenarios: Sequence[dict[str, Any]]) -> list[str]:
    """Problems with one split's scenarios ([] = fine)."""
    errors: list[str] = []
    seen: set[str] = set()
    for s in scenarios:
        sid = str(s.get("id", "?"))
        if sid in seen:
            errors.append(f"{sid}: duplicate id")
        seen.add(sid)
        if s.get("lang") not in LANGS:
            errors.append(f"{sid}: lang must be one of {LANGS}")
        if s.get("category") not in CATEGORIES:
            errors.append(f"{sid}: unknown category {s.get('category')!r}")
        turns = s.get("turns") or []
        if not turns:
            errors.append(f"{sid}: no turns")
        for t in turns:
            if not str(t.get("user", "")).strip():
                errors.append(f"{sid}: a turn without user text")
            try:
                datetime.fromisoformat(str(t.get("at")))
            except ValueError:
                errors.append(f"{sid}: bad 'at' {t.get('at')!r}")
        ats = [str(t.get("at")) for t in turns]
        if ats != sorted(ats):
            errors.append(f"{sid}: turns out of time order")
        for key in ("expect_live", "expect_gone", "also_ok", "assistant_facts"):
            for entry in s.get(key, []):
                if not entry or not all(isinstance(a, str) and a.strip("+! ") for a in entry):
                    errors.append(f"{sid}: {key} entry {entry!r} is not a list of keywords")
        live = s.get("expect_live")
        if not isinstance(live, list):
            errors.append(f"{sid}: expect_live missing")
        elif (s.get("category") == "no_fact") != (not live):
            errors.append(f"{sid}: no_fact scenarios, and only they, expect no live fact")
        if s.get("expect_gone") and s.get("category") not in (
                "correction", "contradiction", "assistant_context"):
            errors.append(f"{sid}: expect_gone only for corrections and contradictions")
        ref = s.get("reference", [])
        if not isinstance(ref, list) or not all(isinstance(r, str) for r in ref):
            errors.append(f"{sid}: reference must be a list of memory texts")
        questions = s.get("questions") or []
        if live and not questions:
            errors.append(f"{sid}: a scenario with facts needs a question")
        for q in questions:
            if not str(q.get("q", "")).strip() or not q.get("answer"):
                errors.append(f"{sid}: question without text or answer")
    return errors


# -- matching ---------------------------------------------------------------------------------


def matches(alternative: str, text: str) -> bool:
    """``a+b+!c``: a and b in text, c not (case-insensitive)."""
    low = text.lower()
    parts = [p.strip().lower() for p in alternative.split("+") if p.strip()]
    return bool(parts) and all(
        (p[1:] not in low) if p.startswith("!") else (p in low) for p in parts
    )


def match_any(alternatives: Alternatives, text: str) -> bool:
    return any(matches(a, text) for a in alternatives)


def holders(alternatives: Alternatives, texts: Sequence[str]) -> list[int]:
    """Indexes of the texts that the expectation matches."""
    return [i for i, t in enumerate(texts) if match_any(alternatives, t)]


_ENGLISH_GLUE = re.compile(
    r"(?<![A-Za-z])(is|are|was|has|have|had|likes?|loves?|lives?|works?|name|the|to|in|at|"
    r"of|and|with|user)(?![A-Za-z])", re.IGNORECASE)


def mixed_language(text: str) -> bool:
    """Chinese in an English template ("Name is刘芳", "Lives in厦门"); names such as iPhone, N3
    or BYD do not count."""
    return has_han(text) and _ENGLISH_GLUE.search(text) is not None


def language_kept(lang: str, text: str) -> bool:
    """A zh memory holds Chinese characters; an en memory holds none."""
    return has_han(text) if lang == "zh" else not has_han(text)


def hit_at(answer: Alternatives, texts: Sequence[str], k: int = TOP_K) -> bool:
    return any(match_any(answer, t) for t in texts[:k])


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- one scenario -----------------------------------------------------------------------------


@dataclass
class ScenarioScore:
    id: str
    lang: str
    category: str
    live: list[str]
    right: int = 0
    missed: list[list[str]] = field(default_factory=list)
    hallucinated: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    from_assistant: list[str] = field(default_factory=list)
    wrong_language: list[str] = field(default_factory=list)
    mixed_language: list[str] = field(default_factory=list)  # zh only; kept, but half English
    no_fact_facts: int = 0
    resolved: bool | None = None  # scenarios with expect_gone only
    merged: bool | None = None  # duplicates only: each expected fact held by one memory

    @property
    def expected(self) -> int:
        return self.right + len(self.missed)

    @property
    def lang_kept(self) -> int:
        return len(self.live) - len(self.wrong_language)

    @property
    def failed(self) -> bool:
        return bool(self.missed or self.hallucinated or self.stale or self.from_assistant
                    or self.wrong_language or self.mixed_language or self.resolved is False
                    or self.merged is False)


def score_scenario(scenario: dict[str, Any], live: Sequence[str]) -> ScenarioScore:
    """Score the live fact texts left at the end of a scenario."""
    live = [t for t in live if t.strip()]
    sc = ScenarioScore(str(scenario["id"]), str(scenario["lang"]), str(scenario["category"]),
                       list(live))
    expect = scenario.get("expect_live", [])
    gone = scenario.get("expect_gone", [])
    ok = scenario.get("also_ok", [])
    assistant = scenario.get("assistant_facts", [])
    held: list[list[int]] = [holders(e, live) for e in expect]
    for entry, h in zip(expect, held):
        if h:
            sc.right += 1
        else:
            sc.missed.append(list(entry))
    for text in live:
        is_stale = any(match_any(g, text) for g in gone)
        if is_stale:
            sc.stale.append(text)
        if any(match_any(a, text) for a in assistant):
            sc.from_assistant.append(text)
        if not is_stale and not any(match_any(e, text) for e in list(expect) + list(ok)):
            sc.hallucinated.append(text)
        if not language_kept(sc.lang, text):
            sc.wrong_language.append(text)
        elif sc.lang == "zh" and mixed_language(text):
            sc.mixed_language.append(text)
    if sc.category == "no_fact":
        sc.no_fact_facts = len(live)
    if gone:
        sc.resolved = not sc.stale and not sc.missed
    if sc.category == "duplicate":
        sc.merged = all(len(h) == 1 for h in held)
    return sc


# -- totals -----------------------------------------------------------------------------------


@dataclass
class Totals:
    scenarios: int = 0
    expected: int = 0
    right: int = 0
    missed: int = 0
    hallucinated: int = 0
    stale: int = 0
    from_assistant: int = 0
    no_fact_facts: int = 0
    live: int = 0
    lang_kept: int = 0
    mixed_language: int = 0
    gone_scenarios: int = 0
    resolved: int = 0
    dup_scenarios: int = 0
    merged: int = 0
    questions: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # kind -> questions hit@5
    hits_measured: dict[str, int] = field(default_factory=dict)  # kind -> questions searched


def totals(scores: Iterable[ScenarioScore],
           hits: Iterable[tuple[str, str, bool | None]] = ()) -> Totals:
    """Sum scenario scores; ``hits`` holds (lang, kind, hit or None = not measured)."""
    t = Totals()
    for s in scores:
        t.scenarios += 1
        t.expected += s.expected
        t.right += s.right
        t.missed += len(s.missed)
        t.hallucinated += len(s.hallucinated)
        t.stale += len(s.stale)
        t.from_assistant += len(s.from_assistant)
        t.no_fact_facts += s.no_fact_facts
        t.live += len(s.live)
        t.lang_kept += s.lang_kept
        t.mixed_language += len(s.mixed_language)
        if s.resolved is not None:
            t.gone_scenarios += 1
            t.resolved += s.resolved
        if s.merged is not None:
            t.dup_scenarios += 1
            t.merged += s.merged
    for _lang, kind, hit in hits:
        if hit is None:
            continue
        t.hits_measured[kind] = t.hits_measured.get(kind, 0) + 1
        t.hits[kind] = t.hits.get(kind, 0) + int(hit)
    t.questions = max(t.hits_measured.values(), default=0)
    return t


def by_language(scores: Sequence[ScenarioScore],
                hits: Sequence[tuple[str, str, bool | None]]) -> dict[str, Totals]:
    out = {lang: totals([s for s in scores if s.lang == lang], [h for h in hits if h[0] == lang])
           for lang in LANGS}
    out["all"] = totals(scores, hits)
    return out


def ratio(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "n/a"


HIT_KINDS = ("fact", "episode", "all", "raw")
HIT_LABELS = {"fact": "hit@5 facts only", "episode": "hit@5 episodes only",
              "all": "hit@5 combined", "raw": "hit@5 raw utterances (baseline)"}


def figure_rows(t: Totals) -> list[tuple[str, str]]:
    rows = [
        ("scenarios", str(t.scenarios)),
        ("facts right", ratio(t.right, t.expected)),
        ("facts missed", str(t.missed)),
        ("hallucinated facts", str(t.hallucinated)),
        ("stale facts still live", str(t.stale)),
        ("facts in no-fact scenarios (goal 0)", str(t.no_fact_facts)),
        ("facts from the assistant's line (goal 0)", str(t.from_assistant)),
        ("language kept", ratio(t.lang_kept, t.live)),
        ("  of them Chinese with English words", str(t.mixed_language)),
        ("contradictions resolved (goal >= 90%)", ratio(t.resolved, t.gone_scenarios)),
        ("duplicates kept once", ratio(t.merged, t.dup_scenarios)),
    ]
    for kind in HIT_KINDS:
        rows.append((HIT_LABELS[kind], ratio(t.hits.get(kind, 0), t.hits_measured.get(kind, 0))))
    return rows


def figures_table(groups: dict[str, Totals]) -> str:
    """Plain-text table: one row per figure, one column per language and overall."""
    cols = list(groups)
    rows = {name: [] for name, _ in figure_rows(Totals())}
    for c in cols:
        for name, value in figure_rows(groups[c]):
            rows[name].append(value)
    w0 = max(len(n) for n in rows)
    widths = [max(len(c), *(len(v[i]) for v in rows.values())) for i, c in enumerate(cols)]
    lines = ["  ".join([" " * w0] + [c.rjust(w) for c, w in zip(cols, widths)])]
    for name, values in rows.items():
        lines.append("  ".join([name.ljust(w0)] + [v.rjust(w) for v, w in zip(values, widths)]))
    return "\n".join(lines)


def category_line(scores: Sequence[ScenarioScore]) -> str:
    """Scenarios without any failure, per category: ``single 3/4, multi 6/6, ...``."""
    parts = []
    for cat in CATEGORIES:
        mine = [s for s in scores if s.category == cat]
        if mine:
            parts.append(f"{cat} {sum(not s.failed for s in mine)}/{len(mine)}")
    return "clean scenarios per category: " + ", ".join(parts)


def failure_lines(scenario: dict[str, Any], s: ScenarioScore) -> list[str]:
    """What went wrong in one scenario, for a human to read."""
    out = [f"{s.id} [{s.category}]"]
    for t in scenario["turns"]:
        before = f" (assistant before: {t['assistant_before']})" if t.get("assistant_before") else ""
        out.append(f"    {t['at']} user: {t['user']}{before}")
    out.append(f"    live: {s.live if s.live else '(none)'}")
    if s.missed:
        out.append(f"    missed: {s.missed}")
    if s.hallucinated:
        out.append(f"    hallucinated: {s.hallucinated}")
    if s.stale:
        out.append(f"    stale (expected gone): {s.stale}")
    if s.from_assistant:
        out.append(f"    from the assistant's line: {s.from_assistant}")
    if s.wrong_language:
        out.append(f"    not in the scenario's language ({s.lang}): {s.wrong_language}")
    if s.mixed_language:
        out.append(f"    Chinese with English words: {s.mixed_language}")
    if s.merged is False:
        out.append("    duplicate kept more than once (or missed)")
    return out


def as_dict(t: Totals) -> dict[str, Any]:
    return asdict(t)
