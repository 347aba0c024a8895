"""`xiaozhi-memd models list|install`: the installed console script on the real catalogue, and
`install` in process with the installer replaced (a voice that cannot be installed is a note, a
chat model that cannot is a failure)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from daemon.cli import models
from daemon.config import Config
from tests.support.server import run_cli, write_config


def test_a_voice_that_cannot_install_does_not_stop_command_1(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """No npm on the machine: Kokoro is skipped with a note, espeak-ng speaks, `serve` starts."""
    def broken(spec, models_dir, say, *, force=False):  # type: ignore[no-untyped-def]
        raise RuntimeError("npm not found")

    monkeypatch.setattr(models, "install", broken)
    args = argparse.Namespace(names=["kokoro-82m"], all=False, force=False)
    assert models.install_models(args, Config()) == 0
    assert "fall back to espeak-ng" in capsys.readouterr().err
    args = argparse.Namespace(names=["qwen2.5-coder-1.5b-instruct"], all=False, force=False)
    assert models.install_models(args, Config()) == 1


def test_models_list_shows_catalogue_resolution_and_voice(tmp_path: Path) -> None:
    """An empty models dir: the packaged models resolve, voice pieces are optional (with
    ``audio.enabled: auto``), each missing one says how to install it."""
    cfg = write_config(tmp_path / "c.yaml", {"models_dir": str(tmp_path / "models"),
                                             "llm": {"model": "smollm2-135m-instruct"}})
    out = run_cli("--config", str(cfg), "models", "list")
    assert out.returncode == 0
    assert "smollm2-135m-instruct" in out.stdout
    assert "multilingual-e5-small" in out.stdout
    assert "llm.model (smollm2-135m-instruct): " in out.stdout
    assert "MISSING" not in out.stdout
    assert "whisper-base             asr      not installed (default)" in out.stdout
    line = next(x for x in out.stdout.splitlines() if "voice: speech recognition" in x)
    assert "voice is off" in line and "xiaozhi-memd models install whisper-base" in line
    voice = [x for x in out.stdout.splitlines() if "voice:" in x]
    assert len(voice) == 3
    kokoro = next(x for x in voice if "Kokoro" in x)
    assert "spoken by espeak-ng" in kokoro and "models install kokoro-82m" in kokoro


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
