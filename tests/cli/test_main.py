"""`xiaozhi-memd` itself, as the installed console script: version, config errors, and a
missing model as one line with the fix (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

from tests.support.server import fatal_line, run_cli, write_config


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("xiaozhi-memd 0.")


def test_bad_config_exits_nonzero_naming_the_key(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", {"server": {"websocket_prot": 8000}})
    out = run_cli("--config", str(cfg), "serve")
    assert out.returncode == 2
    assert "server.websocket_prot" in out.stderr and "unknown key" in out.stderr
    assert "Traceback" not in out.stderr

    cfg = write_config(tmp_path / "c2.yaml", {"memory": {"neighbours": "lots"}})
    out = run_cli("--config", str(cfg), "doctor")
    assert out.returncode == 2
    assert "memory.neighbours" in out.stderr


def test_missing_chat_model_gives_one_clear_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", {
        "data_dir": str(tmp_path / "data"), "models_dir": str(tmp_path / "models"),
        "llm": {"model": "qwen-7b-missing.gguf"},
        "server": {"websocket_port": 0, "http_port": 0},
    })
    error = fatal_line(run_cli("--config", str(cfg), "serve"))
    assert "qwen-7b-missing.gguf" in error and "not found" in error
    assert "xiaozhi-memd models install" in error


def test_missing_embedding_model_folder_gives_one_clear_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", {
        "data_dir": str(tmp_path / "data"), "models_dir": str(tmp_path / "models"),
        "llm": {"provider": "scripted"},
        "embedder": {"provider": "sentence-transformers", "model": "bge-small-zh-v1.5"},
    })
    out = run_cli("--config", str(cfg), "serve")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "bge-small-zh-v1.5" in out.stderr and "not found" in out.stderr
