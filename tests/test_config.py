"""Configuration: defaults, the shipped config.yaml, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_equals_the_builtin_defaults() -> None:
    shipped = load_config(ROOT / "config.yaml", environ={})
    defaults = Config().resolved(ROOT)
    assert shipped.model_dump() == defaults.model_dump()
    assert shipped.server.websocket_port == 8000
    assert shipped.server.http_port == 8003
    assert shipped.server.websocket_path == "/xiaozhi/v1/"


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    cfg_file = tmp_path / "sub" / "c.yaml"
    cfg_file.parent.mkdir()
    cfg_file.write_text("data_dir: mydata\n")
    cfg = load_config(cfg_file, environ={})
    assert cfg.data_dir == (tmp_path / "sub" / "mydata").resolve()


def test_environment_overrides_nested_keys_with_typed_values(tmp_path: Path) -> None:
    env = {
        "XIAOZHI_MEMD_SERVER__WEBSOCKET_PORT": "9100",
        "XIAOZHI_MEMD_MEMORY__ENABLED": "false",
        "XIAOZHI_MEMD_DATA_DIR": str(tmp_path / "state"),
        "UNRELATED": "1",
    }
    cfg = load_config(None, environ=env)
    assert cfg.server.websocket_port == 9100
    assert cfg.memory.enabled is False
    assert cfg.data_dir == (tmp_path / "state").resolve()


def test_unknown_key_names_the_key_and_what_is_allowed(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("server:\n  portt: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(f, environ={})
    text = str(err.value)
    assert "server.portt" in text and "unknown key" in text
    assert "websocket_port" in text  # the allowed keys are listed


def test_bad_value_names_the_key(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("server:\n  websocket_port: 99999\nllm:\n  provider: gpt5\n")
    with pytest.raises(ConfigError) as err:
        load_config(f, environ={})
    text = str(err.value)
    assert "server.websocket_port" in text
    assert "llm.provider" in text and "llamacpp" in text


def test_bad_env_value_is_reported_as_from_the_environment() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, environ={"XIAOZHI_MEMD_SERVER__HTTP_PORT": "many"})
    assert "server.http_port" in str(err.value) and "environment" in str(err.value)


def test_system_prompt_must_have_the_memory_slot(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("prompts:\n  system: hello\n  memory: none\n")
    with pytest.raises(ConfigError, match=r"prompts.*\{memories\}"):
        load_config(f, environ={})
    f.write_text("prompts:\n  system: hello {memories}\n  memory: none\n")
    assert load_config(f, environ={}).prompts.system == "hello {memories}"


def test_missing_file_and_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", environ={})
    f = tmp_path / "bad.yaml"
    f.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f, environ={})



def test_turn_context_reaches_the_memory(tmp_path: Path) -> None:
    from daemon.memory.factory import build_memory
    from tests.support.memory_fakes import HashEmbedder

    for on in (True, False):
        cfg = Config(data_dir=tmp_path, memory={"turn_context": on})
        assert build_memory(cfg, llm=None, embedder=HashEmbedder()).context.enabled is on
