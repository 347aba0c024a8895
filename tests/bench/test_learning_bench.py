"""Fast checks of bench/learning_bench.py: the learning workload files (size, languages,
categories, dev/test kept apart), the scoring on hand-made memories, and one scenario through
the bench's plumbing with a fake memory. The benchmark itself (real models) is not run here."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ls = _load("learning_score")
lb = _load("learning_bench")


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict[str, Any]]]:
    return {split: ls.load_split(split) for split in ls.SPLITS}


# -- the workload -----------------------------------------------------------------------------


def test_both_splits_are_valid(splits: dict[str, list[dict[str, Any]]]) -> None:
    for split, scenarios in splits.items():
        assert ls.validate(scenarios) == [], split


def test_workload_size_languages_and_categories(splits: dict[str, list[dict[str, Any]]]) -> None:
    everything = splits["dev"] + splits["test"]
    assert len(everything) >= 80
    assert sum(s["lang"] == "zh" for s in everything) >= 40
    ids = [s["id"] for s in everything]
    assert len(ids) == len(set(ids)), "an id is used twice (within or across splits)"
    assert not {s["id"] for s in splits["dev"]} & {s["id"] for s in splits["test"]}
    n_dev, n_test = len(splits["dev"]), len(splits["test"])
    assert abs(n_dev - n_test) <= 0.2 * (n_dev + n_test)  # about 50/50
    for split, scenarios in splits.items():
        for lang in ls.LANGS:
            cats = Counter(s["category"] for s in scenarios if s["lang"] == lang)
            assert set(cats) == set(ls.CATEGORIES), (split, lang, cats)


def test_every_scenario_with_facts_has_a_question(
        splits: dict[str, list[dict[str, Any]]]) -> None:
    for s in splits["dev"] + splits["test"]:
        assert bool(s["expect_live"]) == (s["category"] != "no_fact"), s["id"]
        if s["expect_live"]:
            assert s["questions"], s["id"]
        if s["category"] in ("correction", "contradiction"):
            assert s["expect_gone"], s["id"]
        if s["category"] == "assistant_context":
            assert any(t.get("assistant_before") for t in s["turns"]), s["id"]


def test_no_expectation_matches_the_scenario_before_it_is_learnt(
        splits: dict[str, list[dict[str, Any]]]) -> None:
    """A stale fact said by the user must be matched by expect_gone, and the new value must
    not be: otherwise a correct memory would count as stale."""
    for s in splits["dev"] + splits["test"]:
        for entry in s["expect_live"]:
            for gone in s["expect_gone"]:
                for alt in entry:
                    assert not ls.match_any(gone, alt.replace("+", " ")), (s["id"], alt, gone)


def test_the_reference_memories_score_perfectly(
        splits: dict[str, list[dict[str, Any]]]) -> None:
    """Each scenario's ``reference`` (what an ideal engine keeps live) meets every expectation:
    the expectations are reachable and do not contradict one another."""
    for s in splits["dev"] + splits["test"]:
        score = ls.score_scenario(s, s["reference"])
        assert not score.failed, ls.failure_lines(s, score)
        assert score.right == len(s["expect_live"])
        assert score.lang_kept == len(s["reference"]), s["id"]
        for q in s["questions"]:
            assert ls.hit_at(q["answer"], s["reference"]), (s["id"], q["q"])
        if s["expect_gone"] and len(s["turns"]) > 1:  # the old value, said first, is caught
            assert ls.score_scenario(s, s["reference"] + [s["turns"][0]["user"]]).failed, s["id"]
        for t in s["turns"]:  # the assistant's line stored as a memory is caught
            if t.get("assistant_before"):
                assert ls.score_scenario(s, s["reference"] + [t["assistant_before"]]).failed, t


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.update(category="gossip"), "unknown category"),
    (lambda s: s.update(lang="fr"), "lang"),
    (lambda s: s.update(questions=[]), "needs a question"),
    (lambda s: s["turns"][0].update(at="yesterday"), "bad 'at'"),
    (lambda s: s.update(expect_live=[]), "no_fact scenarios"),
    (lambda s: s.update(category="single"), "expect_gone only"),
    (lambda s: s["turns"].reverse(), "time order"),
    (lambda s: s.update(reference="住在厦门"), "reference must be"),
])
def test_validator_reports_broken_scenarios(splits: dict[str, list[dict[str, Any]]],
                                            edit: Any, message: str) -> None:
    scenario = copy.deepcopy(next(s for s in splits["dev"] if s["id"] == "zh-move-01"))
    edit(scenario)
    problems = ls.validate([scenario, scenario | {"id": "other"}])
    assert any(message in p for p in problems), problems
    assert any("duplicate id" in p for p in ls.validate([scenario, scenario]))


# -- matching and scoring ---------------------------------------------------------------------


def test_alternatives_need_every_part_and_none_of_the_excluded() -> None:
    assert ls.matches("哥哥+深圳", "哥哥在深圳当程序员")
    assert not ls.matches("哥哥+深圳", "住在深圳")
    assert ls.matches("Manchester+!Edinburgh", "lives in manchester")
    assert not ls.matches("Manchester+!Edinburgh", "Moved from Manchester to Edinburgh")
    assert ls.match_any(["上海", "Shanghai"], "Lives in SHANGHAI")
    assert not ls.matches("+", "anything")


MOVE = {
    "id": "t-move", "lang": "en", "category": "contradiction",
    "turns": [{"at": "2026-01-01T10:00:00", "user": "I live in Leeds and I'm a nurse."},
              {"at": "2026-05-01T10:00:00", "user": "We moved to York last month.",
               "assistant_before": "York has a lovely minster."}],
    "expect_live": [["York"], ["nurse"]],
    "expect_gone": [["Leeds+!York"]],
    "also_ok": [["moved"]],
    "assistant_facts": [["minster"]],
    "questions": [{"q": "Where do I live?", "answer": ["York"]}],
}


def test_a_resolved_contradiction_scores_clean() -> None:
    s = ls.score_scenario(MOVE, ["Lives in York", "Works as a nurse", "Moved from Leeds to York"])
    assert (s.right, s.missed, s.hallucinated, s.stale) == (2, [], [], [])
    assert s.resolved is True and not s.failed
    assert s.lang_kept == 3


def test_a_stale_missed_and_invented_fact_are_each_counted() -> None:
    s = ls.score_scenario(MOVE, ["Lives in Leeds", "Has a cat", "York has a lovely minster", ""])
    assert s.right == 1  # "York" is in the assistant's fact
    assert s.missed == [["nurse"]]
    assert s.stale == ["Lives in Leeds"]
    assert s.hallucinated == ["Has a cat"]
    assert s.from_assistant == ["York has a lovely minster"]
    assert s.resolved is False and s.failed
    assert s.live == ["Lives in Leeds", "Has a cat", "York has a lovely minster"]


def test_no_fact_scenarios_duplicates_and_language() -> None:
    nofact = {"id": "t-q", "lang": "zh", "category": "no_fact", "turns": [], "expect_live": []}
    s = ls.score_scenario(nofact, ["明天会下雨", "Asked about rain"])
    assert s.no_fact_facts == 2 and len(s.hallucinated) == 2
    assert s.lang_kept == 1 and s.wrong_language == ["Asked about rain"]
    mixed = ls.score_scenario(nofact, ["Name is刘芳", "是O型血", "Lives in厦门", "用iPhone",
                                       "Likes to养花", "考N3"])
    assert mixed.lang_kept == 6
    assert mixed.mixed_language == ["Name is刘芳", "Lives in厦门", "Likes to养花"]
    assert "not in the scenario's language (zh): ['Asked about rain']" in "\n".join(
        ls.failure_lines(nofact | {"turns": [{"at": "2026-01-01T00:00:00", "user": "?"}]}, s))
    assert s.resolved is None and s.merged is None
    dup = {"id": "t-d", "lang": "zh", "category": "duplicate", "turns": [],
           "expect_live": [["素", "vegetarian"]], "also_ok": [["肉"]]}
    assert ls.score_scenario(dup, ["吃素", "不吃肉"]).merged is True
    assert ls.score_scenario(dup, ["吃素", "是素食主义者"]).merged is False
    assert ls.score_scenario(dup, ["不吃肉"]).merged is False  # missed


def test_hit_at_five_and_percentiles() -> None:
    texts = ["a", "b", "c", "d", "e", "Lives in York"]
    assert not ls.hit_at(["York"], texts)
    assert ls.hit_at(["york"], texts[1:])
    assert ls.percentile([], 50) is None
    assert ls.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert ls.percentile(list(map(float, range(1, 101))), 95) == 95.0


def test_totals_per_language_and_table() -> None:
    scores = [ls.score_scenario(MOVE, ["Lives in York", "Works as a nurse"]),
              ls.score_scenario(MOVE | {"id": "z", "lang": "zh"}, ["住在约克", "Lives in Leeds"])]
    hits = [("en", "fact", True), ("en", "raw", True), ("en", "episode", None),
            ("zh", "fact", False), ("zh", "raw", True)]
    groups = ls.by_language(scores, hits)
    assert (groups["all"].right, groups["all"].missed) == (2, 2)  # 住在约克 is no "York"
    assert (groups["zh"].hallucinated, groups["zh"].stale) == (1, 1)
    assert groups["all"].resolved == 1 and groups["all"].gone_scenarios == 2
    assert groups["zh"].lang_kept == 1 and groups["zh"].live == 2
    assert groups["all"].hits == {"fact": 1, "raw": 2}
    assert groups["en"].hits_measured == {"fact": 1, "raw": 1}
    table = ls.figures_table(groups)
    assert "contradictions resolved" in table and "1/2 (50%)" in table
    assert "hit@5 episodes only" in table and "n/a" in table
    assert ls.category_line(scores) == "clean scenarios per category: contradiction 1/2"


# -- the bench's plumbing ---------------------------------------------------------------------


class FakeMemory:
    """Stores each user line as a fact (infer) or raw text; records what it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.last_add = type("S", (), {"llm_calls": 2})()

    async def add(self, messages: Any, *, user_id: str, infer: bool = True,
                  timestamp: Any = None) -> dict[str, Any]:
        self.calls.append({"messages": messages, "user_id": user_id, "infer": infer,
                           "timestamp": timestamp})
        text = messages if isinstance(messages, str) else messages[-1]["content"]
        kinds = ["fact", "episode"] if infer else ["fact"]
        self.items.setdefault(user_id, []).extend({"memory": text, "kind": k} for k in kinds)
        return {"results": [{"event": "ADD", "memory": text}]}

    async def get_all(self, *, user_id: str, limit: int = 100, kind: str = "fact") -> Any:
        return {"results": [i for i in self.items.get(user_id, []) if i["kind"] == kind]}

    async def search(self, query: str, *, user_id: str, limit: int = 10,
                     kind: str = "fact") -> Any:
        return {"results": [i for i in self.items.get(user_id, [])
                            if kind == "all" or i["kind"] == kind][:limit]}


