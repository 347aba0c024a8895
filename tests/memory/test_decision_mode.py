"""memory.decisions: "add_only" never lets the model change or close a memory; "auto" picks it
for a tiny local GGUF. Shown with a scripted model and with the real packaged SmolLM2."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import Config
from daemon.memory.factory import build_memory, decision_mode
from tests.support.memory_fakes import decision_calls, scripted

ROOT = Path(__file__).resolve().parents[2]
KNOWN = ["Lives in Berlin", "Likes green tea", "Has a cat named Momo", "Works as a teacher",
         "住在北京", "喜欢喝绿茶"]
SAID = ["I got a dog named Rex.", "I work as a nurse at the city hospital now.",
        "I moved to Munich last month.", "我儿子叫小明。", "我上个月搬到上海了。",
        "I'm allergic to peanuts.", "我不喜欢喝绿茶了。"]


def config(tmp_path: Path, model: str = "smollm2-135m-instruct", **memory: object) -> Config:
    cfg = Config(data_dir=tmp_path / "data", models_dir=ROOT / "models").resolved(tmp_path)
    cfg.llm.model = model
    for key, value in memory.items():
        setattr(cfg.memory, key, value)
    return cfg


def test_auto_is_llm_for_the_qwen_models_and_add_only_for_a_tiny_one(tmp_path: Path) -> None:
    default = Config().llm.model
    assert decision_mode(config(tmp_path, default))[0] == "llm"
    assert decision_mode(config(tmp_path, "qwen2.5-coder-0.5b-instruct"))[0] == "llm"
    mode, why = decision_mode(config(tmp_path))
    assert mode == "add_only" and "too small" in why and "MB" in why
    assert decision_mode(config(tmp_path, small_model_mb=0))[0] == "llm"
    assert decision_mode(config(tmp_path, decisions="llm"))[0] == "llm"
    assert decision_mode(config(tmp_path, decisions="add_only", small_model_mb=0))[0] == "add_only"
    cfg = config(tmp_path)
    cfg.llm.provider = "openai"  # a remote or bigger model: its decisions are trusted
    assert decision_mode(cfg)[0] == "llm"


async def test_add_only_adds_without_asking_the_model(open_memory, e5) -> None:
    llm = scripted({"I moved to Munich.": ["Lives in Munich"]},
                   lambda existing, fact: [{"event": "UPDATE", "id": "0", "text": fact}])
    mem = await open_memory(e5, llm, decisions="add_only")
    await mem.add("Lives in Berlin", user_id="u1", infer=False)
    out = await mem.add("I moved to Munich.", user_id="u1")
    assert [(r["memory"], r["event"]) for r in out["results"]] == [("Lives in Munich", "ADD")]
    assert decision_calls(llm) == 0
    again = await mem.add("I moved to Munich.", user_id="u1")  # a duplicate is still skipped
    assert [r["event"] for r in again["results"]] == ["NONE"]
    live = sorted(r["memory"] for r in (await mem.get_all(user_id="u1"))["results"])
    assert live == ["Lives in Berlin", "Lives in Munich"]


def test_an_unknown_mode_is_refused(tmp_path: Path, e5) -> None:
    from daemon.memory.memory import AsyncMemory
    from daemon.memory.store import SqliteStore

    with pytest.raises(ValueError, match="add_only"):
        AsyncMemory(SqliteStore(tmp_path / "m.sqlite3"), e5, None, index_dir=tmp_path / "i",
               decisions="sometimes")


async def test_default_config_with_the_real_tiny_model_loses_no_memory(tmp_path: Path, e5,
                                                                       real_llm) -> None:
    said: list[str] = []
    mem = build_memory(config(tmp_path), llm=real_llm, embedder=e5, progress=said.append)
    assert mem.decisions == "add_only"
    assert any("add only" in line and "too small" in line for line in said), said
    await mem.start(save_interval_s=0)
    try:
        await mem.add(KNOWN, user_id="u1", infer=False)
        for text in SAID:
            await mem.add([{"role": "user", "content": text},
                           {"role": "assistant", "content": "OK"}], user_id="u1")
        live = [r["memory"] for r in (await mem.get_all(user_id="u1"))["results"]]
        # With memory.decisions: llm this model closed all but one of them (bench/README.md).
        assert set(KNOWN) <= set(live), live
        assert len(live) > len(KNOWN)  # and what was said was added
    finally:
        await mem.close()
