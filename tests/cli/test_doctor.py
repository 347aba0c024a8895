"""`xiaozhi-memd doctor` as the installed console script: problems with their fixes."""

from __future__ import annotations

from pathlib import Path

from tests.support.server import run_cli, write_config


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


def test_doctor_checks_the_shared_postgresql(tmp_path: Path, pg_server) -> None:
    base = {"data_dir": str(tmp_path / "data"), "models_dir": str(tmp_path / "models")}
    cfg = write_config(tmp_path / "c.yaml", {
        **base, "memory": {"store": "postgresql", "dsn": pg_server.new_dsn()}})
    out = run_cli("--config", str(cfg), "doctor")
    assert "[ok] PostgreSQL " in out.stdout and "pgvector 0." in out.stdout, out.stdout
    bad = "postgresql://nobody:secret@127.0.0.1:1/none"
    cfg = write_config(tmp_path / "c.yaml", {**base, "memory": {"store": "postgresql", "dsn": bad}})
    out = run_cli("--config", str(cfg), "doctor")
    assert out.returncode == 1
    assert "[FAIL] PostgreSQL at 127.0.0.1:1/none not reachable" in out.stdout, out.stdout
    assert "secret" not in out.stdout