async def test_one_scenario_through_the_bench_with_a_fake_memory() -> None:
    memory = FakeMemory()
    caps = lb.capabilities(memory)
    assert caps == lb.Capabilities(timestamp=True, kinds=True, get_all_kind=True)
    adds: list[dict[str, Any]] = []
    out = await lb.run_scenario(memory, object(), caps, MOVE, adds)
    first, _raw, second = memory.calls[:3]
    assert first["messages"] == [{"role": "user", "content": MOVE["turns"][0]["user"]}]
    assert second["messages"][0] == {"role": "assistant", "content": "York has a lovely minster."}
    assert str(second["timestamp"]) == "2026-05-01 10:00:00"
    assert [c["infer"] for c in memory.calls] == [True, False, True, False]
    assert len(adds) == 2 and adds[0]["llm_calls"] == 2 and adds[0]["tokens"] is None
    assert out["score"].live == [t["user"] for t in MOVE["turns"]]
    assert out["questions"][0]["hit"] == {"fact": True, "episode": True, "all": True, "raw": True}


def test_capabilities_of_an_engine_without_timestamps_or_kinds() -> None:
    class Old:
        async def add(self, messages: Any, *, user_id: str) -> None: ...
        async def search(self, query: str, *, user_id: str) -> None: ...
        async def get_all(self, *, user_id: str) -> None: ...

    caps = lb.capabilities(Old())
    assert not (caps.timestamp or caps.kinds or caps.get_all_kind)
    assert len(caps.notes()) == 2


