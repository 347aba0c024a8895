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
