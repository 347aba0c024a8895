#!/usr/bin/env python3
"""Does the memory really learn? The learning workload (bench/data/learning_{dev,test}.json)
through the real engine on the configured default models.

Each scenario is its own user in one fresh data dir (a temp folder): every turn is one
``Memory.add`` (the assistant's previous line as context, the turn's date as ``timestamp``), then
the live facts are scored against the expectations and every question is searched (top 5) over
facts, episodes, both, and a raw-utterance baseline (the same utterances stored with
``infer=False`` under a second user). Then a few questions go through ``TurnRunner`` on the chat
model for time to first sentence. Prints figures per language; never asserts anything.

    .venv/bin/python bench/learning_bench.py --split dev --limit 5
    .venv/bin/python bench/learning_bench.py --split test --out /tmp/learning-test.json

Tune prompts on dev only; test is held out (report it, never tune on it).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from learning_score import (  # noqa: E402
    LANGS,
    TOP_K,
    by_language,
    category_line,
    failure_lines,
    figures_table,
    hit_at,
    load_split,
    match_any,
    percentile,
    score_scenario,
    validate,
)

log = logging.getLogger("learning_bench")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Capabilities:
    """What the engine under test supports (the bench degrades rather than crashes)."""

    timestamp: bool  # Memory.add(..., timestamp=)
    kinds: bool  # Memory.search(..., kind="fact" | "episode" | "all")
    get_all_kind: bool  # Memory.get_all(..., kind=)

    def notes(self) -> list[str]:
        out = []
        if not self.timestamp:
            out.append("Memory.add has no timestamp=: relative dates resolve against today, "
                       "so relative_date expectations will mostly miss")
        if not self.kinds:
            out.append("Memory.search has no kind=: episode and combined hit@5 not measured; "
                       "the raw baseline is searched plainly")
        return out


def capabilities(memory: Any) -> Capabilities:
    def has(fn: Any, name: str) -> bool:
        return name in inspect.signature(fn).parameters

    return Capabilities(has(memory.add, "timestamp"), has(memory.search, "kind"),
                        has(memory.get_all, "kind"))


def item_kind(item: dict[str, Any]) -> str:
    return str(item.get("kind") or (item.get("metadata") or {}).get("kind") or "fact")


def read_usage(llm: Any) -> dict[str, int] | None:
    """Cumulative token counters of the LLM, if it keeps any (``llm.usage``)."""
    usage = getattr(llm, "usage", None)
    if usage is None:
        return None
    get = usage.get if isinstance(usage, dict) else (lambda k, d=None: getattr(usage, k, d))
    prompt, completion = get("prompt_tokens", None), get("completion_tokens", None)
    total = get("total_tokens", None)
    if prompt is None and completion is None and total is None:
        return None
    out = {"prompt": int(prompt or 0), "completion": int(completion or 0)}
    out["total"] = int(total) if total is not None else out["prompt"] + out["completion"]
    return out


def interleave(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """zh, en, zh, en, ...: so that --limit takes both languages."""
    queues = [[s for s in scenarios if s["lang"] == lang] for lang in LANGS]
    out: list[dict[str, Any]] = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


async def live_facts(memory: Any, uid: str, caps: Capabilities) -> list[str]:
    kwargs: dict[str, Any] = {"user_id": uid, "limit": 1000}
    if caps.get_all_kind:
        kwargs["kind"] = "fact"
    items = (await memory.get_all(**kwargs))["results"]
    return [str(i["memory"]) for i in items if item_kind(i) == "fact"]


async def search_texts(memory: Any, query: str, uid: str, kind: str | None) -> list[str]:
    kwargs: dict[str, Any] = {"user_id": uid, "limit": TOP_K}
    if kind is not None:
        kwargs["kind"] = kind
    return [str(i["memory"]) for i in (await memory.search(query, **kwargs))["results"]]


async def run_scenario(memory: Any, llm: Any, caps: Capabilities, s: dict[str, Any],
                       adds: list[dict[str, Any]]) -> dict[str, Any]:
    uid, raw_uid = f"learn-{s['id']}", f"raw-{s['id']}"
    for turn in s["turns"]:
        messages = []
        if turn.get("assistant_before"):
            messages.append({"role": "assistant", "content": turn["assistant_before"]})
        messages.append({"role": "user", "content": turn["user"]})
        extra: dict[str, Any] = {}
        if caps.timestamp:
            extra["timestamp"] = datetime.fromisoformat(turn["at"])
        before = read_usage(llm)
        t0 = time.perf_counter()
        result = await memory.add(messages, user_id=uid, **extra)
        seconds = time.perf_counter() - t0
        after = read_usage(llm)
        stats = memory.last_add
        adds.append({
            "scenario": s["id"], "lang": s["lang"], "s": seconds,
            "llm_calls": getattr(stats, "llm_calls", None),
            "tokens": ({k: after[k] - before[k] for k in after} if before and after else None),
            "events": [(r.get("event"), r.get("memory")) for r in result.get("results", [])],
        })
        await memory.add(turn["user"], user_id=raw_uid, infer=False, **extra)
    live = await live_facts(memory, uid, caps)
    score = score_scenario(s, live)
    questions = []
    for q in s.get("questions", []):
        found: dict[str, list[str] | None] = {}
        for kind in ("fact", "episode", "all"):
            found[kind] = (await search_texts(memory, q["q"], uid, kind) if caps.kinds
                           else (await search_texts(memory, q["q"], uid, None)
                                 if kind == "fact" else None))
        found["raw"] = await search_texts(memory, q["q"], raw_uid, "all" if caps.kinds else None)
        questions.append({"q": q["q"], "answer": q["answer"], "found": found,
                          "hit": {k: (None if v is None else hit_at(q["answer"], v))
                                  for k, v in found.items()}})
    return {"score": score, "questions": questions}


async def time_turns(cfg: Any, chat_llm: Any, memory: Any, scenarios: list[dict[str, Any]],
                     n: int) -> list[dict[str, Any]]:
    """One real turn per question of the first ``n`` scenarios that have questions."""
    from daemon.turn.runner import TurnContext, TurnRunner

    runner = TurnRunner(cfg, chat_llm, memory)
    out = []
    for s in [s for s in scenarios if s.get("questions")][:n]:
        for i, q in enumerate(s["questions"]):
            sent: list[Any] = []

            async def send(msg: Any, _sent: list[Any] = sent) -> None:
                _sent.append(msg)

            res = await runner.run(TurnContext(f"ttfs-{s['id']}-{i}", f"learn-{s['id']}"),
                                   q["q"], send)
            out.append({"scenario": s["id"], "lang": s["lang"], "q": q["q"],
                        "first_sentence_ms": res.first_sentence_ms,
                        "whole_sentence_ms": whole_sentence_ms(res), "answer": res.answer,
                        "memories": res.memories, "uses_memory": match_any(q["answer"], res.answer),
                        "error": res.error})
            say(f"  ttfs {s['id']}: {res.first_sentence_ms or 0:.0f} ms  {res.answer[:80]!r}")
    await runner.drain()
    return out


def whole_sentence_ms(res: Any) -> float | None:
    """When the first whole sentence went out in this same stream: the first piece if it was
    one, else the next (the rest of the sentence leaves when the sentence ends, as it did
    before the first clause was cut) - the baseline of ``tts.first_clause``."""
    if not res.sentence_ms:
        return None
    from daemon.turn.sentences import ends_a_clause

    clause = len(res.sentences) > 1 and ends_a_clause(res.sentences[0])
    return res.sentence_ms[1] if clause else res.sentence_ms[0]


def fmt_p(values: list[float], scale: float = 1.0, unit: str = "s", digits: int = 2) -> str:
    p50, p95 = percentile(values, 50), percentile(values, 95)
    if p50 is None or p95 is None:
        return "n/a"
    return f"p50 {p50 * scale:.{digits}f} {unit} / p95 {p95 * scale:.{digits}f} {unit} (n={len(values)})"


def cost_lines(adds: list[dict[str, Any]], turns: list[dict[str, Any]]) -> list[str]:
    calls = [a["llm_calls"] for a in adds if a["llm_calls"] is not None]
    toks = [a["tokens"] for a in adds if a["tokens"] is not None]
    ttfs = [t["first_sentence_ms"] for t in turns if t["first_sentence_ms"] is not None]
    whole = [t["whole_sentence_ms"] for t in turns if t.get("whole_sentence_ms") is not None]
    used = sum(t["uses_memory"] for t in turns)
    with_memories = sum(bool(t["memories"]) for t in turns)
    return [
        f"add() latency: {fmt_p([a['s'] for a in adds])}",
        "LLM calls per add: " + (f"{sum(calls) / len(calls):.2f} (max {max(calls)})" if calls else "n/a"),
        "tokens per add: " + (
            f"{sum(t['total'] for t in toks) / len(toks):.0f} (prompt "
            f"{sum(t['prompt'] for t in toks) / len(toks):.0f}, completion "
            f"{sum(t['completion'] for t in toks) / len(toks):.0f})" if toks
            else "n/a (the LLM keeps no usage counter)"),
        f"time to first sentence: {fmt_p(ttfs, unit='ms', digits=0)}" if ttfs
        else "time to first sentence: not measured",
        (f"  baseline, first whole sentence of the same answers: {fmt_p(whole, unit='ms', digits=0)}"
         if whole else ""),
        (f"chat turns given memories (lookup in time): {with_memories}/{len(turns)}; answers "
         f"holding the expected answer: {used}/{len(turns)}") if turns else "",
    ]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from daemon.config import load_config
    from daemon.llm.factory import make_llm
    from daemon.memory.factory import open_memory

    scenarios = load_split(args.split)
    problems = validate(scenarios)
    if problems:
        raise SystemExit("workload problems:\n" + "\n".join(problems))
    scenarios = interleave(scenarios)
    if args.ids:
        wanted = set(args.ids.split(","))
        scenarios = [s for s in scenarios if s["id"] in wanted]
    if args.category:
        cats = set(args.category.split(","))
        scenarios = [s for s in scenarios if s["category"] in cats]
    if args.limit:
        scenarios = scenarios[: args.limit]
    cfg = load_config(args.config)
    tmp = tempfile.TemporaryDirectory(prefix="learning-bench-")
    cfg.data_dir = Path(tmp.name)
    if args.model:
        cfg.memory.extraction_model = args.model
    model = cfg.memory.extraction_model or cfg.llm.model
    chat_model = args.chat_model or cfg.llm.model
    if args.ttfs > 0 and cfg.llm.provider == "llamacpp":
        from daemon.modelfiles import resolve_gguf

        resolve_gguf(chat_model, cfg.models_dir)  # a missing chat model stops us before the adds
    say(f"loading extraction model {model}")
    # As the server does: one copy of the weights, the answers on the loaded context (prompt
    # read on n_threads_batch), extraction on a second context (n_threads).
    loaded = make_llm(cfg.llm, cfg.models_dir, model=model)
    llm = (loaded.sibling(n_threads=cfg.llm.llamacpp.n_threads)
           if hasattr(loaded, "sibling") else loaded)
    memory = await open_memory(cfg, llm=llm, progress=say)
    caps = capabilities(memory)
    notes = caps.notes()
    for note in notes:
        say(f"NOTE: {note}")
    adds: list[dict[str, Any]] = []
    results = []
    turns: list[dict[str, Any]] = []
    chat_llm = None
    try:
        for i, s in enumerate(scenarios, 1):
            t0 = time.perf_counter()
            r = await run_scenario(memory, llm, caps, s, adds)
            results.append((s, r))
            sc = r["score"]
            say(f"[{i}/{len(scenarios)}] {s['id']}: {sc.right}/{sc.expected} right, "
                f"{len(sc.hallucinated)} hallucinated, {len(sc.stale)} stale "
                f"({time.perf_counter() - t0:.1f} s) live={sc.live}")
        if args.ttfs > 0:
            say(f"loading chat model {chat_model}")
            if chat_model == model:
                chat_llm = loaded
            else:
                chat_llm = make_llm(cfg.llm, cfg.models_dir, model=chat_model)
            try:
                turns = await time_turns(cfg, chat_llm, memory, scenarios, args.ttfs)
            except Exception as exc:  # keep the memory figures of a long run
                log.exception("time to first sentence failed")
                notes.append(f"time to first sentence failed: {exc!r}")
    finally:
        await memory.close()
        for m in {id(x): x for x in (llm, loaded, chat_llm) if x is not None}.values():
            await m.close()
        tmp.cleanup()
    head = {"split": args.split, "model": model, "chat_model": chat_model,
            "decisions": memory.decisions, "capabilities": asdict(caps), "notes": notes}
    return summarise(head, results, adds, turns)


def summarise(head: dict[str, Any], results: list[tuple[dict[str, Any], dict[str, Any]]],
              adds: list[dict[str, Any]], turns: list[dict[str, Any]]) -> dict[str, Any]:
    scores = [r["score"] for _, r in results]
    hits = [(s["lang"], kind, hit) for s, r in results for q in r["questions"]
            for kind, hit in q["hit"].items()]
    groups = by_language(scores, hits)
    return {
        **head,
        "figures": {k: asdict(v) for k, v in groups.items()},
        "table": figures_table(groups), "categories": category_line(scores),
        "costs": [c for c in cost_lines(adds, turns) if c],
        "failures": ["\n".join(failure_lines(s, r["score"])) for s, r in results
                     if r["score"].failed],
        "scenarios": [{"id": s["id"], **asdict(r["score"]), "questions": r["questions"]}
                      for s, r in results],
        "adds": adds, "turns": turns,
    }


def rescore(saved: dict[str, Any]) -> dict[str, Any]:
    """The figures of a saved run (``--out``) against the workload files as they are now (e.g.
    after adding an accepted spelling), without running any model."""
    workload = {s["id"]: s for split in ("dev", "test") for s in load_split(split)}
    results = []
    for old in saved["scenarios"]:
        s = workload[old["id"]]
        answers = {q["q"]: q["answer"] for q in s.get("questions", [])}
        questions = []
        for q in old["questions"]:
            answer = answers.get(q["q"], q["answer"])
            questions.append({**q, "answer": answer,
                              "hit": {k: (None if v is None else hit_at(answer, v))
                                      for k, v in q["found"].items()}})
        results.append((s, {"score": score_scenario(s, old["live"]), "questions": questions}))
    head = {k: saved[k] for k in ("split", "model", "chat_model", "decisions", "capabilities",
                                  "notes")}
    return summarise(head, results, saved["adds"], saved["turns"])


def report(out: dict[str, Any]) -> str:
    lines = [f"learning bench, split {out['split']}: extraction {out['model']} "
             f"(decisions: {out['decisions']}), chat {out['chat_model']}", ""]
    lines += [f"NOTE: {n}" for n in out["notes"]]
    lines += ["", out["table"], out["categories"], "", *out["costs"], ""]
    lines.append(f"failures ({len(out['failures'])}):" if out["failures"] else "failures: none")
    lines += out["failures"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("dev", "test"), default="dev")
    ap.add_argument("--limit", type=int, default=0, help="first N scenarios (zh/en alternating)")
    ap.add_argument("--ids", default="", help="only these scenario ids (comma-separated)")
    ap.add_argument("--category", default="",
                    help="only scenarios of these categories (comma-separated, e.g. contradiction)")
    ap.add_argument("--trace", action="store_true",
                    help="log what the decider is shown and answers (daemon.memory at DEBUG)")
    ap.add_argument("--model", default="", help="extraction model (default: the config's)")
    ap.add_argument("--chat-model", default="", help="chat model (default: llm.model)")
    ap.add_argument("--ttfs", type=int, default=10,
                    help="time first sentences on the questions of the first N scenarios (0: off)")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--out", default="", help="also write everything as JSON here")
    ap.add_argument("--rescore", default="", metavar="FILE.json",
                    help="no run: score a saved --out file against the workload as it is now")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.trace:
        for name in ("daemon.memory.updater", "daemon.memory.extractor", "daemon.memory.memory"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    if args.rescore:
        out = rescore(json.loads(Path(args.rescore).read_text(encoding="utf-8")))
    else:
        out = asyncio.run(run(args))
    print(report(out))
    if args.out:
        Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
        say(f"written: {args.out}")


if __name__ == "__main__":
    main()