def test_usage_counters_and_interleaving() -> None:
    assert lb.read_usage(object()) is None
    assert lb.read_usage(type("L", (), {"usage": {"prompt_tokens": 5, "completion_tokens": 2}})()
                         ) == {"prompt": 5, "completion": 2, "total": 7}
    usage = type("U", (), {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 3})()
    assert lb.read_usage(type("L", (), {"usage": usage})())["total"] == 3
    scenarios = [{"id": i, "lang": lang} for i, lang in enumerate(["zh", "zh", "zh", "en"])]
    assert [s["id"] for s in lb.interleave(scenarios)] == [0, 3, 1, 2]


def test_cost_lines_and_report_on_canned_runs() -> None:
    adds = [{"s": 2.0, "llm_calls": 1, "tokens": None}, {"s": 4.0, "llm_calls": 3, "tokens": None}]
    turns = [{"first_sentence_ms": 900.0, "whole_sentence_ms": 1000.0, "uses_memory": True,
              "memories": ["- x"]},
             {"first_sentence_ms": None, "whole_sentence_ms": None, "uses_memory": False,
              "memories": []}]
    lines = lb.cost_lines(adds, turns)
    assert lines[0] == "add() latency: p50 2.00 s / p95 4.00 s (n=2)"
    assert lines[1] == "LLM calls per add: 2.00 (max 3)"
    assert lines[2].startswith("tokens per add: n/a")
    assert lines[3] == "time to first sentence: p50 900 ms / p95 900 ms (n=1)"
    assert lines[4] == ("  baseline, first whole sentence of the same answers: "
                        "p50 1000 ms / p95 1000 ms (n=1)")
    assert "1/2" in lines[5]
    assert lb.cost_lines([], [])[3] == "time to first sentence: not measured"
    out = {"split": "dev", "model": "m", "chat_model": "c", "decisions": "llm", "notes": ["n"],
           "table": "T", "categories": "C", "costs": lines, "failures": []}
    text = lb.report(out)
    assert "NOTE: n" in text and "failures: none" in text and lines[0] in text


def test_the_whole_sentence_baseline_comes_from_the_same_stream() -> None:
    from daemon.turn.runner import TurnResult

    clause = TurnResult(text="q", sentences=["你女儿叫朵朵，", "今年六岁。"], sentence_ms=[800.0, 1100.0])
    whole = TurnResult(text="q", sentences=["你叫王丽。", "对吗？"], sentence_ms=[700.0, 900.0])
    assert lb.whole_sentence_ms(clause) == 1100.0  # the rest of the sentence ended it
    assert lb.whole_sentence_ms(whole) == 700.0
    assert lb.whole_sentence_ms(TurnResult(text="q")) is None


async def test_a_saved_run_rescores_to_the_same_figures(
        splits: dict[str, list[dict[str, Any]]]) -> None:
    memory = FakeMemory()
    caps = lb.capabilities(memory)
    adds: list[dict[str, Any]] = []
    results = []
    for s in splits["dev"][:6]:
        results.append((s, await lb.run_scenario(memory, object(), caps, s, adds)))
    head = {"split": "dev", "model": "m", "chat_model": "c", "decisions": "llm",
            "capabilities": {}, "notes": []}
    out = lb.summarise(head, results, adds, [])
    saved = json.loads(json.dumps(out, ensure_ascii=False))
    again = lb.rescore(saved)
    assert again["figures"] == out["figures"] and again["failures"] == out["failures"]
    assert out["figures"]["all"]["scenarios"] == 6
    assert "dev" in lb.report(again)


def test_assistant_facts_are_said_only_by_the_assistant(
        splits: dict[str, list[dict[str, Any]]]) -> None:
    for s in splits["dev"] + splits["test"]:
        said = " ".join(t.get("assistant_before", "") for t in s["turns"]).lower()
        users = [t["user"] for t in s["turns"]]
        for entry in s.get("assistant_facts", []):
            for alt in entry:
                plain = [p.lower() for p in alt.split("+") if not p.startswith("!")]
                assert all(p in said for p in plain), (s["id"], alt)
                assert not any(ls.matches(alt, u) for u in users), (s["id"], alt)
